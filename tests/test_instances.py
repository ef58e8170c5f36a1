"""Methods of project classes called on instances the code built: `self.model = Net(...)`, then `self.model.m(x)`.

The class is in another module of the project (a two-module package checked with the real command): what
`m` returns comes from the class's summary, with the device or grad evidence of the argument it is computed
from. VALID cases must print nothing, INVALID ones exactly the listed findings.
"""
from __future__ import annotations

import os
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

import libcst as cst
import pytest

from tensorlint.analysis.crossmodule import DEVICE, ProjectContext
from tensorlint.analysis.summarize import summarize_module
from tensorlint.cli import main

NETS = """\
import torch
from torch import nn
from torch.nn import functional as F


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        return self.fc(x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()

    def get_theta(self, x):
        with torch.no_grad():
            return F.softmax(self.encoder(x), dim=1)

    def embed(self, x):
        return self.encoder(x)

    def scores(self, x):
        return self.encoder(x).detach().cpu()

    def name(self):
        return "net"


class Base(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()

    def hidden(self, x):
        return self.encoder(x)


class Child(Base):
    pass


class Attack:
    def prepare(self, image):
        self.image = image

    def generate(self, image):
        self.prepare(image)
        return torch.clamp(self.image, 0, 1)
"""
HEAD = "import numpy as np\nimport torch\nfrom .nets import Attack, Net, Child\n\n\n"


def run(tmp_path: Path, caller: str):
    return check_package(tmp_path, {"nets.py": NETS, "caller.py": HEAD + caller})


def check_package(tmp_path: Path, modules: dict) -> list:
    """Write `pkg` with these modules, run `tensorlint check --no-cache pkg` in `tmp_path`: `path:line:col: CODE`."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    for name, text in modules.items():
        (package / name).write_text(text, encoding="utf-8")
    out = StringIO()
    previous = os.getcwd()
    os.chdir(tmp_path)
    try:
        with redirect_stdout(out):
            main(["check", "--no-cache", "pkg"])
    finally:
        os.chdir(previous)
    return [" ".join(line.split(" ", 2)[:2]) for line in out.getvalue().splitlines() if ": TL" in line]


TRAINER = ("class Trainer:\n    def __init__(self, use_cuda):\n        self.model = Net()\n"
           "        self.use_cuda = use_cuda\n\n    def run(self, x):\n")

VALID = [
    pytest.param(TRAINER + "        return self.model.scores(x.cuda()).numpy()\n",
                 id="the method moves its result to the host"),
    pytest.param(TRAINER + "        return self.model.get_theta(x).numpy()\n",
                 id="no evidence: a host input, computed under no_grad"),
    pytest.param(TRAINER + "        return self.model.predict(x.cuda()).numpy()\n",
                 id="a method the class does not define: unknown"),
    pytest.param(TRAINER + "        return np.asarray(self.model.name())\n", id="a method returning a string"),
    pytest.param("def f(x):\n    return Attack().generate(x.cpu()).numpy()\n", id="given a host tensor"),
    pytest.param("def f(model, x):\n    return model.embed(x.cuda()).detach().numpy()\n",
                 id="a parameter: no instance the code built"),
]

INVALID = [
    pytest.param(TRAINER + "        if self.use_cuda:\n            x = x.cuda()\n"
                 "        return self.model.get_theta(x).numpy()\n",
                 ["pkg/caller.py:14:16: TL102"], id="a moved input into a method computed from it"),
    pytest.param(TRAINER + "        return self.model.embed(x).cpu().numpy()\n",
                 ["pkg/caller.py:12:16: TL101"], id="the method returns a submodule's output"),
    pytest.param("def f(x):\n    model = Child()\n    return model.hidden(x.cuda()).detach().numpy()\n",
                 ["pkg/caller.py:8:12: TL102"], id="a method inherited from a project base class"),
    pytest.param("def f(x):\n    return Attack().generate(x.cuda()).numpy()\n",
                 ["pkg/caller.py:7:12: TL102"], id="a tensor the method does not place: where its arguments are"),
]


@pytest.mark.parametrize("caller", VALID)
def test_valid(tmp_path, caller):
    assert run(tmp_path, caller) == []


@pytest.mark.parametrize(("caller", "expected"), INVALID)
def test_invalid(tmp_path, caller, expected):
    assert run(tmp_path, caller) == expected


def test_a_model_run_on_the_argument_passes_its_device():
    """`return self.encoder(x)`: the module computes where its input is, so the summary says the result keeps
    the argument's device (not its grad: the output requires grad for its own reasons)."""
    summary = summarize_module(cst.parse_module(NETS), ProjectContext(module="pkg.nets"))
    methods = summary.classes["Net"].methods
    assert (("x", DEVICE) in methods["embed"].passes) and (("x", DEVICE) in methods["get_theta"].passes)
    assert ("x", DEVICE) not in methods["scores"].passes


def _three_modules(tmp_path: Path, base: str) -> list:
    """base.py defines `Base`, mid.py `Mid(Base)` (no `forward`), head.py `Head(Mid)` calls an item of
    `self.mask_head` (a list its bases set up)."""
    return check_package(tmp_path, {
        "base.py": base,
        "mid.py": "from .base import Base\n\n\nclass Mid(Base):\n    def helper(self):\n        return 1\n",
        "head.py": "import torch\nfrom .mid import Mid\n\n\nclass Head(Mid):\n    def run(self, x, i):\n"
                   "        head = self.mask_head[i]\n        return head(x).cpu().numpy()\n",
    })


def test_a_module_through_a_chain_of_project_base_classes(tmp_path):
    """`Head(Mid)`, `Mid(Base)`, `Base(nn.Module)` in three modules: Head is an nn.Module, so an item of its
    submodule list is a submodule and its output requires grad."""
    base = "import torch\n\n\nclass Base(torch.nn.Module):\n    pass\n"
    assert _three_modules(tmp_path, base) == ["pkg/head.py:8:16: TL101"]


def test_a_plain_class_through_a_chain_of_project_base_classes(tmp_path):
    assert _three_modules(tmp_path, "class Base:\n    pass\n") == []
