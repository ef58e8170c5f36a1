"""Rule families. Add a family here and every adaptor (flake8, CLI, docs) picks it up."""
from __future__ import annotations

from typing import Dict, Tuple

from .base import FamilyChecker, Invalid, Rule, Valid
from .conversion import ConversionFamily
from .numpy_names import NumpyNamesFamily
from .data import DataFamily
from .sync import SyncFamily

FAMILIES: Tuple[type, ...] = (ConversionFamily, DataFamily, SyncFamily, NumpyNamesFamily,)
ALL_RULES: Tuple[type, ...] = tuple(rule for family in FAMILIES for rule in family.rules)
RULES_BY_CODE: Dict[str, type] = {rule.code: rule for rule in ALL_RULES}

__all__ = ["ALL_RULES", "FAMILIES", "FamilyChecker", "Invalid", "RULES_BY_CODE", "Rule", "Valid"]
