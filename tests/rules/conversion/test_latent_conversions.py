"""Latent conversions across modules: a helper converts its parameter to NumPy, another module passes the evidence.

`def to_np(t): return np.asarray(t)` alone has no hazard (nothing shows what `t` is). A project run
summarises it ("`t` reaches `np.asarray()` at line 5 without `.detach()` and without `.cpu()`") and the
conversion checker judges the caller's argument as if the caller had converted it: the finding is in the
caller's file, at the argument, and names the helper's line. Each case is a two-module package checked
with the real command; VALID cases must print nothing, INVALID ones exactly the listed findings.
"""
from __future__ import annotations

import os
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

import libcst as cst
import pytest

from tensorlint.analysis.crossmodule import FunctionSummary, ModuleSummary, ProjectContext
from tensorlint.analysis.facts import UNKNOWN
from tensorlint.analysis.summarize import summarize_module
from tensorlint.adapters.cli.main import main


def run_cli(cwd, arguments) -> str:
    """What `tensorlint ARGUMENTS` prints, run in `cwd`."""
    out = StringIO()
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        with redirect_stdout(out):
            main(arguments)
    finally:
        os.chdir(previous)
    return out.getvalue()


def output_lines(output: str) -> list:
    return [line for line in output.splitlines() if ": TL" in line]


HELPERS = """\
import numpy as np
import matplotlib.pyplot as plt
import torch


def to_np(values):
    return np.asarray(values)


def to_np_cpu(values):
    return values.cpu().numpy()


def to_np_safe(values):
    return values.detach().cpu().numpy()


def show(weights, ax):
    ax.imshow(weights)


def show_later(weights):
    _draw(weights)


def _draw(w):
    plt.imshow(w)


def scale(x):
    return x * 2


def frozen(values):
    with torch.no_grad():
        return values.numpy()


class Plotter:
    def show(self, image):
        plt.imshow(image)


def from_cuda(x):
    use_cuda = torch.cuda.is_available()
    if use_cuda:
        x = x.cpu()
    return x
"""
HEAD = "import torch\nfrom torch import nn\nfrom .helpers import *\n\n\n"


def project(tmp_path: Path, caller: str, *extra: str):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "helpers.py").write_text(HELPERS, encoding="utf-8")
    (package / "caller.py").write_text(HEAD + caller, encoding="utf-8")
    output = run_cli(tmp_path, ["check", "--no-cache", "--project", *extra, "pkg"])
    return output_lines(output)


def short(lines):
    return [" ".join(line.split(" ", 2)[:2]) for line in lines]


VALID = [
    pytest.param("def f(model, x):\n    return to_np_safe(model(x))\n", id="the helper converts canonically"),
    pytest.param("def f():\n    return to_np(torch.zeros(3))\n", id="a host factory: no evidence"),
    pytest.param("def f(x):\n    return to_np(x)\n", id="an unknown parameter passed on: no evidence"),
    pytest.param("def f(x):\n    net = nn.Linear(2, 2)\n    with torch.no_grad():\n        return to_np(net(x))\n",
                 id="called under no_grad with a host model"),
    pytest.param("def f(x):\n    net = nn.Linear(2, 2)\n    return frozen(net(x))\n",
                 id="the helper converts under no_grad"),
    pytest.param("def f(x):\n    net = nn.Linear(2, 2)\n    return to_np_cpu(net(x).detach())\n",
                 id="detached by the caller, moved by the helper"),
    pytest.param("def f(ax):\n    w = torch.zeros(3, 3).cuda()\n    return show(w.cpu(), ax)\n",
                 id="moved back by the caller"),
    pytest.param("def f(x):\n    w = torch.zeros(3).cuda()\n    return scale(w).cpu().numpy()\n",
                 id="a helper's result moved before converting"),
    pytest.param("def f(x):\n    w = torch.zeros(3).cuda()\n    return from_cuda(w).numpy()\n",
                 id="a helper that moves to the host whenever CUDA is in use (ART's from_cuda)"),
]

INVALID = [
    pytest.param("def f(x):\n    net = nn.Linear(2, 2)\n    return to_np(net(x))\n",
                 ["pkg/caller.py:8:18: TL101"], id="a model output into np.asarray"),
    pytest.param("def f(x):\n    net = nn.Linear(2, 2).cuda()\n    return to_np_cpu(net(x))\n",
                 ["pkg/caller.py:8:22: TL101"], id="the helper moves but does not detach"),
    pytest.param("def f(ax):\n    w = torch.zeros(3, 3).cuda()\n    return show(w, ax)\n",
                 ["pkg/caller.py:8:17: TL102"], id="a moved tensor into a plot"),
    pytest.param("def f():\n    w = torch.zeros(3, 3).cuda()\n    return show_later(w)\n",
                 ["pkg/caller.py:8:23: TL102"], id="through the helper's own same-file helper"),
    pytest.param("def f(x):\n    net = nn.Linear(2, 2)\n    return to_np(values=net(x))\n",
                 ["pkg/caller.py:8:25: TL101"], id="passed by keyword"),
    pytest.param("def f(x):\n    w = torch.zeros(3).cuda()\n    return scale(w).numpy()\n",
                 ["pkg/caller.py:8:12: TL102"], id="a helper's result keeps the argument's device"),
    pytest.param("class P(Plotter):\n    def run(self):\n        w = torch.ones(2, 2).to('cuda')\n"
                 "        self.show(w)\n", ["pkg/caller.py:9:19: TL102"], id="a method of a base class in another module"),
]


@pytest.mark.parametrize("caller", VALID)
def test_valid(tmp_path, caller):
    assert project(tmp_path, caller) == []


@pytest.mark.parametrize(("caller", "expected"), INVALID)
def test_invalid(tmp_path, caller, expected):
    assert short(project(tmp_path, caller)) == expected


def test_the_message_names_the_helpers_conversion_and_the_callers_evidence(tmp_path):
    [line] = project(tmp_path, "def f(ax):\n    w = torch.zeros(3, 3).cuda()\n    return show(w, ax)\n")
    assert ("TL102 `show()` (through `ax.imshow()` at pkg/helpers.py:19) converts a tensor that may be on an "
            "accelerator to NumPy (`w` was moved by `torch.zeros(3, 3).cuda()` (line 7))") in line


def test_the_fix_at_the_call_is_unsafe(tmp_path):
    """The helper may use its parameter for more than the conversion: rewriting the argument is right for the
    conversion only, so it needs `--unsafe-fixes`."""
    project(tmp_path, "def f(x):\n    net = nn.Linear(2, 2)\n    return to_np(net(x))\n")
    output = run_cli(tmp_path, ["check", "--no-cache", "--project", "--select", "TL101", "pkg"])
    assert output.endswith("Found 1 problem (1 fixable with `tensorlint fix --unsafe-fixes`).\n")


def test_the_helper_itself_stays_silent(tmp_path):
    """Reported once, where the evidence is: not again in the helper as 'reached from the call'."""
    lines = project(tmp_path, "def f(x):\n    net = nn.Linear(2, 2).cuda()\n    return to_np(net(x))\n")
    assert short(lines) == ["pkg/caller.py:8:18: TL101", "pkg/caller.py:8:18: TL102"]


def test_a_same_file_caller_is_reported_in_the_helper(tmp_path):
    """In one file the helper is walked with the caller's arguments (calls.py) and reports at its conversion."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "one.py").write_text(
        "import numpy as np\nfrom torch import nn\n\n\ndef to_np(t):\n    return np.asarray(t)\n\n\n"
        "def f(x):\n    return to_np(nn.Linear(2, 2)(x))\n", encoding="utf-8")
    output = run_cli(tmp_path, ["check", "--no-cache", "pkg"])
    lines = output_lines(output)
    assert short(lines) == ["pkg/one.py:6:23: TL101"]
    assert lines[0].endswith("(reached from the call `to_np(nn.Linear(2, 2)(x))` at line 10)")


def test_summaries_record_latent_conversions_and_what_returns_keep():
    summary = summarize_module(cst.parse_module(HELPERS), ProjectContext(module="pkg.helpers"))
    to_np = summary.functions["to_np"]
    assert [(c.param, c.needs, c.where, c.sink) for c in to_np.conversions] == [
        ("values", "grad", "pkg/helpers.py:7", "`np.asarray()`"), ("values", "device", "pkg/helpers.py:7", "`np.asarray()`")]
    assert [c.needs for c in summary.functions["to_np_cpu"].conversions] == ["grad"]
    assert summary.functions["to_np_safe"].conversions == ()
    assert summary.functions["frozen"].conversions[0].needs == "device"  # no_grad: only the device can fail
    assert [c.where for c in summary.functions["show_later"].conversions] == ["pkg/helpers.py:27"] * 2
    assert summary.functions["scale"].passes == (("x", "grad"), ("x", "device"))
    assert summary.functions["to_np"].passes == ()
    assert summary.functions["from_cuda"].passes == (("x", "grad"),)  # with CUDA off nothing was on it
    assert [c.param for c in summary.classes["Plotter"].methods["show"].conversions] == ["image", "image"]


def test_summaries_survive_json():
    summary = summarize_module(cst.parse_module(HELPERS), ProjectContext(module="pkg.helpers"))
    decoded = ModuleSummary.decode(summary.encode())
    assert decoded.functions["to_np"] == summary.functions["to_np"]
    assert decoded.functions["scale"].passes == summary.functions["scale"].passes
    assert FunctionSummary.decode(summary.functions["show"].encode()).conversions == summary.functions["show"].conversions


def test_a_summary_says_what_a_call_leaving_none_defaults_gets():
    """`mel(x)` passes `device=None`: the `.to(device)` under `if device is not None:` is not made for it."""
    summary = summarize_module(cst.parse_module(GUARDED), ProjectContext(module="pkg.graph")).functions["mel"]
    assert summary.unpassed == ("device",)
    assert summary.returns.device_evidenced and not summary.returns_unpassed.device_evidenced
    decoded = FunctionSummary.decode(summary.encode())
    assert decoded.unpassed == ("device",) and not decoded.returns_unpassed.device_evidenced
    assert summary.returns_given({"device": UNKNOWN}) == summary.returns   # (what `bound_facts` gives a passed one)
    assert summary.returns_given({}) == summary.returns_unpassed


def test_a_base_class_method_in_another_module_returns_what_it_was_given(tmp_path):
    """`self.prepare(w)` of a base class elsewhere whose result is computed from its argument keeps its device."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "base.py").write_text("class Base:\n    def prepare(self, t):\n        return t.flatten()\n",
                                     encoding="utf-8")
    (package / "sub.py").write_text(
        "import torch\nfrom .base import Base\n\n\nclass Sub(Base):\n    def run(self):\n"
        "        w = torch.ones(2).cuda()\n        return self.prepare(w).numpy()\n", encoding="utf-8")
    output = run_cli(tmp_path, ["check", "--no-cache", "--project", "pkg"])
    assert short(output_lines(output)) == ["pkg/sub.py:8:16: TL102"]


GUARDED = """\
import numpy as np
import torch


def normalize(adj, sparse=False):
    if sparse:
        return to_host(adj)
    return adj / adj.sum()


def to_host(t):
    return t.cpu().numpy()


def degrees(d):
    try:
        return torch.log(d)
    except TypeError:
        return np.log(d)


def weighted(x, weights: torch.nn.Parameter):
    return x * weights


def early(adj, sparse=False):
    if not sparse:
        return adj
    return to_host(adj)


def mel(audio, device=None):
    audio = torch.as_tensor(audio)
    if device is not None:
        audio = audio.to(device)
    return audio * 2
"""


@pytest.mark.parametrize(("call", "expected"), [
    pytest.param("normalize(p)", [], id="the default leaves sparse False: to_host is not reached"),
    pytest.param("normalize(p, False)", [], id="a literal False passed by position"),
    pytest.param("normalize(p, sparse=flag)", ["same.py:12:12: TL101"], id="an unknown flag may take the branch"),
    pytest.param("normalize(p, sparse=True)", ["same.py:12:12: TL101"], id="the branch taken"),
])
def test_a_helper_on_a_branch_the_call_rules_out_is_not_walked(tmp_path, call, expected):
    """`normalize(p)` walks `normalize` with `p`; its `if sparse: return to_host(adj)` is a branch the call's
    default rules out, so `to_host` is not walked for it (nor reported in it) from there."""
    (tmp_path / "same.py").write_text(GUARDED + f"\n\ndef f(p: torch.nn.Parameter, flag):\n    return {call}\n",
                                      encoding="utf-8")
    output = run_cli(tmp_path, ["check", "--no-cache", "same.py"])
    assert short(output_lines(output)) == expected


@pytest.mark.parametrize(("call", "expected"), [
    pytest.param("normalize(p)", [], id="the branch the default does not take"),
    pytest.param("normalize(p, sparse=False)", [], id="the branch a literal argument does not take"),
    # reported at the call (the summary's latent conversion) and, walked for that call, in the helper `normalize`
    # calls: a conversion in a nested helper is not always a latent site of the outer one (deeprobust's
    # `np.log(d_min - 0.5)` in `compute_alpha`, reached through `likelihood_ratio_filter`), so it is not dropped
    pytest.param("normalize(p, True)", ["pkg/caller.py:7:22: TL101", "pkg/graph.py:12:12: TL101"],
                 id="the branch a literal argument takes"),
    pytest.param("normalize(p, flag)", ["pkg/caller.py:7:22: TL101", "pkg/graph.py:12:12: TL101"],
                 id="an unknown flag may take it"),
    pytest.param("degrees(p)", [], id="a fallback in an except handler"),
    pytest.param("np.asarray(weighted(torch.ones(2), torch.ones(2)))", [],
                 id="an annotation is not the caller's evidence"),
    pytest.param("early(p)", [], id="the default returns before the conversion"),
    pytest.param("early(p, sparse=True)", ["pkg/caller.py:7:18: TL101", "pkg/graph.py:12:12: TL101"],
                 id="a literal argument gets past the return"),
    pytest.param("np.asarray(mel(torch.ones(2)))", [], id="a None-default device left out: nothing moved"),
    pytest.param("np.asarray(mel(torch.ones(2), None))", [], id="a None device passed: nothing moved"),
    pytest.param("np.asarray(mel(torch.ones(2), 'cuda'))", ["pkg/caller.py:7:23: TL102"],
                 id="a device passed: the result is moved there"),
    pytest.param("np.asarray(mel(*[torch.ones(2)]))", ["pkg/caller.py:7:23: TL102"],
                 id="star arguments may pass the device"),
])
def test_guards_and_paths(tmp_path, call, expected):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "graph.py").write_text(GUARDED, encoding="utf-8")
    (package / "caller.py").write_text(
        "import numpy as np\nimport torch\nfrom .graph import degrees, early, mel, normalize, weighted\n\n\n"
        f"def f(p: torch.nn.Parameter, flag):\n    return {call}\n", encoding="utf-8")
    output = run_cli(tmp_path, ["check", "--no-cache", "--project", "pkg"])
    assert short(output_lines(output)) == expected
