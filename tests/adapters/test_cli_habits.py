"""What users bring from ruff: no path means `.`, --output-file, --config, `check --fix`, --extend-select /
--extend-ignore, `rules` in code order, GitHub annotations that land on the pull request, and a start
that does not load the analysis when the cache answers."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tensorlint.run import cache as cache_module
from tensorlint.adapters.cli.main import main

# TL101 + TL102 on line 5 (one safe fix: the output of a torch module moved to a device), TL201 on line 6.
HAZARD = ("import numpy as np\nimport torch\ndef f(x, device):\n    model = torch.nn.Linear(2, 2).to(device)\n"
          "    y = model(x).numpy()\n    return model(x).data\n")
FIXED_LINE = "    y = model(x).detach().cpu().numpy()\n"
ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def codes(out: str):
    return sorted(line.split(" ")[1] for line in out.splitlines() if " TL" in line and line.count(":") >= 3)


def one_error_line(err: str, *fragments: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tensorlint: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], err


# -- no path: the working directory ----------------------------------------------------------------
@pytest.mark.parametrize("command", ["check", "fix"])
def test_no_path_means_the_working_directory(tmp_path, monkeypatch, capsys, command):
    write(tmp_path / "pkg" / "m.py", HAZARD)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, command)
    assert err == ""
    if command == "check":
        assert code == 1 and codes(out) == ["TL101", "TL102", "TL201"]
        assert out.startswith(f"{os.path.join('.', 'pkg', 'm.py')}:5:")
    else:
        assert code == 0 and FIXED_LINE in (tmp_path / "pkg" / "m.py").read_text()


# -- --output-file ---------------------------------------------------------------------------------
@pytest.mark.parametrize("output_format", ["concise", "json"])
def test_output_file_holds_what_stdout_would(tmp_path, monkeypatch, capsys, output_format):
    write(tmp_path / "a.py", HAZARD)
    monkeypatch.chdir(tmp_path)
    code, expected, _ = run(capsys, "check", "a.py", "--format", output_format)
    code_to_file, out, err = run(capsys, "check", "a.py", "--format", output_format,
                                 "--output-file", "reports/tensorlint.txt")
    assert (code_to_file, out, err) == (code, "", "")
    assert (tmp_path / "reports" / "tensorlint.txt").read_text(encoding="utf-8") == expected
    if output_format == "json":
        assert len(json.loads(expected)) == 3


def test_output_file_that_cannot_be_written_is_one_error_line(tmp_path, capsys):
    write(tmp_path / "a.py", HAZARD)
    blocker = write(tmp_path / "file", "not a folder")
    code, out, err = run(capsys, "check", str(tmp_path / "a.py"), "--output-file", str(blocker / "out.txt"))
    assert (code, out) == (2, "")
    one_error_line(err, "--output-file", "out.txt")


# -- --config --------------------------------------------------------------------------------------
def test_config_file_replaces_the_nearest_pyproject(tmp_path, capsys):
    write(tmp_path / "proj" / "pyproject.toml", '[tool.tensorlint]\nselect = ["TL2"]\n')
    source = write(tmp_path / "proj" / "a.py", HAZARD)
    code, out, _ = run(capsys, "check", "--no-cache", str(source))
    assert codes(out) == ["TL201"]
    elsewhere = write(tmp_path / "ci" / "pyproject.toml", '[tool.tensorlint]\nselect = ["TL101"]\n')
    code, out, _ = run(capsys, "check", "--no-cache", "--config", str(elsewhere), str(source))
    assert code == 1 and codes(out) == ["TL101"]
    # the choice is for one run only
    code, out, _ = run(capsys, "check", "--no-cache", str(source))
    assert codes(out) == ["TL201"]


def test_config_file_may_be_a_tensorlint_only_toml(tmp_path, capsys):
    source = write(tmp_path / "a.py", HAZARD)
    settings = write(tmp_path / "tensorlint.toml", 'ignore = ["TL1"]\n[per-file-ignores]\n"b.py" = ["TL2"]\n')
    code, out, _ = run(capsys, "check", "--no-cache", "--config", str(settings), str(source))
    assert codes(out) == ["TL201"]
    other = write(tmp_path / "b.py", HAZARD)
    code, out, _ = run(capsys, "check", "--no-cache", "--config", str(settings), str(other))
    assert (code, out.strip()) == (0, "All checks passed!")


def test_config_file_applies_in_worker_processes_and_to_fix(tmp_path, capsys):
    settings = write(tmp_path / "settings" / "pyproject.toml", '[tool.tensorlint]\nselect = ["TL2"]\n')
    for index in range(4):
        write(tmp_path / "src" / f"m{index}.py", HAZARD)
    for project in ([], ["--project"]):  # a project run has pools of its own
        code, out, _ = run(capsys, "check", "--no-cache", "-j", "2", *project, "--config", str(settings),
                           str(tmp_path / "src"))
        assert codes(out) == ["TL201"] * 4
    code, out, _ = run(capsys, "fix", "-j", "2", "--config", str(settings), str(tmp_path / "src"))
    assert "y = model(x).numpy()" in (tmp_path / "src" / "m0.py").read_text()  # TL1 not selected: not fixed


@pytest.mark.parametrize("name, text, fragments", [
    ("missing.toml", None, ["--config", "missing.toml", "no such configuration file"]),
    ("bad.toml", "select = [", ["--config", "bad.toml", "invalid TOML"]),
    ("pyproject.toml", "[project]\nname = 'x'\n", ["--config", "pyproject.toml", "no [tool.tensorlint] table"]),
    ("tensorlint.toml", "selct = ['TL1']\n", ["unknown key 'selct'", "did you mean 'select'"]),
    ("tensorlint.toml", "select = 'TL1'\n", ["select: expected a list of codes"]),
], ids=["missing", "invalid-toml", "pyproject-without-table", "unknown-key", "bad-value"])
def test_config_file_problems_are_one_line_and_exit_2(tmp_path, capsys, name, text, fragments):
    source = write(tmp_path / "a.py", HAZARD)
    config = tmp_path / name
    if text is not None:
        write(config, text)
    for command in ("check", "fix"):
        code, out, err = run(capsys, command, "--config", str(config), str(source))
        assert (code, out) == (2, "")
        one_error_line(err, *fragments)
    assert FIXED_LINE not in source.read_text()


# -- check --fix ---------------------------------------------------------------------------------
def test_check_fix_is_fix(tmp_path, capsys):
    source = write(tmp_path / "a.py", HAZARD)
    code, out, err = run(capsys, "check", "--fix", "--ignore", "TL2", str(source))
    assert (code, err, out) == (0, "", "Fixed 2 problems in 1 file.\n")
    assert FIXED_LINE in source.read_text() and "model(x).data" in source.read_text()


def test_check_fix_with_unsafe_fixes(tmp_path, capsys):
    # `model` is known by its name only: nothing proves that its output is a torch tensor
    source = write(tmp_path / "a.py", "import numpy as np\nimport torch\ndef f(x, device):\n"
                                      "    return model(x.to(device)).numpy()\n")
    run(capsys, "check", "--fix", str(source))
    assert "model(x.to(device)).numpy()" in source.read_text()
    code, _, _ = run(capsys, "check", "--fix", "--unsafe-fixes", str(source))
    assert code == 0 and "model(x.to(device)).detach().cpu().numpy()" in source.read_text()


@pytest.mark.parametrize("extra, fragment", [
    (["--fix", "--statistics"], "--fix cannot be combined with --statistics"),
    (["--fix", "--format", "json"], "--fix prints what remains as concise"),
    (["--fix", "--watch"], "--fix cannot be combined with --watch"),
    (["--unsafe-fixes"], "--unsafe-fixes applies to --fix only"),
])
def test_check_fix_conflicts(tmp_path, capsys, extra, fragment):
    source = write(tmp_path / "a.py", HAZARD)
    code, out, err = run(capsys, "check", *extra, str(source))
    assert (code, out) == (2, "")
    one_error_line(err, fragment)
    assert FIXED_LINE not in source.read_text()


# -- --extend-select / --extend-ignore -----------------------------------------------------------
def test_extend_select_adds_to_the_configured_selection(tmp_path, capsys):
    """The precedence table of docs/configuration.md: select TL1 with ignore TL103, then --extend-select."""
    write(tmp_path / "pyproject.toml", '[tool.tensorlint]\nselect = ["TL1"]\nignore = ["TL102"]\n')
    source = write(tmp_path / "a.py", HAZARD)
    code, out, _ = run(capsys, "check", "--no-cache", str(source))
    assert codes(out) == ["TL101"]
    code, out, _ = run(capsys, "check", "--no-cache", "--extend-select", "TL102,TL2", str(source))
    assert codes(out) == ["TL101", "TL102", "TL201"]
    code, out, _ = run(capsys, "check", "--no-cache", "--select", "TL2", "--extend-select", "TL101", str(source))
    assert codes(out) == ["TL101", "TL201"]


def test_extend_ignore_removes_like_ignore(tmp_path, capsys):
    source = write(tmp_path / "a.py", HAZARD)
    code, out, _ = run(capsys, "check", "--no-cache", "--extend-ignore", "TL102", str(source))
    assert codes(out) == ["TL101", "TL201"]
    code, out, _ = run(capsys, "check", "--no-cache", "--ignore", "TL2", "--extend-ignore", "TL102", str(source))
    assert codes(out) == ["TL101"]
    code, _, err = run(capsys, "check", "--extend-ignore", "E501", str(source))
    assert code == 2
    one_error_line(err, "no rule code starts with 'E501'")


# -- rules -----------------------------------------------------------------------------------------
def test_rules_are_listed_in_code_order(capsys):
    code, out, _ = run(capsys, "rules")
    listed = [line.split()[0] for line in out.splitlines()[1:]]
    assert code == 0 and listed == sorted(listed)
    assert [code[:3] for code in listed] == sorted(code[:3] for code in listed)
    assert listed.index("TL302") < listed.index("TL401")


# -- --format github ------------------------------------------------------------------------------
def github_files(out: str):
    return [line.split("file=", 1)[1].split(",", 1)[0] for line in out.splitlines() if line.startswith("::")]


def make_repository(tmp_path: Path) -> Path:
    repository = tmp_path / "repo"
    (repository / ".git").mkdir(parents=True)  # what marks a work tree's top (a `git init` would do the same)
    write(repository / "src" / "pkg" / "train.py", HAZARD)
    write(repository / "nb" / "eval.ipynb", json.dumps({
        "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                   "source": ["import torch\n", "def f(x):\n", "    return model(x).numpy()\n"]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return repository


@pytest.mark.parametrize("where, paths", [
    ("", ["."]),                                    # the documented recipe, `tensorlint check .`
    ("", []),                                       # no path at all
    ("", ["./src", "./nb"]),
    ("", ["src/../src", "nb/../nb"]),
    ("", ["{repo}/src", "{repo}/nb/eval.ipynb"]),   # absolute, as ${{ github.workspace }}/src gives
    ("src", [".", "../nb"]),                        # run from a sub-folder: still relative to the repository
    ("src/pkg", ["train.py", "../../nb/eval.ipynb"]),
], ids=["dot", "no-path", "dot-slash", "dot-dot", "absolute", "sub-folder", "deeper"])
def test_github_paths_are_relative_to_the_repository_root(tmp_path, monkeypatch, capsys, where, paths):
    repository = make_repository(tmp_path)
    monkeypatch.chdir(repository / where)
    arguments = [path.format(repo=repository) for path in paths]
    code, out, err = run(capsys, "check", "--format", "github", *arguments)
    assert (code, err) == (1, "")
    files = github_files(out)
    assert sorted(set(files)) == ["nb/eval.ipynb", "src/pkg/train.py"], out
    assert not any(name.startswith(("./", "/")) or "/../" in name or "\\" in name for name in files)


def test_github_paths_outside_a_repository_are_relative_to_the_working_directory(tmp_path, monkeypatch, capsys):
    write(tmp_path / "work" / "a.py", HAZARD)
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setattr("tensorlint.adapters.cli.check.repository_root", lambda: os.getcwd())  # /tmp may sit in a work tree
    code, out, _ = run(capsys, "check", "--format", "github", ".")
    assert set(github_files(out)) == {"a.py"}


def test_the_documented_workflow_runs_the_github_format(tmp_path):
    """docs/integrations.md's annotation step is the command this file tests."""
    integrations = (ROOT / "docs" / "integrations.md").read_text(encoding="utf-8")
    assert "- run: tensorlint check --format github" in integrations
    assert "./" not in integrations.split("### Annotations", 1)[1].split("###", 1)[0].replace("../", "")


# -- start-up: a warm check loads no analysis -------------------------------------------------------
def test_a_check_answered_from_the_cache_imports_neither_libcst_nor_the_rules(tmp_path):
    source = write(tmp_path / "a.py", HAZARD)
    probe = ("import sys\nfrom tensorlint.adapters.cli.main import main\ncode = main(['check', '-q', sys.argv[1]])\n"
             "print(code, sorted(m for m in sys.modules if m == 'libcst' or m.startswith('tensorlint.rules')))\n")
    env = {**os.environ, "TENSORLINT_CACHE_DIR": str(tmp_path / "cache")}
    first = subprocess.run([sys.executable, "-c", probe, str(source)], capture_output=True, text=True, env=env,
                           timeout=120)
    assert first.stdout.splitlines()[-1].startswith("1 ['libcst',"), first.stdout + first.stderr
    warm = subprocess.run([sys.executable, "-c", probe, str(source)], capture_output=True, text=True, env=env,
                          timeout=120)
    assert warm.stdout.splitlines()[-1] == "1 []", warm.stdout + warm.stderr
    assert warm.stdout.splitlines()[:-1] == first.stdout.splitlines()[:-1]  # the same findings


def test_the_cache_fingerprint_covers_modules_a_warm_run_never_loads():
    sources = [os.path.relpath(path, cache_module._PACKAGE) for path in cache_module._checked_sources()]
    for module in (os.path.join("core", "engine.py"), os.path.join("rules", "__init__.py"),
                   os.path.join("analysis", "__init__.py"), os.path.join("adapters", "notebook", "lint.py"),
                   os.path.join("core", "codes.py")):
        assert module in sources
    assert not any(path.startswith(("verify", os.path.join("adapters", "lsp"))) for path in sources)
