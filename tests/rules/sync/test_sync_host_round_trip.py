"""TL4: a host round trip hidden in another object's method. A method of the class an attribute is declared
to be, that returns a host copy (sync_flow.returns_host_copy; across modules through its summary), or a call
made while the step's model is switched to eval mode (sync_flow.in_eval_window): NumPy in, NumPy sent back."""
from __future__ import annotations

import libcst as cst
import pytest

from tensorlint.analysis.annotations import annotated_class, attribute_annotation
from tensorlint.analysis.crossmodule import FunctionSummary, ProjectContext
from tensorlint.analysis.imports import ImportMap
from tensorlint.analysis.summarize import summarize_module
from tensorlint.analysis.host_copy import in_order, returns_host_copy
from tensorlint.rules.sync.flow import in_eval_window
from test_sync_evidence import check  # `tensorlint check --select TL4` in a folder: the finding lines

ESTIMATOR = """\
import numpy as np
import torch


class Estimator:
    def __init__(self, model, device):
        self.model = model.to(device)
        self.device = device

    def gradient(self, x):
        t = torch.tensor(x).to(self.device)
        t.requires_grad = True
        self.model(t).sum().backward()
        if t.grad is None:
            raise ValueError("no gradient")
        if isinstance(x, torch.Tensor):
            return t.grad
        grads = t.grad.cpu().numpy().copy()
        return grads

    def configured(self, x):
        if not self.on_device:
            return x
        return self.model(torch.tensor(x).to(self.device)).cpu().numpy()
"""
TRAINER = """\
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from pkg.estimator import Estimator


class Trainer:
    def __init__(self, estimator: "Estimator", opt):
        self._estimator = estimator
        self._opt = opt
        self._model = estimator.model.cuda()

    def fit(self, x: np.ndarray, steps: int):
        for i in range(steps):
            batch = x[i]
            grad = self._estimator.gradient(batch)
            adv = torch.from_numpy(np.clip(batch + np.sign(grad), 0, 1)).cuda()
            loss = self._model(adv).sum()
            loss.backward()
            self._opt.step()
            print(loss.item())

    def fit_configured(self, x: np.ndarray, steps: int):
        for i in range(steps):
            batch = x[i]
            adv = torch.from_numpy(self._estimator.configured(batch)).cuda()
            loss = self._model(adv).sum()
            loss.backward()
            self._opt.step()
            print(loss.item())
"""


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TENSORLINT_CACHE_DIR", str(tmp_path / "cache"))


def test_a_declared_attribute_of_a_class_in_another_module_makes_the_round_trip_visible(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "estimator.py").write_text(ESTIMATOR)
    (package / "trainer.py").write_text(TRAINER)
    # `gradient` copies to the host on its path for NumPy input: the step of `fit` syncs there anyway;
    # `configured` copies on one configured path only (line 35 stays reported)
    assert check(tmp_path, "--no-cache", "pkg") == ["pkg/trainer.py:35:19: TL401"]
    # alone, the file knows nothing of `Estimator`: both are reported
    assert check(tmp_path, "--no-cache", "--no-project", "pkg/trainer.py") == [
        "pkg/trainer.py:26:19: TL401", "pkg/trainer.py:35:19: TL401"]


def test_the_summary_says_which_methods_return_a_host_copy():
    summary = summarize_module(cst.parse_module(ESTIMATOR), ProjectContext(module="m")).classes["Estimator"]
    assert summary.methods["gradient"].returns_host_copy
    assert not summary.methods["configured"].returns_host_copy
    assert FunctionSummary.decode(summary.methods["gradient"].encode()).returns_host_copy


def _function(source: str) -> cst.FunctionDef:
    return cst.parse_module("def f(self, x, flag):\n" + "".join(f"    {line}\n" for line in source.splitlines())
                            ).body[0]


@pytest.mark.parametrize("body, expected", [
    pytest.param("return x.cpu().numpy()", True, id="returned"),
    pytest.param("g = x.grad.detach().cpu().numpy().copy()\nreturn g", True, id="through a name"),
    pytest.param("out = []\nfor b in x:\n    out.append(b.to('cpu').tolist())\nreturn out", True,
                 id="a list of copies"),
    pytest.param("is_t = isinstance(x, torch.Tensor)\nif is_t:\n    return x\nreturn x.cpu().numpy()", True,
                 id="after a type test of the input"),
    pytest.param("if x.grad is None:\n    raise ValueError()\nelse:\n    return x.grad.cpu().numpy()", True,
                 id="the other branch raises"),
    pytest.param("return x.numpy()", False, id="no host move: maybe NumPy already"),
    pytest.param("if flag:\n    return x.cpu().numpy()\nreturn x", False, id="under a configuration test"),
    pytest.param("if not flag:\n    return x\nreturn x.cpu().numpy()", False, id="after an early configured return"),
    pytest.param("if flag:\n    y = 1\nelse:\n    return x\nreturn x.cpu().numpy()", False,
                 id="after a configured return in an else"),
    pytest.param("try:\n    y = f(x)\nexcept ValueError:\n    return x.cpu().numpy()\nreturn y", False,
                 id="in an except handler"),
    pytest.param("print(x.cpu().numpy())\nreturn x", False, id="copied, not returned"),
    pytest.param("def inner():\n    return x.cpu().numpy()\nreturn inner", False, id="a nested function's return"),
])
def test_returns_host_copy(body, expected):
    assert returns_host_copy(_function(body)) is expected


def _window(body: str, marker: str = "mark(") -> bool:
    function = _function(body)
    events = in_order(function.body)
    statement = next(e for e in events if marker in cst.Module([]).code_for_node(e))
    return in_eval_window(function.body, statement)


@pytest.mark.parametrize("body, expected", [
    pytest.param("m.eval()\na = mark(x)\nm.train()\nm(a)", True, id="eval() ... train()"),
    pytest.param("self.c.m.train(mode=False)\na = mark(x)\nself.c.m.train(mode=True)\nself.c.m(a)", True,
                 id="train(mode=False) ... train(mode=True)"),
    pytest.param("m.eval()\na = mark(x)\nm.train()", False, id="the model is not trained after"),
    pytest.param("m.eval()\nm.train()\na = mark(x)\nm(a)", False, id="switched back before the call"),
    pytest.param("a = mark(x)\nm.eval()\nm.train()\nm(a)", False, id="switched after the call"),
    pytest.param("m.eval()\nr = m(x)\na = mark(x)\nm.train()\nm(a)", False, id="the model itself runs in the window"),
    pytest.param("m.eval()\na = mark(x)\nm.forward(x)\nm.train()\nm(a)", False, id="m.forward in the window"),
    pytest.param("m.eval()\na = mark(x)\nn.train()\nm(a)", False, id="another model switched back"),
    pytest.param("m.train(flag)\na = mark(x)\nm.train()\nm(a)", False, id="a mode not written in the code"),
])
def test_in_eval_window(body, expected):
    assert _window(body) is expected


def _imports(module: cst.Module) -> ImportMap:
    imports = ImportMap(ProjectContext(module="pkg.m"))
    imports.record_all(module.body)
    return imports


@pytest.mark.parametrize("annotation, expected", [
    ("Estimator", "pkg.est.Estimator"), ('"Estimator"', "pkg.est.Estimator"),
    ("Optional[Estimator]", "pkg.est.Estimator"),
    ("Estimator | None", "pkg.est.Estimator"), ("'Estimator | None'", "pkg.est.Estimator"),
    ("Union[Estimator, Other]", None), ("list[Estimator]", None), ("None", None),
])
def test_annotated_class(annotation, expected):
    module = cst.parse_module("from typing import Optional, Union\nfrom pkg.est import Estimator, Other\n"
                              f"x: {annotation}\n")
    assert annotated_class(module.body[-1].body[0].annotation, _imports(module)) == expected


@pytest.mark.parametrize("body, expected", [
    ("    est: Estimator\n    def __init__(self, est):\n        self.est = est\n", "Estimator"),
    ("    def __init__(self, est):\n        super().__init__(est)\n        self.est: 'Estimator'\n", "'Estimator'"),
    ("    def __init__(self, est: Estimator):\n        self.est = est\n", "Estimator"),
    ("    def __init__(self, est):\n        self.est = est\n", None),
    ("    def __init__(self, est: Estimator):\n        self.est = make(est)\n", None),
    ("    def __init__(self, e: Estimator):\n        def inner():\n            self.est: Other = e\n", None),
])
def test_attribute_annotation(body, expected):
    cls = cst.parse_module("class T:\n" + body).body[0]
    found = attribute_annotation(cls, "est")
    assert (cst.Module([]).code_for_node(found.annotation) if found is not None else None) == expected


def test_a_declaration_in_a_base_class_of_the_same_file_counts(tmp_path):
    base = "class Base:\n    def __init__(self, estimator: Estimator):\n        self._estimator = estimator\n\n\n"
    trainer = TRAINER.split("class Trainer:", 1)[1].replace("        self._estimator = estimator\n",
                                                            "        super().__init__(estimator)\n")
    source = ESTIMATOR + base + "class Trainer(Base):" + trainer
    (tmp_path / "one.py").write_text(source)
    lines = source.splitlines()
    printed = [i for i, line in enumerate(lines, 1) if "print(loss.item())" in line]
    # `fit` takes the gradient through the attribute `Base` declares: only `fit_configured` is reported
    assert [int(r.split(":")[1]) for r in check(tmp_path, "--no-cache", "one.py")] == printed[1:]
