"""A function body that calls a module-level function defined further down the file gets that function's summary."""
import libcst as cst
import pytest

from test_analysis import reveal

from tensorlint.analysis import MAYBE, NO, YES
from tensorlint.analysis.scope import functions_defined_once

HELPER = "def encode(model, x):\n    return model(x).cpu()\n"
CALLER = "def outer(model, x, device):\n    model = model.to(device)\n    reveal(encode(model, x))\n"


def device_of(body: str):
    return reveal(body, view=lambda facts: facts.device)[-1]


def test_a_helper_defined_before_its_caller_is_summarized():
    assert device_of(HELPER + CALLER) is NO


def test_a_helper_defined_after_its_caller_is_summarized_too():
    assert device_of(CALLER + HELPER) is NO


@pytest.mark.parametrize("rebinding", [
    "encode = torch.compile(encode)\n",
    "from helpers import encode\n",
    "def encode(model, x):\n    return model(x)\n",
    "from helpers import *\n",
], ids=["reassigned", "imported", "defined twice", "star import"])
def test_a_name_the_file_binds_otherwise_is_not_resolved_late(rebinding):
    assert device_of(CALLER + HELPER + rebinding) is MAYBE


def test_a_name_made_global_in_a_function_is_not_resolved_late():
    swap = "def swap():\n    global encode\n    encode = None\n"
    assert device_of(CALLER + HELPER + swap) is MAYBE


def test_a_local_of_the_same_name_shadows_the_module_function():
    caller = "def outer(model, x, device, encode):\n    model = model.to(device)\n    reveal(encode(model, x))\n"
    assert device_of(caller + HELPER) is not NO


def test_which_names_are_defined_once():
    source = ("def a(): pass\ndef b(): pass\nb = 1\nif flag:\n    def c(): pass\nelse:\n    def c(): pass\n"
              "def d():\n    def nested(): pass\nclass K:\n    def method(self): pass\n"
              "values = [e for e in range(3)]\ndef e(): pass\n")
    assert functions_defined_once(cst.parse_module(source)) == {"a", "d", "e"}


def test_grad_evidence_flows_from_a_helper_defined_later():
    body = ("def outer():\n    reveal(make())\n"
            "def make():\n    return torch.ones(2, requires_grad=True) * 2\n")
    assert reveal(body, view=lambda facts: facts.grad)[-1] is YES
