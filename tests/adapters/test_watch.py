"""`tensorlint check --watch`: re-checks only what changed, sleeps between polls, Ctrl-C exits 0."""
import os
import select
import signal
import subprocess
import sys
import time

import pytest

import tensorlint.adapters.cli.watch as watch
from tensorlint.adapters.cli.main import main

# TL101 + TL102 on line 5: the output of a torch module moved to a device.
SAFE = ("import numpy as np\nimport torch\ndef f(x, device):\n    model = torch.nn.Linear(2, 2).to(device)\n"
        "    return model(x).numpy()\n")


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def codes_in(out):
    return [line.split(": ")[1].split()[0] for line in out.splitlines() if ": TL" in line]


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TENSORLINT_CACHE_DIR", str(tmp_path / ".cache"))
    write(tmp_path / "pkg" / "a.py", SAFE)
    write(tmp_path / "pkg" / "b.py", "x = 1\n")
    return tmp_path


@pytest.fixture
def polls(monkeypatch):
    """Replace the sleep between polls: each call runs the next step, then Ctrl-C. Records what was slept."""
    steps, slept = [], []

    def sleep(seconds):
        slept.append(seconds)
        if not steps:
            raise KeyboardInterrupt
        steps.pop(0)()

    monkeypatch.setattr(watch, "sleep", sleep)
    return steps, slept


@pytest.fixture
def checked(monkeypatch):
    """The paths the engine was asked to check, in order (in this process: run with -j 1)."""
    import tensorlint.run.check as check
    seen, real = [], check.check_source

    def counting(source, path=None, *args, **kwargs):
        seen.append(os.path.basename(path))
        return real(source, path, *args, **kwargs)

    monkeypatch.setattr(check, "check_source", counting)
    return seen


def runs(out):
    """The output of each run (a blank line starts each one when stdout is not a terminal)."""
    return [part for part in out.split("\n\n") if part.strip()]


def test_only_changed_files_are_checked_again(project, capsys, polls, checked):
    steps, slept = polls
    steps += [lambda: write(project / "pkg" / "b.py", SAFE + "# b\n"),  # changed: b alone is checked again
              lambda: None,                                           # nothing changed: no new run
              lambda: os.remove(project / "pkg" / "a.py"),             # deleted: shown without checking
              lambda: write(project / "pkg" / "c.py", "y = 2\n")]      # new: c alone is checked
    code = main(["check", "--watch", "--no-cache", "-j", "1", "pkg"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    shown = runs(out)
    assert len(shown) == 4
    assert codes_in(shown[0]) == ["TL101", "TL102"] and shown[0].endswith("Watching 2 files for changes (Ctrl-C to stop).")
    assert codes_in(shown[1]) == ["TL101", "TL102"] * 2
    assert codes_in(shown[2]) == ["TL101", "TL102"] and "pkg/a.py" not in shown[2]
    assert "Watching 2 files" in shown[3]
    assert checked == ["a.py", "b.py", "b.py", "c.py"]
    assert len(slept) == 5 and min(slept) >= watch.INTERVAL  # a sleep after every poll: never a busy loop


def test_a_settings_change_checks_everything_again(project, capsys, polls, checked):
    steps, _ = polls
    steps.append(lambda: write(project / "pyproject.toml", "[tool.tensorlint]\nignore = [\"TL102\"]\n"))
    assert main(["check", "--watch", "--no-cache", "-j", "1", "pkg"]) == 0
    shown = runs(capsys.readouterr().out)
    assert [codes_in(run) for run in shown] == [["TL101", "TL102"], ["TL101"]]
    assert checked == ["a.py", "b.py", "a.py", "b.py"]


def test_a_broken_configuration_is_shown_with_each_run_not_each_poll(project, capsys, polls):
    steps, _ = polls
    write(project / "pyproject.toml", "[tool.tensorlint]\nselct = []\n")
    steps += [lambda: None, lambda: None,
              lambda: write(project / "pyproject.toml", "[tool.tensorlint]\nselect = [\"TL1\"]\n")]
    assert main(["check", "--watch", "--no-cache", "-j", "1", "pkg"]) == 0
    out, err = capsys.readouterr()
    assert len(err.splitlines()) == 1 and "unknown key 'selct'" in err  # the first run's, not one per poll
    assert [codes_in(run) for run in runs(out)] == [[], ["TL101", "TL102"]]


def test_files_that_cannot_be_checked_are_shown_while_watching(project, capsys, polls):
    steps, _ = polls
    steps.append(lambda: write(project / "pkg" / "b.py", "def g(:\n"))
    assert main(["check", "--watch", "--no-cache", "-j", "1", "pkg"]) == 0
    shown = runs(capsys.readouterr().out)
    assert codes_in(shown[1]) == ["TL101", "TL102", "TL002"]
    assert "Found 3 problems (1 file could not be checked, " in shown[1]


@pytest.mark.parametrize("options, why", [
    (["--format", "json", "pkg"], "--watch prints findings as concise or text, not as json"),
    (["--format", "sarif", "pkg"], "--watch prints findings as concise or text, not as sarif"),
    (["--statistics", "pkg"], "--watch cannot be combined with --statistics"),
    (["-"], "--watch works on files, not on stdin (-)"),
])
def test_what_watch_refuses(project, capsys, options, why):
    assert main(["check", "--watch", *options]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == f"tensorlint: error: {why} (see `tensorlint check --help`)\n"


def test_a_missing_path_is_refused_before_watching(project, capsys, polls):
    assert main(["check", "--watch", "pkg", "nowhere"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == "tensorlint: error: nowhere: no such file or directory\n"
    assert polls[1] == []


def test_text_format_while_watching(project, capsys, polls):
    assert main(["check", "--watch", "--format", "text", "pkg"]) == 0
    assert "5 |     return model(x).numpy()" in capsys.readouterr().out


def _read_until(process, text, seconds):
    """stdout read until `text` appears (or the time runs out): what was read."""
    seen, deadline = "", time.monotonic() + seconds
    while text not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            chunk = os.read(process.stdout.fileno(), 65536).decode()
            if not chunk:
                break
            seen += chunk
    return seen


def test_ctrl_c_in_a_real_process_exits_0_without_a_traceback(project):
    write(project / "pkg" / "c.py", SAFE)
    process = subprocess.Popen([sys.executable, "-m", "tensorlint", "check", "--watch", "-j", "2", "pkg"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=project)
    try:
        first = _read_until(process, "Watching 3 files", 60)
        assert "Watching 3 files for changes" in first
        write(project / "pkg" / "b.py", SAFE + "# now with findings\n")
        second = _read_until(process, "Watching 3 files", 30)
        assert codes_in(second) == ["TL101", "TL102"] * 3
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert process.stderr.read() == b""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
