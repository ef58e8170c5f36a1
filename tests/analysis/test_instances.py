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
from tensorlint.analysis.frozen import freezes_every_parameter
from tensorlint.analysis.summarize import summarize_module
from tensorlint.adapters.cli.main import main

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


# -- calling an instance: `model(x)` runs the class's `__call__` (a project base's too) or its `forward` --------
LAYERS = """\
import numpy as np
import torch
from torch import nn


class Resize(nn.Module):
    def __init__(self, size):
        super().__init__()
        self.size = tuple(size)   # (a call: the summary cannot tell it from a layer)

    def forward(self, x, y):
        return nn.functional.interpolate(x, size=self.size), y


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        return torch.relu(self.fc(x))


class Frozen(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 4, 3)
        self.requires_grad_(False)

    def forward(self, x):
        return self.conv(x)


class Outputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        results = {}
        results["out"] = self.fc(x)
        return results


class Abstract(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        raise NotImplementedError
"""
PREPROCESSOR = """\
import numpy as np
import torch


class Preprocessor:
    def __init__(self):
        self.device = torch.device("cpu")

    def __call__(self, x):
        with torch.no_grad():
            return self.forward(torch.as_tensor(x)).numpy()
"""
VIDEO = "import torch\nfrom .preprocessor import Preprocessor\n\n\nclass Video(Preprocessor):\n" \
        "    def forward(self, x):\n        return x * 2\n"
CALL_HEAD = "import numpy as np\nimport torch\nfrom .layers import Abstract, Frozen, Net, Outputs, Resize\nfrom .video import Video\n\n\n"


def run_calls(tmp_path: Path, caller: str) -> list:
    return check_package(tmp_path, {"layers.py": LAYERS, "preprocessor.py": PREPROCESSOR, "video.py": VIDEO,
                                    "caller.py": CALL_HEAD + caller})


CALLS_VALID = [
    pytest.param("def f(x, y):\n    out, labels = Resize((4, 4)).forward(torch.from_numpy(x), torch.from_numpy(y))\n"
                 "    return out.shape, np.asarray(labels)\n", id="a label the forward hands back: not the module's output"),
    pytest.param("def f(x):\n    return np.not_equal(Video()(x), x)\n",
                 id="the __call__ of a project base in a third module returns an array"),
    pytest.param("def f(x):\n    model = Frozen()\n    return model(torch.from_numpy(x)).numpy()\n",
                 id="__init__ freezes every parameter"),
]

CALLS_INVALID = [
    pytest.param("def f(x):\n    model = Net()\n    return model(torch.from_numpy(x)).cpu().numpy()\n",
                 ["pkg/caller.py:9:12: TL101"], id="forward returns a layer's output"),
    pytest.param("def f(x):\n    return Frozen()(torch.ones(1, 1, 5, requires_grad=True)).numpy()\n",
                 ["pkg/caller.py:8:12: TL101"], id="a frozen module keeps its input's grad"),
    pytest.param("def f(x):\n    return Outputs()(torch.from_numpy(x))[\"out\"].numpy()\n",
                 ["pkg/caller.py:8:12: TL101"], id="a dict filled by d[k] = v, which the walk does not follow: the guess"),
    pytest.param("def f(x):\n    return Abstract()(torch.from_numpy(x)).numpy()\n",
                 ["pkg/caller.py:8:12: TL101"], id="an abstract forward says nothing: the module guess stands"),
    pytest.param("import torchvision\n\n\ndef f(x):\n    model = torchvision.models.resnet18()\n"
                 "    return np.asarray(model(torch.from_numpy(x)))\n",
                 ["pkg/caller.py:12:23: TL101"], id="a class outside the project: the module guess stands"),
]


@pytest.mark.parametrize("caller", CALLS_VALID)
def test_instance_call_valid(tmp_path, caller):
    assert run_calls(tmp_path, caller) == []


@pytest.mark.parametrize(("caller", "expected"), CALLS_INVALID)
def test_instance_call_invalid(tmp_path, caller, expected):
    assert run_calls(tmp_path, caller) == expected


def test_the_summary_says_which_classes_freeze_their_parameters():
    summary = summarize_module(cst.parse_module(LAYERS), ProjectContext(module="pkg.layers"))
    assert {name for name, cls in summary.classes.items() if cls.frozen} == {"Frozen"}


def _init(body: str) -> cst.FunctionDef:
    return cst.parse_module("def __init__(self):\n    super().__init__()\n" + body).body[0]


@pytest.mark.parametrize(("body", "frozen"), [
    pytest.param("    self.fc = nn.Linear(2, 2)\n    for p in self.parameters():\n        p.requires_grad = False\n",
                 True, id="a loop over every parameter"),
    pytest.param("    self.fc = nn.Linear(2, 2)\n    for p in self.parameters():\n        p.requires_grad_(False)\n",
                 True, id="requires_grad_(False) in the loop"),
    pytest.param("    self.fc = nn.Linear(2, 2)\n    self.requires_grad_(False)\n    self.n = 3\n",
                 True, id="the module's requires_grad_(False), then a plain attribute"),
    pytest.param("    self.requires_grad_(False)\n    self.head = nn.Linear(2, 2)\n",
                 False, id="a layer added after the freeze"),
    pytest.param("    self.fc = nn.Linear(2, 2)\n    if freeze:\n        self.requires_grad_(False)\n",
                 False, id="a freeze under an if"),
    pytest.param("    self.fc = nn.Linear(2, 2)\n    for p in self.fc.parameters():\n        p.requires_grad = False\n",
                 False, id="one submodule's parameters"),
    pytest.param("    self.requires_grad_(False)\n    self._build()\n", False, id="a method called after the freeze"),
    pytest.param("    self.fc = nn.Linear(2, 2)\n", False, id="no freeze"),
])
def test_freezes_every_parameter(body, frozen):
    assert freezes_every_parameter(_init(body)) is frozen


def test_an_inherited_method_is_found_when_the_base_classs_module_was_walked_too(tmp_path, monkeypatch):
    """Without the prescreen every file is walked, and its summary (of the names the run imports) comes from that
    walk: the base class no import names must still be summarised for the subclass's inherited method."""
    monkeypatch.setenv("TENSORLINT_PRESCREEN", "0")
    caller = "def f(x):\n    model = Child()\n    return model.hidden(x.cuda()).detach().numpy()\n"
    assert run(tmp_path, caller) == ["pkg/caller.py:8:12: TL102"]
