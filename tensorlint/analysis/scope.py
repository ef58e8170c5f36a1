"""What names a file binds, and what a scope does to a name (syntax only: no provenance)."""
from __future__ import annotations

from collections import Counter
from typing import Dict, FrozenSet, Iterator, Sequence, Set, Tuple

import libcst as cst

from tensorlint.analysis.imports import dotted_name
from tensorlint.analysis.walk import descendants


def target_names(target: cst.CSTNode) -> Iterator[str]:
    """The plain names an assignment target binds: `a`, and each of `a, (b, *c)`; none for `x.a`, `x[i]`."""
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from target_names(target.value)


def names_bound_by(node: cst.CSTNode) -> Iterator[str]:
    """The names `node` binds wherever it is (a builtin of that name is then shadowed somewhere in the file):
    assignment, `for`, comprehension and walrus targets, `as` names, definitions, parameters, `global`
    names, match captures, and imports. `import a.b` binds `a`; `import builtins` and `from builtins import
    float` rebind nothing; `import x as y` binds `y` through its AsName."""
    if isinstance(node, (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.NamedExpr, cst.For, cst.CompFor)):
        yield from target_names(node.target)
    elif isinstance(node, cst.AsName):  # `import x as float`, `with open(p) as str`, `except E as int`
        yield from target_names(node.name)
    elif isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Param)):
        yield node.name.value
    elif isinstance(node, cst.Global):
        yield from (item.name.value for item in node.names)
    elif isinstance(node, (cst.MatchAs, cst.MatchStar)):
        if node.name is not None:
            yield node.name.value
    elif isinstance(node, cst.Import):
        for alias in node.names:
            if alias.asname is None and not is_plain_import_of_builtins(alias):
                yield (dotted_name(alias.name) or "").split(".")[0]
    elif isinstance(node, cst.ImportFrom) and not isinstance(node.names, cst.ImportStar):
        from_builtins = isinstance(node.module, cst.Name) and node.module.value == "builtins"
        for alias in node.names:
            if alias.asname is None and isinstance(alias.name, cst.Name) and not from_builtins:
                yield alias.name.value


def functions_defined_once(module: cst.Module) -> FrozenSet[str]:
    """Module-level names bound once in the whole file, by a `def`: inside any function body such a name is that
    function, wherever the def stands (function bodies run after the module has been executed). A name also
    bound by an assignment, an import, a second def or a `global` statement is left out, and so is every name
    in a file with a star import."""
    collector = _ModuleBindings()
    module.visit(collector)
    if collector.star_import:
        return frozenset()
    return frozenset(name for name in collector.functions
                     if collector.counts[name] == 1 and name not in collector.declared_global)


class _ModuleBindings(cst.CSTVisitor):
    """Counts the bindings made at module level; inside function and class bodies it only notes `global`."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter = Counter()
        self.functions: set = set()
        self.declared_global: set = set()
        self.star_import = False
        self._body_depth = 0

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.Global):
            self.declared_global.update(item.name.value for item in node.names)
        if self._body_depth:
            if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                self._body_depth += 1
            return True
        if isinstance(node, cst.ImportFrom) and isinstance(node.names, cst.ImportStar):
            self.star_import = True
        if not isinstance(node, cst.CompFor):  # comprehension variables are the comprehension's own
            self.counts.update(names_bound_by(node))
        if isinstance(node, cst.FunctionDef):
            self.functions.add(node.name.value)
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            self._body_depth += 1
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if isinstance(original_node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            self._body_depth -= 1


def is_plain_import_of_builtins(alias: cst.ImportAlias) -> bool:
    """`import builtins` (not `import builtins as b`)."""
    return isinstance(alias.name, cst.Name) and alias.name.value == "builtins" and alias.asname is None


def rebound_by_parameter(ancestors: Sequence[cst.CSTNode], name: str) -> bool:
    """Is `name` a parameter of the innermost enclosing function (or lambda) that has it, here at the end of
    `ancestors`, so that it no longer means the module-level name? `def f(x, np=np)` keeps the module."""
    for ancestor in reversed(ancestors):
        if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
            params = ancestor.params
            for param in (*params.posonly_params, *params.params, *params.kwonly_params,
                          params.star_arg, params.star_kwarg):
                if isinstance(param, cst.Param) and param.name.value == name:
                    return not (isinstance(param.default, cst.Name) and param.default.value == name)
    return False


def enclosing_scope(ancestors: Sequence[cst.CSTNode], module: cst.Module) -> cst.CSTNode:
    """The innermost function (or the module) around the end of `ancestors`."""
    for ancestor in reversed(ancestors):
        if isinstance(ancestor, (cst.FunctionDef, cst.Module)):
            return ancestor
    return module


def is_in_place_method(name: str) -> bool:
    """`add_`, `copy_`, `zero_`: torch's in-place methods end with one underscore."""
    return name.endswith("_") and not name.endswith("__") and len(name) > 1


def mutates_in_place(scope: cst.CSTNode, name: str) -> bool:
    """Does `scope` (nested functions included) change the value under `name` in place: `name.add_(...)`,
    `name[...] = ...`, `name += ...`, `name[...] += ...`?"""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            nonlocal found
            func = call.func
            if isinstance(func, cst.Attribute) and dotted_name(func.value) == name and is_in_place_method(func.attr.value):
                found = True

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            nonlocal found
            target = node.target.value if isinstance(node.target, cst.Subscript) else node.target
            found = found or dotted_name(target) == name

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            nonlocal found
            found = found or (isinstance(node.target, cst.Subscript) and dotted_name(node.target.value) == name)

    scope.visit(Finder())
    return found


def calls_directly_in(scope: cst.CSTNode) -> Set[int]:
    """ids of the calls in `scope`'s own body (not in the functions, classes or lambdas it defines)."""
    found: Set[int] = set()

    class _Calls(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            found.add(id(call))

        def visit_FunctionDef(self, inner: cst.FunctionDef) -> bool:
            return inner is scope

        def visit_ClassDef(self, inner: cst.ClassDef) -> bool:
            return False

        def visit_Lambda(self, inner: cst.Lambda) -> bool:
            return inner is scope

    scope.visit(_Calls())
    return found


def call_bindings_and_loads(scope: cst.CSTNode) -> Tuple[Dict[int, str], Dict[str, int]]:
    """(id of each call in an assignment `name = ...` of the scope → that name, name → how often it is read)."""
    bound: Dict[int, str] = {}
    loads: Dict[str, int] = {}
    stored: Set[int] = set()
    for node in descendants(scope):
        if isinstance(node, cst.Assign):
            for target in node.targets:
                stored.update(id(n) for n in descendants(target.target) if isinstance(n, cst.Name))
            if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
                for inner in descendants(node.value):
                    if isinstance(inner, cst.Call):
                        bound[id(inner)] = node.targets[0].target.value
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign)):
            stored.update(id(n) for n in descendants(node.target) if isinstance(n, cst.Name))
        elif isinstance(node, cst.Attribute):
            stored.add(id(node.attr))
        elif isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Param, cst.Arg, cst.AsName, cst.ImportAlias)):
            for field in ("name", "keyword"):
                value = getattr(node, field, None)
                if isinstance(value, cst.Name):
                    stored.add(id(value))
    for node in descendants(scope):
        if isinstance(node, cst.Name) and id(node) not in stored:
            loads[node.value] = loads.get(node.value, 0) + 1
    return bound, loads
