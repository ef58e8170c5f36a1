"""analysis/non_blocking.py and analysis/following.py: the copy's evidence, the reads, and what runs after a statement."""
import libcst as cst
import pytest

from tensorlint.analysis.facts import HOST_TENSOR, MAYBE, NO, UNKNOWN, YES, Facts, device_spec
from tensorlint.analysis.following import following_units, statement_index
from tensorlint.analysis.non_blocking import first_host_read, host_copy

ON_DEVICE = Facts(tensor=YES, grad=NO, device=YES)


def _facts(table):
    def facts_of(node):
        if isinstance(node, cst.SimpleString):
            return device_spec(NO if "cpu" in node.value else YES)
        name = cst.Module([]).code_for_node(node)
        return table.get(name, UNKNOWN)
    return facts_of


def _call(code):
    return cst.parse_expression(code)


def _copy_in_function(code, facts_of, header="def f(x, device='cuda'):"):
    """host_copy of the call `code`, written in a function (by default one whose `"cuda"` default shows it works
    with an accelerator)."""
    module = cst.parse_module(f"{header}\n    {code}\n")
    path = _path_to(module, lambda node: isinstance(node, cst.Call) and module.code_for_node(node) == code)
    return host_copy(path[-1], facts_of, path)


@pytest.mark.parametrize("code, table, found", [
    pytest.param('x.to("cpu", non_blocking=True)', {}, True, id="unknown source"),
    pytest.param('x.to("cpu", non_blocking=True)', {"x": ON_DEVICE}, True, id="a device source"),
    pytest.param('x.to("cpu", non_blocking=True)', {"x": HOST_TENSOR}, False, id="a host source"),
    pytest.param('x.to("cuda", non_blocking=True)', {}, False, id="to the device"),
    pytest.param('x.to(d, non_blocking=True)', {}, False, id="an unknown device"),
    pytest.param('x.to(device="cpu", non_blocking=True)', {}, True, id="device keyword"),
    pytest.param('x.to("cpu")', {}, False, id="blocking"),
    pytest.param('dst.copy_(x, non_blocking=True)', {"dst": HOST_TENSOR}, True, id="copy_ into a host tensor"),
    pytest.param('dst.copy_(x, True)', {"dst": HOST_TENSOR}, True, id="copy_ positional"),
    pytest.param('dst.copy_(x, non_blocking=True)', {}, False, id="copy_ into an unknown"),
    pytest.param('dst.copy_(x, non_blocking=True)', {"dst": HOST_TENSOR, "x": HOST_TENSOR}, False,
                 id="copy_ host to host"),
])
def test_host_copy(code, table, found):
    assert (_copy_in_function(code, _facts(table)) is not None) is found


@pytest.mark.parametrize("header, found", [
    pytest.param("def f(x):", False, id="nothing shows an accelerator"),
    pytest.param("def f(x, device='cuda:0'):", True, id="a cuda device"),
    pytest.param("@torch.cuda.amp.autocast()\ndef f(x):", True, id="a torch.cuda call"),
    pytest.param("class Cache:\n  def __init__(self):\n    self.b = torch.zeros(2, pin_memory=True)\n  def f(self, x):",
                 True, id="the class pins host memory"),
])
def test_a_source_of_unknown_device_needs_an_accelerator_around_the_copy(header, found):
    indent = "  " if header.startswith("class") else ""
    module = cst.parse_module(f"import torch\n{header}\n    {indent}y = x.to('cpu', non_blocking=True)\n")
    path = _path_to(module, lambda node: isinstance(node, cst.Call) and getattr(node.func, "attr", None) is not None
                    and node.func.attr.value == "to")
    qualified = lambda node: "torch.cuda.amp.autocast" if "cuda" in cst.Module([]).code_for_node(node) else None
    assert (host_copy(path[-1], _facts({}), path, qualified) is not None) is found


def test_host_copy_keeps_the_source_evidence_only_when_there_is_some():
    from tensorlint.analysis.facts import Evidence
    why = Evidence("is moved by `x.cuda()`")
    copy = _copy_in_function('x.to("cpu", non_blocking=True)', _facts({"x": ON_DEVICE.with_(device_why=why)}))
    assert copy.source_why is why and copy.around is None
    copy = _copy_in_function('x.to("cpu", non_blocking=True)', _facts({"x": ON_DEVICE.with_(device=MAYBE)}))
    assert copy.source_why is None and copy.around is not None


def _path_to(module, predicate):
    """The ancestors of the first node (pre-order) that satisfies `predicate`, module first."""
    path = []

    def visit(node, trail):
        if predicate(node):
            path.extend(trail + [node])
            return True
        return any(visit(child, trail + [node]) for child in node.children)
    visit(module, [])
    return path


def _copy_path(source):
    module = cst.parse_module(source)
    return _path_to(module, lambda n: isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute)
                    and n.func.attr.value in ("to", "copy_"))


def _read(source, table=None):
    path = _copy_path(source)
    facts_of = _facts(table or {})
    copy = host_copy(path[-1], facts_of, path)
    return first_host_read(copy, path, facts_of, lambda node: {"np.mean": "numpy.mean"}.get(
        cst.Module([]).code_for_node(node)))


def test_the_read_names_how_and_what():
    found = _read("def f(x, device='cuda'):\n    y = x.to('cpu', non_blocking=True)\n    z = y\n    return np.mean(z)\n")
    assert (found.read, found.value) == ("`np.mean(...)`", "z")


def test_a_read_in_the_else_branch_after_a_sync_in_the_if_is_not_reported():
    source = "def f(x, device='cuda'):\n    y = x.to('cpu', non_blocking=True)\n    if a:\n        s.synchronize()\n    else:\n        y.item()\n"
    assert _read(source) is None


def test_a_copy_in_an_if_branch_is_not_followed_into_the_else_branch():
    source = "def f(x, device='cuda'):\n    if a:\n        y = x.to('cpu', non_blocking=True)\n    else:\n        y.item()\n"
    assert _read(source) is None


def test_after_a_loop_the_search_goes_on_after_it():
    source = "def f(x, device='cuda'):\n    for i in r:\n        y = x.to('cpu', non_blocking=True)\n    print(y)\n"
    assert _read(source).read == "`print(...)`"


def test_following_units_stop_at_the_function():
    module = cst.parse_module("def f():\n    a = 1\n    b = 2\nc = 3\n")
    path = _path_to(module, lambda n: isinstance(n, cst.Assign) and cst.Module([]).code_for_node(n) == "a = 1")
    units = [cst.Module([]).code_for_node(u) for u in following_units(path, statement_index(path))]
    assert units == ["b = 2"]
