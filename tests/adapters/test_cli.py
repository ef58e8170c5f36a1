"""The `tensorlint` command, driven through `main([...])` (and once as a real subprocess)."""
import io
import stat
import subprocess
import sys

import pytest

from tensorlint import check_source
from tensorlint.adapters.cli.main import main
from tensorlint.core.fixer import FixError
from tensorlint.rules import RULES_BY_CODE

# TL101 + TL102 on line 5, one shared safe fix: the output of a torch module moved to a device.
SAFE = ("import numpy as np\nimport torch\ndef f(x, device):\n    model = torch.nn.Linear(2, 2).to(device)\n"
        "    return model(x).numpy()\n")
SAFE_FIXED = SAFE.replace("model(x).numpy()", "model(x).detach().cpu().numpy()")
# TL101 + TL102 on line 4 whose fix is unsafe: `model` is known by its name only, so nothing proves that
# its output is a torch tensor (it is fed inputs moved to a device: the evidence for TL102).
UNSAFE = "import numpy as np\nimport torch\ndef f(x, device):\n    return model(x.to(device)).numpy()\n"
UNSAFE_FIXED = UNSAFE.replace(").numpy()", ").detach().cpu().numpy()")
# TL101 + TL102 on line 7 with no fix at all: a list of outputs of a model fed moved inputs into np.vstack
# (not a step loop, so TL404 does not offer `.detach()` at the append).
UNFIXABLE = ("import numpy as np\nimport torch\ndef f(inputs, device):\n    outs = []\n    for x in inputs:\n"
             "        outs.append(model(x.to(device)))\n    return np.vstack(outs)\n")
CLEAN = "import torch\nt = torch.zeros(3)\nt.numpy()\n"


def write(directory, name, text):
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(err, *fragments):
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tensorlint: error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


def codes_in(out):
    return [line.split(" ")[1] for line in out.splitlines() if line.count(":") >= 3 and " TL" in line]


# -- check ---------------------------------------------------------------------------------------
def test_check_exact_output_and_exit_1(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "a.py", SAFE)
    messages = {d.code: d.message for d in check_source(SAFE)}
    code, out, err = run(capsys, "check", "a.py")
    assert code == 1 and err == ""
    assert out.splitlines() == [
        f"a.py:5:12: TL101 {messages['TL101']}",
        f"a.py:5:12: TL102 {messages['TL102']}",
        "Found 2 problems (2 fixable with `tensorlint fix`).",
    ]


def test_check_clean_file_exits_0(tmp_path, capsys):
    code, out, err = run(capsys, "check", str(write(tmp_path, "clean.py", CLEAN)))
    assert (code, out, err) == (0, "All checks passed!\n", "")


def test_summary_counts_safe_and_unsafe_fixes(tmp_path, capsys):
    safe, unsafe = write(tmp_path, "a.py", SAFE), write(tmp_path, "b.py", UNSAFE)
    code, out, _ = run(capsys, "check", str(safe), str(unsafe))
    assert code == 1
    assert out.splitlines()[-1] == "Found 4 problems (2 fixable with `tensorlint fix`, 2 more with `--unsafe-fixes`)."
    code, out, _ = run(capsys, "check", str(unsafe))
    assert out.splitlines()[-1] == "Found 2 problems (2 fixable with `tensorlint fix --unsafe-fixes`)."
    code, out, _ = run(capsys, "check", str(write(tmp_path, "c.py", UNFIXABLE)))
    assert out.splitlines()[-1] == "Found 2 problems."
    code, out, _ = run(capsys, "check", "--select", "TL101", str(safe))
    assert out.splitlines()[-1] == "Found 1 problem (1 fixable with `tensorlint fix`)."


def test_output_is_sorted_by_position(tmp_path, capsys):
    source = SAFE + "def g(x):\n    return torch.nn.Linear(2, 2).cuda()(x).numpy()\n"
    code, out, _ = run(capsys, "check", str(write(tmp_path, "a.py", source)))
    positions = [tuple(int(n) for n in line.split(":")[1:3]) + (line.split()[1],) for line in out.splitlines()[:-1]]
    assert positions == [(5, 12, "TL101"), (5, 12, "TL102"), (7, 12, "TL101"), (7, 12, "TL102")]


def test_directory_recursion_skips_excluded_and_hidden_dirs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "pkg/a.py", SAFE)
    write(tmp_path, "pkg/sub/b.py", SAFE)
    write(tmp_path, "pkg/notes.txt", SAFE)  # not *.py: skipped in a walk
    for skipped in (".hidden", "__pycache__", ".git", ".venv", "venv", "node_modules", "build", "dist", ".tox",
                    ".eggs", "site-packages", "pkg/sub/.cache"):
        write(tmp_path, f"{skipped}/x.py", SAFE)
    code, out, _ = run(capsys, "check", ".")
    assert code == 1
    assert sorted({line.split(":")[0] for line in out.splitlines()[:-1]}) == ["./pkg/a.py", "./pkg/sub/b.py"]
    assert out.splitlines()[0].startswith("./pkg/a.py:5:12: TL101 ")  # a directory's own files come first


def test_explicit_paths_are_checked_whatever_their_name(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "build/x.py", SAFE)
    write(tmp_path, "script", SAFE)
    code, out, _ = run(capsys, "check", "build", "script")
    assert code == 1
    assert [line.split(":")[0] for line in out.splitlines()[:-1]] == ["build/x.py"] * 2 + ["script"] * 2


@pytest.mark.parametrize("comment, expected", [
    ("  # noqa", []),
    ("  # noqa: TL101", ["TL102"]),
    ("  # noqa:TL101,TL102", []),
    ("  # noqa: TL102", ["TL101"]),
    ("  # noqa: TL1", []),
])
def test_noqa(tmp_path, capsys, comment, expected):
    path = write(tmp_path, "a.py", SAFE.replace("numpy()\n", "numpy()" + comment + "\n"))
    code, out, _ = run(capsys, "check", str(path))
    assert codes_in(out) == expected
    assert code == (1 if expected else 0)


@pytest.mark.parametrize("options, expected", [
    (["--select", "TL101"], ["TL101"]),
    (["--select", "TL1"], ["TL101", "TL102"]),
    (["--select", "tl102"], ["TL102"]),
    (["--ignore", "TL102"], ["TL101"]),
    (["--ignore", "TL101,TL102"], []),
    (["--select", "TL1", "--ignore", "TL101"], ["TL102"]),
    (["--select", "TL101", "--ignore", "TL1"], ["TL101"]),  # the longer prefix wins, as in flake8
])
def test_select_and_ignore(tmp_path, capsys, options, expected):
    code, out, _ = run(capsys, "check", *options, str(write(tmp_path, "a.py", SAFE)))
    assert codes_in(out) == expected
    assert code == (1 if expected else 0)


def test_unknown_select_code_is_a_usage_error(tmp_path, capsys):
    code, out, err = run(capsys, "check", "--select", "TL9", str(write(tmp_path, "a.py", SAFE)))
    assert code == 2 and out == ""
    assert_one_error_line(err, "TL9")


def test_missing_path_is_one_line_and_other_files_are_still_checked(tmp_path, capsys):
    missing = tmp_path / "missing.py"
    code, out, err = run(capsys, "check", str(missing), str(write(tmp_path, "a.py", SAFE)))
    assert code == 2  # 2 wins over 1
    assert_one_error_line(err, str(missing), "no such file")
    assert codes_in(out) == ["TL101", "TL102"]


@pytest.mark.parametrize("content, finding", [
    ("def f(:\n    pass\n", "bad.py:1:7: TL002 cannot parse: invalid syntax"),  # no `.numpy()`: the engine
    (SAFE + "def g(:\n", "bad.py:6:7: TL002 cannot parse: invalid syntax"),    # would not parse it
    (b"import torch\nx = '\xff'\n", "bad.py:2:6: TL001 not valid UTF-8 (invalid start byte)"),
    (b"import torch\nx = 1\x00\n", "bad.py:2:6: TL002 cannot parse: source contains a null byte (a binary file?)"),
])
def test_unreadable_sources_are_one_finding_and_exit_1(tmp_path, capsys, content, finding):
    path = write(tmp_path, "bad.py", content)
    code, out, err = run(capsys, "check", str(path))
    assert (code, err) == (1, "")
    assert out.splitlines() == [f"{tmp_path}/{finding}", "Found 1 problem (1 file could not be checked)."]


def test_unreadable_file_is_one_finding(tmp_path, capsys, monkeypatch):
    path = write(tmp_path, "a.py", SAFE)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("builtins.open", denied)  # chmod 0 does not stop root, who runs CI here
    code, out, err = run(capsys, "check", str(path))
    assert (code, err) == (1, "")
    assert out.splitlines()[0] == f"{path}:1:1: TL001 cannot read: Permission denied"


def test_check_reads_stdin(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(SAFE.encode())))
    code, out, _ = run(capsys, "check", "-")
    assert code == 1 and out.startswith("-:5:12: TL101 ")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(SAFE.encode())))
    code, out, _ = run(capsys, "check", "--stdin-filename", "src/m.py", "-")
    assert out.startswith("src/m.py:5:12: TL101 ")


# -- fix -----------------------------------------------------------------------------------------
def test_fix_diff_writes_nothing_and_prints_a_unified_diff(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "a.py", SAFE)
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    code, out, err = run(capsys, "fix", "--diff", "a.py")
    assert code == 1 and err == ""
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime
    assert out.splitlines() == [
        "--- a/a.py", "+++ b/a.py", "@@ -2,4 +2,4 @@", " import torch", " def f(x, device):",
        "     model = torch.nn.Linear(2, 2).to(device)", "-    return model(x).numpy()",
        "+    return model(x).detach().cpu().numpy()",
    ]


def test_fix_diff_of_a_clean_file_is_empty(tmp_path, capsys):
    assert run(capsys, "fix", "--diff", str(write(tmp_path, "a.py", CLEAN))) == (0, "", "")


def test_fix_diff_marks_a_missing_final_newline(tmp_path, capsys):
    path = write(tmp_path, "a.py", SAFE.rstrip("\n"))
    code, out, _ = run(capsys, "fix", "--diff", str(path))
    assert code == 1
    assert out.endswith("+    return model(x).detach().cpu().numpy()\n\\ No newline at end of file\n")


def test_fix_writes_the_file_and_is_idempotent(tmp_path, capsys):
    path = write(tmp_path, "a.py", SAFE)
    code, out, err = run(capsys, "fix", str(path))
    assert (code, out, err) == (0, "Fixed 2 problems in 1 file.\n", "")
    assert path.read_text() == SAFE_FIXED
    mtime = path.stat().st_mtime_ns
    assert run(capsys, "fix", str(path)) == (0, "All checks passed!\n", "")
    assert path.stat().st_mtime_ns == mtime  # an unchanged file is not rewritten
    assert run(capsys, "check", str(path))[0] == 0


@pytest.mark.parametrize("encode", [
    lambda text: text.replace("\n", "\r\n").encode(),
    lambda text: b"\xef\xbb\xbf" + text.encode(),
    lambda text: text.replace("\n", "\r\n").encode().replace(b"\r\n", b"\n", 1),  # mixed newlines
])
def test_fix_keeps_newlines_and_bom_byte_for_byte(tmp_path, capsys, encode):
    path = write(tmp_path, "a.py", encode(SAFE))
    assert run(capsys, "fix", str(path))[0] == 0
    assert path.read_bytes() == encode(SAFE_FIXED)


def test_fix_is_atomic_and_keeps_mode_and_links(tmp_path, capsys):
    real = write(tmp_path, "real.py", SAFE)
    real.chmod(0o751)
    link = tmp_path / "link.py"
    link.symlink_to(real.name)
    assert run(capsys, "fix", str(link))[0] == 0
    assert link.is_symlink() and real.read_text() == SAFE_FIXED
    assert stat.S_IMODE(real.stat().st_mode) == 0o751
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.py", "real.py"]  # no temporary file left


def test_fix_leaves_unsafe_fixes_unless_asked(tmp_path, capsys):
    path = write(tmp_path, "b.py", UNSAFE)
    code, out, _ = run(capsys, "fix", str(path))
    assert code == 1 and path.read_text() == UNSAFE
    assert codes_in(out) == ["TL101", "TL102"]
    assert out.splitlines()[-1] == "Fixed 0 problems in 0 files; 2 remaining (2 fixable with --unsafe-fixes)."
    code, out, _ = run(capsys, "fix", "--unsafe-fixes", str(path))
    assert (code, out) == (0, "Fixed 2 problems in 1 file.\n")
    assert path.read_text() == UNSAFE_FIXED
    assert run(capsys, "fix", "--unsafe-fixes", str(path))[0] == 0


def test_fix_reports_what_remains_and_exits_1(tmp_path, capsys):
    safe, unfixable = write(tmp_path, "a.py", SAFE), write(tmp_path, "c.py", UNFIXABLE)
    code, out, _ = run(capsys, "fix", str(safe), str(unfixable))
    assert code == 1
    assert codes_in(out) == ["TL101", "TL102"] and out.startswith(f"{unfixable}:7:")
    assert out.splitlines()[-1] == "Fixed 2 problems in 1 file; 2 remaining."
    code, out, _ = run(capsys, "fix", str(safe), str(unfixable))  # second run: nothing more to fix
    assert code == 1 and out.splitlines()[-1] == "Fixed 0 problems in 0 files; 2 remaining."


def test_fix_error_leaves_the_file_untouched(tmp_path, capsys, monkeypatch):
    def broken_fix(*args, **kwargs):
        raise FixError("fix produced invalid code (boom); nothing was written")

    monkeypatch.setattr("tensorlint.adapters.cli.fix.fix_source", broken_fix)
    path = write(tmp_path, "a.py", SAFE)
    code, _, err = run(capsys, "fix", str(path))
    assert code == 2 and path.read_text() == SAFE
    assert_one_error_line(err, "a.py: cannot fix: fix produced invalid code (boom)")


def test_fix_skips_a_file_that_does_not_parse(tmp_path, capsys):
    bad, good = write(tmp_path, "bad.py", SAFE + "def g(:\n"), write(tmp_path, "good.py", SAFE)
    code, out, err = run(capsys, "fix", str(bad), str(good))
    assert (code, err) == (1, "")
    assert out.splitlines() == [f"{bad}:6:7: TL002 cannot parse: invalid syntax",
                                "Fixed 2 problems in 1 file; 1 remaining (1 file could not be checked)."]
    assert bad.read_text() == SAFE + "def g(:\n" and good.read_text() == SAFE_FIXED


def test_fix_stdin_prints_the_fixed_source(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(SAFE.encode())))
    code, out, err = run(capsys, "fix", "-")
    assert (code, out, err) == (0, SAFE_FIXED, "Fixed 2 problems in 1 file.\n")


# -- rules, version, usage -----------------------------------------------------------------------
def test_rule_prints_its_documentation(capsys):
    code, out, _ = run(capsys, "rule", "tl101")
    assert code == 0
    assert out.startswith("# TL101 numpy-without-detach\n")
    assert RULES_BY_CODE["TL101"].documentation() in out


def test_unknown_rule_exits_2(capsys):
    code, out, err = run(capsys, "rule", "TL999")
    assert code == 2 and out == ""
    assert_one_error_line(err, "TL999")


def test_rules_lists_every_rule(capsys):
    code, out, _ = run(capsys, "rules")
    assert code == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert {"TL101", "TL102", "TL103"} <= set(rows)
    assert rows["TL101"][1:4] == ["numpy-without-detach", "sometimes", "on"]
    assert rows["TL103"][2] == "always"


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("tensorlint 0.")


def test_no_command_prints_help_and_exits_2(capsys):
    code, out, err = run(capsys)
    assert code == 2 and "usage: tensorlint" in err and "check" in err


def test_usage_error_is_one_line(capsys):
    code, _, err = run(capsys, "check", "--jobs", "0")
    assert code == 2
    assert_one_error_line(err)


def test_module_entry_point_runs_in_a_subprocess(tmp_path):
    path = write(tmp_path, "a.py", SAFE)
    result = subprocess.run([sys.executable, "-m", "tensorlint", "check", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith(f"{path}:5:12: TL101 ")
    assert result.stdout.splitlines()[-1] == "Found 2 problems (2 fixable with `tensorlint fix`)."
