"""The runtime facts the TL104 and TL5 rules rest on, checked on the installed torch and NumPy.

A rule's docs quote these (error messages, which constructions share memory, which arithmetic makes
float64); when a torch or NumPy upgrade changes one, this file says so before a user does.
"""
import pytest

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")


# -- float64 NumPy data into a float32 module (TL501) --------------------------------------------

@pytest.mark.parametrize("make", [np.zeros, np.ones, np.empty], ids=["zeros", "ones", "empty"])
def test_numpy_factories_default_to_float64(make):
    assert make(3).dtype == np.float64


@pytest.mark.parametrize("array", [
    pytest.param(lambda: np.random.rand(2), id="random.rand"),
    pytest.param(lambda: np.random.randn(2), id="random.randn"),
    pytest.param(lambda: np.array([0.5, 1.0]), id="array of floats"),
    pytest.param(lambda: np.linspace(0, 1, 3), id="linspace"),
    pytest.param(lambda: np.zeros(3, dtype=np.uint8) / 255.0, id="uint8 / float"),
    pytest.param(lambda: np.zeros(3, dtype=np.uint8) / 255, id="uint8 / int is true division"),
])
def test_these_arrays_are_float64(array):
    assert array().dtype == np.float64


def test_a_python_float_does_not_promote_a_float32_array():
    assert (np.zeros(3, dtype=np.float32) * 0.5).dtype == np.float32
    assert (np.zeros(3, dtype=np.float32) / 255.0).dtype == np.float32


@pytest.mark.parametrize("construct", [torch.from_numpy, torch.as_tensor, torch.asarray, torch.tensor],
                         ids=["from_numpy", "as_tensor", "asarray", "tensor"])
def test_torch_keeps_a_float64_arrays_dtype(construct):
    assert construct(np.zeros(3)).dtype == torch.float64


def test_python_floats_make_float32_tensors():
    assert torch.tensor([0.5]).dtype == torch.float32
    assert torch.FloatTensor(np.zeros(3)).dtype == torch.float32


@pytest.mark.parametrize("call, message", [
    (lambda x: torch.nn.Linear(3, 2)(x), "mat1 and mat2 must have the same dtype, but got Double and Float"),
    (lambda x: torch.nn.functional.linear(x, torch.zeros(2, 3)),
     "expected m1 and m2 to have the same dtype, but got: double != float"),
    (lambda x: torch.nn.Conv1d(1, 1, 1)(x.reshape(1, 1, 3)), r"Input type \(double\) and bias type \(float\) should be the same"),
    (lambda x: torch.nn.Conv1d(1, 1, 1, bias=False)(x.reshape(1, 1, 3)), "expected scalar type Double but found Float"),
], ids=["Linear", "F.linear", "Conv1d", "Conv1d without bias"])
def test_a_float64_input_to_a_float32_module_raises(call, message):
    with pytest.raises(RuntimeError, match=message):
        call(torch.from_numpy(np.zeros((1, 3))))
    call(torch.from_numpy(np.zeros((1, 3))).float())  # the fix


# -- memory NumPy and torch share (TL503, TL504) ---------------------------------------------------

@pytest.mark.parametrize("construct", [torch.from_numpy, torch.as_tensor, torch.asarray],
                         ids=["from_numpy", "as_tensor", "asarray"])
def test_these_constructions_share_the_arrays_memory(construct):
    buffer = np.zeros(3)
    kept = construct(buffer)
    buffer[:] = 7
    assert kept.tolist() == [7.0, 7.0, 7.0]


def test_torch_tensor_and_a_copy_do_not_share():
    buffer = np.zeros(3)
    copied, from_copy = torch.tensor(buffer), torch.from_numpy(buffer.copy())
    buffer[:] = 7
    assert copied.tolist() == from_copy.tolist() == [0.0, 0.0, 0.0]


def test_a_refilled_buffer_leaves_every_kept_tensor_with_the_last_values():
    buffer, kept = np.empty(2), []
    for step in range(3):
        buffer[:] = step
        kept.append(torch.from_numpy(buffer))
    assert [t.tolist() for t in kept] == [[2.0, 2.0]] * 3


@pytest.mark.parametrize("view", [
    pytest.param(lambda p: p.detach().numpy(), id="detach().numpy()"),
    pytest.param(lambda p: p.detach().cpu().numpy(), id="cpu() of a CPU tensor is the tensor"),
    pytest.param(lambda p: p.data.numpy(), id="data.numpy()"),
])
def test_an_in_place_write_to_a_parameters_numpy_view_changes_the_parameter(view):
    parameter = torch.nn.Parameter(torch.ones(2))
    array = view(parameter)
    array *= 2
    assert parameter.tolist() == [2.0, 2.0]


def test_a_copy_of_the_view_leaves_the_parameter_alone():
    parameter = torch.nn.Parameter(torch.ones(2))
    array = parameter.detach().numpy().copy()
    array *= 2
    assert parameter.tolist() == [1.0, 1.0]


# -- non-blocking device-to-host copies (TL502) ----------------------------------------------------

def test_a_non_blocking_copy_to_the_host_of_a_host_tensor_is_the_tensor():
    host = torch.zeros(2)
    assert host.to("cpu", non_blocking=True) is host


def test_cpu_takes_no_non_blocking_argument():
    with pytest.raises(TypeError, match="non_blocking"):
        torch.zeros(2).cpu(non_blocking=True)


# -- dtypes NumPy cannot hold (TL104) --------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["bfloat16", "float8_e4m3fn", "float8_e5m2"])
def test_numpy_rejects_these_floating_dtypes_even_on_the_canonical_chain(dtype):
    tensor = torch.zeros(2, dtype=getattr(torch, dtype))
    with pytest.raises(TypeError, match="Got unsupported ScalarType"):
        tensor.detach().cpu().numpy()
    assert tensor.detach().cpu().float().numpy().dtype == np.float32


@pytest.mark.parametrize("dtype", ["float16", "uint16", "uint32", "uint64", "bool"])
def test_numpy_holds_these(dtype):
    torch.zeros(2, dtype=getattr(torch, dtype)).numpy()
