"""The test suite writes nothing into the checkout, and its workers (`pytest -n auto`) share nothing.

- tensorlint's result cache: `TENSORLINT_CACHE_DIR` points into each test's own temporary folder (a test
  that checks where the cache goes by default removes it again), and so do subprocesses, which inherit it.
- Hypothesis: no example database, and its storage folder (which also holds cached Unicode tables) in a
  temporary folder of each worker rather than `.hypothesis/` in the working directory.

And it is checked: in a git checkout, `git status --porcelain --ignored` is taken before and after the
session (by the controlling process, once every worker is done), and a path that appeared fails the run.
Python's `__pycache__/` and pytest's own `.pytest_cache/` are not the tests' doing and are left out.
"""
from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional, Set

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOT_THE_TESTS = ("__pycache__", ".pytest_cache")
_before: Optional[Set[str]] = None


def checkout_status() -> Optional[Set[str]]:
    """What git sees in the checkout beyond its commits (changed, untracked and ignored paths), or None
    outside a git checkout."""
    try:
        listed = subprocess.run(["git", "status", "--porcelain", "--ignored", "--untracked-files=all"],
                                cwd=ROOT, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if listed.returncode != 0:
        return None
    return {line for line in listed.stdout.splitlines() if not any(part in line for part in NOT_THE_TESTS)}


def pytest_sessionstart(session) -> None:
    global _before
    if not hasattr(session.config, "workerinput"):  # the controlling process (or a run without xdist)
        _before = checkout_status()


def pytest_sessionfinish(session, exitstatus) -> None:
    if _before is None or hasattr(session.config, "workerinput"):
        return
    after = checkout_status()
    written = sorted((after or set()) - _before)
    if written:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = "tests wrote into the checkout:\n  " + "\n  ".join(written)
        if reporter is not None:
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_configure(config) -> None:
    storage = tempfile.mkdtemp(prefix="tensorlint-hypothesis-")
    atexit.register(shutil.rmtree, storage, True)
    os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = storage
    try:
        from hypothesis import settings
        from hypothesis.configuration import set_hypothesis_home_dir
    except ImportError:  # the fuzz tests skip themselves
        return
    set_hypothesis_home_dir(storage)
    settings.register_profile("tensorlint-tests", database=None)
    settings.load_profile("tensorlint-tests")


@pytest.fixture(autouse=True)
def private_result_cache(tmp_path_factory, monkeypatch):
    """Each test's own result cache, also for the `tensorlint` processes it starts."""
    monkeypatch.setenv("TENSORLINT_CACHE_DIR", str(tmp_path_factory.mktemp("tensorlint-cache")))
