"""TL501 beyond its inline cases: where it reports, what its message names, when it stays silent."""
import ast

import pytest

from tensorlint import check_source, fix_source
from tensorlint.analysis.ast_scan import FileScan
from tensorlint.rules.silent.prescreen import float64_may_report

H = "import numpy as np\nimport torch\nimport torch.nn as nn\n"


def tl501(source: str):
    return [d for d in check_source(source, select=["TL5"]) if d.code == "TL501"]


def test_the_message_names_the_array_the_tensor_and_the_module():
    source = H + "def f():\n    m = nn.Linear(3, 2)\n    a = np.random.randn(4, 3)\n    x = torch.from_numpy(a)\n    return m(x)\n"
    (found,) = tl501(source)
    assert (found.line, found.col + 1) == (7, 9)
    assert "`torch.from_numpy(a)` makes a float64 tensor" in found.message
    assert "`np.random.randn(4, 3)` (line 6)" in found.message
    assert "`m(...)` (line 8), and the module has float32 parameters, built by `nn.Linear(3, 2)` (line 5)" \
        in found.message
    assert "mat1 and mat2 must have the same dtype, but got Double and Float" in found.message


def test_one_finding_per_tensor_fed_to_two_modules():
    source = H + "a = nn.Linear(3, 2)\nb = nn.Linear(3, 4)\nx = torch.from_numpy(np.ones((1, 3)))\ny = a(x) + b(x).sum()\n"
    assert len(tl501(source)) == 1


def test_the_fix_is_byte_exact_and_idempotent():
    source = H + "m = nn.Conv1d(1, 2, 1)\nx = torch.tensor( np.zeros((1, 1, 4)) , device='cpu')\ny = m(x)\n"
    fixed = fix_source(source, select=["TL5"]).source
    assert fixed == H + "m = nn.Conv1d(1, 2, 1)\nx = torch.tensor( np.zeros((1, 1, 4)) , device='cpu').float()\ny = m(x)\n"
    assert fix_source(fixed, select=["TL5"]).source == fixed and not tl501(fixed)


@pytest.mark.parametrize("source, why", [
    (H + "m = nn.Linear(3, 2)\nx = torch.from_numpy(np.ones((1, 3)))\nif flag:\n    x = x.float()\ny = m(x)\n",
     "float32 on one path"),
    (H + "m = nn.Linear(3, 2)\nx = torch.from_numpy(np.ones((1, 3)))\ny = m(x.to(torch.float32))\n", ".to(torch.float32)"),
    (H + "m = nn.Linear(3, 2)\nx = torch.from_numpy(np.ones((1, 3)))\ny = m(x * w)\n", "another operand may convert"),
    (H + "torch.set_default_tensor_type(torch.DoubleTensor)\nm = nn.Linear(3, 2)\ny = m(torch.from_numpy(np.ones((1, 3))))\n",
     "the default tensor type is changed"),
    (H + "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(3, 2)\n"
     "    def forward(self, x):\n        if x.dtype == torch.float64:\n            x = x.float()\n        return self.fc(x)\n"
     "y = Net()(torch.from_numpy(np.ones((1, 3))))\n", "a class that branches on its input first"),
    (H + "m = nn.Linear(3, 2)\ndef helper(a):\n    return m(torch.from_numpy(a))\nhelper(np.ones((1, 3)))\n",
     "a helper's parameter (the caller's array is not followed)"),
    (H + "m = nn.Linear(3, 2)\ny = m(torch.from_numpy(np.random.uniform(0, 1)))\n", "a Python float"),
])
def test_silent(source, why):
    assert tl501(source) == [], why


@pytest.mark.parametrize("source, expected", [
    (H + "m = nn.Linear(3, 2)\ny = m(torch.from_numpy(np.ones((1, 3))))\n", True),
    ("import torch\nm = torch.nn.Linear(3, 2)\ny = m(torch.from_numpy(load()))\n", False),
    ("import numpy as np\ny = model(from_numpy(np.ones(3)))\n", False),
    ("from numpy import *\nfrom torch import *\ny = m(from_numpy(ones(3)))\n", True),
])
def test_the_prescreen_condition(source, expected):
    assert float64_may_report(FileScan(ast.parse(source), frozenset(), frozenset())) is expected
