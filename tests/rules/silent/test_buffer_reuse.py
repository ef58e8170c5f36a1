"""TL503 refilled-buffer-kept: the finding, its message and fix, and the runtime facts it rests on (torch 2.13,
NumPy 2.4: which constructions and views share a NumPy array's memory)."""
import pytest

from tensorlint import check_source, fix_source

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")

H = "import numpy as np\nimport torch\n"
LOOP = H + "def batch(paths, load):\n    buf = np.empty((2, 3), dtype=np.float32)\n    out = []\n    for p in paths:\n"


def _tl503(source):
    return [d for d in check_source(source) if d.code == "TL503"]


def test_the_message_names_the_buffer_origin_the_refill_and_the_keeping():
    source = LOOP + "        buf[:] = load(p)\n        out.append(torch.from_numpy(buf))\n    return out\n"
    [found] = _tl503(source)
    assert (found.line, found.col) == (8, 19)
    assert found.message == (
        "`torch.from_numpy(buf)` shares memory with the NumPy array `buf`, which is created by "
        "`np.empty((2, 3), dtype=np.float32)` (line 4) outside the loop; the loop refills it in place "
        "(`buf[:] = ...`, line 7) and keeps the tensor (`out.append(...)`, line 8): every kept tensor ends up "
        "holding the last values")
    assert found.fix.title == "Pass `buf.copy()`" and found.fix.is_safe


@pytest.mark.parametrize("line, fixed", [
    pytest.param("out.append(torch.from_numpy(buf))", "out.append(torch.from_numpy(buf.copy()))", id="from_numpy"),
    pytest.param("out.append(torch.as_tensor(buf, device='cpu'))", "out.append(torch.as_tensor(buf.copy(), device='cpu'))",
                 id="as_tensor on the CPU"),
    pytest.param("out.append(torch.asarray(buf, copy=False)[0])", "out.append(torch.asarray(buf.copy(), copy=False)[0])",
                 id="asarray without a copy"),
])
def test_the_fix_passes_a_copy_byte_exact_and_idempotent(line, fixed):
    source = LOOP + f"        np.copyto(buf, load(p))\n        {line}\n    return out\n"
    expected = LOOP + f"        np.copyto(buf, load(p))\n        {fixed}\n    return out\n"
    result = fix_source(source, select=["TL503"]).source
    assert result == expected
    assert fix_source(result, select=["TL503"]).source == result
    assert _tl503(result) == []


@pytest.mark.parametrize("line", [
    pytest.param("out.append(torch.from_numpy(buf).clone())", id="clone"),
    pytest.param("out.append(torch.tensor(buf))", id="torch.tensor copies"),
    pytest.param("out.append(torch.from_numpy(buf).cuda())", id="a device copy"),
    pytest.param("out.append(torch.from_numpy(buf).numpy())", id="back to NumPy: not a tensor kept"),
    pytest.param("yield torch.from_numpy(buf)", id="yielded: the consumer decides"),
    pytest.param("out.append(float(torch.from_numpy(buf).sum()))", id="a number"),
    pytest.param("self_out = torch.from_numpy(buf)", id="only the last one kept"),
])
def test_look_alikes_are_silent(line):
    assert _tl503(LOOP + f"        buf[:] = load(p)\n        {line}\n    return out\n") == []


# -- runtime facts (torch 2.13.0, NumPy 2.4.6) ------------------------------------------------------
def _shares(make):
    buf = np.zeros(3, dtype=np.float32)
    tensor = make(buf)
    buf[:] = 7
    return bool((tensor.reshape(-1) == 7).all())


@pytest.mark.parametrize("make", [
    pytest.param(torch.from_numpy, id="from_numpy"),
    pytest.param(torch.as_tensor, id="as_tensor"),
    pytest.param(torch.asarray, id="asarray"),
    pytest.param(lambda b: torch.as_tensor(b, dtype=torch.float32), id="as_tensor, same dtype"),
    pytest.param(lambda b: torch.as_tensor(b, device="cpu"), id="as_tensor, cpu"),
    pytest.param(lambda b: torch.asarray(b, copy=False), id="asarray copy=False"),
    pytest.param(lambda b: torch.from_numpy(b).view(1, 3).unsqueeze(0).reshape(3), id="views"),
    pytest.param(lambda b: torch.from_numpy(b).to("cpu").cpu().detach().contiguous(), id="CPU moves are no-ops"),
    pytest.param(lambda b: torch.from_numpy(b)[1:], id="basic indexing"),
])
def test_these_share_the_arrays_memory(make):
    assert _shares(make)


@pytest.mark.parametrize("make", [
    pytest.param(lambda b: torch.from_numpy(b.copy()), id="the fix"),
    pytest.param(torch.tensor, id="torch.tensor"),
    pytest.param(lambda b: torch.from_numpy(b).clone(), id="clone"),
    pytest.param(lambda b: torch.as_tensor(b, dtype=torch.float64), id="another dtype"),
    pytest.param(lambda b: torch.asarray(b, copy=True), id="copy=True"),
    pytest.param(lambda b: torch.from_numpy(b.astype(np.float64)).float(), id=".float() of float64"),
    pytest.param(lambda b: torch.from_numpy(b)[torch.tensor([0, 1, 2])], id="advanced indexing"),
    pytest.param(lambda b: torch.from_numpy(b) * 1, id="arithmetic"),
])
def test_these_copy(make):
    assert not _shares(make)


def test_the_hazard_every_kept_tensor_holds_the_last_refill_and_the_fix_keeps_each():
    buf = np.empty(2, dtype=np.float32)
    kept, fixed = [], []
    for value in (1.0, 2.0, 3.0):
        buf[:] = value
        kept.append(torch.from_numpy(buf))
        fixed.append(torch.from_numpy(buf.copy()))
    assert [t.tolist() for t in kept] == [[3.0, 3.0]] * 3
    assert [t.tolist() for t in fixed] == [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]
