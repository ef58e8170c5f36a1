"""Where a host copy's value goes next (tensorlint/rules/sync/flow.py): back to the device, or out as the result."""
import libcst as cst
import libcst.matchers as m
import pytest

from tensorlint.analysis.annotations import states_numpy
from tensorlint.analysis.crossmodule import ProjectContext
from tensorlint.analysis.imports import ImportMap
from tensorlint.analysis.host_copy import returned
from tensorlint.rules.sync.flow import host_to_host, returns_to_device


def _copy_in(source: str):
    """The function, the first `.cpu()` call in it, and the small statement that holds the call."""
    function = cst.parse_module(source).body[0]
    found = {}

    class Finder(cst.CSTVisitor):
        def __init__(self):
            super().__init__()
            self.stack = []

        def on_visit(self, node):
            self.stack.append(node)
            if "copy" not in found and m.matches(node, m.Call(func=m.Attribute(attr=m.Name("cpu")))):
                found["copy"] = node
                found["statement"] = next(a for a in reversed(self.stack) if isinstance(a, cst.BaseSmallStatement))
            return True

        def on_leave(self, node):
            self.stack.pop()

    function.visit(Finder())
    return function, found["copy"], found["statement"]


def _loop_body(function: cst.FunctionDef) -> cst.BaseSuite:
    return next(s for s in function.body.body if isinstance(s, cst.For)).body


@pytest.mark.parametrize("source", [
    pytest.param("def f(xs, dev):\n    for x in xs:\n        a = x.cpu().numpy()\n        b = attack(a)\n"
                 "        y = torch.from_numpy(b).to(dev)\n", id="moved back through a name"),
    pytest.param("def f(xs, dev):\n    for x in xs:\n        c = np.zeros(3)\n        for p in parts:\n"
                 "            c += x.cpu().numpy()\n        top = certify(c)\n        y = y.to(dev)\n"
                 "        ok = top == y\n", id="combined with a name the iteration moved, from a nested loop"),
    pytest.param("def f(xs, dev):\n    for x in xs:\n        counts[x.argmax().cpu()] += 1\n        y = y.to(dev)\n"
                 "        s = counts + y\n", id="stored by the host value as an index"),
    pytest.param("def f(xs):\n    for x in xs:\n        a = x.cpu().numpy()\n        y = torch.tensor(a).cuda()\n",
                 id=".cuda()"),
])
def test_round_trip(source):
    function, copy, statement = _copy_in(source)
    assert returns_to_device(_loop_body(function), copy, statement)


@pytest.mark.parametrize("source", [
    pytest.param("def f(xs, dev):\n    for x in xs:\n        a = x.cpu().numpy()\n        out.append(a.mean())\n",
                 id="collected on the host"),
    pytest.param("def f(xs, dev):\n    for x in xs:\n        y = torch.from_numpy(w).to(dev)\n"
                 "        a = x.cpu().numpy()\n", id="the move comes before the copy"),
    pytest.param("def f(xs, dev):\n    for x in xs:\n        a = x.cpu().numpy()\n"
                 "        y = torch.from_numpy(w).to(dev)\n        z = y * 2\n",
                 id="a device value that does not read the copy"),
    pytest.param("def f(xs, dev):\n    for x in xs:\n        a = x.cpu().numpy()\n"
                 "        y = torch.from_numpy(a).to('cpu')\n", id="moved to the host again"),
])
def test_no_round_trip(source):
    function, copy, statement = _copy_in(source)
    assert not returns_to_device(_loop_body(function), copy, statement)


@pytest.mark.parametrize("source, expected", [
    pytest.param("def f(ps):\n    out = []\n    for p in ps:\n        d = {}\n        d['b'] = p.cpu().numpy()\n"
                 "        out.append(d)\n    return out\n", True, id="through a dict and a list"),
    pytest.param("def f(ps):\n    g = []\n    for p in ps:\n        g.append(p.cpu().numpy())\n    r = np.array(g)\n"
                 "    return r\n", True, id="through np.array"),
    pytest.param("def f(ps):\n    g = []\n    for p in ps:\n        log(p.cpu().numpy())\n    return g\n", False,
                 id="logged, not returned"),
])
def test_returned(source, expected):
    function, copy, statement = _copy_in(source)
    assert returned(function, copy, statement) is expected


def _imports(module: cst.Module) -> ImportMap:
    imports = ImportMap(ProjectContext())
    imports.record_all(module.body)
    return imports


@pytest.mark.parametrize("annotation, expected", [
    ("np.ndarray", True), ("'np.ndarray'", True), ("tuple[np.ndarray, np.ndarray]", True),
    ("list[dict[str, np.ndarray]]", True), ("np.ndarray | torch.Tensor", False), ('"torch.Tensor"', False),
    ("Any", False), ("list", False),
])
def test_states_numpy(annotation, expected):
    module = cst.parse_module(f"import numpy as np\nimport torch\ndef f() -> {annotation}:\n    pass\n")
    assert states_numpy(module.body[-1].returns, _imports(module)) is expected


@pytest.mark.parametrize("signature, expected", [
    ("def f(self, x: np.ndarray, y: np.ndarray) -> np.ndarray", True),
    ("def f(self, x: np.ndarray, n: int = 3) -> tuple[np.ndarray, np.ndarray]", True),
    ("def f(self, x: np.ndarray, t: torch.Tensor) -> np.ndarray", False),
    ("def f(self, x, y) -> np.ndarray", False),
    ("def f(self, x: torch.Tensor) -> np.ndarray", False),
    ("def f(self, x: np.ndarray) -> torch.Tensor", False),
])
def test_host_to_host(signature, expected):
    module = cst.parse_module(f"import numpy as np\nimport torch\n{signature}:\n    pass\n")
    assert host_to_host(module.body[-1], _imports(module)) is expected
