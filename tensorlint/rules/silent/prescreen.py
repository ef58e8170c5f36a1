"""TL5's necessary condition, on the file's `ast` (rules/prescreen.py runs it; analysis/ast_scan.py reads the file).

`may_report` is the OR of each TL5 hazard's own condition, each with its soundness argument.
"""
from __future__ import annotations

from tensorlint.analysis.ast_scan import FileScan

ATTRIBUTES: frozenset = frozenset()
METHODS: frozenset = frozenset()


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
    return float64_may_report(scan)
