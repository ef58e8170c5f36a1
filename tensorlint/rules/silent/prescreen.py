"""TL5's necessary condition, on the file's `ast` (rules/prescreen.py runs it; analysis/ast_scan.py reads the file).

`may_report` is the OR of each TL5 hazard's own condition.

Soundness, TL503 (`BufferReuseChecker`): it reports only from `visit_Call`, at a call with at least one
argument whose callee `ImportMap.qualified` resolves to `torch.from_numpy`, `torch.as_tensor` or
`torch.asarray`. Such a callee is either a dotted name ending in one of those attributes (a watched method
call with arguments, whatever its root), or a bare name that an import from `torch` binds (a call head
bound to the `torch` package), or, with a star import, a bare name with that very spelling.
"""
from __future__ import annotations

from tensorlint.analysis.ast_scan import FileScan

_SHARING = frozenset({"from_numpy", "as_tensor", "asarray"})
ATTRIBUTES: frozenset = frozenset()
METHODS = _SHARING


def may_report(scan: FileScan) -> bool:
    return refilled_buffer_kept(scan)


def refilled_buffer_kept(scan: FileScan) -> bool:
    """TL503: a call of `torch.from_numpy`/`as_tensor`/`asarray` with arguments may be in the file."""
    if any(has_arguments for method in _SHARING for _, has_arguments in scan.method_calls.get(method, ())):
        return True
    if not scan.call_heads.isdisjoint(scan.names_bound_to(frozenset({"torch"}))):
        return True
    return scan.star_import and not scan.call_heads.isdisjoint(_SHARING)
