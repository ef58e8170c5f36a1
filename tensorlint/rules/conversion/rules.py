"""TL1: conversions from torch to NumPy that crash (grad, device) or take a non-canonical path."""
from __future__ import annotations

from tensorlint.analysis.dtypes import NUMPY_REJECTS_FLOATING
from tensorlint.core.fix_check import FixCheck
from tensorlint.rules.base import Invalid, Rule, Valid

H = "import numpy as np\nimport torch\n"  # header shared by the cases
# a project-style module class, for the cases of methods called on an instance the code built (`self.model = Net()`)
NET = ("class Net(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = torch.nn.Linear(2, 2)\n"
       "    def embed(self, x):\n        return self.fc(x)\n    def scores(self, x):\n        return self.fc(x).detach().cpu()\n")
RUNNER = "class Runner:\n    def __init__(self):\n        self.model = Net()\n    def run(self, x):\n"


class NumpyWithoutDetach(Rule):
    """
    ## What it does
    Flags a conversion to NumPy of a tensor that may require grad, with no `.detach()` before it
    and not inside `torch.no_grad()`/`torch.inference_mode()`. Conversions are `.numpy()` and the
    implicit ones: a tensor (or a list/tuple/comprehension of tensors) passed to a NumPy function
    (`np.asarray`, `np.vstack`, `np.isnan`, ...), to `sklearn.metrics`, or to matplotlib's
    `plot`/`imshow`/`scatter`/`hist`.

    ## Why is this bad?
    `.numpy()` on a tensor that requires grad raises
    `RuntimeError: Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.`
    NumPy functions, sklearn and matplotlib reach the same check through `Tensor.__array__`, so half
    of these crashes happen with no `.numpy()` in sight.

    Only manifest hazards are reported: the code must show that the value is a torch tensor and
    that it requires grad. Evidence of grad is a model output in grad mode, a parameter, a
    `requires_grad=True` factory, `.requires_grad_()` or `t.requires_grad = True`, a
    `.backward()` on the value, a true `if t.requires_grad:` test, or anything computed from
    these; the message names it (``(`out` comes from `model(x)` (line 12))``). Host factories,
    `torch.from_numpy`, `.detach()`ed values, integer results (`argmax`, comparisons, `.long()`)
    and values produced under `no_grad` are evidence against. A value with no evidence, such as a
    function parameter of unknown provenance, is not reported; teams that want the canonical
    chain on such values too enable the house-style rule TL105 (see docs/provenance.md).

    ## Example
    ```python
    logits = model(images)
    criterion(logits, labels).backward()
    preds = logits.numpy()
    auc = roc_auc_score(labels, torch.sigmoid(logits))
    ```

    ## Use instead
    ```python
    logits = model(images)
    criterion(logits, labels).backward()
    preds = logits.detach().cpu().numpy()
    auc = roc_auc_score(labels, torch.sigmoid(logits).detach().cpu())
    ```

    ## Fix safety
    The fix rewrites to the canonical chain `.detach().cpu().numpy()` (or passes `.detach().cpu()`
    to the sink). `.detach()` exists only on torch tensors, so the fix is safe only when the value
    is proven one: its tensor-ness comes from a torch source (a torch factory or function,
    `nn.Parameter`, a module built from `torch.nn`, `.backward()` on it), not from a name
    (`model(x)` where `model` is a parameter) or duck typing; the file imports torch; and the
    conversion is not in a branch that tests for another framework.
    Otherwise the fix is unsafe and its title names the assumption ("(assumes `out` is a torch
    tensor)"). It is also unsafe inside `forward()` of an `nn.Module` and where the result flows
    straight back into a torch call: there `.detach()` silently cuts gradients, where the original
    crashed, and the message says so.

    A link the chain already has is never added twice: links behind views, subscripts, dtype casts
    and reductions with literal arguments stay where they are, and the fix adds only what the value
    lacks (`x.cpu().squeeze().numpy()` gets `.detach()` before its `.cpu()`, `x.detach()[0].numpy()`
    gets `.cpu()` at the end).

    ## Known problems
    What a same-file helper returns is judged in its caller's grad mode (called under `no_grad`, it
    returns a value that needs no grad), but a conversion inside a function body is judged with grad
    on even when every call is under `no_grad`. A helper that switches grad back on
    (`torch.enable_grad()` in its body or as its decorator) while called under `no_grad` is missed:
    its result counts as needing no grad. Tensors stored by item assignment (`d[k] = model(x)`) are
    not remembered by the container; dict displays, `append`, `extend` and `+=` are. A helper that
    converts what its callers pass is reported only when a caller in the same file (or, in a
    project run, in another module) passes a value with evidence; otherwise only TL105 reports it.
    In a file that imports torch, a value named like a model (`net(x)`) is called as one, so its
    output counts as requiring grad (and its fix is unsafe); a model that arrives as a parameter
    is known by its name only, so its output counts only where a caller passes a model the code
    shows, or where the function (or, for `self.model = model`, its class) trains it: a
    `.backward()`, `model.train()`, `model.zero_grad()`, or its `.parameters()` handed to a call
    such as an optimizer. `# noqa: TL101` silences one line.
    """

    code = "TL101"
    fix_check = FixCheck(snippet="conversion", raises=(("RuntimeError", r"requires grad"),))
    name = "numpy-without-detach"
    summary = "Conversion to NumPy of a tensor that may require grad, without `.detach()`"
    fixable = "sometimes"
    VALID = [
        Valid(H + "from transformers import AutoModel\nfrom .settings import settings\n\n\ndef detect(batch):\n"
              "    model = AutoModel.from_pretrained('x')\n"
              "    with settings.INFERENCE_MODE():\n        pred = model(batch.cuda())\n"
              "    logits = pred.logits.float().cpu().numpy()\n    return logits\n",
              "the project's own context says inference mode (surya's settings.INFERENCE_MODE())"),
        Valid(H + "t = torch.zeros(3)\nt.numpy()\n", "host factory without requires_grad"),
        Valid(H + "a = np.ones(3)\nt = torch.from_numpy(a)\nt.numpy()\n", "from_numpy"),
        Valid(H + "t = torch.as_tensor([1.0, 2.0])\nt.numpy()\n", "as_tensor of a list"),
        Valid(H + "t = torch.tensor([1.0])\nt.numpy()\n", "torch.tensor without requires_grad"),
        Valid(H + "t = torch.randn(3, requires_grad=True)\nt.detach().numpy()\n", "detached"),
        Valid(H + "def f(model, x):\n    with torch.no_grad():\n        out = model(x).cpu()\n    return out.numpy()\n",
              "produced under no_grad, converted after the block"),
        Valid(H + "def f(model, x):\n    out = model(x).cpu()\n    with torch.no_grad():\n        return out.numpy()\n",
              "converted inside no_grad: the grad check is skipped"),
        Valid(H + "@torch.no_grad()\ndef f(model, x):\n    return model(x).cpu().numpy()\n", "@torch.no_grad() function"),
        Valid(H + "def f(model, x):\n    with torch.inference_mode():\n        y = model(x).cpu().numpy()\n", "inference_mode"),
        Valid(H + "def f(t):\n    return t.detach().cpu().numpy() if t.requires_grad else t.cpu().numpy()\n",
              "guarded by requires_grad"),
        Valid(H + "def f(t):\n    if not t.requires_grad:\n        return t.cpu().numpy()\n", "guarded statement"),
        Valid(H + "def f(t):\n    if not t.requires_grad and not t.is_cuda:\n        return t.numpy()\n", "two guards joined by and"),
        Valid(H + "def f(t):\n    if t.requires_grad or t.is_cuda:\n        return None\n    return t.numpy()\n", "two guards joined by or"),
        Valid(H + "def f(model, x):\n    return np.float64(model(x).sum())\n", "np.float64 of a scalar goes through __float__"),
        Valid(H + "w = torch.nn.Parameter(torch.ones(3))\nw.new_zeros(3).numpy()\n", "new_zeros never requires grad"),
        Valid(H + "def f(model, x):\n    return model(x).argmax(1).cpu().numpy()\n", "argmax never requires grad"),
        Valid(H + "def f(a, b):\n    return (a == b).cpu().numpy()\n", "comparison result"),
        Valid(H + "def f(t):\n    return t.long().cpu().numpy()\n", ".long() result"),
        Valid(H + "def f(x):\n    return np.asarray(x)\n", "unknown value in an implicit conversion"),
        Valid(H + "t = torch.ones(3, requires_grad=True)\nt.numpy(force=True)\n", "force=True"),
        Valid("import tensorflow as tf\ndef f(x):\n    return x.numpy()\n", "TensorFlow file without torch"),
        Valid("import jax\ndef f(x):\n    return x.numpy()\n", "JAX file without torch"),
        Valid(H + "def f(model, x):\n    y = model(x)\n    y = y.detach()\n    return y.cpu().numpy()\n", "reassignment"),
        Valid(H + "t = torch.ones(3, requires_grad=True)\ng = t.grad\nnp.asarray(g) if g is not None else None\n", ".grad does not require grad"),
        Valid(H + "dataset = load()\nx = dataset.data.numpy()\n", "a dataset's .data is a host tensor"),
        Valid(H + "t = torch.ones(3, requires_grad=True)\ns = t.detach_()\nt.numpy()\n", "detached in place"),
        Valid(H + "def f(model, x):\n    return np.shape(model(x)), np.squeeze(model(x))\n", "np.shape/np.squeeze ask the tensor, no conversion"),
        Valid(H + "def f(x):\n    return x.detach().cpu().clone().numpy()\n", "clone keeps detached and on the host"),
        Valid(H + "def f(crit, out, y):\n    loss = crit(out, y)\n    return np.asarray(loss)\n",
              "an unknown call's result with no tensor-only use: not known to be a tensor"),
        Valid(H + "def f(crit, out, y):\n    loss = crit(out, y)\n    loss.backward()\n    loss = loss.item()\n    return np.asarray(loss)\n",
              "backward() is evidence about its own binding only: rebound to a float"),
        Valid(H + "import torch.nn.functional as F\ndef f(model, xs, y):\n    history = []\n    for x in xs:\n"
                  "        history.append(F.mse_loss(model(x), y).item())\n    return np.array(history)\n", "a list of .item() floats"),
        Valid(H + "def f(model, xs):\n    outs = []\n    for x in xs:\n        outs.append(model(x).detach().cpu())\n"
                  "    return np.concatenate(outs)\n", "a list of detached host tensors"),
        Valid(H + "def to_np(t):\n    return np.asarray(t)\ndef report():\n    return to_np(torch.zeros(3))\n",
              "a same-file helper converting what its only caller passes: a host factory"),
        Valid(H + "def predict(model, x):\n    return model(x)\ndef report(model, x):\n    with torch.no_grad():\n"
                  "        out = predict(model, x)\n    return np.asarray(out.cpu())\n",
              "a same-file helper called under no_grad returns a value that needs no grad"),
        Valid(H + "def f(x: np.ndarray):\n    return np.asarray(x)\n", "annotated as an ndarray"),
        Valid(H + "class Heads:\n    def __init__(self):\n        self.heads = torch.nn.ModuleList([torch.nn.Linear(2, 2)])\n"
                  "    def run(self, x, i):\n        with torch.no_grad():\n            return self.heads[i](x).numpy()\n",
              "an item of an nn.ModuleList called under no_grad"),
        Valid(H + "def to_numpy(x):\n    if isinstance(x, np.ndarray):\n        return np.asarray(x, dtype=np.float32)\n"
                  "    return x.detach().cpu().numpy()\n",
              "isinstance(x, np.ndarray) overrides the .detach() use elsewhere in the function"),
        Valid(H + "def to_numpy(x):\n    if not hasattr(x, 'detach'):\n        return x.numpy()\n    return x.detach().cpu().numpy()\n",
              "no .detach(): not a torch tensor (a TensorFlow one, say)"),
        Valid(H + "class Head(torch.nn.Module):\n    def run(self, x, i):\n        head = self.mask_head[i]\n"
                  "        with torch.no_grad():\n            return head(x).cpu().numpy()\n",
              "an item of a submodule container set elsewhere, called under no_grad"),
        Valid(H + NET + RUNNER + "        return np.asarray(self.model.predict(x).cpu())\n",
              "a method the instance's class does not define: unknown"),
        Valid(H + "def weights(partition_criterion, data):\n    values = partition_criterion(data)\n"
                  "    return np.histogram(values)\n",
              "a callable named like a loss scores a dataset: the name shows no parameters, its arguments no grad"),
        Valid(H + "class GP:\n    def grad(self, u, ret_np=False):\n        g = u * 2\n        if ret_np:\n            return g.numpy()\n        return g\n" + "    def fit(self, f):\n        return self.grad(f.clone().requires_grad_(True))\n",
              "the call leaves `ret_np` at its `False` default: the branch that converts is not reached"),
        Valid(H + "def helper(t, as_np=False):\n    if not as_np:\n        return t\n    return t.numpy()\n"
                  "def run(model, x):\n    return helper(model(x))\n",
              "the call leaves `as_np` False: the function returns before the conversion"),
        Valid(H + "class Resize(torch.nn.Module):\n    def forward(self, x, y):\n"
                  "        return torch.nn.functional.interpolate(x, size=4), y\n"
                  "def f(x, y):\n    out, labels = Resize()(torch.from_numpy(x), torch.from_numpy(y))\n"
                  "    return np.asarray(out), np.asarray(labels)\n",
              "a project module's forward: no parameter, a label passed through; host data has no grad"),
        Valid(H + "class Prep(torch.nn.Module):\n    def forward(self, x):\n        return x * 2\n"
                  "    def __call__(self, x):\n        with torch.no_grad():\n"
                  "            return self.forward(torch.as_tensor(x)).numpy()\n"
                  "def f(x):\n    return np.not_equal(Prep()(x), x)\n",
              "a project class's own __call__ returns an array"),
        Valid(H + "class Features(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                  "        self.kernels = torch.nn.Parameter(torch.randn(4, 1, 3), requires_grad=False)\n"
                  "    def forward(self, x):\n        return torch.nn.functional.conv1d(x, self.kernels)\n"
                  "def f(x):\n    return Features()(torch.from_numpy(x)).numpy()\n",
              "a module whose only parameter is created with requires_grad=False"),
        Valid(H + "class Features(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                  "        self.conv = torch.nn.Conv1d(1, 4, 3)\n        for p in self.parameters():\n"
                  "            p.requires_grad = False\n    def forward(self, x):\n        return self.conv(x)\n"
                  "def f(x):\n    model = Features()\n    return model(torch.from_numpy(x)).numpy()\n",
              "a module whose __init__ freezes every parameter, given host data"),
        Valid(H + "def features(o, model):\n    model = model.to('cuda')\n    outs = [model(x) for x in torch.split(o, 64)]\n"
                  "    return torch.cat(outs).cpu().numpy()\n",
              "a model that arrives as a parameter is a module by its name only: moved, but nothing shows it trains"),
        Valid(H + "class Viewer:\n    def __init__(self, model):\n        self.model = model\n    def show(self, x):\n"
                  "        return np.asarray(self.model(x))\n", "a parameter kept on an object is still known by its name only"),
    ]
    INVALID = [
        Invalid(H + "def fit(model, crit, x, y):\n    out = model(x)\n    crit(out, y).backward()\n    return out.numpy()\n",
                line=6, col=12, unsafe=True,
                fixed=H + "def fit(model, crit, x, y):\n    out = model(x)\n    crit(out, y).backward()\n"
                          "    return out.detach().cpu().numpy()\n",
                why="a parameter model in a function that back-propagates is being trained"),
        Invalid(H + "from transformers import AutoModel\n\n\ndef embed(batch):\n    model = AutoModel.from_pretrained('x')\n"
                "    out = model(**batch)\n    vectors = out.last_hidden_state.numpy()\n    return vectors\n", line=9, col=15,
                fixed=H + "from transformers import AutoModel\n\n\ndef embed(batch):\n    model = AutoModel.from_pretrained('x')\n"
                          "    out = model(**batch)\n    vectors = out.last_hidden_state.detach().cpu().numpy()\n"
                          "    return vectors\n",
                why="a field of a model's output (transformers' ModelOutput) was computed with grad"),
        Invalid(H + "def f(model, x):\n    model.train()\n    return model(x).numpy()\n", line=5, col=12, unsafe=True,
                fixed=H + "def f(model, x):\n    model.train()\n    return model(x).detach().cpu().numpy()\n",
                why="`model.train()` says it trains"),
        Invalid(H + "def f(model, x):\n    opt = torch.optim.SGD(model.parameters(), lr=0.1)\n    return model(x).numpy()\n",
                line=5, col=12, unsafe=True,
                fixed=H + "def f(model, x):\n    opt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
                          "    return model(x).detach().cpu().numpy()\n",
                why="an optimizer over its parameters"),
        Invalid(H + "def predict(model, x):\n    return model(x).cpu().numpy()\ndef main(x):\n"
                    "    return predict(torch.nn.Linear(2, 2), x)\n", line=4, col=12, unsafe=True,
                fixed=H + "def predict(model, x):\n    return model(x).detach().cpu().numpy()\ndef main(x):\n"
                          "    return predict(torch.nn.Linear(2, 2), x)\n",
                why="a caller passes a module built from torch.nn: found in the helper, naming the call"),
        Invalid(H + "class Trainer:\n    def __init__(self, model):\n        self.model = model\n    def step(self, loss):\n"
                    "        loss.backward()\n    def show(self, x):\n        return np.asarray(self.model(x))\n",
                line=9, col=27, unsafe=True,
                fixed=H + "class Trainer:\n    def __init__(self, model):\n        self.model = model\n    def step(self, loss):\n"
                          "        loss.backward()\n    def show(self, x):\n        return np.asarray(self.model(x).detach().cpu())\n",
                why="a parameter kept on an object whose class back-propagates"),
        Invalid(H + "def f(x):\n    return model(x).numpy()\n", line=4, col=12,
                fixed=H + "def f(x):\n    return model(x).detach().cpu().numpy()\n", unsafe=True, why="model output"),
        Invalid(H + "t = torch.zeros(3, requires_grad=True)\nt.numpy()\n", line=4, col=1,
                fixed=H + "t = torch.zeros(3, requires_grad=True)\nt.detach().cpu().numpy()\n", why="requires_grad=True factory"),
        Invalid(H + "w = torch.nn.Parameter(torch.randn(3))\nnp.asarray(w)\n", line=4, col=12,
                fixed=H + "w = torch.nn.Parameter(torch.randn(3))\nnp.asarray(w.detach().cpu())\n", why="nn.Parameter into np.asarray"),
        Invalid(H + "def f():\n    for p in model.parameters():\n        print(np.linalg.norm(p))\n", line=5, col=30,
                fixed=H + "def f():\n    for p in model.parameters():\n        print(np.linalg.norm(p.detach().cpu()))\n",
                unsafe=True, why="model.parameters() loop variable"),
        Invalid(H + "def f(loader):\n    outs = []\n    for x in loader:\n        outs.append(model(x))\n    return np.vstack(outs)\n",
                line=7, col=22, why="list of model outputs into np.vstack: no local fix"),
        Invalid(H + "def f(x):\n    y = model(x)\n    return np.isnan(y).any()\n", line=5, col=21,
                fixed=H + "def f(x):\n    y = model(x)\n    return np.isnan(y.detach().cpu()).any()\n", unsafe=True, why="np.isnan"),
        Invalid(H + "def f(x):\n    return np.mean(model(x))\n", line=4, col=20,
                fixed=H + "def f(x):\n    return np.mean(model(x).detach().cpu().numpy())\n",
                unsafe=True, why="np.mean calls Tensor.mean(axis=...): the fix passes an ndarray"),
        Invalid(H + "def f(xs):\n    return np.array([model(x) for x in xs])\n", line=4, col=22,
                fixed=H + "def f(xs):\n    return np.array([model(x).detach().cpu() for x in xs])\n", unsafe=True, why="comprehension of model outputs"),
        Invalid(H + "from sklearn.metrics import accuracy_score\ndef f(x, y):\n    return accuracy_score(y, model(x))\n",
                line=5, col=30, fixed=H + "from sklearn.metrics import accuracy_score\ndef f(x, y):\n    return accuracy_score(y, model(x).detach().cpu())\n",
                unsafe=True, why="sklearn metric"),
        Invalid(H + "import matplotlib.pyplot as plt\ndef f(x):\n    plt.plot(model(x))\n", line=5, col=14,
                fixed=H + "import matplotlib.pyplot as plt\ndef f(x):\n    plt.plot(model(x).detach().cpu())\n", unsafe=True, why="matplotlib"),
        Invalid(H + "def f(x):\n    with torch.no_grad():\n        pass\n    y = model(x)\n    return y.cpu().numpy()\n", line=7, col=12,
                fixed=H + "def f(x):\n    with torch.no_grad():\n        pass\n    y = model(x)\n    return y.detach().cpu().numpy()\n",
                unsafe=True, why="produced after the no_grad block"),
        Invalid(H + "def f(t):\n    if t.requires_grad:\n        return t.cpu().numpy()\n", line=5, col=16,
                fixed=H + "def f(t):\n    if t.requires_grad:\n        return t.detach().cpu().numpy()\n", why="the guard says it does"),
        Invalid(H + "def f(x, train):\n    y = torch.zeros(3)\n    if train:\n        y = model(x)\n    return y.cpu().numpy()\n", line=7, col=12,
                fixed=H + "def f(x, train):\n    y = torch.zeros(3)\n    if train:\n        y = model(x)\n    return y.detach().cpu().numpy()\n",
                unsafe=True, why="joined across branches"),
        Invalid(H + "t = torch.ones(3)\nt.requires_grad = True\nnp.asarray(t)\n", line=5, col=12,
                fixed=H + "t = torch.ones(3)\nt.requires_grad = True\nnp.asarray(t.detach().cpu())\n", why="requires_grad set as an attribute"),
        Invalid(H + "class Trainer:\n    def __init__(self):\n        self.model = model\n    def predict(self, x):\n        return np.asarray(self.model(x))\n",
                line=7, col=27, fixed=H + "class Trainer:\n    def __init__(self):\n        self.model = model\n    def predict(self, x):\n        return np.asarray(self.model(x).detach().cpu())\n",
                unsafe=True, why="a model kept on a plain object"),
        Invalid(H + "x = torch.ones(2, dtype=torch.cfloat, requires_grad=True)\nx.conj().numpy()\n", line=4, col=1,
                why="a conjugate view needs .resolve_conj(): the canonical chain would still raise, so no fix"),
        Invalid(H + "def f(crit, out, y):\n    loss = crit(out, y)\n    loss.backward()\n    return np.asarray(loss)\n",
                line=6, col=23, fixed=H + "def f(crit, out, y):\n    loss = crit(out, y)\n    loss.backward()\n"
                                          "    return np.asarray(loss.detach().cpu())\n",
                why="loss.backward() says an unknown call returned a tensor that requires grad"),
        Invalid(H + "def f(crit, out, y, scaler):\n    loss = crit(out, y)\n    scaler.scale(loss).backward()\n    return np.asarray(loss)\n",
                line=6, col=23, fixed=H + "def f(crit, out, y, scaler):\n    loss = crit(out, y)\n    scaler.scale(loss).backward()\n"
                                          "    return np.asarray(loss.detach().cpu())\n", why="evidence from scaler.scale(loss).backward()"),
        Invalid(H + "def f(crit, out, y, accelerator):\n    loss = crit(out, y)\n    accelerator.backward(loss)\n    return np.asarray(loss)\n",
                line=6, col=23, fixed=H + "def f(crit, out, y, accelerator):\n    loss = crit(out, y)\n    accelerator.backward(loss)\n"
                                          "    return np.asarray(loss.detach().cpu())\n", why="evidence from accelerator.backward(loss)"),
        Invalid(H + "import matplotlib.pyplot as plt\ndef f(crit, out, y, n):\n    loss = crit(out, y)\n    (loss / n).backward()\n    plt.plot(loss)\n",
                line=7, col=14, fixed=H + "import matplotlib.pyplot as plt\ndef f(crit, out, y, n):\n    loss = crit(out, y)\n"
                                          "    (loss / n).backward()\n    plt.plot(loss.detach().cpu())\n",
                why="evidence from (loss / n).backward(), into an implicit sink"),
        Invalid(H + "def grad_norms(named):\n    for name, p in named:\n        if p.grad is not None:\n"
                    "            print(name, np.linalg.norm(p))\n", line=6, col=40,
                fixed=H + "def grad_norms(named):\n    for name, p in named:\n        if p.grad is not None:\n"
                          "            print(name, np.linalg.norm(p.detach().cpu()))\n", why="reading .grad says it is a tensor"),
        Invalid(H + "import torch.nn.functional as F\ndef f(loader):\n    history = []\n    for x, y in loader:\n"
                    "        err = F.mse_loss(model(x), y)\n        history.append(err)\n    return np.array(history)\n",
                line=9, col=21, why="a list appended with losses in a loop: no local fix"),
        Invalid(H + "def f(xs):\n    outs = []\n    for x in xs:\n        outs += [model(x)]\n    return np.concatenate(outs)\n",
                line=7, col=27, why="a list extended with += remembers the tensors"),
        Invalid(H + "def f(x):\n    feats = {'a': model(x), 'b': model(x)}\n    return np.stack(list(feats.values()))\n",
                line=5, col=21, why="a dict's values() hold the tensors put in it"),
        Invalid(H + "def predict(model, x):\n    return model(x)\ndef report(x):\n    return np.asarray(predict(model, x))\n",
                line=6, col=23, fixed=H + "def predict(model, x):\n    return model(x)\ndef report(x):\n"
                                          "    return np.asarray(predict(model, x).detach().cpu())\n",
                unsafe=True, why="a same-file helper returning a model output: found at the caller"),
        Invalid(H + "class Runner:\n    def __init__(self):\n        self.model = model\n    def infer(self, x):\n"
                    "        return self.model(x)\n    def report(self, x):\n        return np.asarray(self.infer(x))\n",
                line=9, col=27, fixed=H + "class Runner:\n    def __init__(self):\n        self.model = model\n"
                                          "    def infer(self, x):\n        return self.model(x)\n    def report(self, x):\n"
                                          "        return np.asarray(self.infer(x).detach().cpu())\n",
                unsafe=True, why="a method returning self.model(x)"),
        Invalid(H + "def to_np(t):\n    return np.asarray(t)\ndef report(x):\n    return to_np(model(x))\n",
                line=4, col=23, unsafe=True,
                fixed=H + "def to_np(t):\n    return np.asarray(t.detach().cpu())\ndef report(x):\n    return to_np(model(x))\n",
                why="a helper converting what a caller passes: found in the helper, naming the call; unsafe there"),
        Invalid(H + "def predict(model, x):\n    return model(x)\ndef main(x):\n    with torch.no_grad():\n"
                    "        a = predict(model, x)\n    b = predict(model, x)\n    return b.cpu().numpy()\n", line=9, col=12,
                fixed=H + "def predict(model, x):\n    return model(x)\ndef main(x):\n    with torch.no_grad():\n"
                          "        a = predict(model, x)\n    b = predict(model, x)\n    return b.detach().cpu().numpy()\n",
                unsafe=True, why="the same helper called outside no_grad returns a value that may require grad"),
        Invalid(H + "import torch.nn as nn\nclass Model(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                    "        self.emb = nn.Embedding(10, 4)\n    def dump(self):\n        return np.asarray(self.emb.weight)\n",
                line=9, col=27, fixed=H + "import torch.nn as nn\nclass Model(nn.Module):\n    def __init__(self):\n"
                                           "        super().__init__()\n        self.emb = nn.Embedding(10, 4)\n    def dump(self):\n"
                                           "        return np.asarray(self.emb.weight.detach().cpu())\n",
                why="a submodule set in __init__: its .weight in another method"),
        Invalid(H + "def f(x):\n    h = torch.zeros(3)\n    for _ in range(3):\n        print(h.numpy())\n        h = model(h)\n",
            line=6, col=15, fixed=H + "def f(x):\n    h = torch.zeros(3)\n    for _ in range(3):\n        print(h.detach().cpu().numpy())\n        h = model(h)\n",
            unsafe=True, why="the loop's back edge brings a model output"),
        Invalid(H + "def f(xs, ys):\n    return np.array([model(xs), model(ys)])\n", line=4, col=22,
            fixed=H + "def f(xs, ys):\n    return np.array([model(xs).detach().cpu(), model(ys).detach().cpu()])\n",
            unsafe=True, why="list of tensors: each element"),
        Invalid(H + "def f(x):\n    model = torch.nn.Linear(2, 2)\n    return model(x).numpy()\n", line=5, col=12,
                fixed=H + "def f(x):\n    model = torch.nn.Linear(2, 2)\n    return model(x).detach().cpu().numpy()\n",
                why="a module built here is proven a torch module: the fix is safe"),
        Invalid(H + "def f(crit, a, b, mode):\n    if mode == 1:\n        loss = crit(a)\n    elif mode == 2:\n"
                    "        loss = crit(b)\n    else:\n        loss = crit(a, b)\n    loss.backward()\n"
                    "    return np.asarray(loss)\n", line=11, col=23,
                fixed=H + "def f(crit, a, b, mode):\n    if mode == 1:\n        loss = crit(a)\n    elif mode == 2:\n"
                          "        loss = crit(b)\n    else:\n        loss = crit(a, b)\n    loss.backward()\n"
                          "    return np.asarray(loss.detach().cpu())\n",
                why="backward() after if/elif arms is evidence about the binding of every arm"),
        Invalid(H + "def f(x, framework):\n    model = torch.nn.Linear(2, 2)\n    out = model(x)\n"
                    "    if framework == 'tensorflow':\n        return out.numpy()\n", line=7, col=16, unsafe=True,
                fixed=H + "def f(x, framework):\n    model = torch.nn.Linear(2, 2)\n    out = model(x)\n"
                          "    if framework == 'tensorflow':\n        return out.detach().cpu().numpy()\n",
                why="in a branch for another framework the fix proves nothing: unsafe"),
        Invalid(H + "def f(x):\n    return model(x).cpu().squeeze(0).numpy()\n", line=4, col=12, unsafe=True,
                fixed=H + "def f(x):\n    return model(x).detach().cpu().squeeze(0).numpy()\n",
                why="`.cpu()` behind a view: `.detach()` goes before it, no second `.cpu()` at the end"),
        Invalid(H + "def f(x):\n    return model(x).to(device='cpu').float().numpy()\n", line=4, col=12, unsafe=True,
                fixed=H + "def f(x):\n    return model(x).detach().to(device='cpu').float().numpy()\n",
                why="`.to(device='cpu')` behind `.float()`"),
        Invalid(H + "class Heads:\n    def __init__(self):\n        self.heads = torch.nn.ModuleList([torch.nn.Linear(2, 2)])\n"
                    "    def run(self, x, i):\n        head = self.heads[i]\n        return head(x).cpu().numpy()\n",
                line=8, col=16, fixed=H + "class Heads:\n    def __init__(self):\n"
                                          "        self.heads = torch.nn.ModuleList([torch.nn.Linear(2, 2)])\n"
                                          "    def run(self, x, i):\n        head = self.heads[i]\n"
                                          "        return head(x).detach().cpu().numpy()\n",
                why="an item of an nn.ModuleList built here is a module: its output requires grad"),
        Invalid(H + NET + RUNNER + "        return self.model.embed(x).cpu().numpy()\n", line=15, col=16,
                fixed=H + NET + RUNNER + "        return self.model.embed(x).detach().cpu().numpy()\n",
                why="a method of an instance of a module class of the file returns its submodule's output"),
        Invalid(H + "class Head(torch.nn.Module):\n    def run(self, x, i):\n        head = self.mask_head[i]\n"
                    "        return head(x).cpu().numpy()\n", line=6, col=16, unsafe=True,
                fixed=H + "class Head(torch.nn.Module):\n    def run(self, x, i):\n        head = self.mask_head[i]\n"
                          "        return head(x).detach().cpu().numpy()\n",
                why="an item of a submodule container a base class sets (`self.mask_head[i]`) is a submodule"),
        Invalid(H + "def f(criterion, x, y):\n    loss = criterion(model(x), y)\n    return np.asarray(loss)\n",
                line=5, col=23, unsafe=True,
                fixed=H + "def f(criterion, x, y):\n    loss = criterion(model(x), y)\n"
                          "    return np.asarray(loss.detach().cpu())\n",
                why="a criterion given a model's output: the grad comes through its argument"),
        Invalid(H + "class GP:\n    def grad(self, u, ret_np=False):\n        g = u * 2\n        if ret_np:\n            return g.numpy()\n        return g\n" + "    def fit(self, f):\n        return self.grad(f.clone().requires_grad_(True), True)\n",
                line=7, col=20, unsafe=True,
                fixed=H + "class GP:\n    def grad(self, u, ret_np=False):\n        g = u * 2\n        if ret_np:\n            return g.detach().cpu().numpy()\n        return g\n"
                          + "    def fit(self, f):\n        return self.grad(f.clone().requires_grad_(True), True)\n",
                why="the call passes `ret_np=True`: the branch that converts runs, on a tensor marked to require grad"),
        Invalid(H + "class Net(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = torch.nn.Linear(2, 2)\n"
                    "    def forward(self, x):\n        return torch.relu(self.fc(x))\n"
                    "def f(x):\n    model = Net()\n    return model(x).numpy()\n", line=11, col=12,
                fixed=H + "class Net(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = torch.nn.Linear(2, 2)\n"
                    "    def forward(self, x):\n        return torch.relu(self.fc(x))\n"
                          "def f(x):\n    model = Net()\n    return model(x).detach().cpu().numpy()\n",
                why="a project module's forward returns its layer's output: it requires grad"),
        Invalid(H + "class Double(torch.nn.Module):\n    def forward(self, x):\n        return x * 2\n"
                    "def f():\n    x = torch.ones(3, requires_grad=True)\n    model = Double()\n    return model(x).numpy()\n", line=9, col=12,
                fixed=H + "class Double(torch.nn.Module):\n    def forward(self, x):\n        return x * 2\n"
                          "def f():\n    x = torch.ones(3, requires_grad=True)\n    model = Double()\n    return model(x).detach().cpu().numpy()\n",
                why="a parameter-free forward keeps its input's grad"),
        Invalid(H + "class Features(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                    "        self.conv = torch.nn.Conv1d(1, 4, 3)\n        for p in self.parameters():\n"
                    "            p.requires_grad = False\n    def forward(self, x):\n        return self.conv(x)\n"
                    "def f():\n    x = torch.ones(1, 1, 5, requires_grad=True)\n    model = Features()\n    return model(x).numpy()\n", line=14, col=12,
                fixed=H + "class Features(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                    "        self.conv = torch.nn.Conv1d(1, 4, 3)\n        for p in self.parameters():\n"
                    "            p.requires_grad = False\n    def forward(self, x):\n        return self.conv(x)\n"
                          "def f():\n    x = torch.ones(1, 1, 5, requires_grad=True)\n    model = Features()\n    return model(x).detach().cpu().numpy()\n",
                why="a frozen module's output requires grad where its input does"),
    ]


class NumpyWithoutCpu(Rule):
    """
    ## What it does
    Flags a conversion to NumPy (`.numpy()` or an implicit one, as in TL101) of a tensor that may
    live on an accelerator, with no `.cpu()` / `.to("cpu")` before it.

    ## Why is this bad?
    NumPy arrays live in host memory. `.numpy()` on a CUDA tensor raises
    `TypeError: can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor to host memory first.`
    The device check comes before the grad check, so a CUDA tensor that also requires grad
    needs both `.detach()` and `.cpu()`.

    Only manifest hazards are reported: the code must show that the value is a torch tensor and
    that it may be on an accelerator. Evidence is a move (`.cuda()`, `.to(device)` with a device
    that is not literally the CPU), a factory given such a `device=`, factories after
    `torch.set_default_device(...)`, the output of a model that was moved or wrapped in
    `DataParallel`, or that was given a moved input (`model(x.to(device))`), an unknown call of
    moved tensors (`criterion(out, y.to(device))`), a true `if t.is_cuda:` test, anything
    computed from these, a LightningModule's parameters and outputs (the Trainer places them), or the
    author's own habit in the same function: when it moves one tensor derived from its parameters to
    the host with `.cpu()`, another tensor derived from its parameters converted without `.cpu()` is
    reported, naming that `.cpu()`; the message names the evidence. Host factories, `torch.from_numpy`, and values after
    `.cpu()` or `.to("cpu")` are evidence against. A model output with no such evidence (a model
    passed in as a parameter, never moved here) is not reported; TL105, off by default, asks for
    the canonical chain on such values. `.data.numpy()` of a value on an accelerator is reported
    both here and as TL201: each code names its own problem.

    ## Example
    ```python
    x = torch.as_tensor(batch, device=device)
    mask = np.asarray(x > 0)
    ```

    ## Use instead
    ```python
    x = torch.as_tensor(batch, device=device)
    mask = np.asarray((x > 0).detach().cpu())
    ```

    ## Fix safety
    Same fix as TL101: one canonical `.detach().cpu()` chain, whichever of the two rules applies.
    `.cpu()` on a CPU tensor returns the same tensor, so the fix changes nothing where the code
    already worked. Safe only when the value is proven a torch tensor (from a torch source, not a
    name; in a file that imports torch; outside a branch for another framework); otherwise unsafe,
    with "(assumes `x` is a torch tensor)" in its title.

    ## Known problems
    After a `torch.set_default_device(...)` call (in file order), every factory without `device=`
    counts as possibly on an accelerator. A module's device is tracked once it is known to be a
    module (built in the file, annotated `nn.Module`, or a submodule set in `__init__`): built on
    the host and never moved, its outputs are host tensors; `.to(device)`/`.cuda()` move it, also as
    a statement or, for `self.<name>`, in another method of the class; `.cpu()` moves it back. A
    model that is an unannotated parameter is not known to be a module: `model = model.to(device)`
    is seen as a move, but a bare `model.to(device)` or `model.cuda()` statement is not, and the
    crash is missed. A module-level model moved inside another function, or by a module-level
    statement after the function that calls it, is not seen there either. `torch.compile` and
    `torch.jit.script/trace` count as wrappers like `DataParallel`, so outputs of a compiled host
    module are reported as possibly on an accelerator. The function's own `.cpu()` counts as evidence
    only for values derived from its parameters by operators, subscripts and methods called on them:
    what another call returns (`wav, outs = synth(batch)`) may live anywhere and is left alone, and so
    are values derived from one the function moved to the host or to a device, and values in another
    arm of a type dispatch (`if isinstance(x, torch.Tensor):`). A parameter the caller always keeps on
    the host, converted beside a `.cpu()` of another parameter, is reported all the same.
    """

    code = "TL102"
    fix_check = FixCheck(snippet="conversion",
                         raises=(("TypeError", r"can't convert .*(cuda|CUDA|device type).* to numpy"),))
    name = "numpy-without-cpu"
    summary = "Conversion to NumPy of a tensor that may be on an accelerator, without `.cpu()`"
    fixable = "sometimes"
    VALID = [
        Valid(H + "t = torch.zeros(3)\nt.numpy()\n", "host factory"),
        Valid(H + "t = torch.zeros(3, device='cpu')\nt.numpy()\n", "device='cpu'"),
        Valid(H + "def f(x):\n    device = x.device\n    mask = torch.ones(3, device=device)\n    return mask.detach().numpy()\n",
              "device=x.device of a parameter: the new tensor is where x is, which nothing shows"),
        Valid(H + "def f(x):\n    return x.detach().cpu().numpy()\n", "canonical chain"),
        Valid(H + "def f(x):\n    return x.detach().to('cpu').numpy()\n", ".to('cpu') after .detach()"),
        Valid(H + "def f(x):\n    x = x.cpu()\n    return x.detach().numpy()\n", "reassigned after .cpu()"),
        Valid(H + "def f(x):\n    if x.is_cuda:\n        x = x.cpu()\n    return x.detach().numpy()\n", "moved when on cuda"),
        Valid(H + "def f(x):\n    return x.numpy(force=True)\n", "force=True"),
        Valid(H + "def f(x):\n    return np.mean(x)\n", "unknown value in an implicit conversion"),
        Valid(H + "model = torch.nn.Linear(3, 3).cuda()\nout = model(torch.zeros(3, device='cuda'))\n"
                  "np.asarray(out.to_tuple()[0])\n",
              "torch.Tensor has no `to_tuple()`: the receiver is some other object, its result unknown (espnet's asdict())"),
        Valid(H + "def predict(model, x) -> np.ndarray:\n    return model(x)\ndef f(model, x):\n"
                  "    model.cuda()\n    return np.asarray(predict(model, x))\n",
              "a helper that states `-> np.ndarray` returns no tensor, whatever its body computes (ART's _predict_classifier)"),
        Valid(H + "t = torch.randn(2, 2).to(torch.float64)\nnp.asarray(t)\n", ".to(dtype) keeps the host device"),
        Valid(H + "a = torch.from_numpy(np.zeros(3)).to('cpu')\nnp.sum(a)\n", "from_numpy"),
        Valid(H + "import torch.nn as nn\ndef f(x):\n    model = nn.Linear(2, 2)\n    return np.asarray(model(x))\n",
              "a module built on the host and never moved gives host outputs (TL101 still applies)"),
        Valid(H + "import torch.nn as nn\ndef f(x, device):\n    model = nn.Linear(2, 2).to(device)\n    model.cpu()\n"
                  "    return np.asarray(model(x))\n", "model.cpu() as a statement moves the module back in place"),
        Valid(H + "import torch.nn as nn\ndef f(model: nn.Module, x):\n    model.cpu()\n    return np.asarray(model(x))\n",
              "a parameter annotated nn.Module, moved to the host"),
        Valid(H + "import torch.nn as nn\nclass Probe:\n    def __init__(self):\n        self.head = nn.Linear(4, 2)\n"
                  "    def scores(self, x):\n        return np.asarray(self.head(x))\n",
              "a submodule built on the host in __init__, never moved by the class"),
        Valid(H + "from pytorch_lightning import LightningModule\nclass Lit(LightningModule):\n    def dump(self):\n"
                  "        return [p.detach().cpu().numpy() for p in self.parameters()]\n",
              "a LightningModule's parameters moved to the host first"),
        Valid(H + "class Plain:\n    def dump(self, model):\n        return [p.detach().numpy() for p in model.parameters()]\n",
              "parameters of a model that nothing shows on an accelerator"),
        Valid(H + "def pairs(edge_index, n, k: torch.Tensor):\n    i, j = edge_index.to('cpu')\n    idx = i * n + j\n"
                  "    return np.isin(idx.unsqueeze(0), k.cpu())\n",
              "values derived from the one moved to the host are on the host"),
        Valid(H + "def fields(a, b: torch.Tensor):\n    if isinstance(a, torch.Tensor):\n        return a.detach().cpu().numpy()\n"
                  "    elif isinstance(a, float):\n        return np.asarray([a, b])\n",
              "a move in one arm of a type dispatch says nothing of another arm"),
        Valid(H + "def run(synth, batch: torch.Tensor):\n    wav, outs = synth(batch)\n    keep = outs.cpu().numpy()\n"
                  "    wav = torch.as_tensor(wav)\n    return wav.numpy()\n",
              "what an unknown callee returns is not derived from the inputs: it may live anywhere"),
        Valid(H + "def log(x: torch.Tensor, y: torch.Tensor, device):\n    z = x.to(device)\n    a = z.cpu().numpy()\n"
                  "    return y.numpy()\n",
              "a value the function moved to the device explains its own .cpu()"),
        Valid(H + NET + RUNNER + "        return self.model.scores(x.cuda()).numpy()\n",
              "a method of the instance's class that moves its result to the host"),
        Valid(H + "class Net(torch.nn.Module):\n    @staticmethod\n    def scale(x):\n        return x * 2\n"
                  "    def show(self, x):\n        return torch.exp(self.scale(x.cpu())).detach().numpy()\n",
              "a method of the module given a host tensor"),
        Valid(H + "def mel(audio, device: str = None):\n    if device is not None:\n        audio = audio.to(device)\n"
                  "    return audio * 2\ndef test(x: torch.Tensor):\n    return np.allclose(mel(x), 1)\n",
              "a call that leaves `device` at its `None` default: the function moves nothing"),
        Valid(H + "def score(a, b):\n    c = a.cpu()\n    return b.numpy(), c\n"
                  "def run(pool, x: torch.Tensor, y: torch.Tensor):\n    pool.submit(score, x, y)\n",
              "every caller of the function is in view (an executor's submit calls it): what they pass decides, "
              "not the author's `.cpu()` of another input"),
    ]
    INVALID = [
        Invalid(H + "t = torch.zeros(3, device='cuda')\nt.numpy()\n", line=4, col=1,
                fixed=H + "t = torch.zeros(3, device='cuda')\nt.detach().cpu().numpy()\n", why="device='cuda'"),
        Invalid(H + "x = torch.zeros(3).cuda()\nmask = torch.ones(3, device=x.device)\nmask.numpy()\n", line=5, col=1,
                fixed=H + "x = torch.zeros(3).cuda()\nmask = torch.ones(3, device=x.device)\nmask.detach().cpu().numpy()\n",
                why="device=x.device of a tensor moved with .cuda(): the move is the evidence"),
        Invalid(H + "def f(x, device):\n    y = x.to(device).detach()\n    return y.numpy()\n", line=5, col=12,
                fixed=H + "def f(x, device):\n    y = x.to(device).detach()\n    return y.detach().cpu().numpy()\n", unsafe=True, why=".to(device) of a parameter: a tensor or a look-alike, so the fix is unsafe"),
        Invalid(H + "t = torch.ones(3).cuda()\nnp.asarray(t)\n", line=4, col=12,
                fixed=H + "t = torch.ones(3).cuda()\nnp.asarray(t.detach().cpu())\n", why=".cuda() into np.asarray"),
        Invalid(H + "def f(x):\n    x = x.cpu()\n    x = x.cuda()\n    return x.detach().numpy()\n", line=6, col=12,
                fixed=H + "def f(x):\n    x = x.cpu()\n    x = x.cuda()\n    return x.detach().cpu().numpy()\n", why="reassignment moves it back"),
        Invalid(H + "import torch.nn as nn\ndef f(x, device):\n    model = nn.Linear(2, 2)\n    model.to(device)\n"
                    "    return np.asarray(model(x))\n", line=7, col=23,
                fixed=H + "import torch.nn as nn\ndef f(x, device):\n    model = nn.Linear(2, 2)\n    model.to(device)\n"
                          "    return np.asarray(model(x).detach().cpu())\n", why="model.to(device) as a statement moves the module"),
        Invalid(H + "import torch.nn as nn\ndef f(x, use_gpu):\n    model = nn.Linear(2, 2)\n    if use_gpu:\n        model.cuda()\n"
                    "    return np.asarray(model(x))\n", line=8, col=23,
                fixed=H + "import torch.nn as nn\ndef f(x, use_gpu):\n    model = nn.Linear(2, 2)\n    if use_gpu:\n        model.cuda()\n"
                          "    return np.asarray(model(x).detach().cpu())\n", why="moved with .cuda() on one branch"),
        Invalid(H + "import torch.nn as nn\nclass Probe:\n    def __init__(self):\n        self.head = nn.Linear(4, 2)\n"
                    "    def to_gpu(self):\n        self.head.cuda()\n    @torch.no_grad()\n    def scores(self, x):\n"
                    "        return np.asarray(self.head(x))\n", line=11, col=27,
                fixed=H + "import torch.nn as nn\nclass Probe:\n    def __init__(self):\n        self.head = nn.Linear(4, 2)\n"
                          "    def to_gpu(self):\n        self.head.cuda()\n    @torch.no_grad()\n    def scores(self, x):\n"
                          "        return np.asarray(self.head(x).detach().cpu())\n",
                why="a submodule moved by another method of the class"),
        Invalid(H + "def f(model, x, device):\n    return model(x.to(device)).detach()[0].numpy()\n", line=4, col=12,
                unsafe=True, fixed=H + "def f(model, x, device):\n    return model(x.to(device)).detach()[0].cpu().numpy()\n",
                why="detached behind a subscript: only `.cpu()` is added, never a second `.detach()`"),
        Invalid(H + "def f(model, x, device):\n    return np.asarray(model(x.to(device)).detach().mean(0))\n", line=4, col=23,
                unsafe=True, fixed=H + "def f(model, x, device):\n    return np.asarray(model(x.to(device)).detach().mean(0).cpu())\n",
                why="a reduction with literal arguments keeps a detached value detached"),
        Invalid(H + "from pytorch_lightning import LightningModule\nclass Lit(LightningModule):\n    def dump(self):\n"
                    "        return [p.detach().numpy() for p in self.parameters()]\n", line=6, col=17,
                fixed=H + "from pytorch_lightning import LightningModule\nclass Lit(LightningModule):\n    def dump(self):\n"
                          "        return [p.detach().cpu().numpy() for p in self.parameters()]\n",
                why="a LightningModule's parameters: the Trainer places them on the accelerator"),
        Invalid(H + "from pytorch_lightning import LightningModule\nclass Base(LightningModule):\n    pass\nclass Lit(Base):\n    def show(self, x):\n"
                    "        return self(x).detach().numpy()\n", line=8, col=16,
                fixed=H + "from pytorch_lightning import LightningModule\nclass Base(LightningModule):\n    pass\nclass Lit(Base):\n    def show(self, x):\n"
                          "        return self(x).detach().cpu().numpy()\n",
                why="the output of a subclass of a LightningModule of the same file"),
        Invalid(H + "def plot(u: torch.Tensor, props: dict):\n    for key, val in props.items():\n"
                    "        show(key, val.cpu().numpy())\n    centres = u.mean(dim=1)\n    return centres.numpy()\n",
                line=7, col=12,
                fixed=H + "def plot(u: torch.Tensor, props: dict):\n    for key, val in props.items():\n"
                          "        show(key, val.cpu().numpy())\n    centres = u.mean(dim=1)\n"
                          "    return centres.detach().cpu().numpy()\n",
                why="the function moves another of its input tensors to the host: its inputs may be on an accelerator"),
        Invalid(H + NET + RUNNER + "        return self.model.embed(x.cuda()).detach().numpy()\n", line=15, col=16,
                fixed=H + NET + RUNNER + "        return self.model.embed(x.cuda()).detach().cpu().numpy()\n",
                why="a method of an instance of a module class of the file, given a moved input"),
        Invalid(H + "class Net(torch.nn.Module):\n    @staticmethod\n    def scale(x):\n        return x * 2\n"
                    "    def show(self, x):\n        return torch.exp(self.scale(x.cuda())).detach().numpy()\n", line=8, col=16,
                fixed=H + "class Net(torch.nn.Module):\n    @staticmethod\n    def scale(x):\n        return x * 2\n"
                          "    def show(self, x):\n        return torch.exp(self.scale(x.cuda())).detach().cpu().numpy()\n",
                why="a module method the analysis cannot follow (a staticmethod), given a moved input"),
        Invalid(H + "def mel(audio, device: str = None):\n    if device is not None:\n        audio = audio.to(device)\n"
                    "    return audio * 2\ndef test(x: torch.Tensor):\n    return np.allclose(mel(x, 'cuda'), 1)\n",
                line=8, col=24,
                fixed=H + "def mel(audio, device: str = None):\n    if device is not None:\n        audio = audio.to(device)\n"
                          "    return audio * 2\ndef test(x: torch.Tensor):\n    return np.allclose(mel(x, 'cuda').detach().cpu(), 1)\n",
                why="a call that passes a device: the function moves its result there"),
        Invalid(H + "def score(a, b):\n    c = a.cpu()\n    return b.numpy(), c\n"
                    "def run(x, y):\n    return score(x.cuda(), y.cuda())\n",
                line=5, col=12, unsafe=True,
                fixed=H + "def score(a, b):\n    c = a.cpu()\n    return b.detach().cpu().numpy(), c\n"
                          "def run(x, y):\n    return score(x.cuda(), y.cuda())\n",
                why="a caller in view passes tensors it moved to the accelerator"),
    ]


class NoncanonicalNumpyChain(Rule):
    """
    ## What it does
    Flags a conversion chain that works but is not `.detach().cpu().numpy()`: a device move before
    `.detach()` (`.cpu().detach()`, `.to("cpu").detach()`), `.data` inside the chain
    (`x.data.cpu().numpy()`), or a link repeated (`.cpu().cpu()`). `.detach().to("cpu")` and
    `.numpy(force=True)` are fine.

    ## Why is this bad?
    Moving before detaching records a `ToCopyBackward0` node: the copy is differentiable, which
    costs graph memory for nothing. `.data` is unsafe legacy: it hides in-place changes from
    autograd's version counter. One canonical chain is easier to read, grep and review.

    ## Example
    ```python
    probs = logits.softmax(-1).cpu().detach().numpy()
    feats = features.data.cpu().numpy()
    ```

    ## Use instead
    ```python
    probs = logits.softmax(-1).detach().cpu().numpy()
    feats = features.detach().cpu().numpy()
    ```

    ## Fix safety
    Safe: every chain rewritten gives identical values and, on the CPU, the same memory sharing
    with the tensor. `.data` is replaced by `.detach()`, never dropped (dropping it re-introduces
    the grad crash, pytorch/examples #336). Unsafe when the value carrying `.data` is not known to be
    a tensor: an object of another kind may have a `.data` attribute of its own.

    ## Known problems
    When TL101 or TL102 applies to the same conversion, they own it and this rule stays silent:
    their fix produces the canonical chain too. A chain through `.data` is TL201's finding (its fix
    is this canonical chain); this rule reports it only when TL201 is disabled.
    """

    code = "TL103"
    fix_check = FixCheck(snippet="conversion")
    name = "noncanonical-numpy-chain"
    summary = "Conversion chain that works but is not `.detach().cpu().numpy()`"
    fixable = "always"
    VALID = [
        Valid(H + "def f(x):\n    return x.detach().cpu().numpy()\n", "canonical"),
        Valid(H + "def f(x):\n    return x.detach().to('cpu').numpy()\n", ".to('cpu') after .detach()"),
        Valid(H + "def f(x):\n    return x.numpy(force=True)\n", "force=True"),
        Valid(H + "def f(x):\n    return x.clone().detach().cpu().numpy()\n", "clone is not a link"),
        Valid(H + "def f(train_set):\n    return train_set.data.cpu().numpy()\n", "a dataset's .data is not a tensor's .data"),
    ]
    INVALID = [
        Invalid(H + "def f(x):\n    return x.cpu().detach().numpy()\n", line=4, col=12,
                fixed=H + "def f(x):\n    return x.detach().cpu().numpy()\n", why="device move before detach"),
        Invalid(H + "def f(x):\n    return x.to('cpu').detach().numpy()\n", line=4, col=12,
                fixed=H + "def f(x):\n    return x.detach().cpu().numpy()\n", why=".to('cpu') before detach"),
        Invalid(H + "def f(x):\n    return x.detach().cpu().cpu().numpy()\n", line=4, col=12,
                fixed=H + "def f(x):\n    return x.detach().cpu().numpy()\n", why="duplicated link"),
        Invalid(H + "def f(model, x):\n    return np.asarray(model(x).cpu().detach())\n", line=4, col=23,
                fixed=H + "def f(model, x):\n    return np.asarray(model(x).detach().cpu())\n", why="implicit conversion of a non-canonical chain"),
        Invalid(H + "def f(x):\n    return (x  # keep\n        ).cpu().detach().numpy()\n", line=4, col=12,
                fixed=H + "def f(x):\n    return (x  # keep\n        ).detach().cpu().numpy()\n", why="comments in the base are kept"),
    ]


class NumpyOfUnknownProvenance(Rule):
    """
    ## What it does
    Off by default (a house style; select it with `--select TL105` or `extend-select = ["TL105"]`).
    Flags a `.numpy()` (or an implicit conversion of a known tensor) whose value nothing in the code
    shows to require grad or to live on an accelerator, but nothing rules out either: a function
    parameter of unknown provenance, a tensor annotated `torch.Tensor`, a model output computed
    under `no_grad` on a model whose device is unknown. It asks for the canonical
    `.detach().cpu().numpy()` chain everywhere such a value is converted.

    ## Why is this bad?
    It may not be: TL101 and TL102 report the conversions that the code shows can crash, and stay
    silent where it shows nothing. Teams that want every conversion of a value from elsewhere to
    be robust to whatever callers pass (a tensor that requires grad, a CUDA tensor) select this
    rule; on a host tensor that needs no detaching the canonical chain costs nothing (`.detach()`
    is a view, `.cpu()` returns the same object).

    ## Example
    ```python
    def to_numpy(t):
        return t.numpy()
    ```

    ## Use instead
    ```python
    def to_numpy(t):
        return t.detach().cpu().numpy()
    ```

    ## Fix safety
    Always unsafe: nothing in the code shows what the callers pass. Unless the value is proven a
    torch tensor, it may be an object of another library with `.numpy()` and `.cpu()` of its own
    but no `.detach()` (a TensorFlow tensor, a detection package's result wrapper), on which the
    rewritten chain raises `AttributeError`; the fix title then says "(assumes `x` is a torch
    tensor)". Even a proven tensor may require grad in a caller whose result flows back into
    autograd, where `.detach()` would cut gradients instead of crashing.

    ## Known problems
    It fires on every `.numpy()` of a value of unknown kind, also in a file that imports no array
    framework at all, and on implicit conversions of values known to be tensors: that is what it is
    for; use it as a house style, not as a crash detector. A helper's conversion that a same-file
    caller supplies evidence for is reported twice at the same place: as TL101/TL102 "reached from
    the call", and as TL105 for the helper's own unknown parameter.
    """

    code = "TL105"
    fix_check = FixCheck(snippet="conversion")
    name = "numpy-unknown-provenance"
    summary = "Conversion to NumPy of a value of unknown provenance without the canonical chain (opt-in)"
    fixable = "sometimes"
    default_enabled = False
    superseded_by = (NumpyWithoutDetach.code, NumpyWithoutCpu.code)
    VALID = [
        Valid(H + "def f(x):\n    return x.detach().cpu().numpy()\n", "already the canonical chain"),
        Valid(H + "t = torch.zeros(3)\nt.numpy()\n", "a host factory: proven safe"),
        Valid(H + "def f(x):\n    return np.asarray(x)\n", "an implicit conversion of a value not known to be a tensor"),
        Valid(H + "def f(x):\n    return model(x).numpy()\n", "evidence of grad: TL101's finding, not this one"),
    ]
    INVALID = [
        Invalid(H + "def f(x):\n    return x.cpu().numpy()\n", line=4, col=12,
            fixed=H + "def f(x):\n    return x.detach().cpu().numpy()\n", unsafe=True, why="function parameter: unknown provenance"),
        Invalid(H + "class Net(torch.nn.Module):\n    def forward(self, x):\n        return torch.from_numpy(np.tanh(x.numpy()))\n",
            line=5, col=41, unsafe=True,
            fixed=H + "class Net(torch.nn.Module):\n    def forward(self, x):\n        return torch.from_numpy(np.tanh(x.detach().cpu().numpy()))\n",
            why="inside forward(): the fix cuts gradients, so it is unsafe"),
        Invalid(H + "def f(x):\n    return (x * 2).numpy()\n", line=4, col=12,
            fixed=H + "def f(x):\n    return (x * 2).detach().cpu().numpy()\n", unsafe=True, why="parenthesized receiver"),
        Invalid("import numpy as np\ndef f(x):\n    return x.numpy()\n", line=3, col=12, unsafe=True,
            fixed="import numpy as np\ndef f(x):\n    return x.detach().cpu().numpy()\n",
            why="the file does not import torch: the fix is unsafe"),
        Invalid(H + "def f(load):\n    w = load()\n    print(w.requires_grad)\n    return np.asarray(w)\n", line=6, col=23,
            fixed=H + "def f(load):\n    w = load()\n    print(w.requires_grad)\n    return np.asarray(w.detach().cpu())\n",
            unsafe=True, why="reading .requires_grad says it is a tensor"),
        Invalid(H + "def f(t):\n    snapshot = t.detach().clone()\n    return np.asarray(t)\n", line=5, col=23,
            fixed=H + "def f(t):\n    snapshot = t.detach().clone()\n    return np.asarray(t.detach().cpu())\n",
            unsafe=True, why="calling .detach() on it says it is a tensor"),
        Invalid(H + "def f(x: torch.Tensor):\n    return np.asarray(x)\n", line=4, col=23,
            fixed=H + "def f(x: torch.Tensor):\n    return np.asarray(x.detach().cpu())\n", unsafe=True, why="annotated as a tensor"),
        Invalid(H + "from typing import Optional\ndef f(x: Optional[torch.Tensor]):\n    if x is not None:\n        return np.asarray(x)\n",
            line=6, col=27, fixed=H + "from typing import Optional\ndef f(x: Optional[torch.Tensor]):\n    if x is not None:\n"
                                      "        return np.asarray(x.detach().cpu())\n", unsafe=True, why="Optional[Tensor]"),
        Invalid(H + "class Encoder:\n    def embed(self, x) -> torch.Tensor:\n        raise NotImplementedError\n"
                "    def show(self, x):\n        return np.asarray(self.embed(x))\n", line=7, col=27,
            fixed=H + "class Encoder:\n    def embed(self, x) -> torch.Tensor:\n        raise NotImplementedError\n"
                      "    def show(self, x):\n        return np.asarray(self.embed(x).detach().cpu())\n",
            unsafe=True, why="a same-file method's -> Tensor annotation (its body says nothing)"),
        Invalid(H + "def f(x):\n    if isinstance(x, torch.Tensor):\n        return np.asarray(x)\n    return x\n", line=5, col=27,
            fixed=H + "def f(x):\n    if isinstance(x, torch.Tensor):\n        return np.asarray(x.detach().cpu())\n    return x\n",
            unsafe=True, why="isinstance(x, torch.Tensor) says it is a tensor"),
        Invalid(H + "def f(model, x):\n    with torch.no_grad():\n        return model(x).numpy()\n", line=5, col=16,
            fixed=H + "def f(model, x):\n    with torch.no_grad():\n        return model(x).detach().cpu().numpy()\n",
            unsafe=True, why="no_grad does not move a tensor to the host"),
        Invalid(H + "def f(model, x):\n    return model(x).argmax(1).numpy()\n", line=4, col=12,
            fixed=H + "def f(model, x):\n    return model(x).argmax(1).detach().cpu().numpy()\n", unsafe=True, why="integer result still on the device"),
        Invalid(H + "def f(a, g):\n    return g(a.detach().numpy()).numpy()\n", line=4, col=12,
            fixed=H + "def f(a, g):\n    return g(a.detach().cpu().numpy()).detach().cpu().numpy()\n", unsafe=True, why="nested conversions fixed in one run"),
        Invalid(H + "def f(t):\n    print(t.is_cuda)\n    return np.asarray(t)\n", line=5, col=23,
            fixed=H + "def f(t):\n    print(t.is_cuda)\n    return np.asarray(t.detach().cpu())\n",
            unsafe=True, why="reading .is_cuda says an unknown value is a tensor"),
    ]


class NumpyOfLowPrecisionFloat(Rule):
    """
    ## What it does
    Flags a conversion to NumPy (`.numpy()`, `np.asarray(t)`, `np.array(t)`, plotting and metric calls) of
    a tensor that the code shows is bfloat16 or a float8 type: converted by `.bfloat16()`,
    `.to(torch.bfloat16)`, `.type(torch.bfloat16)`, created with `dtype=torch.bfloat16`, or computed by a
    model converted or loaded that way (`AutoModel.from_pretrained(..., torch_dtype=torch.bfloat16)`: its
    output, and the hidden states it holds, `out.last_hidden_state`, `out.hidden_states[-1]`), with nothing
    on the way that changes the dtype. Scores (`out.logits`) are not evidence: some heads upcast them.

    ## Why is this bad?
    NumPy has no bfloat16 or float8 type, so the conversion always raises
    `TypeError: Got unsupported ScalarType BFloat16` (`Float8_e4m3fn`, ...), whether or not the chain
    detaches and moves the tensor to the host first: `.detach().cpu().numpy()` raises too. It is the daily
    crash of code that loads language models in bfloat16.

    ## Example
    ```python
    weights = layer.weight.detach().to(torch.bfloat16)
    values = weights.cpu().numpy()
    ```

    ## Use instead
    ```python
    values = weights.cpu().float().numpy()
    ```

    ## Fix safety
    Safe when the value is proven a torch tensor: `.float()` holds every bfloat16 and float8 value exactly,
    and the original raised on every path (the dtype is known on all of them), so the only change is a
    float32 array where there was a crash. Unsafe when the value is not proven a tensor, and no fix is
    offered where the tensors are inside a collection (`np.stack([a, b])`) or where NumPy calls the
    tensor's own method (`np.mean(t)` raises for another reason).

    ## Known problems
    Only a dtype the code names is evidence. A dtype chosen at run time (a `torch_dtype` argument, a
    configuration value, `precision="bf16-mixed"` in a trainer) and outputs computed under
    `torch.autocast(dtype=torch.bfloat16)` are not followed yet, so most bfloat16 crashes in published
    code, where the dtype comes from the caller, are not reported.
    """

    code = "TL104"
    fix_check = FixCheck(snippet="conversion", raises=(("TypeError", r"Got unsupported ScalarType (BFloat16|Float8)"),),
                         dtypes=tuple(sorted(NUMPY_REJECTS_FLOATING)))
    name = "numpy-of-bfloat16"
    summary = "Conversion to NumPy of a bfloat16 or float8 tensor, which NumPy cannot hold"
    fixable = "sometimes"
    VALID = [
        Valid(H + "x = torch.randn(3).bfloat16()\ny = x.float().numpy()\n", ".float() first"),
        Valid(H + "x = torch.randn(3).bfloat16()\ny = x.to(torch.float32).cpu().numpy()\n", "converted back"),
        Valid(H + "x = torch.randn(3).half()\ny = x.numpy()\n", "NumPy has float16"),
        Valid(H + "x = torch.randn(3).bfloat16()\ny = x.tolist()\n", ".tolist() works on bfloat16"),
        Valid(H + "x = torch.randn(3).bfloat16()\ny = (x * w).numpy()\n", "another tensor may promote it"),
        Valid(H + "def f(x):\n    return x.numpy()\n", "a dtype nothing shows"),
        Valid(H + "x = torch.zeros(3, dtype=dtype)\ny = x.numpy()\n", "a dtype chosen at run time"),
        Valid(H + "x = torch.randn(3).bfloat16()\ny = x.argmax().numpy()\n", "indices are integers"),
        Valid(H + "x = torch.randn(3).bfloat16() if low else torch.randn(3)\ny = x.numpy()\n",
              "bfloat16 on one path only"),
        Valid(H + "from transformers import AutoModelForCausalLM as M\n"
              "m = M.from_pretrained('x', torch_dtype=torch.bfloat16)\nwith torch.no_grad():\n    out = m(**batch)\n"
              "y = out.logits.cpu().numpy()\n", "scores: a head may upcast them (Llama's logits.float())"),
    ]
    INVALID = [
        Invalid(H + "x = torch.randn(3).bfloat16()\ny = x.numpy()\n", line=4, col=5,
                fixed=H + "x = torch.randn(3).bfloat16()\ny = x.float().numpy()\n", why=".bfloat16()"),
        Invalid(H + "x = torch.randn(3).to(torch.bfloat16)\ny = x.detach().cpu().numpy()\n", line=4, col=5,
                fixed=H + "x = torch.randn(3).to(torch.bfloat16)\ny = x.detach().cpu().float().numpy()\n",
                why="the canonical chain raises too"),
        Invalid(H + "x = torch.zeros(3, dtype=torch.bfloat16)\ny = np.asarray(x)\n", line=4, col=16,
                fixed=H + "x = torch.zeros(3, dtype=torch.bfloat16)\ny = np.asarray(x.float())\n",
                why="an implicit conversion"),
        Invalid(H + "x = torch.randn(3).bfloat16()\ny = np.asarray(x * 2 + 1)\n", line=4, col=16,
                fixed=H + "x = torch.randn(3).bfloat16()\ny = np.asarray((x * 2 + 1).float())\n",
                why="arithmetic with numbers keeps the dtype"),
        Invalid(H + "x = torch.randn(3, dtype=torch.float8_e4m3fn)\ny = x.numpy()\n", line=4, col=5,
                fixed=H + "x = torch.randn(3, dtype=torch.float8_e4m3fn)\ny = x.float().numpy()\n", why="float8"),
        Invalid(H + "import torch.nn as nn\nm = nn.Linear(2, 2).bfloat16()\nwith torch.no_grad():\n"
                "    y = m(torch.ones(1, 2).bfloat16())\nz = y.numpy()\n", line=7, col=5,
                fixed=H + "import torch.nn as nn\nm = nn.Linear(2, 2).bfloat16()\nwith torch.no_grad():\n    y = m(torch.ones(1, 2).bfloat16())\n"
                "z = y.float().numpy()\n", why="a module converted to bfloat16"),
        Invalid(H + "from transformers import AutoModel\nm = AutoModel.from_pretrained('x', torch_dtype=torch.bfloat16)\n"
                "with torch.no_grad():\n    out = m(**batch)\ny = out.last_hidden_state.cpu().numpy()\n", line=7, col=5,
                fixed=H + "from transformers import AutoModel\nm = AutoModel.from_pretrained('x', torch_dtype=torch.bfloat16)\n"
                "with torch.no_grad():\n    out = m(**batch)\ny = out.last_hidden_state.cpu().float().numpy()\n",
                why="a hidden state of a bfloat16 model's output"),
        Invalid(H + "a = torch.randn(3).bfloat16()\ny = np.stack([a])\n", line=4, col=15,
                fixed=H + "a = torch.randn(3).bfloat16()\ny = np.stack([a.float()])\n", why="an element of a list"),
        Invalid(H + "a = torch.randn(3).bfloat16()\ntensors = [a, a]\ny = np.stack(tensors)\n", line=5, col=14,
                why="a list built elsewhere: reported, no fix"),
    ]


RULES = (NumpyWithoutDetach, NumpyWithoutCpu, NoncanonicalNumpyChain, NumpyOfLowPrecisionFloat,
         NumpyOfUnknownProvenance)

