"""A checker reports Rule classes its family declares; codes come from the classes, never from string literals."""
from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst
import pytest

from tensorlint.analysis import Semantic
from tensorlint.core.context import SourceContext
from tensorlint.rules import FAMILIES
from tensorlint.rules.base import UndeclaredRule
from tensorlint.rules.conversion.rules import NumpyWithoutDetach
from tensorlint.rules.data.checker import DataChecker
from tensorlint.rules.data.rules import DataRead

RULES_FOLDER = Path(__file__).resolve().parents[2] / "tensorlint" / "rules"


def _checker(family: type) -> object:
    module = cst.parse_module("x = 1\n")
    context = SourceContext(module.code, module)
    return family(context, Semantic(module, {}, {}), frozenset(rule.code for rule in family.rules))


def test_a_checker_cannot_report_a_rule_of_another_family():
    checker = _checker(DataChecker)
    node = cst.parse_module("x = 1\n").body[0]
    with pytest.raises(UndeclaredRule, match="NumpyWithoutDetach"):
        checker.report(NumpyWithoutDetach, node, "message")
    with pytest.raises(UndeclaredRule):
        checker.wants(NumpyWithoutDetach)
    assert checker.context.diagnostics == []


def test_a_checker_reports_its_own_rule_under_the_rule_code():
    checker = _checker(DataChecker)
    module = checker.context.module
    checker.report(DataRead, module.body[0], "message")
    assert [d.code for d in checker.context.diagnostics] == [DataRead.code]
    assert checker.wants(DataRead)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda family: family.__name__)
def test_every_family_declares_rules_of_one_hundreds_digit(family):
    assert family.rules and len({rule.code[:3] for rule in family.rules}) == 1


@pytest.mark.parametrize("path", sorted(RULES_FOLDER.glob("*/checker.py")), ids=lambda path: path.parent.name)
def test_no_checker_spells_a_code(path):
    """`self.report(NumpyWithoutDetach, ...)`, `self.wants(DataRead)`: a code string in a checker is a
    report the family's `rules` cannot vouch for."""
    spelled = [node.lineno for node in ast.walk(ast.parse(path.read_text()))
               if isinstance(node, ast.Constant) and isinstance(node.value, str)
               and len(node.value) == 5 and node.value.startswith("TL") and node.value[2:].isdigit()]
    assert spelled == [], f"code string literals at lines {spelled}"
