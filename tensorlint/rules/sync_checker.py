"""Finds host syncs and graph retention that run every step of a step loop (as the shared analysis sees them)."""
from __future__ import annotations

import builtins
from typing import Optional

import libcst as cst

from ..analysis import YES, Facts, dotted_name
from ..diagnostics import Fix, Safety
from .base import FamilyChecker
from .conversion_checker import NUMPY_NON_SINKS, PLOT_FUNCTIONS, STRUCTURAL_KEYWORDS

_SCALAR_BUILTINS = frozenset({"float", "int", "bool"})
_VIEWS = frozenset({"view", "reshape", "squeeze", "unsqueeze", "flatten", "float", "double", "long", "int", "contiguous"})

CONVERSION = ("converting a tensor that may be on an accelerator to NumPy copies it to the host every step (once "
              "`.cpu()` makes it run there): collect on the device and convert once after the loop")
ACCUMULATE = "accumulate on the device (`running += loss.detach()`) and convert once after the loop or under the logging guard"


class SyncChecker(FamilyChecker):
    triggers = ("backward", ".step(", "oader", "range(", "while ")

    def _active(self) -> bool:
        return self.semantic.imports.imports_torch and self.semantic.step_loop() is not None

    def _on_device(self, expression: cst.BaseExpression) -> Optional[Facts]:
        facts = self.semantic.facts(expression)
        return facts if facts.tensor is YES and facts.device.possible else None

    # -- TL401 / TL402 / TL403 ------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        if not self._active():
            return
        func = node.func
        if isinstance(func, cst.Attribute):
            name = func.attr.value
            if name in ("item", "tolist") and not node.args and self._on_device(func.value):
                self._report("TL401", node, f"`.{name}()` waits for the accelerator every step: {ACCUMULATE}")
            elif (name == "cpu" and not node.args or name == "to" and _to_cpu(node)) and (
                    self._on_device(func.value) or self._converted_on_device(func.value)):
                shown = ".cpu()" if name == "cpu" else '.to("cpu")'
                self._report("TL402", node, f"`{shown}` copies to the host "
                             "every step: collect on the device (`torch.cat`/`torch.stack` the list) and move once "
                             "after the loop")
            elif name == "numpy" and _forced(node) and self._on_device(func.value):
                self._report("TL402", node, "`.numpy(force=True)` copies to the host every step: collect on the "
                             "device and convert once after the loop")
            elif name == "numpy" and not node.args and self._possibly_on_device(func.value):
                self._report("TL402", node, CONVERSION)  # the copy its TL102 fix spells `.cpu()`, at the same place
            elif _converts(self.semantic.qualified(func) or ""):
                self._report_converted(node)
            elif self.semantic.qualified(func) == "torch.cuda.synchronize":
                if not self.semantic.step_loop().is_timing:
                    self._report("TL403", node, "`torch.cuda.synchronize()` every step stalls the pipeline: drop it "
                                 "(keep it only in timing code, next to the clock reads)")
        elif isinstance(func, cst.Name) and self._is_builtin(func.value):
            positional = [a for a in node.args if a.keyword is None]
            if func.value in _SCALAR_BUILTINS and len(positional) == 1 and self._on_device(positional[0].value):
                self._report("TL401", node, f"`{func.value}(tensor)` waits for the accelerator every step: {ACCUMULATE}")
            elif func.value == "print" and any(self._on_device(a.value) for a in positional):
                self._report("TL402", node, "`print(tensor)` copies to the host every step: print under a logging "
                             "guard (`if step % log_every == 0:`)")

    def visit_FormattedStringExpression(self, node: cst.FormattedStringExpression) -> None:
        if self._active() and self._on_device(node.expression) and not self._only_on_failure():
            self._report("TL401", node, f"formatting a tensor in an f-string waits for the accelerator every step: "
                         f"format under a logging guard, or {ACCUMULATE}")

    def visit_If(self, node: cst.If) -> None:
        if not self._active():
            return
        for tested in _truth_tested(node.test):  # `if t:`, `if not torch.isnan(t):`, `if a and t:`
            if self._on_device(tested):
                self._report("TL401", tested, "a tensor as an `if` condition waits for the accelerator every step: "
                             "keep the decision on the device (`torch.where`) or check it under a logging guard")

    def visit_While(self, node: cst.While) -> None:
        runs_per_step = self.semantic.loop_info(node).is_step or self.semantic.step_loop() is not None
        if self.semantic.imports.imports_torch and runs_per_step and self._on_device(node.test):
            self._report("TL401", node.test, "a tensor as a `while` condition waits for the accelerator every step: "
                         "test it every N steps instead")

    # -- TL404 ----------------------------------------------------------------------------------
    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if not isinstance(node.operator, (cst.AddAssign, cst.SubtractAssign)):
            return
        for value, fixable in self._accumulated(node.value):
            if self._retains_graph(value, node.target):
                self._report("TL404", node, f"`{self._code(node.target)} += ...` keeps every step's autograd graph "
                             "alive (memory grows each step): accumulate `.detach()`ed values",
                             self._detach_fix(value) if fixable else None)

    def visit_Assign(self, node: cst.Assign) -> None:
        """`total = total + loss`: the same accumulation as `total += loss`."""
        if len(node.targets) != 1 or not isinstance(node.value, cst.BinaryOperation):
            return
        target, value = node.targets[0].target, node.value
        name = dotted_name(target)
        if name is None or not isinstance(value.operator, (cst.Add, cst.Subtract)) or dotted_name(value.left) != name:
            return
        if self._retains_graph(value.right, target):
            self._report("TL404", node, f"`{name} = {name} + ...` keeps every step's autograd graph alive (memory "
                         "grows each step): accumulate `.detach()`ed values", self._detach_fix(value.right))

    def _accumulated(self, value: cst.BaseExpression):
        """The values `+=` adds: the value itself, or each element of a list/tuple display (`xs += [loss]`)."""
        if isinstance(value, (cst.List, cst.Tuple)):
            for element in value.elements:
                if not isinstance(element, cst.StarredElement):
                    yield element.value, True
        else:
            yield value, True

    def visit_Expr(self, node: cst.Expr) -> None:
        call = node.value
        if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)) or not call.args:
            return
        method, owner = call.func.attr.value, call.func.value
        if method == "append" or method == "insert" and len(call.args) == 2:
            stored = [(call.args[-1].value, True)]
        elif method == "extend" and len(call.args) == 1:
            stored = list(self._accumulated(call.args[0].value))
        else:
            return
        for value, fixable in stored:
            if isinstance(value, (cst.List, cst.Tuple)):  # `xs.append((loss, step))`
                stored.extend(self._accumulated(value))
                continue
            if self._retains_graph(value, owner):
                self._report("TL404", call, f"`{self._code(owner)}.{method}(...)` keeps every step's autograd graph "
                             f"alive (memory grows each step): {method} `.detach()`ed values",
                             self._detach_fix(value) if fixable else None)

    def _retains_graph(self, value: cst.BaseExpression, accumulator: cst.BaseExpression) -> bool:
        loop = self.semantic.step_loop()
        if not self._active() or not self.semantic.grad_enabled or not loop.trains_or_reads_data:
            return False
        facts = self.semantic.facts(value)
        if facts.tensor is not YES or not facts.grad.possible:
            return False
        name = dotted_name(accumulator)
        # kept for a later backward, the graph is the point; made anew each step, nothing accumulates
        return name is not None and not self.semantic.feeds_backward(name) and self.semantic.outlives_step(accumulator)

    def _detach_fix(self, value: cst.BaseExpression) -> Optional[Fix]:
        context = self.context
        # detach before a trailing host move: `out.cpu()` → `out.detach().cpu()` (the canonical order)
        base = value
        while _is_host_move(base) and not base.lpar:
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

    # -- helpers --------------------------------------------------------------------------------
    def _converted_on_device(self, receiver: cst.BaseExpression) -> bool:
        """`x.cpu().numpy()` (views and subscripts between): the `.numpy()` says `x` is a tensor, as TL101/TL102
        read it, so an `x` of unknown kind that may be on an accelerator counts. TL101's fix inserts `.detach()`,
        which tells the analysis the same; judged this way, the fix does not turn a copy into a finding."""
        ancestors = self.semantic.ancestors
        index = len(ancestors) - 1
        while index >= 2:
            node, parent, grandparent = ancestors[index], ancestors[index - 1], ancestors[index - 2]
            if isinstance(parent, cst.Subscript) and parent.value is node:
                index -= 1
            elif (isinstance(parent, cst.Attribute) and parent.value is node and isinstance(grandparent, cst.Call)
                  and grandparent.func is parent and parent.attr.value in _VIEWS):
                index -= 2
            else:
                break
        parent, grandparent = ancestors[index - 1], ancestors[index - 2]
        if not (isinstance(parent, cst.Attribute) and parent.attr.value == "numpy" and isinstance(grandparent, cst.Call)
                and grandparent.func is parent and not grandparent.args):
            return False
        return self._possibly_on_device(receiver)

    def _possibly_on_device(self, value: cst.BaseExpression) -> bool:
        """What `.numpy()` converts is a tensor (TL101/TL102 read it so): one that may be on an accelerator?"""
        facts = self.semantic.facts(value)
        return facts.tensor.possible and facts.device.possible

    def _report_converted(self, call: cst.Call) -> None:
        """The tensors that `np.concatenate([a, b])`, `roc_auc_score(y, p)` or `plt.plot(t)` convert: where
        TL102's fix passes `.detach().cpu()`."""
        for arg in call.args:
            if arg.star or arg.keyword is not None and arg.keyword.value in STRUCTURAL_KEYWORDS:
                continue
            values = [arg.value]
            if isinstance(arg.value, (cst.List, cst.Tuple)):
                values = [e.value for e in arg.value.elements if not isinstance(e, cst.StarredElement)]
            for value in values:
                if self._on_device(value):
                    self._report("TL402", value, CONVERSION)

    def _only_on_failure(self) -> bool:
        """Inside an `assert` message or a `raise`: evaluated only when something already went wrong."""
        ancestors = self.semantic.ancestors
        for index in range(len(ancestors) - 1, 0, -1):
            ancestor = ancestors[index]
            if isinstance(ancestor, cst.Raise):
                return True
            if isinstance(ancestor, cst.Assert):
                return ancestors[index + 1] is ancestor.msg
            if isinstance(ancestor, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
                return False
        return False

    def _report(self, code: str, node: cst.CSTNode, message: str, fix: Optional[Fix] = None) -> None:
        if self.wants(code):
            self.context.report(code, node, message, fix)

    def _is_builtin(self, name: str) -> bool:
        frame = self.semantic.frame
        return hasattr(builtins, name) and name not in frame.env and name not in frame.globals \
            and name not in self.semantic.imports.names

    def _code(self, node: cst.CSTNode) -> str:
        return self.context.code(node)


def _is_host_move(node: cst.BaseExpression) -> bool:
    return (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
            and (node.func.attr.value == "cpu" and not node.args or node.func.attr.value == "to" and _to_cpu(node)))


def _to_cpu(node: cst.Call) -> bool:
    return len(node.args) >= 1 and isinstance(node.args[0].value, cst.SimpleString) \
        and node.args[0].value.evaluated_value == "cpu"


def _converts(qualified: str) -> bool:
    """Does this function convert its tensor arguments to NumPy (as the conversion family reads them)?"""
    last = qualified.rsplit(".", 1)[-1]
    return (qualified.startswith("numpy.") and last not in NUMPY_NON_SINKS
            or qualified.startswith("sklearn.metrics.") and last[:1].islower()
            or qualified.startswith("matplotlib.pyplot.") and last in PLOT_FUNCTIONS)


def _forced(node: cst.Call) -> bool:
    return any(a.keyword is not None and a.keyword.value == "force" for a in node.args)


def _truth_tested(test: cst.BaseExpression):
    """The operands whose truth value an `if` takes: through `not` and `and`/`or`."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        yield from _truth_tested(test.expression)
    elif isinstance(test, cst.BooleanOperation):
        yield from _truth_tested(test.left)
        yield from _truth_tested(test.right)
    else:
        yield test
