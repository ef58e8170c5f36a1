"""benchmarks/fix_audit.py: its own re-application of fixes, its checks, and the sample file it writes."""
import importlib.util
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("fix_audit", ROOT / "benchmarks" / "fix_audit.py")
fa = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fa)

TOOL = [sys.executable, "-m", "tensorlint"]
SOURCE = (
    "import torch\r\n"
    "\r\n"
    "def f(model: torch.nn.Module, x):\r\n"  # a torch model fed a moved input: TL101 and TL102, a safe fix
    "    s = 'ééé'; y = model(x.cuda()).numpy()\r\n"
    "    for p in model.parameters():\r\n"
    "        p.data.mul_(2)\r\n"
    "    return s, y\r\n"
)
# a stand-in for tensorlint that, on every `fix`, also changes bytes outside the edits and a file mode
MEDDLER = """
import os, subprocess, sys
from pathlib import Path
done = subprocess.run([sys.executable, "-m", "tensorlint", *sys.argv[1:]])
if sys.argv[1] == "fix":
    for p in sorted(Path(".").rglob("*.py")):
        if ".detach()" in p.read_text():  # every run, so a second run changes the file again
            p.write_text("# meddled\\n" + p.read_text())
            os.chmod(p, 0o755)
sys.exit(done.returncode)
"""


@pytest.fixture
def tree(tmp_path, monkeypatch):
    source = tmp_path / "src"
    (source / "pkg").mkdir(parents=True)
    (source / "pkg" / "m.py").write_bytes(SOURCE.encode())
    (source / "pkg" / "clean.py").write_text("x = 1\n")
    monkeypatch.setattr(fa, "WORK", tmp_path / "work")
    findings = fa.check_json(TOOL, fa.fresh_copy(source, tmp_path / "check"), ["."], None)
    return source, findings


def test_replays_the_fixers_bytes_exactly(tree):
    source, findings = tree
    safe = fa.audit_mode(TOOL, "pkg", source, "safe", findings, None)
    unsafe = fa.audit_mode(TOOL, "pkg", source, "unsafe", findings, None)
    assert safe["problems"] == {} and unsafe["problems"] == {}
    assert [(a["codes"], a["safety"]) for a in safe["applied"]] == [("TL101+TL102", "safe")]
    assert sorted((a["codes"], a["safety"]) for a in unsafe["applied"]) == [
        ("TL101+TL102", "safe"), ("TL202", "unsafe")]
    assert "+    s = 'ééé'; y = model(x.cuda()).detach().cpu().numpy()" in safe["applied"][0]["hunk"].splitlines()
    fixed = (fa.WORK / "unsafe" / "pkg" / "pkg" / "m.py").read_bytes()
    assert b"with torch.no_grad():\r\n" in fixed and b"\n" not in fixed.replace(b"\r\n", b"")


def test_reports_bytes_outside_the_edits_a_mode_change_and_a_second_run_that_changes(tree, tmp_path):
    source, findings = tree
    meddler = tmp_path / "meddler.py"
    meddler.write_text(MEDDLER)
    result = fa.audit_mode([sys.executable, str(meddler)], "pkg", source, "safe", findings, None)
    assert result["problems"] == {"mode changed": ["pkg/m.py"], "bytes differ from the fixes' edits": ["pkg/m.py"],
                                  "not idempotent": ["pkg/m.py"]}


@pytest.mark.parametrize("edits, text, expected", [
    pytest.param([(1, 1, "X"), (1, 1, "X")], "abc", "aXbc", id="an edit shared by two fixes is applied once"),
    pytest.param([(0, 1, ""), (2, 3, "C")], "abc", "bC", id="deletion and replacement"),
])
def test_apply(edits, text, expected):
    assert fa.apply(text, edits) == expected


def test_one_pass_skips_overlapping_and_no_op_fixes():
    def finding(code, start, end, content, applicability="safe"):
        return {"code": code, "location": {"row": 1, "column": start},
                "fix": {"applicability": applicability, "title": "t", "edits": [
                    {"content": content, "location": {"row": 1, "column": start},
                     "end_location": {"row": 1, "column": end}}]}}
    findings = [finding("TL101", 2, 4, "XY"), finding("TL102", 3, 5, "Z"), finding("TL103", 4, 5, "d"),
                finding("TL202", 1, 1, "w", "unsafe")]
    assert [[f["code"] for f in fs] for _, fs in fa.one_pass("abcdef", findings, "safe")] == [["TL101"]]
    assert [[f["code"] for f in fs] for _, fs in fa.one_pass("abcdef", findings, "unsafe")] == [["TL101"], ["TL202"]]


@pytest.mark.parametrize("hunk", [
    "@@ -1 +1 @@\n-x = '''a'''\n+x = \"b\"", "tab\there\x0bvt \\n backslash", "it's", "plain", "del \x7f",
])
def test_sample_round_trips(tmp_path, hunk):
    entry = {"package": "p-1", "path": "a.py", "line": 3, "column": 7, "codes": "TL101", "safety": "safe",
             "passes": 1, "title": "Use `.detach()`", "verdict": "", "reason": "", "hunk": hunk}
    fa.write_sample([entry], tmp_path / "s.toml")
    assert tomllib.loads((tmp_path / "s.toml").read_text(encoding="utf-8"))["fix"] == [entry]


def test_sample_is_seeded_and_covers_every_code():
    fixes = [fa.Applied(f"p{i % 3}", f"f{i}.py", i, 1, code, safety, 1, "t", "h")
             for i, (code, safety) in enumerate([("TL101", "safe")] * 40 + [("TL202", "unsafe")] * 3
                                                + [("TL301", "safe")])]
    chosen = fa.choose(fixes, 12, seed=5)
    assert chosen == fa.choose(fixes, 12, seed=5) and len(chosen) == 12
    assert {(a.codes, a.safety) for a in chosen} == {("TL101", "safe"), ("TL202", "unsafe"), ("TL301", "safe")}
