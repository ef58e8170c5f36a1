"""Apply fixes: non-overlapping edits per pass, repeated to a fixpoint, never emitting code that does not parse."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, List, Sequence, Tuple

import libcst as cst

from .diagnostics import Diagnostic, Edit, Fix

MAX_PASSES = 10


class FixError(Exception):
    """A fix produced code that does not parse: a bug in tensorlint, reported and never written."""


@dataclass
class FixResult:
    source: str
    fixed: List[Diagnostic] = field(default_factory=list)
    remaining: List[Diagnostic] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.fixed)


def apply_edits(source: str, fixes: Sequence[Fix]) -> Tuple[str, List[Fix]]:
    """Apply every fix whose edits overlap no earlier accepted fix; return the text and the fixes applied."""
    accepted: List[Fix] = []
    taken: List[Edit] = []
    for fix in fixes:
        if fix in accepted:
            continue
        if any(_overlaps(edit, other) for edit in fix.edits for other in taken):
            continue
        accepted.append(fix)
        taken.extend(fix.edits)
    for edit in sorted(taken, key=lambda e: (e.start, e.end), reverse=True):
        source = source[:edit.start] + edit.text + source[edit.end:]
    return source, accepted


def _overlaps(a: Edit, b: Edit) -> bool:
    if a.start == a.end and b.start == b.end:
        return a.start == b.start and a.text != b.text
    return a.start < b.end and b.start < a.end or (a.start == a.end and b.start < a.start < b.end) \
        or (b.start == b.end and a.start < b.start < a.end)


def fix_to_fixpoint(source: str, diagnose: Callable[[str], List[Diagnostic]], unsafe: bool) -> FixResult:
    """Fix what `diagnose` reports until nothing more applies (nested conversions need two passes)."""
    result = FixResult(source)
    for _ in range(MAX_PASSES):
        diagnostics = diagnose(result.source)
        usable = [d for d in diagnostics if d.fix is not None and (unsafe or d.fix.is_safe)]
        if not usable:
            result.remaining = diagnostics
            return result
        new_source, applied = apply_edits(result.source, [d.fix for d in usable])
        try:
            cst.parse_module(new_source)
        except cst.ParserSyntaxError as error:
            raise FixError(f"fix produced invalid code ({error.message}); nothing was written") from None
        result.fixed.extend(d for d in usable if d.fix in applied)
        result.source = new_source
    result.remaining = diagnose(result.source)
    return result
