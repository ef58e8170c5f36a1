"""The test suite writes nothing into the checkout, and its workers (`pytest -n auto`) share nothing.

- tensorlint's result cache: `TENSORLINT_CACHE_DIR` points into each test's own temporary folder (a test
  that checks where the cache goes by default removes it again), and so do subprocesses, which inherit it.
- Hypothesis: no example database, and its storage folder (which also holds cached Unicode tables) in a
  temporary folder of each worker rather than `.hypothesis/` in the working directory.
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest


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
