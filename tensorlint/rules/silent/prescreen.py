"""TL5's necessary condition, on the file's `ast` (rules/prescreen.py runs it; analysis/ast_scan.py reads the file).

`may_report(scan)` is the OR of each hazard's own condition below; each says why it is necessary.
"""
from __future__ import annotations

from tensorlint.analysis.ast_scan import FileScan

# TL502: `NonBlockingChecker` reports only where `analysis.non_blocking.host_copy` found a call `x.to(...)` or
# `dst.copy_(...)` with `non_blocking=True` (a keyword, or `copy_`'s second positional argument): a method call
# named `to` or `copy_` with arguments.
_NON_BLOCKING_METHODS = frozenset({"to", "copy_"})

# TL504: `ParameterViewChecker` reports only at a call `analysis.views.parameter_view` accepts: a method call
# named `numpy`, or a call of `numpy.asarray`/`numpy.asanyarray` (qualified through an import of numpy, or a
# star import), whose argument is a call with arguments or not.
_VIEW_METHODS = frozenset({"numpy"})
_ASARRAY = frozenset({"asarray", "asanyarray"})
_NUMPY = frozenset({"numpy"})

ATTRIBUTES: frozenset = _ASARRAY
METHODS = _NON_BLOCKING_METHODS | _VIEW_METHODS


def non_blocking_may_report(scan: FileScan) -> bool:
    return any(has_arguments for method in _NON_BLOCKING_METHODS for _, has_arguments in scan.method_calls.get(method, ()))


def parameter_view_may_report(scan: FileScan) -> bool:
    if "numpy" in scan.method_calls:
        return True
    if scan.star_import:
        return True
    from_numpy = any(module == "numpy" and not level and not _ASARRAY.isdisjoint(names)
                     for module, level, names in scan.from_imports)
    if from_numpy:
        return True
    owners = {owner for name in _ASARRAY for owner in scan.attribute_owners.get(name, ()) if owner}
    return not owners.isdisjoint(scan.names_bound_to(_NUMPY))


def may_report(scan: FileScan) -> bool:
    return non_blocking_may_report(scan) or parameter_view_may_report(scan)
