"""The verifier tests what a fix assumes: receivers taken for torch tensors without proof are bound also
to the look-alikes real code passes (an ndarray, a Python number, objects with `.cpu()`/`.numpy()` but
no `.detach()`), and a fix that breaks one where the original worked FAILs.

Each harmful shape found in real trees (issue 20) is a case, checked through `Verifier.verify_diagnostics`,
`tensorlint verify` and `tensorlint fix --verify --diff`. The fixes are built here (the verifier consumes
fixes and knows nothing of the rules), so the cases do not move when the rules learn to prove more;
`test_the_rules_fixes_of_the_shapes_today` runs the real rules too.
"""
import io
import json
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from typing import NamedTuple, Tuple

import pytest

pytest.importorskip("torch")
pytest.importorskip("numpy")

from tensorlint.adapters.cli import main as cli  # noqa: E402
from tensorlint.core.diagnostics import Diagnostic, Edit, Fix, Safety  # noqa: E402
from tensorlint.verify import command, core  # noqa: E402
from tensorlint.verify.core import Verifier  # noqa: E402
from tensorlint.verify.plan import assumed_receivers  # noqa: E402
from tensorlint.verify.snippets import cases_for_source  # noqa: E402


@pytest.fixture(scope="module")
def verifier():
    with Verifier(timeout=30) as shared:
        yield shared


class Shape(NamedTuple):
    source: str
    code: str
    flagged: str          # the flagged text (its first occurrence after `after`)
    old: str              # replaced inside the flagged text...
    new: str              # ...by this
    safety: Safety
    assumes: Tuple[str, ...]
    verdict: str
    binding: str          # a FAIL's first failing binding names this ("" for a PASS)


DUCK = Shape("def track(results):\n    boxes = results[0].boxes\n    return boxes.xyxy.cpu().numpy()\n",
             "TL101", "boxes.xyxy.cpu().numpy()", ".cpu()", ".detach().cpu()", Safety.SAFE, ("boxes.xyxy",),
             "FAIL", "`boxes.xyxy` = object with .cpu()/.numpy()/.to(), no .detach()")
INT_FROM_METHOD = Shape(
    "import torch\n\n@torch.no_grad()\ndef count(model, counter):\n    total = 0\n"
    "    for p in model.parameters():\n        total += counter.sum(p)\n    return total\n",
    "TL404", "counter.sum(p)", "counter.sum(p)", "counter.sum(p).detach()", Safety.SAFE, ("counter.sum(p)",),
    "FAIL", "`counter.sum(p)` = int 3")
TENSORFLOW_BRANCH = Shape(
    "import tensorflow as tf\n\ndef to_numpy(x):\n    if isinstance(x, tf.Tensor):\n        return x.numpy()\n"
    "    return x.detach().cpu().numpy()\n",
    "TL101", "x.numpy()", ".numpy()", ".detach().cpu().numpy()", Safety.UNSAFE, (), "FAIL",
    "`x` = object with .numpy() only")
NDARRAY = Shape("import numpy as np\n\ndef embed(feat):\n    return np.asarray(feat)\n",
                "TL101", "np.asarray(feat)", "feat)", "feat.detach().cpu())", Safety.SAFE, ("feat",), "FAIL",
                "`feat` = ndarray")
DATA_NUMPY = Shape("def rows(batch):\n    return batch.data.numpy()\n", "TL201", "batch.data", ".data",
                   ".detach().cpu()", Safety.UNSAFE, ("batch",), "PASS", "")
TO_DATA_NUMPY = Shape("def rows(x, device):\n    return x.to(device).data.numpy()\n", "TL201", "x.to(device).data",
                      ".data", ".detach().cpu()", Safety.UNSAFE, (), "PASS", "")
SHAPES = {"duck-typed result class": DUCK, "int from a method (TL404)": INT_FROM_METHOD,
          "TensorFlow branch": TENSORFLOW_BRANCH, "ndarray": NDARRAY, "batch.data.numpy()": DATA_NUMPY,
          "x.to(device).data.numpy()": TO_DATA_NUMPY}


def _diagnostic(shape: Shape, source: str = "") -> Diagnostic:
    source = source or shape.source
    start = source.index(shape.flagged, source.index("\n    "))   # past the `def` line
    edit_start = source.index(shape.old, start)
    line = source.count("\n", 0, start) + 1
    col = start - (source.rfind("\n", 0, start) + 1)
    fix = Fix("fake fix", (Edit(edit_start, edit_start + len(shape.old), shape.new),), shape.safety, shape.assumes)
    return Diagnostic(line, col, shape.code, "fake", start_offset=start, end_offset=start + len(shape.flagged),
                      fix=fix)


def _check_verdict(verdict, shape: Shape) -> None:
    assert verdict.verdict == shape.verdict, (verdict.reason, verdict.failures)
    if shape.verdict == "FAIL":
        assert any(shape.binding in failure["binding"] for failure in verdict.failures), verdict.failures
        assert "look-alike" in verdict.reason
    else:
        assert verdict.look_alikes is None or verdict.look_alikes["fail"] == 0


# -- which receivers are assumed (no subprocess) --------------------------------------------------------
@pytest.mark.parametrize("original, fixed, mode, assumes, unproven, expected", [
    pytest.param("boxes.xyxy.cpu().numpy()", "boxes.xyxy.detach().cpu().numpy()", "eval", (), True, ["boxes.xyxy"],
                 id="unsafe: the receiver that gains .detach()"),
    pytest.param("boxes.xyxy.cpu().numpy()", "boxes.xyxy.detach().cpu().numpy()", "eval", (), False, [],
                 id="safe without assumptions: proven"),
    pytest.param("x.numpy()", "x.detach().cpu().numpy()", "eval", ("x",), False, ["x"], id="declared"),
    pytest.param("x.numpy()", "x.detach().cpu().numpy()", "eval", ("  x ",), False, ["x"], id="declared, spaced"),
    pytest.param("x.numpy()", "x.detach().cpu().numpy()", "eval", ("y",), False, [], id="declared, not here"),
    pytest.param("batch.data.numpy()", "batch.detach().cpu().numpy()", "eval", (), True, ["batch"],
                 id="loses .data"),
    pytest.param("total += c.sum()\n", "total += c.sum().detach()\n", "exec", (), True, ["c.sum()"],
                 id="a method's result"),
    pytest.param("x.detach().numpy()", "x.detach().cpu().numpy()", "eval", (), True, [],
                 id="already detached"),
    pytest.param("np.asarray(torch.ones(2))", "np.asarray(torch.ones(2).detach().cpu())", "eval", (), True, [],
                 id="a torch factory is a tensor"),
])
def test_assumed_receivers(original, fixed, mode, assumes, unproven, expected):
    imports = {"np": ["module", "numpy"], "torch": ["module", "torch"]}
    assert assumed_receivers(original, fixed, mode, imports, assumes, unproven) == expected


@pytest.mark.parametrize("shape", [DATA_NUMPY, TO_DATA_NUMPY], ids=["batch", "x.to(device)"])
def test_a_data_fix_is_compared_on_the_whole_conversion(shape):
    (case,) = cases_for_source(shape.source, "x.py", [_diagnostic(shape)])
    assert case.candidates[0].original.endswith(".data.numpy()")
    assert case.candidates[0].fixed.endswith(".detach().cpu().numpy()")


def test_a_data_fix_inside_numpy_call_is_compared_with_the_call():
    source = "import numpy as np\n\ndef rows(batch):\n    return np.asarray(batch.data)\n"
    shape = DATA_NUMPY._replace(source=source)
    (case,) = cases_for_source(source, "x.py", [_diagnostic(shape)])
    assert [c.how for c in case.candidates] == ["enclosing call", "modelled as np.asarray(...)"]
    assert case.candidates[0].fixed == "np.asarray(batch.detach().cpu())"


def test_fix_keeps_its_assumptions_backward_compatibly():
    assert Fix("t", ()).assumes == ()
    assert Fix("t", (), Safety.SAFE, ("x",)) != Fix("t", (), Safety.SAFE)


# -- the verifier -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_verify_judges_each_harmful_shape(verifier, shape):
    (verdict,) = verifier.verify_diagnostics(shape.source, [_diagnostic(shape)], unsafe_fixes=True)
    _check_verdict(verdict, shape)


def test_an_unsafe_fix_is_tested_without_declared_assumptions(verifier):
    shape = DUCK._replace(safety=Safety.UNSAFE, assumes=())
    (verdict,) = verifier.verify_diagnostics(shape.source, [_diagnostic(shape)], unsafe_fixes=True)
    _check_verdict(verdict, shape)
    assert verdict.look_alikes["receivers"] == ["boxes.xyxy"]


def test_a_proven_fix_is_trusted_unless_asked(verifier):
    proven = DUCK._replace(assumes=())
    (verdict,) = verifier.verify_diagnostics(proven.source, [_diagnostic(proven)])
    assert verdict.verdict == "PASS" and verdict.look_alikes is None
    (audited,) = verifier.verify_diagnostics(proven.source, [_diagnostic(proven)], look_alikes="all")
    _check_verdict(audited, DUCK)


def test_look_alikes_on_which_the_original_fails_are_not_compared(verifier):
    shape = DUCK._replace(source=DUCK.source.replace(".cpu().numpy()", ".cpu().tolist()"),
                          flagged="boxes.xyxy.cpu().tolist()", verdict="PASS")
    (verdict,) = verifier.verify_diagnostics(shape.source, [_diagnostic(shape)])
    assert verdict.verdict == "PASS", verdict.failures
    counts = verdict.look_alikes
    assert counts["bindings"] == 5 and counts["not_compared"] == 5 and counts["fail"] == 0


# -- through the CLI ------------------------------------------------------------------------------------------
@pytest.fixture
def only_this_fix(monkeypatch, verifier):
    """The CLI sees exactly the given shape's fix (not the rules'), verified by the shared workers."""
    chosen = {}

    def check_source(source, path=None, select=None, ignore=None, settings=None):
        shape = chosen["shape"]
        return [_diagnostic(shape, source)] if shape.flagged in source else []   # gone once applied

    monkeypatch.setattr(core, "check_source", check_source)
    monkeypatch.setattr(command, "shared_verifier", lambda timeout: verifier)
    return chosen


def _cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_tensorlint_verify_judges_each_harmful_shape(only_this_fix, tmp_path, shape):
    only_this_fix["shape"] = shape
    path = tmp_path / "shape.py"
    path.write_text(shape.source)
    code, out, err = _cli(["verify", "--unsafe-fixes", "--format", "json", str(path)])
    (fix,) = json.loads(out)["fixes"]
    assert (code, fix["verdict"]) == ((1, "FAIL") if shape.verdict == "FAIL" else (0, "PASS")), (fix, err)
    if shape.verdict == "FAIL":
        assert any(shape.binding in failure["binding"] for failure in fix["failures"]), fix["failures"]
        assert fix["look_alikes"]["fail"] >= 1


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_fix_verify_diff_names_refused_fixes_and_exits_1(only_this_fix, tmp_path, shape):
    only_this_fix["shape"] = shape
    path = tmp_path / "shape.py"
    path.write_text(shape.source)
    code, out, err = _cli(["fix", "--verify", "--diff", "--unsafe-fixes", str(path)])
    assert path.read_text() == shape.source   # --diff writes nothing
    diagnostic = _diagnostic(shape)
    where = f"{path}:{diagnostic.line}:{diagnostic.col + 1}: {shape.code} fix not applied: verify FAIL: "
    if shape.verdict == "FAIL":
        assert code == 1 and out == ""
        (line,) = [line for line in err.splitlines() if line.startswith(where)]
        assert "look-alike" in line
    else:
        assert code == 1 and "+" in out and shape.new in out   # applied: a non-empty diff exits 1 as before
        assert "fix not applied" not in err


def test_the_rules_fixes_of_the_shapes_today(tmp_path):
    """The real rules, end to end in a subprocess: no fix of a harmful shape PASSes, `.data.numpy()` fixes do."""
    source = ("import numpy as np\nimport tensorflow as tf\nimport torch\n\n\n"
              "def to_numpy(x):\n    if isinstance(x, tf.Tensor):\n        return x.numpy()\n    return x\n\n\n"
              "class Tracker:\n    def update(self, results):\n        boxes = results.boxes\n"
              "        return boxes.cpu().numpy()\n\n\n"
              "def rows(batch, x, device):\n    return batch.data.numpy(), x.to(device).data.numpy()\n")
    path = tmp_path / "shapes.py"
    path.write_text(source)
    result = subprocess.run([sys.executable, "-m", "tensorlint", "verify", "--unsafe-fixes", "--format", "json",
                             "--workers", "1", str(path)], capture_output=True, text=True, timeout=600)
    fixes = json.loads(result.stdout)["fixes"]
    harmful = [fix for fix in fixes if fix["line"] in (8, 15)]
    conversions = [fix for fix in fixes if fix["line"] == 19]
    assert [fix for fix in harmful if fix["verdict"] != "FAIL"] == []
    assert [fix for fix in conversions if fix["verdict"] != "PASS"] == []
    if not harmful and not conversions:
        pytest.skip("the rules offer no fix for these shapes any more")
    assert result.returncode == (1 if harmful else 0), result.stderr
