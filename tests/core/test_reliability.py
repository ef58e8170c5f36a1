"""Reliability: fixes checked against the AST, safe writes, and bad input handled in one line each.

Three parts, each a table where it can be:
- the AST safety check (`tensorlint.core.fixer.check_pass`) refuses deliberately bad fixes and accepts every real one;
- `tensorlint.core.safe_io` keeps encoding, BOM, newlines, final newline and mode, cleans up, and never
  overwrites a file changed since it was read;
- bad input through the API and through `tensorlint.adapters.cli.main.main([...])`: a file that cannot be read or
  parsed is one finding (TL001/TL002, exit 1), a run that cannot go on is one line on stderr (exit 2),
  the other files are still processed, never a traceback.

"""
from __future__ import annotations

import codecs
import dataclasses
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import libcst as cst
import pytest

import tensorlint.api
from tensorlint import check_source, fix_source
from tensorlint.adapters.cli.main import main
from tensorlint.core.diagnostics import Diagnostic, Edit, Fix
from tensorlint.core.fixer import MAX_PASSES, FixError, check_pass
from tensorlint.rules import ALL_RULES
from tensorlint.core.safe_io import (FileChangedError, SourceError, decode_source, read_source_file,
                                write_source_file)

ROOT = Path(__file__).resolve().parents[2]
H = "import numpy as np\nimport torch\n"
# `t` requires grad: the evidence for TL101 on `t.numpy()` however deeply it is nested.
GRAD = H + "t = torch.ones(2, requires_grad=True)\n"
# TL101/TL102 on line 5, one safe fix (the output of a torch module moved to a device); `z = 1` on line 7
# is unrelated to it.
SAFE = H + "def f(x, device):\n    y = torch.nn.Linear(2, 2).to(device)(x)  # output\n    return y.numpy()\n\nz = 1\n"
SAFE_FIXED = SAFE.replace("y.numpy()", "y.detach().cpu().numpy()")
# TL202 in a file that does not import torch: the fix wraps the statement and adds `import torch`.
WRAP = ("from torch import nn\np = nn.Parameter(nn.init.zeros_(nn.Linear(2, 2).weight))\n"
        "p.data.add_(1)\nq = p\np.data.mul_(2)\n")  # not adjacent: two blocks, so two fixes
WRAP_FIXED = ("import torch\nfrom torch import nn\np = nn.Parameter(nn.init.zeros_(nn.Linear(2, 2).weight))\n"
              "with torch.no_grad():\n    p.add_(1)\nq = p\nwith torch.no_grad():\n    p.mul_(2)\n")
LATIN1_COOKIE = "# -*- coding: latin-1 -*-\n"
CREDIT = 's = "café"\n'


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TENSORLINT_CACHE_DIR", str(tmp_path / ".cache"))  # never the repository's cache


def write(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def run(capsys, *argv):
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_error_lines(err, count=1, *fragments):
    lines = err.splitlines()
    assert len(lines) == count, err
    assert all(line.startswith("tensorlint: error: ") for line in lines), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


def with_fixes_changed(monkeypatch, change):
    """Make every fix the engine reports go through `change(source, diagnostic) -> edits`."""
    real = tensorlint.api.lint

    def lint(source, codes, **kwargs):
        diagnostics = real(source, codes, **kwargs)
        return [dataclasses.replace(d, fix=dataclasses.replace(d.fix, edits=tuple(change(source, d))))
                if d.fix is not None else d for d in diagnostics]

    monkeypatch.setattr(tensorlint.api, "lint", lint)


def at(source: str, text: str, occurrence: int = 0) -> int:
    index = -1
    for _ in range(occurrence + 1):
        index = source.index(text, index + 1)
    return index


# == the AST safety check =========================================================================
def _plus(edit):
    return lambda source, diagnostic: (*diagnostic.fix.edits, edit(source))


BAD_FIXES = [
    pytest.param(SAFE, _plus(lambda s: Edit(at(s, "z = 1"), at(s, "z = 1") + 5, "z = 2")),
                 "edits line 7, outside the statement it fixes", id="rewrites-an-unrelated-line"),
    pytest.param(SAFE, _plus(lambda s: Edit(at(s, "z = 1"), at(s, "z = 1") + 5, "z  =  1")),
                 "edits line 7, outside the statement it fixes", id="respaces-an-unrelated-line-same-ast"),
    pytest.param(SAFE, _plus(lambda s: Edit(at(s, "# output"), at(s, "# output") + 8, "# change")),
                 "edits line 4, outside the statement it fixes", id="edits-a-comment-elsewhere"),
    pytest.param(SAFE, _plus(lambda s: Edit(0, 0, "DEBUG = True\n")),
                 "edits line 1, outside the statement it fixes", id="inserts-a-line-that-is-not-an-import"),
    pytest.param(SAFE, _plus(lambda s: Edit(at(s, "    y = "), at(s, "    y = "), "    import os\n")),
                 "outside the statement it fixes", id="inserts-an-import-inside-a-function"),
    pytest.param(SAFE, _plus(lambda s: Edit(at(s, "numpy()") + 7, at(s, "numpy()") + 7, "; z = 0")),
                 "changed code outside its edits at line 5", id="adds-a-statement-within-its-own-line"),
    pytest.param(H + "def f(x, device):\n    return torch.nn.Linear(2, 2).to(device)(x).numpy()\n-x\n",
                 _plus(lambda s: Edit(at(s, "numpy()") + 7, at(s, "numpy()") + 7, " \\")),
                 "changed code outside its edits", id="joins-the-next-line-with-a-backslash"),
    pytest.param(SAFE + "u = 2  # \"\"\"\n",
                 _plus(lambda s: Edit(at(s, "numpy()") + 7, at(s, "numpy()") + 7, ' + """')),
                 "changed code outside its edits", id="opens-a-string-that-swallows-two-lines"),
    pytest.param(H + "x = np.float(1)\n", lambda s, d: tuple(Edit(e.start - 1, e.end - 1, e.text) for e in d.fix.edits),
                 "cuts a word in two at line 3", id="edit-one-character-off"),  # `x =floatt(1)` parses
]


@pytest.mark.parametrize("source, change, message", BAD_FIXES)
def test_the_check_refuses_a_fix_that_changes_code_outside_its_edits(monkeypatch, source, change, message):
    assert fix_source(source).source != source  # the real fix applies
    with_fixes_changed(monkeypatch, change)
    with pytest.raises(FixError) as refused:
        fix_source(source, unsafe_fixes=True)
    assert message in str(refused.value)
    assert str(refused.value).startswith(("refused: ", "fix produced invalid code"))
    assert "\n" not in str(refused.value)


def test_the_check_refuses_fixes_that_never_settle(monkeypatch):
    def grows(source, diagnostic):  # a fix that always finds more to do
        end = at(source, "numpy()") + 7
        return (Edit(end, end, " + 0"),)

    real = tensorlint.api.lint
    monkeypatch.setattr(tensorlint.api, "lint", lambda source, codes, **kw: [
        dataclasses.replace(d, fix=Fix("grow", grows(source, d))) for d in real(source, codes, **kw)[:1]])
    with pytest.raises(FixError, match=f"fixes still apply after {MAX_PASSES} passes"):
        fix_source(SAFE)


def test_a_refused_fix_through_the_cli_leaves_the_file_and_exits_2(tmp_path, capsys, monkeypatch):
    path = write(tmp_path / "a.py", SAFE)
    with_fixes_changed(monkeypatch, BAD_FIXES[0].values[1])
    code, out, err = run(capsys, "fix", path)
    assert code == 2 and path.read_text() == SAFE
    assert_error_lines(err, 1, "a.py: cannot fix: refused: the fix for TL101 at line 5")


def _diagnostic(source, flagged, edits, code="TL999"):
    start = at(source, flagged)
    line = source.count("\n", 0, start) + 1
    return Diagnostic(line, 0, code, "m", start_offset=start, end_offset=start + len(flagged),
                      fix=Fix("f", tuple(edits)))


def _apply(source, edits):
    for edit in sorted(edits, reverse=True):
        source = source[:edit.start] + edit.text + source[edit.end:]
    return source


def _allowed(source, flagged, edits):
    check_pass(source, _apply(source, edits), [_diagnostic(source, flagged, edits)])


def _refused(source, flagged, edits):
    with pytest.raises(FixError):
        check_pass(source, _apply(source, edits), [_diagnostic(source, flagged, edits)])


LOOP = "for x in t.numpy():\n    print(x)\nelse:\n    done()\n"


def test_what_the_check_allows():
    s = "a = 1\ny = t.numpy()\nb = 2\n"
    _allowed(s, "t.numpy()", [Edit(at(s, "y = "), at(s, "\nb"), "y = anything(at, all) + 1")])  # its statement
    _allowed(s, "t.numpy()", [Edit(at(s, "y = "), at(s, "y = "), "with torch.no_grad():\n    ")])  # wrapped
    nested = "if c:\n    y = t.numpy()\n    z = 1\n"
    _allowed(nested, "t.numpy()", [Edit(at(nested, "y = "), at(nested, "y = "), "if d:\n        ")])  # z stays
    _allowed(s, "t.numpy()", [Edit(0, 0, "import torch\nfrom os import path\n")])  # import lines on top
    _allowed(s, "t.numpy()", [Edit(0, 1, "import builtins\na")])  # the same, written around a character
    _allowed(LOOP, "t.numpy()", [Edit(at(LOOP, ".numpy"), at(LOOP, ".numpy"), ".detach()")])  # a loop header
    _allowed("x = 1; y = t.numpy(); z = 2\n", "t.numpy()", [Edit(8, 9, "w")])  # one of `;`-joined statements
    crlf = s.replace("\n", "\r\n")
    _allowed(crlf, "t.numpy()", [Edit(at(crlf, "y = "), at(crlf, "y = "), "with torch.no_grad():\r\n    ")])
    bom = "\ufeff" + s
    _allowed(bom, "t.numpy()", [Edit(1, 1, "import torch\n")])  # after a BOM character
    nonascii = "é = 'ü'; y = t.numpy()\n"
    _allowed(nonascii, "t.numpy()", [Edit(at(nonascii, ".numpy"), at(nonascii, ".numpy"), ".cpu()")])


def test_what_the_check_refuses():
    s = "a = 1\ny = t.numpy()\nb = 2\n"
    _refused(s, "t.numpy()", [Edit(at(s, "b = 2"), at(s, "b = 2") + 5, "b = 3")])      # another statement
    _refused(s, "t.numpy()", [Edit(0, 0, "from __future__ import annotations\n")])     # not a plain import
    _refused(s, "t.numpy()", [Edit(at(s, "y"), at(s, "y"), "b = 0\n")])                 # a second statement
    _refused(LOOP, "t.numpy()", [Edit(at(LOOP, "print(x)"), at(LOOP, "print(x)") + 8, "pass")])  # loop body
    _refused(LOOP, "t.numpy()", [Edit(at(LOOP, "done()"), at(LOOP, "done()") + 6, "pass")])      # its else
    _refused(LOOP, "t.numpy()", [Edit(0, 3, "async for")])  # a statement of another kind
    nested = "if c:\n    y = t.numpy()\n    z = 1\n"
    _refused(nested, "t.numpy()", [Edit(at(nested, "    y"), at(nested, "y = "), "")])  # its indentation
    deep = "x = " + "(" * 1000 + "t.numpy()" + ")" * 1000 + "\n"
    with pytest.raises(FixError, match="cannot check the fix: Python cannot parse the original"):
        check_pass(deep, deep.replace("t.numpy", "t.cpu().numpy"), [_diagnostic(deep, "t.numpy()", [])])


def _every_case_with_a_fix():
    for rule in ALL_RULES:
        # an opt-in rule's cases run as for a user who selected it, on top of the defaults
        codes = rule.codes_when_selected()
        for index, case in enumerate(rule.INVALID):
            if case.fixed is not None:
                yield pytest.param(case.source, case.fixed, codes, id=f"{rule.code}-{index}")


@pytest.fixture
def checks(monkeypatch):
    """Counts the passes the safety check looked at."""
    import tensorlint.core.fixer as fixer
    seen = []
    real = fixer.check_pass

    def counting(*args, **kwargs):
        seen.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(fixer, "check_pass", counting)
    return seen


@pytest.mark.parametrize("source, fixed, codes", list(_every_case_with_a_fix()))
def test_the_check_accepts_every_rule_case_fix(checks, source, fixed, codes):
    assert fix_source(source, select=codes, unsafe_fixes=True).source == fixed
    assert checks, "the safety check did not run"


def _fixture_and_example_files():
    for path in sorted((ROOT / "fixtures").rglob("*.py")) + sorted((ROOT / "examples").rglob("*.py")):
        if not path.name.endswith(".fixed.py"):
            yield pytest.param(path, id=str(path.relative_to(ROOT)))


@pytest.mark.parametrize("path", list(_fixture_and_example_files()))
def test_the_check_accepts_every_fixture_and_example_fix(checks, path):
    source = path.read_text(encoding="utf-8")
    fixed = fix_source(source, unsafe_fixes=True).source
    assert (fixed != source) == bool(checks)
    assert fix_source(fixed, unsafe_fixes=True).source == fixed


def test_an_import_shared_by_two_fixes_is_added_once():
    assert fix_source(WRAP, unsafe_fixes=True).source == WRAP_FIXED


# == safe reads and writes =========================================================================
ENCODINGS = [
    pytest.param(lambda text: text.encode(), id="lf"),
    pytest.param(lambda text: text.replace("\n", "\r\n").encode(), id="crlf"),
    pytest.param(lambda text: text.replace("\n", "\r").encode(), id="cr"),
    pytest.param(lambda text: text.replace("\n", "\r\n").encode().replace(b"\r\n", b"\n", 2), id="mixed"),
    pytest.param(lambda text: text.rstrip("\n").encode(), id="no-final-newline"),
    pytest.param(lambda text: text.replace("\n", "\r\n").rstrip("\r\n").encode(), id="crlf-no-final-newline"),
    pytest.param(lambda text: codecs.BOM_UTF8 + text.encode(), id="bom"),
    pytest.param(lambda text: codecs.BOM_UTF8 + text.replace("\n", "\r\n").encode(), id="bom-crlf"),
    pytest.param(lambda text: (LATIN1_COOKIE + CREDIT + text).encode("latin-1"), id="latin-1-cookie"),
    pytest.param(lambda text: ("#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\n" + CREDIT.replace("é", "€")
                               + text).replace("\n", "\r\n").encode("cp1252"), id="cp1252-cookie-line-2-crlf"),
    pytest.param(lambda text: text.replace("def f", "\x0c\ndef f").encode(), id="form-feed"),
    pytest.param(lambda text: text.replace("    ", "\t").encode(), id="tabs"),
]


# Where a fix adds lines, a uniform newline style applies to them; mixed files have their own test below.
UNIFORM_IDS = ("lf", "crlf", "cr", "no-final-newline", "crlf-no-final-newline", "bom", "bom-crlf")
UNIFORM = [case for case in ENCODINGS if case.id in UNIFORM_IDS]


@pytest.mark.parametrize("encode, before, after",
                         [pytest.param(case.values[0], SAFE, SAFE_FIXED, id=f"in-line-{case.id}") for case in ENCODINGS]
                         + [pytest.param(case.values[0], WRAP, WRAP_FIXED, id=f"new-lines-{case.id}")
                            for case in UNIFORM])
def test_a_fix_keeps_the_file_as_it_was_byte_for_byte(tmp_path, encode, before, after):
    path = write(tmp_path / "a.py", encode(before))
    source = read_source_file(str(path))
    result = fix_source(source.text, unsafe_fixes=True)
    write_source_file(source, result.source)
    assert path.read_bytes() == encode(after)
    assert os.listdir(tmp_path) == ["a.py"]


def test_mixed_newlines_are_mapped_line_by_line_and_new_lines_get_the_most_common(tmp_path):
    path = write(tmp_path / "a.py", b"from torch import nn\r\np = nn.Parameter(nn.init.zeros_(nn.Linear(2, 2)"
                                    b".weight))\np.data.add_(1)\r\nx = 1\r\n")
    source = read_source_file(str(path))
    assert (source.newline, source.mixed_newlines) == ("\r\n", True)
    fixed = fix_source(source.text.replace("\r\n", "\n"), unsafe_fixes=True).source  # even from plain text
    write_source_file(source, fixed)
    assert path.read_bytes() == (b"import torch\r\nfrom torch import nn\r\np = nn.Parameter(nn.init.zeros_("
                                 b"nn.Linear(2, 2).weight))\nwith torch.no_grad():\r\n    p.add_(1)\r\nx = 1\r\n")


def test_mode_and_symbolic_links_are_kept(tmp_path):
    real = write(tmp_path / "real.py", SAFE)
    real.chmod(0o751)
    link = tmp_path / "link.py"
    link.symlink_to(real.name)
    source = read_source_file(str(link))
    write_source_file(source, SAFE_FIXED)
    assert link.is_symlink() and real.read_text() == SAFE_FIXED
    assert stat.S_IMODE(real.stat().st_mode) == 0o751
    assert sorted(os.listdir(tmp_path)) == ["link.py", "real.py"]


@pytest.mark.parametrize("failing, exception", [
    ("os.replace", OSError(28, "No space left on device")),
    ("os.fsync", OSError(5, "Input/output error")),
    ("os.chmod", KeyboardInterrupt()),
])
def test_a_failed_write_leaves_the_original_and_no_temporary_file(tmp_path, monkeypatch, failing, exception):
    path = write(tmp_path / "a.py", SAFE)
    source = read_source_file(str(path))

    def fail(*args, **kwargs):
        raise exception

    monkeypatch.setattr(failing, fail)
    expected = SourceError if isinstance(exception, OSError) else KeyboardInterrupt
    with pytest.raises(expected) as raised:
        write_source_file(source, SAFE_FIXED)
    if expected is SourceError:
        assert str(raised.value) == f"{path}: cannot write: {exception.strerror}"
    assert path.read_text() == SAFE and os.listdir(tmp_path) == ["a.py"]


def _edit_in_place(path: Path, data: bytes):
    with open(path, "r+b") as handle:  # same inode, as many editors save
        handle.write(data)
        handle.truncate()


@pytest.mark.parametrize("editor, why", [
    (lambda p: _edit_in_place(p, SAFE.replace("z = 1", "z = 9").encode()), ""),         # same size
    (lambda p: _edit_in_place(p, (SAFE + "more = 2\n").encode()), ""),                     # new size
    (lambda p: (p.with_suffix(".new").write_text(SAFE + "# saved\n"), os.replace(p.with_suffix(".new"), p)),
     ""),                                                                                   # saved by rename
    (lambda p: p.unlink(), "it was deleted"),
])
def test_a_file_changed_since_it_was_read_is_not_overwritten(tmp_path, editor, why):
    path = write(tmp_path / "a.py", SAFE)
    source = read_source_file(str(path))
    editor(path)
    saved = path.read_bytes() if path.exists() else None
    with pytest.raises(FileChangedError, match=f"{path}: changed on disk since it was read.*{why}"):
        write_source_file(source, SAFE_FIXED)
    assert (path.read_bytes() if path.exists() else None) == saved
    assert [name for name in os.listdir(tmp_path) if name != "a.py"] == []


def test_a_repointed_link_is_a_change(tmp_path):
    write(tmp_path / "one.py", SAFE)
    write(tmp_path / "two.py", SAFE)
    link = tmp_path / "link.py"
    link.symlink_to("one.py")
    source = read_source_file(str(link))
    link.unlink()
    link.symlink_to("two.py")
    with pytest.raises(FileChangedError, match="now points elsewhere"):
        write_source_file(source, SAFE_FIXED)


def test_a_touch_that_changes_nothing_does_not_stop_the_write(tmp_path):
    path = write(tmp_path / "a.py", SAFE)
    source = read_source_file(str(path))
    os.utime(path, ns=(1, 1))
    write_source_file(source, SAFE_FIXED)
    assert path.read_text() == SAFE_FIXED


def test_text_the_encoding_cannot_hold_is_refused(tmp_path):
    path = write(tmp_path / "a.py", (LATIN1_COOKIE + CREDIT).encode("latin-1"))
    source = read_source_file(str(path))
    with pytest.raises(SourceError, match=r"a.py:3: cannot write: '€' cannot be encoded as iso8859-1"):
        write_source_file(source, source.text + "euro = '€'\n")
    assert path.read_bytes() == (LATIN1_COOKIE + CREDIT).encode("latin-1")


READ_ERRORS = [
    pytest.param(b"import torch\nx = 1\x00\n", "a.py:2:6: cannot parse: source contains a null byte", id="null-byte"),
    pytest.param(bytes(range(256)) * 4, "a.py:1:1: cannot parse: source contains a null byte (a binary file?)",
                 id="binary"),
    pytest.param(b"x = 1\ny = '\xe9t\xe9'\n", "a.py:2:6: not valid UTF-8 (invalid continuation byte)", id="latin-1"),
    pytest.param("# coding: latin-1\nx = 1\ny = 'é'\n".encode("latin-1").replace(b"latin-1", b"foobar"),
                 "a.py:1: cannot read: unknown encoding 'foobar' in the coding declaration", id="unknown-cookie"),
    pytest.param(codecs.BOM_UTF8 + b"# coding: latin-1\nx = 1\n",
                 "a.py:1: cannot read: a UTF-8 BOM but a different coding declaration", id="bom-and-cookie"),
    pytest.param(codecs.BOM_UTF16_LE + "x = 1\n".encode("utf-16-le"), "a.py: cannot read: UTF-16 text", id="utf-16"),
    pytest.param(b"# coding: utf-16\nx = 1\n", "is not ASCII-compatible", id="utf-16-cookie"),
    pytest.param("x = 'ü'\n# coding: latin-1\ny = '\udcff'\n".encode("utf-8", "surrogateescape"),
                 "a.py:3:6: not valid UTF-8", id="cookie-on-line-2-after-code-is-ignored"),
]


@pytest.mark.parametrize("data, message", READ_ERRORS)
def test_unreadable_sources_are_one_line_errors(tmp_path, data, message):
    path = write(tmp_path / "a.py", data)
    with pytest.raises(SourceError) as raised:
        read_source_file(str(path))
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert str(raised.value).startswith(str(path))


def test_what_cannot_be_opened_is_a_one_line_error(tmp_path, monkeypatch):
    (tmp_path / "broken.py").symlink_to("nowhere.py")
    os.mkfifo(tmp_path / "fifo.py")  # reading it would block forever
    for name, message in [("missing.py", "cannot read: No such file or directory"),
                          ("broken.py", "cannot read: No such file or directory"),
                          (".", "cannot read: is a directory"), ("fifo.py", "cannot read: not a regular file")]:
        with pytest.raises(SourceError, match=message):
            read_source_file(str(tmp_path / name))
    path = write(tmp_path / "a.py", SAFE)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("builtins.open", denied)  # chmod 000 does not stop root, who runs the tests
    with pytest.raises(SourceError, match=f"{path}: cannot read: Permission denied"):
        read_source_file(str(path))


def test_what_decodes_is_kept_exactly(tmp_path):
    cases = {b"": ("", "utf-8", False, "\n"), codecs.BOM_UTF8 + b"x = 1\r\n": ("x = 1\r\n", "utf-8", True, "\r\n"),
             (LATIN1_COOKIE + CREDIT).encode("latin-1"): (LATIN1_COOKIE + CREDIT, "iso8859-1", False, "\n"),
             b"a\rb\r\nc\r": ("a\rb\r\nc\r", "utf-8", False, "\r")}
    for data, (text, encoding, bom, newline) in cases.items():
        source = read_source_file(str(write(tmp_path / "a.py", data)))
        assert (source.text, source.encoding, source.bom, source.newline) == (text, encoding, bom, newline)
        assert decode_source(data, "-") == (text, encoding, bom)


# == bad input through the API =====================================================================
API_INPUTS = [
    pytest.param(H + 'print "x"\n', id="python-2-print"),
    pytest.param(H + "def f(:\n    pass\n", id="syntax-error"),
    pytest.param("", id="empty"),
    pytest.param(GRAD + "x = " + "(" * 1000 + "t.numpy()" + ")" * 1000 + "\n", id="1000-nested-parentheses"),
    pytest.param(H + "if x:\n\tif y:\n        pass\n", id="mixed-tabs-and-spaces"),
    pytest.param(H + "def f(model, x):\n\treturn model(x).numpy()\n", id="tabs"),
    pytest.param(H + "\x0c\ndef f(model, x):\n    return model(x).numpy()\n\x0c", id="form-feeds"),
    pytest.param(H + "x = 1\x00\n", id="null-byte"),
    pytest.param(H + 'x = """never closed\n', id="unterminated-string"),
    pytest.param(H + "def f(model, x):\n    return model(x).numpy()\n" * 1000, id="1000-functions"),
    pytest.param(H + "x = t.numpy(\n", id="half-typed-call"),
    pytest.param(H + "x = t.\n", id="half-typed-attribute"),
]


@pytest.mark.parametrize("source", API_INPUTS)
def test_the_api_returns_or_raises_only_what_it_documents(source):
    try:
        check_source(source)
    except cst.ParserSyntaxError:
        pass
    try:
        fix_source(source, unsafe_fixes=True)
    except (cst.ParserSyntaxError, FixError):
        pass


DEEP = [GRAD + "x = " + "[" * 199 + "t.numpy()" + "]" * 199 + "\n",  # CPython's limit is 200
        GRAD + "x = " + "+".join(["t"] * 1000) + ".numpy()\n"]


@pytest.mark.parametrize("source", DEEP, ids=["199-nested-lists", "1000-term-sum"])
def test_deep_nesting_is_checked_and_fixed(source):
    """Valid Python nested past the default recursion limit: checked and fixed like any file."""
    found = check_source(source)
    assert "TL101" in [d.code for d in found]
    result = fix_source(source, unsafe_fixes=True)
    assert len(result.fixed) == len(found) and not result.remaining
    compile(result.source, "<fixed>", "exec")


def test_nesting_python_refuses_is_a_recursion_error_not_a_crash():
    """400,000 nested unary minus: CPython refuses it; libcst's native parser would crash the process."""
    source = H + "x = " + "-" * 400_000 + "t.numpy()\n"
    completed = subprocess.run([sys.executable, "-c", "import sys\nfrom tensorlint.api import check_source\n"
                                "try:\n    check_source(sys.stdin.read())\nexcept RecursionError as e:\n"
                                "    print('RecursionError:', e)\n"], input=source, capture_output=True, text=True,
                               timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "RecursionError: nested more deeply than Python's own parser accepts\n"


@pytest.mark.parametrize("source, fixed, column", [
    ("\x0cfrom numpy import float\n", "\x0cfrom builtins import float\n", 19),
    ("\ufeffimport numpy as np; x = np.float(1)\n", "\ufeffimport numpy as np; x = float(1)\n", 25),
], ids=["form-feed-first", "bom-character-first"])
def test_line_one_after_a_dropped_prefix(source, fixed, column):
    """libcst drops a form feed or U+FEFF before the first statement; line 1's columns count it again."""
    assert [(d.line, d.col) for d in check_source(source)] == [(1, column)]
    assert fix_source(source).source == fixed


@pytest.mark.parametrize("source", ["import torch\nt = torch.ones(2, requires_grad=True)\ny = (t.data).cpu().numpy()\n",
                                    "for batch in loader:\n    y = (w.detach()).data.cpu().numpy()\n"],
                         ids=["data-in-parentheses", "detach-in-parentheses"])
def test_a_chain_through_parentheses(source):
    """A parenthesised link stays in the base: the fix never cuts through its `)`."""
    result = fix_source(source, unsafe_fixes=True)
    compile(result.source, "<fixed>", "exec")
    assert not [d for d in result.remaining if d.fix is not None]


# == bad input through the CLI =====================================================================
CLI_INPUTS = [
    # name, content, the one finding about the file itself (None: the file is checked as usual)
    ("py2.py", 'print "x"\n', "py2.py:1:1: TL002 cannot parse: Missing parentheses"),
    ("syntax.py", "def f(:\n    pass\n", "syntax.py:1:7: TL002 cannot parse"),
    ("latin.py", b"x = '\xe9'\n", "latin.py:1:6: TL001 not valid UTF-8"),
    ("binary.py", bytes(range(256)) * 4, "binary.py:1:1: TL002 cannot parse: source contains a null byte"),
    ("nul.py", b"import torch\nx = 1\x00\n", "nul.py:2:6: TL002 cannot parse: source contains a null byte"),
    ("utf16.py", codecs.BOM_UTF16_LE + "import torch\n".encode("utf-16-le"), "utf16.py:1:1: TL001 cannot read: UTF-16"),
    ("empty.py", "", None),
    ("parens.py", H + "x = " + "(" * 1000 + "1" + ")" * 1000 + "\n", "TL002 cannot parse: too many nested parentheses"),
    ("tabs.py", H + "if x:\n\tif y:\n        pass\n", "TL002 cannot parse: inconsistent use of tabs and spaces"),
    ("tabbed.py", H + "def f(model, x):\n\treturn model(x).numpy()\n", None),
    ("feeds.py", H + "\x0c\ndef f(model, x):\n    return model(x).numpy()\n\x0c\n", None),
    ("notes.txt", "Remember to call .numpy() on the outputs.\n", "notes.txt:1:10: TL002 cannot parse"),
    ("code.txt", H + "def f(model, x):\n    return model(x).numpy()\n", None),
    ("broken.ipynb", '{"cells": [', "broken.ipynb:1:12: TL001 not a Jupyter notebook: invalid JSON"),
]


@pytest.mark.parametrize("name, content, finding", CLI_INPUTS, ids=[case[0] for case in CLI_INPUTS])
def test_bad_input_is_one_finding_and_the_run_goes_on(tmp_path, capsys, name, content, finding):
    """A file that cannot be read or parsed is a finding (exit 1, as flake8's E999 and ruff's E902),
    never an error of the run: stderr stays empty and the other files are checked."""
    bad = write(tmp_path / name, content)
    good = write(tmp_path / "good.py", SAFE)
    code, out, err = run(capsys, "check", bad)
    assert err == ""
    if finding is None:
        assert " TL00" not in out
    else:
        assert code == 1 and finding in out.splitlines()[0] and len(out.splitlines()) == 2, out
    code, out, err = run(capsys, "check", bad, good)  # the other file is still checked
    assert code == 1 and err == "" and f"{good}:5:12: TL101" in out
    before = bad.read_bytes()
    code, out, err = run(capsys, "fix", bad)
    assert code in (0, 1) and err == ""
    if finding is not None:
        assert code == 1 and finding in out and bad.read_bytes() == before


@pytest.mark.parametrize("source", DEEP + [GRAD + "x = " + "[" * 150 + "t.numpy()" + "]" * 150 + "\n"],
                         ids=["199-nested-lists", "1000-term-sum", "150-nested-lists"])
def test_deep_nesting_through_the_cli_is_checked_or_one_line(tmp_path, capsys, source):
    path = write(tmp_path / "deep.py", source)
    code, out, err = run(capsys, "check", path)
    assert code == 1 and err == ""
    assert ": TL101 " in out or ": TL002 cannot parse: nested too deeply" in out


@pytest.mark.parametrize("source", DEEP, ids=["199-nested-lists", "1000-term-sum"])
def test_deep_nesting_is_not_called_an_internal_error(tmp_path, capsys, source):
    path = write(tmp_path / "deep.py", source)
    _, _, err = run(capsys, "check", path)
    assert "internal error" not in err


def test_missing_paths_and_broken_links_are_one_line_each(tmp_path, capsys):
    (tmp_path / "broken.py").symlink_to("nowhere.py")
    folder = tmp_path / "pkg"
    write(folder / "good.py", SAFE)
    (folder / "dangling.py").symlink_to("nowhere.py")
    code, out, err = run(capsys, "check", tmp_path / "missing.py", tmp_path / "broken.py", folder)
    assert code == 2  # a path on the command line that does not exist is a usage error
    assert_error_lines(err, 2, "missing.py: no such file or directory", "broken.py: no such file or directory")
    assert f"{folder / 'dangling.py'}:1:1: TL001 cannot read: No such file or directory" in out
    assert "good.py:5:12: TL101" in out


def test_an_unreadable_file_is_one_line_and_the_rest_is_checked(tmp_path, capsys, monkeypatch):
    locked, good = write(tmp_path / "locked.py", SAFE), write(tmp_path / "good.py", SAFE)
    real_open = open

    def guarded(path, *args, **kwargs):
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", guarded)  # we run as root: chmod 000 would not stop us
    code, out, err = run(capsys, "check", locked, good)
    assert (code, err) == (1, "")
    assert f"{locked}:1:1: TL001 cannot read: Permission denied" in out
    assert f"{good}:5:12: TL101" in out


def test_a_50k_line_file_completes(tmp_path, capsys):
    parts = [H]
    for index in range(50_000 // 9 + 1):
        parts.append(f"def f{index}(x, n={index}):\n    \"\"\"Doc.\"\"\"\n    total = 0\n    for k in range(n):\n"
                     f"        total += k * 2\n    if total > 10:\n        total -= 1\n    return total\n\n")
    parts.append("def g(x):\n    return model(x).numpy()\n")
    path = write(tmp_path / "big.py", "".join(parts))
    assert path.read_text().count("\n") > 50_000
    code, out, err = run(capsys, "check", path)
    assert code == 1 and err == "" and f"{path}:{len(path.read_text().splitlines())}:12: TL101" in out


def test_a_directory_of_3000_files(tmp_path, capsys):
    for index in range(3000):
        write(tmp_path / f"pkg{index % 30}" / f"m{index}.py", f"x = {index}\n" if index % 100 else SAFE)
    code, out, err = run(capsys, "check", tmp_path)
    assert (code, err) == (1, "")
    assert out.count(": TL101 ") == 30 and out.splitlines()[-1].startswith("Found 60 problems")


def test_an_empty_file_is_left_empty(tmp_path, capsys):
    path = write(tmp_path / "empty.py", "")
    assert run(capsys, "fix", path) == (0, "All checks passed!\n", "")
    assert path.read_bytes() == b""


def test_a_notebook_given_explicitly(tmp_path, capsys):
    """A `.ipynb` that is not JSON is one TL001 finding, where the JSON goes wrong."""
    path = write(tmp_path / "nb.ipynb", "not json {")
    code, out, err = run(capsys, "check", path)
    assert (code, err) == (1, "")
    assert out.startswith(f"{path}:1:1: TL001 not a Jupyter notebook: invalid JSON (Expecting value)\n")


def test_a_valid_notebook_given_explicitly_is_checked(tmp_path, capsys):
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
            "source": ["import torch\n", "t = torch.ones(2, requires_grad=True)\n", "t.numpy()\n"]}
    path = write(tmp_path / "nb.ipynb", json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4,
                                                    "nbformat_minor": 5}))
    code, out, _ = run(capsys, "check", path)
    assert code == 1 and " TL101 " in out


# -- what the CLI must still change (xfail until it uses tensorlint.core.safe_io) ------------------------
def test_cli_reads_and_fixes_a_latin1_file(tmp_path, capsys):
    data = (LATIN1_COOKIE + CREDIT + SAFE).encode("latin-1")
    path = write(tmp_path / "a.py", data)
    code, _, err = run(capsys, "fix", path)
    assert (code, err) == (0, "")
    assert path.read_bytes() == (LATIN1_COOKIE + CREDIT + SAFE_FIXED).encode("latin-1")


def test_cli_reports_an_unknown_coding_declaration(tmp_path, capsys):
    path = write(tmp_path / "a.py", b"# coding: foobar\nx = 1\n")
    code, out, err = run(capsys, "check", path)
    assert (code, err) == (1, "")
    assert out.startswith(f"{path}:1:1: TL001 cannot read: unknown encoding 'foobar' in the coding declaration\n")


def test_cli_does_not_overwrite_a_file_saved_meanwhile(tmp_path, capsys, monkeypatch):
    import tensorlint.adapters.cli.fix as fix
    path = write(tmp_path / "a.py", SAFE)
    real = fix.fix_source

    def fix_while_an_editor_saves(*args, **kwargs):
        result = real(*args, **kwargs)
        path.write_text(SAFE + "# saved in the editor\n")
        return result

    monkeypatch.setattr(fix, "fix_source", fix_while_an_editor_saves)
    code, _, err = run(capsys, "fix", path)
    assert code == 2
    assert_error_lines(err, 1, "a.py: changed on disk since it was read")
    assert path.read_text() == SAFE + "# saved in the editor\n"


def test_cli_does_not_hang_on_a_fifo(tmp_path):
    os.mkfifo(tmp_path / "pipe.py")
    write(tmp_path / "good.py", SAFE)
    done = subprocess.run([sys.executable, "-m", "tensorlint", "check", str(tmp_path)], capture_output=True,
                          text=True, timeout=20, env={**os.environ, "TENSORLINT_CACHE_DIR": str(tmp_path / ".c")})
    assert done.returncode == 1 and done.stderr == ""
    assert f"{tmp_path / 'pipe.py'}:1:1: TL001 cannot read: not a regular file" in done.stdout
