"""TL503: a tensor sharing a NumPy buffer that its loop refills in place, kept across iterations."""
from __future__ import annotations

import libcst as cst

from tensorlint.analysis.aliasing import kept_shared_tensor
from tensorlint.analysis.facts import CREATED_BY, Evidence
from tensorlint.core.diagnostics import Fix, Safety
from tensorlint.rules.base import FamilyChecker
from tensorlint.rules.silent.rules import RefilledBufferKept


class BufferReuseChecker(FamilyChecker):
    rules = (RefilledBufferKept,)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._cache: dict = {}  # the analysis' per-scope and per-loop facts, for this file

    def visit_Call(self, node: cst.Call) -> None:
        if not self.wants(RefilledBufferKept):
            return
        found = kept_shared_tensor(node, self.semantic.ancestors, self.semantic.qualified, self._cache)
        if found is None:
            return
        context = self.context
        buffer = node.args[0].value
        origin = Evidence(CREATED_BY, found.created).describe(context)
        refill_line = context.span(found.refill)[0]
        kept_line = context.span(found.kept)[0]
        message = (f"`{context.code(node.func)}({found.buffer})` shares memory with the NumPy array `{found.buffer}`, "
                   f"which {origin} outside the loop; the loop refills it in place ({found.refill_shown}, "
                   f"line {refill_line}) and keeps the tensor ({found.kept_shown}, line {kept_line}): every kept "
                   f"tensor ends up holding the last values")
        end = context.end_with_parentheses(buffer)
        edit = context.edit(end, end, ".copy()")
        fix = Fix(f"Pass `{found.buffer}.copy()`", (edit,), Safety.SAFE) if edit is not None else None
        self.report(RefilledBufferKept, node, message, fix)
