"""TL2: the legacy `.data` attribute, read (TL201) or written through (TL202)."""
from __future__ import annotations

from tensorlint.core.fix_check import FixCheck
from tensorlint.rules.base import Invalid, Rule, Valid

H = "import torch\n"
P = H + "p = torch.nn.Parameter(torch.randn(3))\n"


class DataRead(Rule):
    """
    ## What it does
    Flags reading `t.data` as a value, where the shared analysis knows `t` is a tensor (a parameter,
    a module's `.weight`/`.bias`/`.grad`, a model output, a torch op result, a `model.parameters()`
    loop variable). Datasets, HTTP responses, PyG `Data` objects, plain `self.data` fields, NumPy
    arrays and values of unknown kind are never flagged. In a file that imports chainer, whose
    `Variable` has a `.data` (and `.backward()`, `.grad`) of its own, only a value whose source shows
    it is a torch tensor is flagged.

    ## Why is this bad?
    `.data` and `.detach()` both alias the tensor's storage, but only `.detach()` shares autograd's
    version counter. Change a tensor that backward still needs through a `.detach()` alias and
    backward raises "one of the variables needed for gradient computation has been modified by an
    inplace operation"; through a `.data` alias it silently computes wrong gradients. PyTorch's docs
    call `.data` unsafe: "A safer alternative is to use `x.detach()`".

    ## Example
    ```python
    w = torch.nn.Parameter(torch.randn(3))
    snapshot = w.data.clone()
    ```

    ## Use instead
    ```python
    w = torch.nn.Parameter(torch.randn(3))
    snapshot = w.detach().clone()
    ```

    ## Fix safety
    The fix replaces `.data` with `.detach()` (never with nothing: dropping `.data` before
    `.numpy()` re-introduced the grad crash in pytorch/examples #336). It is safe when the result is
    only read: chained into a call that does not mutate, returned, passed on, or used in arithmetic.
    It is unsafe when the alias is stored under a name that the same function later changes in
    place: then a silently wrong gradient becomes an error at backward, which is the point, but a
    change of behaviour. It is also unsafe when the receiver is not proven a torch tensor (known only
    by a name, `model(x).data` of a `model` parameter, or by duck typing): other objects have a
    `.data` of their own (a client's model record, a dataset library's tensor), and `.detach()` raises
    on them. Its title then names the assumption. `self.data` inside a class, and `x.data()` (a
    method), are never a tensor's `.data`.

    A `.data` read that feeds a conversion to NumPy (`x.data.numpy()`, `out.data[0].numpy()`,
    `np.asarray(p.data)`) is reported once, here, with the conversion's canonical chain as the fix
    (`out[0].detach().cpu().numpy()`). When the conversion would also crash on an accelerator, that
    crash is reported beside it as TL102, with the same fix.

    ## Known problems
    With TL201 disabled, a `.data` inside a conversion chain is left to TL1 (TL101/TL102 when the
    conversion may crash, TL103 otherwise), whose fix gives the same canonical chain. Beside
    `import chainer`, a torch tensor known only through uses or a method name (a `.backward()`, a
    `.numpy()`) is not flagged: chainer's Variables answer to the same names.
    """

    code = "TL201"
    name = "data-read"
    summary = "Reading a tensor through the unsafe legacy `.data`"
    fixable = "always"
    VALID = [
        Valid(H + "def f(x):\n    return x.data\n", "unknown kind: could be any object with .data"),
        Valid(H + "class Holder:\n    def get(self):\n        return self.data\n", "a plain self.data field"),
        Valid(H + "import numpy as np\na = np.ones(3)\nbuf = a.data\n", "NumPy array buffer"),
        Valid(H + "def f(dataset):\n    return dataset.data\n", "a dataset"),
        Valid(H + "def f(response):\n    return response.data\n", "an HTTP response"),
        Valid(H + "def f(data):\n    return data.x\n", "a name called data"),
        Valid(P + "p.detach().clone()\n", "already .detach()"),
        Valid(P + "p.data.add_(1)\n", "an in-place write is TL202"),
        Valid(H + "def f(loader):\n    return loader.dataset.data.numpy()\n", "a loader's dataset's .data into .numpy()"),
        Valid(H + "import torchvision\ntrain_set = torchvision.datasets.MNIST('data', download=True)\nx = train_set.data.numpy()\n",
              "a torchvision dataset's .data is a host tensor, not an autograd alias"),
        Valid("import chainer\nimport torch\ndef f(model, batch):\n    loss = model(*batch)\n    loss.backward()\n"
              "    return loss.data\n",
              "chainer's Variable has .backward() and .data too: beside `import chainer` a use proves no torch tensor"),
        Valid("import chainer\ndef recognize(self, xs):\n    return self.ctc.log_softmax(xs).data[0]\n",
              "a tensor-like method name says nothing about whose .data it is in a chainer file (espnet)"),
        Valid("import chainer\nimport torch\nfrom .interface import Interface\nclass E2E(Interface):\n"
              "    def forward(self, xs):\n        return xs\ndef f(xs):\n    return E2E()(xs).data\n",
              "a class with a `forward` and bases from elsewhere is no nn.Module beside `import chainer` (a Chain has one)"),
    ]
    INVALID = [
        Invalid(P + "snapshot = p.data.clone()\n", line=3, col=12, fixed=P + "snapshot = p.detach().clone()\n",
                why="parameter read into a non-mutating call"),
        Invalid("import chainer\n" + P + "snapshot = p.data.clone()\n", line=4, col=12,
                fixed="import chainer\n" + P + "snapshot = p.detach().clone()\n",
                why="beside `import chainer`, a value shown to be a torch tensor by its source is still reported"),
        Invalid(H + "def f(model):\n    return [p.data for p in model.parameters()]\n", line=3, col=13, unsafe=True,
                fixed=H + "def f(model):\n    return [p.detach() for p in model.parameters()]\n",
                why="parameters() loop; aliases kept in a list may be changed later: unsafe"),
        Invalid(H + "def f(model):\n    return model.fc.weight.data\n", line=3, col=12,
                fixed=H + "def f(model):\n    return model.fc.weight.detach()\n", unsafe=True, why="module .weight of a model known only by its name: unsafe"),
        Invalid(H + "def f(p):\n    g = p.grad.data\n    return g * 2\n", line=3, col=9,
                fixed=H + "def f(p):\n    g = p.grad.detach()\n    return g * 2\n", why=".grad of anything"),
        Invalid(H + "def f(model, x):\n    out = model(x)\n    return out.data.max(1)\n", line=4, col=12,
                fixed=H + "def f(model, x):\n    out = model(x)\n    return out.detach().max(1)\n", unsafe=True, why="output of a model known only by its name: unsafe"),
        Invalid(P + "w = p.data\nw.mul_(2)\n", line=3, col=5, unsafe=True, fixed=P + "w = p.detach()\nw.mul_(2)\n",
                why="alias mutated later: unsafe"),
        Invalid(P + "p.data.cpu().numpy()\n", line=3, col=1, fixed=P + "p.detach().cpu().numpy()\n",
                why="a conversion chain through .data: one finding, the canonical chain"),
        Invalid(P + "import numpy as np\nnp.asarray(p.data)\n", line=4, col=12,
                fixed=P + "import numpy as np\nnp.asarray(p.detach().cpu())\n", why="an implicit conversion of .data"),
        Invalid(H + "def f(x):\n    return x.data.numpy()\n", line=3, col=12, unsafe=True,
                fixed=H + "def f(x):\n    return x.detach().cpu().numpy()\n",
                why=".numpy() says x is a tensor; unknown kind, so the fix is unsafe"),
        Invalid(H + "def f(model, x):\n    out = model(x)\n    return out.data[0].numpy()\n", line=4, col=12,
                fixed=H + "def f(model, x):\n    out = model(x)\n    return out[0].detach().cpu().numpy()\n",
                unsafe=True, why=".data behind a subscript: dropped, the chain goes at the end"),
        Invalid(H + "def f(model, x):\n    return model(x).data.view(-1).numpy()\n", line=3, col=12,
                fixed=H + "def f(model, x):\n    return model(x).view(-1).detach().cpu().numpy()\n",
                unsafe=True, why=".data behind a view"),
        Invalid(H + "def f(model, x):\n    out = model(x).cpu()\n    return out.data[0].numpy()\n", line=4, col=12,
                fixed=H + "def f(model, x):\n    out = model(x).cpu()\n    return out[0].detach().cpu().numpy()\n",
                unsafe=True, why="facts flow through .data and subscripts: on the host, no crash, still the .data finding"),
        Invalid(H + "def f(model, x):\n    return model(x).data.cpu().numpy()\n", line=3, col=12,
                fixed=H + "def f(model, x):\n    return model(x).detach().cpu().numpy()\n",
                unsafe=True, why="the classic model(x).data.cpu().numpy(): one finding (no TL101/TL103), the canonical chain"),
        Invalid(H + "def f(model, x):\n    return model(x).data.cpu().detach().numpy()\n", line=3, col=12,
                fixed=H + "def f(model, x):\n    return model(x).detach().cpu().numpy()\n",
                why=".data plus a move before .detach(): one finding, one canonical chain"),
        Invalid(H + "import numpy as np\ndef f(model, x):\n    return np.array(model(x).data)\n", line=4, col=21,
                fixed=H + "import numpy as np\ndef f(model, x):\n    return np.array(model(x).detach().cpu())\n",
                unsafe=True, why="np.array of .data: the fix passes .detach().cpu(), the message names the CUDA crash"),
    ]


class DataInplaceWrite(Rule):
    """
    ## What it does
    Flags changing a tensor through `.data`: in-place methods (`p.data.add_(...)`, `copy_`,
    `zero_`, `fill_`, `mul_`, ...), item assignment (`p.data[...] = v`), augmented assignment
    (`p.data *= 2`) and replacement (`p.data = x`), on values the shared analysis knows are tensors.

    ## Why is this bad?
    Writes through `.data` are invisible to autograd: a value saved for backward changes silently
    and gradients come out wrong instead of raising. The modern form is an in-place update under
    `torch.no_grad()`, which autograd tracks (it bumps the version counter) and which keeps the
    parameter a leaf. Simply dropping `.data` is wrong: "a leaf Variable that requires grad is being
    used in an in-place operation" (pytorch/examples had to revert exactly that, #767).
    `p.data = x` can change shape, dtype and device; `p.copy_(x)` cannot (size mismatch), so
    shape-changing replacement needs `torch.utils.swap_tensors(p, x)`.

    ## Example
    ```python
    for p in model.parameters():
        p.data.add_(p.grad, alpha=-lr)
    ```

    ## Use instead
    ```python
    with torch.no_grad():
        for p in model.parameters():
            p.add_(p.grad, alpha=-lr)
    ```

    ## Fix safety
    Always unsafe: the update becomes visible to autograd, so code that silently corrupted
    gradients now raises at backward. The fix wraps the statement in `with torch.no_grad():` and
    drops `.data` (adding `import torch` when the file lacks it); inside a `no_grad` block or a
    `@torch.no_grad()` function it only drops `.data`. `p.data = x` gets no fix: whether
    `copy_` or `swap_tensors` is right depends on shapes.

    Adjacent flagged statements of one block share one `with` block, and a `for` loop (without
    `else`) whose body is only such statements is wrapped whole: every finding of the run carries
    the same fix, so fixing any of them writes the merged block in one pass. Running the loop header
    under `no_grad` changes nothing the body did not already do there. A statement whose finding is
    suppressed (`# noqa: TL202`), or that has no fix, ends the run and stays as it is.
    """

    code = "TL202"
    fix_check = FixCheck(snippet="statement")
    name = "data-inplace-write"
    summary = "Changing a tensor in place through `.data`"
    fixable = "sometimes"
    VALID = [
        Valid(H + "def f(x):\n    x.data.add_(1)\n", "unknown kind"),
        Valid(P + "with torch.no_grad():\n    p.add_(1)\n", "the modern form"),
        Valid(H + "class Box:\n    def reset(self):\n        self.data = []\n", "a plain self.data field"),
        Valid(H + "def f(batch):\n    batch.data[0] = 1\n", "unknown kind with item assignment"),
        Valid(P + "p.data.clone().add_(1)\n", "in-place on a copy, not through .data"),
        Valid(H + "def f(dataset):\n    dataset.data[0].zero_()\n", "a dataset's .data, written through a subscript"),
    ]
    INVALID = [
        Invalid(H + "def step(model, lr):\n    for p in model.parameters():\n        p.data.add_(p.grad, alpha=-lr)\n",
                line=4, col=9, unsafe=True,
                fixed=H + "def step(model, lr):\n    with torch.no_grad():\n        for p in model.parameters():\n"
                          "            p.add_(p.grad, alpha=-lr)\n", why="SGD step through .data: the whole loop is wrapped"),
        Invalid(P + "p.data.zero_()\n", line=3, col=1, unsafe=True, fixed=P + "with torch.no_grad():\n    p.zero_()\n",
                why="zero_"),
        Invalid(P + "p.data[0] = 1.0\n", line=3, col=1, unsafe=True, fixed=P + "with torch.no_grad():\n    p[0] = 1.0\n",
                why="item assignment"),
        Invalid(P + "p.data[..., 0][p.data.eq(0)] = 1\n", line=3, col=1, unsafe=True,
                fixed=P + "with torch.no_grad():\n    p[..., 0][p.detach().eq(0)] = 1\n",
                why="an item assignment through a view of .data is a write, not a read (found on pyro's tensor_utils)"),
        Invalid(P + "p.data *= 2\n", line=3, col=1, unsafe=True, fixed=P + "with torch.no_grad():\n    p *= 2\n",
                why="augmented assignment"),
        Invalid(P + "with torch.no_grad():\n    p.data.fill_(0)\n", line=4, col=5, unsafe=True,
                fixed=P + "with torch.no_grad():\n    p.fill_(0)\n", why="already under no_grad: only drop .data"),
        Invalid(H + "@torch.no_grad()\ndef ema(avg, model):\n    for a, p in zip(avg.parameters(), model.parameters()):\n"
                    "        a.data.mul_(0.99).add_(p.data, alpha=0.01)\n", line=5, col=9, unsafe=True,
                fixed=H + "@torch.no_grad()\ndef ema(avg, model):\n    for a, p in zip(avg.parameters(), model.parameters()):\n"
                          "        a.mul_(0.99).add_(p.detach(), alpha=0.01)\n",
                why="inside @torch.no_grad(): only drop .data (the read of p.data is TL201)"),
        Invalid(P + "p.data = torch.zeros(5)\n", line=3, col=1, why="replacement: no fix, message names copy_/swap_tensors"),
        Invalid(P + "p.data, meta = repack(p)\n", line=3, col=1,
                why="a tuple target is a replacement too, never a read: no fix (found on transformers' quantizers)"),
        Invalid(P + "p.data.t_()\n", line=3, col=1,
                why="t_/resize_/set_ change only the .data alias's shape: no faithful rewrite, no fix"),
        Invalid("def init(m):\n    m.weight.data.normal_(0.0, 0.02)\n", line=2, col=5, unsafe=True,
                fixed="import torch\ndef init(m):\n    with torch.no_grad():\n        m.weight.normal_(0.0, 0.02)\n",
                why="DCGAN-style init without a torch import: the fix adds it"),
        Invalid("import torch as th\np = th.nn.Parameter(th.ones(2))\np.data.copy_(th.zeros(2))\n", line=3, col=1, unsafe=True,
                fixed="import torch as th\np = th.nn.Parameter(th.ones(2))\nwith th.no_grad():\n    p.copy_(th.zeros(2))\n",
                why="torch under an alias"),
        Invalid(H + "import torch.nn as nn\nemb = nn.Embedding(10, 4, padding_idx=0)\nemb.weight.data[0].zero_()\n", line=4, col=1,
                unsafe=True, fixed=H + "import torch.nn as nn\nemb = nn.Embedding(10, 4, padding_idx=0)\n"
                                       "with torch.no_grad():\n    emb.weight[0].zero_()\n",
                why="an in-place method on a subscript of .data: zeroing the padding row"),
        Invalid(H + "def f(model):\n    for p in model.parameters():\n        p.data[:, :2].fill_(0.0)\n", line=4, col=9, unsafe=True,
                fixed=H + "def f(model):\n    with torch.no_grad():\n        for p in model.parameters():\n"
                          "            p[:, :2].fill_(0.0)\n", why="a slice of .data filled in a parameters() loop"),
        Invalid(H + "def init(m):\n    m.weight.data.normal_(0.0, 0.02)\n    m.bias.data.fill_(0)\n", line=3, col=5,
                unsafe=True, fixed=H + "def init(m):\n    with torch.no_grad():\n        m.weight.normal_(0.0, 0.02)\n"
                                       "        m.bias.fill_(0)\n", why="adjacent writes: one merged with block"),
        Invalid(H + "def f(model, lr):\n    for p in model.parameters():\n        p.data.add_(p.grad, alpha=-lr)\n"
                    "        # then clear it\n        p.grad.data.zero_()\n", line=4, col=9, unsafe=True,
                fixed=H + "def f(model, lr):\n    with torch.no_grad():\n        for p in model.parameters():\n"
                          "            p.add_(p.grad, alpha=-lr)\n            # then clear it\n            p.grad.zero_()\n",
                why="a loop of writes (a comment between them): the loop is wrapped, the comment re-indented"),
        Invalid(H + "def f(model):\n    for p in model.parameters():\n        if p.grad is not None:\n"
                    "            p.data.add_(p.grad)\n            p.grad.data.zero_()\n", line=5, col=13, unsafe=True,
                fixed=H + "def f(model):\n    for p in model.parameters():\n        if p.grad is not None:\n"
                          "            with torch.no_grad():\n                p.add_(p.grad)\n                p.grad.zero_()\n",
                why="the loop body is an if: only the writes inside it are wrapped"),
        Invalid(P + "q = torch.nn.Parameter(torch.ones(3))\np.data.zero_()\nq.data.zero_()  # noqa: TL202\np.data.add_(1)\n",
                line=4, col=1, unsafe=True,
                fixed=P + "q = torch.nn.Parameter(torch.ones(3))\nwith torch.no_grad():\n    p.zero_()\n"
                          "q.data.zero_()  # noqa: TL202\nwith torch.no_grad():\n    p.add_(1)\n",
                why="a suppressed write ends the run and stays as it is"),
        Invalid(P + "p.data.zero_()\nprint(p)\np.data.add_(1)\n", line=3, col=1, unsafe=True,
                fixed=P + "with torch.no_grad():\n    p.zero_()\nprint(p)\nwith torch.no_grad():\n"
                          "    p.add_(1)\n", why="another statement between: not adjacent, two blocks"),
        Invalid(P + "for _ in range(2):\n    p.data.mul_(2)\nelse:\n    p.data.zero_()\n", line=4, col=5, unsafe=True,
                fixed=P + "for _ in range(2):\n    with torch.no_grad():\n        p.mul_(2)\nelse:\n"
                          "    with torch.no_grad():\n        p.zero_()\n", why="a loop with else is not wrapped whole"),
    ]


RULES = (DataRead, DataInplaceWrite)

