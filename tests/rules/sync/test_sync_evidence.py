"""TL4 across calls: a helper that waits for the device on every call makes one more sync of the step free,
same file or another module of the project (through its summary); and what `syncs_every_call` counts."""
from __future__ import annotations

import os
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

import libcst as cst
import pytest

from tensorlint.analysis.crossmodule import FunctionSummary, ProjectContext
from tensorlint.analysis.loops import syncs_every_call
from tensorlint.analysis.summarize import summarize_module
from tensorlint.adapters.cli.main import main

HELPERS = """\
import torch


def partition(data, labels):
    classes = labels.unique()
    return data[labels == classes[0]], data[labels != classes[0]]


def maybe_partition(data, labels, split):
    if split:
        return data[labels > 0]
    return data
"""
TRAIN = """\
import torch
from pkg.helpers import maybe_partition, partition


def train(model, loader, opt, device):
    model = model.to(device)
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        support, query = partition(x, y)
        loss = model(query).sum()
        loss.backward()
        opt.step()
        print(loss.item())


def train_maybe(model, loader, opt, device):
    model = model.to(device)
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        query = maybe_partition(x, y, True)
        loss = model(query).sum()
        loss.backward()
        opt.step()
        print(loss.item())
"""


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TENSORLINT_CACHE_DIR", str(tmp_path / "cache"))


def check(root: Path, *args: str):
    out = StringIO()
    previous = os.getcwd()
    os.chdir(root)
    try:
        with redirect_stdout(out):
            main(["check", "--select", "TL4", *args])
    finally:
        os.chdir(previous)
    return [line.split(" ", 2)[0] + " " + line.split(" ", 2)[1] for line in out.getvalue().splitlines()
            if ": TL" in line]


def test_a_helper_of_another_module_that_syncs_every_call_makes_the_step_sync_anyway(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text(HELPERS)
    (package / "train.py").write_text(TRAIN)
    # `partition` calls `unique()` on each call: `loss.item()` (line 13) adds nothing to that step; the mask
    # indexing of `maybe_partition` sits under `if split:`, so its step may not sync (line 24 is reported)
    assert check(tmp_path, "--no-cache", "pkg") == ["pkg/train.py:24:15: TL401"]
    # alone, the file knows nothing of the helpers: both are reported
    assert check(tmp_path, "--no-cache", "--no-project", "pkg/train.py") == [
        "pkg/train.py:13:15: TL401", "pkg/train.py:24:15: TL401"]


def _summary(source: str, name: str) -> FunctionSummary:
    return summarize_module(cst.parse_module(source), ProjectContext(module="m")).functions[name]


def test_the_summary_says_which_functions_sync_on_every_call():
    assert _summary(HELPERS, "partition").syncs_every_call
    assert not _summary(HELPERS, "maybe_partition").syncs_every_call
    assert FunctionSummary.decode(_summary(HELPERS, "partition").encode()).syncs_every_call


def _syncs(body: str) -> bool:
    module = cst.parse_module("def f(x, m, items):\n" + "".join(f"    {line}\n" for line in body.splitlines()))
    return syncs_every_call(module.body[0])


@pytest.mark.parametrize("body", [
    "return x.unique()",
    "return torch.nonzero(m)",
    "y = x[m > 0]\nreturn y",
    "with ctx():\n    return x.masked_select(m)",
    "if x.unique().numel() > 2:\n    return 1",
], ids=["unique", "torch.nonzero", "mask indexing", "under with", "in an if test"])
def test_syncs_every_call(body):
    assert _syncs(body)


@pytest.mark.parametrize("body", [
    "if m:\n    return x.unique()",
    "for i in items:\n    x = x[m > i]",
    "try:\n    pass\nexcept ValueError:\n    x.nonzero()",
    "x[m > 0] = 0",
    "return [v.unique() for v in items]",
    "return np.unique(x)",
    "assert x.unique().numel() == 2, x.nonzero()",
    "def inner():\n    return x.unique()\nreturn inner",
], ids=["under if", "in a loop body", "except", "masked store", "comprehension", "np.unique", "assert",
        "nested function"])
def test_does_not_sync_every_call(body):
    module = cst.parse_module("import numpy as np\n\ndef f(x, m, items):\n"
                              + "".join(f"    {line}\n" for line in body.splitlines()))
    from tensorlint.analysis.imports import ImportMap
    imports = ImportMap(ProjectContext())
    imports.record_all(module.body)
    function = module.body[1]
    assert not syncs_every_call(function, outside_torch=lambda func: (imports.qualified(func) or "torch").split(
        ".")[0] != "torch")


PERPLEXITY = """\
import numpy as np
import torch


def perplexity(model, loader, out_dir, device):
    model = model.to(device)
    with DatadirWriter(out_dir) as writer:
        for keys, batch in loader:
            with torch.no_grad():
                nll, lengths = model(batch.to(device))
            nll = nll.detach().cpu().numpy().sum(1)
            lengths = lengths.detach().cpu().numpy()
            for key, one, n in zip(keys, nll, lengths):
                writer["utt2ppl"][key] = str(np.exp(one / n))
"""


@pytest.mark.parametrize("source, expected", [
    pytest.param(PERPLEXITY, [], id="written out through a for target and str()"),
    pytest.param(PERPLEXITY.replace('writer["utt2ppl"][key]', 'scores[key]'), [11, 12],
                 id="stored into a dict: collected, not written out"),
    pytest.param(PERPLEXITY.replace("torch.no_grad()", "torch.enable_grad()").replace(
        "            nll = nll.detach()", "            nll.sum().backward()\n            nll = nll.detach()"), [12, 13],
                 id="a training loop: its output is not the point of the step"),
])
def test_what_an_inference_loop_writes_out_is_not_a_per_step_copy(source, expected):
    from tensorlint.api import check_source
    assert [d.line for d in check_source(source, select=["TL4"])] == expected


def _syncs_in_module(body: str) -> bool:
    """`syncs_every_call` of `f` with the module's imports telling torch functions from the others."""
    module = cst.parse_module("import numpy as np\nimport torch\n\ndef f(self, x, m, flag):\n"
                              + "".join(f"    {line}\n" for line in body.splitlines()))
    from tensorlint.analysis.imports import ImportMap
    from tensorlint.analysis.loops import makes_a_tensor
    imports = ImportMap(ProjectContext())
    imports.record_all(module.body)
    qualified = imports.qualified
    return syncs_every_call(module.body[2], outside_torch=lambda func: (qualified(func) or "torch").split(".")[0] != "torch",
                            makes_tensor=lambda func: qualified(func) is not None and makes_a_tensor(qualified(func)))


@pytest.mark.parametrize("body", [
    "if torch.isnan(x):\n    raise ValueError('nan')",
    "if not torch.isfinite(x).all():\n    raise RuntimeError('diverged')",
    "if torch.isinf(x * 2).any() or flag:\n    raise RuntimeError('inf')",
    "if torch.isnan(x): raise ValueError('nan')",
], ids=["isnan then raise", "not isfinite().all()", "the left operand of or", "one-line if"])
def test_a_check_that_stops_the_run_on_a_parameter_tensor_syncs_every_call(body):
    assert _syncs_in_module(body)


@pytest.mark.parametrize("body", [
    "if torch.isnan(x):\n    x = torch.zeros_like(x)\nreturn x",
    "if torch.isnan(torch.zeros(1)):\n    raise ValueError('nan')",
    "if np.isnan(x):\n    raise ValueError('nan')",
    "if flag and torch.isnan(x):\n    raise ValueError('nan')",
    "if m:\n    if torch.isnan(x):\n        raise ValueError('nan')",
    "if torch.is_tensor(x):\n    raise TypeError('no tensors')",
    "if x.isnan():\n    raise ValueError('nan')",
    "if torch.isnan(self.total):\n    raise ValueError('nan')",
], ids=["body does not raise (a decision torch.where could keep)", "a tensor made in the helper, not given",
        "np.isnan (host)", "the right operand of and may not run", "under an if", "torch.is_tensor is a bool",
        "a method of an unknown value", "the object's own state, not what the caller gives"])
def test_checks_that_do_not_make_every_call_sync(body):
    assert not _syncs_in_module(body)


CHECK_NAN = """\
import torch


class Trainer:
    def __init__(self, model, device):
        self.model = model.to(device)
        self.device = device

    def _check_nan(self, loss):
        if torch.isnan(loss):
            raise ValueError("Training loss is nan")

    def fit(self, loader, loss_func, optimizer):
        total = None
        for batch in loader:
            batch = batch.to(self.device)
            losses = loss_func(batch)
            if isinstance(losses, tuple):
                loss = sum(losses)
            else:
                loss = losses
                total = losses.item() if total is None else total + losses.item()
            self._check_nan(loss)
            loss.backward()
            optimizer.step()
        return total
"""


@pytest.mark.parametrize("source, expected", [
    pytest.param(CHECK_NAN, [], id="a nan check that raises waits for the loss every step (recbole)"),
    pytest.param(CHECK_NAN.replace('raise ValueError("Training loss is nan")', "loss.zero_()"), [10, 22, 22],
                 id="a check that does not stop the run is a decision of its own: all reported"),
    pytest.param(CHECK_NAN.replace("self._check_nan(loss)", "pass"), [22, 22],
                 id="without the check the reads are reported"),
])
def test_a_helper_that_stops_the_run_on_the_loss_makes_its_reads_free(source, expected):
    from tensorlint.api import check_source
    assert [d.line for d in check_source(source, select=["TL4"])] == expected


def _fixed(source: str) -> bool:
    """`fixed_cases` of the first `for` loop of `f`, with `f` as its scope."""
    from tensorlint.analysis.loops import fixed_cases
    function = cst.parse_module(source).body[0]
    loop = next(s for s in function.body.body if isinstance(s, cst.For))
    return fixed_cases(loop.iter, function)


@pytest.mark.parametrize("source", [
    "def f():\n    for name in ['small.xyz', '1hz5.xyz']:\n        pass\n",
    "def f():\n    files = ('a.pt', 'b.pt')\n    for name in files:\n        pass\n",
    "def f():\n    for i, (lr, wd) in enumerate([(0.1, 0), (0.01, -1e-4)]):\n        pass\n",
    "def f():\n    cases = [1, 2]\n    for c in cases:\n        pass\n    cases = [3]\n",
], ids=["a list display", "a name bound to a tuple display", "enumerate of nested constants",
        "every binding a display of constants"])
def test_loops_over_constants_written_in_the_code(source):
    assert _fixed(source)


@pytest.mark.parametrize("source", [
    "def f(loader):\n    for batch in loader:\n        pass\n",
    "def f(a, b):\n    for x in [a, b]:\n        pass\n",
    "def f():\n    files = ['a.pt']\n    files.append('b.pt')\n    for name in files:\n        pass\n",
    "def f():\n    files = ['a.pt']\n    files += more()\n    for name in files:\n        pass\n",
    "def f(files=None):\n    for name in files:\n        pass\n",
    "def f(files):\n    def g():\n        files = ['a.pt']\n    for name in files:\n        pass\n",
    "def f(paths):\n    files = ['a.pt'] if paths is None else paths\n    for name in files:\n        pass\n",
    "def f():\n    for x in []:\n        pass\n",
    "def f():\n    files = ['a.pt']\n    for files in loaders():\n        pass\n    for name in files:\n        pass\n",
], ids=["a loader", "a display of names", "appended to", "extended", "a parameter",
        "a parameter, shadowed in a nested function", "bound to something else too",
        "an empty display", "rebound by a for target"])
def test_loops_over_anything_else_are_not_fixed(source):
    assert not _fixed(source)


TEST_LOOP = """\
import torch


def read(path, device):
    cell = None
    with open(path) as f:
        for line in f:
            values = torch.tensor([float(s) for s in line.split()], device=device)
            if cell is None:
                cell = values
            elif not (cell == values).all():
                raise ValueError("cells differ")
    return cell


def test_backward(model, device):
    files = ["small.xyz", "big.xyz"]
    for name in files:
        x = read(name, device).requires_grad_()
        model(x).sum().backward()
        print(x.grad.norm().item())
"""


@pytest.mark.parametrize("source, expected", [
    pytest.param(TEST_LOOP, [], id="a test over two fixture files is not a step loop (torchani read_xyz)"),
    pytest.param(TEST_LOOP.replace("files = [\"small.xyz\", \"big.xyz\"]", "files = list_files()"), [11, 21],
                 id="over files found at run time it is one"),
])
def test_a_loop_over_fixture_files_runs_cases_not_steps(source, expected):
    from tensorlint.api import check_source
    assert [d.line for d in check_source(source, select=["TL4"])] == expected
