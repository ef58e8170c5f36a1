"""TL404's syntax and fix: where a value is accumulated across steps, and the edit that detaches it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Optional, Tuple

import libcst as cst

from tensorlint.analysis.host_copy import is_host_move
from tensorlint.analysis.imports import dotted_name
from tensorlint.core.context import SourceContext
from tensorlint.core.diagnostics import Fix, Safety


@dataclass(frozen=True)
class Accumulation:
    """`total += loss`, `total = total + loss`, `losses.append(loss)`: `value` added to `accumulator`."""
    at: cst.CSTNode                    # the statement or call reported
    accumulator: cst.BaseExpression
    value: cst.BaseExpression
    fixable: bool                      # a fix may detach the value (not one element of several in a display)
    verb: str                          # what the message asks to do with `.detach()`ed values

    def shown(self, code: Callable[[cst.CSTNode], str]) -> str:
        if isinstance(self.at, cst.AugAssign):
            return f"`{code(self.accumulator)} += ...`"
        if isinstance(self.at, cst.Assign):
            name = dotted_name(self.accumulator)
            return f"`{name} = {name} + ...`"
        return f"`{code(self.accumulator)}.{self.verb}(...)`"


def accumulations(node: cst.CSTNode) -> Iterator[Accumulation]:
    """The accumulations a statement makes: `+=`/`-=`, `x = x + ...`/`x - ...`, and a list's `append`,
    `insert` or `extend` called as a statement (each element of a tuple or list it is given on its own)."""
    if isinstance(node, cst.AugAssign):
        if isinstance(node.operator, (cst.AddAssign, cst.SubtractAssign)):
            for value, fixable in accumulated(node.value):
                yield Accumulation(node, node.target, value, fixable, "accumulate")
    elif isinstance(node, cst.Assign):
        if len(node.targets) != 1 or not isinstance(node.value, cst.BinaryOperation):
            return
        target, value = node.targets[0].target, node.value
        name = dotted_name(target)
        if name is not None and isinstance(value.operator, (cst.Add, cst.Subtract)) and dotted_name(value.left) == name:
            yield Accumulation(node, target, value.right, True, "accumulate")
    elif isinstance(node, cst.Expr):
        call = node.value
        if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)) or not call.args:
            return
        method, owner = call.func.attr.value, call.func.value
        if method == "append" or method == "insert" and len(call.args) == 2:
            stored = [(call.args[-1].value, True)]
        elif method == "extend" and len(call.args) == 1:
            stored = list(accumulated(call.args[0].value))
        else:
            return
        for value, fixable in stored:
            if isinstance(value, (cst.List, cst.Tuple)):  # `xs.append((loss, step))`
                stored.extend(accumulated(value))
                continue
            yield Accumulation(call, owner, value, fixable, method)


def accumulated(value: cst.BaseExpression) -> Iterator[Tuple[cst.BaseExpression, bool]]:
    """The values `+=` adds, each with whether a fix may detach it: the value itself, or each element of a
    list/tuple display (`xs += [loss]`)."""
    if isinstance(value, (cst.List, cst.Tuple)):
        for element in value.elements:
            if not isinstance(element, cst.StarredElement):
                yield element.value, True
    else:
        yield value, True


def detach_fix(context: SourceContext, value: cst.BaseExpression) -> Optional[Fix]:
    """Accumulate `value.detach()`; before a trailing host move, `out.detach().cpu()` (the canonical order)."""
    base = value
    while is_host_move(base) and not base.lpar:
        base = base.func.value
    if base is not value:
        end = context.end_with_parentheses(base)
        edits = (context.edit(end, end, ".detach()"),)
    elif isinstance(value, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)) or value.lpar:
        edits = (context.edit(context.end_of(value), context.end_of(value), ".detach()"),)
    else:
        edits = (context.edit(context.start_of(value), context.start_of(value), "("),
                 context.edit(context.end_of(value), context.end_of(value), ").detach()"))
    if any(edit is None for edit in edits):
        return None
    return Fix("Accumulate `.detach()`", edits, Safety.SAFE)
