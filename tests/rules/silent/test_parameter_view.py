"""TL504 write-through-parameter-view: views, writes, and the runtime facts the rule rests on."""
import pytest

from tensorlint import check_source

H = "import numpy as np\nimport torch\nmodel = torch.nn.Linear(2, 2)\n"


def _found(source):
    return [(d.line, d.col + 1) for d in check_source(source, select=["TL504"])]


@pytest.mark.parametrize("view, write", [
    pytest.param("w = model.weight.detach().numpy()", "w[w < 0] = 0", id="a masked item assignment"),
    pytest.param("w = model.weight.detach().numpy()", "w.put([0], 1.0)", id="put"),
    pytest.param("w = model.weight.detach().T.numpy()", "w += 1", id=".T is a view"),
    pytest.param("w = model.weight.detach()[0].numpy()", "w -= 1", id="a row of the parameter"),
    pytest.param("w = model.weight.detach().numpy(force=True)", "w *= 0", id="force=True on the host"),
    pytest.param("w = np.asarray(model.weight.data)", "np.random.shuffle(w)", id="shuffled"),
    pytest.param("w = model.weight.detach().numpy()\nv = w.T", "v[0] = 1", id="through a second view"),
    pytest.param("w = model.state_dict()['weight'].numpy()", "w.fill(0)", id="state_dict item"),
    pytest.param("sd = model.state_dict()\nfor t in sd.values():\n    a = t.numpy()", "    a /= 2",
                 id="state_dict values"),
])
def test_writes_through_a_view_are_reported_at_the_view(view, write):
    found = _found(H + view + "\n" + write + "\n")
    assert len(found) == 1


@pytest.mark.parametrize("source", [
    pytest.param(H + "w = model.weight.detach().clone().numpy()\nw *= 2\n", id="clone"),
    pytest.param(H + "w = model.weight.detach().numpy()\nw = w + 1\nw *= 2\n", id="rebound to a new array"),
    pytest.param(H + "w = model.weight.detach().numpy()\nv = w[np.argsort(w[:, 0])]\nv *= 2\n", id="fancy index"),
    pytest.param(H + "w = model.weight.detach().to(torch.float64).numpy()\nw *= 2\n", id="a dtype conversion"),
    pytest.param(H + "w = np.asarray(model.weight.detach(), dtype=np.float64)\nw *= 2\n", id="asarray with a dtype"),
    pytest.param(H + "w = model.weight.detach().numpy()\nreturn_value = w.sum()\n", id="read only"),
    pytest.param(H + "def f():\n    return model.weight.detach().numpy()\n", id="returned"),
    pytest.param(H + "opt = torch.optim.SGD(model.parameters(), lr=1)\nsd = opt.state_dict()\n"
                 "for v in sd.values():\n    a = np.asarray(v)\n    a *= 2\n", id="an optimizer's state_dict"),
    pytest.param(H + "sd = model.state_dict()\nsd = {}\nw = sd['weight'].numpy()\nw *= 2\n", id="sd rebound"),
    pytest.param(H + "def f(sd):\n    w = sd['weight'].numpy()\n    w *= 2\n", id="a dict of unknown origin"),
])
def test_silent(source):
    assert _found(source) == []


def test_message_names_the_view_the_tensor_and_the_write():
    [diagnostic] = check_source(H + "w = model.weight.detach().numpy()\nw *= 2\n", select=["TL504"])
    assert diagnostic.message.startswith("`.numpy()` makes a NumPy view of the parameter `model.weight`")
    assert "`w *= 2` (line 5) writes through it" in diagnostic.message
    assert diagnostic.fix is not None and not diagnostic.fix.is_safe


def test_cpu_in_the_chain_is_reported_only_for_a_model_on_the_host():
    host = H + "w = model.weight.detach().cpu().numpy()\nw *= 2\n"
    [diagnostic] = check_source(host, select=["TL504"])
    assert "`.cpu()` returns the same tensor here: the model is on the host" in diagnostic.message
    assert _found(host.replace("model = torch.nn.Linear(2, 2)\n", "model = torch.nn.Linear(2, 2).cuda()\n")) == []


# -- the runtime facts (torch 2.13, NumPy 2.4) ---------------------------------------------------------------
torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")


@pytest.mark.parametrize("view", [
    pytest.param(lambda m: m.weight.detach().numpy(), id="detach().numpy()"),
    pytest.param(lambda m: m.weight.data.numpy(), id="data.numpy()"),
    pytest.param(lambda m: m.weight.detach().cpu().numpy(), id="cpu() on the host"),
    pytest.param(lambda m: m.weight.detach().numpy(force=True), id="numpy(force=True) on the host"),
    pytest.param(lambda m: np.asarray(m.weight.detach()), id="np.asarray"),
    pytest.param(lambda m: m.state_dict()["weight"].numpy(), id="state_dict()"),
    pytest.param(lambda m: m.weight.detach().T.numpy(), id=".T"),
])
def test_these_views_share_the_parameters_memory(view):
    model = torch.nn.Linear(2, 2)
    array = view(model)
    array[...] = 7.0
    assert bool((model.weight == 7.0).all())


@pytest.mark.parametrize("copy", [
    pytest.param(lambda m: m.weight.detach().numpy().copy(), id=".copy()"),
    pytest.param(lambda m: np.array(m.weight.detach()), id="np.array"),
    pytest.param(lambda m: m.weight.detach().numpy().astype(np.float32), id="astype, even to the same dtype"),
    pytest.param(lambda m: m.weight.detach().clone().numpy(), id="clone"),
])
def test_these_copy(copy):
    model = torch.nn.Linear(2, 2)
    array = copy(model)
    array[...] = 7.0
    assert not bool((model.weight == 7.0).any())
