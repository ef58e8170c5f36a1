"""The result cache: keyed by everything that decides a result, never stale, safe to share, check only."""
import multiprocessing
import os
from pathlib import Path

import pytest

from tensorlint.run import cache as cache_module
from tensorlint import check_source
from tensorlint.run.cache import DIRECTORY_NAME, Cache, cache_key, default_directory
from tensorlint.adapters.cli.main import main
from tensorlint.config.selection import enabled_codes
from tensorlint.run.project_run import ProjectFile
from tensorlint.core.settings import Settings

SAFE = ("import numpy as np\nimport torch\ndef f(x, device):\n    model = torch.nn.Linear(2, 2).to(device)\n"
        "    return model(x).numpy()\n")
SAFE_FIXED = SAFE.replace("model(x).numpy()", "model(x).detach().cpu().numpy()")
NP_BOOL = "import numpy as np\nmask = np.zeros(3, dtype=np.bool)\n"
CODES = enabled_codes()


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    directory = tmp_path / "cache"
    monkeypatch.setenv("TENSORLINT_CACHE_DIR", str(directory))
    return directory


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def poison(path, text, diagnostics, settings=Settings()):
    """Store `diagnostics` as the cached result for `text`, to see whether a run reads the cache: under the key
    of a check of the file alone, and under the key of its first check in a project run (the default)."""
    cache = Cache(os.environ["TENSORLINT_CACHE_DIR"])
    cache.store(cache_key(text, settings, CODES), diagnostics)
    place = ProjectFile(Path(path).stem, False)
    place.walked = True
    cache.store(cache_key(text, settings, CODES, place.cache_context()), diagnostics, place.records())


# -- the key -------------------------------------------------------------------------------------
@pytest.mark.parametrize("other", [
    pytest.param((SAFE + "\n", Settings(), CODES), id="text"),
    pytest.param((SAFE, Settings(numpy_min=(2,)), CODES), id="settings"),
    pytest.param((SAFE, Settings(numpy_source="pyproject.toml: numpy>=1.24"), CODES), id="where the range came from"),
    pytest.param((SAFE, Settings(), enabled_codes(["TL101"])), id="enabled codes"),
])
def test_key_changes_with_everything_that_decides_a_result(other):
    assert cache_key(SAFE, Settings(), CODES) == cache_key(SAFE, Settings(), CODES)
    assert cache_key(*other) != cache_key(SAFE, Settings(), CODES)


def test_key_changes_with_the_tool(monkeypatch):
    before = cache_key(SAFE, Settings(), CODES)
    monkeypatch.setattr(cache_module, "_fingerprint", "another tensorlint build")
    assert cache_key(SAFE, Settings(), CODES) != before


def test_fingerprint_covers_the_tool_source_and_versions():
    fingerprint = cache_module.tool_fingerprint()
    assert len(fingerprint) == 64 and fingerprint == cache_module.tool_fingerprint()


# -- entries -------------------------------------------------------------------------------------
def test_entries_round_trip_diagnostics_with_fixes(tmp_path):
    diagnostics = check_source(SAFE)
    assert any(d.fix is not None for d in diagnostics)
    store = Cache(tmp_path / "c")
    assert store.load("ab" * 32) is None
    store.store("ab" * 32, diagnostics)
    loaded = store.load("ab" * 32)
    assert loaded == diagnostics
    assert [(d.message, d.end_line, d.end_col, d.start_offset, d.end_offset, d.fix) for d in loaded] == \
        [(d.message, d.end_line, d.end_col, d.start_offset, d.end_offset, d.fix) for d in diagnostics]


def test_directory_is_marked_for_git_and_backups(tmp_path):
    Cache(tmp_path / "c").store("cd" * 32, [])
    assert (tmp_path / "c" / ".gitignore").read_text().splitlines()[-1] == "*"
    assert (tmp_path / "c" / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")


@pytest.mark.parametrize("content", [b"", b"[[1, 2", b"{}", b"[[1]]", b"\xff"])
def test_a_corrupt_entry_is_a_miss(tmp_path, content):
    store = Cache(tmp_path / "c")
    store.store("ef" * 32, [])
    Path(store._path("ef" * 32)).write_bytes(content)
    assert store.load("ef" * 32) is None


def test_an_unwritable_cache_is_skipped_silently(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("TENSORLINT_CACHE_DIR", str(blocker))
    Cache(blocker).store("01" * 32, [])  # no exception
    path = tmp_path / "a.py"
    path.write_text(SAFE)
    code, out, err = run(capsys, "check", str(path))
    assert code == 1 and err == "" and out.splitlines()[-1].startswith("Found 2 problems")


def _store_and_read(directory, key, diagnostics, rounds):
    store = Cache(directory)
    for _ in range(rounds):
        store.store(key, diagnostics)
        loaded = store.load(key)
        if loaded != diagnostics:
            return False
    return True


def test_concurrent_writers_never_expose_half_an_entry(tmp_path):
    diagnostics = check_source(SAFE) * 50
    with multiprocessing.get_context("fork").Pool(4) as pool:
        results = pool.starmap(_store_and_read, [(tmp_path / "c", "77" * 32, diagnostics, 40)] * 4)
    assert all(results)
    assert [p.name for p in (tmp_path / "c" / "v2" / "77").iterdir()] == ["77" * 31 + ".json"]  # no temporaries


# -- where it lives ------------------------------------------------------------------------------
def test_default_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("TENSORLINT_CACHE_DIR", raising=False)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "src").mkdir()
    monkeypatch.chdir(tmp_path / "src")
    assert default_directory() == tmp_path.resolve() / DIRECTORY_NAME  # the project root, not the subfolder
    monkeypatch.setenv("TENSORLINT_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert default_directory() == tmp_path / "elsewhere"


# -- the CLI -------------------------------------------------------------------------------------
def test_second_check_is_served_from_the_cache(tmp_path, capsys, cache_dir, monkeypatch):
    path = tmp_path / "a.py"
    path.write_text(SAFE)
    first = run(capsys, "check", str(path))
    assert first[0] == 1 and (cache_dir / "v2").is_dir()

    def no_analysis(*args, **kwargs):
        raise AssertionError("analysed although cached")

    monkeypatch.setattr("tensorlint.run.check.check_source", no_analysis)
    assert run(capsys, "check", str(path)) == first


def test_a_changed_file_is_checked_again(tmp_path, capsys, cache_dir):
    path = tmp_path / "a.py"
    path.write_text(SAFE)
    assert run(capsys, "check", str(path))[0] == 1
    path.write_text(SAFE_FIXED)
    assert run(capsys, "check", str(path)) == (0, "All checks passed!\n", "")
    path.write_text(SAFE)
    assert run(capsys, "check", str(path))[0] == 1


def test_changed_settings_are_not_served_stale(tmp_path, capsys, cache_dir):
    path = tmp_path / "masks.py"
    path.write_text(NP_BOOL)
    assert run(capsys, "check", "--target-numpy", "1.26", str(path))[0] == 1
    assert run(capsys, "check", "--target-numpy", "2.0", str(path))[0] == 0
    assert run(capsys, "check", "--target-numpy", "1.26", str(path))[0] == 1
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\ndependencies = ["numpy>=2"]\n')
    from tensorlint.config.targets import clear_cache
    clear_cache()
    assert run(capsys, "check", str(path))[0] == 0


def test_selection_is_part_of_the_key(tmp_path, capsys, cache_dir):
    path = tmp_path / "a.py"
    path.write_text(SAFE)
    assert run(capsys, "check", "--select", "TL101", str(path))[1].count(" TL") == 1
    assert run(capsys, "check", str(path))[1].count(" TL") == 2


def test_no_cache_neither_reads_nor_writes(tmp_path, capsys, cache_dir):
    path = tmp_path / "a.py"
    path.write_text(SAFE)
    poison(path, SAFE, [])
    assert run(capsys, "check", str(path)) == (0, "All checks passed!\n", "")  # the poisoned entry is read
    code, out, _ = run(capsys, "check", "--no-cache", str(path))
    assert code == 1 and "TL101" in out
    other = tmp_path / "b.py"
    other.write_text(SAFE + "# other\n")
    run(capsys, "check", "--no-cache", str(other))
    assert Cache(cache_dir).load(cache_key(SAFE + "# other\n", Settings(), CODES)) is None


def test_fix_always_checks_afresh(tmp_path, capsys, cache_dir):
    path = tmp_path / "a.py"
    path.write_text(SAFE)
    poison(path, SAFE, [])
    assert run(capsys, "fix", str(path)) == (0, "Fixed 2 problems in 1 file.\n", "")
    assert path.read_text() == SAFE_FIXED


def test_errors_are_not_cached(tmp_path, capsys, cache_dir):
    path = tmp_path / "bad.py"
    path.write_text("def f(:\n")
    for _ in range(2):
        code, out, _ = run(capsys, "check", str(path))
        assert code == 1 and f"{path}:1:7: TL002 cannot parse" in out
    assert not (cache_dir / "v2").exists()
