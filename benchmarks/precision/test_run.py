"""Tests of the precision benchmark's own logic (no download, no tensorlint run).

    python -m pytest -q -p no:cacheprovider benchmarks/precision/test_run.py
"""
import importlib.util
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("precision_run", HERE / "run.py")
run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run)


def finding(path="a.py", line=10, code="TL201", col=5, text="h", package="p", message="m"):
    return run.Finding(package, "1.0", path, line, col, code, message, text)


@pytest.fixture
def judged_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "JUDGED", tmp_path)
    return tmp_path


def test_committed_judging_files_are_valid():
    judged = run.load_judged()
    assert set(judged) == set(run.FAMILIES)
    assert all(e.verdict in ("TRUE", "FALSE", "") for entries in judged.values() for e in entries)


@pytest.mark.parametrize("verdict, reason, error", [
    pytest.param("true", "x", "verdict must be TRUE, FALSE or empty", id="lower-case verdict"),
    pytest.param("TRUE", "", "needs a one-line reason", id="verdict without reason"),
    pytest.param("FALSE", "two\\nlines", "must be one line", id="reason on two lines"),
])
def test_bad_verdicts_are_one_line_errors(judged_dir, verdict, reason, error):
    text = run.entry_toml(finding(), "sample")
    text = text.replace('verdict = ""', f'verdict = "{verdict}"').replace('reason = ""', f'reason = "{reason}"')
    (judged_dir / "TL2.toml").write_text('family = "TL2"\n' + text)
    with pytest.raises(run.Fail, match=error) as info:
        run.load_judged()
    assert "\n" not in str(info.value)


def test_code_of_another_family_is_rejected(judged_dir):
    (judged_dir / "TL2.toml").write_text('family = "TL2"\n' + run.entry_toml(finding(code="TL401"), "sample"))
    with pytest.raises(run.Fail, match="TL401 is not a TL2 code"):
        run.load_judged()


def test_messages_with_quotes_and_backslashes_round_trip(judged_dir):
    f = finding(message='`x.data` "quoted" \\ back\u00e9')
    run.write_judging_file("TL2", [f], "label")
    assert run.load_judged()["TL2"][0].finding == f


@pytest.mark.parametrize("moved, matched", [
    pytest.param(finding(line=10), True, id="same line"),
    pytest.param(finding(line=80), True, id="moved far, same text"),
    pytest.param(finding(line=12, text="other"), True, id="moved within the tolerance"),
    pytest.param(finding(line=20, text="other"), False, id="moved far, other text"),
    pytest.param(finding(line=10, code="TL202"), False, id="other code"),
    pytest.param(finding(line=10, path="b.py"), False, id="other file"),
])
def test_match(moved, matched):
    assert (run.match([finding()], [moved]) == {0: 0}) is matched


def test_two_findings_on_one_line_keep_their_own_entries():
    left, right = finding(col=5), finding(col=30)
    assert run.match([right, left], [left, right]) == {0: 1, 1: 0}


def test_the_one_finding_left_on_a_line_keeps_its_own_entry():
    left, right = finding(col=5), finding(col=20)
    assert run.match([left, right], [right]) == {1: 0}


def test_draw_is_independent_of_order_and_of_other_findings():
    findings = [finding(line=i, text=f"t{i}", code=("TL101", "TL201", "TL301", "TL401")[i % 4]) for i in range(200)]
    sizes = {"TL1": 5, "TL2": 5, "TL3": 5, "TL4": 60}
    first = run.draw(findings, sizes)
    assert first == run.draw(list(reversed(findings)), sizes)
    assert len(first["TL4"]) == 50   # the whole family when it has fewer than asked
    extra = [finding(path="z.py", line=i, text=f"z{i}", code="TL101") for i in range(50)]
    again = run.draw(findings + extra, sizes)["TL1"]
    # an old finding is drawn again unless a new one ranks below it: never replaced by an old one
    assert all(f in first["TL1"] or f in extra for f in again)


def test_score_counts_precision_losses_and_new():
    true_kept, false_gone, pending = finding(line=10, text="a"), finding(line=50, text="b"), finding(line=90, text="c")
    judged = {"TL2": [run.Entry(true_kept, "sample", "TRUE", "r"), run.Entry(false_gone, "sample", "FALSE", "r"),
                      run.Entry(pending, "sample", "", "")]}
    old_unjudged = finding(line=120, text="d")
    baseline = [true_kept, false_gone, pending, old_unjudged]
    new = finding(line=200, text="e", code="TL202")
    result = run.score(judged, baseline, [true_kept._replace(line=11), pending, old_unjudged, new])
    row = result["families"]["TL2"]
    assert (row["true"], row["false"], row["precision"]) == (1, 0, 1.0)
    assert (row["false_gone"], row["true_gone"], row["pending"], row["new"]) == (1, 0, 1, 1)
    assert result["new"] == [new] and result["false_gone"] == [false_gone]


def test_add_new_appends_entries_that_validate(judged_dir):
    run.write_judging_file("TL2", [finding()], "label")
    added = run.add_new([finding(line=40, text="n1"), finding(line=41, text="n2", code="TL401")], None, "after")
    assert added == {"TL2": 1, "TL4": 1}
    judged = run.load_judged()
    assert [e.origin for e in judged["TL2"]] == ["sample", "new: after"]
    assert [e.finding.line for e in judged["TL4"]] == [41]
