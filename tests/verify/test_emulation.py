"""The CUDA emulation of tensorlint.verify.emulation: real CUDA's errors, copies, autograd and syncs.

Expected messages are the literal strings of /work/shared/FACTS.md §1; where a GPU is present they
are also compared with a real CUDA tensor's. The step-loop tests run the loops of
tests/data/step_loops.py (a TL401 hazard and the rewrite its message suggests) and count the host
syncs per step.
"""
import copy
import importlib.util
import io
import operator
import subprocess
import sys
import threading
import warnings
from contextlib import redirect_stdout
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")

from tensorlint.verify.emulated_tensor import (  # noqa: E402  (needs torch)
    CUDA_NUMPY_MESSAGE, DEVICE_MISMATCH_MESSAGE, EmulatedCudaTensor, strict_devices,
)
from tensorlint.verify.emulation import emulate_module, to_emulated_cuda  # noqa: E402
from tensorlint.verify.sync_count import count_syncs, emulated_synchronize  # noqa: E402

DEVICE_ERROR = ("can't convert cuda:0 device type tensor to numpy. "
                "Use Tensor.cpu() to copy the tensor to host memory first.")
GRAD_ERROR = "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
STEP_LOOPS_PATH = Path(__file__).resolve().parents[1] / "data" / "step_loops.py"
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a real CUDA device")


def _load_step_loops():
    spec = importlib.util.spec_from_file_location("tensorlint_test_step_loops", STEP_LOOPS_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


step_loops = _load_step_loops()


def emulated(values=(1.0, -2.0, 0.0, 3.5), **kwargs):
    return to_emulated_cuda(torch.tensor(values, **kwargs))


def _error(action):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NumPy 2's "__array__ implementation doesn't accept a copy keyword"
        with pytest.raises((TypeError, RuntimeError)) as caught:
            action()
    return caught.type, str(caught.value)


NUMPY_SINKS = {
    ".numpy()": lambda t: t.numpy(),
    "np.asarray": np.asarray,
    "np.array": np.array,
    "np.isnan": np.isnan,
    "np.vstack(list)": lambda t: np.vstack([t, t]),
}


# -- the errors of tensor_numpy.cpp ---------------------------------------------------------------
def test_message_constant_is_the_facts_literal():
    assert CUDA_NUMPY_MESSAGE == DEVICE_ERROR


@pytest.mark.parametrize("sink", NUMPY_SINKS.values(), ids=list(NUMPY_SINKS))
def test_numpy_sinks_raise_the_cuda_type_error(sink):
    assert _error(lambda: sink(emulated())) == (TypeError, DEVICE_ERROR)


@pytest.mark.parametrize("sink", NUMPY_SINKS.values(), ids=list(NUMPY_SINKS))
def test_device_check_comes_before_the_grad_check(sink):
    leaf = emulated(requires_grad=True)
    assert _error(lambda: sink(leaf)) == (TypeError, DEVICE_ERROR)
    assert _error(lambda: sink(leaf * 2)) == (TypeError, DEVICE_ERROR)
    with torch.no_grad():  # the grad check is skipped there; the device check is not
        assert _error(lambda: sink(leaf)) == (TypeError, DEVICE_ERROR)


@pytest.mark.parametrize("sink", NUMPY_SINKS.values(), ids=list(NUMPY_SINKS))
def test_after_cpu_a_grad_tensor_raises_the_real_grad_error(sink):
    leaf = emulated(requires_grad=True)
    assert _error(lambda: sink(leaf.cpu())) == (RuntimeError, GRAD_ERROR)
    assert _error(lambda: sink(leaf.to("cpu"))) == (RuntimeError, GRAD_ERROR)


@pytest.mark.parametrize("chain", [
    lambda t: t.detach().cpu().numpy(),
    lambda t: t.cpu().detach().numpy(),
    lambda t: t.detach().to("cpu").numpy(),
    lambda t: np.asarray(t.detach().cpu()),
    lambda t: t.numpy(force=True),
], ids=["detach.cpu", "cpu.detach", "detach.to_cpu", "asarray(detach.cpu)", "force"])
def test_detach_and_cpu_convert_with_the_same_values(chain):
    values = [1.0, -2.0, 0.0, 3.5]
    array = chain(emulated(values, requires_grad=True))
    assert isinstance(array, np.ndarray)
    assert array.dtype == np.float32
    assert array.tolist() == values


def test_numpy_force_returns_a_copy():
    t = emulated()
    array = t.numpy(force=True)
    array[0] = 100.0
    assert t[0].item() == 1.0


def test_force_still_fails_on_bfloat16_like_the_real_one():
    t = emulated(dtype=torch.bfloat16)
    kind, message = _error(lambda: t.numpy(force=True))
    assert kind is TypeError and "BFloat16" in message
    assert t.float().numpy(force=True).tolist() == [1.0, -2.0, 0.0, 3.5]


@needs_cuda
@pytest.mark.parametrize("sink", NUMPY_SINKS.values(), ids=list(NUMPY_SINKS))
def test_messages_equal_a_real_cuda_tensors(sink):
    real = torch.tensor([1.0, -2.0, 0.0, 3.5], device="cuda")
    assert _error(lambda: sink(emulated())) == _error(lambda: sink(real))
    real_grad = real.clone().requires_grad_(True)
    emulated_grad = emulated(requires_grad=True)
    assert _error(lambda: sink(emulated_grad)) == _error(lambda: sink(real_grad))
    assert _error(lambda: sink(emulated_grad.cpu())) == _error(lambda: sink(real_grad.cpu()))


@needs_cuda
def test_repr_equals_a_real_cuda_tensors():
    for values, kwargs in [([1.0, 2.5], {}), ([[1, 2], [3, 4]], {"dtype": torch.int32}), (0.25, {})]:
        real = torch.tensor(values, device="cuda", **kwargs)
        assert repr(to_emulated_cuda(torch.tensor(values, **kwargs))) == repr(real)
    assert repr(emulated(requires_grad=True)) == repr(torch.tensor([1.0, -2.0, 0.0, 3.5], device="cuda",
                                                                   requires_grad=True))


# -- device reporting ---------------------------------------------------------------------------
def test_reports_cuda():
    t = emulated()
    assert isinstance(t, EmulatedCudaTensor)
    assert t.device == torch.device("cuda", 0) and str(t.device) == "cuda:0"
    assert t.device.type == "cuda" and t.device.index == 0
    assert t.is_cuda is True and t.is_cpu is False
    assert t.get_device() == 0
    assert t.type() == "torch.cuda.FloatTensor"
    assert repr(t) == "tensor([ 1.0000, -2.0000,  0.0000,  3.5000], device='cuda:0')"
    assert repr(emulated(requires_grad=True).sum()) == "tensor(2.5000, device='cuda:0', grad_fn=<SumBackward0>)"
    assert f"{t.sum():.2f}" == "2.50"


def test_parameter_repr_reads_like_a_cuda_parameter():
    p = to_emulated_cuda(torch.nn.Parameter(torch.tensor([1.0, 2.0])))
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], device='cuda:0', requires_grad=True)"


# -- .cpu() copies ------------------------------------------------------------------------------
CPU_MOVES = {
    "cpu()": lambda t: t.cpu(),
    "to('cpu')": lambda t: t.to("cpu"),
    "to(torch.device('cpu'))": lambda t: t.to(torch.device("cpu")),
    "to(device='cpu')": lambda t: t.to(device="cpu"),
    "to(plain cpu tensor)": lambda t: t.to(torch.zeros(1)),
}


@pytest.mark.parametrize("move", CPU_MOVES.values(), ids=list(CPU_MOVES))
def test_cpu_returns_a_plain_copy(move):
    t = emulated()
    host = move(t)
    assert type(host) is torch.Tensor
    assert host.device == torch.device("cpu") and not host.is_cuda
    host[0] = 100.0
    assert t[0].item() == 1.0  # not sharing memory
    assert host.numpy().tolist() == [100.0, -2.0, 0.0, 3.5]


def test_cpu_keeps_dtype_conversion():
    host = emulated().to("cpu", torch.float64)
    assert type(host) is torch.Tensor and host.dtype == torch.float64


@pytest.mark.parametrize("move", CPU_MOVES.values(), ids=list(CPU_MOVES))
def test_gradients_flow_through_cpu(move):
    leaf = emulated(requires_grad=True)
    host = move(leaf)
    assert type(host.grad_fn).__name__ == "ToCopyBackward0"  # what a real device-to-host copy records
    (host * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert isinstance(leaf.grad, EmulatedCudaTensor)
    assert leaf.grad.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert leaf.grad is leaf.grad


def test_to_cuda_stays_emulated_without_a_copy():
    t = emulated()
    assert t.cuda() is t
    assert t.to("cuda") is t
    assert t.to(torch.device("cuda", 0)) is t
    assert t.to(t) is t
    double = t.to(torch.float64)
    assert isinstance(double, EmulatedCudaTensor) and double.dtype == torch.float64
    half = t.to("cuda", torch.float16)
    assert isinstance(half, EmulatedCudaTensor) and half.dtype == torch.float16
    copied = t.to("cuda", copy=True)
    assert isinstance(copied, EmulatedCudaTensor) and copied is not t


# -- results stay emulated ----------------------------------------------------------------------
def test_op_results_stay_emulated():
    t = emulated(requires_grad=True)
    for result in [t + 1, t * t, t.sum(), t.mean(), t.exp(), t.detach(), t.clone(), t.float(), t.double(),
                   t.view(2, 2), t[1:], t.data, torch.zeros_like(t), torch.relu(t), t @ t, 2.0 - t]:
        assert isinstance(result, EmulatedCudaTensor), result
        assert result.device == torch.device("cuda", 0)
    values, indices = torch.max(t.view(2, 2), dim=0)
    assert isinstance(values, EmulatedCudaTensor) and isinstance(indices, EmulatedCudaTensor)
    assert all(isinstance(piece, EmulatedCudaTensor) for piece in torch.split(t, 1))
    assert all(isinstance(piece, EmulatedCudaTensor) for piece in torch.sort(t))
    assert type(torch.zeros_like(t, device="cpu")) is torch.Tensor


def test_results_keep_plain_autograd_history():
    t = emulated(requires_grad=True)
    product = t * 2
    assert type(product.grad_fn).__name__ == "MulBackward0"  # no extra alias node
    assert not product.is_leaf and product.requires_grad
    detached = product.detach()
    assert detached.is_leaf and not detached.requires_grad and detached.grad_fn is None


def test_plain_inputs_are_never_turned_emulated():
    plain = torch.tensor([1.0, 2.0])
    emulated(values=(1.0, 2.0)).add(plain)
    assert type(plain) is torch.Tensor


# -- leafness -----------------------------------------------------------------------------------
def test_requires_grad_leaf_stays_a_leaf():
    original = torch.tensor([1.0, 2.0], requires_grad=True)
    t = to_emulated_cuda(original)
    assert t.is_leaf and t.requires_grad and t.grad_fn is None
    (t * 3).sum().backward()
    assert t.grad.tolist() == [3.0, 3.0]
    assert original.grad is None  # a new leaf, as a tensor created on the GPU


def test_plain_tensor_stays_a_non_grad_leaf():
    t = to_emulated_cuda(torch.tensor([1.0, 2.0]))
    assert t.is_leaf and not t.requires_grad and t.grad_fn is None


def test_non_leaf_keeps_its_history_behind_a_copy_node():
    leaf = torch.tensor([1.0, 2.0], requires_grad=True)
    product = leaf * 2
    t = to_emulated_cuda(product)
    assert not t.is_leaf and t.requires_grad
    assert type(t.grad_fn).__name__ == "ToCopyBackward0"  # what product.cuda() records
    assert t.grad_fn.next_functions[0][0] is product.grad_fn
    t.sum().backward()
    assert leaf.grad.tolist() == [2.0, 2.0]


def test_copy_and_share():
    original = torch.tensor([1.0, 2.0])
    to_emulated_cuda(original)[0] = 9.0
    assert original[0].item() == 1.0
    to_emulated_cuda(original, copy=False)[0] = 9.0
    assert original[0].item() == 9.0
    already = emulated()
    assert to_emulated_cuda(already) is already


def test_parameters_stay_parameters():
    model = emulate_module(torch.nn.Linear(4, 2))
    for parameter in model.parameters():
        assert isinstance(parameter, EmulatedCudaTensor)
        assert isinstance(parameter, torch.nn.Parameter)
        assert parameter.is_leaf and parameter.requires_grad
        assert parameter.device == torch.device("cuda", 0)
    assert len(list(model.parameters())) == 2


def test_emulate_module_keeps_parameter_identity_like_cuda():
    model = torch.nn.Linear(4, 2)
    weight = model.weight
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)  # built before, as with model.cuda()
    model(torch.randn(3, 4)).sum().backward()
    emulate_module(model)
    assert model.weight is weight and isinstance(weight, EmulatedCudaTensor)
    assert isinstance(weight.grad, EmulatedCudaTensor)
    before = weight.detach().clone()
    optimizer.zero_grad()
    model(to_emulated_cuda(torch.randn(3, 4))).sum().backward()
    optimizer.step()
    assert not torch.equal(before, weight.detach())
    assert model.cuda() is model and model.to("cuda").weight is weight


def test_module_cpu_moves_back_to_plain_parameters():
    model = emulate_module(torch.nn.Linear(4, 2))
    model(to_emulated_cuda(torch.randn(3, 4))).sum().backward()
    with count_syncs() as counter:
        model.cpu()
    assert counter.by_kind == {"cpu": 4}  # two parameters and their gradients are copied to the host
    for parameter in model.parameters():
        assert type(parameter) is torch.nn.Parameter and parameter.device == torch.device("cpu")
        assert type(parameter.grad) is torch.Tensor
    assert model.weight.detach().numpy().shape == (2, 4)


# -- counting -----------------------------------------------------------------------------------
def _if_condition(t):
    if (t != 0).all():
        return True
    return False


def _print(t):
    with redirect_stdout(io.StringIO()):
        print(t)


def _assign_masked_tensor(t):
    t[t > 0] = to_emulated_cuda(torch.tensor([7.0, 8.0]))  # a tensor value: index_put_ with nonzero


BLOCKING = [
    ("item", lambda t: t.sum().item()),
    ("float", lambda t: float(t.sum())),
    ("int", lambda t: int(t.sum())),
    ("bool", lambda t: bool(t.sum() > 0)),
    ("bool", _if_condition),
    ("index", lambda t: operator.index(t.long()[0])),
    ("format", lambda t: f"{t.sum()}"),
    ("format", lambda t: f"{t.sum():.4f}"),
    ("format", lambda t: format(t, "")),
    ("tolist", lambda t: t.tolist()),
    ("repr", repr),
    ("repr", str),
    ("repr", _print),
    ("cpu", lambda t: t.cpu()),
    ("cpu", lambda t: t.to("cpu")),
    ("cpu", lambda t: t.to(torch.device("cpu"))),
    ("numpy", lambda t: t.numpy(force=True)),
    ("equal", lambda t: torch.equal(t, t)),
    ("equal", lambda t: t.equal(t)),
    ("nonzero", lambda t: t.nonzero()),
    ("nonzero", lambda t: torch.nonzero(t)),
    ("where", lambda t: torch.where(t > 0)),
    ("mask_index", lambda t: t[t > 0]),
    ("masked_select", lambda t: t.masked_select(t > 0)),
    ("masked_select", lambda t: torch.masked_select(t, t > 0)),
    ("unique", lambda t: t.unique()),
    ("unique", lambda t: torch.unique(t)),
    ("allclose", lambda t: torch.allclose(t, t)),
    ("contains", lambda t: 1.0 in t),
    ("mask_assign", _assign_masked_tensor),
    ("synchronize", lambda t: emulated_synchronize()),
]


@pytest.mark.parametrize("kind, action", BLOCKING, ids=[f"{kind}-{i}" for i, (kind, _) in enumerate(BLOCKING)])
def test_each_blocking_operation_counts_one_sync(kind, action):
    t = emulated(requires_grad=kind not in ("mask_assign",))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # float(t) of a grad tensor warns, as it does on CUDA
        with count_syncs() as counter:
            action(t)
    assert counter.total == 1, counter
    assert counter.by_kind == {kind: 1}


NON_BLOCKING = [
    lambda t: t.detach(), lambda t: t.clone(), lambda t: t.float(), lambda t: t.double(),
    lambda t: t + 1, lambda t: t * t, lambda t: t.sum(), lambda t: t.mean(), lambda t: t.max(),
    lambda t: t > 0, lambda t: (t > 0).all(), lambda t: t.argmax(), lambda t: t.to("cuda"), lambda t: t.cuda(),
    lambda t: t.to(torch.float64), lambda t: torch.where(t > 0, t, 0.0), lambda t: t.masked_fill(t > 0, 0.0),
    lambda t: t[1:], lambda t: t[t.long().abs()], lambda t: t.device, lambda t: t.shape, len,
    lambda t: t.sum().backward(), lambda t: t.to("cpu", non_blocking=True),
    lambda t: _error(t.numpy), lambda t: _error(lambda: np.asarray(t)),
]


@pytest.mark.parametrize("action", NON_BLOCKING)
def test_non_blocking_operations_count_nothing(action):
    with count_syncs() as counter:
        action(emulated(requires_grad=True))
    assert counter.total == 0, counter


def test_masked_fill_by_assignment_is_not_a_sync():
    t = emulated()
    with count_syncs() as counter:
        t[t > 0] = 0.0  # a masked_fill on CUDA
    assert counter.total == 0
    assert t.tolist() == [0.0, -2.0, 0.0, 0.0]


def test_repr_counts_once_even_for_big_tensors():
    t = to_emulated_cuda(torch.arange(5000.0).reshape(50, 100))
    with count_syncs() as counter:
        text = repr(t)
    assert "..." in text and "device='cuda:0'" in text
    assert counter.by_kind == {"repr": 1}


def test_patched_cuda_synchronize_counts(monkeypatch):
    monkeypatch.setattr(torch.cuda, "synchronize", emulated_synchronize)
    with count_syncs() as counter:
        torch.cuda.synchronize()
        torch.cuda.synchronize(0)
    assert counter.by_kind == {"synchronize": 2}


def test_counter_starts_at_zero_and_stops_on_exit():
    t = emulated()
    t.sum().item()
    with count_syncs() as outer:
        t.sum().item()
        with count_syncs() as inner:
            t.tolist()
        t.cpu()
    t.sum().item()
    assert outer.total == 3 and outer.by_kind == {"item": 1, "tolist": 1, "cpu": 1}
    assert outer.events == ["item", "tolist", "cpu"]
    assert inner.total == 1 and inner.by_kind == {"tolist": 1}
    outer.reset()
    assert outer.total == 0


def test_syncs_in_other_threads_are_counted():
    t = emulated()
    with count_syncs() as counter:
        worker = threading.Thread(target=lambda: t.sum().item())
        worker.start()
        worker.join()
    assert counter.by_kind == {"item": 1}


def test_failed_conversions_count_nothing():
    with count_syncs() as counter:
        _error(lambda: emulated().item())  # more than one element: raises before any copy
        _error(lambda: format(emulated(), ".2f"))
    assert counter.total == 0


# -- device mixing ------------------------------------------------------------------------------
def test_mixing_with_cpu_tensors_is_allowed_by_default():
    assert isinstance(emulated() + torch.ones(4), EmulatedCudaTensor)


def test_strict_devices_raises_like_cuda():
    t = emulated()
    with strict_devices():
        with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
            t + torch.ones(4)
        with pytest.raises(RuntimeError) as caught:
            torch.cat([t, torch.ones(4)])
        assert str(caught.value) == DEVICE_MISMATCH_MESSAGE
        assert (t + torch.tensor(1.0)).tolist() == [2.0, -1.0, 1.0, 4.5]  # 0-dim CPU tensors are fine
        t.copy_(torch.ones(4))  # copies across devices are fine
    t + torch.ones(4)


# -- the step loops -----------------------------------------------------------------------------
def _syncs(run, *args, **kwargs):
    with count_syncs() as counter:
        result = run(*args, **kwargs)
    return counter, result


def test_device_accumulator_syncs_less_per_step_than_item_every_step():
    steps = 5
    before, before_loss = _syncs(step_loops.train_item_every_step, steps)
    after, after_loss = _syncs(step_loops.train_device_accumulator, steps)
    assert before.total >= steps and before.by_kind["item"] == steps  # one sync per step
    assert after.total == 1 and after.by_kind == {"item": 1}  # one sync after the loop
    assert before.per_step(steps) == 1.0 and after.per_step(steps) == 0.2
    assert after.per_step(steps) < before.per_step(steps)
    assert isinstance(after_loss, float)
    assert after_loss == pytest.approx(before_loss, rel=1e-5)


def test_guarded_formatting_syncs_less_per_step_than_formatting_every_step():
    steps = 20
    every_lines, guarded_lines = [], []
    before, _ = _syncs(step_loops.print_every_step, steps, log=every_lines.append)
    after, _ = _syncs(step_loops.print_guarded, steps, log=guarded_lines.append, log_every=10)
    assert before.total == steps and before.by_kind == {"format": steps}
    assert after.total == 2 and after.by_kind == {"format": 2}
    assert before.per_step(steps) == 1.0 and after.per_step(steps) == 0.1
    assert len(every_lines) == steps
    assert guarded_lines == [every_lines[0], every_lines[10]]  # same training, same numbers


def test_training_really_happens_on_emulated_parameters():
    model, optimizer, batches, device = step_loops.make_run(3)
    before = model.weight.detach().clone()
    step_loops.device_accumulator(model, optimizer, batches, device)
    assert isinstance(model.weight, EmulatedCudaTensor) and isinstance(model.weight.grad, EmulatedCudaTensor)
    assert not torch.equal(before, model.weight.detach())


def test_adam_and_gradient_clipping_do_not_sync():
    model, _, batches, device = step_loops.make_run(3)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    with count_syncs() as counter:
        for x, y in batches:
            loss = torch.nn.functional.mse_loss(model(x.to(device)), y.to(device))
            optimizer.zero_grad()
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
    assert counter.total == 0, counter
    assert isinstance(norm, EmulatedCudaTensor)


def test_deepcopy_of_an_emulated_model():
    model, optimizer, batches, device = step_loops.make_run(1)
    step_loops.device_accumulator(model, optimizer, batches, device)
    clone = copy.deepcopy(model)
    for original, copied in zip(model.parameters(), clone.parameters()):
        assert isinstance(copied, EmulatedCudaTensor) and isinstance(copied, torch.nn.Parameter)
        assert copied.is_leaf and copied.requires_grad and copied is not original
        assert isinstance(copied.grad, EmulatedCudaTensor)
        assert torch.equal(copied, original)
        with torch.no_grad():
            copied.add_(1.0)
        assert not torch.equal(copied, original)  # not sharing memory


def test_tensorlint_flags_exactly_the_marked_lines():
    from tensorlint import check_source

    source = STEP_LOOPS_PATH.read_text()
    marked = {number for number, line in enumerate(source.splitlines(), 1) if line.endswith("# TL401")}
    flagged = {d.line for d in check_source(source) if d.code == "TL401"}
    assert marked and flagged == marked


# -- packaging ----------------------------------------------------------------------------------
def test_the_linter_does_not_import_the_verifier():
    code = ("import sys, tensorlint, tensorlint.adapters.cli.main, tensorlint.adapters.flake8_plugin\n"
            "from tensorlint import check_source\n"
            "check_source('import torch\\nx = torch.zeros(3)\\nx.numpy()\\n')\n"
            "print('tensorlint.verify' in sys.modules)\n")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "False"
