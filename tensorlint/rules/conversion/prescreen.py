"""TL1's necessary condition, on the file's `ast` (rules/prescreen.py runs it; analysis/ast_scan.py reads the file).

Soundness. `ConversionChecker` reports only from `visit_Call`, at a call that is
  (a) a method call named `numpy` (`x.numpy()`); or
  (b) a call of a dotted name that `ImportMap.qualified` resolves under `numpy.`, `sklearn.metrics.` or
      `matplotlib.pyplot.` (analysis/sinks.py): its head must be a name bound by an import of the `numpy`,
      `sklearn` or `matplotlib` package somewhere in the file (the import map only ever learns names from
      import statements; every import of the file is counted, wherever and in whatever order); or
  (c) a call of an attribute in `PLOT_FUNCTIONS` on a value rooted at a name starting with `ax`.
(b) and (c) report an argument, so the call has at least one. A star import may bind any name the file's
top-level imports leave unbound (the import map gives `np`, `torch`, `nn` their conventional meaning after
one, and a project run what the other module exports, both with `setdefault`), so with one a dotted call
with arguments counts unless its head is bound by such an import. A latent conversion (`to_np(model(x))`,
`to_np` converting in another module) is reported at a call this condition cannot foresee: a project run
then runs TL1 regardless (`ProjectContext.families_beyond_prescreen`).
"""
from __future__ import annotations

from tensorlint.analysis.ast_scan import FileScan
from tensorlint.analysis.sinks import PLOT_FUNCTIONS

CONVERSION_PACKAGES = frozenset({"numpy", "sklearn", "matplotlib"})
ATTRIBUTES: frozenset = frozenset()
METHODS = frozenset({"numpy"}) | PLOT_FUNCTIONS


def may_report(scan: FileScan) -> bool:
    if "numpy" in scan.method_calls:
        return True
    if any(has_arguments and root.startswith("ax")
           for method in PLOT_FUNCTIONS for root, has_arguments in scan.method_calls.get(method, ())):
        return True
    names = scan.names_bound_to(CONVERSION_PACKAGES)
    if scan.star_import:  # a star binds what the file's top-level imports left unbound
        names |= scan.call_heads - scan.top_level_imported()
    return not scan.call_heads.isdisjoint(names)
