"""TL5's necessary condition, on the file's `ast` (rules/prescreen.py runs it; analysis/ast_scan.py reads the file).

`may_report(scan)` is the OR of each hazard's own condition below; each says why it is necessary.

Soundness, TL503 (`BufferReuseChecker`): it reports only from `visit_Call`, at a call with at least one
argument whose callee `ImportMap.qualified` resolves to `torch.from_numpy`, `torch.as_tensor` or
`torch.asarray`. Such a callee is either a dotted name ending in one of those attributes whose root an import
binds to `torch` (a root that is no plain name, or any root after a star import, counts too), or a bare name
that `from torch import ...` binds (any call may then be it), or, with a star import, a bare name with that
very spelling.
"""
from __future__ import annotations

from tensorlint.analysis.ast_scan import FileScan

# TL502: `NonBlockingChecker` reports only where `analysis.non_blocking.host_copy` found a call `x.to(...)` or
# `dst.copy_(...)` with `non_blocking=True`: a keyword `non_blocking` in some call, or `copy_` called with a
# second positional argument.
_NON_BLOCKING_METHODS = frozenset({"copy_"})

# TL504: `ParameterViewChecker` reports only at a call `analysis.views.parameter_view` accepts: a method call
# named `numpy`, or a call of `numpy.asarray`/`numpy.asanyarray` (qualified through an import of numpy, or a
# star import), whose argument is a call with arguments or not.
_VIEW_METHODS = frozenset({"numpy"})
_ASARRAY = frozenset({"asarray", "asanyarray"})
_NUMPY = frozenset({"numpy"})

# TL503: see the module docstring.
_SHARING = frozenset({"from_numpy", "as_tensor", "asarray"})
_TORCH = frozenset({"torch"})

ATTRIBUTES: frozenset = _ASARRAY
METHODS = _NON_BLOCKING_METHODS | _VIEW_METHODS | _SHARING


def non_blocking_may_report(scan: FileScan) -> bool:
    return "non_blocking" in scan.call_keywords or scan.method_arity.get("copy_", 0) >= 2


def parameter_view_may_report(scan: FileScan) -> bool:
    if "numpy" in scan.method_calls:
        return True
    owners = {owner for name in _ASARRAY for owner in scan.attribute_owners.get(name, ())}
    if scan.star_import and (owners or not scan.call_heads.isdisjoint(_ASARRAY)):
        return True  # a star import may bind `np` or `asarray` itself, but the call is still spelled so
    if any(module == "numpy" and not level and not _ASARRAY.isdisjoint(names)
           for module, level, names in scan.from_imports):
        return True  # `from numpy import asarray [as a]`: called under any name
    return not {owner for owner in owners if owner}.isdisjoint(scan.names_bound_to(_NUMPY))


def refilled_buffer_kept(scan: FileScan) -> bool:
    """TL503: a call of `torch.from_numpy`/`as_tensor`/`asarray` with arguments may be in the file: a method call
    of one of those names with arguments whose root is a name an import binds to torch (or any root after a star
    import, or a root that is not a plain name), or an import of one from torch (then any call may be it)."""
    torch_names = scan.names_bound_to(_TORCH)
    for method in _SHARING:
        for root, has_arguments in scan.method_calls.get(method, ()):
            if has_arguments and (root in torch_names or not root or scan.star_import):
                return True
    if any(module.split(".")[0] == "torch" and not level and not _SHARING.isdisjoint(names)
           for module, level, names in scan.from_imports):
        return True  # `from torch import from_numpy [as f]`: called under any name
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
