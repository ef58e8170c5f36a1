"""Module classes whose `__init__` freezes every parameter: a frozen feature extractor.

`for p in self.parameters(): p.requires_grad = False` (or `p.requires_grad_(False)`), or
`self.requires_grad_(False)`, as a statement of `__init__` itself (not under an `if`, a `try` or a loop of
its own) after the last statement that can add a parameter, leaves no parameter of an instance requiring
grad: its output then requires grad only where its input does. A statement that can add one is an
assignment to an attribute of `self` from a call, a `register_*`/`add_module` call, or a call of another
method of `self` (it may build layers); `super().__init__()` runs before and is covered.

Anything less certain (a freeze under `if freeze:`, over one submodule's parameters, or in another method)
does not count: the instance may still have parameters that require grad.
"""
from __future__ import annotations

from typing import Optional

import libcst as cst

from tensorlint.analysis.imports import dotted_name
from tensorlint.analysis.walk import walk

_ADDS_STATE = frozenset({"register_parameter", "register_module", "add_module", "register_buffer"})


def freezes_every_parameter(init: Optional[cst.FunctionDef]) -> bool:
    """Does this `__init__` end its parameter-building with a freeze of all of `self.parameters()`?"""
    if init is None or not isinstance(init.body, cst.IndentedBlock):
        return False
    frozen = False
    for statement in init.body.body:
        if _freezes(statement):
            frozen = True
        elif _may_add_parameters(statement):
            frozen = False
    return frozen


def _freezes(statement: cst.BaseStatement) -> bool:
    if isinstance(statement, cst.SimpleStatementLine):  # `self.requires_grad_(False)`
        return any(isinstance(small, cst.Expr) and _requires_grad_false_call(small.value, "self")
                   for small in statement.body)
    if not isinstance(statement, cst.For) or statement.orelse is not None:
        return False
    if not isinstance(statement.target, cst.Name) or not _all_parameters(statement.iter):
        return False
    name = statement.target.value
    body = statement.body.body if isinstance(statement.body, cst.IndentedBlock) else ()
    for line in body:
        for small in getattr(line, "body", ()) if isinstance(line, cst.SimpleStatementLine) else ():
            if isinstance(small, cst.Expr) and _requires_grad_false_call(small.value, name):
                return True
            if (isinstance(small, cst.Assign) and _is_false(small.value) and len(small.targets) == 1
                    and dotted_name(small.targets[0].target) == f"{name}.requires_grad"):
                return True
    return False


def _all_parameters(iterable: cst.BaseExpression) -> bool:
    """`self.parameters()`: every parameter of the instance (not one submodule's)."""
    return (isinstance(iterable, cst.Call) and not iterable.args
            and dotted_name(iterable.func) == "self.parameters")


def _requires_grad_false_call(value: cst.BaseExpression, receiver: str) -> bool:
    return (isinstance(value, cst.Call) and dotted_name(value.func) == f"{receiver}.requires_grad_"
            and len(value.args) == 1 and _is_false(value.args[0].value)
            and (value.args[0].keyword is None or value.args[0].keyword.value == "requires_grad"))


def _is_false(value: cst.BaseExpression) -> bool:
    return isinstance(value, cst.Name) and value.value == "False"


def _may_add_parameters(statement: cst.BaseStatement) -> bool:
    """An assignment of a call's result to `self.<x>`, a registration, or a call of a method of `self`
    (`super().__init__()` excepted: it runs first)."""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            nonlocal found
            if any(_on_self(t.target) for t in node.targets) and _calls(node.value):
                found = True

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            nonlocal found
            if _on_self(node.target) and node.value is not None and _calls(node.value):
                found = True

        def visit_Call(self, node: cst.Call) -> None:
            nonlocal found
            path = dotted_name(node.func) or ""
            if path.rsplit(".", 1)[-1] in _ADDS_STATE or (path.startswith("self.") and path.count(".") == 1):
                found = True

    walk(statement, Finder())
    return found


def _calls(value: cst.BaseExpression) -> bool:
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal found
            found = True

    walk(value, Finder())
    return found


def _on_self(target: cst.BaseExpression) -> bool:
    while isinstance(target, (cst.Attribute, cst.Subscript)):
        if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
            return True
        target = target.value
    return False
