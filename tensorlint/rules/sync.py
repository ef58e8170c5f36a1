"""TL4: work that blocks on the accelerator, or keeps autograd graphs alive, every step of a loop."""
from __future__ import annotations

from .base import Invalid, Rule, Valid
from .sync_checker import SyncChecker

H = "import torch\n"
TRAIN = H + ("def train(model, loader, optimizer, criterion, device):\n"
             "    running = 0.0\n"
             "    for step, (x, y) in enumerate(loader):\n"
             "        out = model(x.to(device))\n"
             "        loss = criterion(out, y.to(device))\n"
             "        optimizer.zero_grad()\n"
             "        loss.backward()\n"
             "        optimizer.step()\n")


def train_with(line: str) -> str:
    """The training loop above with one more statement at the end of its body."""
    return TRAIN + "        " + line + "\n"


STEP_LOOPS = """
    A *step loop* is decided by the shared analysis: a `for`/`while` loop whose own body (not nested
    functions or loops) calls `.backward()` or an optimizer/scaler `.step(...)`, or that iterates a
    data loader (`for batch in loader`, `enumerate(train_loader)`, `tqdm(dataloader)`, `zip` of
    loaders), a `range(...)` or is a `while` loop, and calls a model: training, evaluation under
    `no_grad` and token-by-token generation loops. An epoch loop that calls `train(...)` is not one.
    A same-file helper that the loop calls and that does the step itself (`self.train_step(batch)`,
    also through `functools.partial`) is part of the step: findings are reported inside the helper,
    naming the call. A `LightningModule`'s `training_step`/`validation_step`/... body is one step of
    the loop Lightning runs. Anything under a periodic guard (`if step % N == 0:`,
    `if (i + 1) % log_every == 0:`, `if i == 0:`, an `if` naming `log_interval`, `should_log`,
    `is_last_step`, ...) or after the loop is fine, except that a bare arithmetic guard whose body
    itself calls `.backward()` or steps an optimizer (a GAN critic schedule, gradient accumulation)
    is a training step, not logging.
"""


class PerStepScalarSync(Rule):
    __doc__ = """
    ## What it does
    Flags, inside a step loop and outside any periodic guard, reading a tensor that may be on an
    accelerator back to Python: `.item()`, `.tolist()`, `float(t)`/`int(t)`/`bool(t)`, formatting it
    in an f-string, or using it as an `if`/`while` condition.
    """ + STEP_LOOPS + """
    ## Why is this bad?
    Each of these blocks the host until every kernel queued so far has finished, so the GPU runs dry
    while Python waits, every step. Public fixes report 5–50 % throughput gains; torchtune measured
    40–50 ms of `cudaStreamSynchronize` per step from one unguarded `loss.item()` in a progress bar.

    ## Example
    ```python
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        running += loss.item()
    ```

    ## Use instead
    ```python
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        running += loss.detach()
    epoch_loss = running.item()
    ```

    ## Fix safety
    No automatic fix: moving the conversion changes the accumulator's type (float → tensor) and
    what gets printed, so the rewrite needs a human.

    ## Known problems
    Only values known to be tensors (model outputs, losses, torch results, values that are
    `.backward()`ed) are judged; a value of unknown provenance is not: in an evaluation loop,
    `val_loss += criterion(model(x), y).item()` with a criterion passed in is not flagged. Some syncs
    are intentional (sampling on the CPU for reproducibility): silence them with `# noqa: TL401`.
    """
    code = "TL401"
    name = "per-step-scalar-sync"
    summary = "Reading a device tensor back to Python every step of a loop"
    fixable = "no"
    VALID = [
        Valid(train_with("if step % 100 == 0:\n            print(loss.item())"), "periodic guard"),
        Valid(train_with("if (step + 1) % log_every == 0:\n            running += loss.item()"), "(i + 1) % log_every"),
        Valid(train_with("if should_log:\n            print(f'{loss}')"), "a should_log flag"),
        Valid(train_with("running += loss.detach()") + "    return running.item()\n", "device-side accumulator, one sync after the loop"),
        Valid(H + "def fit(model, loader, epochs):\n    for epoch in range(epochs):\n        loss = train(model, loader)\n"
                  "        print(loss.item())\n", "epoch loop calling train(): not a step loop"),
        Valid(H + "def bench(model, x, n):\n    for _ in range(n):\n        model(x)\n"
                  "    return torch.zeros(3).sum().item()\n", "after the loop"),
        Valid(H + "def f(xs):\n    total = 0\n    for x in xs:\n        total += x.item()\n    return total\n", "not a step loop"),
        Valid("import tensorflow as tf\ndef train(model, loader, optimizer):\n    for x, y in loader:\n"
              "        loss = model(x)\n        optimizer.step()\n        print(loss.numpy().item())\n", "TensorFlow code"),
        Valid(train_with("running += float(step)"), "float of an int"),
        Valid(train_with("if step == 0:\n            print(loss.item())"), "a first-time guard runs once"),
        Valid(H + "class Trainer:\n    def train_step(self, batch):\n        loss = self.crit(self.model(batch[0]), batch[1])\n"
                  "        loss.backward()\n        self.opt.step()\n        return loss.item()\n    def fit_one(self, batch):\n"
                  "        return self.train_step(batch)\n", "a step helper that no loop calls"),
        Valid(H + "class Helper:\n    def training_step(self, batch, batch_idx):\n        x, y = batch\n"
                  "        loss = torch.nn.functional.cross_entropy(self.model(x), y)\n        print(loss.item())\n        return loss\n",
              "training_step of a class that is not a LightningModule, called by no loop"),
        Valid(H + "import lightning as L\nclass LitModel(L.LightningModule):\n    def training_step(self, batch, batch_idx):\n"
                  "        x, y = batch\n        loss = torch.nn.functional.cross_entropy(self(x), y)\n"
                  "        self.log('train_loss', loss)\n        return loss\n", "Lightning: self.log of the tensor itself"),
    ]
    INVALID = [
        Invalid(train_with("running += loss.item()"), line=10, col=20, why="plain training loop"),
        Invalid(train_with("print(f'step {step}: {loss}')"), line=10, col=30, why="f-string of the loss"),
        Invalid(train_with("if loss < 0.01:\n            break"), line=10, col=12, why="tensor as an if condition"),
        Invalid(train_with("running += float(loss)"), line=10, col=20, why="float(tensor)"),
        Invalid(H + "def train(model, loader, optimizer, scaler, criterion):\n    for x, y in loader:\n"
                    "        with torch.autocast('cuda'):\n            loss = criterion(model(x), y)\n"
                    "        scaler.scale(loss).backward()\n        scaler.step(optimizer)\n        scaler.update()\n"
                    "        progress.set_postfix(loss=loss.item())\n", line=9, col=35, why="AMP with a GradScaler"),
        Invalid(H + "def train(model, loader, optimizer, criterion, accum):\n    for i, (x, y) in enumerate(loader):\n"
                    "        loss = criterion(model(x), y) / accum\n        loss.backward()\n"
                    "        if (i + 1) % accum == 0:\n            optimizer.step()\n        losses.append(loss.item())\n",
                line=8, col=23, why="gradient accumulation: the append runs every micro-step"),
        Invalid(H + "@torch.no_grad()\ndef evaluate(model, loader):\n    correct = 0\n    for x, y in loader:\n"
                    "        pred = model(x).argmax(1)\n        correct += (pred == y).sum().item()\n    return correct\n",
                line=7, col=20, why="evaluation under no_grad"),
        Invalid(H + "def generate(model, idx, max_new_tokens):\n    for _ in range(max_new_tokens):\n"
                    "        logits = model(idx)\n        next_id = logits[:, -1].argmax(-1)\n"
                    "        if next_id.item() == eos:\n            break\n", line=6, col=12, why="generation loop"),
        Invalid(H + "def train(model, loader, opt, crit):\n    total = 0.0\n    for x, y in loader:\n        out = model(x)\n"
                    "        loss = crit(out, y)\n        loss.backward()\n        opt.step()\n        total += loss.item()\n"
                    "    return total\n", line=9, col=18, why="a loss from an unknown criterion: backward() says it is a tensor"),
        Invalid(H + "from tqdm import tqdm\ndef train(model, loader, opt, crit):\n    for i, batch in enumerate(pbar := tqdm(loader)):\n"
                    "        loss = crit(model(batch[0]), batch[1])\n        loss.backward()\n        opt.step()\n"
                    "        pbar.set_description(f'{loss.item()}')\n", line=8, col=33, why="a tqdm bar bound with := in the loop header"),
        Invalid(H + "def train(model, loader_a, loader_b, opt, crit):\n    for (xa, ya), (xb, yb) in zip(loader_a, loader_b):\n"
                    "        loss = crit(model(xa), ya) + crit(model(xb), yb)\n        loss.backward()\n        opt.step()\n"
                    "        print(loss.item())\n", line=7, col=15, why="zip of two loaders"),
        Invalid(H + "def train(G, D, loader, opt_g, opt_d, n_critic):\n    for i, (real, _) in enumerate(loader):\n"
                    "        d_loss = D(G(real)).mean() - D(real).mean()\n        d_loss.backward()\n        opt_d.step()\n"
                    "        if (i + 1) % n_critic == 0:\n            g_loss = -D(G(real)).mean()\n            g_loss.backward()\n"
                    "            opt_g.step()\n            print(g_loss.item())\n", line=11, col=19,
                why="a GAN critic schedule: a modulo guard around backward/step is a training step, not logging"),
        Invalid(H + "class Trainer:\n    def train_step(self, batch):\n        loss = self.crit(self.model(batch[0]), batch[1])\n"
                    "        loss.backward()\n        self.opt.step()\n        return loss.item()\n    def fit(self, loader):\n"
                    "        for batch in loader:\n            self.train_step(batch)\n", line=7, col=16,
                why="a step helper called by a loader loop: found in the helper, naming the call"),
        Invalid(H + "import functools\ndef step(model, opt, crit, batch):\n    loss = crit(model(batch[0]), batch[1])\n"
                    "    loss.backward()\n    opt.step()\n    return loss.item()\ndef fit(model, opt, crit, loader):\n"
                    "    train_step = functools.partial(step, model, opt, crit)\n    for batch in loader:\n        train_step(batch)\n",
                line=7, col=12, why="a functools.partial of a same-file step helper"),
        Invalid(H + "import lightning as L\nclass LitModel(L.LightningModule):\n    def training_step(self, batch, batch_idx):\n"
                    "        x, y = batch\n        loss = torch.nn.functional.cross_entropy(self(x), y)\n"
                    "        self.log('train_loss', loss.item())\n        return loss\n", line=7, col=32,
                why="Lightning calls training_step every step"),
    ]


class PerStepHostCopy(Rule):
    __doc__ = """
    ## What it does
    Flags, inside a step loop and outside any periodic guard, copying a tensor that may be on an
    accelerator to the host: `.cpu()`, `.to("cpu")`, `.numpy(force=True)`, `print(tensor)`.
    """ + STEP_LOOPS + """
    ## Why is this bad?
    A device-to-host copy waits for every queued kernel, then for the transfer, every batch.
    Collecting predictions on the device and moving them once after the loop does one transfer.

    ## Example
    ```python
    with torch.no_grad():
        for x, y in loader:
            preds.append(model(x).argmax(1).cpu())
    ```

    ## Use instead
    ```python
    with torch.no_grad():
        for x, y in loader:
            preds.append(model(x).argmax(1))
    preds = torch.cat(preds).cpu()
    ```

    ## Fix safety
    No automatic fix: where the copy goes depends on how the results are used.

    A conversion of such a tensor to NumPy needs the same copy: `t.detach().cpu().numpy()` is
    reported at its `.cpu()`, and `t.numpy()`, `np.asarray(t)`, an sklearn metric or a plot given
    `t` (which TL102 reports as crashing there) at the tensor, under TL102's own premise that `t`
    may be on an accelerator. So TL102's fix, which adds the `.cpu()`, keeps this finding where it
    was and never creates one. Likewise a copy converted by `.numpy()` (`x.cpu().numpy()`, views
    between) counts when `x` is of unknown kind: `.numpy()` says it is a tensor, as TL101 reads it,
    and TL101's fix (inserting `.detach()`, which tells the analysis the same) changes nothing here.

    ## Known problems
    Only values known to be tensors are judged. A loop that must free device memory each batch may
    copy on purpose: silence it with `# noqa: TL402`. A conversion that only works on host tensors
    as written (`t.numpy()`) copies nothing where it runs today; it is reported with TL102, whose fix
    makes it run on an accelerator.
    """
    code = "TL402"
    name = "per-step-host-copy"
    summary = "Copying a device tensor to the host every step of a loop"
    fixable = "no"
    VALID = [
        Valid(H + "@torch.no_grad()\ndef evaluate(model, loader):\n    preds = []\n    for x, y in loader:\n"
                  "        preds.append(model(x).argmax(1))\n    return torch.cat(preds).cpu()\n", "moved once after the loop"),
        Valid(train_with("if step % 50 == 0:\n            print(loss)"), "print under a guard"),
        Valid(train_with("host = torch.zeros(3).cpu()"), "a host tensor"),
        Valid(H + "def generate(model, idx, steps):\n    logits = model(idx)\n    for _ in range(steps):\n"
                  "        probs = torch.softmax(logits, dim=-1)\n        out.append(probs.cpu())\n",
              "a range loop that calls no model: not a step loop"),
    ]
    INVALID = [
        Invalid(H + "@torch.no_grad()\ndef evaluate(model, loader):\n    preds = []\n    for x, y in loader:\n"
                    "        preds.append(model(x).argmax(1).cpu())\n    return preds\n", line=6, col=22,
                why="collecting predictions on the host every batch"),
        Invalid(train_with("print(loss)"), line=10, col=9, why="print(tensor)"),
        Invalid(train_with("host = out.to('cpu')"), line=10, col=16, why=".to('cpu')"),
        Invalid(H + "@torch.no_grad()\ndef generate(model, idx, max_new_tokens):\n    for _ in range(max_new_tokens):\n"
                    "        logits = model(idx)\n        probs = logits[:, -1].softmax(-1)\n"
                    "        nxt = torch.multinomial(probs.cpu(), 1)\n        idx = torch.cat([idx, nxt.to(idx.device)], dim=1)\n"
                    "    return idx\n", line=7, col=33, why="sampling on the host every generated token"),
        Invalid(H + "def generate(model, idx, max_new_tokens):\n    logits = model(idx)\n    for _ in range(max_new_tokens):\n"
                    "        probs = torch.softmax(logits[:, -1], dim=-1)\n        history.append(probs.cpu())\n"
                    "        idx = torch.cat([idx, torch.multinomial(probs, 1)], dim=1)\n        logits = model(idx)\n",
                line=6, col=24, why="a generation loop whose model call ends the body"),
        Invalid(H + "@torch.no_grad()\ndef evaluate(model, loader):\n    probs = []\n    for x, y in loader:\n"
                    "        probs.append(model(x).softmax(-1).cpu().numpy())\n    return probs\n", line=6, col=22,
                why="a conversion collected every batch: the copy in it is reported"),
        Invalid(H + "@torch.no_grad()\ndef evaluate(model, loader):\n    probs = []\n    for x, y in loader:\n"
                    "        probs.append(model(x).numpy())\n    return probs\n", line=6, col=22,
                why="the same before TL102's fix adds `.cpu()`: reported at the same place"),
        Invalid("import numpy as np\n" + train_with("print(np.abs(out).max())"), line=11, col=22,
                why="a NumPy function given a device tensor (TL102): the copy its fix adds"),
        Invalid(TRAIN.replace("criterion, device", "criterion, device, probe") + "        print(probe(x).cpu().numpy())\n",
                line=10, col=15, why="`.numpy()` says an unknown value is a tensor, as it does for TL101"),
    ]


class PerStepSynchronize(Rule):
    __doc__ = """
    ## What it does
    Flags `torch.cuda.synchronize()` inside a step loop, outside a periodic guard and outside a
    timing loop (one that reads `time.perf_counter()`/`time.time()`/`Event.elapsed_time` in the
    same iteration).
    """ + STEP_LOOPS + """
    ## Why is this bad?
    It blocks the host until the whole device queue drains, every step, for no result. It is also
    invisible to `torch.cuda.set_sync_debug_mode`, which only reports copies and stream syncs.

    ## Example
    ```python
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        torch.cuda.synchronize()
    ```

    ## Use instead
    ```python
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    ```

    ## Fix safety
    Never fixed automatically: a synchronize may be there on purpose (timing, a race it hides).
    """
    code = "TL403"
    name = "per-step-synchronize"
    summary = "`torch.cuda.synchronize()` every step of a loop"
    fixable = "no"
    VALID = [
        Valid(H + "import time\ndef bench(model, loader, optimizer):\n    for x in loader:\n        start = time.perf_counter()\n"
                  "        model(x).sum().backward()\n        optimizer.step()\n        torch.cuda.synchronize()\n"
                  "        print(time.perf_counter() - start)\n", "timing loop"),
        Valid(train_with("if step % 100 == 0:\n            torch.cuda.synchronize()"), "guarded"),
        Valid(H + "def f(model, loader, optimizer):\n    for x in loader:\n        model(x).sum().backward()\n"
                  "    torch.cuda.synchronize()\n", "after the loop"),
    ]
    INVALID = [
        Invalid(train_with("torch.cuda.synchronize()"), line=10, col=9, why="every step"),
    ]


class GraphRetention(Rule):
    __doc__ = """
    ## What it does
    Flags accumulating a value that may require grad across the iterations of a step loop without
    `.detach()`/`.item()`: `total += loss`, `losses.append(loss)`, unless the accumulator itself
    later feeds `.backward()` (then keeping the graph is the point).
    """ + STEP_LOOPS + """
    ## Why is this bad?
    A tensor that requires grad keeps its whole autograd graph alive; summing or collecting it keeps
    every step's graph, so memory grows each step until the epoch ends or the process dies.

    ## Example
    ```python
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss
    ```

    ## Use instead
    ```python
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.detach()
    ```

    ## Fix safety
    Safe: `.detach()` gives the same values and the same type (a tensor stays a tensor), and the
    rule does not fire when the accumulator later feeds `.backward()`.
    """
    code = "TL404"
    name = "graph-retention"
    summary = "Accumulating a grad-carrying tensor across steps without `.detach()`"
    fixable = "always"
    VALID = [
        Valid(train_with("running += loss.detach()"), "detached"),
        Valid(train_with("running += loss.item()"), "a Python number (TL401 judges the sync)"),
        Valid(H + "def train(model, loader, optimizer, criterion):\n    losses = []\n    for x, y in loader:\n"
                  "        losses.append(criterion(model(x), y))\n    torch.stack(losses).mean().backward()\n"
                  "    optimizer.step()\n", "the collected losses feed backward"),
        Valid(H + "@torch.no_grad()\ndef evaluate(model, loader):\n    total = 0\n    for x, y in loader:\n"
                  "        total += model(x).sum()\n    return total\n", "no grad"),
    ]
    INVALID = [
        Invalid(train_with("running += loss"), line=10, col=9, fixed=train_with("running += loss.detach()"),
                why="summing the loss"),
        Invalid(train_with("history.append(loss)"), line=10, col=9, fixed=train_with("history.append(loss.detach())"),
                why="collecting the loss"),
        Invalid(train_with("running = running + loss"), line=10, col=9, fixed=train_with("running = running + loss.detach()"),
                why="total = total + loss"),
        Invalid(train_with("history += [loss]"), line=10, col=9, fixed=train_with("history += [loss.detach()]"),
                why="extending with a list display"),
        Invalid(train_with("history.extend([loss, out])"), line=10, col=9,
                fixed=train_with("history.extend([loss.detach(), out.detach()])"), why="extend"),
        Invalid(train_with("history.append((step, loss))"), line=10, col=9,
                fixed=train_with("history.append((step, loss.detach()))"), why="a tuple holding the loss"),
        Invalid(train_with("running += loss * x.size(0)"), line=10, col=9,
                fixed=train_with("running += (loss * x.size(0)).detach()"), why="an expression"),
    ]


RULES = (PerStepScalarSync, PerStepHostCopy, PerStepSynchronize, GraphRetention)


class SyncFamily(SyncChecker):
    rules = RULES
