"""Fix behaviour on hand-written inputs: exact output, untouched surroundings, nesting, newlines, safety."""
import pytest

from tensorlint import check_source, fix_source

H = "import numpy as np\nimport torch\n"


@pytest.mark.parametrize("source, expected", [
    pytest.param(H + "def f(model, x):\n    return model(x).numpy()\n",
                 H + "def f(model, x):\n    return model(x).detach().cpu().numpy()\n", id="model-output"),
    pytest.param(H + "def f(x):\n    return x.cpu().numpy()\n",
                 H + "def f(x):\n    return x.detach().cpu().numpy()\n", id="cpu-kept-detach-inserted"),
    pytest.param(H + "def f(x):\n    return x.cpu().detach().numpy()\n",
                 H + "def f(x):\n    return x.detach().cpu().numpy()\n", id="reordered-chain"),
    pytest.param(H + "def f(a, b):\n    return (a + b).numpy()\n",
                 H + "def f(a, b):\n    return (a + b).detach().cpu().numpy()\n", id="parenthesized-receiver"),
    pytest.param(H + "t = torch.ones(3, requires_grad=True)\nr = np.asarray(t * 2)\n",
                 H + "t = torch.ones(3, requires_grad=True)\nr = np.asarray((t * 2).detach().cpu())\n",
                 id="implicit-conversion-of-binary-expression"),
    pytest.param(H + "w = torch.nn.Parameter(torch.randn(3))\nn = np.linalg.norm(w, axis=0)\n",
                 H + "w = torch.nn.Parameter(torch.randn(3))\nn = np.linalg.norm(w.detach().cpu(), axis=0)\n",
                 id="implicit-conversion-keyword-untouched"),
])
def test_exact_output(source, expected):
    result = fix_source(source)
    assert result.source == expected
    assert result.fixed and not result.remaining


ODD = """import numpy   as np   # odd spacing kept
import torch


def f( model ,x ):   # a comment
    preds = model(
        x,  # the inputs
    ).numpy()
    out = np.concatenate(
        [   # open
            model(x).cpu().detach().numpy() ,  # item
            np.zeros( 3 ),
        ],
        axis = 0 ,
    )
    return   out , preds
"""


def test_formatting_and_comments_elsewhere_untouched():
    expected = (ODD.replace("    ).numpy()", "    ).detach().cpu().numpy()")
                   .replace("model(x).cpu().detach().numpy() ,", "model(x).detach().cpu().numpy() ,"))
    assert expected != ODD
    assert fix_source(ODD).source == expected


def test_nested_conversions_fixed_in_one_call():
    source = H + "def f(a, g):\n    return g(a.numpy()).numpy()\n"
    result = fix_source(source)
    assert result.source == H + "def f(a, g):\n    return g(a.detach().cpu().numpy()).detach().cpu().numpy()\n"
    assert result.remaining == []
    assert check_source(result.source) == []


@pytest.mark.parametrize("source", [
    pytest.param(H + "def f(a, g):\n    return g(a.numpy()).numpy()\n", id="nested"),
    pytest.param(ODD, id="odd-formatting"),
    pytest.param(H + "def f(model, xs):\n    return np.array([model(x) for x in xs])\n", id="comprehension"),
    pytest.param(H + "def f(x):\n    return (x  # keep\n        ).cpu().detach().numpy()\n", id="comment-in-receiver"),
])
def test_idempotent(source):
    once = fix_source(source, unsafe_fixes=True).source
    assert once != source
    twice = fix_source(once, unsafe_fixes=True)
    assert twice.source == once
    assert twice.fixed == []


def test_crlf_newlines_preserved():
    source = (H + "def f(model, x):\n    y = model(x)  # output\n    return y.cpu().numpy()\n").replace("\n", "\r\n")
    result = fix_source(source)
    assert result.source == source.replace("y.cpu().numpy()", "y.detach().cpu().numpy()")
    assert "\n" not in result.source.replace("\r\n", "")


def test_comment_inside_the_receiver_is_kept():
    source = H + "def f(x):\n    return (x  # keep\n        ).cpu().detach().numpy()\n"
    assert fix_source(source).source == H + "def f(x):\n    return (x  # keep\n        ).detach().cpu().numpy()\n"


FORWARD = "class Net(torch.nn.Module):\n    def forward(self, x):\n        return torch.from_numpy(np.tanh({}))\n"


@pytest.mark.parametrize("source, fixed", [
    pytest.param(H + FORWARD.format("x.numpy()"), H + FORWARD.format("x.detach().cpu().numpy()"), id="inside-forward"),
    pytest.param("import numpy as np\ndef f(x):\n    return x.numpy()\n",
                 "import numpy as np\ndef f(x):\n    return x.detach().cpu().numpy()\n", id="file-without-torch"),
    pytest.param(H + "def f(x):\n    return x.data.cpu().numpy()\n",
                 H + "def f(x):\n    return x.detach().cpu().numpy()\n", id="data-of-unknown-value"),
])
def test_unsafe_fixes_need_opt_in(source, fixed):
    safe = fix_source(source)
    assert safe.source == source
    assert safe.fixed == []
    assert safe.remaining and all(d.fix is not None and not d.fix.is_safe for d in safe.remaining)
    unsafe = fix_source(source, unsafe_fixes=True)
    assert unsafe.source == fixed
    assert unsafe.remaining == []


def test_conversion_without_local_fix_is_left_alone():
    source = H + "def f(model, loader):\n    outs = [model(x) for x in loader]\n    return np.vstack(outs)\n"
    result = fix_source(source, unsafe_fixes=True)
    assert result.source == source
    assert [(d.line, d.code, d.fix) for d in result.remaining] == [(5, "TL101", None), (5, "TL102", None)]
