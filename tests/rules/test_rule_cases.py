"""Every VALID/INVALID case declared on every rule becomes a test."""
import pytest

from tensorlint import check_source, fix_source
from tensorlint.rules import ALL_RULES



def _codes(rule):
    """Every default rule, plus the rule itself when it is opt-in (its cases run as a user who selected it)."""
    return rule.codes_when_selected()


def _cases(kind):
    for rule in ALL_RULES:
        for index, case in enumerate(getattr(rule, kind)):
            yield pytest.param(rule, case, id=f"{rule.code}-{index}-{case.why or 'case'}")


@pytest.mark.parametrize("rule, case", list(_cases("VALID")))
def test_valid(rule, case):
    found = [d for d in check_source(case.source, select=_codes(rule)) if d.code == rule.code]
    assert found == [], f"{rule.code} should not fire ({case.why}):\n{case.source}"


@pytest.mark.parametrize("rule, case", list(_cases("INVALID")))
def test_invalid(rule, case):
    found = [d for d in check_source(case.source, select=_codes(rule)) if d.code == rule.code]
    assert found, f"{rule.code} should fire ({case.why}):\n{case.source}"
    if case.line is not None:
        assert (found[0].line, found[0].col + 1) == (case.line, case.col)


@pytest.mark.parametrize("rule, case", list(_cases("INVALID")))
def test_invalid_fix(rule, case):
    safe = fix_source(case.source, select=_codes(rule))
    unsafe = fix_source(case.source, select=_codes(rule), unsafe_fixes=True)
    if case.fixed is None:
        assert not any(d.code == rule.code for d in unsafe.fixed), "no fix was expected"
        return
    assert unsafe.source == case.fixed
    if case.unsafe:
        assert not any(d.code == rule.code for d in safe.fixed), "fix should need --unsafe-fixes"
    else:
        assert safe.source == case.fixed
    again = fix_source(unsafe.source, select=_codes(rule), unsafe_fixes=True)
    assert again.source == unsafe.source, "fixing twice must change nothing"
    assert not [d for d in check_source(unsafe.source, select=_codes(rule)) if d.code == rule.code]
