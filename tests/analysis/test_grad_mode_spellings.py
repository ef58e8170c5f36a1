"""Every spelling torch 2.13 exports for the grad-mode switches turns grad off (or on) in the analysis."""
import pytest

from test_analysis import reveal

from tensorlint.analysis import NO

TRAINED = "lin = nn.Linear(2, 2)\nx = torch.randn(1, 2)\n"
GRAD_OFF = ["torch.no_grad()", "torch.inference_mode()", "torch.autograd.no_grad()", "torch.autograd.inference_mode()",
            "torch.autograd.grad_mode.no_grad()", "torch.autograd.grad_mode.inference_mode()",
            "torch.set_grad_enabled(False)", "torch.autograd.set_grad_enabled(False)",
            "torch.autograd.grad_mode.set_grad_enabled(False)"]
GRAD_ON = ["torch.enable_grad()", "torch.autograd.enable_grad()", "torch.autograd.grad_mode.enable_grad()",
           "torch.set_grad_enabled(True)", "torch.autograd.set_grad_enabled(True)",
           "torch.autograd.grad_mode.set_grad_enabled(True)"]


def grad_of(body: str):
    return reveal(TRAINED + body, view=lambda facts: facts.grad)[-1]


@pytest.mark.parametrize("context", GRAD_OFF)
def test_a_grad_off_context_makes_outputs_need_no_grad(context):
    assert grad_of(f"with {context}:\n    reveal(lin(x))\n") is NO


@pytest.mark.parametrize("context", GRAD_OFF)
def test_a_grad_off_decorator_makes_outputs_need_no_grad(context):
    assert grad_of(f"@{context}\ndef f():\n    reveal(lin(x))\n") is NO


@pytest.mark.parametrize("context", GRAD_ON)
def test_a_grad_on_context_inside_grad_off_restores_grad(context):
    outside = grad_of("reveal(lin(x))\n")
    assert outside is not NO
    assert grad_of(f"with torch.no_grad():\n    with {context}:\n        reveal(lin(x))\n") is outside


@pytest.mark.parametrize("spelling", ["torch.set_grad_enabled", "torch.autograd.set_grad_enabled",
                                      "torch.autograd.grad_mode.set_grad_enabled"])
def test_a_plain_set_grad_enabled_call_switches_grad_off_for_what_follows(spelling):
    assert grad_of(f"{spelling}(False)\nreveal(lin(x))\n") is NO
