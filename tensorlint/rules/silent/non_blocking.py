"""TL502: a non-blocking device-to-host copy read on the host before a synchronisation (analysis/non_blocking.py)."""
from __future__ import annotations

from typing import Optional

import libcst as cst

from tensorlint.analysis.non_blocking import HostCopy, HostRead, first_host_read, host_copy
from tensorlint.core.diagnostics import Fix, Safety
from tensorlint.rules.base import FamilyChecker
from tensorlint.rules.silent.rules import NonBlockingHostRead


class NonBlockingChecker(FamilyChecker):
    rules = (NonBlockingHostRead,)

    def visit_Call(self, node: cst.Call) -> None:
        if not self.wants(NonBlockingHostRead) or not self.semantic.reachable:
            return
        semantic = self.semantic
        copy = host_copy(node, semantic.facts, semantic.ancestors, semantic.qualified)
        if copy is None:
            return
        read = first_host_read(copy, semantic.ancestors, semantic.facts, semantic.qualified)
        if read is not None:  # a fix edits the copy, so only where the read is in the copy's own statement
            fix = self._fix(copy) if not read.value else None
            self.report(NonBlockingHostRead, read.node, self._message(copy, read), fix)

    def _message(self, copy: HostCopy, read: HostRead) -> str:
        context = self.context
        what = f"`{read.value}`" if read.value else "its result"
        copy_text = _shortened(context.one_line(copy.call), 60)
        source = _shortened(context.one_line(copy.source), 40)
        if copy.source_why is not None:
            evidence = f"`{source}` {copy.source_why.describe(context)}"
        else:  # not shown: the code around the copy works with an accelerator
            evidence = (f"`{source}` is not shown on the host, and the code around the copy works with an accelerator: "
                        f"{copy.around.describe(context)}")
        return (f"{read.read} reads {what} on the host before any synchronisation, but the non-blocking copy "
                f"`{copy_text}` (line {context.span(copy.call)[0]}) may not have finished: stale values "
                f"({evidence}); synchronise first (`torch.cuda.synchronize()`, an event's `.synchronize()`) "
                f"or drop `non_blocking=True`")

    def _fix(self, copy: HostCopy) -> Optional[Fix]:
        """Drop `non_blocking=True`: the copy becomes blocking (same values, no overlap)."""
        args = copy.call.args
        index = next((i for i, arg in enumerate(args) if arg.keyword is not None
                      and arg.keyword.value == "non_blocking"), None)
        if index is None:
            return None
        context = self.context
        if index > 0:
            start, end = context.end_with_parentheses(args[index - 1].value), context.end_of(args[index].value)
        elif len(args) > 1:
            start, end = context.start_of(args[0]), context.start_of(args[1])
        else:
            return None
        edit = context.edit(start, end, "")
        return Fix("Drop `non_blocking=True` (a blocking copy)", (edit,), Safety.UNSAFE) if edit is not None else None


def _shortened(code: str, limit: int) -> str:
    """A long expression named in a message by its start (`x.view(ep, -1).sum(dim=1).to(torch.dev...`)."""
    return code if len(code) <= limit else code[:limit - 3] + "..."
