"""The table of torch.Tensor's public attributes the analysis uses without importing torch."""
import pytest

from tensorlint.analysis.tensor_methods import TENSOR_ATTRIBUTES

torch = pytest.importorskip("torch")


def test_table_matches_the_installed_torch():
    installed = {name for name in dir(torch.Tensor) if not name.startswith("_")}
    assert installed - TENSOR_ATTRIBUTES == set(), "regenerate tensorlint/analysis/tensor_methods.py"
    assert TENSOR_ATTRIBUTES - installed == set(), "regenerate tensorlint/analysis/tensor_methods.py"


def test_common_tensor_methods_are_in_the_table_and_wrapper_methods_are_not():
    assert {"numpy", "detach", "cpu", "softmax", "item", "log_softmax"} <= TENSOR_ATTRIBUTES
    assert not {"asdict", "to_tuple", "keys", "forward"} & TENSOR_ATTRIBUTES
