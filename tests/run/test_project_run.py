"""Project runs: `tensorlint check DIR` lets the modules of one project tell each other what they know.

Every test drives the real command (in-process `main`, or a subprocess for the CLI and flake8) over a small
package written to tmp_path, and compares the exact lines printed with `--project` and without it (each file alone).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

import pytest

from tensorlint.adapters.cli.main import main
from tensorlint.run.modules import module_places, project_imports

UTILS = """\
import numpy as np
import torch


def to_np(values):
    return np.asarray(values)


def predict(x):
    model = torch.nn.Linear(2, 2).cuda()
    return model(x)


def host_buffer():
    return torch.zeros(3)
"""
BASE = """\
class Trainer:
    def fit(self, train_loader, optimizer):
        for batch in train_loader:
            loss = self.training_forward(batch)
            loss.backward()
            optimizer.step()
"""
TRAIN = """\
import numpy as np
import torch
from . import to_np
from .base import Trainer
from .utils import host_buffer, predict


def run(x):
    out = predict(x)
    probs = np.asarray(out)
    buffer = host_buffer().numpy()
    model = torch.nn.Linear(2, 2)
    return to_np(model(x))


class Regressor(Trainer):
    def training_forward(self, batch):
        loss = self.criterion(batch.cuda())
        print(loss.item())
        return loss
"""
# What the project tells train.py: a helper's return (line 10), a host buffer (line 11, no longer flagged),
# a step method inherited from another module (line 19), and that `to_np` converts what line 13 passes it
# (reported at that call, in train.py: the evidence is there, the helper alone has none).
# Every run selects the opt-in TL105, so that a value of unknown provenance shows: alone, `host_buffer()` is
# one (line 11); the project knows it is a CPU buffer that needs no grad.
WITH_PROJECT = [
    "pkg/train.py:10:24: TL101",
    "pkg/train.py:10:24: TL102",
    "pkg/train.py:13:18: TL101",
    "pkg/train.py:19:15: TL401",
]
ALONE = [
    "pkg/train.py:11:14: TL105",
]


def write_package(root: Path, files=None) -> Path:
    files = files or {"__init__.py": "from .utils import to_np\n", "utils.py": UTILS, "base.py": BASE,
                      "train.py": TRAIN}
    package = root / "pkg"
    package.mkdir(parents=True)
    for name, text in files.items():
        (package / name).write_text(text, encoding="utf-8")
    return package


def check(*args: str, cwd: Path):
    """`tensorlint check --extend-select TL105 ARGS`: a project run, the default (with "--no-project" among ARGS,
    each file alone)."""
    out = StringIO()
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        with redirect_stdout(out):
            code = main(["check", "--extend-select", "TL105", *args])
    finally:
        os.chdir(previous)
    return code, [line for line in out.getvalue().splitlines() if ": TL" in line]


def codes_at(lines):
    return [line.split(" ", 2)[0] + " " + line.split(" ", 2)[1] for line in lines]


def summaries_made_from_text(monkeypatch) -> list:
    """The names of the files whose summaries the run makes from their text (not from phase 1's parse), in order."""
    import tensorlint.run.summaries as summaries
    summarised = []
    real = summaries.summarize_file

    def counting(path, *args, **kwargs):
        summarised.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(summaries, "summarize_file", counting)
    return summarised


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TENSORLINT_CACHE_DIR", str(tmp_path / "cache"))


def test_modules_tell_each_other_returns_bases_and_calls(tmp_path):
    write_package(tmp_path)
    code, lines = check("--no-cache", "pkg", cwd=tmp_path)
    assert code == 1
    assert codes_at(lines) == WITH_PROJECT
    call_site = lines[2]
    assert "`to_np()` (through `np.asarray()` at pkg/utils.py:6) converts a tensor that may require grad" in call_site
    assert "(it comes from `model(x)` (line 13))" in call_site


def test_without_project_each_file_is_checked_alone(tmp_path):
    write_package(tmp_path)
    _, lines = check("--no-cache", "--no-project", "pkg", cwd=tmp_path)
    assert codes_at(lines) == ALONE


def test_one_file_given_sees_the_modules_beside_it(tmp_path):
    """pre-commit passes only the changed files: the modules they import answer from disk, unchecked, so
    the call into utils.py (an incoming call) gives no finding there."""
    write_package(tmp_path)
    _, lines = check("--no-cache", "pkg/train.py", cwd=tmp_path)
    assert codes_at(lines) == [line for line in WITH_PROJECT if line.startswith("pkg/train.py")]
    _, alone = check("--no-cache", "--no-project", "pkg/train.py", cwd=tmp_path)
    assert codes_at(alone) == ALONE


def test_jobs_and_the_cache_give_the_same_lines(tmp_path):
    write_package(tmp_path)
    _, serial = check("-j1", "pkg", cwd=tmp_path)
    _, parallel = check("-j2", "pkg", cwd=tmp_path)
    _, warm = check("-j2", "pkg", cwd=tmp_path)
    assert serial == parallel == warm
    assert codes_at(warm) == WITH_PROJECT
    entries = list((tmp_path / "cache" / "v2").rglob("*.json"))
    assert entries and all(isinstance(json.loads(p.read_text()), dict) for p in entries)


def test_a_changed_helper_reaches_its_callers_through_the_cache(tmp_path):
    package = write_package(tmp_path)
    _, before = check("pkg", cwd=tmp_path)
    assert "pkg/train.py:10:24: TL101" in codes_at(before)
    (package / "utils.py").write_text(UTILS.replace("return model(x)", "return model(x).detach().cpu()"))
    _, after = check("pkg", cwd=tmp_path)
    assert not any(line.startswith("pkg/train.py:10:") for line in after)


def test_a_broken_module_is_a_finding_and_the_rest_still_runs(tmp_path):
    files = {"__init__.py": "", "utils.py": "def predict(x:\n", "train.py": TRAIN.replace("from . import to_np\n", "")
             .replace("from .base import Trainer\n", "").replace("(Trainer)", "")}
    write_package(tmp_path, files)
    code, lines = check("--no-cache", "pkg", cwd=tmp_path)
    assert code == 1
    assert any(line.startswith("pkg/utils.py:1:") and " TL002 " in line for line in lines)
    assert any(line.startswith("pkg/train.py:10:") for line in lines) is False  # predict: unknown, implicit sink


def test_two_files_claiming_one_module_are_left_out(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "helpers.py").write_text(UTILS)
        (tmp_path / folder / "main.py").write_text(
            "import numpy as np\nfrom helpers import predict\n\nprobs = np.asarray(predict(1))\n")
    _, lines = check("--no-cache", "a", "b", cwd=tmp_path)
    assert lines == []  # `helpers` is ambiguous: neither main.py gets its summary
    (tmp_path / "b" / "helpers.py").unlink()
    _, lines = check("--no-cache", "a", "b", cwd=tmp_path)
    assert codes_at(lines) == ["a/main.py:4:20: TL101", "a/main.py:4:20: TL102",
                               "b/main.py:4:20: TL101", "b/main.py:4:20: TL102"]


def test_star_imports_bring_the_project_modules_names(tmp_path):
    files = {"__init__.py": "", "core.py": "import torch\nimport torch.nn as nn\n\n\ndef build():\n"
             "    return nn.Linear(2, 2).cuda()\n",
             "use.py": "import numpy as np\nfrom .core import *\n\n\ndef go(x):\n    return np.asarray(build()(x))\n"}
    write_package(tmp_path, files)
    _, lines = check("--no-cache", "pkg", cwd=tmp_path)
    assert codes_at(lines) == ["pkg/use.py:6:23: TL101", "pkg/use.py:6:23: TL102"]
    _, alone = check("--no-cache", "--no-project", "pkg", cwd=tmp_path)
    assert alone == []


def test_module_places(tmp_path):
    (tmp_path / "src" / "pkg" / "sub").mkdir(parents=True)
    for name in ("src/pkg/__init__.py", "src/pkg/sub/__init__.py", "src/pkg/sub/m.py", "script.py",
                 "src/pkg/not-a-module.py", "src/pkg/sub/notes.txt"):
        (tmp_path / name).write_text("")
    paths = [str(tmp_path / p) for p in ("src/pkg/__init__.py", "src/pkg/sub/__init__.py", "src/pkg/sub/m.py",
                                         "script.py", "src/pkg/not-a-module.py", "src/pkg/sub/notes.txt")]
    assert module_places(paths) == {paths[0]: ("pkg", True), paths[1]: ("pkg.sub", True),
                                    paths[2]: ("pkg.sub.m", False), paths[3]: ("script", False)}


def test_project_imports_resolve_relative_and_star_imports():
    import ast
    tree = ast.parse("from .utils import a\nfrom ..core import *\nfrom numpy import ones\nimport pkg.x\n"
                     "from pkg.models import Net as N\n")
    assert project_imports(tree, "pkg.sub.m", False) == ["*pkg.core", "pkg.models.Net", "pkg.sub.utils.a"]
    assert project_imports(tree, "pkg.sub", True) == ["*pkg.core", "pkg.models.Net", "pkg.sub.utils.a"]


def test_the_command_in_a_subprocess(tmp_path):
    write_package(tmp_path)
    env = dict(os.environ, TENSORLINT_CACHE_DIR=str(tmp_path / "cache"))
    result = subprocess.run([sys.executable, "-m", "tensorlint", "check", "--extend-select", "TL105", "--project", "pkg"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert codes_at([line for line in result.stdout.splitlines() if ": TL" in line]) == WITH_PROJECT


def test_flake8_sees_what_each_file_imports(tmp_path):
    """flake8 hands a plugin one file: it sees what the modules the file imports tell it, but not the calls
    other files make into it (documented in docs/provenance.md)."""
    pytest.importorskip("flake8")
    write_package(tmp_path)
    result = subprocess.run([sys.executable, "-m", "flake8", "--select", "TL,TL105", "pkg"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert codes_at(result.stdout.splitlines()) == [
        line for line in WITH_PROJECT if line.startswith("pkg/train.py")], result.stderr


def test_a_parsed_module_brings_its_summary_from_phase_one(tmp_path, monkeypatch):
    """utils.py and base.py have candidate sites, so phase 1 parses them; their summaries come from that
    parse, and only the prescreened-out `__init__.py` is summarised from its text."""
    summarised = summaries_made_from_text(monkeypatch)
    write_package(tmp_path)
    _, lines = check("--no-cache", "-j1", "pkg", cwd=tmp_path)
    assert codes_at(lines) == WITH_PROJECT
    assert "utils.py" not in summarised and "train.py" not in summarised


def test_fix_and_add_noqa_see_what_each_file_imports(tmp_path):
    """`fix` and `--add-noqa` go one file at a time, with the summaries of what the file imports: the model
    output `predict(x)` returns (utils.py) is fixed in train.py, and silenced there by --add-noqa."""
    package = write_package(tmp_path)
    previous = os.getcwd()
    os.chdir(tmp_path)
    try:
        with redirect_stdout(StringIO()):
            assert main(["fix", "--unsafe-fixes", "--select", "TL1", "pkg/train.py"]) == 0
    finally:
        os.chdir(previous)
    fixed = (package / "train.py").read_text().splitlines()
    assert fixed[9] == "    probs = np.asarray(out.detach().cpu())"
    write_package(tmp_path / "again")
    code, lines = check("--add-noqa", "--select", "TL1", "pkg/train.py", cwd=tmp_path / "again")
    assert code == 0 and lines == []
    assert (tmp_path / "again" / "pkg" / "train.py").read_text().splitlines()[9].endswith("# noqa: TL101, TL102")


def test_a_module_class_without_parameters_is_no_evidence_of_grad(tmp_path):
    """`CosineAttention()(a, b)` of another module computes from its inputs only: no parameter of its own, so its
    output requires grad only if they do. A module class that sets a layer on `self` is evidence."""
    files = {"__init__.py": "",
             "layers.py": "import torch\n\n\nclass Cosine(torch.nn.Module):\n    def forward(self, a, b):\n"
                          "        return torch.cosine_similarity(a, b)\n\n\n"
                          "class Scorer(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                          "        self.proj = torch.nn.Linear(2, 2)\n\n    def forward(self, a):\n"
                          "        return self.proj(a)\n",
             "use.py": "import torch\nfrom .layers import Cosine, Scorer\n\n"
                       "a = torch.ones(2, 2)\nprint(Cosine()(a, a).numpy())\nprint(Scorer()(a).numpy())\n"}
    write_package(tmp_path, files)
    _, lines = check("--no-cache", "--select", "TL101", "pkg", cwd=tmp_path)
    assert codes_at(lines) == ["pkg/use.py:5:7: TL105", "pkg/use.py:6:7: TL101"]  # TL105: selected in every run here


def test_the_import_pre_scan_names_what_phase_one_summarises(tmp_path):
    from tensorlint.run.project_run import imported_somewhere
    package = write_package(tmp_path)
    places = {str(path): (module, package_, None) for path, (module, package_) in module_places(
        [str(p) for p in sorted(package.glob("*.py"))]).items()}
    found = imported_somewhere(places)
    assert found["pkg.utils"] == {"host_buffer", "predict", "to_np"}   # from `from .utils import ...` lines
    assert found["pkg"] == {"to_np"} and found["pkg.base"] == {"Trainer"}
    assert found["pkg.utils.predict"] is None                         # `from pkg import x` may name a submodule
    assert "pkg.train" not in found                                   # nothing imports it: no summary in phase 1


def test_fix_and_no_cache_write_no_summary_cache(tmp_path, monkeypatch):
    """`fix` writes nothing but the files it fixes (`--diff` nothing at all), and `--no-cache` means no cache:
    the summaries of what a file imports stay in memory then."""
    monkeypatch.delenv("TENSORLINT_CACHE_DIR")
    write_package(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'pkg'\n")
    previous = os.getcwd()
    os.chdir(tmp_path)
    try:
        with redirect_stdout(StringIO()) as out:
            assert main(["fix", "--diff", "--unsafe-fixes", "--select", "TL1", "pkg/train.py"]) == 1
            assert main(["check", "--no-cache", "--add-noqa", "--select", "TL1", "pkg/train.py"]) == 0
    finally:
        os.chdir(previous)
    assert "out.detach().cpu()" in out.getvalue()   # the fix still saw what utils.py's predict returns
    assert not (tmp_path / ".tensorlint_cache").exists()


INITS = "def zeros(value):\n    if value is not None:\n        value.data.fill_(0)\n"
CONV = """\
import torch
from .inits import zeros


class Conv(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.bias = torch.nn.Parameter(torch.empty(3))
        zeros(self.bias)
"""


@pytest.mark.parametrize("select", ["TL", "TL2", "TL202"])
@pytest.mark.parametrize("prescreen", ["1", "0"])
def test_a_caller_the_prescreen_leaves_alone_still_calls_in(tmp_path, monkeypatch, select, prescreen):
    """conv.py has no candidate site of its own (no `.data`, no conversion), so the prescreen leaves it alone; its
    call `zeros(self.bias)` is still the evidence that makes `value.data` in inits.py a parameter's: the finding
    is the same whatever is selected and with or without the prescreen."""
    monkeypatch.setenv("TENSORLINT_PRESCREEN", prescreen)
    write_package(tmp_path, {"__init__.py": "", "inits.py": INITS, "conv.py": CONV})
    _, lines = check("--no-cache", "-j1", "--select", select, "pkg", cwd=tmp_path)
    assert codes_at(lines) == ["pkg/inits.py:3:9: TL202"]
    assert lines[0].endswith("(reached from the call `zeros(self.bias)` at pkg/conv.py:9)")


def test_fix_summarises_a_module_its_files_import_once(tmp_path, monkeypatch):
    """`fix` goes one file at a time; the module many of them import is summarised once per process, not once per
    importer (it made `fix` ten times slower than `check` on a 356-file project), and an edit is seen at once."""
    import tensorlint.analysis.summarize as summarize
    made = []
    real = summarize.summarize_module

    def counting(module, project, *args, **kwargs):
        made.append(project.module)
        return real(module, project, *args, **kwargs)

    monkeypatch.setattr(summarize, "summarize_module", counting)
    users = {f"use{i}.py": "import numpy as np\nfrom .utils import predict\n\n\n"
                           "def run(x):\n    return np.asarray(predict(x))\n" for i in range(4)}
    package = write_package(tmp_path, {"__init__.py": "", "utils.py": UTILS, **users})
    previous = os.getcwd()
    os.chdir(tmp_path)
    try:
        with redirect_stdout(StringIO()) as out:
            assert main(["fix", "--diff", "--unsafe-fixes", "-j", "1", "--select", "TL1", "pkg"]) == 1
            assert made.count("pkg.utils") == 1
            (package / "utils.py").write_text(UTILS.replace("return model(x)", "return model(x).detach().cpu()"),
                                              encoding="utf-8")
            main(["fix", "--diff", "--unsafe-fixes", "-j", "1", "--select", "TL1", "pkg/use0.py"])
    finally:
        os.chdir(previous)
    assert made.count("pkg.utils") == 2          # the edited text is a new summary: use0.py has nothing to fix
    assert out.getvalue().count("+    return np.asarray(predict(x).detach().cpu())") == 4


@pytest.mark.parametrize("source, callee", [
    pytest.param("import pkg\n\n\ndef f(x):\n    return pkg.to_np(x)\n", "to_np", id="text found once"),
    pytest.param("y = (\n    pkg.to_np(x)\n)\n", "to_np", id="a parenthesised call starts at its callee"),
    pytest.param("y = ( # why\n   (pkg.to_np(x)))\n", "to_np", id="nested parentheses and a comment"),
    pytest.param("a = 1\r\nb = 2\rc = pkg.to_np(\r\n  x)\n", "to_np", id="CRLF and CR line endings"),
    pytest.param("\ufeffa = 1\nb = pkg.to_np(x)\n", "to_np", id="a byte-order mark libcst drops"),
    pytest.param('"""pkg.to_np(x)"""\nb = pkg.to_np(x)\n', "to_np", id="the same text in a docstring"),
    pytest.param("a = pkg.to_np(x)\nb = pkg.to_np(x)\n", "to_np", id="the same call twice"),
])
def test_call_line_gives_the_line_of_the_positions_pass(source, callee):
    """An outgoing call's line without the positions pass where its text is unique, and from the pass (the
    fallback) where it is not: the same line either way."""
    import libcst as cst
    import libcst.matchers as m
    from tensorlint.analysis.crossmodule import call_line
    from tensorlint.core.positions import NodePositions
    module = cst.parse_module(source)
    positions = NodePositions(module)
    calls = m.findall(module, m.Call(func=m.Attribute(attr=m.Name(callee))))
    assert calls
    fallbacks = []

    def fallback(node):
        fallbacks.append(node)
        return positions.span(node)[0]

    for node in calls:
        assert call_line(source, module, node, fallback) == positions.span(node)[0]
    repeated = source.count(module.code_for_node(calls[0])) > 1
    assert bool(fallbacks) == repeated


def test_import_statements_are_found_in_every_block_and_only_there():
    import ast
    from tensorlint.run.modules import import_statements
    tree = ast.parse(
        "import a\n"
        "def f():\n    from .b import c\n    x = lambda: 'import d'\n"
        "class C:\n    if X:\n        import e\n    else:\n        from f import g\n"
        "try:\n    import h\nexcept ImportError:\n    import i\nfinally:\n    import j\n"
        "match y:\n    case 1:\n        import k\n"
        "with open(p) as q:\n    for r in s:\n        while t:\n            from l import m\n")
    assert sorted(a.name for n in import_statements(tree, ast.Import) for a in n.names) == ["a", "e", "h", "i", "j", "k"]
    assert sorted(n.module for n in import_statements(tree, ast.ImportFrom)) == ["b", "f", "l"]


def test_a_file_nothing_can_start_asks_for_no_summary(tmp_path, monkeypatch):
    """Files the prescreen left alone are rechecked only for a step or a conversion from elsewhere. `user.py`
    imports from `consts.py`, which has neither and imports nothing: no summary is made for it. `caller.py`
    imports through `reexport.py`, which has neither itself but leads to `steps.py`, which steps: summarised."""
    summarised = summaries_made_from_text(monkeypatch)
    write_package(tmp_path, {
        "__init__.py": "",
        "consts.py": "SIZE = 3\n\n\ndef double(x):\n    return x * 2\n",
        "user.py": "from .consts import double\n\nprint(double(2))\n",
        "steps.py": "def train_step(model, batch, optimizer):\n    model(batch).backward()\n    optimizer.step()\n",
        "reexport.py": "from .steps import train_step\n",
        "caller.py": "from .reexport import train_step\n",
    })
    check("--no-cache", "-j1", "pkg", cwd=tmp_path)
    assert "consts.py" not in summarised
    assert {"reexport.py", "steps.py"} <= set(summarised)


def test_cannot_step_reads_steps_and_data_loops_off_the_tree():
    import ast
    from tensorlint.run.project_run import _cannot_step
    assert _cannot_step(ast.parse("def f(x):\n    for row in rows:\n        x.add(row)\n"))
    assert not _cannot_step(ast.parse("def f(loss):\n    loss.backward()\n"))
    assert not _cannot_step(ast.parse("def f(opt):\n    opt.zero_grad()\n"))
    assert not _cannot_step(ast.parse("class T:\n    def fit(self):\n        for b in self.train_loader:\n"
                                      "            self.forward_batch(b)\n"))


def test_a_numpy_name_the_project_assigns_back_is_not_reported_anywhere_in_it(tmp_path):
    """recbole's `compatibility_settings()` runs `np.float = np.float_` before any model code: a removed alias
    the project re-creates exists when its other modules use it. The cache must not keep the old answer."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "metrics.py").write_text("import numpy as np\n\nx = np.zeros(3, dtype=np.float)\ny = np.int(3)\n",
                                        encoding="utf-8")
    _, before = check("pkg", cwd=tmp_path)
    assert codes_at(before) == ["pkg/metrics.py:3:23: TL301", "pkg/metrics.py:4:5: TL301"]
    (package / "config.py").write_text("import numpy as np\n\n\ndef compatibility_settings():\n"
                                       "    np.float = np.float_\n    setattr(np, 'long', np.int64)\n",
                                       encoding="utf-8")
    _, lines = check("pkg", cwd=tmp_path)
    assert codes_at(lines) == ["pkg/config.py:5:16: TL302", "pkg/metrics.py:4:5: TL301"]
    _, alone = check("--no-project", "pkg", cwd=tmp_path)
    assert "pkg/metrics.py:3:23: TL301" in codes_at(alone)  # each file alone cannot know


def test_numpy_names_restored_reads_assignments_and_setattr():
    from tensorlint.run.project_run import numpy_names_restored
    text = "np.float = np.float_\nif np.int == 1:\n    numpy.long = int\nsetattr(np, \"bool\", bool)\nx = np.str\n"
    assert numpy_names_restored(text) == {"float", "long", "bool"}


def test_a_helper_calling_its_model_parameter_returns_grad_only_for_a_model_the_caller_shows(tmp_path):
    """docs/provenance.md, "A model passed in as a parameter": the helper's name for its parameter is no evidence;
    the caller's argument is (a module built from `torch.nn` here; not the caller's own parameter `model`)."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "features.py").write_text("import torch\n\n\ndef get_features(model, x):\n    return model(x)\n",
                                         encoding="utf-8")
    caller = "import torch\nfrom pkg.features import get_features\n\n\ndef main({params}):\n" \
             "    feats = get_features({model}, x)\n    return feats.numpy()\n"
    (package / "built.py").write_text(caller.format(params="x", model="torch.nn.Linear(2, 2)"), encoding="utf-8")
    (package / "passed.py").write_text(caller.format(params="model, x", model="model"), encoding="utf-8")
    _, lines = check("--no-cache", "pkg", cwd=tmp_path)
    found = [line for line in lines if " TL101 " in line]
    assert codes_at(found) == ["pkg/built.py:7:12: TL101"]
    assert "(`feats` comes from a call of the argument `model` in another module)" in found[0]
