"""Rule families. Add a family here and every adaptor (flake8, CLI, docs) picks it up."""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

from tensorlint.rules.base import FamilyChecker, Invalid, Rule, Valid
from tensorlint.rules.conversion.checker import ConversionChecker
from tensorlint.rules.data.checker import DataChecker
from tensorlint.rules.files import FILE_RULES
from tensorlint.rules.numpy_names.checker import NumpyNamesChecker
from tensorlint.rules.silent.buffer_reuse import BufferReuseChecker
from tensorlint.rules.silent.float64 import Float64Checker
from tensorlint.rules.silent.non_blocking import NonBlockingChecker
from tensorlint.rules.silent.parameter_view import ParameterViewChecker
from tensorlint.rules.sync.checker import SyncChecker

FAMILIES: Tuple[type, ...] = (ConversionChecker, DataChecker, SyncChecker, NumpyNamesChecker,
                              Float64Checker, NonBlockingChecker, BufferReuseChecker, ParameterViewChecker,)
# FILE_RULES (TL0) have no checker: the CLI reports files it could not read or parse under them.
ALL_RULES: Tuple[type, ...] = FILE_RULES + tuple(rule for family in FAMILIES for rule in family.rules)
RULES_BY_CODE: Dict[str, type] = {rule.code: rule for rule in ALL_RULES}


def in_code_order(rules: Sequence[type]) -> List[type]:
    """TL0, TL1, TL2, TL3, TL4: the order users look codes up in (the families are registered otherwise)."""
    return sorted(rules, key=lambda rule: rule.code)


__all__ = ["ALL_RULES", "FAMILIES", "FILE_RULES", "FamilyChecker", "Invalid", "RULES_BY_CODE", "Rule", "Valid",
           "in_code_order"]
