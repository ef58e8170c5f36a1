"""What outlives a training step: which names feed a later `backward`, and which accumulators survive the step.

Keeping a value that requires grad keeps its whole autograd graph. That is the point when the value is
backpropagated later (`losses.append(loss)` then `sum(losses).backward()`, or `accelerator.backward(l)`
for each `l` in the list), and harmless when the accumulator itself is made anew every step (`outs = []`
inside the step loop, or a list local to a helper called once per step). Only what survives the step and
is never backpropagated grows memory step after step.
"""
from __future__ import annotations

from typing import List, Set, Tuple

import libcst as cst

from tensorlint.analysis.imports import dotted_name
from tensorlint.analysis.index import bound_names, drives_backward
from tensorlint.analysis.walk import walk

_BACKWARD_DRIVER_FUNCTIONS = frozenset({"torch.autograd.backward", "autograd.backward", "torch.autograd.grad",
                                        "autograd.grad"})


def names_reaching_backward(scope: cst.CSTNode) -> Set[str]:
    """Names read by what `scope` backpropagates (`x.backward()`, `accelerator.backward(x)`,
    `torch.autograd.backward(x)`), closed over the assignments and loops that feed them."""
    collector = _Collector()
    walk(scope, collector)
    roots: Set[str] = set()
    for receiver in collector.receivers:
        roots |= names_in(receiver)
    changed = True
    while changed:
        changed = False
        for targets, value in collector.flows:
            if any(name in roots for target in targets for name in names_in(target)):
                new = names_in(value) - roots
                if new:
                    roots |= new
                    changed = True
    return roots


class _Collector(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.receivers: List[cst.BaseExpression] = []
        self.flows: List[Tuple[List[cst.BaseExpression], cst.BaseExpression]] = []

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("backward", "manual_backward"):
            # `loss.backward()`; `accelerator.backward(loss)` / `self.manual_backward(loss)` take the loss
            self.receivers.append(node.args[0].value if node.args and func.attr.value == "manual_backward"
                                  or node.args and drives_backward(func.value) else func.value)
        elif dotted_name(func) in _BACKWARD_DRIVER_FUNCTIONS and node.args:
            self.receivers.append(node.args[0].value)

    def visit_Assign(self, node: cst.Assign) -> None:
        self.flows.append(([t.target for t in node.targets], node.value))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.flows.append(([node.target], node.value))

    def visit_For(self, node: cst.For) -> None:
        self.flows.append(([node.target], node.iter))


def names_in(node: cst.CSTNode) -> Set[str]:
    """Every name and dotted path read in `node`."""
    names: Set[str] = set()

    class Names(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            names.add(name.value)

        def visit_Attribute(self, attribute: cst.Attribute) -> None:
            path = dotted_name(attribute)
            if path is not None:
                names.add(path)

    walk(node, Names())
    return names


def names_reset_in(loop_body: cst.CSTNode) -> Set[str]:
    """Names a loop body binds afresh each iteration (`outs = []`, `total = 0`, `x = f()` that does not read
    `x`): an accumulator among them lives one iteration only. Nested functions and classes aside."""
    reset: Set[str] = set()

    class Bindings(cst.CSTVisitor):
        def visit_FunctionDef(self, node) -> bool:
            return False

        visit_ClassDef = visit_Lambda = visit_FunctionDef

        def visit_Assign(self, node: cst.Assign) -> None:
            read = names_in(node.value)
            for target in node.targets:
                reset.update(name for name in bound_names(target.target) if name not in read)
                path = dotted_name(target.target) if isinstance(target.target, cst.Attribute) else None
                if path is not None and path not in read:
                    reset.add(path)  # `self.loss = self._make_empty_loss()`: the attribute is made anew

    walk(loop_body, Bindings())
    return reset
