"""`tensorlint check --jobs N`: the same output, exit code and errors as one process, in the same order."""
import io
import subprocess
import sys

import pytest

from tensorlint.adapters.cli.main import main
from tensorlint.run.pool import default_jobs

# TL101 + TL102 on line 5 with a safe fix (a torch module's output), and on line 4 with an unsafe one
# (`model` is known by its name only).
SAFE = ("import numpy as np\nimport torch\ndef f(x, device):\n    model = torch.nn.Linear(2, 2).to(device)\n"
        "    return model(x).numpy()\n")
UNSAFE = "import numpy as np\nimport torch\ndef f(x, device):\n    return model(x.to(device)).numpy()\n"
CLEAN = "import torch\nt = torch.zeros(3)\nt.numpy()\n"
FILES = {
    "pkg/a.py": SAFE,
    "pkg/b.py": CLEAN,
    "pkg/c.py": UNSAFE + SAFE.replace("def f", "def g"),
    "pkg/sub/bad_syntax.py": SAFE + "def g(:\n",
    "pkg/sub/bad_utf8.py": b"import torch\nx = '\xff'\n",
    "pkg/sub/d.py": "\n" * 50 + SAFE,
    "pkg/sub/e.py": "x = 1\n",
    "pkg/z.py": UNSAFE,
    "other.py": SAFE,
}


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TENSORLINT_CACHE_DIR", str(tmp_path / ".cache"))
    for name, text in FILES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode() if isinstance(text, str) else text)
    return tmp_path


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("cache", [["--no-cache"], []], ids=["no cache", "cache"])
def test_parallel_output_equals_one_process(tree, capsys, cache):
    one = run(capsys, "check", "-j", "1", *cache, "pkg", "missing.py", "other.py")
    assert one[0] == 2 and one[2].count("\n") == 1  # the missing file: a usage error, one line
    assert "pkg/sub/bad_syntax.py:6:7: TL002 " in one[1] and "pkg/sub/bad_utf8.py:2:6: TL001 " in one[1]
    for jobs in ("2", "3", "8"):
        assert run(capsys, "check", "--jobs", jobs, *cache, "pkg", "missing.py", "other.py") == one


def test_files_are_printed_in_the_order_given(tree, capsys):
    code, out, _ = run(capsys, "check", "-j", "2", "--no-cache", "other.py", "pkg")
    shown = list(dict.fromkeys(line.split(":")[0] for line in out.splitlines()[:-1]))
    assert shown == ["other.py", "pkg/a.py", "pkg/c.py", "pkg/z.py",  # a directory's own files first
                     "pkg/sub/bad_syntax.py", "pkg/sub/bad_utf8.py", "pkg/sub/d.py"]


def test_warm_parallel_run_equals_cold(tree, capsys):
    cold = run(capsys, "check", "-j", "2", "pkg")
    assert (tree / ".cache" / "v2").is_dir()
    assert run(capsys, "check", "-j", "2", "pkg") == cold
    assert run(capsys, "check", "-j", "1", "pkg") == cold


def test_default_is_one_process_per_core(tree, capsys):
    assert default_jobs() >= 1
    assert run(capsys, "check", "pkg") == run(capsys, "check", "-j", "1", "pkg")


def test_stdin_among_paths_is_read_once(tree, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(SAFE.encode())))
    code, out, _ = run(capsys, "check", "-j", "2", "--stdin-filename", "in.py", "-", "pkg/z.py")
    assert code == 1
    assert [line.split(":")[0] for line in out.splitlines()[:-1]] == ["in.py", "in.py", "pkg/z.py", "pkg/z.py"]


@pytest.mark.parametrize("value", ["0", "-1", "two", ""])
def test_bad_jobs_is_a_one_line_usage_error(tree, capsys, value):
    code, out, err = run(capsys, "check", "--jobs", value, "pkg")
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("tensorlint: error: ") and "--jobs" in err


def test_fix_with_jobs_reports_the_broken_files_and_exits_1(tree, capsys):
    code, out, err = run(capsys, "fix", "--jobs", "2", "pkg")
    assert (code, err) == (1, "")
    assert "pkg/sub/bad_syntax.py:6:7: TL002 " in out and "pkg/sub/bad_utf8.py:2:6: TL001 " in out


def test_parallel_run_in_a_real_process(tree):
    result = subprocess.run([sys.executable, "-m", "tensorlint", "check", "-j", "2", "pkg"],
                            capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stderr) == (1, "")  # the two broken files are findings
    assert result.stdout.splitlines()[0].startswith("pkg/a.py:5:12: TL101 ")
    assert result.stdout.splitlines()[-1].startswith("Found 12 problems (2 files could not be checked, ")


# -- tensorlint fix --jobs N ------------------------------------------------------------------------
def _snapshot(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.py"))}


@pytest.mark.parametrize("extra", [[], ["--unsafe-fixes"], ["--diff"]], ids=["safe", "unsafe", "diff"])
def test_parallel_fix_equals_one_process(tmp_path, capsys, monkeypatch, extra):
    results = {}
    for jobs in ("1", "2", "3"):
        root = tmp_path / f"j{jobs}"
        for name, text in FILES.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode() if isinstance(text, str) else text)
        monkeypatch.chdir(root)
        results[jobs] = (run(capsys, "fix", "-j", jobs, *extra, "pkg", "missing.py", "other.py"), _snapshot(root))
    one = results["1"]
    assert one[0][0] == 2 and one[0][2].count("\n") == (1 if "--diff" not in extra else 3)  # the missing file
    assert "pkg/sub/bad_syntax.py:6:7: TL002 " in (one[0][2] if "--diff" in extra else one[0][1])
    assert "Fixed" in one[0][1] or "--diff" in extra
    assert results["2"] == one and results["3"] == one
    if "--diff" in extra:
        assert one[1] == {k: v.encode() if isinstance(v, str) else v for k, v in FILES.items()}
    else:
        assert one[1]["pkg/a.py"] != FILES["pkg/a.py"].encode()  # it did write


def test_fix_summary_counts_what_unsafe_fixes_would_fix(tree, capsys):
    code, out, _ = run(capsys, "fix", "-j", "2", "pkg/z.py", "pkg/a.py")
    assert code == 1
    assert out.splitlines()[-1] == "Fixed 2 problems in 1 file; 2 remaining (2 fixable with --unsafe-fixes)."
    code, out, _ = run(capsys, "fix", "-j", "2", "--unsafe-fixes", "pkg/z.py")
    assert (code, out.splitlines()[-1]) == (0, "Fixed 2 problems in 1 file.")


def test_unsafe_fixes_from_configuration_and_its_override(tree, capsys):
    (tree / "pyproject.toml").write_text("[tool.tensorlint]\nunsafe-fixes = true\n")
    code, out, _ = run(capsys, "fix", "--diff", "pkg/z.py")
    assert code == 1 and "+    return model(x.to(device)).detach().cpu().numpy()" in out
    code, out, _ = run(capsys, "fix", "--diff", "--no-unsafe-fixes", "pkg/z.py")
    assert (code, out) == (0, "")
