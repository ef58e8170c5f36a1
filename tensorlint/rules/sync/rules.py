"""TL4: work that blocks on the accelerator, or keeps autograd graphs alive, every step of a loop."""
from __future__ import annotations

from tensorlint.core.fix_check import FixCheck
from tensorlint.rules.base import Invalid, Rule, Valid

H = "import torch\n"
HN = "import numpy as np\n" + H
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
    A *step loop* needs evidence of being one: a `for`/`while` loop whose own body (not nested
    functions or loops) calls `.backward()` or an optimizer/scaler `.step(...)`, or calls a helper
    that does (a same-file function or method, also through `functools.partial` or a helper of its
    own, or a function of another module of the project whose summary says so); or that calls a
    model over the batches of a data loader (`for batch in loader`, `enumerate(train_loader)`,
    `tqdm(dataloader)`, `zip` of loaders, or anything shown with a progress bar but a count:
    `Tqdm.tqdm(val_generator)`), a method of the same object that calls its model once per call
    (`self.batch_loss(batch)`) counting as the model call; or that calls a model in a `range(...)`/`while` loop
    (token-by-token generation). A callee named like a part of a model (`linear`, `self.proj`,
    `block`, `layers[i]`) is not a model call: a loop over layers or experts is not a step loop. An
    epoch loop that calls `train(...)` is not one, nor is a loop over constants written in the code
    (`for name in ["small.xyz", "1hz5.xyz"]`, or over a name bound only to such a list and never
    changed): it runs the few cases it spells out (a test over fixture files), not steps. Findings inside a step helper are reported there,
    naming the call. A method a training framework calls once per batch is one step of the loop the
    framework runs, in a class that provably derives from the framework's base (its import, or a
    class of this file or of the project that does): a `LightningModule`'s `training_step`,
    `validation_step`, `on_train_batch_end`, ... and a Lightning `Callback`'s batch hooks; a
    torchbearer `Metric`'s `process` and `Callback`'s `on_step_training`, ...; a fastai `Callback`'s
    `on_batch_end`, `on_backward_end`, ... (v1) or `after_batch`, ... (v2) and a `HookCallback`'s
    `hook`; an ignite `Metric`'s `update`; a Hugging Face `TrainerCallback`'s `on_step_end`, ...
    (the table in `analysis/step_hooks.py`), and any method such a method calls on `self` every
    time it runs (`self._process_train(*args)`). Anything under a periodic guard (`if step % N == 0:`,
    `if (i + 1) % log_every == 0:`, `if i == 0:`, an `if` naming `log_interval`, `should_log`,
    `is_last_step`, ...) or after the loop is fine, except that a bare arithmetic guard whose body
    itself calls `.backward()` or steps an optimizer (a GAN critic schedule, gradient accumulation)
    is a training step, not logging. Code that runs only when something went wrong (an `assert`
    message, a `raise`, an `except` block, the body of `if torch.isnan(loss):` or
    `if not torch.isfinite(loss):`) is never reported; the test itself runs every step.
"""

EVIDENCE = """
    The value must be shown to be on an accelerator: moved with `.cuda()`/`.to(device)`, created
    with `device=`, the output of a model that was moved or whose inputs were, a gradient
    (`torch.autograd.grad`) of such an input, or computed from such values; in a method of a class
    that moves its own state to a device (`self.policy = self.policy.to(self.device)`), also a tensor
    computed from what requires grad or from what feeds the loss the method backpropagates (one
    autograd graph cannot mix devices). In a per-step method of a framework that itself moves the
    model and every batch to the accelerator (Lightning, torchbearer, fastai, Hugging Face; not
    ignite, whose engine moves nothing itself), that placement is the evidence: the module's
    outputs, what requires grad there (the loss `training_step` returns, which Lightning
    back-propagates) and the tensors the framework passes the method (the batch, the outputs, a
    hooked module's output). Such code is written device-agnostic for the accelerator the framework
    picks, and Lightning's own guide says not to call `.item()` in it. What those values hold
    (`batch[0]`, a torchbearer state's batch counter) is not taken for a tensor without more
    evidence. The message names that evidence (`loss` comes from `criterion(out, y)` (line 9)). A
    value with no such evidence is not reported, since on the CPU the sync costs nothing. A move to
    the device a program-wide switch names (garage's `x.to(global_device())`, which `set_gpu_mode(True)`
    turns to CUDA) is evidence even though the switch starts off: the code is written for the
    accelerator the switch selects, as code moving to a `device` parameter is.
"""

FREE_SYNC = """
    A sync costs nothing more where the same iteration already waits for the device unavoidably: a
    loop that leaves on a device value (`if done.item(): break`, `if loss < target: return`), a
    generation loop that decides on a device value (`if next_token == eos: break`, `.item()` in a
    condition or assigned to a name that one tests) or yields each token to its consumer;
    boolean-mask indexing (`x[mask]`) or `nonzero`/`masked_select`/`unique` of a device tensor, also
    inside a helper the step calls with a device tensor, when the helper does it on every call (not
    under an `if`, in a loop body or an `except`; a helper of another module says so in its summary),
    and likewise a helper that stops the run on a tensor computed from what it is given
    (`def _check_nan(self, loss): if torch.isnan(loss): raise ValueError(...)`, a check kept on
    purpose: the host has the value before the step goes on; a check inside the loop itself stays a
    finding of its own, and so does a helper's check that does not raise);
    a best-model check whose body copies or saves the model (`if val_loss < best:` followed by
    `deepcopy(model.state_dict())`, `torch.save(...)`, `save_checkpoint(...)`), which only the host
    can decide. Such iterations are not reported. Nor is a read that the iteration needs on the host anyway: in a
    loop that does no training step (inference, scoring, export), a value read back and then written
    out later in the same iteration (`f.write(...)`, `np.save(...)`, a store into a writer:
    `writer[key] = wav`, where a writer is bound by `with ... as f`, made by a `*Writer(...)` call or
    named like one) is that step's output; collecting it on the device would only hold all of it there
    until the end. Collected into a list or dict instead, it is reported.

    A host round trip is unavoidable too: a copy that ends as NumPy or Python values (`x.cpu().numpy()`,
    `.item()`, `.tolist()`) of a tensor that may be on the device, from which the same iteration computes
    something it sends back to the device (moved with `.to(device)`/`.cuda()`, or combined with a value
    the iteration moved there: `correct += (top == y).sum()`), as an attack or a certification written in
    NumPy does. The step cannot go on without that copy, so the copy is not reported and the iteration's
    other syncs cost nothing more. A copy that stays a tensor (`torch.multinomial(probs.cpu(), 1)` sent
    back) is still the hazard: that work runs on the device as it is. Host work whose result never returns
    to the device (`norms.append(np.linalg.norm(h))`, a list returned at the end) is no round trip. Nor is
    the copy that is a function's stated result: in a function annotated to return NumPy (`-> np.ndarray`,
    `-> list[dict[str, np.ndarray]]`) whose return value the copy reaches, a copy inside a loop over the
    items of one value (each image's detections or gradient, which may differ in size, so there is no one
    tensor to collect) converts that output into the stated form; and a helper that takes NumPy and returns
    NumPy by its signature (its first parameter stated `np.ndarray`) makes a round trip on every call, so the
    step that calls it waits anyway.

    The copy may be hidden in another object's method. A call given host data (an argument known not to be
    a tensor, none known to be one), whose result the iteration sends back to the device as above, is such a
    round trip when either
    - it is `self.<attr>.<method>(...)`, the class (or a base class of the same file) declares what
      `self.<attr>` is (`<attr>: Estimator` in its body, `self.<attr>: "Estimator"` in a method, or the
      annotation of the `__init__` parameter assigned to it), and that class's method (its own or a base's; a class of another module through its
      summary, in a project run) returns a host copy (`.cpu().numpy()`, `.cpu().tolist()`, `.cpu().item()`
      of a tensor) on its path for such input: the only tests above the copy, or before an earlier `return`,
      are of an argument's type (`isinstance(x, torch.Tensor)`) or lead to a `raise`, and it is not in an
      `except` handler. ART's
      `self._classifier.loss_gradient(x_batch + delta, y_batch)` is one; a copy made on one configured path
      (`if not self.preprocessing: return x`) is not;
    - it is made while the step's model is switched to eval mode: `m.eval()` or `m.train(False)` before
      it and `m.train()` or `m.train(True)` after it in the same iteration, `m` not called in between and
      called after (the step trains it). The switch is made for the model to run in between, so the calls
      there run it (an attack's `generate`): host data in, host data out. Where `m` itself runs in the
      window, what happens to its output is visible and judged as written.
"""


ESTIMATOR = HN + ("class Estimator:\n    def __init__(self, model, device):\n        self.model = model.to(device)\n"
                  "        self.device = device\n\n    def gradient(self, x):\n"
                  "        t = torch.from_numpy(x).to(self.device).requires_grad_()\n"
                  "        self.model(t).sum().backward()\n"
                  "{returns}\n\n")


def adversarial(returns: str, declared: str, iteration: str) -> str:
    """A trainer whose step takes a NumPy gradient from an estimator held in `self.est` (`declared`: how the
    class declares it) and sends an input made from it back to the device."""
    return ESTIMATOR.format(returns=returns) + (
        f"class Trainer:\n    def __init__(self, est{declared}, opt):\n        self.est = est\n        self.opt = opt\n"
        "        self.model = est.model.cuda()\n\n"
        "    def fit(self, x: np.ndarray, steps: int):\n        for i in range(steps):\n            batch = x[i]\n"
        + "".join(f"            {line}\n" for line in iteration.splitlines())
        + "            loss = self.model(torch.from_numpy(adv).cuda()).sum()\n"
        "            loss.backward()\n            self.opt.step()\n            print(loss.item())\n")


FROM_GRADIENT = "grad = self.est.gradient(batch)\nadv = np.clip(batch + np.sign(grad), 0, 1)"


class PerStepScalarSync(Rule):
    __doc__ = """
    ## What it does
    Flags, inside a step loop and outside any periodic guard, reading a tensor that is shown to be on
    an accelerator back to Python: `.item()`, `.tolist()`, `float(t)`/`int(t)`/`bool(t)`, formatting
    it in an f-string, or using it as an `if`/`while` condition of a training or evaluation loop.
    """ + STEP_LOOPS + EVIDENCE + """
    ## Why is this bad?
    Each of these blocks the host until every kernel queued so far has finished, so the GPU runs dry
    while Python waits, every step. Public fixes report 5–50 % throughput gains; torchtune measured
    40–50 ms of `cudaStreamSynchronize` per step from one unguarded `loss.item()` in a progress bar.
    """ + FREE_SYNC + """
    ## Example
    ```python
    for x, y in loader:
        loss = criterion(model(x.to(device)), y.to(device))
        loss.backward()
        optimizer.step()
        running += loss.item()
    ```

    ## Use instead
    ```python
    for x, y in loader:
        loss = criterion(model(x.to(device)), y.to(device))
        loss.backward()
        optimizer.step()
        running += loss.detach()
    epoch_loss = running.item()
    ```

    ## Fix safety
    No automatic fix: moving the conversion changes the accumulator's type (float → tensor) and
    what gets printed, so the rewrite needs a human.

    ## Known problems
    Only values shown to be tensors on an accelerator are judged. Code where the device is decided
    elsewhere (a model moved by its caller in another file, `self.device` set by a framework other
    than those of the table) is not reported unless the file itself moves something. A framework
    hook runs on the host when the user trains on the CPU; it is reported all the same, as code
    written for the accelerator. Frameworks outside the table (and ignite handlers registered with
    `@engine.on(Events.ITERATION_COMPLETED)`) are not recognised. A loss computed by a
    criterion stored on `self` (`self.criterion(out, y)`) carries no evidence yet. In a generation
    loop, a condition on a device value makes the whole iteration count as synced, even when the
    condition could have stayed on the device. Some syncs are intentional (sampling on the CPU for
    reproducibility): silence them with `# noqa: TL401`. A class that never moves the model it
    trains, fed inputs moved under a program-wide device switch (garage's `BC`, which has no `to()`
    as garage's GPU-ready algorithms do), is reported although turning the switch on would make it
    fail rather than run on the accelerator.

    A blocking copy of a host batch to the device (`x.to(device)` from pageable memory, or without
    `non_blocking=True`) waits for the device's queue too: PyTorch synchronises the stream after such a
    copy (`set_sync_debug_mode` reports `torch.tensor(3.14).to(dev)`, pytorch/pytorch#120996; not verified
    here on a GPU). In such a loop the `.item()` costs the overlap of what the host does between it and
    the next copy (loading and collating the next batch in the main process, logging), not the whole
    step. The rule reports it all the same: load with `pin_memory=True` and copy with
    `non_blocking=True` to remove both waits.
    """
    code = "TL401"
    fix_check = FixCheck(snippet="loop")
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
        Valid(H + "def train(model, loader, opt, crit):\n    for x, y in loader:\n        loss = crit(model(x), y)\n"
                  "        loss.backward()\n        opt.step()\n        print(loss.item())\n",
              "nothing shows that the model or its batches are on an accelerator (no `.cuda()`, `.to(device)`)"),
        Valid(H + "def generate(model, idx, max_new_tokens, eos, device):\n    idx = idx.to(device)\n    tokens = []\n"
                  "    for _ in range(max_new_tokens):\n        next_id = model(idx)[:, -1].argmax(-1)\n"
                  "        tokens.append(next_id.item())\n        if next_id.item() == eos:\n            break\n"
                  "        idx = torch.cat([idx, next_id[:, None]], dim=1)\n",
              "stopping on a token syncs every step anyway: one more read of it costs nothing"),
        Valid(H + "def generate(model, idx, steps, device):\n    idx = idx.to(device)\n    for _ in range(steps):\n"
                  "        tok = model(idx)[:, -1].argmax(-1)\n        t = tok.item()\n        if t == 0:\n            break\n",
              "the token read back is what the loop decides on"),
        Valid(H + "def stream(model, idx, steps):\n    idx = idx.cuda()\n    for _ in range(steps):\n"
                  "        tok = model(idx)[:, -1].argmax(-1, keepdim=True)\n        yield tok.item()\n"
                  "        idx = torch.cat([idx, tok], dim=1)\n",
              "a streaming generator hands each token to its consumer as it comes"),
        Valid(train_with("print(loss.item())\n        if loss < 0.01:\n            break"),
              "leaving the loop on the loss needs its value: the iteration waits for it anyway"),
        Valid(train_with("done = torch.tensor(0, device=device)\n        if done.item() > 0:\n            break"),
              "a loop that stops on a device flag (distributed early stop)"),
        Valid(train_with("kept = out[out > 0]\n        running += loss.item()"),
              "boolean-mask indexing already waits for the device in this iteration"),
        Valid(H + "def split(x, y):\n    classes = y.unique()\n    return x[y == classes[0]]\n"
                  "def train(model, loader, opt, device):\n    model = model.to(device)\n    for x, y in loader:\n"
                  "        x, y = x.to(device), y.to(device)\n        loss = model(split(x, y)).sum()\n"
                  "        loss.backward()\n        opt.step()\n        print(loss.item())\n",
              "a helper that waits for the device on every call (`unique()`, mask indexing) already syncs the step"),
        Valid(train_with("if loss < best:\n            best = loss\n            state = copy.deepcopy(model.state_dict())\n"
                         "        print(loss.item())"),
              "a best-model check that copies the model must be decided on the host: the step waits for it anyway"),
        Valid(train_with("assert loss.isfinite(), f'loss is {loss}'"), "an assert message runs only on failure"),
        Valid(train_with("if step > 10 ** 9:\n            raise RuntimeError(f'diverged: {loss.item()}')"),
              "a raise argument runs only on failure"),
        Valid(train_with("try:\n            running += 1\n        except ValueError:\n            print(loss.item())"),
              "an except block is not the normal path"),
        Valid(H + "def experts(x, weights, linear, device):\n    x = x.to(device)\n    outs = []\n    for w in weights:\n"
                  "        outs.append(linear(x, w).sum().item())\n    return outs\n",
              "a loop calling a layer-named function over experts is not a step loop"),
        Valid(H + "def stats(loader, device):\n    total = 0.0\n    for batch in loader:\n"
                  "        total += batch.to(device).float().mean().item()\n    return total\n",
              "a loop over a loader that calls no model and does no step"),
        Valid(H + "import lightning as L\nclass LitModel(L.LightningModule):\n    def training_step(self, batch, batch_idx):\n"
                  "        x, y = batch\n        loss = torch.nn.functional.cross_entropy(self(x), y)\n"
                  "        if batch_idx % 100 == 0:\n            print(loss.item())\n        return loss\n",
              "Lightning: under a logging guard"),
        Valid(H + "import lightning as L\nclass LitModel(L.LightningModule):\n    def on_train_epoch_end(self):\n"
                  "        print(self.layer.weight.sum().item())\n", "Lightning: once per epoch, not per step"),
        Valid(H + "import lightning as L\nclass LitModel(L.LightningModule):\n    def validation_step(self, batch, batch_idx):\n"
                  "        loss, acc = self.evaluate(batch)\n        self.log('val_acc', acc.item())\n",
              "Lightning: nothing shows that a helper's unknown result is a tensor (validation_step returns no loss)"),
        Valid(H + "class Mean:\n    def process(self, *args):\n        self.total += args[0].sum().item()\n",
              "a `process` method of a class that derives from no framework base"),
        Valid(H + "from ignite.metrics import Metric\nclass Mean(Metric):\n    def update(self, output):\n"
                  "        y_pred, y = output\n        self.total += y_pred.sum().item()\n",
              "ignite runs `update` every iteration but moves nothing itself: nothing shows the device"),
        Valid(H + "import torchbearer\nfrom torchbearer.metrics import AdvancedMetric\nclass Every(AdvancedMetric):\n"
                  "    def process_train(self, *args):\n        state = args[0]\n"
                  "        if state[torchbearer.BATCH] % 10 == 0:\n            self.result = 1\n",
              "what a torchbearer state holds (a batch counter) is not shown to be a tensor"),
        Valid(H + "import lightning as L\nclass LitModel(L.LightningModule):\n    def training_step(self, batch, batch_idx):\n"
                  "        x, y = batch\n        loss = torch.nn.functional.cross_entropy(self(x), y)\n"
                  "        self.log('train_loss', loss)\n        return loss\n", "Lightning: self.log of the tensor itself"),
        Valid(H + "class Trainer:\n    def __init__(self, model):\n        self.model = model\n    def fit(self, loader):\n"
                  "        for batch in loader:\n            loss = self.compute_loss(batch)\n            loss.backward()\n"
                  "            self.optimizer.step()\n            print(loss.item())\n",
              "a class that moves nothing to a device: its loss may be on the host"),
        Valid(H + "class Trainer:\n    def __init__(self, model, device):\n        self.model = model.to(device)\n"
                  "    def fit(self, loader):\n        for batch in loader:\n            loss = self.compute_loss(batch)\n"
                  "            loss.backward()\n            self.optimizer.step()\n            sizes = torch.as_tensor(batch.lengths)\n"
                  "            print(sizes.sum().item())\n",
              "a tensor that neither requires grad nor feeds the loss says nothing of the moved model's device"),
        Valid(H + "def fit(f, steps):\n    w = torch.zeros(3, requires_grad=True)\n    opt = torch.optim.SGD([w], lr=0.1)\n"
                  "    for _ in range(steps):\n        g = torch.autograd.grad(f(w), w, create_graph=True)[0]\n"
                  "        loss = g.pow(2).sum()\n        loss.backward()\n        opt.step()\n        print(g.norm().item())\n",
              "gradients of a host tensor are on the host"),
        Valid(H + "class Trainer:\n    def _check_nan(self, loss):\n        if torch.isnan(loss):\n"
                  "            raise ValueError('nan loss')\n    def fit(self, model, loader, opt, device):\n"
                  "        for x, y in loader:\n            loss = model(x.to(device)).sum()\n"
                  "            print(loss.item())\n            self._check_nan(loss)\n            loss.backward()\n"
                  "            opt.step()\n",
              "a helper that stops the run on the loss it is given waits for it every step: one more read costs nothing"),
        Valid(H + "def test_grads(model, device):\n    files = ['a.pt', 'b.pt']\n    for name in files:\n"
                  "        x = torch.load(name).to(device).requires_grad_()\n        model(x).sum().backward()\n"
                  "        print(x.grad.norm().item())\n",
              "a loop over constants written in the code runs a few cases, not steps"),
        Valid(HN + "def train(model, loader, opt, attack, device):\n    model = model.to(device)\n    for x, y in loader:\n"
                   "        x = x.to(device)\n        adv = attack(x.cpu().numpy())\n"
                   "        loss = model(torch.from_numpy(adv).to(device)).sum()\n        loss.backward()\n        opt.step()\n"
                   "        print(loss.item())\n",
              "the step copies the batch to the host and sends what it computed from it back: it waits there anyway"),
        Valid(HN + "def evaluate(model, loader, certify, device):\n    model = model.to(device)\n"
                   "    correct = torch.zeros((), device=device)\n    for x, y in loader:\n        counts = np.zeros(10)\n"
                   "        counts += model(x.to(device)).cpu().numpy()\n        top = certify(counts)\n        y = y.to(device)\n"
                   "        correct += (top == y).sum()\n        print(f'{correct}')\n",
              "host counts computed from the outputs are combined with a device tensor: a round trip every step"),
        Valid(adversarial("        return t.grad.cpu().numpy()", ": Estimator", FROM_GRADIENT),
              "the step's NumPy gradient comes from a method of the declared `Estimator` that copies it to the host, "
              "and goes back to the device: a round trip every step"),
        Valid(adversarial("        if isinstance(x, torch.Tensor):\n            return t.grad\n"
                          "        return t.grad.cpu().numpy()", ": Estimator", FROM_GRADIENT),
              "the host copy is the method's path for NumPy input (only the input's type is tested)"),
        Valid(adversarial("        return t.grad.cpu().numpy()", "",
                          "self.model.eval()\n" + FROM_GRADIENT + "\nself.model.train()"),
              "a call made while the step's model is switched to eval mode runs that model: NumPy in, NumPy back "
              "to the device"),
    ]
    INVALID = [
        Invalid(adversarial("        return t.grad.cpu().numpy()", "", FROM_GRADIENT), line=27, col=19,
                why="nothing declares what `self.est` is: its method's host copy is not known"),
        Invalid(adversarial("        if not self.host:\n            return t.grad\n        return t.grad.cpu().numpy()",
                            ": Estimator", FROM_GRADIENT), line=29, col=19,
                why="the method copies to the host on one configured path only"),
        Invalid(adversarial("        return t.grad.cpu().numpy()", ": Estimator",
                            "grad = self.est.gradient(batch)\nprint(np.abs(grad).max())\nadv = batch"), line=28, col=19,
                why="the host gradient is only printed: nothing made from it goes back to the device"),
        Invalid(adversarial("        return t.grad.cpu().numpy()", "", "self.model.train(False)\n"
                            "self.model.train(True)\n" + FROM_GRADIENT), line=29, col=19,
                why="the call comes after the model is switched back to training mode"),
        Invalid(adversarial("        return t.grad.cpu().numpy()", "", "self.model.eval()\n"
                            "print(self.model(torch.from_numpy(batch).cuda()).argmax())\n" + FROM_GRADIENT
                            + "\nself.model.train()"), line=30, col=19,
                why="the model runs in the eval window itself: which call runs it is visible, not hidden"),
        Invalid(train_with("running += loss.item()"), line=10, col=20, why="plain training loop"),
        Invalid(train_with("print(f'step {step}: {loss}')"), line=10, col=30, why="f-string of the loss"),
        Invalid(train_with("if torch.isnan(loss):\n            running = 0.0"), line=10, col=12,
                why="tensor as an if condition"),
        Invalid(train_with("running += float(loss)"), line=10, col=20, why="float(tensor)"),
        Invalid(H + "def pick(x, y):\n    return x[y.long()]\n"
                    "def train(model, loader, opt, device):\n    model = model.to(device)\n    for x, y in loader:\n"
                    "        x, y = x.to(device), y.to(device)\n        loss = model(pick(x, y)).sum()\n"
                    "        loss.backward()\n        opt.step()\n        print(loss.item())\n", line=11, col=15,
                why="a helper indexing by positions (not by a boolean mask) does not wait for the device"),
        Invalid(train_with("if loss < best:\n            best = loss"), line=10, col=12,
                why="a running minimum kept without saving anything could stay on the device (`torch.minimum`)"),
        Invalid(H + "def train(model, loader, optimizer, scaler, criterion):\n    model.cuda()\n    for x, y in loader:\n"
                    "        with torch.autocast('cuda'):\n            loss = criterion(model(x.cuda()), y.cuda())\n"
                    "        scaler.scale(loss).backward()\n        scaler.step(optimizer)\n        scaler.update()\n"
                    "        progress.set_postfix(loss=loss.item())\n", line=10, col=35, why="AMP with a GradScaler"),
        Invalid(H + "def train(model, loader, optimizer, criterion, accum, device):\n    for i, (x, y) in enumerate(loader):\n"
                    "        loss = criterion(model(x.to(device)), y.to(device)) / accum\n        loss.backward()\n"
                    "        if (i + 1) % accum == 0:\n            optimizer.step()\n        losses.append(loss.item())\n",
                line=8, col=23, why="gradient accumulation: the append runs every micro-step"),
        Invalid(H + "@torch.no_grad()\ndef evaluate(model, loader, device):\n    correct = 0\n    for x, y in loader:\n"
                    "        x, y = x.to(device), y.to(device)\n        pred = model(x).argmax(1)\n"
                    "        correct += (pred == y).sum().item()\n    return correct\n",
                line=8, col=20, why="evaluation under no_grad, batches moved to the device"),
        Invalid(H + "def generate(model, idx, max_new_tokens, device):\n    idx = idx.to(device)\n    tokens = []\n"
                    "    for _ in range(max_new_tokens):\n        logits = model(idx)\n        next_id = logits[:, -1].argmax(-1)\n"
                    "        tokens.append(next_id.item())\n        idx = torch.cat([idx, next_id[:, None]], dim=1)\n",
                line=8, col=23, why="a generation loop that reads every token back although nothing decides on it"),
        Invalid(H + "def train(model, loader, opt, crit):\n    model = model.cuda()\n    total = 0.0\n    for x, y in loader:\n"
                    "        out = model(x)\n        loss = crit(out, y)\n        loss.backward()\n        opt.step()\n"
                    "        total += loss.item()\n    return total\n", line=10, col=18,
                why="a loss from an unknown criterion of a moved model's output: backward() says it is a tensor"),
        Invalid(H + "from tqdm import tqdm\ndef train(model, loader, opt, crit, device):\n"
                    "    for i, batch in enumerate(pbar := tqdm(loader)):\n"
                    "        loss = crit(model(batch[0].to(device)), batch[1].to(device))\n        loss.backward()\n"
                    "        opt.step()\n        pbar.set_description(f'{loss.item()}')\n", line=8, col=33,
                why="a tqdm bar bound with := in the loop header"),
        Invalid(H + "def train(model, loader_a, loader_b, opt, crit):\n    for (xa, ya), (xb, yb) in zip(loader_a, loader_b):\n"
                    "        xa, xb = xa.cuda(), xb.cuda()\n        loss = crit(model(xa), ya) + crit(model(xb), yb)\n"
                    "        loss.backward()\n        opt.step()\n        print(loss.item())\n", line=8, col=15,
                why="zip of two loaders"),
        Invalid(H + "def train(G, D, loader, opt_g, opt_d, n_critic, device):\n    for i, (real, _) in enumerate(loader):\n"
                    "        real = real.to(device)\n        d_loss = D(G(real)).mean() - D(real).mean()\n        d_loss.backward()\n"
                    "        opt_d.step()\n        if (i + 1) % n_critic == 0:\n            g_loss = -D(G(real)).mean()\n"
                    "            g_loss.backward()\n            opt_g.step()\n            print(g_loss.item())\n", line=12, col=19,
                why="a GAN critic schedule: a modulo guard around backward/step is a training step, not logging"),
        Invalid(H + "class Trainer:\n    def train_step(self, batch):\n        x = batch[0].to(self.device)\n"
                    "        loss = torch.nn.functional.cross_entropy(self.model(x), batch[1])\n        loss.backward()\n        self.opt.step()\n"
                    "        return loss.item()\n    def fit(self, loader):\n        for batch in loader:\n"
                    "            self.train_step(batch)\n", line=8, col=16,
                why="a step helper called by a loader loop: found in the helper, naming the call"),
        Invalid(H + "class Trainer:\n    def _update(self, loss):\n        loss.backward()\n        self.opt.step()\n"
                    "    def train_step(self, x, y):\n        out = self.model(x.to(self.device))\n"
                    "        self._update(self.crit(out, y))\n        return out.argmax(1).tolist()\n"
                    "    def fit(self, loader):\n        for x, y in loader:\n            self.train_step(x, y)\n",
                line=9, col=16, why="a helper that does the step through a helper of its own is still one step"),
        Invalid(H + "import functools\ndef step(model, opt, crit, batch):\n    loss = crit(model(batch[0].cuda()), batch[1].cuda())\n"
                    "    loss.backward()\n    opt.step()\n    return loss.item()\ndef fit(model, opt, crit, loader):\n"
                    "    train_step = functools.partial(step, model, opt, crit)\n    for batch in loader:\n        train_step(batch)\n",
                line=7, col=12, why="a functools.partial of a same-file step helper"),
        Invalid(H + "def fast_adapt(model, batch, device):\n    data, labels = batch\n"
                    "    return torch.nn.functional.cross_entropy(model(data.to(device)), labels.to(device))\n"
                    "@torch.no_grad()\ndef validate(model, loader, device):\n    total = 0.0\n    for batch in loader:\n"
                    "        loss = fast_adapt(model, batch, device)\n        total += loss.item()\n    return total\n",
                line=10, col=18, why="a loop over batches that hands the model to a helper: the helper runs it"),
        Invalid(H + "class Tagger(torch.nn.Module):\n    def scores(self, batch):\n"
                    "        return self.forward(batch.to(self.device)).softmax(-1)\n"
                    "    def predict(self, loader):\n        for batch in loader:\n"
                    "            print(self.scores(batch).max().item())\n", line=7, col=19,
                why="a model's own method called over batches runs the model"),
        Invalid(H + "import lightning as L\nclass LitModel(L.LightningModule):\n    def training_step(self, batch, batch_idx):\n"
                    "        x, y = batch\n        loss = torch.nn.functional.cross_entropy(self(x.to(self.device)), y)\n"
                    "        self.log('train_loss', loss.item())\n        return loss\n", line=7, col=32,
                why="Lightning calls training_step every step"),
        Invalid(H + "import lightning as L\nclass LitModel(L.LightningModule):\n    def training_step(self, batch, batch_idx):\n"
                    "        x, y = batch\n        loss = torch.nn.functional.cross_entropy(self(x), y)\n"
                    "        self.log('train_loss', loss.item())\n        return loss\n", line=7, col=32,
                why="Lightning places the module on the accelerator and calls training_step every step"),
        Invalid(H + "from pytorch_lightning import LightningModule\nclass Episodic(LightningModule):\n    pass\n"
                    "class Learner(Episodic):\n    def training_step(self, batch, batch_idx):\n"
                    "        loss = self.meta_learn(batch)\n        self.log('train_loss', loss.item())\n        return loss\n",
                line=8, col=32, why="the loss training_step returns is what Lightning back-propagates (through a base of this file)"),
        Invalid(H + "from torchbearer import metrics\nclass Mean(metrics.Metric):\n    def process(self, *args):\n"
                    "        data = args[0]\n        self._sum += data.sum().item()\n", line=6, col=22,
                why="torchbearer calls a metric's process every batch with the step's tensors"),
        Invalid(H + "from fastai.callbacks.hooks import HookCallback\nclass Stats(HookCallback):\n"
                    "    def hook(self, m, i, o):\n        return o.mean().item()\n", line=5, col=16,
                why="fastai runs a HookCallback's hook on every forward pass of the learner's model"),
        Invalid(H + "class Trainer:\n    def __init__(self, model, device):\n        self.device = device\n"
                    "        self.model = model.to(self.device)\n    def fit(self, loader):\n        for batch in loader:\n"
                    "            loss = self.compute_loss(batch)\n            loss.backward()\n            self.optimizer.step()\n"
                    "            print(loss.item())\n", line=11, col=19,
                why="a class that moved its model: the loss it backpropagates (from a hook defined elsewhere) is there too"),
        Invalid(H + "class PPO:\n    def setup(self):\n        self.policy = self.policy.to(self.device)\n"
                    "    def train(self, batches):\n        for data in batches:\n            logp = self.policy.evaluate(data.obs)\n"
                    "            ratio = torch.exp(logp - data.old_logp)\n            loss = -(data.adv * ratio).mean()\n"
                    "            self.policy.optimizer.zero_grad()\n            loss.backward()\n"
                    "            self.policy.optimizer.step()\n"
                    "            fractions.append(torch.mean((ratio - 1).abs().float()).item())\n", line=13, col=30,
                why="computed from what feeds the loss of a class that moved its policy"),
        Invalid(H + "def train(model, loader, opt, crit, device):\n    for x, y in loader:\n"
                    "        x = x.to(device).requires_grad_()\n        out = model(x)\n"
                    "        g = torch.autograd.grad(out.sum(), inputs=x, create_graph=True)[0]\n        penalty = g.norm()\n"
                    "        loss = crit(out, y) + penalty\n        loss.backward()\n        opt.step()\n"
                    "        print(penalty.item())\n", line=11, col=15,
                why="gradients live where their inputs do (a gradient penalty)"),
        Invalid(H + "class Trainer:\n    def _check_nan(self, loss):\n        if torch.isnan(loss):\n"
                    "            loss.zero_()\n    def fit(self, model, loader, opt, device):\n"
                    "        for x, y in loader:\n            loss = model(x.to(device)).sum()\n"
                    "            print(loss.item())\n            self._check_nan(loss)\n            loss.backward()\n"
                    "            opt.step()\n", line=4, col=12,
                why="a helper's check that does not stop the run is a decision that could stay on the device"),
        Invalid(H + "def train(model, loader, opt, device):\n    phases = ['warmup']\n    phases.append('main')\n"
                    "    for phase in phases:\n        for x in loader:\n            loss = model(x.to(device)).sum()\n"
                    "            loss.backward()\n            opt.step()\n            print(loss.item())\n",
                line=10, col=19, why="a loop over a list the code extends is not a fixed set of cases; the inner loop steps anyway"),
        Invalid(HN + "def train(model, loader, opt, augment, device):\n    model = model.to(device)\n    for x, y in loader:\n"
                     "        aug = augment(x.cpu().numpy())\n        loss = model(torch.from_numpy(aug).to(device)).sum()\n"
                     "        loss.backward()\n        opt.step()\n        print(loss.item())\n", line=10, col=15,
                why="augmenting the loader's own batch on the host and moving it shows no round trip of device work")
    ]


class PerStepHostCopy(Rule):
    __doc__ = """
    ## What it does
    Flags, inside a step loop and outside any periodic guard, copying a tensor that is shown to be on
    an accelerator to the host: `.cpu()`, `.to("cpu")`, `.numpy(force=True)`, `print(tensor)`.
    """ + STEP_LOOPS + EVIDENCE + """
    ## Why is this bad?
    A device-to-host copy waits for every queued kernel, then for the transfer, every batch.
    Collecting predictions on the device and moving them once after the loop does one transfer.
    """ + FREE_SYNC + """
    ## Example
    ```python
    with torch.no_grad():
        for x, y in loader:
            preds.append(model(x.to(device)).argmax(1).cpu())
    ```

    ## Use instead
    ```python
    with torch.no_grad():
        for x, y in loader:
            preds.append(model(x.to(device)).argmax(1))
    preds = torch.cat(preds).cpu()
    ```

    ## Fix safety
    No automatic fix: where the copy goes depends on how the results are used.

    ## Known problems
    Only values shown to be on an accelerator are judged (see above): a model moved by a caller in
    another file gives no evidence here. A loop that must free device memory each
    batch may copy on purpose: silence it with `# noqa: TL402`. Writing out is recognised by the
    write calls and writer names listed above only: an inference loop that hands each batch to some
    other host consumer (a metric library, a custom saver) is still reported. A round trip is followed
    through names in the order statements run (not through calls into other objects: a NumPy
    `classifier.loss_gradient(x)` of another module is not known to run on the device), and an
    item-by-item conversion into a stated NumPy result is taken for the output's form even when the items
    could have been copied in one go.
    """
    code = "TL402"
    fix_check = FixCheck(snippet="loop")
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
        Valid(H + "@torch.no_grad()\ndef evaluate(model, loader):\n    preds = []\n    for x, y in loader:\n"
                  "        preds.append(model(x).argmax(1).cpu())\n    return preds\n",
              "nothing shows that the model or its inputs are on an accelerator: `.cpu()` may be a no-op"),
        Valid(H + "def generate(model, idx, steps, eos):\n    idx = idx.cuda()\n    for _ in range(steps):\n"
                  "        probs = model(idx)[:, -1].softmax(-1)\n        history.append(probs.cpu())\n"
                  "        nxt = torch.multinomial(probs, 1)\n        if nxt == eos:\n            break\n"
                  "        idx = torch.cat([idx, nxt], dim=1)\n",
              "a generation loop that stops on a token waits for the device every step anyway"),
        Valid(train_with("if not torch.isfinite(loss):\n            print(loss)\n            print(out.cpu())"),
              "the body of `if not torch.isfinite(loss):` runs only once training went wrong"),
        Valid(H + "from tqdm import tqdm\nclass Indexer:\n    def __init__(self, tokenizer, device):\n"
                  "        self.tokenizer = tokenizer\n        self.device = device\n    def ids(self, text):\n"
                  "        return self.tokenizer(text)\n    def build(self, texts):\n        out = []\n"
                  "        for text in tqdm(texts):\n            ids = torch.tensor(self.ids(text), device=self.device)\n"
                  "            out.append(ids.cpu())\n        return out\n",
              "a progress bar over items whose steps run no model: not a step loop"),
        Valid(H + "def score(model, loader, path, device):\n    model = model.to(device)\n    with open(path, 'w') as f:\n"
                  "        for keys, x in loader:\n            with torch.no_grad():\n                y = model(x.to(device))\n"
                  "            scores = y.cpu().numpy()\n            for key, s in zip(keys, scores):\n"
                  "                f.write(f'{key} {s}\\n')\n",
              "an inference loop that writes each batch's result to a file: the host needs it every step"),
        Valid(H + "def enhance(model, loader, writer, device):\n    model = model.to(device)\n    for key, x in loader:\n"
                  "        wav = model(x.to(device)).cpu().numpy()\n        writer[key] = wav\n",
              "an inference loop storing each output into a writer"),
        Valid(HN + "def train(model, loader, opt, attack, device):\n    model = model.to(device)\n    for x, y in loader:\n"
                   "        x = x.to(device)\n        x_np = x.cpu().numpy()\n        adv = attack(x_np + np.sign(x_np))\n"
                   "        loss = model(torch.from_numpy(adv).to(device)).sum()\n        loss.backward()\n        opt.step()\n",
              "a NumPy attack on the batch, moved back to the device in the same step: the step needs the copy"),
        Valid(HN + "class Detector:\n    def __init__(self, model, device):\n        self.model = model.to(device)\n"
                   "        self.device = device\n    def _to_numpy(self, outputs) -> list[dict[str, np.ndarray]]:\n"
                   "        result = []\n        for out in outputs:\n"
                   "            result.append({'boxes': out['boxes'].cpu().numpy(), 'scores': out['scores'].cpu().numpy()})\n"
                   "        return result\n    def predict(self, loader):\n        preds = []\n        for x in loader:\n"
                   "            with torch.no_grad():\n                outputs = self.model(x.to(self.device))\n"
                   "            preds.extend(self._to_numpy(outputs))\n        return preds\n",
              "each item of one output (ragged detections) converted into the NumPy result the function states"),
        Valid(HN + "class Attack:\n    def __init__(self, device):\n        self.device = device\n"
                   "    def _grad(self, delta: np.ndarray, target: np.ndarray) -> np.ndarray:\n"
                   "        d = torch.from_numpy(delta).to(self.device)\n        d.requires_grad = True\n"
                   "        loss = (d - torch.from_numpy(target).to(self.device)).pow(2).sum()\n        loss.backward()\n"
                   "        return d.grad.cpu().numpy()\n    def run(self, delta, target, steps, optimizer):\n"
                   "        for _ in range(steps):\n            g = self._grad(delta, target)\n"
                   "            delta = delta - 0.1 * np.sign(g)\n            optimizer.step()\n        return delta\n",
              "a helper that takes and returns NumPy by its signature: every call is a host round trip"),
    ]
    INVALID = [
        Invalid(H + "from fastai.callback import Callback\nclass Collect(Callback):\n"
                    "    def on_batch_end(self, last_output, last_target, **kwargs):\n"
                    "        self.preds.append(last_output.cpu())\n", line=5, col=27,
                why="fastai calls on_batch_end every batch with the outputs on the learner's device"),
        Invalid(H + "@torch.no_grad()\ndef evaluate(model, loader):\n    model.cuda()\n    preds = []\n    for x, y in loader:\n"
                    "        preds.append(model(x.cuda()).argmax(1).cpu())\n    return preds\n", line=7, col=22,
                why="collecting predictions on the host every batch"),
        Invalid(train_with("print(loss)"), line=10, col=9, why="print(tensor)"),
        Invalid(train_with("host = out.to('cpu')"), line=10, col=16, why=".to('cpu')"),
        Invalid(H + "@torch.no_grad()\ndef generate(model, idx, max_new_tokens):\n    idx = idx.cuda()\n"
                    "    for _ in range(max_new_tokens):\n        logits = model(idx)\n        probs = logits[:, -1].softmax(-1)\n"
                    "        nxt = torch.multinomial(probs.cpu(), 1)\n        idx = torch.cat([idx, nxt.to(idx.device)], dim=1)\n"
                    "    return idx\n", line=8, col=33, why="sampling on the host every generated token"),
        Invalid(H + "def generate(model, idx, max_new_tokens, device):\n    model = model.to(device)\n    logits = model(idx)\n"
                    "    for _ in range(max_new_tokens):\n        probs = torch.softmax(logits[:, -1], dim=-1)\n"
                    "        history.append(probs.cpu())\n        idx = torch.cat([idx, torch.multinomial(probs, 1)], dim=1)\n"
                    "        logits = model(idx)\n", line=7, col=24, why="a generation loop whose model call ends the body"),
        Invalid(H + "def predict(model, loader):\n    model = model.to('cuda')\n    for x in loader:\n"
                    "        yield model(x).cpu().numpy()\n", line=5, col=15,
                why="outputs of a model moved to the GPU, copied each batch"),
        Invalid(H + "from tqdm import tqdm\nclass Evaluator:\n    def __init__(self, model, device):\n"
                    "        self.model = model.to(device)\n        self.device = device\n"
                    "    def batch_loss(self, batch):\n        return self.model(batch.to(self.device)).sum()\n"
                    "    def validate(self, groups):\n        losses = []\n        for group in tqdm(groups):\n"
                    "            loss = self.batch_loss(group)\n            losses.append(loss.detach().cpu())\n"
                    "        return losses\n", line=13, col=27,
                why="a progress bar over the data, each step running the object's model through its own method"),
        Invalid(H + "def predict(model, loader, device):\n    model = model.to(device)\n    preds = {}\n"
                    "    for key, x in loader:\n        preds[key] = model(x.to(device)).cpu()\n    return preds\n",
                line=6, col=22, why="collected into a dict, not written out: it could stay on the device until the end"),
        Invalid(H + "def train(model, loader, opt, crit, log, device):\n    model = model.to(device)\n"
                    "    for x, y in loader:\n        loss = crit(model(x.to(device)), y.to(device))\n        loss.backward()\n"
                    "        opt.step()\n        log.write(f'{loss.cpu()}\\n')\n",
                line=8, col=22, why="a training loop writing its loss every step: output is not what a training step is for"),
        Invalid(HN + "def predict(model, loader, device) -> np.ndarray:\n    model = model.to(device)\n    preds = []\n"
                     "    for x in loader:\n        preds.append(model(x.to(device)).detach().cpu().numpy())\n"
                     "    return np.concatenate(preds)\n", line=7, col=22,
                why="a NumPy result collected batch by batch: one tensor per batch, concatenate on the device"),
        Invalid(HN + "def train(model, loader, opt, device):\n    model = model.to(device)\n    norms = []\n"
                     "    for x, y in loader:\n        out = model(x.to(device))\n        out.sum().backward()\n        opt.step()\n"
                     "        host = out.detach().cpu().numpy()\n        norms.append(np.linalg.norm(host))\n    return norms\n",
                line=10, col=16, why="host NumPy work whose result never goes back to the device is no round trip"),
        Invalid(HN + "def predict(model, loader, device):\n    model = model.to(device)\n    rows = []\n    for x in loader:\n"
                     "        out = model(x.to(device))\n        for row in out:\n            rows.append(row.detach().cpu().numpy())\n"
                     "    return rows\n", line=9, col=25,
                why="row by row, in a function that states no NumPy result: one copy of the batch would do"),
    ]


class PerStepSynchronize(Rule):
    __doc__ = """
    ## What it does
    Flags `torch.cuda.synchronize()` inside a step loop, outside a periodic guard and outside a
    timing loop (one that reads `time.perf_counter()`/`time.time()`/`Event.elapsed_time` in the
    same iteration). It needs no value: the call itself says the code runs on CUDA.
    """ + STEP_LOOPS + """
    ## Why is this bad?
    It blocks the host until the whole device queue drains, every step, for no result. It is also
    invisible to `torch.cuda.set_sync_debug_mode`, which only reports copies and stream syncs.
    """ + FREE_SYNC + """
    ## Example
    ```python
    for x, y in loader:
        loss = criterion(model(x.to(device)), y.to(device))
        loss.backward()
        optimizer.step()
        torch.cuda.synchronize()
    ```

    ## Use instead
    ```python
    for x, y in loader:
        loss = criterion(model(x.to(device)), y.to(device))
        loss.backward()
        optimizer.step()
    ```

    ## Fix safety
    Never fixed automatically: a synchronize may be there on purpose (timing, a race it hides).

    ## Known problems
    A timing loop is recognised only by clock reads in the same iteration; a synchronize that hides a
    race with host code (pinned-memory reuse) is reported too: silence it with `# noqa: TL403`.
    """
    code = "TL403"
    fix_check = FixCheck(snippet="loop")
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
        Valid(H + "def f(model, xs):\n    for x in xs:\n        model(x)\n        torch.cuda.synchronize()\n",
              "a loop over an unknown iterable with no step: nothing shows it is a step loop"),
        Valid(train_with("try:\n            running += 1\n        except RuntimeError:\n            torch.cuda.synchronize()\n"
                         "            raise"), "an except block is not the normal path"),
    ]
    INVALID = [
        Invalid(train_with("torch.cuda.synchronize()"), line=10, col=9, why="every step"),
        Invalid(H + "@torch.no_grad()\ndef evaluate(model, loader):\n    for x, y in loader:\n        model(x)\n"
                    "        torch.cuda.synchronize()\n", line=6, col=9,
                why="an evaluation loop over a loader: the synchronize needs no value to be on the device"),
    ]


class GraphRetention(Rule):
    __doc__ = """
    ## What it does
    Flags accumulating a value that is shown to require grad across the iterations of a training or
    data-loader step loop without `.detach()`/`.item()`: `total += loss`, `losses.append(loss)`, unless
    the accumulator itself later feeds `.backward()` (then keeping the graph is the point). The
    evidence is about grad, not the device (a model output in grad mode, a value that is
    `.backward()`ed, a parameter); the message names it. The graph is kept wherever the model runs.
    """ + STEP_LOOPS + """
    ## Why is this bad?
    A tensor that requires grad keeps its whole autograd graph alive; summing or collecting it keeps
    every step's graph, so memory grows each step until the epoch ends or the process dies.

    ## Example
    ```python
    for x, y in loader:
        loss = criterion(model(x.to(device)), y.to(device))
        loss.backward()
        optimizer.step()
        total += loss
    ```

    ## Use instead
    ```python
    for x, y in loader:
        loss = criterion(model(x.to(device)), y.to(device))
        loss.backward()
        optimizer.step()
        total += loss.detach()
    ```

    ## Fix safety
    Safe: the rule fires only on values shown to be tensors that require grad (so `.detach()` exists:
    never on a number a method returned), `.detach()` gives the same values and the same type, and the
    rule does not fire when the accumulator later feeds `.backward()` or is made anew every step
    (`self.loss = self._make_empty_loss()`), where keeping the graph is the point.

    ## Known problems
    A value whose grad is only guessed (a batch, a tensor from an unknown call) is not reported; a
    loss accumulated inside a helper of another module is found only through the project summaries.
    """
    code = "TL404"
    fix_check = FixCheck(snippet="loop", measures="graph")
    name = "graph-retention"
    summary = "Accumulating a grad-carrying tensor across steps without `.detach()`"
    fixable = "always"
    VALID = [
        Valid("import torch\nclass Trainer:\n    def fit(self, model, loader, optimizer, criterion, device):\n"
              "        for x, y in loader:\n            optimizer.zero_grad()\n            self.total = 0\n"
              "            loss = criterion(model(x.to(device)), y.to(device))\n            loss.backward()\n"
              "            optimizer.step()\n            self.total += loss\n",
              "an attribute made anew every step (`self.loss = self._make_empty_loss()`) holds one step's graph"),
        Valid(train_with("running += loss.detach()"), "detached"),
        Valid(train_with("running += loss.item()"), "a Python number (TL401 judges the sync)"),
        Valid(H + "def train(model, loader, optimizer, criterion):\n    losses = []\n    for x, y in loader:\n"
                  "        losses.append(criterion(model(x), y))\n    torch.stack(losses).mean().backward()\n"
                  "    optimizer.step()\n", "the collected losses feed backward"),
        Valid(H + "@torch.no_grad()\ndef evaluate(model, loader):\n    total = 0\n    for x, y in loader:\n"
                  "        total += model(x).sum()\n    return total\n", "no grad"),
        Valid(train_with("history.append(x.unsqueeze(0))"), "a batch from the loader: nothing shows it requires grad"),
        Valid(train_with("try:\n            running += 1\n        except ValueError:\n            history.append(loss)"),
              "an except block is not the normal path"),
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
        Invalid(H + "def train(model, loader, opt):\n    total = 0\n    for x in loader:\n        out = model(x)\n"
                    "        out.sum().backward()\n        opt.step()\n        total += out\n", line=8, col=9,
                fixed=H + "def train(model, loader, opt):\n    total = 0\n    for x in loader:\n        out = model(x)\n"
                          "        out.sum().backward()\n        opt.step()\n        total += out.detach()\n",
                why="no device evidence needed: the graph is kept wherever the model runs"),
    ]


RULES = (PerStepScalarSync, PerStepHostCopy, PerStepSynchronize, GraphRetention)

