"""TL504: an in-place write through a NumPy view of a model's parameter or `state_dict()` tensor (analysis/views.py)."""
from __future__ import annotations

from typing import Optional

import libcst as cst

from tensorlint.analysis.views import ParameterView, ViewWrite, first_write, parameter_view
from tensorlint.core.diagnostics import Fix, Safety
from tensorlint.rules.base import FamilyChecker
from tensorlint.rules.silent.rules import WriteThroughParameterView


class ParameterViewChecker(FamilyChecker):
    rules = (WriteThroughParameterView,)

    def visit_Call(self, node: cst.Call) -> None:
        if not self.wants(WriteThroughParameterView) or not self.semantic.reachable:
            return
        semantic = self.semantic
        view = parameter_view(node, semantic.facts, semantic.qualified, semantic.ancestors)
        if view is None:
            return
        write = first_write(view, semantic.ancestors, semantic.qualified)
        if write is not None:
            self.report(WriteThroughParameterView, node, self._message(view, write), self._fix(view))

    def _message(self, view: ParameterView, write: ViewWrite) -> str:
        context = self.context
        root = context.one_line(view.root, 40) or "the tensor"
        made = "`.numpy()`" if isinstance(view.view.func, cst.Attribute) else "`np.asarray(...)`"
        written = context.one_line(write.node, 40)
        where = f"`{written}`" if written else "the write"
        cpu = (" (`.cpu()` returns the same tensor here: the model is on the host)" if view.through_cpu else "")
        return (f"{made} makes a NumPy view of the {view.kind} `{root}`, which shares its memory{cpu}, and {where} "
                f"(line {context.span(write.node)[0]}) writes through it into the model's weights: copy the "
                f"array (`.copy()`) unless changing the model is the point")

    def _fix(self, view: ParameterView) -> Optional[Fix]:
        end = self.context.end_with_parentheses(view.view)
        edit = self.context.edit(end, end, ".copy()")
        return Fix("Copy the array (`.copy()`)", (edit,), Safety.UNSAFE) if edit is not None else None
