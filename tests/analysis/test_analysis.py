"""The shared provenance analysis, observed directly: `reveal(expr)` records the facts in force there."""
import libcst as cst
import pytest

from tensorlint.analysis import MAYBE, NO, YES, Semantic

HEADER = "import numpy as np\nimport torch\nimport torch.nn as nn\n"


def reveal(body: str, view=lambda facts: (facts.tensor, facts.grad, facts.device)):
    """`view` of the facts of each `reveal(x)` argument, in walk order (silent loop passes excluded)."""
    module = cst.parse_module(HEADER + body)
    seen = []

    def record(node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "reveal":
            seen.append(view(semantic.facts(node.args[0].value)))

    semantic = Semantic(module, {cst.Call: [record]}, {})
    module.visit(semantic)
    return seen


HOST = (YES, NO, NO)
CASES = [
    ("t = torch.zeros(3)\nreveal(t)\n", HOST, "host factory"),
    ("t = torch.randn(3, requires_grad=True)\nreveal(t)\n", (YES, YES, NO), "requires_grad=True"),
    ("t = torch.randn(3, requires_grad=flag)\nreveal(t)\n", (YES, MAYBE, NO), "requires_grad unknown"),
    ("t = torch.ones(3, device='cuda:0')\nreveal(t)\n", (YES, NO, YES), "device string"),
    ("t = torch.ones(3, device=torch.device('cpu'))\nreveal(t)\n", HOST, "torch.device('cpu')"),
    ("t = torch.ones(3, device=dev)\nreveal(t)\n", (YES, NO, MAYBE), "device variable"),
    ("dev = 'cuda'\nt = torch.ones(3, device=dev)\nreveal(t)\n", (YES, NO, YES), "device variable bound to a literal"),
    ("t = torch.from_numpy(np.zeros(3))\nreveal(t)\n", HOST, "from_numpy"),
    ("t = torch.as_tensor([1, 2])\nreveal(t)\n", HOST, "as_tensor of a list"),
    ("p = nn.Parameter(torch.ones(2))\nreveal(torch.as_tensor(p))\n", (YES, YES, NO), "as_tensor(t) is t"),
    ("t = torch.tensor([1.0], requires_grad=True).cuda()\nreveal(t)\n", (YES, YES, YES), ".cuda()"),
    ("t = torch.zeros(2).to('cuda')\nreveal(t)\n", (YES, NO, YES), ".to('cuda')"),
    ("t = torch.zeros(2).to(device)\nreveal(t)\n", (YES, NO, MAYBE), ".to(device)"),
    ("t = torch.zeros(2).to(torch.float16)\nreveal(t)\n", HOST, ".to(dtype) keeps the device"),
    ("def f(x):\n    reveal(x.to(x.dtype))\n", (MAYBE, MAYBE, MAYBE), ".to(x.dtype) of unknown"),
    ("def f(x):\n    reveal(x.cpu())\n", (MAYBE, MAYBE, NO), ".cpu() of unknown"),
    ("def f(x):\n    reveal(x.detach())\n", (YES, NO, MAYBE), ".detach() of unknown: only a tensor has it"),
    ("t = torch.zeros(2).requires_grad_()\nreveal(t)\n", (YES, YES, NO), ".requires_grad_()"),
    ("t = torch.zeros(2)\nt.requires_grad_()\nreveal(t)\n", (YES, YES, NO), "in-place .requires_grad_()"),
    ("t = torch.ones(2, requires_grad=True)\nreveal(t.clone())\n", (YES, YES, NO), ".clone() keeps grad"),
    ("w = nn.Parameter(torch.randn(3))\nreveal(w)\n", (YES, YES, NO), "nn.Parameter of a host tensor"),
    ("def f(model):\n    for p in model.parameters():\n        reveal(p)\n", (YES, YES, MAYBE), "parameters() loop"),
    ("def f(model):\n    for name, p in model.named_parameters():\n        reveal(p)\n", (YES, YES, MAYBE), "named_parameters()"),
    ("def f(model):\n    for name, p in model.named_parameters():\n        reveal(name)\n", (NO, NO, NO), "named_parameters() name"),
    ("lin = nn.Linear(2, 2)\nreveal(lin.weight)\n", (YES, YES, MAYBE), "module .weight"),
    ("lin = nn.Linear(2, 2)\nreveal(lin.weight.grad)\n", (YES, NO, MAYBE), ".grad"),
    ("def f(model, x):\n    reveal(model(x))\n", (YES, MAYBE, MAYBE), "model call"),
    ("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.body = nn.Linear(2, 2)\n"
     "    def forward(self, x):\n        reveal(self.body(x))\n", (YES, MAYBE, MAYBE), "self.<submodule>(x)"),
    ("def f(model, x):\n    reveal(model(x).argmax(1))\n", (YES, NO, MAYBE), "argmax"),
    ("def f(model, x):\n    reveal(model(x) > 0)\n", (YES, NO, MAYBE), "comparison"),
    ("def f(model, x):\n    reveal(model(x).long())\n", (YES, NO, MAYBE), ".long()"),
    ("def f(model, x):\n    reveal(torch.argmax(model(x), 1))\n", (YES, NO, MAYBE), "torch.argmax"),
    ("def f(model, x):\n    with torch.no_grad():\n        y = model(x)\n    reveal(y)\n", (YES, NO, MAYBE), "produced under no_grad"),
    ("@torch.no_grad()\ndef f(model, x):\n    reveal(model(x))\n", (YES, NO, MAYBE), "@torch.no_grad()"),
    ("def f(model, x):\n    with torch.inference_mode():\n        reveal(model(x) * 2)\n", (YES, NO, MAYBE), "inference_mode"),
    ("def f(model, x):\n    y = model(x)\n    y = y.detach().cpu()\n    reveal(y)\n", (YES, NO, NO), "reassignment"),
    ("def f(model, x, c):\n    y = torch.zeros(2)\n    if c:\n        y = model(x)\n    reveal(y)\n", (YES, MAYBE, MAYBE), "branch join"),
    ("def f(model, x, c):\n    y = torch.zeros(2)\n    if c:\n        return\n    reveal(y)\n", HOST, "returning branch does not join"),
    ("def f(t):\n    if t.is_cuda:\n        t = t.cpu()\n    reveal(t)\n", (YES, MAYBE, NO), "is_cuda guard (and evidence)"),
    ("def f(t):\n    if t.requires_grad:\n        t = t.detach()\n    reveal(t)\n", (YES, NO, MAYBE), "requires_grad guard (and evidence)"),
    ("def f(t):\n    reveal(t if not t.requires_grad else None)\n", (MAYBE, NO, MAYBE), "guard in a conditional expression"),
    ("def f(t):\n    if t.device.type == 'cpu':\n        reveal(t)\n", (MAYBE, MAYBE, NO), "device.type guard"),
    ("def f(t):\n    if isinstance(t, torch.Tensor):\n        reveal(t)\n", (YES, MAYBE, MAYBE), "isinstance guard"),
    ("def f(model, x):\n    h = torch.zeros(2)\n    for _ in range(3):\n        reveal(h)\n        h = model(h)\n", (YES, MAYBE, MAYBE), "loop back edge"),
    ("def f(model, loader):\n    outs = []\n    for x in loader:\n        outs.append(model(x))\n    reveal(outs[0])\n", (YES, MAYBE, MAYBE), "list of outputs"),
    ("def f(x: np.ndarray):\n    reveal(x)\n", (NO, NO, NO), "numpy annotation"),
    ("def f(x: torch.Tensor):\n    reveal(x)\n", (YES, MAYBE, MAYBE), "tensor annotation"),
    ("def f(model, x):\n    reveal(model(x).item())\n", (NO, NO, NO), ".item()"),
    ("def f(model, x):\n    reveal(model(x).shape)\n", (NO, NO, NO), ".shape"),
    ("t = torch.zeros(2)\nreveal(t * scale)\n", HOST, "unknown operand taken as a scalar"),
    ("def f(tf_model):\n    reveal(tf_model.kernel)\n", (NO, NO, NO), "a TensorFlow-named value"),
    ("torch.set_default_device('cuda')\nreveal(torch.zeros(2))\n", (YES, NO, MAYBE), "set_default_device"),
]


@pytest.mark.parametrize("body, expected, why", CASES, ids=[c[2] for c in CASES])
def test_provenance(body, expected, why):
    assert reveal(body)[-1] == expected


def test_comprehension_binds_its_target():
    body = "def f(model, xs):\n    [reveal(model(x)) for x in xs]\n    [reveal(p) for p in model.parameters()]\n"
    assert reveal(body) == [(YES, MAYBE, MAYBE), (YES, YES, MAYBE)]


def test_loop_body_is_reported_once():
    body = "def f(model):\n    for p in model.parameters():\n        reveal(p)\n        for q in model.parameters():\n            reveal(q)\n"
    assert len(reveal(body)) == 2


def test_imports_resolve_every_alias():
    module = cst.parse_module("import numpy\nimport numpy as xp\nfrom numpy import float as f\nimport torch.nn as tnn\nfrom torch import nn\n")
    semantic = Semantic(module, {}, {})
    names = semantic.imports.names
    assert names == {"numpy": "numpy", "xp": "numpy", "f": "numpy.float", "tnn": "torch.nn", "nn": "torch.nn"}
    assert semantic.imports.torch_only


@pytest.mark.parametrize("source, expected", [
    ("import tensorflow as tf\n", True),
    ("import jax.numpy as jnp\n", True),
    ("import torch\nimport tensorflow as tf\n", False),
    ("import torch\n", False),
])
def test_numpy_method_is_not_torch(source, expected):
    module = cst.parse_module(source)
    assert Semantic(module, {}, {}).imports.numpy_method_is_not_torch is expected


def reveal_evidence(body: str):
    """(grad evidenced, device evidenced, guessed) of the last `reveal(x)` argument."""
    return reveal(body, lambda facts: (facts.grad_evidenced, facts.device_evidenced, facts.guessed))[-1]


EVIDENCE_CASES = [
    ("def f(x):\n    reveal(x)\n", (False, False, False), "a parameter: nothing shows anything"),
    ("def f(x: torch.Tensor):\n    reveal(x)\n", (False, False, False), "an annotation proves a tensor, not grad or device"),
    ("def f(x):\n    reveal(model(x))\n", (True, False, True), "a model output requires grad; a named model is a guess"),
    ("def f(model, x):\n    reveal(model(x))\n", (False, False, True),
     "a parameter model is a module by its name only: what callers pass decides"),
    ("def f(model, x, loss):\n    loss.backward()\n    reveal(model(x))\n", (True, False, True),
     "a parameter model in a function that back-propagates is trained"),
    ("def f(model, x):\n    model.train()\n    reveal(model(x))\n", (True, False, True), "model.train() trains it"),
    ("def f(model, x):\n    model.train(False)\n    reveal(model(x))\n", (False, False, True), "model.train(False) is eval()"),
    ("def f(model, x, opt):\n    opt = torch.optim.Adam(model.parameters())\n    reveal(model(x))\n", (True, False, True),
     "an optimizer over its parameters trains it"),
    ("def f(model, x):\n    n = sum(p.numel() for p in model.parameters())\n    reveal(model(x))\n", (False, False, True),
     "counting its parameters does not train it"),
    ("def f(x):\n    model = nn.Linear(2, 2)\n    reveal(model(x))\n", (True, False, False), "a module built here: proven"),
    ("def f(x, device):\n    model = nn.Linear(2, 2).to(device)\n    reveal(model(x))\n", (True, True, False),
     "a moved module's output is on the device"),
    ("def f(model, x, device):\n    reveal(model(x.to(device)))\n", (False, True, True), "a parameter model given device inputs"),
    ("def f(crit, out, y, device):\n    loss = crit(out, y.to(device))\n    loss.backward()\n    reveal(loss)\n",
     (True, True, False), "backward() proves grad; device inputs give the device"),
    ("def f(x):\n    reveal(x.cuda())\n", (False, True, True), ".cuda() of an unknown value: a tensor, or a look-alike"),
    ("def f(x):\n    reveal(x.clone())\n", (False, False, True), ".clone() on an unknown value: a guess (other libraries have it)"),
    ("t = torch.ones(2, requires_grad=True)\nreveal(t * 2)\n", (True, False, False), "evidence survives arithmetic"),
    ("def f(x, c):\n    y = torch.zeros(2)\n    if c:\n        y = model(x)\n    reveal(y)\n", (True, False, True),
     "evidence survives a join with a host value"),
    ("def f(model, x):\n    with torch.no_grad():\n        y = model(x)\n    reveal(y)\n", (False, False, True), "no_grad"),
]


@pytest.mark.parametrize("body, expected, why", EVIDENCE_CASES, ids=[c[2] for c in EVIDENCE_CASES])
def test_evidence(body, expected, why):
    assert reveal_evidence(body) == expected
