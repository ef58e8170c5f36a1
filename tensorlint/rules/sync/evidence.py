"""How a TL4 message names its evidence: one clause of why the value is on the accelerator (or requires grad)."""
from __future__ import annotations

from typing import Optional

import libcst as cst

from tensorlint.analysis.facts import Evidence, Facts
from tensorlint.analysis.host_copy import node_ids
from tensorlint.core.context import SourceContext

_SUBJECT_LIMIT = 30
# Evidence of a class that moved its own model or state to a device (`SyncChecker._trained_on_moved_model`).
REQUIRES_GRAD_WITH_MOVED_MODEL = "is computed from what requires grad, in a class that moves its state by `{code}`{line}"
FEEDS_LOSS_OF_MOVED_MODEL = "is computed from what feeds the backpropagated loss, in a class that moves its state by `{code}`{line}"
# In a per-step method of a framework that places the model (a LightningModule's `training_step`): what requires
# grad is computed from the placed parameters, so it is on the accelerator too.
REQUIRES_GRAD_PLACED_BY = ("requires grad in `{{code}}`{{line}}, which {framework} calls every step with the model "
                           "it placed on the accelerator")


def because(context: SourceContext, value: cst.BaseExpression, facts: Facts, why: Optional[Evidence] = None) -> str:
    """One clause of the value's evidence: "`loss` comes from `criterion(out, y)` (line 9)". Links that
    point inside the value itself (`model(x)` in `model(x).cpu()`) say nothing new: the first outside
    one is named, or the last one when all are inside."""
    inside = node_ids(value)
    link = why or facts.device_why
    skipped = False
    while link.cause is not None and link.node is not None and id(link.node) in inside:
        link, skipped = link.cause, True
    if skipped and link.node is not None:  # the link is about a part of the value: name the code only
        code = " ".join(context.code(link.node).split())
        return f"evidence: `{clipped(code)}` (line {context.span(link.node)[0]})"
    clause = Evidence(link.template, link.node).describe(context)  # one link of the chain only
    code = " ".join(context.code(operand(value)).split())
    return f"`{code}` {clause}" if len(code) <= _SUBJECT_LIMIT else f"it {clause}"


def shown_code(context: SourceContext, receiver: cst.BaseExpression, suffix: str) -> str:
    """`receiver` and `suffix` on one line (`loss.item()`), or the suffix alone when the receiver is long."""
    code = context.one_line(receiver, _SUBJECT_LIMIT)
    return code + suffix if code is not None else suffix


def clipped(code: str) -> str:
    return code if len(code) <= 50 else code[:47] + "..."


def operand(value: cst.BaseExpression) -> cst.BaseExpression:
    """What a test or an arithmetic expression is about: `loss` in `loss < 0.01`, `loss * n`, `not done`."""
    while True:
        if isinstance(value, cst.Comparison):
            value = value.left
        elif isinstance(value, cst.BinaryOperation):
            value = value.left
        elif isinstance(value, cst.UnaryOperation):
            value = value.expression
        else:
            return value
