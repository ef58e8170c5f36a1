"""A fix never creates a finding: fixing a file (safe, then unsafe) leaves no diagnostic of any code that
was not there before. Checked over every fixture and every rule case, as a count per code (fixes add
lines, so positions move; a new finding shows as a code whose count grows)."""
from collections import Counter
from pathlib import Path

import pytest

from tensorlint import check_source, fix_source
from tensorlint.rules import ALL_RULES

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


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


def rollout(h, steps, device):
    for _ in range(steps):
        print(h.numpy())
        h = policy(h.to(device))
"""


def test_the_copy_a_conversion_fix_adds_in_a_step_loop_was_reported_before_at_the_same_place():
    # TL402 reports the conversion's host copy under TL102's premise; the fix spells it `.cpu()`
    before = [(d.line, d.col, d.code) for d in check_source(CONVERSION_IN_A_STEP_LOOP)]
    fixed = fix_source(CONVERSION_IN_A_STEP_LOOP, unsafe_fixes=True).source
    assert before == [(6, 14, "TL101"), (6, 14, "TL102"), (6, 14, "TL402")]
    assert "print(h.detach().cpu().numpy())" in fixed
    assert [(d.line, d.col, d.code) for d in check_source(fixed)] == [(6, 14, "TL402")]


def test_the_count_comparison_sees_a_new_finding():
    # the check above can fail: a host copy that stays a tensor, added by a (wrong) fix, is counted
    after = CONVERSION_IN_A_STEP_LOOP.replace("print(h.numpy())", "print(h.detach().cpu().numpy(), h.cpu())")
    assert _added(CONVERSION_IN_A_STEP_LOOP, after) == Counter({"TL402": 1})
    assert _added(CONVERSION_IN_A_STEP_LOOP, CONVERSION_IN_A_STEP_LOOP) == Counter()


COLLECTED = """import torch


@torch.no_grad()
def evaluate(model, loader, device):
    probs = []
    for x, _ in loader:
        probs.append(model(x.to(device)).numpy())
    return probs
"""


def test_a_collected_conversion_is_reported_at_the_same_place_before_and_after_its_fix():
    before = [(d.line, d.col, d.code) for d in check_source(COLLECTED)]
    fixed = fix_source(COLLECTED, unsafe_fixes=True).source
    assert "probs.append(model(x.to(device)).detach().cpu().numpy())" in fixed
    assert before == [(8, 21, "TL102"), (8, 21, "TL402")]  # (under no_grad: no TL101)
    assert [(d.line, d.col, d.code) for d in check_source(fixed)] == [(8, 21, "TL402")]
