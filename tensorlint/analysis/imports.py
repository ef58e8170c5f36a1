"""Which local names mean which modules: `np` → numpy, `nn` → torch.nn, `f` → numpy.float."""
from __future__ import annotations

from typing import Dict, Iterable, Optional

import libcst as cst

OTHER_ARRAY_FRAMEWORKS = ("tensorflow", "jax", "cupy", "mxnet", "paddle", "keras", "mindspore", "oneflow")


def dotted_name(node: cst.BaseExpression) -> Optional[str]:
    """`a.b.c` → "a.b.c"; None for anything that is not a plain dotted name."""
    parts = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


class ImportMap:
    def __init__(self) -> None:
        self.names: Dict[str, str] = {}
        self.top_level_modules: set = set()

    def record(self, stmt: cst.CSTNode) -> None:
        if isinstance(stmt, cst.Import):
            for alias in stmt.names:
                full = dotted_name(alias.name)
                if full is None:
                    continue
                self.top_level_modules.add(full.split(".")[0])
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self.names[alias.asname.name.value] = full
                else:
                    top = full.split(".")[0]
                    self.names[top] = top
        elif isinstance(stmt, cst.ImportFrom):
            if stmt.relative or stmt.module is None:
                return
            module = dotted_name(stmt.module)
            if module is None:
                return
            self.top_level_modules.add(module.split(".")[0])
            if isinstance(stmt.names, cst.ImportStar):
                return
            for alias in stmt.names:
                if not isinstance(alias.name, cst.Name):
                    continue
                local = alias.name.value
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    local = alias.asname.name.value
                self.names[local] = f"{module}.{alias.name.value}"

    def record_all(self, statements: Iterable[cst.CSTNode]) -> None:
        """Record imports of a statement list, looking into top-level if/try blocks (optional imports)."""
        for stmt in statements:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    self.record(small)
            elif isinstance(stmt, (cst.If, cst.Try, cst.TryStar)):
                self.record_all(_blocks_of(stmt))

    def forget(self, local: str) -> None:
        self.names.pop(local, None)

    def qualified(self, node: cst.BaseExpression) -> Optional[str]:
        """Fully qualified name of an expression that is an imported name, e.g. `np.linalg.norm`."""
        dotted = dotted_name(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        module = self.names.get(head)
        if module is None:
            return None
        return f"{module}.{rest}" if rest else module

    @property
    def imports_torch(self) -> bool:
        return "torch" in self.top_level_modules

    @property
    def imports_other_array_framework(self) -> bool:
        return any(m in self.top_level_modules for m in OTHER_ARRAY_FRAMEWORKS)

    @property
    def torch_only(self) -> bool:
        """The file imports torch and no other array framework with a `.numpy()` of its own."""
        return self.imports_torch and not self.imports_other_array_framework

    @property
    def numpy_method_is_not_torch(self) -> bool:
        """`.numpy()` here belongs to TensorFlow/JAX: the file imports them and not torch."""
        return self.imports_other_array_framework and not self.imports_torch


def _blocks_of(stmt) -> Iterable[cst.CSTNode]:
    body = getattr(stmt, "body", None)
    if body is not None:
        yield from getattr(body, "body", ())
    for handler in getattr(stmt, "handlers", ()) or ():
        yield from handler.body.body
    for attr in ("orelse", "finalbody"):
        extra = getattr(stmt, attr, None)
        if extra is None:
            continue
        if isinstance(extra, cst.If):
            yield extra
        else:
            yield from getattr(extra.body, "body", ())
