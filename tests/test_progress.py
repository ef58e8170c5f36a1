"""The progress bar of `tensorlint fix`: drawn on a terminal's stderr only, erased before output and at the end."""
import io
import os
import pty
import subprocess
import sys

from tensorlint.progress import Progress

HAZARD = "import torch\ndef f(model, x):\n    return model(x).numpy()\n"


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_bar_is_drawn_on_a_terminal_and_erased(monkeypatch):
    monkeypatch.delenv("TERM", raising=False)
    stream = FakeTerminal()
    progress = Progress(3, stream)
    assert progress.enabled
    for _ in range(3):
        progress.advance()
    assert stream.getvalue().endswith("] 3/3 files\x1b[K")
    assert "[" + "#" * 10 in stream.getvalue()
    progress.clear()
    assert stream.getvalue().endswith("\r\x1b[K")
    progress.clear()  # nothing shown: nothing more written
    assert stream.getvalue().count("\r\x1b[K") == 1


def test_no_bar_in_pipes_on_dumb_terminals_or_for_one_file(monkeypatch):
    piped = io.StringIO()
    progress = Progress(5, piped)
    for _ in range(5):
        progress.advance()
    progress.clear()
    assert not progress.enabled and piped.getvalue() == ""
    monkeypatch.setenv("TERM", "dumb")
    assert not Progress(5, FakeTerminal()).enabled
    monkeypatch.delenv("TERM")
    assert not Progress(1, FakeTerminal()).enabled


def _write_tree(root, count):
    for index in range(count):
        (root / f"m{index:02}.py").write_text(HAZARD)


def test_real_fix_run_draws_on_a_terminal_stderr_only(tmp_path):
    _write_tree(tmp_path, 12)
    controller, terminal = pty.openpty()
    try:
        process = subprocess.run([sys.executable, "-m", "tensorlint", "fix", "-j", "2", str(tmp_path)],
                                 stdout=subprocess.PIPE, stderr=terminal, timeout=120,
                                 env={**os.environ, "TERM": "xterm"})
        os.close(terminal)
        terminal = None
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the terminal is closed and drained
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
        if terminal is not None:
            os.close(terminal)
    text = shown.decode()
    assert process.returncode == 0
    assert "12/12 files" in text and text.endswith("\r\x1b[K")  # drawn, then erased
    assert process.stdout.decode() == "Fixed 24 problems in 12 files.\n"  # the summary, no bar on stdout


def test_real_fix_run_without_terminal_prints_no_bar(tmp_path):
    _write_tree(tmp_path, 12)
    process = subprocess.run([sys.executable, "-m", "tensorlint", "fix", str(tmp_path)],
                             capture_output=True, text=True, timeout=120)
    assert (process.returncode, process.stderr) == (0, "")
    assert process.stdout == "Fixed 24 problems in 12 files.\n"
