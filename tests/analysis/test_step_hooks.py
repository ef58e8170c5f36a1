"""Framework per-step methods (analysis/step_hooks.py): which bases are a framework's, and a base in another
module of the project (its summary) makes a subclass's `training_step` step code there too."""
from __future__ import annotations

import os
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

import pytest

from tensorlint import check_source
from tensorlint.analysis.step_hooks import STEP_METHOD_NAMES, hooks_of_base
from tensorlint.adapters.cli.main import main


@pytest.mark.parametrize("qualified, frameworks", [
    pytest.param("pytorch_lightning.LightningModule", ["Lightning"], id="pytorch_lightning"),
    pytest.param("lightning.pytorch.core.module.LightningModule", ["Lightning"], id="lightning.pytorch, full path"),
    pytest.param("pytorch_lightning.callbacks.Callback", ["Lightning"], id="a Lightning callback"),
    pytest.param("torchbearer.metrics.Metric", ["torchbearer"], id="torchbearer metric"),
    pytest.param("fastai.callbacks.hooks.HookCallback", ["fastai", "fastai"], id="fastai HookCallback"),
    pytest.param("ignite.metrics.Metric", ["ignite"], id="ignite metric"),
    pytest.param("transformers.TrainerCallback", ["transformers"], id="Hugging Face callback"),
])
def test_framework_bases(qualified, frameworks):
    assert [hooks.framework for hooks in hooks_of_base(qualified)] == frameworks


@pytest.mark.parametrize("qualified", [
    pytest.param("mylib.LightningModule", id="a look-alike name in another package"),
    pytest.param("LightningModule", id="an unresolved bare name"),
    pytest.param("torchbearer.metrics.Mean", id="a framework class that is no per-step base"),
    pytest.param("torch.nn.Module", id="torch itself"),
])
def test_not_framework_bases(qualified):
    assert hooks_of_base(qualified) == ()


def test_every_framework_method_is_in_the_prescreen_set():
    assert {"training_step", "process", "hook", "on_batch_end", "update", "on_step_end"} <= STEP_METHOD_NAMES


def _codes(source: str):
    return [(d.code, d.line) for d in check_source(source) if d.code.startswith("TL4")]


def test_a_base_method_calls_on_self_every_step_is_step_code():
    """torchbearer's RunningMetric.process_train calls `self._process_train(*args)`: the override runs every batch."""
    source = ("import torch\nfrom torchbearer import metrics\n"
              "class Running(metrics.AdvancedMetric):\n"
              "    def process_train(self, *args):\n        self.cache.append(self._process_train(*args))\n"
              "        if self.i % 10 == 0:\n            self.result = self._step(self.cache)\n"
              "class RunningMean(Running):\n"
              "    def _process_train(self, *args):\n        return args[0].mean().item()\n"
              "    def _step(self, cache):\n        return torch.stack(cache).mean().item()\n")
    assert _codes(source) == [("TL401", 10)]  # not `_step`: it runs under a periodic guard


def test_outputs_the_framework_passes_are_containers_not_known_tensors():
    """`outputs["loss"]` of a Lightning batch hook may hold anything; the hook's own tensors still count."""
    source = ("import torch\nfrom pytorch_lightning import Callback\n"
              "class Printer(Callback):\n"
              "    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):\n"
              "        print(outputs['loss'].item())\n        print(outputs.mean().item())\n")
    assert _codes(source) == [("TL401", 6)]


BASE = """\
from pytorch_lightning import LightningModule


class EpisodicModule(LightningModule):
    def configure_optimizers(self):
        return None
"""
LEARNER = """\
import torch

from .base import EpisodicModule


class ProtoLearner(EpisodicModule):
    def training_step(self, batch, batch_idx):
        loss = self.meta_learn(batch)
        self.log("train_loss", loss.item())
        return loss
"""


def _check(directory: Path, *args: str):
    out, previous = StringIO(), os.getcwd()
    os.chdir(directory)
    try:
        with redirect_stdout(out):
            main(["check", "--no-cache", *args])
    finally:
        os.chdir(previous)
    return [line.split(" ", 2)[0] + " " + line.split(" ", 2)[1] for line in out.getvalue().splitlines() if ": TL" in line]


def test_a_lightning_base_in_another_module(tmp_path, monkeypatch):
    monkeypatch.setenv("TENSORLINT_CACHE_DIR", str(tmp_path / "cache"))
    package = tmp_path / "pkg"
    package.mkdir()
    for name, text in {"__init__.py": "", "base.py": BASE, "learner.py": LEARNER}.items():
        (package / name).write_text(text, encoding="utf-8")
    assert _check(tmp_path, "pkg") == ["pkg/learner.py:9:32: TL401"]
    # each file alone, nothing shows that the base is a LightningModule
    assert _check(tmp_path, "--no-project", "pkg") == []
