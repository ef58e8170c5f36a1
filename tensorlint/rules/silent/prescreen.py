"""TL5's necessary condition, on the file's `ast` (rules/prescreen.py runs it; analysis/ast_scan.py reads the file).

`may_report(scan)` is the OR of each hazard's own condition below; each says why it is necessary.

Soundness, TL503 (`BufferReuseChecker`): it reports only from `visit_Call`, at a call with at least one
argument whose callee `ImportMap.qualified` resolves to `torch.from_numpy`, `torch.as_tensor` or
`torch.asarray`. Such a callee is either a dotted name ending in one of those attributes (a watched method
call with arguments, whatever its root), or a bare name that an import from `torch` binds (a call head
bound to the `torch` package), or, with a star import, a bare name with that very spelling.
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

# TL503: see the module docstring.
_SHARING = frozenset({"from_numpy", "as_tensor", "asarray"})

ATTRIBUTES: frozenset = _ASARRAY
METHODS = _NON_BLOCKING_METHODS | _VIEW_METHODS | _SHARING


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


def refilled_buffer_kept(scan: FileScan) -> bool:
    """TL503: a call of `torch.from_numpy`/`as_tensor`/`asarray` with arguments may be in the file."""
    if any(has_arguments for method in _SHARING for _, has_arguments in scan.method_calls.get(method, ())):
        return True
    if not scan.call_heads.isdisjoint(scan.names_bound_to(frozenset({"torch"}))):
        return True
    return scan.star_import and not scan.call_heads.isdisjoint(_SHARING)


def float64_may_report(scan: FileScan) -> bool:
    """TL501. Soundness: `Float64Checker` reports only at a tensor made by a call of a name under `torch.`
    (`torch.from_numpy/as_tensor/asarray/tensor(a)`, `float64_from_array`) from an array whose dtype a NumPy call
    shows: the evaluator gives an array a dtype only from a call `ImportMap.qualified` resolves under `numpy.`
    (analysis/numpy_dtypes.py `numpy_call`; arithmetic, methods and subscripts only keep or widen one), and
    both calls have arguments (`np.zeros()` without one gives no dtype; the tensor is made *from* `a`). So the
    file calls, with arguments, a dotted name whose head an import binds to `numpy` and one whose head an import
    binds to `torch` (a star import may bind any name the top-level imports leave unbound: the import map gives
    `np` and `torch` their conventional meaning after one). Project summaries carry no dtype."""
    heads = scan.call_heads
    numpy, torch = scan.names_bound_to(frozenset({"numpy"})), scan.names_bound_to(frozenset({"torch"}))
    if scan.star_import:
        unbound = heads - scan.top_level_imported()
        numpy, torch = numpy | unbound, torch | unbound
    return not heads.isdisjoint(numpy) and not heads.isdisjoint(torch)


def may_report(scan: FileScan) -> bool:
    return (float64_may_report(scan) or non_blocking_may_report(scan) or refilled_buffer_kept(scan)
            or parameter_view_may_report(scan))
