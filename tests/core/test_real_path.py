"""`safe_io.real_path` resolves directories once per process; it must still be `os.path.realpath`."""
import os

import pytest

from tensorlint.core import safe_io
from tensorlint.config.targets import clear_cache, find_project_root
from tensorlint.core.safe_io import newline_style, real_path


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "f.py").write_text("x = 1\n")
    os.symlink(tmp_path / "a" / "b", tmp_path / "link")
    os.symlink(tmp_path / "a" / "b" / "f.py", tmp_path / "file_link.py")
    os.symlink(tmp_path / "link", tmp_path / "link_to_link")
    return tmp_path


@pytest.mark.parametrize("relative", ["link/f.py", "file_link.py", "link/..", "link", "link/", "link/../b/f.py",
                                      "link_to_link/f.py", "link_to_link//", "missing/x.py", "a/./b/f.py", "."])
def test_real_path_is_realpath(tree, relative, monkeypatch):
    monkeypatch.chdir(tree)
    safe_io.clear_cache()
    for path in (relative, str(tree / relative)):
        assert real_path(path) == os.path.realpath(path)
        assert real_path(path) == os.path.realpath(path)  # again, from the directory cache


def test_a_relinked_directory_is_seen_after_clear_cache(tree):
    (tree / "c").mkdir()
    (tree / "c" / "pyproject.toml").write_text("[project]\nname = 'c'\n")
    moving = tree / "moving"
    os.symlink(tree / "a" / "b", moving)
    clear_cache()
    assert find_project_root(moving / "f.py") != (tree / "c").resolve()
    os.unlink(moving)
    os.symlink(tree / "c", moving)
    clear_cache()  # what the editor server and --watch do between checks
    assert find_project_root(moving / "f.py") == (tree / "c").resolve()
    assert real_path(str(moving / "f.py")) == os.path.realpath(moving / "f.py")


@pytest.mark.parametrize("text, expected", [("", ("\n", False)), ("a\nb\n", ("\n", False)), ("a\r\nb\r\n", ("\r\n", False)),
                                            ("a\rb", ("\r", False)), ("a\r\nb\nc\r\n", ("\r\n", True)),
                                            ("no break", ("\n", False))])
def test_newline_style(text, expected):
    assert newline_style(text) == expected
