"""The progress bar of `tensorlint check` and `fix`: drawn on a terminal's stderr only (not with --quiet),
erased before output and at the end."""
import io
import os
import re
import pty
import subprocess
import sys

from tensorlint.adapters.cli.progress import Progress

# TL101 + TL102, one safe fix: the output of a torch module moved to a device.
HAZARD = "import torch\ndef f(x, device):\n    return torch.nn.Linear(2, 2).to(device)(x).numpy()\n"


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
    assert re.search(r"\] 3/3 files, \d+\.\d s\x1b\[K$", stream.getvalue())  # done, total, seconds
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


def run_on_terminal(arguments, tmp_path):
    """`tensorlint ARGUMENTS` with stderr on a pseudo-terminal: (process, what the terminal showed)."""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.run([sys.executable, "-m", "tensorlint", *arguments],
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
    return process, shown.decode()


def test_real_fix_run_draws_on_a_terminal_stderr_only(tmp_path):
    _write_tree(tmp_path, 12)
    process, text = run_on_terminal(["fix", "-j", "2", str(tmp_path)], tmp_path)
    assert process.returncode == 0
    assert "12/12 files" in text and text.endswith("\r\x1b[K")  # drawn, then erased
    assert process.stdout.decode() == "Fixed 24 problems in 12 files.\n"  # the summary, no bar on stdout


def test_real_check_run_draws_the_same_bar_between_its_findings(tmp_path):
    _write_tree(tmp_path, 12)
    process, text = run_on_terminal(["check", "-j", "2", "--no-cache", str(tmp_path)], tmp_path)
    assert process.returncode == 1
    assert re.search(r"\] 12/12 files, \d+\.\d s", text) and text.endswith("\r\x1b[K")
    lines = process.stdout.decode().splitlines()
    assert len(lines) == 25 and lines[-1] == "Found 24 problems (24 fixable with `tensorlint fix`)."
    assert "\x1b" not in process.stdout.decode()


def test_quiet_draws_nothing_and_prints_the_findings_only(tmp_path):
    _write_tree(tmp_path, 12)
    process, text = run_on_terminal(["check", "--quiet", "--no-cache", str(tmp_path)], tmp_path)
    assert (process.returncode, text) == (1, "")
    assert len(process.stdout.decode().splitlines()) == 24  # no summary line
    process, text = run_on_terminal(["fix", "-q", str(tmp_path)], tmp_path)
    assert (process.returncode, text, process.stdout) == (0, "", b"")


def test_real_runs_without_terminal_print_no_bar(tmp_path):
    _write_tree(tmp_path, 12)
    process = subprocess.run([sys.executable, "-m", "tensorlint", "check", str(tmp_path)],
                             capture_output=True, text=True, timeout=120)
    assert (process.returncode, process.stderr) == (1, "")
    process = subprocess.run([sys.executable, "-m", "tensorlint", "fix", str(tmp_path)],
                             capture_output=True, text=True, timeout=120)
    assert (process.returncode, process.stderr) == (0, "")
    assert process.stdout == "Fixed 24 problems in 12 files.\n"


def test_real_verify_run_draws_the_same_bar_over_its_files(tmp_path):
    for index in range(4):  # nothing to fix: the verifier's workers (and torch) are never started
        (tmp_path / f"clean{index}.py").write_text("import numpy as np\nx = np.zeros(3)\n")
    process, text = run_on_terminal(["verify", str(tmp_path)], tmp_path)
    assert process.returncode == 0
    assert re.search(r"\] 4/4 files, \d+\.\d s", text) and text.endswith("\r\x1b[K")
    assert "\x1b" not in process.stdout.decode()
