"""A project run replayed whole when nothing it read has changed (`run_replay.py`), and every way the replay
must be refused: a changed file (same size, same modification time included), a file added, a configuration
created or edited, a module beside the checked file changed, other options."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import tensorlint.run.project_run as project_run
from tensorlint.run import replay as run_replay

import tensorlint.config.reader as config
import tensorlint.config.targets as project
from test_project_run import UTILS, WITH_PROJECT, codes_at, write_package
from test_project_run import check as check_in_process


def check(*args: str, cwd: Path):
    """One `tensorlint check` run, as from a new process: configurations found before are forgotten."""
    config.clear_cache()
    project.clear_cache()
    return check_in_process(*args, cwd=cwd)


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TENSORLINT_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def runs(monkeypatch):
    """The project runs that really checked (not replayed), counted."""
    counted = []
    real = project_run._check_project

    def counting(*args, **kwargs):
        counted.append(1)
        yield from real(*args, **kwargs)

    monkeypatch.setattr(project_run, "_check_project", counting)
    return counted


def age(path: Path, seconds: float = 60.0) -> None:
    """Date a file back, as if it was last written a minute ago (not racy: its time alone is trusted)."""
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - int(seconds * 1e9)))


def age_all(root: Path) -> None:
    for path in sorted(root.rglob("*"), key=lambda p: -len(p.parts)):
        age(path)


def test_an_unchanged_project_is_replayed_with_the_same_lines(tmp_path, runs):
    write_package(tmp_path)
    age_all(tmp_path / "pkg")
    _, first = check("pkg", cwd=tmp_path)
    _, second = check("pkg", cwd=tmp_path)
    _, third = check("-j2", "pkg", cwd=tmp_path)
    assert codes_at(first) == WITH_PROJECT
    assert first == second
    assert third == first
    assert len(runs) == 1   # -j does not change results: replayed too


def test_a_file_changed_within_the_clocks_granularity_is_hashed_again(tmp_path, runs):
    package = write_package(tmp_path)
    _, before = check("pkg", cwd=tmp_path)
    helper = package / "utils.py"
    stat = os.stat(helper)
    changed = UTILS.replace("return model(x)", "return model(1)")   # same length
    assert len(changed) == len(UTILS)
    helper.write_text(changed)
    os.utime(helper, ns=(stat.st_atime_ns, stat.st_mtime_ns))   # the same size and time: only the bytes differ
    _, after = check("pkg", cwd=tmp_path)
    assert len(runs) == 2
    assert after != before


def test_an_edited_helper_reaches_its_caller(tmp_path, runs):
    package = write_package(tmp_path)
    _, before = check("pkg", cwd=tmp_path)
    (package / "utils.py").write_text(UTILS.replace("return model(x)", "return model(x).detach().cpu()"))
    _, after = check("pkg", cwd=tmp_path)
    assert len(runs) == 2
    assert "pkg/train.py:10:24: TL101" in codes_at(before)
    assert not any(line.startswith("pkg/train.py:10:") for line in after)


def test_a_new_file_is_not_missed(tmp_path, runs):
    package = write_package(tmp_path)
    check("pkg", cwd=tmp_path)
    (package / "more.py").write_text("import numpy as np\n\nx = np.float(1)\n")
    _, after = check("pkg", cwd=tmp_path)
    assert len(runs) == 2
    assert any(line.startswith("pkg/more.py:3:5: TL301") for line in after)


def test_a_module_beside_the_checked_file_is_part_of_the_snapshot(tmp_path, runs):
    package = write_package(tmp_path)
    age_all(package)
    _, before = check("pkg/train.py", cwd=tmp_path)
    assert "pkg/train.py:10:24: TL101" in codes_at(before)
    (package / "utils.py").write_text(UTILS.replace("return model(x)", "return model(x).detach().cpu()"))
    age(package / "utils.py")
    _, after = check("pkg/train.py", cwd=tmp_path)
    assert len(runs) == 2
    assert not any(line.startswith("pkg/train.py:10:") for line in after)


def test_a_configuration_created_above_the_files_is_seen(tmp_path, runs):
    write_package(tmp_path)
    age_all(tmp_path)
    _, before = check("pkg", cwd=tmp_path)
    assert before
    (tmp_path / "pyproject.toml").write_text('[tool.tensorlint]\nignore = ["TL1", "TL4"]\n')
    _, after = check("pkg", cwd=tmp_path)
    assert len(runs) == 2
    assert not any(": TL101" in line or ": TL4" in line for line in after)


def test_an_edited_configuration_is_seen(tmp_path, runs):
    write_package(tmp_path)
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.tensorlint]\nignore = ["TL4"]\n')
    age_all(tmp_path)
    _, before = check("pkg", cwd=tmp_path)
    config.write_text('[tool.tensorlint]\nignore = ["TL1"]\n')
    age(config)
    _, after = check("pkg", cwd=tmp_path)
    assert len(runs) == 2
    assert any(": TL101" in line for line in before) and not any(": TL101" in line for line in after)


def test_other_options_are_another_run(tmp_path, runs):
    write_package(tmp_path)
    check("pkg", cwd=tmp_path)
    _, selected = check("--select", "TL4", "pkg", cwd=tmp_path)
    assert len(runs) == 2
    assert selected and all(": TL4" in line or ": TL105" in line for line in selected)


def test_without_a_cache_nothing_is_replayed(tmp_path, runs):
    write_package(tmp_path)
    check("--no-cache", "pkg", cwd=tmp_path)
    check("--no-cache", "pkg", cwd=tmp_path)
    assert len(runs) == 2


def test_an_unreadable_entry_or_snapshot_is_a_miss(tmp_path):
    package = write_package(tmp_path)
    cache = project_run.Cache(tmp_path / "cache")
    cache.make_directory()
    snapshot = run_replay.take_snapshot([str(package / "utils.py")], [])
    assert snapshot is not None and snapshot.holds()
    run_replay.store(cache, "ab" * 32, snapshot, [])
    assert run_replay.load(cache, "ab" * 32) == []
    entry = next((tmp_path / "cache" / "v2").rglob("*.json"))
    entry.write_text('{"d": [], "x": {"snapshot": [1, 2], "results": []}}')
    assert run_replay.load(cache, "ab" * 32) is None
    assert run_replay.take_snapshot([str(package / "missing.py")], []) is None
