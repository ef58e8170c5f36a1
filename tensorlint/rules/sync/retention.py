"""TL404's syntax and fix: the values an accumulation adds, and the edit that detaches one."""
from __future__ import annotations

from typing import Iterator, Optional, Tuple

import libcst as cst

from tensorlint.analysis.host_copy import is_host_move
from tensorlint.core.context import SourceContext
from tensorlint.core.diagnostics import Fix, Safety


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
