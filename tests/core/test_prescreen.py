"""The `ast` prescreen: each family's condition, how the engine and flake8 use it, and the proof that it
loses nothing (findings with and without it, on every rule case, fixture, fuzz program and the corpus)."""
import ast
import random
import sys
from pathlib import Path

import libcst as cst
import pytest

from tensorlint.core import engine

from tensorlint.rules import prescreen
from tensorlint.analysis import loops, step_names
from tensorlint.adapters.flake8_plugin import TensorlintChecker
from tensorlint.rules import ALL_RULES, FamilyChecker, Rule

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import prescreen_check  # noqa: E402  (the comparison lives with the corpus script)

try:
    import test_fuzz  # the CI fuzz generators; needs hypothesis and hypothesmith
except pytest.skip.Exception:
    test_fuzz = None

EVERY_CODE = frozenset(rule.code for rule in ALL_RULES)
# A model built here and moved to the device: its output is manifestly TL101 and TL102.
MOVED_MODEL = "import torch\ndef f(x, device):\n    model = torch.nn.Linear(2, 2).to(device)\n    return model(x).numpy()\n"


def kept(source):
    return {family for family in prescreen.FAMILIES
            if family not in prescreen.families_without_candidates(ast.parse(source))}


# -- the conditions, family by family ---------------------------------------------------------------
@pytest.mark.parametrize("source, family", [
    pytest.param("y = x.numpy()\n", "TL1", id="a .numpy() call, nothing imported"),
    pytest.param("import numpy as np\ny = np.asarray(t)\n", "TL1", id="a numpy call with an argument"),
    pytest.param("from numpy import asarray\ny = asarray(t)\n", "TL1", id="a name imported from numpy"),
    pytest.param("def f(t):\n    return np.mean(t)\n\ndef g():\n    import numpy as np\n", "TL1",
                 id="imported below the call, inside a function"),
    pytest.param("from sklearn import metrics\nm = metrics.f1_score(y, p)\n", "TL1", id="sklearn.metrics"),
    pytest.param("import matplotlib.pyplot as plt\nplt.plot(t)\n", "TL1", id="pyplot"),
    pytest.param("def show(axes, t):\n    axes[0].imshow(t)\n", "TL1", id="a plot on an ax* value, nothing imported"),
    pytest.param("from .core import *\ny = np.asarray(t)\n", "TL1", id="np from a star import"),
    pytest.param("p.data.zero_()\n", "TL2", id=".data"),
    pytest.param("a = torch.ones(3)\nimport a.data\n", "TL2", id="libcst makes an Attribute of a dotted import"),
    pytest.param("def f(pkg):\n    from pkg.data import load\n", "TL2", id="a dotted from-import of a parameter"),
    pytest.param("from helpers import *\nimport a.data\n", "TL2", id="a star import may bind the head"),
    pytest.param("import numpy as np\nx = np.float\n", "TL3", id="np.float"),
    pytest.param("import numpy.linalg\nnan = numpy.NaN\n", "TL3", id="numpy bound by a dotted import"),
    pytest.param("from numpy import product\n", "TL3", id="from numpy import a removed name"),
    pytest.param("import numpy.compat\n", "TL3", id="a removed module"),
    pytest.param("from numpy.array_api import asarray\n", "TL3", id="from a removed module"),
    pytest.param("from .core import *\nx = np.object\n", "TL3", id="np from a star import, relative"),
    pytest.param("import torch\nfor batch in train_loader:\n    out = model(batch)\n", "TL4", id="loader loop"),
    pytest.param("import torch\nfor step in range(n):\n    y = f(step)\n", "TL4", id="range loop with a call"),
    pytest.param("import torch\nfor step, batch in enumerate(loader):\n    y = batch\n", "TL4",
                 id="a loop over data needs no call"),
    pytest.param("import torch\npbar = tqdm(train_loader)\nfor batch in pbar:\n    y = batch\n", "TL4",
                 id="a name bound to a loader"),
    pytest.param("import torch\nfor b in data:\n    step(b)\n\ndef train_step(b):\n    b.backward()\n\n"
                 "step = partial(train_step, lr=1)\n", "TL4", id="a partial of a helper that steps"),
    pytest.param("import torch\nfor b in tqdm(enumerate(self.train_dataloader())):\n    f(b)\n", "TL4",
                 id="loader inside wrappers"),
    pytest.param("from torch import nn\nwhile not done:\n    done = step()\n", "TL4", id="while loop"),
    pytest.param("import torch\nfor b in data:\n    loss.backward()\n", "TL4", id="backward in any loop"),
    pytest.param("from .imports.torch import *\nfor b in dl:\n    y = b\n", "TL4", id="torch from a star import"),
    pytest.param("import torch\nclass M(LightningModule):\n    def training_step(self, batch):\n"
                 "        return batch.item()\n", "TL4", id="a Lightning step method, no loop"),
    pytest.param("import torch\nfor b in data:\n    self.manual_backward(loss)\n", "TL4", id="manual_backward"),
    pytest.param("import torch\nfor b in data:\n    self.train_step(b)\n\n"
                 "def train_step(self, b):\n    optimizer.step()\n", "TL4", id="a helper that steps"),
    pytest.param("import torch\nfor b in data:\n    run(b)\n\ndef run(b):\n    inner(b)\n\n"
                 "def inner(b):\n    b.backward()\n", "TL4", id="a helper's helper"),
    pytest.param("import torch\nfor b in data:\n    trainer(b)\n\nclass T:\n    def __call__(self, b):\n"
                 "        b.backward()\n", "TL4", id="an instance call"),
    pytest.param("import torch\nclass M(nn.Module):\n    def forward(self, x):\n        for i in range(3):\n"
                 "            x.backward()\n", "TL4", id="backward in forward"),
    pytest.param("import torch\nclass M(nn.Module):\n    def generate(self, x):\n        for i in range(n):\n"
                 "            x = self.decoder(x)\n", "TL4", id="a generation method of a module"),
    pytest.param("import torch\nclass M(nn.Module):\n    if flag:\n        def run(self, x):\n"
                 "            for i in range(n):\n                x = self.layer(x)\n", "TL4",
                 id="a def under an if in a class body is no method"),
    pytest.param("import torch\nclass M:\n    def build(self):\n        for i in range(3):\n"
                 "            self.add(i)\n", "TL4", id="a plain class's method"),
    pytest.param("y = x.to('cpu', non_blocking=True)\n", "TL5", id="a non_blocking keyword"),
    pytest.param("dst.copy_(x, True)\n", "TL5", id="copy_ with a positional non_blocking"),
    pytest.param("import torch\nt = torch.from_numpy(buf)\n", "TL5", id="torch.from_numpy"),
    pytest.param("import torch as th\nt = th.as_tensor(buf)\n", "TL5", id="an alias of torch"),
    pytest.param("from torch import from_numpy as wrap\nt = wrap(buf)\n", "TL5", id="imported from torch, renamed"),
    pytest.param("from .common import *\nt = from_numpy(buf)\n", "TL5", id="a star import may bind from_numpy"),
    pytest.param("from .common import *\nw = np.asarray(p)\n", "TL5", id="a star import may bind np"),
    pytest.param("from numpy import asarray as arr\nw = arr(p)\n", "TL5", id="asarray imported from numpy"),
    pytest.param("w = p.detach().numpy()\n", "TL5", id="a .numpy() call"),
    pytest.param("import numpy as np\nimport torch\nt = torch.from_numpy(np.zeros(3))\n", "TL5",
                 id="numpy and torch calls"),
])
def test_family_kept(source, family):
    assert family in kept(source)


@pytest.mark.parametrize("source, family", [
    pytest.param("import numpy as np\nx = np.pi\n", "TL1", id="numpy without a call"),
    pytest.param("import numpy as np\nrng = np.random.default_rng()\n", "TL1", id="a numpy call without arguments"),
    pytest.param("import numpy as np\ny = np.random.default_rng().normal(t)\n", "TL1",
                 id="a call on a call: not a dotted name"),
    pytest.param("import jax.numpy as jnp\ny = jnp.asarray(t)\n", "TL1", id="jax.numpy"),
    pytest.param("# x.numpy()\ns = 'np.asarray(t)'\n", "TL1", id="comments and strings"),
    pytest.param("from .utils import _LazyModule\nif TYPE_CHECKING:\n    from .conf import *\n"
                 "m = _LazyModule(__name__)\n", "TL1", id="a star import does not rebind a top-level import"),
    pytest.param("def f(ax, t):\n    ax.set_title(t)\n", "TL1", id="not a plot function"),
    pytest.param("d = dataset.data_ptr()\nx = self.dataset\n", "TL2", id="names that start with data"),
    pytest.param("from .data import load\nimport data.loader\n", "TL2", id="`data` first in an import"),
    pytest.param("import torch.utils.data\nfrom torch.utils.data import DataLoader\n", "TL2",
                 id="a module path: the head is only imported"),
    pytest.param("import numpy as np\ny = t.float()\n", "TL3", id="a tensor's .float()"),
    pytest.param("np = load()\nx = np.float\n", "TL3", id="np not bound by an import"),
    pytest.param("import numpy as np\nx = np.float64\n", "TL3", id="a name NumPy still has"),
    pytest.param("for batch in train_loader:\n    out = model(batch)\n", "TL4", id="no torch import"),
    pytest.param("from .core import helper\nfor batch in train_loader:\n    out = model(batch)\n", "TL4",
                 id="a relative import is not a star import"),
    pytest.param("import torch\nfor x in xs:\n    f(x)\n", "TL4", id="a loop over a list"),
    pytest.param("import torch\nself.pbar = tqdm(steps)\nfor x in self.layers:\n    y = x\n", "TL4",
                 id="only the bound name counts, not its owner"),
    pytest.param("import torch\nfor i in range(3):\n    total = total + i\nf(x)\n", "TL4", id="no call in the loop"),
    pytest.param("import torch\nclass M(nn.Module):\n    def forward(self, x):\n        for i in range(3):\n"
                 "            x = self.layers[i](x)\n        return x\n", "TL4", id="a layer walk in forward"),
    pytest.param("import torch\nclass M(nn.Module):\n    def build(self):\n        for i in range(3):\n"
                 "            self.add(i)\n", "TL4", id="a module's own method"),
    pytest.param("import torch\nclass A(nn.Module):\n    pass\n\nclass B(A):\n    def build(self):\n"
                 "        for i in range(3):\n            self.add(i)\n", "TL4", id="a module class of the file"),
    pytest.param("import torch\ndef step(b):\n    b.backward()\n", "TL4", id="a helper no loop calls"),
    pytest.param("import torch\ny = x.to(device)\nz = torch.zeros(3)\n", "TL5",
                 id="a move without non_blocking, torch calls, no numpy"),
    pytest.param("from .common import *\nfrom .models import *\n__all__ = names()\n", "TL5",
                 id="star imports alone: no call spelled like a TL5 site"),
    pytest.param("import numpy as np\nimport jax.numpy as jnp\ny = jnp.asarray(t)\n", "TL5",
                 id="jax's asarray, no torch call"),
])
def test_family_ruled_out(source, family):
    assert family not in kept(source)


@pytest.mark.parametrize("owner", ["optimizer", "opt", "self.optimizer", "scaler", "loss", "accelerator", "g"])
@pytest.mark.parametrize("method", ["backward", "manual_backward", "step", "zero_grad", "optimizer_step", "stop"])
def test_step_evidence_covers_the_analysis(owner, method):
    call = cst.parse_expression(f"{owner}.{method}(x)")
    if loops.is_step_call(call):
        assert step_names.is_step_evidence(method)


def test_deep_nesting_is_walked_without_recursion():
    source = "import torch\ny = " + " + ".join(["x"] * 2500) + "\nz = t.numpy()\n"
    tree = prescreen.parse(source)
    if tree is None:
        pytest.skip("this Python's parser refuses the nesting")
    assert "TL1" not in prescreen.families_without_candidates(tree)


@pytest.mark.parametrize("source", [
    pytest.param("x = 1\x00\n", id="a null byte"),
    pytest.param("def f(:\n", id="a syntax error"),
    pytest.param("type Alias = list[int]\n", id="syntax newer than this Python"),
])
def test_what_python_cannot_parse_gets_no_tree(source):
    assert prescreen.parse(source) is None


# -- the engine -------------------------------------------------------------------------------------
@pytest.fixture
def libcst_parses(monkeypatch):
    """The sources the engine hands to libcst."""
    parsed = []
    real = engine.parse_module

    def recording(source, **kwargs):
        parsed.append(source)
        return real(source, **kwargs)

    monkeypatch.setattr(engine, "parse_module", recording)
    return parsed


def test_a_file_without_candidates_is_not_parsed_by_libcst(libcst_parses):
    assert engine.lint("import torch\nfor x in xs:\n    f(x)\n", EVERY_CODE) == []
    assert libcst_parses == []


def test_only_the_families_with_candidates_run(monkeypatch):
    ran = []
    original = FamilyChecker.__init__

    def init(self, *args, **kwargs):
        ran.append(type(self).__name__)
        original(self, *args, **kwargs)

    monkeypatch.setattr(FamilyChecker, "__init__", init)
    engine.lint("import torch\np.data.zero_()\n", EVERY_CODE)
    assert ran == ["DataChecker"]


@pytest.mark.parametrize("switch", ["argument", "environment"])
def test_the_prescreen_can_be_turned_off(monkeypatch, libcst_parses, switch):
    source = "import torch\nfor x in xs:\n    f(x)\n"
    if switch == "argument":
        engine.lint(source, EVERY_CODE, prescreen=False)
    else:
        monkeypatch.setenv("TENSORLINT_PRESCREEN", "0")
        engine.lint(source, EVERY_CODE)
    assert libcst_parses == [source]


def test_a_file_python_cannot_parse_goes_to_libcst_as_before(libcst_parses):
    with pytest.raises(cst.ParserSyntaxError):
        engine.lint("x = 1\nimport torch\ndef f(:\n", EVERY_CODE)
    assert len(libcst_parses) == 1


def test_a_given_tree_is_used_instead_of_parsing(monkeypatch):
    def refuse(source):
        raise AssertionError("parsed again")

    monkeypatch.setattr(prescreen, "parse", refuse)
    source = MOVED_MODEL
    found = engine.lint(source, EVERY_CODE, tree=ast.parse(source))
    assert [d.code for d in found] == ["TL101", "TL102"]


class _EveryName(Rule):
    code = "TL901"
    name = "every-name"
    summary = "a family the prescreen has no condition for"


class _EveryNameFamily(FamilyChecker):
    rules = (_EveryName,)

    def visit_Name(self, node):
        self.context.report("TL901", node, "a name")


def test_a_family_without_a_condition_always_runs(monkeypatch):
    monkeypatch.setattr(engine, "FAMILIES", engine.FAMILIES + (_EveryNameFamily,))
    assert [d.code for d in engine.lint("x = 1\n", frozenset({"TL901"}))] == ["TL901"]


# -- flake8's tree ----------------------------------------------------------------------------------
@pytest.mark.parametrize("source, expected", [
    pytest.param(MOVED_MODEL, ["TL101", "TL102"], id="a finding"),
    pytest.param("import torch\nfor x in xs:\n    f(x)\n", [], id="no candidate: libcst never runs"),
])
def test_the_flake8_plugin_prescreens_flake8s_tree(tmp_path, monkeypatch, libcst_parses, source, expected):
    def refuse(source):
        raise AssertionError("the plugin parsed the file with ast again")

    monkeypatch.setattr(prescreen, "parse", refuse)
    path = tmp_path / "sample.py"
    path.write_text(source)
    checker = TensorlintChecker(ast.parse(source), source.splitlines(keepends=True), str(path))
    assert [message.split()[0] for _, _, message, _ in checker.run()] == expected
    assert len(libcst_parses) == (1 if expected else 0)


# -- the proof: the same findings with and without the prescreen --------------------------------------
def assert_same(source):
    differences = prescreen_check.compare(source).differences
    assert differences == [], f"{differences}\n--- source ---\n{source}"


def _cases():
    for rule in ALL_RULES:
        for kind in ("VALID", "INVALID"):
            for index, case in enumerate(getattr(rule, kind)):
                yield pytest.param(case.source, id=f"{rule.code}-{kind.lower()}-{index}")


@pytest.mark.parametrize("source", _cases())
def test_rule_cases_find_the_same(source):
    assert_same(source)


@pytest.mark.parametrize("source", [
    pytest.param("import torch\na = torch.ones(3)\nimport a.data\n", id="a tensor named like the module"),
    pytest.param("import torch\nfor b in loader:\n    out = model(b)\n    print(out)\n", id="print every step"),
    pytest.param("import torch\nfor b in batches:\n    out = model(b)\n    print(out.item())\n",
                 id="none of the old textual triggers"),
    pytest.param("from .torch_core import *\ndef f(df):\n    return np.array(df, dtype=np.object)\n", id="star import"),
    pytest.param("import torch\nimport pytorch_lightning as pl\nclass M(pl.LightningModule):\n"
                 "    def training_step(self, batch, i):\n        loss = self.model(batch)\n"
                 "        print(loss.item())\n        return loss\n", id="a Lightning step"),
    pytest.param("import torch\nclass M(nn.Module):\n    def forward(self, x):\n        for i in range(3):\n"
                 "            x = self.layers[i](x)\n            print(x.item())\n        return x\n", id="a layer walk"),
])
def test_edge_cases_find_the_same(source):
    assert_same(source)


SAMPLE_DIRECTORIES = [ROOT / "fixtures", ROOT / "examples", ROOT / "tests" / "data"]
SAMPLES = sorted(path for directory in SAMPLE_DIRECTORIES for path in directory.rglob("*.py")
                 if not any(part.startswith(".") for part in path.relative_to(ROOT).parts))


@pytest.mark.parametrize("path", [pytest.param(p, id=str(p.relative_to(ROOT))) for p in SAMPLES])
def test_sample_files_find_the_same(path):
    assert_same(prescreen_check.read(path))


def statement_slices(source):
    """Each top-level statement of `source` on its own, after the file's top-level imports: small programs
    in which one family's sites are alone, so that a condition too strong for them shows."""
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)

    def text(statement):
        start = min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", [])])
        return "".join(lines[start - 1:statement.end_lineno])

    imports = "".join(text(s) for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom)))
    for statement in tree.body:
        if not isinstance(statement, (ast.Import, ast.ImportFrom)):
            yield imports + text(statement)


@pytest.mark.parametrize("path", [pytest.param(p, id=str(p.relative_to(ROOT))) for p in SAMPLES])
def test_each_statement_of_the_sample_files_finds_the_same(path):
    for piece in statement_slices(prescreen_check.read(path)):
        assert_same(piece)


def test_the_slices_reach_every_family():
    """The slices are worth comparing: among them, each family is ruled out somewhere and kept somewhere."""
    verdicts = [kept(piece) for path in SAMPLES for piece in statement_slices(prescreen_check.read(path))]
    for family in prescreen.FAMILIES:
        assert any(family in v for v in verdicts) and any(family not in v for v in verdicts), family


@pytest.mark.skipif(test_fuzz is None, reason="needs hypothesis and hypothesmith")
def test_torch_fuzz_programs_find_the_same():
    for seed in range(600):
        assert_same(test_fuzz.torch_program(random.Random(seed)))


if test_fuzz is not None:
    from hypothesis import given, settings
    hypothesmith = test_fuzz.hypothesmith

    @test_fuzz.FUZZ_SETTINGS
    @given(source=hypothesmith.from_grammar())
    def test_grammar_programs_find_the_same(source):
        assert_same(source)
        assert_same(test_fuzz.PRELUDE + source)

    @settings(test_fuzz.FUZZ_SETTINGS, max_examples=60)
    @given(source=hypothesmith.from_node())
    def test_libcst_programs_find_the_same(source):
        assert_same(test_fuzz.PRELUDE + source)


def test_a_difference_is_reported(monkeypatch):
    """The comparison can fail: a prescreen that rules out TL1 everywhere loses findings."""
    monkeypatch.setattr(prescreen, "families_without_candidates", lambda tree: frozenset({"TL1"}))
    differences = prescreen_check.compare(MOVED_MODEL).differences
    assert differences and "2 findings lost" in differences[0]


def test_a_ruled_out_step_loop_is_reported(monkeypatch):
    """The loop audit can fail: a step loop in a file where TL4 was ruled out, even without a finding."""
    monkeypatch.setattr(prescreen, "families_without_candidates", lambda tree: frozenset({"TL4"}))
    source = "import torch\nfor batch in loader:\n    loss = model(batch)\n    loss.backward()\n"
    differences = prescreen_check.compare(source).differences
    assert differences == ["line 2: the analysis found a step loop, the prescreen ruled TL4 out"]


# Built by benchmarks/corpus.py and benchmarks/realworld/run.py (git-ignored; CI has neither).
CORPORA = [pytest.param(path, id=str(path.relative_to(ROOT)), marks=pytest.mark.skipif(
    not path.is_dir(), reason=f"{path.relative_to(ROOT)} is not built"))
    for path in (prescreen_check.SOURCES, ROOT / "benchmarks" / "realworld" / ".src")]


@pytest.mark.parametrize("corpus", CORPORA)
def test_the_benchmark_corpus_finds_the_same(corpus, tmp_path, capsys):
    """Every file of the corpus (the benchmark corpus: ~8 min of CPU; deselect with -k 'not corpus')."""
    status = prescreen_check.main([str(corpus), "--results", str(tmp_path / "prescreen.json")])
    assert status == 0, capsys.readouterr().out
