"""What the analysis knows of a tensor's dtype (analysis/dtypes.py): only what the code names and every step keeps."""
import pytest

from test_analysis import reveal  # the `reveal(expr)` probe of the shared analysis

from tensorlint.analysis.dtypes import torch_dtype_named


def dtype_of(body: str):
    return reveal(body, view=lambda facts: facts.dtype)


KNOWN = [
    ("t = torch.zeros(3, dtype=torch.bfloat16)\nreveal(t)\n", "bfloat16", "factory dtype="),
    ("reveal(torch.randn(3).bfloat16())\n", "bfloat16", ".bfloat16()"),
    ("reveal(torch.randn(3).to(torch.bfloat16))\n", "bfloat16", ".to(dtype)"),
    ("reveal(torch.randn(3).to(dtype=torch.bfloat16))\n", "bfloat16", ".to(dtype=)"),
    ("reveal(torch.randn(3).to('cuda', torch.bfloat16))\n", "bfloat16", ".to(device, dtype)"),
    ("reveal(torch.randn(3).type(torch.half))\n", "float16", ".type(alias)"),
    ("reveal(torch.randn(3).view(torch.int16))\n", "int16", ".view(dtype) reinterprets"),
    ("t = torch.randn(3).bfloat16()\nreveal(t.detach().cpu())\n", "bfloat16", "moves keep it"),
    ("def f(device):\n    t = torch.randn(3).bfloat16()\n    reveal(t.to(device))\n", "bfloat16", ".to(device) keeps it"),
    ("t = torch.randn(3).bfloat16()\nreveal(t[0].unsqueeze(0).clone())\n", "bfloat16", "views and copies keep it"),
    ("t = torch.randn(3).bfloat16()\nreveal(t.softmax(-1).mean())\n", "bfloat16", "floating ops keep a floating dtype"),
    ("t = torch.randn(3).bfloat16()\nreveal(t * 0.5 + 1)\n", "bfloat16", "numbers do not promote it"),
    ("t = torch.randn(3).bfloat16()\nreveal(torch.tanh(t))\n", "bfloat16", "a torch function of one tensor"),
    ("t = torch.randn(3).bfloat16()\nreveal(t.float())\n", "float32", ".float() converts"),
    ("t = torch.randn(3).bfloat16()\nreveal(torch.zeros_like(t))\n", "bfloat16", "like-factories copy it"),
    ("m = nn.Linear(2, 2).to(torch.bfloat16)\nreveal(m(torch.randn(1, 2)))\n", "bfloat16", "a converted module"),
    ("m = nn.Linear(2, 2).bfloat16()\nreveal(m(x))\n", "bfloat16", "a module's .bfloat16()"),
    ("from transformers import AutoModel\nm = AutoModel.from_pretrained('x', torch_dtype=torch.bfloat16)\n"
     "reveal(m(x))\n", "bfloat16", "loaded as bfloat16"),
]

FORGOTTEN = [
    ("reveal(torch.randn(3))\n", "the default dtype is not named"),
    ("reveal(x.bfloat16() if flag else x.float())\n", "paths disagree"),
    ("t = torch.randn(3).bfloat16()\nreveal(t * w)\n", "another operand may promote it"),
    ("t = torch.randn(3).bfloat16()\nreveal(t.argmax(-1))\n", "indices are integers"),
    ("t = torch.randn(3).bfloat16()\nreveal(t > 0)\n", "a comparison is boolean"),
    ("t = torch.randn(3).bfloat16()\nreveal(t.sum(dtype=torch.float32).bfloat16().float())\n", "converted back"),
    ("t = torch.randn(3).bfloat16()\nreveal(t.to(other))\n", ".to(other tensor of unknown dtype)"),
    ("t = torch.randn(3).bfloat16()\nreveal(t.unknown_method())\n", "an unknown method"),
    ("t = torch.randn(3).bfloat16()\nreveal(helper(t))\n", "an unknown call"),
    ("t = torch.zeros(3, dtype=dt)\nreveal(t)\n", "a dtype variable"),
    ("t = torch.randn(3, dtype=torch.cfloat)\nreveal(t.real)\n", "`.real` of a complex tensor"),
    ("m = nn.Linear(2, 2).bfloat16()\nreveal(m.weight.grad)\n", "not followed through .grad"),
]


@pytest.mark.parametrize("body, expected, why", KNOWN, ids=[case[2] for case in KNOWN])
def test_a_dtype_the_code_shows_is_known(body, expected, why):
    assert dtype_of(body) == [expected]


@pytest.mark.parametrize("body, why", FORGOTTEN, ids=[case[1] for case in FORGOTTEN])
def test_a_dtype_the_code_may_have_lost_is_not_known(body, why):
    found = dtype_of(body)
    assert found in ([None], ["float32"]) and (found == [None] or "back" in why)


def test_the_evidence_names_the_conversion():
    why = reveal("t = torch.randn(3).to(torch.bfloat16)\nreveal(t.cpu())\n", view=lambda facts: facts.dtype_why)[0]
    assert why.describe() == "is converted by `torch.randn(3).to(torch.bfloat16)`"


@pytest.mark.parametrize("qualified, expected", [
    ("torch.bfloat16", "bfloat16"), ("torch.half", "float16"), ("torch.float", "float32"), ("torch.long", "int64"),
    ("torch.float8_e5m2", "float8_e5m2"), ("torch.zeros", None), ("numpy.float32", None), ("torch.nn.bfloat16", None),
    (None, None)])
def test_torch_dtype_names(qualified, expected):
    assert torch_dtype_named(qualified) == expected


def test_a_starred_to_forgets_the_dtype_without_failing():
    assert dtype_of("t = torch.randn(3).bfloat16()\nreveal(t.to(*args))\n") == [None]
    assert dtype_of("t = torch.randn(3).bfloat16()\nreveal(t.to(**kwargs))\n") == [None]  # may hold a dtype
