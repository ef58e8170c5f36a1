"""`"chainer" in str(type(x))`: in that arm `x` is another framework's object, not a torch tensor."""
import pytest

from test_analysis import reveal

from tensorlint import check_source
from tensorlint.analysis import NO, YES

PARAMETER = "t = torch.nn.Parameter(torch.ones(2))\n"


@pytest.mark.parametrize("test", ["'chainer' in str(type(t))", "'mxnet' in repr(type(t))",
                                  "'tensorflow' in type(t).__module__", "'jax' in type(t).__name__"])
def test_an_other_frameworks_type_name_rules_a_tensor_out(test):
    assert reveal(PARAMETER + f"if {test}:\n    reveal(t)\n", view=lambda facts: facts.tensor)[-1] is NO


@pytest.mark.parametrize("test", ["'torch' in str(type(t))", "'chainer' == str(type(t))", "'chainer' in name",
                                  "'chainer' in str(t)"])
def test_other_tests_say_nothing(test):
    assert reveal(PARAMETER + f"if {test}:\n    reveal(t)\n", view=lambda facts: facts.tensor)[-1] is YES


def test_a_dispatch_on_type_names_keeps_a_callers_tensor_out_of_the_chainer_arm():
    """tensorboardX's `make_np`: a caller passes a parameter; the chainer arm's `x.data` is a chainer Variable's."""
    source = ("import numpy as np\nimport torch\n\n\ndef use():\n    weights = torch.nn.Parameter(torch.ones(2))\n"
              "    return make_np(weights)\n\n\ndef make_np(x):\n    if 'torch' in str(type(x)):\n"
              "        return x.detach().cpu().numpy()\n    if 'chainer' in str(type(x)):\n"
              "        return prepare_chainer(x)\n\n\ndef prepare_chainer(x):\n    import chainer\n"
              "    return chainer.cuda.to_cpu(x.data)\n")
    assert [d.code for d in check_source(source)] == []
