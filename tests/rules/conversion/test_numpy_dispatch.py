"""Runtime facts behind TL101/TL102's NumPy sinks, checked against the installed NumPy and torch.

FACTS.md §1 says every NumPy function that receives a tensor goes through `Tensor.__array__`. Not so
(torch 2.13, NumPy 2.4): reductions call the argument's own method (`np.sum(t)` is
`t.sum(axis=None, ...)`) and raise TypeError on *any* tensor, and some functions only ask the tensor
(`np.shape`, `np.squeeze`) and convert nothing. The rules' tables rest on what this test pins.
"""
import warnings

import pytest

from tensorlint.analysis.sinks import NUMPY_NON_SINKS
from tensorlint.rules.conversion.checker import DELEGATING_REDUCTIONS

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")


def _grad_tensor():
    return torch.ones(3, requires_grad=True) * 2


@pytest.mark.parametrize("name", sorted(DELEGATING_REDUCTIONS))
def test_reduction_given_a_tensor_raises_type_error_whatever_the_tensor(name):
    for tensor in (torch.ones(3), _grad_tensor()):
        with pytest.raises(TypeError):
            getattr(np, name)(tensor)


@pytest.mark.parametrize("name", sorted(DELEGATING_REDUCTIONS))
def test_the_fix_for_a_reduction_passes_an_ndarray(name):
    tensor = _grad_tensor()
    fixed = getattr(np, name)(tensor.detach().cpu().numpy())
    assert np.array_equal(fixed, getattr(np, name)(np.full(3, 2.0)))


@pytest.mark.parametrize("name", sorted(DELEGATING_REDUCTIONS))
def test_a_list_of_tensors_goes_through_array_and_hits_the_grad_check(name):
    with pytest.raises(RuntimeError, match="requires grad"):
        getattr(np, name)([_grad_tensor(), _grad_tensor()])


@pytest.mark.parametrize("name", ["shape", "ndim", "size", "squeeze", "nonzero", "argwhere", "real", "isscalar", "iterable"])
def test_functions_that_only_ask_the_tensor_do_not_convert(name):
    assert name in NUMPY_NON_SINKS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        getattr(np, name)(_grad_tensor())  # no "requires grad" error: nothing is converted


@pytest.mark.parametrize("name", ["asarray", "array", "vstack", "isnan", "exp", "cumsum", "transpose", "sort"])
def test_functions_that_convert_hit_the_grad_check(name):
    with pytest.raises(RuntimeError, match="requires grad"):
        getattr(np, name)(_grad_tensor() if name != "vstack" else [_grad_tensor()])
