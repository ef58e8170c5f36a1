"""Branches a call rules out: `if flag:` tests on a parameter the call passes a literal for (or leaves at its
literal default), so that a finding under a branch the call never reaches is not the call's."""
from __future__ import annotations

import libcst as cst

from tensorlint.analysis.crossmodule import CallFlags, call_flags, flags_reach, literal_defaults
from tensorlint.analysis.index import bound_names
from tensorlint.analysis.literals import literal_truth


def call_rules_out(call: cst.Call, function: cst.FunctionDef, ancestors) -> bool:
    """In `function` walked for `call` (`ancestors` the walk's path to the current node): is the node under an
    `if flag:` (or `else`) branch that the call's literal argument for the parameter `flag`, or the parameter's
    literal default where the call passes none, rules out? (`self._grad(utility=x)` does not reach
    `if ret_np: return g.cpu().numpy()` when `ret_np=False` is the default.) The rule latent conversions of other
    modules follow (crossmodule.flags_reach); a parameter the body assigns again is no flag of the call's."""
    name = function.name.value
    func = call.func
    if not (isinstance(func, cst.Name) and func.value == name
            or isinstance(func, cst.Attribute) and func.attr.value == name):
        return False   # called under another name (a `partial`): its arguments bind differently
    return flags_rule_out(call_flags(call), function, ancestors, isinstance(func, cst.Attribute))


def flags_rule_out(flags: CallFlags, function: cst.FunctionDef, ancestors, method: bool) -> bool:
    """`call_rules_out` for a call another module makes, known by its flags (`crossmodule.call_flags`):
    `normalize(p)` there, with `sparse=False` the default, does not reach `if sparse: return to_host(adj)` here."""
    bound = _guards_on_params(function, ancestors, method)
    return bound is not None and not flags_reach(bound[0], flags, bound[1], dict(literal_defaults(function)))


def _guards_on_params(function: cst.FunctionDef, ancestors, method: bool):
    """(the `if param:` guards above the current node on the function's parameters, the parameters a call
    binds), or None when there is none (or `self` is missing from a method's parameters)."""
    declared = function.params
    params = [p.name.value for p in (*declared.posonly_params, *declared.params, *declared.kwonly_params)]
    if method:
        if params[:1] not in (["self"], ["cls"]):
            return None
        params = params[1:]
    guards = [(param, truth) for param, truth in branch_guards(function, ancestors) if param in params]
    guards = [(param, truth) for param, truth in guards if not _assigns(function, param)]
    return (guards, tuple(params)) if guards else None


def literal_flags(call: cst.Call) -> tuple:
    """The truth of each literal argument of `call`, by position or keyword: calls that differ in these may
    reach different branches of their callee (`call_rules_out`)."""
    return tuple((arg.keyword.value if arg.keyword is not None else i, truth) for i, arg in enumerate(call.args)
                 for truth in [literal_truth(arg.value)] if truth is not None)


def branch_guards(function: cst.FunctionDef, ancestors):
    """(name, truth) of the `if name:` / `if not name:` tests between `function` and the end of `ancestors`."""
    path = list(ancestors)
    start = next((i for i, node in enumerate(path) if node is function), None)
    if start is None:
        return []
    found = []
    for parent, child in zip(path[start + 1:], path[start + 2:]):
        if isinstance(parent, cst.If) and child is not parent.test:
            found += _name_test(parent.test, child is parent.body)
        elif isinstance(parent, cst.IndentedBlock) and child in parent.body:
            # `if not as_np: return t` before it: reached only with the other truth
            for earlier in parent.body[:parent.body.index(child)]:
                if isinstance(earlier, cst.If) and earlier.orelse is None and _leaves(earlier.body):
                    found += _name_test(earlier.test, False)
    return found


def _name_test(test: cst.BaseExpression, truth: bool):
    while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        test, truth = test.expression, not truth
    return [(test.value, truth)] if isinstance(test, cst.Name) else []


def _leaves(block: cst.BaseSuite) -> bool:
    """Does the block end the function (its last statement a `return` or `raise`)?"""
    last = block.body[-1] if isinstance(block, cst.IndentedBlock) and block.body else None
    return (isinstance(last, cst.SimpleStatementLine) and bool(last.body)
            and isinstance(last.body[-1], (cst.Return, cst.Raise)))


def _assigns(function: cst.FunctionDef, name: str) -> bool:
    """Does the body bind `name` again (`=`, `+=`, `for`, `with ... as`, `:=`)?"""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            self._targets(*(t.target for t in node.targets))

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            self._targets(node.target)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            self._targets(node.target)

        def visit_For(self, node: cst.For) -> None:
            self._targets(node.target)

        def visit_AsName(self, node: cst.AsName) -> None:
            self._targets(node.name)

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            self._targets(node.target)

        def _targets(self, *targets) -> None:
            nonlocal found
            found = found or any(name in bound_names(target) for target in targets)

    function.body.visit(Finder())
    return found
