"""Shapes of code the TL4 checker asks about: host moves, boolean masks, tested names, operands."""
from __future__ import annotations

from typing import List, Set

import libcst as cst


def clipped(code: str) -> str:
    return code if len(code) <= 50 else code[:47] + "..."


def node_ids(expression: cst.CSTNode) -> Set[int]:
    found: Set[int] = set()

    class Nodes(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            found.add(id(node))
            return True

    expression.visit(Nodes())
    return found


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


def names_tested_in(scope: cst.CSTNode) -> Set[str]:
    names: Set[str] = set()

    class Tests(cst.CSTVisitor):
        def visit_If(self, node: cst.If) -> None:
            names.update(n.value for n in names_in(node.test))

        def visit_While(self, node: cst.While) -> None:
            names.update(n.value for n in names_in(node.test))

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is scope

    scope.visit(Tests())
    return names


def names_in(expression: cst.BaseExpression) -> List[cst.Name]:
    found: List[cst.Name] = []

    class Names(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            found.append(node)

    expression.visit(Names())
    return found


def value_names(expression: cst.BaseExpression) -> List[cst.BaseExpression]:
    """The names and attribute paths an expression reads as values: `loss` and `self.total` in
    `torch.isfinite(loss) & self.total`, and `out` in `out.max()`, but not the methods called."""
    found: List[cst.BaseExpression] = []

    class Values(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> bool:
            if isinstance(node.func, cst.Attribute):
                node.func.value.visit(self)
            for arg in node.args:
                arg.visit(self)
            return False

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            found.append(node)
            return False

        def visit_Name(self, node: cst.Name) -> None:
            found.append(node)

    expression.visit(Values())
    return found


def is_mask(index: cst.BaseExpression) -> bool:
    """`x > 0`, `~done`, `(a > 0) & (b < 1)`, `m.bool()`: an index that selects by a boolean tensor."""
    if isinstance(index, cst.Comparison):
        return not any(isinstance(c.operator, (cst.Is, cst.IsNot, cst.In, cst.NotIn)) for c in index.comparisons)
    if isinstance(index, cst.UnaryOperation) and isinstance(index.operator, cst.BitInvert):
        return True
    if isinstance(index, cst.BinaryOperation) and isinstance(index.operator, (cst.BitAnd, cst.BitOr)):
        return is_mask(index.left) or is_mask(index.right)
    return isinstance(index, cst.Call) and isinstance(index.func, cst.Attribute) and index.func.attr.value == "bool"


def is_host_move(node: cst.BaseExpression) -> bool:
    return (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
            and (node.func.attr.value == "cpu" and not node.args or node.func.attr.value == "to" and to_cpu(node)))


def to_cpu(node: cst.Call) -> bool:
    return len(node.args) >= 1 and isinstance(node.args[0].value, cst.SimpleString) \
        and node.args[0].value.evaluated_value == "cpu"


def forced(node: cst.Call) -> bool:
    return any(a.keyword is not None and a.keyword.value == "force" for a in node.args)


def truth_tested(test: cst.BaseExpression):
    """The operands whose truth value an `if` takes: through `not` and `and`/`or`."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        yield from truth_tested(test.expression)
    elif isinstance(test, cst.BooleanOperation):
        yield from truth_tested(test.left)
        yield from truth_tested(test.right)
    else:
        yield test


_FAILURE_TESTS = {"isnan": False, "isinf": False, "isfinite": True}  # the name, and whether failure is its negation


def tests_for_failure(test: cst.BaseExpression) -> bool:
    """`torch.isnan(loss)`, `not torch.isfinite(loss)`, `torch.isnan(loss).any()`: a test that holds only when
    training already went wrong (the body handles a diverged step, not every step)."""
    negated = False
    while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        negated, test = not negated, test.expression
    if isinstance(test, cst.Call) and isinstance(test.func, cst.Attribute) and test.func.attr.value in ("any", "all") \
            and not test.args:
        test = test.func.value
    if not isinstance(test, cst.Call):
        return False
    func = test.func
    name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None
    return name in _FAILURE_TESTS and _FAILURE_TESTS[name] == negated


def exits_loop(node: cst.If) -> bool:
    """`if cond: break` / `return`: the loop leaves on the test, so it cannot run without its value."""
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else (node.body,)
    for line in body:
        statements = line.body if isinstance(line, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) else ()
        if any(isinstance(small, (cst.Break, cst.Return)) for small in statements):
            return True
    return False
