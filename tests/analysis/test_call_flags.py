"""branches.call_rules_out: a same-file call's literal flags (or the callee's literal defaults) rule out branches."""
import libcst as cst
import pytest

from tensorlint.analysis.branches import call_rules_out, literal_flags
from tensorlint.analysis.walk import children

CALLEE = """\
def convert(t, ret_np=False, fast=True):
    if ret_np:
        return t.numpy()
    return t


def early(t, as_np=False):
    if not as_np:
        return t
    return t.numpy()


def rebound(t, ret_np=False):
    ret_np = ret_np or t.is_sparse
    if ret_np:
        return t.numpy()
    return t


def other(t, fast=True):
    if fast:
        pass
    else:
        return t.numpy()
    return t
"""


def _path_to_numpy(function: cst.FunctionDef):
    """The nodes from `function` down to its `.numpy()` call, as the walker's ancestors hold them."""
    def search(node, path):
        path = path + [node]
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "numpy":
            return path
        for child in children(node):
            found = search(child, path)
            if found:
                return found
        return None
    return search(function, [])


@pytest.mark.parametrize("name, call, ruled_out", [
    pytest.param("convert", "convert(x)", True, id="the default is False"),
    pytest.param("convert", "convert(x, ret_np=False)", True, id="a literal False by keyword"),
    pytest.param("convert", "convert(x, 0)", True, id="a literal 0 by position"),
    pytest.param("convert", "convert(x, True)", False, id="a literal True takes the branch"),
    pytest.param("convert", "convert(x, flag)", False, id="an unknown flag may take it"),
    pytest.param("convert", "convert(*args)", False, id="star arguments may pass anything"),
    pytest.param("convert", "self.convert(x)", False, id="a method call of a function without self"),
    pytest.param("convert", "alias(x)", False, id="called under another name (a partial)"),
    pytest.param("early", "early(x)", True, id="the function returns before the conversion"),
    pytest.param("early", "early(x, as_np=True)", False, id="a literal True gets past the return"),
    pytest.param("rebound", "rebound(x)", False, id="a parameter the body assigns again is no flag"),
    pytest.param("other", "other(x)", True, id="the else branch of a True default"),
    pytest.param("other", "other(x, fast=None)", False, id="a literal None takes the else branch"),
])
def test_call_rules_out(name, call, ruled_out):
    module = cst.parse_module(CALLEE)
    function = next(s for s in module.body if isinstance(s, cst.FunctionDef) and s.name.value == name)
    node = cst.ensure_type(cst.parse_expression(call), cst.Call)
    assert call_rules_out(node, function, [module, *_path_to_numpy(function)]) is ruled_out


def test_literal_flags_tell_calls_apart():
    flags = [literal_flags(cst.ensure_type(cst.parse_expression(c), cst.Call))
             for c in ("f(x)", "f(x, True)", "f(x, flag=False)", "f(x, 'a')")]
    assert flags == [(), ((1, True),), (("flag", False),), ((1, True),)]
