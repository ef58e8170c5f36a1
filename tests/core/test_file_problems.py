"""Files that cannot be checked are findings (TL001, TL002): exit 1 with mixed good and bad trees,
2 only for usage, configuration and internal errors; every format, select/ignore/noqa, fix, stdin,
notebooks and the cache treat them as findings."""
import io
import json
import os
import subprocess
import sys

import pytest

from tensorlint.adapters.cli.main import main

# A model built here and moved to the device: TL101 and TL102, both with a safe fix.
SAFE = ("import numpy as np\nimport torch\ndef f(x, device):\n    model = torch.nn.Linear(2, 2).to(device)\n"
        "    return model(x).numpy()\n")
SAFE_FIXED = SAFE.replace("model(x).numpy()", "model(x).detach().cpu().numpy()")
BROKEN = SAFE + "def g(:\n"           # TL002 at 6:7
LATIN = b"import torch\nx = '\xe9'\n"  # TL001 at 2:6


def write(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def run(capsys, *argv):
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def codes_in(out):
    return [line.split(": ")[1].split()[0] for line in out.splitlines() if ": TL" in line]


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A project with good files, a syntax error and a file that is not UTF-8."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TENSORLINT_CACHE_DIR", str(tmp_path / ".cache"))
    write(tmp_path / "src" / "good.py", SAFE)
    write(tmp_path / "src" / "clean.py", "x = 1\n")
    write(tmp_path / "src" / "legacy" / "broken.py", BROKEN)
    write(tmp_path / "src" / "legacy" / "latin.py", LATIN)
    return tmp_path


# -- exit status -------------------------------------------------------------------------------------
def test_mixed_tree_reports_everything_and_exits_1(tree, capsys):
    code, out, err = run(capsys, "check", "src")
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        "src/good.py:5:12: TL101 `.numpy()` on a tensor that may require grad (it comes from `model(x)` (line 5)): "
        "insert `.detach()` first (raises \"RuntimeError: Can't call numpy() on Tensor that requires grad\")",
        "src/good.py:5:12: TL102 `.numpy()` on a tensor that may be on an accelerator (it comes from `model(x)` "
        "(line 5), was moved by `torch.nn.Linear(2, 2).to(device)` (line 4)): insert `.cpu()` first "
        "(raises \"TypeError: can't convert cuda:0 device type tensor to numpy\")",
        "src/legacy/broken.py:6:7: TL002 cannot parse: invalid syntax",
        "src/legacy/latin.py:2:6: TL001 not valid UTF-8 (invalid continuation byte)",
        "Found 4 problems (2 files could not be checked, 2 fixable with `tensorlint fix`).",
    ]


def test_only_bad_files_still_exit_1(tree, capsys):
    code, out, err = run(capsys, "check", "src/legacy")
    assert (code, err) == (1, "") and codes_in(out) == ["TL002", "TL001"]


def test_exit_zero_covers_them_too(tree, capsys):
    code, out, _ = run(capsys, "check", "--exit-zero", "src/legacy")
    assert code == 0 and codes_in(out) == ["TL002", "TL001"]


@pytest.mark.parametrize("make, argv, message", [
    pytest.param(lambda root: None, ["check", "src", "missing.py"], "missing.py: no such file or directory",
                 id="a path that does not exist"),
    pytest.param(lambda root: write(root / "pyproject.toml", "[tool.tensorlint]\nselct = []\n"), ["check", "src"],
                 "unknown key 'selct'", id="a broken configuration"),
    pytest.param(lambda root: None, ["check", "--select", "TL9", "src"], "no rule code starts with 'TL9'",
                 id="a bad option"),
])
def test_two_stays_for_usage_and_configuration_errors(tree, capsys, make, argv, message):
    make(tree)
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("tensorlint: error: ") and message in err


def test_two_for_an_internal_error_even_with_bad_files_around(tree, capsys, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("tensorlint.run.check.check_source", crash)
    monkeypatch.setattr("tensorlint.api.check_source", crash)  # a directory is a project run (imported lazily)
    code, out, err = run(capsys, "check", "--no-cache", "src")
    assert code == 2
    assert err.splitlines() == [f"tensorlint: error: src/{name}: internal error, please report: RuntimeError: boom"
                                for name in ("clean.py", "good.py")]
    assert codes_in(out) == ["TL002", "TL001"]  # the other files were still reported


def test_a_real_process_with_parallel_workers(tree):
    done = subprocess.run([sys.executable, "-m", "tensorlint", "check", "-j", "2", "src"], cwd=tree,
                          capture_output=True, text=True, timeout=120, env={**os.environ,
                                                                           "TENSORLINT_CACHE_DIR": str(tree / ".c")})
    assert (done.returncode, done.stderr) == (1, "")
    assert codes_in(done.stdout) == ["TL101", "TL102", "TL002", "TL001"]


def test_a_directory_that_cannot_be_listed(tree, capsys, monkeypatch):
    locked = str(tree / "src" / "legacy")
    real_scandir = os.scandir

    def scandir(path="."):
        if os.path.abspath(path) == locked:
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)  # root ignores chmod, so the refusal is simulated
    code, out, err = run(capsys, "check", "src")
    assert (code, err) == (1, "")
    assert "src/legacy:1:1: TL001 cannot read directory: Permission denied" in out.splitlines()
    assert codes_in(out) == ["TL001", "TL101", "TL102"]


# -- select, ignore, noqa ------------------------------------------------------------------------------
@pytest.mark.parametrize("options, config, expected", [
    pytest.param(["--select", "TL101"], None, ["TL101", "TL002", "TL001"], id="--select does not hide them"),
    pytest.param([], 'select = ["TL4"]', ["TL002", "TL001"], id="a select in the configuration neither"),
    pytest.param(["--ignore", "TL0"], None, ["TL101", "TL102"], id="--ignore TL0"),
    pytest.param(["--ignore", "TL002"], None, ["TL101", "TL102", "TL001"], id="--ignore one of them"),
    pytest.param([], 'ignore = ["TL001"]', ["TL101", "TL102", "TL002"], id="ignore in the configuration"),
    pytest.param([], '[tool.tensorlint.per-file-ignores]\n"legacy/*" = ["TL0"]', ["TL101", "TL102"],
                 id="per-file-ignores"),
    pytest.param(["--select", "TL002", "--ignore", "TL0"], None, ["TL002"], id="a longer select wins"),
])
def test_selection(tree, capsys, options, config, expected):
    if config is not None:
        write(tree / "src" / "pyproject.toml", f"[tool.tensorlint]\n{config}\n")
    code, out, err = run(capsys, "check", *options, "src")
    assert err == "" and codes_in(out) == expected
    assert code == (1 if expected else 0)


@pytest.mark.parametrize("comment", ["# noqa: TL002", "# noqa"])
def test_noqa_on_the_reported_line_silences_a_syntax_error(tmp_path, capsys, comment):
    path = write(tmp_path / "a.py", f"def g(:  {comment}\n    pass\n")
    assert run(capsys, "check", "--no-cache", path) == (0, "All checks passed!\n", "")
    write(tmp_path / "a.py", "def g(:  # noqa: TL101\n    pass\n")
    assert codes_in(run(capsys, "check", "--no-cache", path)[1]) == ["TL002"]


# -- formats ---------------------------------------------------------------------------------------
def test_json_carries_them(tree, capsys):
    code, out, _ = run(capsys, "check", "--format", "json", "src/legacy")
    assert code == 1
    found = [{key: item[key] for key in ("code", "name", "message", "filename", "location", "fix")}
             for item in json.loads(out)]
    assert found == [
        {"code": "TL002", "name": "syntax-error", "message": "cannot parse: invalid syntax",
         "filename": "src/legacy/broken.py", "location": {"row": 6, "column": 7}, "fix": None},
        {"code": "TL001", "name": "unreadable-file", "message": "not valid UTF-8 (invalid continuation byte)",
         "filename": "src/legacy/latin.py", "location": {"row": 2, "column": 6}, "fix": None},
    ]
    assert json.loads(out)[0]["url"].endswith("/docs/rules/TL002.md")


def test_sarif_and_github_call_them_errors(tree, capsys):
    code, out, _ = run(capsys, "check", "--format", "sarif", "src")
    results = json.loads(out)["runs"][0]["results"]
    assert code == 1
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("TL101", "warning"), ("TL102", "warning"), ("TL002", "error"), ("TL001", "error")]
    rules = json.loads(out)["runs"][0]["tool"]["driver"]["rules"]
    assert rules[results[2]["ruleIndex"]]["id"] == "TL002"
    code, out, _ = run(capsys, "check", "--format", "github", "src/legacy")
    assert code == 1 and out.splitlines() == [
        "::error file=src/legacy/broken.py,line=6,col=7,endLine=6,endColumn=8,title=TL002::cannot parse: invalid syntax",
        "::error file=src/legacy/latin.py,line=2,col=6,endLine=2,endColumn=7,title=TL001::"
        "not valid UTF-8 (invalid continuation byte)"]


def test_text_shows_the_line_that_does_not_parse(tree, capsys):
    code, out, _ = run(capsys, "check", "--format", "text", "src/legacy/broken.py")
    assert code == 1
    assert out.startswith("src/legacy/broken.py:6:7: TL002 cannot parse: invalid syntax\n"
                          "  |\n6 | def g(:\n  |       ^ TL002\n")


def test_statistics_count_them(tree, capsys):
    code, out, _ = run(capsys, "check", "--statistics", "src")
    assert code == 1
    assert "1  TL001  [ ] unreadable-file" in out and "1  TL002  [ ] syntax-error" in out


# -- fix ---------------------------------------------------------------------------------------------
def test_fix_reports_them_and_leaves_the_files_alone(tree, capsys):
    before = {p: p.read_bytes() for p in (tree / "src" / "legacy").iterdir()}
    code, out, err = run(capsys, "fix", "src")
    assert (code, err) == (1, "")
    assert out.splitlines() == ["src/legacy/broken.py:6:7: TL002 cannot parse: invalid syntax",
                                "src/legacy/latin.py:2:6: TL001 not valid UTF-8 (invalid continuation byte)",
                                "Fixed 2 problems in 1 file; 2 remaining (2 files could not be checked)."]
    assert {p: p.read_bytes() for p in before} == before
    assert (tree / "src" / "good.py").read_text() == SAFE_FIXED


def test_fix_diff_keeps_stdout_a_patch(tree, capsys):
    code, out, err = run(capsys, "fix", "--diff", "src")
    assert code == 1
    assert out.startswith("--- a/src/good.py\n+++ b/src/good.py\n") and "TL00" not in out
    assert err.splitlines() == ["src/legacy/broken.py:6:7: TL002 cannot parse: invalid syntax",
                                "src/legacy/latin.py:2:6: TL001 not valid UTF-8 (invalid continuation byte)"]


@pytest.mark.parametrize("data, finding", [
    (BROKEN.encode(), "in.py:6:7: TL002 cannot parse: invalid syntax"),
    (LATIN, "in.py:2:6: TL001 not valid UTF-8 (invalid continuation byte)"),
])
def test_fix_stdin_that_cannot_be_checked_passes_it_through(tmp_path, data, finding):
    """An editor piping its buffer through `fix -` must get its buffer back, byte for byte."""
    done = subprocess.run([sys.executable, "-m", "tensorlint", "fix", "--stdin-filename", "in.py", "-"], input=data,
                          capture_output=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 1 and done.stdout == data
    assert done.stderr.decode().splitlines() == [finding, "Fixed 0 problems in 0 files; 1 remaining "
                                                          "(1 file could not be checked)."]


def test_check_stdin(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(LATIN)))
    code, out, err = run(capsys, "check", "--stdin-filename", "m.py", "-")
    assert (code, err) == (1, "") and out.startswith("m.py:2:6: TL001 not valid UTF-8")


# -- notebooks ---------------------------------------------------------------------------------------
def place(path, text):
    """(1-based line, 1-based column) in the .ipynb file of the first character of `text`."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return number, line.index(text) + 1
    raise AssertionError(f"{text!r} not in {path}")


def notebook(*sources):
    cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": source}
             for source in sources]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"


def test_a_cell_that_does_not_parse(tmp_path, capsys):
    path = write(tmp_path / "nb.ipynb", notebook(["import torch\n"], ["def f(:\n", "    pass\n"]))
    code, out, err = run(capsys, "check", path)
    assert (code, err) == (1, "")
    assert out.splitlines()[0] == f"{path}:cell 2:1:7: TL002 cannot parse: invalid syntax"
    code, out, _ = run(capsys, "check", "--format", "json", path)
    row, column = place(path, ':\\n"')  # the `:` at cell column 7, inside the JSON string
    assert [(d["code"], d["location"]) for d in json.loads(out)] == [("TL002", {"row": row, "column": column})]


def test_noqa_in_the_cell_silences_its_syntax_error(tmp_path, capsys):
    path = write(tmp_path / "nb.ipynb", notebook(["def f(:  # noqa: TL002\n", "    pass\n"]))
    assert run(capsys, "check", path) == (0, "All checks passed!\n", "")


def test_notebook_findings_in_every_format(tmp_path, capsys):
    """Findings inside cells are placed in the .ipynb file in the formats that address files by line."""
    path = write(tmp_path / "nb.ipynb", notebook(["import torch\n", "t = torch.ones(2, requires_grad=True)\n",
                                                  "t.numpy()\n"]))
    row, column = place(path, 't.numpy()')
    code, out, err = run(capsys, "check", "--format", "json", path)
    assert (code, err) == (1, "")
    assert [(d["code"], d["location"], d["end_location"], d["fix"]) for d in json.loads(out)] == [
        ("TL101", {"row": row, "column": column}, {"row": row, "column": column + 9}, None)]
    code, out, _ = run(capsys, "check", "--format", "github", path)
    assert out.startswith(f"::warning file={path},line={row},col={column},endLine={row},endColumn={column + 9},")
    code, out, _ = run(capsys, "check", "--format", "sarif", path)
    region = json.loads(out)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (row, column)
    code, out, _ = run(capsys, "check", "--format", "text", path)
    assert out.startswith(f"{path}:{row}:{column}: TL101 ") and "= help: Use `.detach().cpu().numpy()`" in out


# -- the cache ---------------------------------------------------------------------------------------
def test_they_are_not_cached(tree, capsys):
    for _ in range(2):
        code, out, _ = run(capsys, "check", "src/legacy/broken.py")
        assert code == 1 and codes_in(out) == ["TL002"]
    assert not (tree / ".cache" / "v2").exists()
    write(tree / "src" / "legacy" / "broken.py", SAFE)  # repaired: checked for real, then cached
    assert codes_in(run(capsys, "check", "src/legacy/broken.py")[1]) == ["TL101", "TL102"]
    assert (tree / ".cache" / "v2").is_dir()


# -- the rules themselves ----------------------------------------------------------------------------
def test_they_are_documented_rules(capsys):
    code, out, _ = run(capsys, "rule", "tl002")
    assert code == 0 and out.startswith("# TL002 syntax-error\n") and "## What it does" in out
    code, out, _ = run(capsys, "rules")
    rows = {line.split()[0]: line.split()[1:4] for line in out.splitlines()[1:]}
    assert rows["TL001"] == ["unreadable-file", "no", "on"] and rows["TL002"] == ["syntax-error", "no", "on"]


def test_fix_leaves_a_notebook_with_a_broken_cell_alone(tmp_path, capsys):
    path = write(tmp_path / "nb.ipynb", notebook(["import torch\n", "t = torch.ones(2, requires_grad=True)\n",
                                                  "t.numpy()\n"], ["def f(:\n"]))
    before = path.read_bytes()
    code, out, err = run(capsys, "fix", path)
    assert (code, err) == (1, "")
    assert out.splitlines() == [f"{path}:cell 2:1:7: TL002 cannot parse: invalid syntax",
                                "Fixed 0 problems in 0 files; 1 remaining (1 file could not be checked)."]
    assert path.read_bytes() == before
