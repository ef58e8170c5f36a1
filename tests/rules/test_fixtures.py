"""Replay the fixture triples in fixtures/<family>/: `X.py`, `X.txt` (flake8's output), `X.fixed.py`.

The `.txt` and `.fixed.py` files were generated with the tool and checked by hand; these tests keep
the tool and them in step.
"""
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tensorlint import check_source, fix_source
from tensorlint.rules import ALL_RULES, FILE_RULES, RULES_BY_CODE

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
FAMILY_DIRS = sorted(path for path in FIXTURES.iterdir() if path.is_dir() and not path.name.startswith((".", "_")))


def _is_fixed(path):
    return path.name.endswith(".fixed.py")


def _sources(directory):
    """The fixture sources of one family (not their `.fixed.py`), sorted as flake8 reports them."""
    return sorted(path for path in directory.glob("*.py") if not _is_fixed(path))


def _stem(path):
    """`TL101_numpy_without_detach` for any of the three files of a triple."""
    name = path.name
    for suffix in (".fixed.py", ".py", ".txt"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _read(path):
    # newline="" keeps the text byte for byte (no newline translation)
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


SOURCES = [path for directory in FAMILY_DIRS for path in _sources(directory)]


def _own_rule(path):
    return RULES_BY_CODE.get(_stem(path).split("_", 1)[0])


def _select(path):
    """The codes a fixture is checked with: the default rules, and its own rule when that rule is opt-in."""
    rule = _own_rule(path)
    return rule.codes_when_selected() if rule is not None else None


def _source_params():
    return [pytest.param(path, id=f"{path.parent.name}/{path.name}") for path in SOURCES]


def test_there_are_fixtures():
    assert FAMILY_DIRS, f"no fixture family under {FIXTURES}"
    assert SOURCES


# -- (a) one real flake8 run per family ----------------------------------------------------
@pytest.mark.parametrize("directory", [pytest.param(d, id=d.name) for d in FAMILY_DIRS])
def test_flake8_output_matches_txt(directory):
    # one run for the default rules' fixtures (`--select TL`), one per opt-in rule's (`--select TL,TL105`)
    runs = {}
    for path in _sources(directory):
        rule = _own_rule(path)
        runs.setdefault("TL" if rule is None or rule.default_enabled else f"TL,{rule.code}", []).append(path)
    for select, sources in runs.items():
        completed = subprocess.run(
            [sys.executable, "-m", "flake8", "--select", select, *[path.name for path in sources]],
            cwd=directory, capture_output=True, text=True, timeout=300,
        )
        expected = "".join(_read(path.with_suffix(".txt")) for path in sources)
        assert "Traceback" not in completed.stderr, completed.stderr
        assert completed.stdout == expected
        assert completed.returncode == (1 if expected else 0), completed.stderr


# -- (b) and (c) the fixes --------------------------------------------------------------------
@pytest.mark.parametrize("path", _source_params())
def test_fix_matches_fixed_py(path):
    result = fix_source(_read(path), select=_select(path), unsafe_fixes=True)
    assert result.source == _read(path.parent / f"{_stem(path)}.fixed.py")


@pytest.mark.parametrize("path", _source_params())
def test_fixing_fixed_py_again_changes_nothing(path):
    fixed = _read(path.parent / f"{_stem(path)}.fixed.py")
    again = fix_source(fixed, select=_select(path), unsafe_fixes=True)
    assert again.source == fixed
    assert again.fixed == []


# -- (d) only what has no fix remains --------------------------------------------------------
def _key(diagnostic):
    # Some fixes add lines (`with torch.no_grad():`), so lines shift; the message names the expression.
    return diagnostic.code, diagnostic.message


@pytest.mark.parametrize("path", _source_params())
def test_only_unfixable_diagnostics_remain(path):
    source = _read(path)
    original = check_source(source, select=_select(path))
    own_code = _stem(path).split("_", 1)[0]
    assert any(d.code == own_code for d in original), f"{path.name} has no {own_code} case"
    family = own_code[:3]  # "TL1": fixing a crash may expose another family's finding (a per-step copy)
    unfixable = Counter(_key(d) for d in original if d.fix is None and d.code.startswith(family))

    def left(diagnostics):
        return Counter(_key(d) for d in diagnostics if d.code.startswith(family))

    # Nothing fixable of the family is left and nothing new of it appears; a fix may also clear a
    # diagnostic that had no fix of its own (`.detach()` at an append clears the `np.vstack` of that list).
    assert not left(check_source(_read(path.parent / f"{_stem(path)}.fixed.py"), select=_select(path))) - unfixable
    # the same through fix_source's own bookkeeping
    assert not left(fix_source(source, select=_select(path), unsafe_fixes=True).remaining) - unfixable


# -- (e) layout ------------------------------------------------------------------------------
@pytest.mark.parametrize("directory", [pytest.param(d, id=d.name) for d in FAMILY_DIRS])
def test_every_fixture_is_a_complete_triple(directory):
    files = [path for path in directory.iterdir() if path.is_file()]
    unexpected = [p.name for p in files if not (p.name.endswith(".py") or p.name.endswith(".txt"))]
    assert unexpected == [], "only .py, .txt and .fixed.py files belong in a fixture family"
    stems = {_stem(p) for p in files}
    for stem in sorted(stems):
        triple = [directory / f"{stem}{suffix}" for suffix in (".py", ".txt", ".fixed.py")]
        missing = [p.name for p in triple if not p.exists()]
        assert missing == [], f"{stem}: missing {missing}"


@pytest.mark.parametrize("path", _source_params())
def test_fixture_name_is_code_and_rule_name(path):
    code, _, name = _stem(path).partition("_")
    assert code in RULES_BY_CODE, f"{path.name}: unknown code {code}"
    rule = RULES_BY_CODE[code]
    assert name == rule.name.replace("-", "_"), f"{path.name} should be named {code}_{rule.name.replace('-', '_')}"


@pytest.mark.parametrize("rule", [pytest.param(rule, id=rule.code) for rule in ALL_RULES if rule not in FILE_RULES])
def test_every_rule_has_a_fixture(rule):
    expected = f"{rule.code}_{rule.name.replace('-', '_')}"
    assert expected in {_stem(path) for path in SOURCES}, f"no fixture {expected}.py under {FIXTURES}"
