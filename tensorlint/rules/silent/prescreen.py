"""TL5's necessary condition, on the file's `ast` (rules/prescreen.py runs it; analysis/ast_scan.py reads the file).

`may_report(scan)` is the OR of each hazard's own condition below; each says why it is necessary.
"""
from __future__ import annotations

from tensorlint.analysis.ast_scan import FileScan

# TL502: `NonBlockingChecker` reports only where `analysis.non_blocking.host_copy` found a call `x.to(...)` or
# `dst.copy_(...)` with `non_blocking=True` (a keyword, or `copy_`'s second positional argument): a method call
# named `to` or `copy_` with arguments.
_NON_BLOCKING_METHODS = frozenset({"to", "copy_"})

ATTRIBUTES: frozenset = frozenset()
METHODS = _NON_BLOCKING_METHODS


def non_blocking_may_report(scan: FileScan) -> bool:
    return any(has_arguments for method in _NON_BLOCKING_METHODS for _, has_arguments in scan.method_calls.get(method, ()))


def may_report(scan: FileScan) -> bool:
    return non_blocking_may_report(scan)
