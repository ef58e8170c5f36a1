"""InputFlow (analysis/peers.py): which values of a function derive from its parameters, and its host moves."""
import libcst as cst
import pytest

from tensorlint.analysis.facts import NOT_TENSOR, PARAMETER, container_of
from tensorlint.analysis.peers import InputFlow, PeerIndex


def _flow(source: str):
    module = cst.parse_module(source)
    function = next(s for s in module.body if isinstance(s, cst.FunctionDef))
    return InputFlow(function), function


def _expression(function: cst.FunctionDef, code: str) -> cst.BaseExpression:
    """The expression of `return <code>` in the function body (the last statement)."""
    statement = function.body.body[-1].body[0]
    assert isinstance(statement, cst.Return), code
    return statement.value


@pytest.mark.parametrize("source, derived", [
    pytest.param("def f(u, props):\n    for k, v in props.items():\n        pass\n    c = u.mean(dim=1)[0] + 1\n"
                 "    return c\n", {"u", "props", "k", "v", "c"}, id="methods, subscripts, operators, for targets"),
    pytest.param("def f(model, x):\n    out = model(x)\n    y = helper(x)\n    return y\n", {"model", "x"},
                 id="what another call returns is not derived"),
    pytest.param("def f(self, x):\n    self.y = x\n    z = self.w\n    return z\n", {"x"},
                 id="self is no input and attributes are no locals"),
])
def test_derived_names(source, derived):
    flow, _ = _flow(source)
    assert flow.derived == derived


@pytest.mark.parametrize("source, peer", [
    pytest.param("def f(a, b):\n    x = a.cpu()\n    return b\n", "a.cpu()", id="another parameter moved to the host"),
    pytest.param("def f(a, b):\n    x = a.to('cpu')\n    return b.view(-1)\n", "a.to('cpu')", id="to('cpu') counts"),
    pytest.param("def f(a, b):\n    x = a.cpu()\n    return a\n", None, id="the same name: says nothing new"),
    pytest.param("def f(a, b):\n    i = a.cpu()\n    return i + b\n", None, id="derived from a hosted value"),
    pytest.param("def f(a, b, d):\n    z = a.to(d)\n    y = z.cpu()\n    return b\n", None,
                 id="the function moved the peer to a device itself"),
    pytest.param("def f(a, g):\n    x = a.cpu()\n    b = g()\n    return b\n", None, id="not derived from the inputs"),
    pytest.param("def f(a, b):\n    if isinstance(a, T):\n        x = a.cpu()\n    return b\n", None,
                 id="a move inside a type dispatch, a site outside it"),
    pytest.param("def f(a, b):\n    def g():\n        return a.cpu()\n    return b\n", None,
                 id="a nested function's move is not this function's"),
])
def test_peer_of(source, peer):
    flow, function = _flow(source)
    found = flow.peer_of(_expression(function, source))
    assert (cst.Module([]).code_for_node(found) if found is not None else None) == peer


def test_named_parameter_pairs_hold_tensors():
    """`named_parameters()` yields `(name, parameter)` pairs: a container holding tensors at a tuple position."""
    pairs = container_of(container_of(None, (NOT_TENSOR, PARAMETER)))
    assert pairs.holds_tensors
    assert not container_of(container_of(None, (NOT_TENSOR, NOT_TENSOR))).holds_tensors


@pytest.mark.parametrize("source, in_view", [
    pytest.param("def f(a):\n    pass\ndef g(x):\n    return f(x)\n", True, id="called directly"),
    pytest.param("def f(a):\n    pass\ndef g(pool, x):\n    pool.submit(f, x)\n", True,
                 id="handed to an executor with its arguments"),
    pytest.param("def f(a):\n    pass\n", False, id="no caller in the module: another module calls it"),
    pytest.param("def f(a):\n    pass\ndef g(x):\n    f(x)\n    return map(f, x)\n", False,
                 id="also passed as a value: called out of view"),
    pytest.param("__all__ = ['f']\ndef f(a):\n    pass\ndef g(x):\n    return f(x)\n", False,
                 id="exported by __all__"),
    pytest.param("def f(a):\n    pass\ndef g(x):\n    h = f\n    return h(x)\n", False, id="bound to another name"),
])
def test_callers_in_view(source, in_view):
    module = cst.parse_module(source)
    function = next(s for s in module.body if isinstance(s, cst.FunctionDef) and s.name.value == "f")
    assert PeerIndex().callers_in_view(module, function) is in_view


def test_a_nested_function_has_callers_out_of_view():
    module = cst.parse_module("def g(x):\n    def f(a):\n        pass\n    return f(x)\n")
    nested = module.body[0].body.body[0]
    assert PeerIndex().callers_in_view(module, nested) is False
