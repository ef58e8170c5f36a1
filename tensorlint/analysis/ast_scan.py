"""What a file holds, read in one pass over Python's own `ast` tree: the facts the prescreen's conditions read.

Syntax only, no provenance: the names imports bind (and to which package), the heads of dotted calls with
arguments, the owners of chosen attribute names and the receivers of chosen method calls, and, for step
loops, what each loop and function mentions and calls (step evidence, iterations over data or a count:
analysis/step_names.py, the definitions the libcst analysis uses too). Which attribute and
method names are watched is the caller's choice (each family's prescreen declares its own).
"""
from __future__ import annotations

import ast
from typing import Dict, FrozenSet, List, Optional, Set, Tuple

from tensorlint.analysis.step_names import is_step_evidence, iteration_kind, walks_layers
from tensorlint.analysis.torch_api import MODULE_BASE_SUFFIXES

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)


def names_in(node: ast.AST) -> Set[str]:
    """Every name and attribute name in an expression."""
    return {n.id if isinstance(n, ast.Name) else n.attr for n in ast.walk(node) if isinstance(n, (ast.Name, ast.Attribute))}


class FunctionScan:
    __slots__ = ("name", "parent", "evidence", "names")

    def __init__(self, name: str, parent: int) -> None:
        self.name = name
        self.parent = parent           # index of the enclosing function, -1 at module level
        self.evidence = False          # a step-evidence call lexically inside
        self.names: Set[str] = set()   # names and attribute names lexically inside


# Per node: (inside a loop, inside a loop whose model calls may make it a step loop, index of the
# innermost function or -1, that function walks layers)
_Context = Tuple[bool, bool, int, bool]


class FileScan:
    """One iterative pass over the tree (no recursion: sums of thousands of terms nest that deep)."""

    def __init__(self, tree: ast.Module, attributes: FrozenSet[str], methods: FrozenSet[str]) -> None:
        self.tree = tree
        self._watched_attributes = attributes
        self._watched_methods = methods
        self.star_import = False                  # `from m import *`: may bind any name (the import map's
        #                                           conventional `np`, `torch`, `nn`, a project module's names)
        self.bound: Dict[str, Set[str]] = {}      # local name → packages an import binds it to
        self.imported_modules: List[str] = []     # `a.b` of every `import a.b [as c]`
        self.from_imports: List[Tuple[str, int, List[str]]] = []  # (module or "", level, names) of each `from`
        self.attribute_owners: Dict[str, Set[str]] = {}  # watched attribute → names it is read on ("": not a name)
        self.method_calls: Dict[str, List[Tuple[str, bool]]] = {}  # watched method → (root name, has arguments)
        self.call_heads: Set[str] = set()         # heads of (dotted) callees called with arguments
        self.call_keywords: Set[str] = set()      # keyword argument names of every call (`non_blocking`)
        self.method_arity: Dict[str, int] = {}     # watched method → most positional arguments it is called with
        self.method_names: Set[str] = set()       # names of the methods defined directly in a class body
        self.step_iteration_call = False          # a call inside a loop that may be a step loop
        self.data_loop = False                    # a `for` over a loader-like name: a step loop, call or not
        self.for_iteration_names: Set[str] = set()  # names in the iterables of `for` loops outside layer walks
        self.evidence_in_loop = False
        self.call_in_loop = False
        self.loop_names: Set[str] = set()
        self.functions: List[FunctionScan] = []
        self.assignments: List[Tuple[Set[str], ast.expr]] = []  # (names the targets bind, value), every one
        self.module_classes = _top_level_module_classes(tree)
        self._run()

    def names_bound_to(self, packages: FrozenSet[str]) -> Set[str]:
        """Local names an import binds to one of these packages (`np` of `import numpy as np`)."""
        return {name for name, bound in self.bound.items() if not bound.isdisjoint(packages)}

    def _run(self) -> None:
        stack: List[Tuple[ast.AST, _Context]] = [(self.tree, (False, False, -1, False))]
        pop, push = stack.pop, stack.append
        while stack:
            node, context = pop()
            kind = type(node)
            if kind is ast.Name:
                self._name(node.id, context)
                continue
            if kind is ast.Attribute:
                self._attribute(node, context)
            elif kind is ast.Call:
                self._call(node, context)
            elif kind in _LOOPS:
                self._loop(node, context, push)
                continue
            elif kind in _FUNCTIONS:
                self._function(node, context, push, in_module_class=False)
                continue
            elif kind is ast.ClassDef:
                self._class(node, context, push)
                continue
            elif kind is ast.Import:
                self._import(node)
            elif kind is ast.ImportFrom:
                self._import_from(node)
            elif kind is ast.Assign:
                self.assignments.append((set().union(*(_bound_by(target) for target in node.targets)), node.value))
            elif (kind is ast.AnnAssign or kind is ast.AugAssign or kind is ast.NamedExpr) and node.value is not None:
                self.assignments.append((_bound_by(node.target), node.value))
            for field in node._fields:
                value = getattr(node, field)
                if type(value) is list:
                    for child in value:
                        if isinstance(child, ast.AST):
                            push((child, context))
                elif isinstance(value, ast.AST) and field != "ctx":
                    push((value, context))

    # -- what each node adds ----------------------------------------------------------------
    def _name(self, name: str, context: _Context) -> None:
        if context[0]:
            self.loop_names.add(name)
        if context[2] >= 0:
            self.functions[context[2]].names.add(name)

    def _attribute(self, node: ast.Attribute, context: _Context) -> None:
        attr = node.attr
        self._name(attr, context)
        if attr in self._watched_attributes:
            owner = node.value
            self.attribute_owners.setdefault(attr, set()).add(owner.id if type(owner) is ast.Name else "")

    def _call(self, node: ast.Call, context: _Context) -> None:
        in_loop, may_step, function, _ = context
        func = node.func
        has_arguments = bool(node.args or node.keywords)
        callee = ""
        if type(func) is ast.Attribute:
            callee = func.attr
            if callee in self._watched_methods:
                self.method_calls.setdefault(callee, []).append((_root_name(func.value), has_arguments))
                self.method_arity[callee] = max(self.method_arity.get(callee, 0), len(node.args))
        elif type(func) is ast.Name:
            callee = func.id
        for keyword in node.keywords:
            if keyword.arg is not None:
                self.call_keywords.add(keyword.arg)
        if has_arguments:
            head = func
            while type(head) is ast.Attribute:
                head = head.value
            if type(head) is ast.Name:
                self.call_heads.add(head.id)
        evidence = bool(callee) and is_step_evidence(callee)
        if in_loop:
            self.call_in_loop = True
            self.step_iteration_call = self.step_iteration_call or may_step
            self.evidence_in_loop = self.evidence_in_loop or evidence
        if evidence and function >= 0:
            self.functions[function].evidence = True

    def _loop(self, node, context: _Context, push) -> None:
        _, may_step, function, layer_walk = context
        if type(node) is ast.While:
            inner = (True, may_step or not layer_walk, function, layer_walk)
            push((node.test, inner))
        else:
            push((node.iter, context))
            kind = None
            if not layer_walk:
                names = names_in(node.iter)
                kind = iteration_kind(names)
                self.data_loop = self.data_loop or kind == "data"
                self.for_iteration_names |= names
            inner = (True, may_step or kind is not None, function, layer_walk)
            push((node.target, inner))
        for child in (*node.body, *node.orelse):
            push((child, inner))

    def _function(self, node, context: _Context, push, in_module_class: bool) -> None:
        in_loop, may_step, function, _ = context
        self.functions.append(FunctionScan(node.name, function))
        inner = (in_loop, may_step, len(self.functions) - 1, walks_layers(node.name, in_module_class))
        for child in node.body:
            push((child, inner))
        for child in (*node.decorator_list, node.args, node.returns):
            if child is not None:
                push((child, context))

    def _class(self, node: ast.ClassDef, context: _Context, push) -> None:
        is_module = any(_is_module_base(base, self.module_classes) for base in node.bases)
        for child in node.body:
            if type(child) in _FUNCTIONS:  # a method: directly in the class body
                self._function(child, context, push, in_module_class=is_module)
                self.method_names.add(child.name)
            else:
                push((child, context))
        for child in (*node.bases, *node.keywords, *node.decorator_list):
            push((child, context))

    def _import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.imported_modules.append(alias.name)
            self._imported(alias.asname or alias.name.split(".")[0], alias.name.split(".")[0])

    def _import_from(self, node: ast.ImportFrom) -> None:
        self.star_import = self.star_import or any(alias.name == "*" for alias in node.names)
        self.from_imports.append((node.module or "", node.level, [alias.name for alias in node.names]))
        if node.level or not node.module:
            return
        package = node.module.split(".")[0]
        for alias in node.names:
            self._imported(alias.asname or alias.name, package)

    def _imported(self, local: str, package: str) -> None:
        self.bound.setdefault(local, set()).add(package)

    # -- questions the conditions ask after the pass ------------------------------------------
    def top_level_imported(self) -> Set[str]:
        """Names bound by the imports `ImportMap.record_all` reads before the walk (the module's body and its
        if/try blocks): a star import's names never replace them (`names.setdefault`)."""
        bound: Set[str] = set()
        pending = list(self.tree.body)
        while pending:
            statement = pending.pop()
            if isinstance(statement, ast.Import):
                bound.update(alias.asname or alias.name.split(".")[0] for alias in statement.names)
            elif isinstance(statement, ast.ImportFrom):
                bound.update(alias.asname or alias.name for alias in statement.names if alias.name != "*")
            elif isinstance(statement, (ast.If, ast.Try, getattr(ast, "TryStar", ast.Try))):
                pending += statement.body + statement.orelse + getattr(statement, "finalbody", [])
                for handler in getattr(statement, "handlers", []):
                    pending += handler.body
        return bound

    def names_bound_but_by_imports(self) -> Optional[Set[str]]:
        """Names the file binds by assignment, parameter, target, def, class or from-import (`import x as y`
        too); None when a star import may bind any name."""
        bound: Set[str] = set()
        for node in ast.walk(self.tree):
            kind = type(node)
            if kind is ast.Name:
                if type(node.ctx) is ast.Store:
                    bound.add(node.id)
            elif kind is ast.Attribute or kind is ast.Subscript:
                if type(node.ctx) is ast.Store:
                    bound.add(_root_name(node))
            elif kind is ast.arg:
                bound.add(node.arg)
            elif kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.ExceptHandler, ast.MatchAs,
                          ast.MatchStar):
                bound.add(node.name or "")
            elif kind is ast.MatchMapping:
                bound.add(node.rest or "")
            elif kind is ast.ImportFrom:
                for alias in node.names:
                    if alias.name == "*":
                        return None
                    bound.add(alias.asname or alias.name)
            elif kind is ast.Import:
                bound.update(alias.asname for alias in node.names if alias.asname)
        return bound


def _bound_by(target: ast.expr) -> Set[str]:
    """`a`, `self.a` and each of `a, (b, *c)` bind `a`, `b`, `c` (attributes by their last name)."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, ast.Attribute):
        return {target.attr}
    if isinstance(target, (ast.Tuple, ast.List)):
        return set().union(*(_bound_by(element) for element in target.elts))
    if isinstance(target, ast.Starred):
        return _bound_by(target.value)
    return set()


def _top_level_module_classes(tree: ast.Module) -> Set[str]:
    """Top-level classes the analysis declares nn.Modules before its walk (`_declare_module_classes`)."""
    classes = [statement for statement in tree.body if isinstance(statement, ast.ClassDef)]
    found: Set[str] = set()
    grew = True
    while grew:
        grew = False
        for cls in classes:
            if cls.name not in found and any(_is_module_base(base, found) for base in cls.bases):
                found.add(cls.name)
                grew = True
    return found


def _is_module_base(base: ast.expr, module_classes: Set[str]) -> bool:
    """A base the analysis always takes for an nn.Module: one of the file's own, or a name ending in
    `Module`, `Sequential`, `PreTrainedModel`, ... (it also accepts some others; missing them only weakens)."""
    dotted = _dotted(base)
    return bool(dotted) and (dotted in module_classes or dotted.endswith(MODULE_BASE_SUFFIXES))


def _dotted(node: ast.expr) -> str:
    parts = []
    while type(node) is ast.Attribute:
        parts.append(node.attr)
        node = node.value
    if type(node) is not ast.Name:
        return ""
    parts.append(node.id)
    return ".".join(reversed(parts))


def _root_name(node: ast.expr) -> str:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""
