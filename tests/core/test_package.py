"""The names `tensorlint` exports, loaded on first use."""
from __future__ import annotations

import subprocess
import sys

import tensorlint


def test_every_exported_name_resolves():
    for name in tensorlint.__all__:
        assert getattr(tensorlint, name) is not None, name


def test_the_version_needs_neither_libcst_nor_the_rules():
    code = "import sys, tensorlint; tensorlint.__version__; print(sorted(m for m in sys.modules if m == 'libcst'))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout == "[]\n"
