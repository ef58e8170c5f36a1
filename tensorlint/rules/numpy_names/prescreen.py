"""TL3's necessary condition, on the file's `ast` (rules/prescreen.py runs it; analysis/ast_scan.py reads the file).

Soundness. `NumpyNamesChecker` reports
  (a) from `visit_Attribute`: an attribute named in `BUILTIN_ALIASES`/`REMOVED_NAMES` whose value qualifies
      to `numpy`, which only a name bound by an import of `numpy` does (or, after a star import, one the
      top-level imports leave unbound); or
  (b) from `visit_Import`/`visit_ImportFrom`: an import of a module in `REMOVED_MODULES`, or
      `from numpy import <one of those names>`.
A shim restoring a name, a guard, a shadowed builtin only take findings away.
"""
from __future__ import annotations

from tensorlint.analysis.ast_scan import FileScan
from tensorlint.rules.numpy_names.table import BUILTIN_ALIASES, REMOVED_MODULES, REMOVED_NAMES

ATTRIBUTES = frozenset(BUILTIN_ALIASES) | frozenset(REMOVED_NAMES)
METHODS: frozenset = frozenset()
_NUMPY = frozenset({"numpy"})


def may_report(scan: FileScan) -> bool:
    if any(_is_removed_module(module) for module in scan.imported_modules):
        return True
    for module, level, names in scan.from_imports:
        if not level and module and (_is_removed_module(module) or module == "numpy" and not ATTRIBUTES.isdisjoint(names)):
            return True
    owners = {owner for name in ATTRIBUTES for owner in scan.attribute_owners.get(name, ()) if owner}
    numpy_names = scan.names_bound_to(_NUMPY)
    if scan.star_import:  # a star binds what the file's top-level imports left unbound
        numpy_names |= owners - scan.top_level_imported()
    return not owners.isdisjoint(numpy_names)


def _is_removed_module(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in REMOVED_MODULES)
