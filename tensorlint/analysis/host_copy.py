"""Where a host copy of a tensor goes within a function or a loop body, in the order its statements run.

A host copy is a value moved to the host (`.cpu()`, `.to("cpu")`) and turned into NumPy or Python values.
Names carry the copy's value forward (assignments from it, `+=` into a name, `for` targets over it, the
containers it is stored in or appended to). Per-function facts of provenance: the TL4 checker asks them
of the code it walks, and project summaries record them (`returns_host_copy`) for other modules.
"""
from __future__ import annotations

from typing import List, Optional, Set

import libcst as cst

from tensorlint.analysis.walk import walk


def node_ids(expression: cst.CSTNode) -> Set[int]:
    found: Set[int] = set()

    class Nodes(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            found.add(id(node))
            return True

    walk(expression, Nodes())
    return found


def names_in(expression: cst.BaseExpression) -> List[cst.Name]:
    found: List[cst.Name] = []

    class Names(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            found.append(node)

    walk(expression, Names())
    return found


def is_host_move(node: cst.BaseExpression) -> bool:
    return (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
            and (node.func.attr.value == "cpu" and not node.args or node.func.attr.value == "to" and to_cpu(node)))


def to_cpu(node: cst.Call) -> bool:
    return len(node.args) >= 1 and isinstance(node.args[0].value, cst.SimpleString) \
        and node.args[0].value.evaluated_value == "cpu"


def root_name(expression: cst.BaseExpression) -> Optional[str]:
    while isinstance(expression, (cst.Subscript, cst.Attribute)):
        expression = expression.value
    return expression.value if isinstance(expression, cst.Name) else None


def reads(expression: Optional[cst.CSTNode], tainted: Set[str]) -> bool:
    return expression is not None and any(n.value in tainted for n in names_in(expression))


def bound_by_target(target: cst.BaseExpression) -> Set[str]:
    """The names a `for` or assignment target binds: `a`, and every name of `a, b[i]`; none for `x.a`, `x[i]`."""
    return {n.value for n in names_in(target)} if isinstance(target, (cst.Name, cst.Tuple, cst.List)) else set()


def bound_targets(statement: cst.CSTNode) -> Set[str]:
    if isinstance(statement, cst.Assign):
        return set().union(*(bound_by_target(t.target) for t in statement.targets))
    if isinstance(statement, (cst.AugAssign, cst.AnnAssign)):
        return bound_by_target(statement.target)
    return set()


def in_order(body: cst.CSTNode):
    """The small statements and `for` heads of a loop body, in the order they run (branches one after another;
    nested functions and classes left out)."""
    events = []

    class Order(cst.CSTVisitor):
        def visit_For(self, node: cst.For) -> None:
            events.append(node)

        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
            events.extend(node.body)
            return False

        def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> bool:
            events.extend(node.body)
            return False

        def visit_FunctionDef(self, node) -> bool:
            return False

        visit_ClassDef = visit_Lambda = visit_FunctionDef

    walk(body, Order())
    return events


_COLLECTORS = frozenset({"append", "extend", "insert", "add", "update", "setdefault"})


def carries(expression: Optional[cst.CSTNode], tainted: Set[str], copy: Optional[cst.CSTNode]) -> bool:
    return expression is not None and (reads(expression, tainted) or copy is not None and id(copy) in node_ids(
        expression))


def spread(event: cst.CSTNode, tainted: Set[str], copy: Optional[cst.CSTNode]) -> None:
    """The names `event` binds from what is tainted: targets of an assignment from it (`d["boxes"] = ...`
    taints `d`), `for` targets over it, containers it is appended to (`out.append(pred)` taints `out`)."""
    if isinstance(event, cst.For):
        if carries(event.iter, tainted, copy):
            tainted |= {n.value for n in names_in(event.target)}
        return
    if isinstance(event, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
        targets = [t.target for t in event.targets] if isinstance(event, cst.Assign) else [event.target]
        stored = [t for t in targets if isinstance(t, (cst.Subscript, cst.Attribute))]
        if carries(event.value, tainted, copy):
            tainted |= bound_targets(event)
        elif not any(isinstance(t, cst.Subscript) and any(carries(e, tainted, copy) for e in t.slice)
                     for t in stored):
            return  # (`counts[idx.cpu()] += 1` stores by the host value)
        tainted |= {root for t in stored for root in (root_name(t),) if root is not None and root != "self"}
    for call in calls_in(event):
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in _COLLECTORS and any(
                carries(arg.value, tainted, copy) for arg in call.args):
            root = root_name(func.value)
            if root is not None and root != "self":
                tainted.add(root)


def calls_in(event: cst.CSTNode):
    found = []

    class Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            found.append(node)

        def visit_FunctionDef(self, node) -> bool:
            return False

        visit_Lambda = visit_ClassDef = visit_FunctionDef

    if not isinstance(event, cst.For):
        walk(event, Calls())
    return found


def returned(function: cst.FunctionDef, copy: cst.CSTNode, statement: cst.CSTNode) -> bool:
    """Does the host value `copy` makes reach a `return` of `function` (directly, or through the names,
    lists and dicts it is stored in)?"""
    tainted: Set[str] = set()
    started = False
    for event in in_order(function.body):
        if event is statement:
            started = True
        if not started:
            continue
        if isinstance(event, cst.Return) and carries(event.value, tainted, copy if event is statement else None):
            return True
        spread(event, tainted, copy if event is statement else None)
    return False


def returns_host_copy(function: cst.FunctionDef) -> bool:
    """Does `function` return a host copy of a tensor: a value `.cpu()` (or `.to("cpu")`) moved to the host
    and turned into NumPy or Python values (`x.grad.cpu().numpy()`, `.cpu().tolist()`), reaching a `return`
    directly or through the names it is stored in? The move says the tensor may be on an accelerator; every
    call that takes this path waits for the device and copies its result to the host."""
    for statement in in_order(function.body):
        for copy in _host_copies(statement):
            if returned(function, copy, statement) and _on_host_input_path(function, statement):
                return True
    return False


def _on_host_input_path(function: cst.FunctionDef, statement: cst.CSTNode) -> bool:
    """Does every call given host data reach `statement`? The tests it sits under, and those of the earlier
    `if ...: return` it comes after, may only test a parameter's type (`isinstance(x, torch.Tensor)`, or a
    name bound to that test); a branch left by `raise` is the failure path and counts as no choice. A copy
    on one configured path (`if not self.preprocessing: return x`) says nothing of every call."""
    path = _path_to(function, statement)
    if path is None:
        return False
    params = {p.name.value for p in (*function.params.posonly_params, *function.params.params,
                                     *function.params.kwonly_params)}
    type_names = _type_test_names(function, params)
    for parent, child in zip(path, path[1:]):
        if isinstance(parent, (cst.ExceptHandler, cst.ExceptStarHandler)):
            return False  # (the failure path of a `try`)
        if isinstance(parent, cst.If) and child is not parent.test:
            other = parent.orelse if child is parent.body else parent.body
            if not (_tests_type(parent.test, params, type_names) or other is not None and _ends_in(other, cst.Raise)):
                return False
        elif isinstance(parent, cst.IndentedBlock) and child in parent.body:
            for earlier in parent.body[:parent.body.index(child)]:
                if isinstance(earlier, cst.If) and (_ends_in(earlier.body, cst.Return) or earlier.orelse is not None
                                                    and _ends_in(earlier.orelse, cst.Return)) and not _tests_type(
                        earlier.test, params, type_names):
                    return False
    return True


def _path_to(root: cst.CSTNode, target: cst.CSTNode) -> Optional[list]:
    stack, found = [], []

    class Path(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            stack.append(node)
            if node is target:
                found.append(list(stack))
            return not found and not isinstance(node, (cst.Lambda, cst.ClassDef)) and (
                node is root or not isinstance(node, cst.FunctionDef))

        def on_leave(self, original_node: cst.CSTNode) -> None:
            stack.pop()

    walk(root, Path())
    return found[0] if found else None


def _ends_in(block: Optional[cst.CSTNode], kind) -> bool:
    if isinstance(block, cst.Else):
        block = block.body
    if isinstance(block, cst.If):  # `elif`: every branch must end so
        return _ends_in(block.body, kind) and block.orelse is not None and _ends_in(block.orelse, kind)
    last = block.body[-1] if isinstance(block, cst.IndentedBlock) and block.body else None
    return isinstance(last, cst.SimpleStatementLine) and bool(last.body) and isinstance(last.body[-1], kind)


def _type_test(test: cst.BaseExpression, params: Set[str]) -> bool:
    return isinstance(test, cst.Call) and isinstance(test.func, cst.Name) and test.func.value == "isinstance" \
        and bool(test.args) and isinstance(test.args[0].value, cst.Name) and test.args[0].value.value in params


def _type_test_names(function: cst.FunctionDef, params: Set[str]) -> Set[str]:
    """Names the function binds to a parameter's type test: `input_is_tensor = isinstance(x, torch.Tensor)`."""
    return {name for event in in_order(function.body) if isinstance(event, cst.Assign)
            and _type_test(event.value, params) for name in bound_targets(event)}


def _tests_type(test: cst.BaseExpression, params: Set[str], names: Set[str]) -> bool:
    while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        test = test.expression
    return _type_test(test, params) or isinstance(test, cst.Name) and test.value in names


def _host_copies(statement: cst.CSTNode):
    for call in calls_in(statement):
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("numpy", "tolist", "item") and not call.args:
            receiver = func.value
            while isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Attribute):
                if is_host_move(receiver):
                    yield call
                    break
                receiver = receiver.func.value
