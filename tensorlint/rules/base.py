"""What a rule is: a documented code with its own cases; a family checker that reports it."""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import ClassVar, FrozenSet, Optional, Sequence, Tuple, Type

import libcst as cst

from tensorlint.analysis import Semantic
from tensorlint.core.codes import DEFAULT_CODES
from tensorlint.core.context import SourceContext
from tensorlint.core.diagnostics import Fix
from tensorlint.core.fix_check import FixCheck


@dataclass(frozen=True)
class Valid:
    source: str
    why: str = ""


@dataclass(frozen=True)
class Invalid:
    source: str
    line: Optional[int] = None     # 1-based line of the expected diagnostic
    col: Optional[int] = None      # 1-based column, as flake8 prints it
    fixed: Optional[str] = None    # expected source after `fix --unsafe-fixes`; None: no fix expected
    unsafe: bool = False           # the fix is only applied with --unsafe-fixes
    why: str = ""


class Rule:
    """A documented code. The docstring is the rule's documentation (ruff's sections)."""

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    fixable: ClassVar[str] = "no"   # "always", "sometimes" or "no"
    default_enabled: ClassVar[bool] = True
    # Codes whose finding at the same place makes this one redundant (an opt-in style rule beside a crash rule).
    superseded_by: ClassVar[Tuple[str, ...]] = ()
    # How `tensorlint verify` checks this rule's fix (generated into core/codes.py as FIX_CHECKS).
    fix_check: ClassVar[FixCheck] = FixCheck()
    VALID: ClassVar[Sequence[Valid]] = ()
    INVALID: ClassVar[Sequence[Invalid]] = ()

    @classmethod
    def codes_when_selected(cls) -> Tuple[str, ...]:
        """What a user runs who turned this rule on: the default rules, and this one when it is opt-in."""
        defaults = tuple(sorted(DEFAULT_CODES))
        return defaults if cls.default_enabled else defaults + (cls.code,)

    @classmethod
    def documentation(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")


class UndeclaredRule(Exception):
    """A checker asked about a rule its family does not declare in `rules`."""


class FamilyChecker:
    """Finds the problems of one family of rules in one pass, reporting only enabled codes.

    Subclasses define libcst-style `visit_<Node>` / `leave_<Node>` hooks; the engine calls them
    from the shared walker with `self.semantic` positioned at the node. A checker names what it
    reports by its Rule class (`self.report(NumpyWithoutDetach, node, message, fix)`), one of `rules`.
    """

    rules: ClassVar[Tuple[Type[Rule], ...]] = ()

    def __init__(self, context: SourceContext, semantic: Semantic, enabled: FrozenSet[str]) -> None:
        self.context = context
        self.semantic = semantic
        self.enabled = enabled
        context.call_site = semantic.current_call_site  # findings in a helper name the call they came from

    def wants(self, rule: Type[Rule]) -> bool:
        return self._declared_code(rule) in self.enabled

    def report(self, rule: Type[Rule], node: cst.CSTNode, message: str, fix: Optional[Fix] = None) -> None:
        self.context.report(self._declared_code(rule), node, message, fix)

    def _declared_code(self, rule: Type[Rule]) -> str:
        if rule not in self.rules:
            raise UndeclaredRule(f"{type(self).__name__} reports {getattr(rule, '__name__', rule)!r}, "
                                 f"which its family does not declare in `rules`")
        return rule.code
