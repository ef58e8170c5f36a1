"""TL502 non-blocking-host-read: what is a read, what synchronises, and where the finding goes."""
import pytest

from tensorlint import check_source, fix_source

H = "import numpy as np\nimport torch\n"
COPY = "import pickle\n" + H + "def f(x, device='cuda'):\n    y = x.to(\"cpu\", non_blocking=True)\n"


def _found(source):
    return [(d.line, d.col + 1) for d in check_source(source, select=["TL502"])]


@pytest.mark.parametrize("tail, position", [
    pytest.param("    return y.item()\n", (6, 12), id="item"),
    pytest.param("    return y.tolist()\n", (6, 12), id="tolist"),
    pytest.param("    return float(y)\n", (6, 12), id="float"),
    pytest.param("    print(f'{y}')\n", (6, 14), id="f-string"),
    pytest.param("    a = y.numpy()\n    return a[0] + 1\n", (7, 12), id="arithmetic through the .numpy() view"),
    pytest.param("    v = y[0]\n    if v:\n        return 1\n", (7, 8), id="a truth test of an index view"),
    pytest.param("    return np.asarray(y).mean()\n", (6, 12), id="np.asarray is a view, .mean() reads"),
    pytest.param("    return pickle.dumps(y)\n", (6, 12), id="pickled"),
    pytest.param("    torch.save(y, 'y.pt')\n", (6, 5), id="saved"),
    pytest.param("    for row in y.numpy():\n        pass\n    return torch.cat([y, y])\n", (8, 12),
                 id="a torch function of a list"),
    pytest.param("    event = make()\n    event.record()\n    return y.sum()\n", (8, 12), id="record is no sync"),
])
def test_reads_before_a_sync_are_reported_at_the_read(tail, position):
    assert _found(COPY + tail) == [position]


@pytest.mark.parametrize("tail", [
    pytest.param("    torch.cuda.current_stream().synchronize()\n    return y.item()\n", id="stream sync"),
    pytest.param("    torch.accelerator.synchronize()\n    return y.item()\n", id="accelerator sync"),
    pytest.param("    while not done.query():\n        pass\n    return y.item()\n", id="event polled"),
    pytest.param("    self_wait_copy()\n    return y.item()\n", id="a helper that says it waits"),
    pytest.param("    n = other.cpu()\n    return y.item()\n", id="a blocking copy of another tensor"),
    pytest.param("    if ready:\n        torch.cuda.synchronize()\n    return y.item()\n", id="a sync on one branch"),
    pytest.param("    return y.shape, y.dtype, len(y)\n", id="metadata only"),
    pytest.param("    rows = list(y)\n    out.append(y)\n    return helper(y)\n", id="handed on, split into views"),
    pytest.param("    def later():\n        return y.item()\n    return later\n", id="a nested function runs later"),
    pytest.param("    del y\n    y = 0\n    return y + 1\n", id="deleted and rebound"),
    pytest.param("    y.copy_(z)\n    torch.cuda.synchronize()\n    return y.item()\n", id="written, then synchronised"),
])
def test_no_read_before_a_sync(tail):
    assert _found(COPY + tail) == []


@pytest.mark.parametrize("source", [
    pytest.param(H + "def f(x, device='cuda'):\n    return x.to(\"cpu\", non_blocking=True)\n", id="returned"),
    pytest.param(H + "def f(x, device='cuda'):\n    x = x.cpu()\n    y = x.to(\"cpu\", non_blocking=True)\n    return y.item()\n",
                 id="the source is on the host"),
    pytest.param(H + "def f(x, device='cuda'):\n    y = x.to(\"cpu\", non_blocking=False)\n    return y.item()\n", id="blocking"),
    pytest.param(H + "def f(x, device='cuda'):\n    y = x.to(\"cuda\", non_blocking=True)\n    return y.item()\n", id="to the device"),
    pytest.param(H + "def f(x, device='cuda'):\n    y = x.to(torch.float16, non_blocking=True)\n    return y.item()\n",
                 id="a dtype, no device"),
    pytest.param(H + "def f(m):\n    m = torch.nn.Linear(2, 2)\n    y = m.to(\"cpu\", non_blocking=True)\n"
                 "    return y(1)\n", id="a module"),
    pytest.param(H + "def f(x, dst):\n    dst[0] = x.to(\"cpu\", non_blocking=True)\n", id="index-put into unknown"),
])
def test_silent_without_evidence(source):
    assert _found(source) == []


def test_message_names_the_copy_the_read_and_the_evidence():
    source = H + "def f(model, x):\n    out = model(x.cuda())\n    y = out.to(\"cpu\", non_blocking=True)\n    return y.item()\n"
    [diagnostic] = check_source(source, select=["TL502"])
    assert diagnostic.message.startswith("`.item()` reads `y` on the host before any synchronisation")
    assert "`out.to(\"cpu\", non_blocking=True)` (line 5)" in diagnostic.message
    assert "`out` comes from `model(x.cuda())` (line 4)" in diagnostic.message
    assert diagnostic.fix is None  # the read is not in the copy's statement


def test_unknown_source_device_is_reported_where_the_code_works_with_an_accelerator_and_says_why():
    [diagnostic] = check_source(COPY + "    return y.item()\n", select=["TL502"])
    assert ("`x` is not shown on the host, and the code around the copy works with an accelerator: `'cuda'` (line 4)"
            in diagnostic.message)
    assert check_source(COPY.replace("def f(x, device='cuda'):", "def f(x):") + "    return y.item()\n",
                        select=["TL502"]) == []


def test_fix_drops_non_blocking_where_the_read_is_in_the_copy_statement():
    source = H + "def f(x, device='cuda'):\n    return x.to(non_blocking=True, device=\"cpu\").sum().item()\n"
    assert fix_source(source, select=["TL502"]).source == source  # unsafe
    fixed = fix_source(source, select=["TL502"], unsafe_fixes=True).source
    assert fixed == H + "def f(x, device='cuda'):\n    return x.to(device=\"cpu\").sum().item()\n"


def test_a_name_bound_to_the_host_device_is_the_host():
    source = H + "def f(x, device='cuda'):\n    cpu = torch.device(\"cpu\")\n    y = x.to(cpu, non_blocking=True)\n    return y.item()\n"
    assert _found(source) == [(6, 12)]


def test_module_level_copies_are_followed_too():
    assert _found(H + "x = torch.ones(2).cuda()\ny = x.to(\"cpu\", non_blocking=True)\nprint(y)\n") == [(5, 1)]


def test_cpu_takes_no_non_blocking_on_torch_2_13():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError):
        torch.ones(1).cpu(non_blocking=True)
    tensor = torch.ones(3)
    assert tensor.to("cpu", non_blocking=True) is tensor  # on the host: no copy, nothing in flight
