"""analysis/views.py: which NumPy arrays are views of a model's tensors, and the first write through one."""
import libcst as cst
import pytest

from tensorlint.analysis.facts import BUILT_MODULE, MODULE, PARAMETER, UNKNOWN, Facts, YES, NO
from tensorlint.analysis.views import first_write, parameter_view

QUALIFIED = {"np.asarray": "numpy.asarray", "np.copyto": "numpy.copyto", "np.clip": "numpy.clip"}


def _facts(table):
    def facts_of(node):
        return table.get(cst.Module([]).code_for_node(node), UNKNOWN)
    return facts_of


def _qualified(node):
    return QUALIFIED.get(cst.Module([]).code_for_node(node))


def _path(source, code):
    module = cst.parse_module(source)
    path = []

    def visit(node, trail):
        if isinstance(node, cst.Call) and cst.Module([]).code_for_node(node) == code:
            path.extend(trail + [node])
            return True
        return any(visit(child, trail + [node]) for child in node.children)
    visit(module, [])
    return path


def _view(source, code, table):
    path = _path(source, code)
    return parameter_view(path[-1], _facts(table), _qualified, path), path


PARAM = {"m.weight": PARAMETER, "m": MODULE}


@pytest.mark.parametrize("code, kind", [
    pytest.param("m.weight.detach().numpy()", "parameter", id="detach"),
    pytest.param("m.weight.data.numpy()", "parameter", id="data"),
    pytest.param("np.asarray(m.weight.detach())", "parameter", id="asarray"),
    pytest.param("m.weight.detach()[0, :].numpy()", "parameter", id="basic index"),
    pytest.param("m.weight.detach().clone().numpy()", None, id="clone"),
    pytest.param("m.weight.detach()[idx].numpy()", None, id="an index that may be an array"),
    pytest.param("m.weight.detach().cpu().numpy()", None, id="cpu of a model not shown on the host"),
    pytest.param("m.weight.detach().numpy(1)", None, id="not numpy()"),
])
def test_parameter_view(code, kind):
    view, _ = _view(f"w = {code}\n", code, PARAM)
    assert (view.kind if view is not None else None) == kind


def test_cpu_of_a_model_built_here_is_the_same_memory():
    table = {"m.weight": PARAMETER, "m": BUILT_MODULE}
    view, _ = _view("w = m.weight.detach().cpu().numpy()\n", "m.weight.detach().cpu().numpy()", table)
    assert view is not None and view.through_cpu


def test_state_dict_items_need_a_module_and_one_binding():
    tensor = Facts(tensor=YES, grad=NO, device=NO)
    code = "sd['w'].numpy()"
    table = {"sd['w']": tensor, "m": MODULE}
    view, _ = _view("sd = m.state_dict()\nw = sd['w'].numpy()\n", code, table)
    assert view is not None and view.kind == "`state_dict()` tensor"
    assert _view("sd = m.state_dict()\nsd = other\nw = sd['w'].numpy()\n", code, table)[0] is None
    assert _view("sd = o.state_dict()\nw = sd['w'].numpy()\n", code, {"sd['w']": tensor, "o": Facts(module=NO)})[0] is None


@pytest.mark.parametrize("tail, write", [
    pytest.param("w *= 2\n", "w *= 2", id="augmented"),
    pytest.param("w[0] = 1\n", "w[0] = 1", id="item"),
    pytest.param("v = w.T\nv.fill(0)\n", "v.fill(0)", id="a view's method"),
    pytest.param("np.copyto(w, 0)\n", "np.copyto(w, 0)", id="copyto"),
    pytest.param("np.clip(w, 0, 1, out=w)\n", "np.clip(w, 0, 1, out=w)", id="out="),
    pytest.param("w = w * 2\nw *= 2\n", None, id="rebound first"),
    pytest.param("v = w.copy()\nv *= 2\n", None, id="a copy"),
    pytest.param("def g():\n    w[0] = 1\n", None, id="a nested function"),
])
def test_first_write(tail, write):
    code = "m.weight.detach().numpy()"
    source = f"def f(m):\n    w = {code}\n" + "".join("    " + line + "\n" for line in tail.splitlines())
    view, path = _view(source, code, PARAM)
    found = first_write(view, path, _qualified)
    assert (cst.Module([]).code_for_node(found.node).strip() if found else None) == write
