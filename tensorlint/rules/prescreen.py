"""Which rule families cannot have a finding in a file, decided on Python's own `ast` tree.

libcst's parser is the largest cost of a check, Python's is ~11x cheaper, and flake8 hands its plugins
the `ast` tree it has already built. For each family this module evaluates a *necessary condition*
for any finding of that family: a syntactic site where the family's checker can report. A family
whose condition fails is not run; a file where every enabled family fails is never parsed by libcst.

The conditions are read off the checkers (`tensorlint/rules/*_checker.py`): which node kinds they
report on and which attribute, function and module names those nodes must carry. None depends on
provenance (what a value is), so they stay true while the analysis learns more (use-based evidence,
same-file and cross-module summaries): such facts only decide *whether* a candidate site is reported.
Where a finding depends on facts from elsewhere, the site itself is still in the file that reports it.

TL1 (conversions). `ConversionChecker` reports only from `visit_Call`, at a call that is
  (a) a method call named `numpy` (`x.numpy()`); or
  (b) a call of a dotted name that `ImportMap.qualified` resolves under `numpy.`, `sklearn.metrics.` or
      `matplotlib.pyplot.`: its head must be a name bound by an import of the `numpy`, `sklearn` or
      `matplotlib` package somewhere in the file (the import map only ever learns names from import
      statements; every import of the file is counted, wherever and in whatever order); or
  (c) a call of an attribute in `PLOT_FUNCTIONS` on a value rooted at a name starting with `ax`.
  (b) and (c) report an argument, so the call has at least one. A star import may bind any name the
  file's top-level imports leave unbound (the import map gives `np`, `torch`, `nn` their conventional
  meaning after one, and a project run what the other module exports, both with `setdefault`), so with
  one a dotted call with arguments counts unless its head is bound by such an import.
TL2 (`.data`). `DataChecker` reports only from `visit_Attribute` on an attribute named `data` whose
  value is known to be a tensor. In libcst a dotted module in an import (`import a.data`, `from
  a.data import b`) is made of Attribute nodes too; their value (`a`) is looked up like any name, and
  only a name the file binds other than by importing it can hold a tensor (an import binds a module),
  so those count when the file binds `a` so (or has a star import).
TL3 (removed NumPy names). `NumpyNamesChecker` reports
  (a) from `visit_Attribute`: an attribute named in `BUILTIN_ALIASES`/`REMOVED_NAMES` whose value
      qualifies to `numpy`, which only a name bound by an import of `numpy` does (or, after a star
      import, one the top-level imports leave unbound); or
  (b) from `visit_Import`/`visit_ImportFrom`: an import of a module in `REMOVED_MODULES`, or
      `from numpy import <one of those names>`.
TL4 (per-step syncs). Every `SyncChecker` report requires `imports.imports_torch` (a `torch` import
  somewhere in the file, or a star import, after which the import map assumes torch) and a step: the
  node is in a method Lightning calls once per batch (`training_step`, ... in `_FRAMEWORK_STEP_METHODS`,
  counted in any class), or inside a loop that `Semantic.loop_info` calls a step loop, or inside a
  same-file helper walked in the context of a call made from one (`calls.py`, one level). The step loop
  is then a loop of this file, and `classify_loop` makes a loop one only when, counting everything
  lexically inside it (more than it counts itself),
  (a) it is not in a layer walk (in `forward`, and in a method of an nn.Module class whose name does
      not drive steps, such as `generate` or `train`, only (b) and (c) count), and it is a `for` over
      data: its iterable mentions a name with a loader token (`train_loader`, `DataLoader(...)`,
      `batches`) or a progress bar (`tqdm`, `track`, `progress_bar`: `loops.PROGRESS_BARS`), or a name the
      file assigns from an expression that mentions one or `range` (index.py's loader bindings:
      `pbar = tqdm(loader)`); or it is a `while`, or a `for` whose iterable mentions
      `range`, and it contains a call (the model call). (The analysis now also wants a model call in
      a loop over data, and none named like a layer: this condition asks for less, so stays necessary.); or
  (b) it contains step evidence: a call of `backward`/`step` on any receiver (also `manual_backward`,
      `*_step`, `zero_grad`), more than `loops.is_step_call` accepts; or
  (c) it names a function of this file that contains step evidence, directly or through the functions
      it names (a transitive closure, more than the analysis follows: index.py's `once_calls` only
      through plain-name and `self.` calls outside the helper's own loops), or it contains a
      call and the file defines a `forward`/`__call__` with step evidence (called through an instance).
  A class is taken for an nn.Module only by the bases the analysis always accepts (a name ending in
  `MODULE_BASE_SUFFIXES`, or a top-level module class of the file); treating any other class as a plain
  one only weakens (a). The token and word lists are the analysis' own.
  Sync sites are not enumerated: nearly every such loop holds one (requiring one would rule out 2 % more
  of the corpus), and new kinds of sync sites then need no change here.

Project runs: once `lint` is given the summaries of other modules (`crossmodule.ProjectContext`, not
wired into the engine yet), a loop may step through a helper of another module, a method may be a step
because a base class of another module calls it from its loop, and a relative import may name any
package. These conditions do not cover that yet; such a check must run with `prescreen=False` until they do.

Grammar: a file that `ast` cannot parse (a newer Python's syntax, null bytes, deep nesting) gets
`None`: every family runs, and libcst decides the error exactly as without the prescreen. A file that
`ast` parses and every enabled family is ruled out in is not given to libcst at all, so a libcst-only
parse error there goes unreported (the CLI's syntax check is Python's parser, which accepted it).

This replaces the textual pre-check (`FamilyChecker.triggers`), which was not sound: `for b in batches:`
with `print(out.item())` inside has none of TL4's trigger strings (`range(`, `oader`, `.step(`, ...).
Names come from the tree, not the text, so comments, strings and spacing neither hide nor fake a site.

`benchmarks/prescreen_check.py` and `tests/core/test_prescreen.py` compare findings with and without the
prescreen (`lint(..., prescreen=False)`, or `TENSORLINT_PRESCREEN=0`) over the fixtures, every rule
case, fuzz programs and the benchmark corpus; any change in where a checker reports must keep these
conditions necessary, and those checks say when it does not.
"""
from __future__ import annotations

import ast
import functools
import re
import warnings
from typing import Dict, FrozenSet, List, Optional, Set, Tuple

from tensorlint.analysis.loops import _LOADER_TOKENS as _LOOP_LOADER_TOKENS, PROGRESS_BARS
from tensorlint.analysis.semantic import _FRAMEWORK_STEP_METHODS, _STEP_DRIVING_METHODS
from tensorlint.analysis.torch_api import MODULE_BASE_SUFFIXES
from tensorlint.analysis.sinks import PLOT_FUNCTIONS
from tensorlint.rules.numpy_names.table import BUILTIN_ALIASES, REMOVED_MODULES, REMOVED_NAMES

FAMILIES = ("TL1", "TL2", "TL3", "TL4")  # the families with a condition here; any other family always runs
CONVERSION_PACKAGES = frozenset({"numpy", "sklearn", "matplotlib"})
REMOVED_NUMPY_NAMES = frozenset(BUILTIN_ALIASES) | frozenset(REMOVED_NAMES)
# The analysis' own lists (its private names: the lead's files; a rename fails here, loudly), so that the
# conditions follow when they grow.
LOADER_TOKENS = _LOOP_LOADER_TOKENS
STEP_DRIVING_WORDS = _STEP_DRIVING_METHODS
_TOKENS = re.compile(r"[_\d]+|(?<=[a-z])(?=[A-Z])")
_INSTANCE_CALLS = frozenset({"forward", "__call__"})
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)


def parse(source: str) -> Optional[ast.Module]:
    """The `ast` tree of `source`, or None when Python's parser refuses it (libcst then decides)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes and the like: the file is still checked
            return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def families_without_candidates(tree: ast.Module) -> FrozenSet[str]:
    """The families of `FAMILIES` that cannot have a finding in the file this tree was parsed from."""
    scan = _Scan()
    scan.run(tree)
    return frozenset(family for family, possible in scan.verdicts().items() if not possible)


def is_step_evidence(name: str) -> bool:
    """A callee name that may step a model or optimizer: `backward`, `manual_backward`, `step`, `*_step`, `zero_grad`."""
    return "backward" in name or name.endswith("step") or name == "zero_grad"


def iteration_kind(names: Set[str]) -> Optional[str]:
    """What a `for` over an expression mentioning exactly these names (`names_in`) may iterate: "data" (a
    loader-like name: every iteration is a step), "count" (`range`: steps when the body calls a model), or None."""
    if any(_is_loader_name(name) for name in names) or not names.isdisjoint(PROGRESS_BARS):
        return "data"  # (a progress bar over anything but a count is data to `loops.iterates_data`)
    return "count" if "range" in names else None


@functools.lru_cache(maxsize=65536)
def _is_loader_name(name: str) -> bool:
    return not LOADER_TOKENS.isdisjoint(t.lower() for t in _TOKENS.split(name) if t)


def names_in(node: ast.AST) -> Set[str]:
    """Every name and attribute name in an expression."""
    return {n.id if isinstance(n, ast.Name) else n.attr for n in ast.walk(node) if isinstance(n, (ast.Name, ast.Attribute))}


def walks_layers(name: str, in_module_class: bool) -> bool:
    """Do model calls in this function's loops not count (semantic.loop_info: `forward`, and methods of
    an nn.Module that do not drive steps)?"""
    return name == "forward" or (in_module_class and not any(word in name.lower() for word in STEP_DRIVING_WORDS))


class _Function:
    __slots__ = ("name", "parent", "evidence", "names")

    def __init__(self, name: str, parent: int) -> None:
        self.name = name
        self.parent = parent           # index of the enclosing function, -1 at module level
        self.evidence = False          # a step-evidence call lexically inside
        self.names: Set[str] = set()   # names and attribute names lexically inside


# Per node: (inside a loop, inside a loop whose model calls may make it a step loop, index of the
# innermost function or -1, that function walks layers)
_Context = Tuple[bool, bool, int, bool]


class _Scan:
    """One iterative pass over the tree (no recursion: sums of thousands of terms nest that deep)."""

    def __init__(self) -> None:
        self.imports_torch = False
        self.star_import = False                  # `from m import *`: may bind any name (the import map's
        #                                           conventional `np`, `torch`, `nn`, a project module's names)
        self.framework_step_method = False        # a method Lightning calls once per batch (`training_step`)
        self.bound: Dict[str, Set[str]] = {}      # local name → packages an import binds it to
        self.numpy_method = False
        self.sink_heads: Set[str] = set()         # heads of dotted callees called with arguments
        self.axes_plot = False
        self.data_attribute = False
        self.data_import_heads: Set[str] = set()  # `a` of `import a.data`, `from a.b.data import c`
        self.numpy_name_owners: Set[str] = set()  # `N` of `N.float`, `N.NaN`, ...
        self.removed_import = False
        self.step_iteration_call = False
        self.data_loop = False                    # a `for` over a loader-like name: a step loop, call or not
        self.for_iteration_names: Set[str] = set()  # names in the iterables of `for` loops outside layer walks
        self.evidence_in_loop = False
        self.call_in_loop = False
        self.loop_names: Set[str] = set()
        self.functions: List[_Function] = []
        self.module_classes: Set[str] = set()
        self.tree: Optional[ast.Module] = None
        self.assignments: List[Tuple[Set[str], ast.expr]] = []  # (names the targets bind, value), every one

    def run(self, tree: ast.Module) -> None:
        self.tree = tree
        self.module_classes = _top_level_module_classes(tree)
        stack: List[Tuple[ast.AST, _Context]] = [(tree, (False, False, -1, False))]
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
        if attr == "data":
            self.data_attribute = True
        elif attr in REMOVED_NUMPY_NAMES and type(node.value) is ast.Name:
            self.numpy_name_owners.add(node.value.id)

    def _call(self, node: ast.Call, context: _Context) -> None:
        in_loop, may_step, function, _ = context
        func = node.func
        has_arguments = bool(node.args or node.keywords)
        callee = ""
        if type(func) is ast.Attribute:
            callee = func.attr
            if callee == "numpy":
                self.numpy_method = True
            elif callee in PLOT_FUNCTIONS and has_arguments and _root_name(func.value).startswith("ax"):
                self.axes_plot = True
        elif type(func) is ast.Name:
            callee = func.id
        if has_arguments:
            head = func
            while type(head) is ast.Attribute:
                head = head.value
            if type(head) is ast.Name:
                self.sink_heads.add(head.id)
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
        self.functions.append(_Function(node.name, function))
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
                self.framework_step_method = self.framework_step_method or child.name in _FRAMEWORK_STEP_METHODS
            else:
                push((child, context))
        for child in (*node.bases, *node.keywords, *node.decorator_list):
            push((child, context))

    def _import(self, node: ast.Import) -> None:
        for alias in node.names:
            parts = alias.name.split(".")
            self._imported(alias.asname or parts[0], parts[0])
            if "data" in parts[1:]:
                self.data_import_heads.add(parts[0])
            self.removed_import = self.removed_import or _is_removed_module(alias.name)

    def _import_from(self, node: ast.ImportFrom) -> None:
        self.star_import = self.star_import or any(alias.name == "*" for alias in node.names)
        parts = (node.module or "").split(".")
        if "data" in parts[1:]:
            self.data_import_heads.add(parts[0])
        if node.level or not node.module:
            return
        self.removed_import = self.removed_import or _is_removed_module(node.module)
        for alias in node.names:
            self._imported(alias.asname or alias.name, parts[0])
            if node.module == "numpy" and alias.name in REMOVED_NUMPY_NAMES:
                self.removed_import = True

    def _imported(self, local: str, package: str) -> None:
        self.bound.setdefault(local, set()).add(package)
        if package == "torch":
            self.imports_torch = True

    # -- the verdicts -----------------------------------------------------------------------
    def verdicts(self) -> Dict[str, bool]:
        conversion_names = {name for name, packages in self.bound.items() if packages & CONVERSION_PACKAGES}
        numpy_names = {name for name, packages in self.bound.items() if "numpy" in packages}
        if self.star_import:  # a star binds what the file's top-level imports left unbound
            imported = _top_level_imported(self.tree)
            conversion_names |= self.sink_heads - imported
            numpy_names |= self.numpy_name_owners - imported
        return {
            "TL1": self.numpy_method or self.axes_plot or not self.sink_heads.isdisjoint(conversion_names),
            "TL2": self.data_attribute or self._data_import_may_read_a_tensor(),
            "TL3": self.removed_import or not self.numpy_name_owners.isdisjoint(numpy_names),
            "TL4": (self.imports_torch or self.star_import) and (self.framework_step_method or self._may_have_step_loop()),
        }

    def _data_import_may_read_a_tensor(self) -> bool:
        """In `import a.data` libcst sees an Attribute whose value `a` is looked up like any name; it can be
        a tensor only where the file binds `a` other than by importing it (`import a...` binds a module)."""
        if not self.data_import_heads:
            return False
        bound = _names_bound_but_by_imports(self.tree)
        return bound is None or not self.data_import_heads.isdisjoint(bound)

    def _may_have_step_loop(self) -> bool:
        if self.data_loop or self.step_iteration_call or self.evidence_in_loop:
            return True
        if not self.for_iteration_names and not self.call_in_loop:
            return False
        assignments = [(targets, names_in(value)) for targets, value in self.assignments]
        # `pbar = tqdm(loader)` ... `for batch in pbar:` (index.py's loader bindings): a loop over data too
        loader_names = {name for targets, names in assignments if iteration_kind(names) for name in targets}
        if not self.for_iteration_names.isdisjoint(loader_names):
            return True
        if not self.call_in_loop:
            return False
        stepping = self._stepping_names(assignments)
        return not self.loop_names.isdisjoint(stepping) or not stepping.isdisjoint(_INSTANCE_CALLS)

    def _stepping_names(self, assignments: List[Tuple[Set[str], Set[str]]]) -> Set[str]:
        """Names of the file's functions with step evidence inside, directly or through the functions they
        name, and names assigned from an expression naming one (`step = partial(train_step, ...)`)."""
        functions = self.functions
        for function in reversed(functions):  # a nested function lies inside its parent: hand its facts up
            if function.parent >= 0:
                parent = functions[function.parent]
                parent.evidence = parent.evidence or function.evidence
                parent.names |= function.names
        stepping = {f.name for f in functions if f.evidence}
        links = [({f.name}, f.names) for f in functions] + assignments
        grew = bool(stepping)
        while grew:
            grew = False
            for targets, names in links:
                if not targets <= stepping and not names.isdisjoint(stepping):
                    stepping |= targets
                    grew = True
        return stepping


def _top_level_imported(tree: ast.Module) -> Set[str]:
    """Names bound by the imports `ImportMap.record_all` reads before the walk (the module's body and its
    if/try blocks): a star import's names never replace them (`names.setdefault`)."""
    bound: Set[str] = set()
    pending = list(tree.body)
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


def _names_bound_but_by_imports(tree: ast.Module) -> Optional[Set[str]]:
    """Names the file binds by assignment, parameter, target, def, class or from-import (`import x as y`
    too); None when a star import may bind any name."""
    bound: Set[str] = set()
    for node in ast.walk(tree):
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


def _is_removed_module(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in REMOVED_MODULES)


__all__ = ["FAMILIES", "families_without_candidates", "is_step_evidence", "iteration_kind", "names_in", "parse",
           "walks_layers"]
