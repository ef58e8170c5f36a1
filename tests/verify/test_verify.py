"""The runtime verifier (`tensorlint verify`, `fix --verify`): every fixture fix runs, original and
fixed, on the binding matrix in worker subprocesses, and the verdicts say what happened.

Most tests share one `Verifier` (its workers start once; verdicts are cached by job) and one run of
`tensorlint verify fixtures/ --unsafe-fixes --format json`. Deliberately wrong fixes are built as
fake diagnostics: the verifier consumes fixes and knows nothing of the rules. The CUDA tests run
only where torch sees a GPU; elsewhere the accelerator is the emulation of
tensorlint/verify/emulation.py (tests/verify/test_emulation.py checks it against the facts).
"""
import argparse
import io
import json
import re
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")

from tensorlint.api import fix_source  # noqa: E402
from tensorlint.core.diagnostics import Diagnostic, Edit, Fix, Safety  # noqa: E402
from tensorlint.core.settings import Settings  # noqa: E402
from tensorlint.verify import numpy_facts  # noqa: E402
from tensorlint.verify.command import add_verify_parser, rejected_lines, run_verify, verified_fix_source  # noqa: E402
from tensorlint.verify.compare import difference, shared_inputs  # noqa: E402
from tensorlint.verify.core import Verifier  # noqa: E402
from tensorlint.verify.plan import Unbindable, make_plan  # noqa: E402
from tensorlint.verify.snippets import cases_for_source, hazard_errors, loop_measure, snippet_kind  # noqa: E402
from tensorlint.verify.source_model import SourceModel, grad_modes  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
# safe fixture fixes that must PASS, so the run cannot pass vacuously (54 when written; 37 since a safe fix needs
# proof that its receiver is a torch tensor: fixes on values known only by a name became unsafe)
MINIMUM_PASS = 35
TENSOR_ATTRS = frozenset(dir(torch.Tensor))
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a real CUDA device")
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="only without a CUDA device")


@pytest.fixture(scope="module")
def verifier():
    with Verifier(timeout=30) as shared:
        yield shared


def _args(*argv):
    parser = argparse.ArgumentParser(prog="tensorlint")
    add_verify_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["verify", *argv])


def _run(argv, verifier=None):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = run_verify(_args(*argv), verifier=verifier)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def report(verifier):
    """`tensorlint verify fixtures/ --unsafe-fixes --format json`, parsed."""
    code, out, err = _run([str(FIXTURES), "--unsafe-fixes", "--format", "json"], verifier)
    data = json.loads(out)
    data["exit_code"] = code
    data["stderr"] = err
    return data


def _diagnostic(source, code, flagged, old, new, safety=Safety.SAFE):
    """A fake diagnostic on `flagged` whose fix replaces the first `old` inside it with `new`."""
    start = source.index(flagged)
    edit_start = source.index(old, start)
    line = source.count("\n", 0, start) + 1
    col = start - (source.rfind("\n", 0, start) + 1)
    return Diagnostic(line, col, code, "fake", start_offset=start, end_offset=start + len(flagged),
                      fix=Fix("fake fix", (Edit(edit_start, edit_start + len(old), new),), safety))


# -- extraction and planning (no subprocess) ---------------------------------------------------------
@pytest.mark.parametrize("codes, kind", [
    (["TL101"], "conversion"), (["TL101", "TL102"], "conversion"), (["TL201"], "expression"),
    (["TL202"], "statement"), (["TL301"], "numpy"), (["TL302"], "numpy"), (["TL404"], "loop"),
    (["TL999"], "expression"),
])
def test_snippet_kind_is_what_the_rule_declares(codes, kind):
    assert snippet_kind(codes) == kind


@pytest.mark.parametrize("codes, kind", [
    pytest.param(["TL201", "TL202"], "expression", id="expression before statement"),
    pytest.param(["TL202", "TL201"], "expression", id="whatever the order"),
    pytest.param(["TL101", "TL201"], "conversion", id="conversion before expression"),
    pytest.param(["TL402", "TL202"], "statement", id="statement before loop"),
    pytest.param(["TL401", "TL302"], "numpy", id="a NumPy name before anything"),
])
def test_rules_sharing_a_fix_get_the_most_specific_snippet(codes, kind):
    assert snippet_kind(codes) == kind


def test_a_shared_fix_removes_any_of_its_rules_errors_and_saves_graphs_if_one_rule_says_so():
    assert hazard_errors(["TL101", "TL102"]) == [
        ("RuntimeError", "requires grad"), ("TypeError", "can't convert .*(cuda|CUDA|device type).* to numpy")]
    assert hazard_errors(["TL101", "TL101", "TL201"]) == [("RuntimeError", "requires grad")]
    assert hazard_errors(["TL201"]) == hazard_errors(["TL999"]) == []
    assert loop_measure(["TL401"]) == "sync"
    assert loop_measure(["TL401", "TL404"]) == "graph"


def test_a_conversion_rules_fix_is_also_evaluated_inside_its_implicit_conversion():
    source = "import numpy as np\ndef f(model, x):\n    return np.linalg.norm(model(x))\n"
    for code, conversion in (("TL101", True), ("TL201", False)):
        found = _diagnostic(source, code, "model(x)", "model(x)", "model(x).detach()")
        case, = cases_for_source(source, "t.py", [found])
        assert (case.kind, case.conversion) == ("expression", conversion)
        hows = [candidate.how for candidate in case.candidates]
        assert hows == (["enclosing call", "modelled as np.asarray(...)"] if conversion else ["expression"])


@pytest.mark.parametrize("source, expected", [
    pytest.param("def f(x):\n    return x.numpy()\n", [True], id="plain function"),
    pytest.param("import torch\ndef f(x):\n    with torch.no_grad():\n        return x.numpy()\n", [False],
                 id="with no_grad"),
    pytest.param("import torch\n@torch.no_grad()\ndef f(x):\n    return x.numpy()\n", [False], id="decorator"),
    pytest.param("import torch as th\n@th.inference_mode()\ndef f(x):\n    return x.numpy()\n", [False],
                 id="aliased inference_mode"),
    pytest.param("import torch\nwith torch.no_grad():\n    with torch.enable_grad():\n        y = x.numpy()\n",
                 [True], id="enable_grad inside no_grad"),
    pytest.param("import torch\nwith torch.set_grad_enabled(flag):\n    y = x.numpy()\n", [True, False],
                 id="unknown flag: both"),
    pytest.param("import torch\nwith torch.no_grad():\n    def f(x):\n        return x.numpy()\n", [True],
                 id="a function defined under no_grad runs later"),
    pytest.param("from torch.autograd import inference_mode\nwith inference_mode():\n    y = x.numpy()\n", [False],
                 id="torch.autograd.inference_mode"),
    pytest.param("import torch\nwith torch.no_grad():\n    with torch.autograd.grad_mode.enable_grad():\n"
                 "        y = x.numpy()\n", [True], id="torch.autograd.grad_mode.enable_grad"),
    pytest.param("import torch.autograd.grad_mode as gm\n@gm.set_grad_enabled(False)\ndef f(x):\n"
                 "    return x.numpy()\n", [False], id="torch.autograd.grad_mode.set_grad_enabled"),
    pytest.param("import torch\nwith torch.inference_mode(False):\n    y = x.numpy()\n", [True],
                 id="inference_mode(False) changes nothing"),
    pytest.param("import torch\nwith torch.nn.no_grad():\n    y = x.numpy()\n", [True],
                 id="not where torch has no_grad"),
])
def test_grad_mode_is_read_from_the_source(source, expected):
    model = SourceModel(source)
    start = source.index("x.numpy()")
    node = model.covering(start, start + len("x.numpy()"), kinds=(__import__("ast").expr,))
    assert grad_modes(model, node) == expected


def test_other_fixes_in_the_snippet_are_applied_to_both_sides():
    source = "import numpy as np\nimport torch\ndef f(a, b):\n    return np.array([model(a), model(b)])\n"
    diagnostics = __import__("tensorlint").check_source(source)
    cases = cases_for_source(source, "x.py", diagnostics)
    call = [c for c in cases if c.candidates[0].how == "enclosing call"]
    assert len(call) == 2
    first = call[0].candidates[0]
    assert first.original == "np.array([model(a), model(b).detach().cpu()])"
    assert first.fixed == "np.array([model(a).detach().cpu(), model(b).detach().cpu()])"


def test_an_import_the_fix_inserts_is_bound_not_evaluated():
    source = "import numpy as np\ndef f(float):\n    return np.zeros(3, dtype=np.float)\n"
    diagnostics = __import__("tensorlint").check_source(source, settings=Settings(numpy_min=(1, 19)))
    (case,) = cases_for_source(source, "x.py", diagnostics, (1, 19))
    assert not case.problem
    assert case.imports["builtins"] == ["module", "builtins"]
    assert case.candidates[0].fixed == "builtins.float"


def test_opaque_subexpressions_become_placeholders():
    plan = make_plan("model(images).cpu().numpy()", "model(images).detach().cpu().numpy()", "eval", (0, 27),
                     {}, TENSOR_ATTRS)
    assert [(a.key, a.role) for a in plan.atoms] == [("model(images)", "tensor")]
    assert "__tl_a0.cpu().numpy()" in plan.original
    plan = make_plan("p.data.add_(g, alpha=-lr)", "p.add_(g, alpha=-lr)", "exec", (0, 6), {}, TENSOR_ATTRS)
    assert {a.key: a.role for a in plan.atoms} == {"p": "tensor", "g": "operand", "lr": "operand"}
    plan = make_plan("model.fc.weight.data", "model.fc.weight.detach()", "eval", (0, 20), {}, TENSOR_ATTRS)
    assert [a.key for a in plan.atoms] == ["model.fc.weight"]


@pytest.mark.parametrize("original, fixed, imports, why", [
    pytest.param("score(y, t.cpu().numpy())", "score(y, t.detach().cpu().numpy())",
                 {"score": ["foreign", "`sklearn.metrics.score`"]}, "sklearn", id="foreign import"),
    pytest.param("[m(x).cpu() for x in batches]", "[m(x).detach().cpu() for x in batches]", {}, "iterated",
                 id="only iterated over"),
    pytest.param("t.cpu().numpy()", "u.cpu().numpy()", {}, "changes the opaque", id="fix changes an operand"),
])
def test_names_that_cannot_be_bound_are_refused(original, fixed, imports, why):
    with pytest.raises(Unbindable, match=why):
        make_plan(original, fixed, "eval", (0, len(original)), imports, TENSOR_ATTRS)


def test_numpy_facts_follow_the_facts_table():
    bool_meanings = numpy_facts.meanings_for("bool", None)
    assert [m for _, m in bool_meanings] == ["builtins.bool", "numpy.bool_"]
    assert [m for _, m in numpy_facts.meanings_for("bool", (2, 0))] == ["numpy.bool_"]
    assert numpy_facts.resolve("value:-inf") == float("-inf")
    assert numpy_facts.resolve("numpy.float64") is np.float64
    # a name the table does not know means what the installed NumPy says (a sized type must keep it)
    assert [m for _, m in numpy_facts.meanings_for("float32", None)] == ["numpy.float32"]
    msort = numpy_facts.reference("msort")
    assert np.array_equal(msort(np.array([[3, 1], [1, 2]])), np.array([[1, 1], [3, 2]]))


def test_difference_is_exact():
    assert difference(np.zeros(2, np.float32), np.zeros(2, np.float32)) is None
    assert "dtype" in difference(np.zeros(2, np.float32), np.zeros(2, np.float64))
    assert "values" in difference(np.array([0.0]), np.array([-0.0]))   # bit for bit
    assert difference(float("nan"), float("nan")) is None
    assert "autograd" in difference(torch.ones(2, requires_grad=True), torch.ones(2))
    assert "class" in difference(torch.nn.Parameter(torch.ones(2)), torch.ones(2))
    t = torch.ones(3)
    assert shared_inputs(t.detach().numpy(), [("t", t)]) == {"t"}
    assert shared_inputs(t.detach().clone().numpy(), [("t", t)]) == frozenset()


# -- every fixture fix, in subprocesses ----------------------------------------------------------------
def test_fixture_run_reports_the_accelerator_and_versions(report):
    environment = report["environment"]
    assert environment["mode"] == ("cuda" if torch.cuda.is_available() else "emulated")
    assert environment["torch"] == torch.__version__
    assert environment["numpy"] == np.__version__
    assert report["format"] == "tensorlint-verify" and report["format_version"] == 1
    assert report["errors"] == [] and report["stderr"] == ""


def test_no_safe_fixture_fix_fails_and_enough_pass(report):
    safe = [fix for fix in report["fixes"] if fix["safety"] == "safe"]
    failed = [(f["path"], f["line"], f["codes"], f["reason"]) for f in safe if f["verdict"] == "FAIL"]
    assert failed == []
    passed = [fix for fix in safe if fix["verdict"] == "PASS"]
    assert len(passed) >= MINIMUM_PASS, f"only {len(passed)} safe fixture fixes PASSed"
    for family in ("TL1", "TL2", "TL3", "TL4"):
        assert any(code.startswith(family) for fix in passed for code in fix["codes"]), family
    skipped = [fix for fix in safe if fix["verdict"] == "SKIPPED"]
    assert skipped == [], [(f["path"], f["line"], f["reason"], f["error"]) for f in skipped]


def test_unsafe_fixture_fixes_fail_only_where_they_change_behaviour(report):
    failed = [fix for fix in report["fixes"] if fix["verdict"] == "FAIL"]
    assert all(fix["safety"] == "unsafe" for fix in failed)
    for fix in failed:
        assert fix["failures"] or fix["numpy"], fix
    # TL202's rewrites (with torch.no_grad(): drop .data) keep every result in the fixtures
    # (a merged block over several statements or a whole loop is not extracted yet: SKIPPED, said so in its reason)
    tl202 = [fix for fix in report["fixes"] if fix["codes"] == ["TL202"]]
    assert [fix for fix in tl202 if fix["verdict"] == "PASS"]
    assert all(fix["verdict"] == "PASS" or fix["verdict"] == "SKIPPED" and "spans a compound statement" in fix["reason"]
               for fix in tl202)


def test_the_default_run_is_what_ci_runs(verifier, report):
    code, out, err = _run([str(FIXTURES)], verifier)   # cached verdicts: fast
    assert code == 0, out + err
    assert not [line for line in out.splitlines() if re.match(r"\S+:\d+:\d+: TL[\d,TL]+ FAIL ", line)]
    assert "unsafe fix: pass --unsafe-fixes to verify it" in out
    lines = out.splitlines()
    assert lines[0].startswith("tensorlint verify: accelerator ")
    assert any(line.split() == ["CODE", "FIXES", "PASS", "FAIL", "SKIPPED"] for line in lines)
    total = next(line for line in lines if line.startswith("total")).split()
    assert int(total[3]) == 0 and int(total[2]) >= MINIMUM_PASS
    assert any(line.startswith("bfloat16: ") for line in lines)


def test_json_summary_counts_the_fixes(report):
    summary = report["summary"]
    assert summary["fixes"] == len(report["fixes"])
    assert summary["PASS"] + summary["FAIL"] + summary["SKIPPED"] == summary["fixes"]
    for fix in report["fixes"]:
        assert set(fix) >= {"path", "line", "col", "codes", "title", "safety", "verdict", "reason", "error",
                            "snippet", "bindings", "failures", "limitations", "notes", "syncs", "graphs_retained",
                            "numpy"}
        assert fix["verdict"] in ("PASS", "FAIL", "SKIPPED")
        assert set(fix["snippet"]) == {"kind", "how", "original", "fixed", "grad_enabled"}
    assert report["exit_code"] == (1 if summary["FAIL"] else 0)


def test_bfloat16_is_a_visible_limitation(verifier, report):
    limited = [fix for fix in report["fixes"] if fix["verdict"] == "PASS" and fix["limitations"]]
    assert limited, "no fix shows the bfloat16 limitation"
    example = limited[0]["limitations"][0]
    assert "bfloat16" in example["binding"] and "BFloat16" in example["fixed"]
    assert report["summary"]["with_limitations"] >= len(limited)
    # --strict-bfloat16 turns it into a FAIL
    source = (FIXTURES / "conversion" / "TL101_numpy_without_detach.py").read_text()
    cases = verifier.cases(source, str(FIXTURES / "conversion" / "TL101_numpy_without_detach.py"), ["TL101"])
    safe = [case for case in cases if case.fix.is_safe][:1]  # an unsafe one is not verified without --unsafe-fixes
    (strict,) = verifier.verify_cases(safe, strict_bfloat16=True)
    assert strict.verdict == "FAIL"
    assert "bfloat16" in strict.failures[0]["binding"]


def test_loops_report_syncs_and_graphs_before_and_after(report):
    loops = [fix for fix in report["fixes"] if fix["codes"] == ["TL404"]]
    assert loops
    for fix in loops:
        assert fix["verdict"] == "PASS"
        graphs = fix["graphs_retained"]
        assert graphs["before"] == graphs["iterations"] and graphs["after"] == 0
        assert fix["syncs"]["after"] <= fix["syncs"]["before"]
    copies = [fix for fix in loops if ".cpu()" in fix["snippet"]["original"]]
    assert copies and copies[0]["syncs"]["before"] == 1 and copies[0]["syncs"]["kinds_before"]


def test_tl4_findings_without_a_fix_sync_once_per_iteration(report):
    probes = [probe for probe in report["probes"] if not probe["path"].endswith(".fixed.py")]
    assert {code for probe in probes for code in probe["codes"]} >= {"TL401", "TL402", "TL403"}
    for probe in probes:
        if probe["snippet"]["expression"].endswith(".numpy()"):
            # a per-step conversion of a device tensor (TL402 beside TL102) crashes before it can sync: not measured
            assert probe["verdict"] == "SKIPPED" and "raised on every binding" in probe["reason"], probe
            continue
        assert probe["verdict"] == "MEASURED", probe
        assert probe["syncs"]["per_iteration"] == 1, probe


def test_numpy_name_fixes_report_the_installed_numpy(report):
    names = [fix for fix in report["fixes"] if fix["snippet"]["kind"] == "numpy"]
    assert names
    for fix in names:
        assert fix["numpy"]["installed"] == np.__version__
        assert fix["numpy"]["ranges"]
    by_line = {(Path(f["path"]).name, f["line"], f["snippet"]["original"]): f for f in names}
    bool_dtype = [f for (name, _, original), f in by_line.items() if "dtype=np.bool)" in original
                  or (original == "np.bool" and f["safety"] == "safe")]
    assert bool_dtype and all(f["verdict"] == "PASS" for f in bool_dtype)


# -- deliberately wrong fixes ----------------------------------------------------------------------------
def test_dropping_data_before_numpy_fails(verifier):
    source = "import numpy as np\n\ndef f(x):\n    return x.data.cpu().numpy()\n"
    (verdict,) = verifier.verify_diagnostics(source, [_diagnostic(source, "TL103", "x.data.cpu().numpy()",
                                                                  ".data", "")])
    assert verdict.verdict == "FAIL"
    failure = verdict.failures[0]
    assert "requires-grad" in failure["binding"] or "nn.Parameter" in failure["binding"]
    assert failure["original"].startswith("ndarray")
    assert "requires grad" in failure["fixed"]


def test_sized_numpy_type_to_builtin_fails():
    source = "import numpy as np\n\ndef f(a):\n    return a.astype(np.float32)\n"
    diagnostic = _diagnostic(source, "TL301", "np.float32", "np.float32", "float")
    with Verifier(timeout=30, workers=1) as own:
        (verdict,) = own.verify_diagnostics(source, [diagnostic])
    assert verdict.verdict == "FAIL"
    assert "float32 != float64" in verdict.reason
    assert verdict.numpy["installed"] == np.__version__


def test_fix_that_breaks_syntax_fails(verifier):
    source = "def f(x):\n    return x.cpu().numpy()\n"
    (verdict,) = verifier.verify_diagnostics(source, [_diagnostic(source, "TL101", "x.cpu().numpy()", ".cpu()",
                                                                  ".detach(.cpu()")])
    assert verdict.verdict == "FAIL" and "does not parse" in verdict.reason


def test_grad_mode_of_the_source_decides_an_in_place_fix(verifier):
    body = "def ema(e, decay):\n    e.data.mul_(decay)\n"
    for source, expected in (("import torch\n@torch.no_grad()\n" + body, "PASS"), ("import torch\n" + body, "FAIL")):
        diagnostic = _diagnostic(source, "TL202", "e.data", ".data", "", Safety.UNSAFE)
        (verdict,) = verifier.verify_diagnostics(source, [diagnostic], unsafe_fixes=True)
        assert verdict.verdict == expected, (source, verdict.reason)
    assert "leaf Variable that requires grad" in verdict.failures[0]["fixed"]


def test_unbindable_names_are_skipped_with_the_reason(verifier):
    source = ("from sklearn.metrics import accuracy_score\n\n"
              "def f(x):\n    return accuracy_score(x.cpu().numpy(), x)\n")
    diagnostic = _diagnostic(source, "TL101", "accuracy_score(x.cpu().numpy(), x)", ".cpu()", ".detach().cpu()")
    (verdict,) = verifier.verify_diagnostics(source, [diagnostic])
    assert verdict.verdict == "SKIPPED"
    assert "accuracy_score" in verdict.reason and "sklearn.metrics" in verdict.reason


def test_timeouts_are_per_fix_and_the_run_goes_on(verifier):
    hang = "any(iter(int, 1))"   # int() is 0 forever: never ends
    bad_original = f"def f(x):\n    return (x if {hang} else x).cpu().numpy()\n"
    good = "def g(x):\n    return x.cpu().numpy()\n"
    bad_fix = "def h(x):\n    return x.detach().numpy()\n"
    cases = []
    cases += cases_for_source(bad_original, "a.py", [_diagnostic(bad_original, "TL101", f"(x if {hang} else x)"
                                                                 ".cpu().numpy()", ".cpu()", ".detach().cpu()")])
    cases += cases_for_source(good, "b.py", [_diagnostic(good, "TL101", "x.cpu().numpy()", ".cpu()",
                                                         ".detach().cpu()")])
    cases += cases_for_source(bad_fix, "c.py", [_diagnostic(bad_fix, "TL102", "x.detach().numpy()", ".detach()",
                                                            f".detach().cpu() if {hang} else x")])
    hung, fine, hangs_when_fixed = verifier.verify_cases(cases, timeout=2)
    assert hung.verdict == "SKIPPED" and hung.error.startswith("timed out after 2 s")
    assert "original" in hung.error
    assert fine.verdict == "PASS"
    assert hangs_when_fixed.verdict == "FAIL"
    assert "did not finish within 2 s where the original did" in hangs_when_fixed.reason


# -- fix --verify ------------------------------------------------------------------------------------------
def test_fix_verify_applies_only_fixes_that_pass(verifier):
    source = ("import numpy as np\nimport torch\n\ndef step(model, values):\n    for p in model.parameters():\n"
              "        p.data.zero_()\n        print(p.shape)\n    return np.long(len(values))\n")
    result = verified_fix_source(source, "x.py", unsafe_fixes=True, settings=Settings(), verifier=verifier)
    assert "with torch.no_grad():\n            p.zero_()" in result.source
    assert "np.long(len(values))" in result.source  # `int(...)` gives an int where NumPy 2 gives np.int64
    assert [v.codes for v in result.rejected] == [["TL301"]]
    assert result.rejected[0].verdict == "FAIL"
    assert [d.code for d in result.fixed] == ["TL202"]
    assert any(d.code == "TL301" for d in result.remaining)
    (line,) = rejected_lines("x.py", result)
    assert line.startswith("x.py:9:12: TL301 fix not applied: verify FAIL")   # a line of the fixed source


def test_fix_verify_equals_fix_when_every_fix_passes(verifier):
    path = FIXTURES / "sync" / "TL404_graph_retention.py"
    source = path.read_text()
    result = verified_fix_source(source, str(path), verifier=verifier)
    assert result.source == fix_source(source, str(path)).source == \
        (FIXTURES / "sync" / "TL404_graph_retention.fixed.py").read_text()
    assert result.rejected == [] and len(result.verdicts) == 3


# -- the command ---------------------------------------------------------------------------------------------
def test_missing_path_is_a_usage_error(verifier, tmp_path):
    code, out, err = _run([str(tmp_path / "nope.py")], verifier)
    assert code == 2 and "no such file or directory" in err


def test_unparsable_file_is_an_input_error_and_others_still_run(verifier, tmp_path):
    (tmp_path / "bad.py").write_text("def f(:\n")
    (tmp_path / "good.py").write_text("import torch\n\ndef g(x):\n    w = torch.ones(3, requires_grad=True)\n"
                                      "    y = torch.relu(x * w)\n    return y.cpu().numpy()\n")
    code, out, err = _run([str(tmp_path), "--format", "json", "--unsafe-fixes"], verifier)
    data = json.loads(out)
    assert code == 2 and "cannot parse" in err
    assert [fix["verdict"] for fix in data["fixes"]] == ["PASS"]
    assert data["errors"]


def test_bad_timeout_is_rejected_by_the_parser():
    with pytest.raises(SystemExit), redirect_stderr(io.StringIO()):
        _args("x.py", "--timeout", "0")


def test_the_user_module_is_never_imported(tmp_path, monkeypatch):
    (tmp_path / "torch.py").write_text("raise SystemExit('the user module was imported')\n")
    (tmp_path / "numpy.py").write_text("raise SystemExit('the user module was imported')\n")
    (tmp_path / "user_code.py").write_text("import numpy as np\n\ndef f(x):\n    return np.asarray(x * 2)\n")
    monkeypatch.chdir(tmp_path)   # a fresh worker starts here: its imports must not see these files
    code, out, err = _run(["user_code.py", "--workers", "1", "--select", "TL1", "--unsafe-fixes"])
    assert (code, err) == (0, "")
    assert " PASS " in out


@no_cuda
def test_device_cuda_without_a_gpu_is_an_environment_error(tmp_path):
    (tmp_path / "c.py").write_text("import torch\ndef g(x):\n    w = torch.ones(3, requires_grad=True)\n"
                                   "    return (x * w).cpu().numpy()\n")
    code, out, err = _run([str(tmp_path / "c.py"), "--device", "cuda", "--workers", "1", "--unsafe-fixes"])
    assert code == 2 and "torch.cuda.is_available() is False" in err


# -- real CUDA (skipped cleanly without a GPU) -------------------------------------------------------------
@needs_cuda
def test_fixtures_pass_on_real_cuda(report):
    assert report["environment"]["mode"] == "cuda"
    assert not [fix for fix in report["fixes"] if fix["safety"] == "safe" and fix["verdict"] == "FAIL"]
    bindings = [fix["failures"] + fix["limitations"] for fix in report["fixes"]]
    assert not any("emulated" in item["binding"] for group in bindings for item in group)


@needs_cuda
def test_real_cuda_counts_syncs(report):
    probes = [probe for probe in report["probes"] if probe["verdict"] == "MEASURED"]
    assert probes and all(probe["syncs"]["per_iteration"] >= 1 for probe in probes)
    assert all("set_sync_debug_mode" in probe["syncs"]["counter"] for probe in probes)


@needs_cuda
def test_emulated_mode_can_be_forced_on_a_gpu_machine(tmp_path):
    (tmp_path / "c.py").write_text("import torch\ndef g(x):\n    w = torch.ones(3, requires_grad=True)\n"
                                   "    return (x * w).cpu().numpy()\n")
    code, out, err = _run([str(tmp_path / "c.py"), "--device", "emulated", "--workers", "1", "--format", "json",
                           "--unsafe-fixes"])
    data = json.loads(out)
    assert code == 0 and data["environment"]["mode"] == "emulated"


def test_names_that_are_not_tensors_at_runtime_skip_with_the_error(verifier):
    source = "import numpy as np\n\ndef f():\n    return np.numpy()\n"
    (verdict,) = verifier.verify_diagnostics(source, [_diagnostic(source, "TL101", "np.numpy()", ".numpy()",
                                                                  ".detach().cpu().numpy()")])
    assert verdict.verdict == "SKIPPED"
    assert "module 'numpy' has no attribute 'numpy'" in verdict.reason


def test_bfloat16_fixes_are_bound_to_the_dtypes_the_rule_proves(report):
    from tensorlint.verify.snippets import proven_dtypes
    assert "bfloat16" in proven_dtypes(["TL104"]) and proven_dtypes(["TL101"]) == []
    tl104 = [fix for fix in report["fixes"] if fix["codes"] == ["TL104"]]
    assert tl104 and all(fix["verdict"] == "PASS" for fix in tl104), tl104


def test_a_fix_that_copies_on_purpose_must_stop_sharing_memory(report):
    from tensorlint.verify.evaluation import Outcome
    from tensorlint.verify.snippets import unshares
    from tensorlint.verify.tally import Tally
    assert unshares(["TL504"]) and not unshares(["TL201"])
    value = np.zeros(2)
    for fixed_shares, failed in ((frozenset(), 0), (frozenset({"t"}), 1)):
        tally = Tally(strict_bfloat16=False, unshares=True)
        tally.add("binding", Outcome(True, value, shared=frozenset({"t"})), Outcome(True, value, shared=fixed_shares), [])
        assert tally.counts.get("fail", 0) == failed and tally.counts.get("same", 0) == 1 - failed
    tl504 = [fix for fix in report["fixes"] if fix["codes"] == ["TL504"]]
    assert tl504 and all(fix["verdict"] == "PASS" for fix in tl504), tl504
