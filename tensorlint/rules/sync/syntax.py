"""Shapes of code the TL4 checker asks about: host moves, boolean masks, tested names, operands."""
from __future__ import annotations

from typing import List, Optional, Set

import libcst as cst

from tensorlint.analysis.host_copy import bound_by_target, bound_targets, carries, in_order, names_in, reads, root_name
from tensorlint.analysis.step_names import name_tokens
from tensorlint.analysis.walk import walk


def names_tested_in(scope: cst.CSTNode) -> Set[str]:
    names: Set[str] = set()

    class Tests(cst.CSTVisitor):
        def visit_If(self, node: cst.If) -> None:
            names.update(n.value for n in names_in(node.test))

        def visit_While(self, node: cst.While) -> None:
            names.update(n.value for n in names_in(node.test))

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is scope

    walk(scope, Tests())
    return names


def value_names(expression: cst.BaseExpression) -> List[cst.BaseExpression]:
    """The names and attribute paths an expression reads as values: `loss` and `self.total` in
    `torch.isfinite(loss) & self.total`, and `out` in `out.max()`, but not the methods called."""
    found: List[cst.BaseExpression] = []

    class Values(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> bool:
            if isinstance(node.func, cst.Attribute):
                walk(node.func.value, self)
            for arg in node.args:
                walk(arg, self)
            return False

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            found.append(node)
            return False

        def visit_Name(self, node: cst.Name) -> None:
            found.append(node)

    walk(expression, Values())
    return found


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


_KEEPS_MODEL = frozenset({"deepcopy", "state_dict", "load_state_dict", "save"})


def keeps_model(node: cst.If) -> bool:
    """`if val_loss < best: best_state = deepcopy(model.state_dict())` / `torch.save(...)` / `self.save_checkpoint()`:
    a best-model check whose body copies or saves the model. Only the host can take that decision (no
    `torch.where` saves a checkpoint), so the step waits for its test whatever else it does."""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            nonlocal found
            func = call.func
            name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(
                func, cst.Name) else ""
            tokens = name_tokens(name)
            if name in _KEEPS_MODEL or "save" in tokens and any(t in ("model", "checkpoint", "ckpt", "best", "weights")
                                                                 for t in tokens):
                found = True

        def visit_FunctionDef(self, node) -> bool:
            return False

    walk(node.body, Finder())
    return found


def exits_loop(node: cst.If) -> bool:
    """`if cond: break` / `return`: the loop leaves on the test, so it cannot run without its value."""
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else (node.body,)
    for line in body:
        statements = line.body if isinstance(line, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) else ()
        if any(isinstance(small, (cst.Break, cst.Return)) for small in statements):
            return True
    return False


# -- output written in the same iteration ---------------------------------------------------------------
# Calls that write their arguments (or their receiver) out of the program: files, writers, arrays on disk.
_WRITE_CALLS = frozenset({"write", "writelines", "writerow", "writerows", "save", "savez", "savez_compressed",
                          "savetxt", "imwrite", "imsave", "dump"})


def _is_writer_name(name: str) -> bool:
    return any(token in ("writer", "writers") for token in name_tokens(name))


def writers_in(scope: cst.CSTNode) -> Set[str]:
    """Names that hold an output sink in `scope`: bound by `with ... as f` (a file or writer closed on exit),
    bound to a call of a `*Writer` class (`SoundScpWriter(...)`, `csv.writer(f)`), or named like one."""
    found: Set[str] = set()

    class Finder(cst.CSTVisitor):
        def visit_WithItem(self, node: cst.WithItem) -> None:
            if node.asname is not None and isinstance(node.asname.name, cst.Name):
                found.add(node.asname.name.value)

        def visit_Assign(self, node: cst.Assign) -> None:
            func = node.value.func if isinstance(node.value, cst.Call) else None
            callee = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(
                func, cst.Name) else ""
            if _is_writer_name(callee):
                found.update(t.target.value for t in node.targets if isinstance(t.target, cst.Name))

        def visit_Name(self, node: cst.Name) -> None:
            if _is_writer_name(node.value):
                found.add(node.value)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is scope

    walk(scope, Finder())
    return found


def written_out(loop_body: cst.CSTNode, copy: cst.CSTNode, statement: cst.CSTNode, writers: Set[str]) -> bool:
    """Does the host value `copy` makes (in `statement`, a small statement of `loop_body`) reach, later in the
    same iteration, a write out of the program: a store into a writer (`writer[key] = str(ppl)`, `writers[i][k] =
    fs, w`) or a write call (`f.write(...)`, `np.save(path, a)`, `img.save(path)`)? Names bound from it carry it:
    assignments, `for` targets over it, `with` targets."""
    tainted: Set[str] = set()
    started = False
    for event in in_order(loop_body):
        if event is statement:
            started = True
            if _sinks(event, writers, tainted, copy):
                return True
            tainted |= bound_targets(event)
            continue
        if not started:
            continue
        if _sinks(event, writers, tainted, None):
            return True
        if isinstance(event, cst.For):
            if reads(event.iter, tainted):
                tainted |= bound_by_target(event.target)
        elif isinstance(event, (cst.Assign, cst.AugAssign, cst.AnnAssign)) and reads(event.value, tainted):
            tainted |= bound_targets(event)
    return False


def _sinks(statement: cst.CSTNode, writers: Set[str], tainted: Set[str], copy: Optional[cst.CSTNode]) -> bool:
    """Does this statement write out what is tainted (or the node `copy` itself)?"""
    if isinstance(statement, cst.Assign) and carries(statement.value, tainted, copy) and any(
            isinstance(t.target, cst.Subscript) and root_name(t.target) in writers for t in statement.targets):
        return True
    if isinstance(statement, cst.For):
        return False  # its head binds names; its body's statements come as their own events
    found = False

    class Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal found
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value in _WRITE_CALLS and (
                    carries(func.value, tainted, copy) or any(carries(arg.value, tainted, copy) for arg in node.args)):
                found = True

        def visit_FunctionDef(self, node) -> bool:
            return False

    walk(statement, Calls())
    return found


def statement_and_function(ancestors):
    """The innermost small statement and function around the end of `ancestors` (None where there is none)."""
    statement = next((a for a in reversed(ancestors) if isinstance(a, cst.BaseSmallStatement)), None)
    function = next((a for a in reversed(ancestors) if isinstance(a, cst.FunctionDef)), None)
    return statement, function


def in_exit_test(ancestors) -> bool:
    """Is the end of `ancestors` in the test of an `if` that leaves the loop (`if done.item(): break`)?"""
    for index in range(len(ancestors) - 2, 0, -1):
        ancestor = ancestors[index]
        if isinstance(ancestor, cst.If):
            return ancestors[index + 1] is ancestor.test and exits_loop(ancestor)
        if isinstance(ancestor, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
            return False
    return False


def off_normal_path(ancestors) -> bool:
    """Is the end of `ancestors` in an `assert` message, a `raise`, an `except` block or under
    `if torch.isnan(loss):`: code that runs only when something already went wrong?"""
    for index in range(len(ancestors) - 2, -1, -1):
        ancestor, child = ancestors[index], ancestors[index + 1]
        if isinstance(ancestor, cst.Raise) or isinstance(ancestor, (cst.ExceptHandler, cst.ExceptStarHandler)) \
                and child is ancestor.body:
            return True
        if isinstance(ancestor, cst.Assert) and child is ancestor.msg:
            return True
        if isinstance(ancestor, cst.If) and child is ancestor.body and tests_for_failure(ancestor.test):
            return True
    return False
