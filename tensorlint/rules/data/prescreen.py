"""TL2's necessary condition, on the file's `ast` (rules/prescreen.py runs it; analysis/ast_scan.py reads the file).

Soundness. `DataChecker` reports only from `visit_Attribute`, on an attribute named `data` whose value is
known to be a tensor (a finding a conversion hands over is reported at that `.data` too). In libcst a dotted
module in an import (`import a.data`, `from a.data import b`) is made of Attribute nodes as well; their value
(`a`) is looked up like any name, and only a name the file binds other than by importing it can hold a
tensor (an import binds a module), so those count when the file binds `a` so (or has a star import).
"""
from __future__ import annotations

from typing import Set

from tensorlint.analysis.ast_scan import FileScan

ATTRIBUTES = frozenset({"data"})
METHODS: frozenset = frozenset()


def may_report(scan: FileScan) -> bool:
    return "data" in scan.attribute_owners or _data_import_may_read_a_tensor(scan)


def _data_import_may_read_a_tensor(scan: FileScan) -> bool:
    """In `import a.data` libcst sees an Attribute whose value `a` is looked up like any name; it can be
    a tensor only where the file binds `a` other than by importing it (`import a...` binds a module)."""
    heads: Set[str] = set()
    for dotted in (*scan.imported_modules, *(module for module, _, _ in scan.from_imports)):
        parts = dotted.split(".")
        if "data" in parts[1:]:
            heads.add(parts[0])
    if not heads:
        return False
    bound = scan.names_bound_but_by_imports()
    return bound is None or not heads.isdisjoint(bound)
