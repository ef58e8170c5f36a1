"""`tensorlint check --add-noqa`: a `# noqa` where flake8 reads it, nothing else changed, idempotent."""
import codecs
import json
import os
import subprocess
import sys

import pytest

from tensorlint.core.add_noqa import add_noqa
from tensorlint.adapters.cli.main import main
from tensorlint.core.noqa import without_suppressed
from tensorlint.core.diagnostics import Diagnostic

# A model built here and moved to the device: TL101 and TL102 on one line.
SAFE = ("import numpy as np\nimport torch\ndef f(x, device):\n    model = torch.nn.Linear(2, 2).to(device)\n"
        "    return model(x).numpy()\n")
SAFE_NOQA = SAFE.replace("model(x).numpy()\n", "model(x).numpy()  # noqa: TL101, TL102\n")


def write(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def run(capsys, *argv):
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TENSORLINT_CACHE_DIR", str(tmp_path / ".cache"))


# -- where the comment goes (the text alone) ---------------------------------------------------------
@pytest.mark.parametrize("source, findings, expected", [
    pytest.param("x.numpy()\n", [(1, "TL101")], "x.numpy()  # noqa: TL101\n", id="appended"),
    pytest.param("x.numpy()\n", [(1, "TL102"), (1, "TL101")], "x.numpy()  # noqa: TL101, TL102\n",
                 id="codes sorted, one comment"),
    pytest.param("x.numpy()   \t\r\n", [(1, "TL101")], "x.numpy()  # noqa: TL101\r\n", id="trailing blanks give way"),
    pytest.param("x.numpy()", [(1, "TL101")], "x.numpy()  # noqa: TL101", id="no final newline"),
    pytest.param("x.numpy()  # keep me\n", [(1, "TL101")], "x.numpy()  # keep me  # noqa: TL101\n",
                 id="after another comment"),
    pytest.param("x.numpy()  # noqa: E501\n", [(1, "TL101")], "x.numpy()  # noqa: E501, TL101\n",
                 id="merged into an existing noqa"),
    pytest.param("x.numpy()  # noqa:E501,W291 why\n", [(1, "TL102"), (1, "TL101")],
                 "x.numpy()  # noqa:E501,W291, TL101, TL102 why\n", id="merged before the explanation"),
    pytest.param("x.numpy()  # noqa: TL101\n", [(1, "TL101")], "x.numpy()  # noqa: TL101\n",
                 id="already listed: unchanged"),
    pytest.param('f(x.numpy(), """\ntext\n""")\n', [(1, "TL101")], 'f(x.numpy(), """\ntext\n""")  # noqa: TL101\n',
                 id="multi-line string: after its last line"),
    pytest.param('s = f"""\n{x.numpy()}\n"""\n', [(2, "TL101")], 's = f"""\n{x.numpy()}\n"""  # noqa: TL101\n',
                 id="inside an f-string: after its last line"),
    pytest.param("y = x.numpy() + \\\n    1\n", [(1, "TL101")], "y = x.numpy() + \\\n    1  # noqa: TL101\n",
                 id="backslash continuation: its last line"),
    pytest.param("y = f(\n    x.numpy(),\n)\n", [(2, "TL101")], "y = f(\n    x.numpy(),  # noqa: TL101\n)\n",
                 id="in brackets: the line itself"),
    pytest.param("a.numpy()\nb.numpy()\n", [(2, "TL102"), (1, "TL101")],
                 "a.numpy()  # noqa: TL101\nb.numpy()  # noqa: TL102\n", id="several lines"),
    pytest.param("def f(:\n", [(1, "TL101")], "def f(:\n", id="does not tokenize: untouched"),
])
def test_where_the_comment_goes(source, findings, expected):
    assert add_noqa(source, findings) == expected
    assert without_suppressed(expected, [Diagnostic(line, 0, code, "") for line, code in findings]) == [] \
        or expected == source  # every comment written is one flake8 (and tensorlint) reads


def test_adding_twice_is_adding_once():
    once = add_noqa("x.numpy()  # noqa: E501\n", [(1, "TL101")])
    assert add_noqa(once, [(1, "TL101")]) == once


# -- through the CLI ---------------------------------------------------------------------------------
def test_check_after_add_noqa_reports_nothing_and_a_second_run_changes_nothing(tmp_path, capsys):
    path = write(tmp_path / "a.py", SAFE)
    code, out, err = run(capsys, "check", "--add-noqa", path)
    assert (code, err) == (0, "")
    assert out == "Added noqa comments to 1 line in 1 file, silencing 2 findings.\nAll checks passed!\n"
    assert path.read_text() == SAFE_NOQA
    assert run(capsys, "check", path) == (0, "All checks passed!\n", "")
    stat = os.stat(path)
    assert run(capsys, "check", "--add-noqa", path) == (0, "All checks passed!\n", "")
    assert path.read_text() == SAFE_NOQA and os.stat(path).st_ino == stat.st_ino  # not even rewritten


@pytest.mark.parametrize("encode", [
    pytest.param(lambda text: text.replace("\n", "\r\n").encode(), id="CRLF"),
    pytest.param(lambda text: codecs.BOM_UTF8 + text.encode(), id="BOM"),
    pytest.param(lambda text: codecs.BOM_UTF8 + text.replace("\n", "\r\n").encode(), id="BOM+CRLF"),
    pytest.param(lambda text: ("# -*- coding: latin-1 -*-\n# café\n" + text).encode("latin-1"), id="latin-1"),
    pytest.param(lambda text: text.replace("\n", "\r").encode(), id="CR"),
    pytest.param(lambda text: text.rstrip("\n").encode(), id="no final newline"),
])
def test_only_the_comments_change(tmp_path, capsys, encode):
    path = write(tmp_path / "a.py", encode(SAFE))
    code, _, err = run(capsys, "check", "--add-noqa", path)
    assert (code, err) == (0, "")
    assert path.read_bytes() == encode(SAFE_NOQA)
    assert run(capsys, "check", path)[0] == 0
    run(capsys, "check", "--add-noqa", path)
    assert path.read_bytes() == encode(SAFE_NOQA)


def test_a_tree_with_broken_files(tmp_path, capsys):
    """Good files get their comments; files that cannot be checked are reported and left byte for byte."""
    good = write(tmp_path / "pkg" / "good.py", SAFE)
    broken = write(tmp_path / "pkg" / "broken.py", SAFE + "def g(:\n")
    latin = write(tmp_path / "pkg" / "latin.py", b"import torch\nx = '\xe9'\n")
    before = broken.read_bytes(), latin.read_bytes()
    code, out, err = run(capsys, "check", "--add-noqa", tmp_path / "pkg")
    assert (code, err) == (1, "")
    assert out.splitlines() == [f"{broken}:6:7: TL002 cannot parse: invalid syntax",
                                f"{latin}:2:6: TL001 not valid UTF-8 (invalid continuation byte)",
                                "Added noqa comments to 1 line in 1 file, silencing 2 findings.",
                                "Found 2 problems (2 files could not be checked)."]
    assert good.read_text() == SAFE_NOQA and (broken.read_bytes(), latin.read_bytes()) == before


def test_select_limits_what_is_silenced(tmp_path, capsys):
    path = write(tmp_path / "a.py", SAFE)
    code, out, _ = run(capsys, "check", "--add-noqa", "--select", "TL101", path)
    assert code == 0 and path.read_text() == SAFE.replace(".numpy()\n", ".numpy()  # noqa: TL101\n")
    code, out, _ = run(capsys, "check", path)
    assert code == 1 and " TL102 " in out and " TL101 " not in out


def test_a_noqa_inside_a_string_first_is_left_alone_and_reported(tmp_path, capsys):
    """flake8 reads the first `# noqa` on a line: one inside a string would hide ours, so none is added."""
    source = SAFE.replace("    return model(x).numpy()\n", '    s = "# noqa: E1"; y = model(x).numpy()\n    return y\n')
    path = write(tmp_path / "a.py", source)
    code, out, err = run(capsys, "check", "--add-noqa", path)
    assert (code, err) == (1, "")
    assert path.read_text() == source
    assert [line.split(": ")[1].split()[0] for line in out.splitlines()[:2]] == ["TL101", "TL102"]


def test_notebook_cells_get_their_comments(tmp_path, capsys):
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
            "source": ["%matplotlib inline\n", "import torch\n", "t = torch.ones(2, requires_grad=True)\n",
                       "y = t.numpy()\n", "!ls"]}
    text = json.dumps({"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# Title"]}, cell],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"
    path = write(tmp_path / "nb.ipynb", text)
    code, out, err = run(capsys, "check", "--add-noqa", path)
    assert (code, err) == (0, "")
    assert path.read_text() == text.replace('"y = t.numpy()\\n"', '"y = t.numpy()  # noqa: TL101\\n"')
    assert run(capsys, "check", path) == (0, "All checks passed!\n", "")


@pytest.mark.parametrize("options, why", [
    (["-"], "--add-noqa works on files, not on stdin (-)"),
    (["--format", "json", "."], "--add-noqa prints findings as concise or text, not as json"),
    (["--statistics", "."], "--add-noqa cannot be combined with --statistics"),
    (["--watch", "."], "--add-noqa and --watch cannot be combined"),
])
def test_what_add_noqa_refuses(tmp_path, capsys, monkeypatch, options, why):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path / "a.py", SAFE)
    code, out, err = run(capsys, "check", "--add-noqa", *options)
    assert (code, out) == (2, "")
    assert err == f"tensorlint: error: {why} (see `tensorlint check --help`)\n"
    assert path.read_text() == SAFE


def test_a_read_only_file_is_an_error_and_stays_as_it_was(tmp_path, capsys, monkeypatch):
    path = write(tmp_path / "a.py", SAFE)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(path) else real_access(p, mode))
    code, out, err = run(capsys, "check", "--add-noqa", path)
    assert code == 2
    assert err == f"tensorlint: error: {path}: cannot write: the file is read-only\n"
    assert path.read_text() == SAFE


def test_many_files_in_parallel_in_a_real_process(tmp_path):
    for index in range(6):
        write(tmp_path / "pkg" / f"m{index}.py", SAFE if index % 2 else "x = 1\n")
    done = subprocess.run([sys.executable, "-m", "tensorlint", "check", "--add-noqa", "-j", "2", "pkg"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TENSORLINT_CACHE_DIR": str(tmp_path / ".cache")})
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "Added noqa comments to 3 lines in 3 files, silencing 6 findings.\nAll checks passed!\n"
    assert [(tmp_path / "pkg" / f"m{i}.py").read_text() == SAFE_NOQA for i in range(6)] == [False, True] * 3
