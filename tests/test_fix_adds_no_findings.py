"""A fix never creates a finding: fixing a file (safe, then unsafe) leaves no diagnostic of any code that
was not there before. Checked over every fixture and every rule case, as a count per code (fixes add
lines, so positions move; a new finding shows as a code whose count grows)."""
from collections import Counter
from pathlib import Path

import pytest

from tensorlint import check_source, fix_source
from tensorlint.rules import ALL_RULES

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _sources():
    for path in sorted(FIXTURES.rglob("*.py")):
        if not path.name.endswith(".fixed.py"):
            yield pytest.param(path.read_text(encoding="utf-8"), id=str(path.relative_to(FIXTURES)))
    for rule in ALL_RULES:
        for kind in ("INVALID", "VALID"):
            for index, case in enumerate(getattr(rule, kind)):
                yield pytest.param(case.source, id=f"{rule.code}-{kind.lower()}-{index}")


def _added(before: str, after: str) -> Counter:
    return Counter(d.code for d in check_source(after)) - Counter(d.code for d in check_source(before))


@pytest.mark.parametrize("source", list(_sources()))
@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
def test_fixing_adds_no_finding(source, unsafe):
    fixed = fix_source(source, unsafe_fixes=unsafe).source
    added = _added(source, fixed)
    assert not added, f"fixing created {dict(added)}:\n{fixed}"


CONVERSION_IN_A_STEP_LOOP = """import torch


def rollout(policy, h, steps):
    for _ in range(steps):
        print(h.numpy())
        h = policy(h)
"""


def test_the_copy_a_conversion_fix_adds_in_a_step_loop_was_reported_before():
    # the TL402 is the conversion's own host copy: reported before the fix at the same place
    before = [(d.line, d.col, d.code) for d in check_source(CONVERSION_IN_A_STEP_LOOP)]
    fixed = fix_source(CONVERSION_IN_A_STEP_LOOP, unsafe_fixes=True).source
    assert "print(h.detach().cpu().numpy())" in fixed
    after = [(d.line, d.col, d.code) for d in check_source(fixed)]
    assert (6, 14, "TL402") in before
    assert after == [(6, 14, "TL402")]


def test_the_count_comparison_sees_a_new_finding():
    # the check above can fail: a TL402 that appears from nothing is counted
    before = "import torch\n"
    after = CONVERSION_IN_A_STEP_LOOP.replace("h.numpy()", "h.detach().cpu().numpy()")
    assert _added(before, after) == Counter({"TL402": 1})
