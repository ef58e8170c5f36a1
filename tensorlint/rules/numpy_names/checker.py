"""Finds the NumPy names of TL301/TL302 in the shared walk; reports once the whole file is seen.

Which names the file binds (a shadowed builtin) comes from analysis/scope.py, and whether a use sits in
compatibility code (a hasattr or version test, a try/except, `suppress`) from analysis/guards.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, FrozenSet, Iterator, List, Optional, Set, Tuple, Type

import libcst as cst

from tensorlint.analysis import Semantic, dotted_name
from tensorlint.analysis.guards import NumpyNameGuards, string_value
from tensorlint.analysis.scope import is_plain_import_of_builtins, names_bound_by, rebound_by_parameter, target_names
from tensorlint.core.context import SourceContext
from tensorlint.core.diagnostics import Edit, Fix, Safety
from tensorlint.core.settings import DEFAULT
from tensorlint.rules.base import FamilyChecker, Rule
from tensorlint.rules.numpy_names import table
from tensorlint.rules.numpy_names.rules import RULES, Numpy2RemovedName, NumpyRemovedAlias


@dataclass
class _Finding:
    rule: Type[Rule]
    node: cst.CSTNode
    name: str                               # the NumPy name, which a shim anywhere in the file restores
    message: str
    fix: Callable[[], Optional[Fix]]        # built once the whole file has been seen


def _imports_only(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, (cst.Import, cst.ImportFrom))
                                                             for s in stmt.body)


class NumpyNamesChecker(FamilyChecker):
    """Finds the names in the shared walk; reports when leaving the module, once the file's own
    shims (`np.float = float`) and rebindings of builtins (`float = ...`) are all known."""

    rules = RULES

    def __init__(self, context: SourceContext, semantic: Semantic, enabled: FrozenSet[str]) -> None:
        super().__init__(context, semantic, enabled)
        self._findings: List[_Finding] = []
        self._bound: Set[str] = set()        # names bound anywhere: a builtin of that name is shadowed
        self._restored: Set[str] = set()     # `np.X = ...`, `setattr(np, "X", ...)`
        self._guards = NumpyNameGuards(semantic.imports)

    # -- findings -----------------------------------------------------------------------------
    def visit_Attribute(self, node: cst.Attribute) -> None:
        name = node.attr.value
        rule, alias_rule, removed = _rule_of(name)
        if rule is None or not self.wants(rule) or self._in_import_statement() or self._is_target(node):
            return
        module = self._numpy_spelling(node.value)
        if module is None:
            return
        if self._not_removed_here(name, alias_rule):
            return
        shown = f"{module}.{name}"
        if alias_rule is not None:
            self._found(rule, node, name, self._alias_message(shown, alias_rule, module, self._settings),
                        self._alias_fix(node, module, alias_rule))
        else:
            self._found(rule, node, name, _removed_message(shown, removed, module),
                        self._removed_fix(node, module, removed, self._settings))

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self._bound.update(names_bound_by(node))
        if node.relative or node.module is None:
            return
        module = dotted_name(node.module)
        if module is None:
            return
        removed_module = _removed_module(module)
        if removed_module is not None:
            if self.wants(Numpy2RemovedName) and not self._in_compat_code(module):
                self._found(Numpy2RemovedName, node.module, module, _module_message(removed_module), _no_fix)
            return
        if module != "numpy" or isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            if isinstance(alias.name, cst.Name):
                self._imported_name(node, alias)

    def visit_Import(self, node: cst.Import) -> None:
        self._bound.update(names_bound_by(node))
        for alias in node.names:
            module = dotted_name(alias.name) or ""
            removed_module = _removed_module(module)
            if removed_module is not None and self.wants(Numpy2RemovedName) and not self._in_compat_code(module):
                self._found(Numpy2RemovedName, alias.name, module, _module_message(removed_module), _no_fix)

    def _found(self, rule: Type[Rule], node: cst.CSTNode, name: str, message: str,
               fix: Callable[[], Optional[Fix]]) -> None:
        self._findings.append(_Finding(rule, node, name, message, fix))

    def leave_Module(self, node: cst.Module) -> None:
        restored = self._restored | self.semantic.project.restored_numpy_names
        for finding in self._findings:
            if finding.name not in restored:
                self.report(finding.rule, finding.node, finding.message, finding.fix())

    # -- what the file binds, collected in the same walk ----------------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            for name in target_names(target.target):
                self._guards.record_assignment(name, node.value)
            self._restored.update(self._restored_names(target.target))

    def _bind(self, node: cst.CSTNode) -> None:
        self._bound.update(names_bound_by(node))

    visit_AssignTarget = visit_AnnAssign = visit_AugAssign = visit_NamedExpr = visit_For = visit_CompFor = _bind
    visit_AsName = visit_FunctionDef = visit_ClassDef = visit_Param = visit_Global = _bind
    visit_MatchAs = visit_MatchStar = _bind

    def visit_Call(self, node: cst.Call) -> None:
        # `setattr(np, "float", float)`
        if isinstance(node.func, cst.Name) and node.func.value == "setattr" and len(node.args) >= 2 \
                and self.semantic.imports.qualified(node.args[0].value) == "numpy":
            value = string_value(node.args[1].value)
            if value is not None:
                self._restored.add(value)

    def _restored_names(self, target: cst.BaseExpression) -> Iterator[str]:
        """`np.float = float`, `np.float, np.int = float, int`"""
        if isinstance(target, cst.Attribute) and self.semantic.imports.qualified(target.value) == "numpy":
            yield target.attr.value
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                yield from self._restored_names(element.value)

    # -- `from numpy import X` --------------------------------------------------------------
    def _not_removed_here(self, name: str, alias_rule) -> bool:
        """Is the name still there for this project (an alias NumPy 2 brought back, where the project needs
        NumPy >= 2) or in code written for both versions (a version or `hasattr` guard)?"""
        if alias_rule is not None and alias_rule.back_in_numpy2 and not self._settings.supports_numpy1:
            return True
        return self._in_compat_code(name)

    @property
    def _settings(self):
        return getattr(self.context, "settings", DEFAULT)

    def _imported_name(self, statement: cst.ImportFrom, alias: cst.ImportAlias) -> None:
        name = alias.name.value
        rule, alias_rule, removed = _rule_of(name)
        if rule is None or not self.wants(rule):
            return
        if self._not_removed_here(name, alias_rule):
            return
        if alias_rule is not None:
            if alias_rule.back_in_numpy2:
                use = f"numpy.{alias_rule.numpy_target}" if alias_rule.numpy_target else alias_rule.builtin
                message = (f"`from numpy import {name}` raises ImportError on NumPy 1.24–1.26, "
                           f"which this project may still run{_source(self._settings)}: use `{use}`")
            else:
                message = (f"`from numpy import {name}` raises ImportError on NumPy 1.24 and later "
                           f"(`numpy.{name}` was the builtin `{alias_rule.builtin}`): use `{alias_rule.builtin}`")
            fix = _no_fix
            if not alias_rule.back_in_numpy2 and len(statement.names) == 1:
                fix = self._import_from_builtins(statement, alias, alias_rule.builtin)
            self._found(rule, alias, name, message, fix)
            return
        message = f"`from numpy import {name}` fails: " + _removed_message(f"numpy.{name}", removed, "numpy")
        fix = _no_fix
        if removed.fix == table.RENAME and "." not in removed.target and _fix_allowed(removed, self._settings):
            text = removed.target if alias.asname is not None else f"{removed.target} as {name}"
            fix = self._fixed_by([(alias.name, text)], f"Import `{removed.target}`", Safety.SAFE)
        self._found(rule, alias, name, message, fix)

    def _import_from_builtins(self, statement: cst.ImportFrom, alias: cst.ImportAlias,
                              builtin: str) -> Callable[[], Optional[Fix]]:
        """`from numpy import float as f` → `from builtins import float as f` (the only name imported)."""
        replacements = [(statement.module, "builtins")]
        name = alias.name.value
        if builtin != name:
            replacements.append((alias.name, builtin if alias.asname is not None else f"{builtin} as {name}"))
        return self._fixed_by(replacements, f"Import `{builtin}` from `builtins`", Safety.SAFE)

    def _fixed_by(self, replacements, title: str, safety: Safety) -> Callable[[], Optional[Fix]]:
        """A fix replacing each node's text; edits are made now, while the node's position is at hand."""
        context = self.context
        edits = tuple(context.edit(context.start_of(node), context.end_of(node), text) for node, text in replacements)
        fix = None if any(edit is None for edit in edits) else Fix(title, edits, safety)
        return lambda: fix

    # -- TL301 ------------------------------------------------------------------------------
    def _alias_message(self, shown: str, rule: table.BuiltinAlias, module: str, settings) -> str:
        use = f"{module}.{rule.numpy_target}" if rule.numpy_target else rule.builtin
        if rule.back_in_numpy2:
            return (f"`{shown}` raises AttributeError on NumPy 1.24–1.26, which this project may still run"
                    f"{_source(settings)}: use `{use}`")
        return f"`{shown}` was removed in NumPy 1.24 (it was the builtin `{rule.builtin}`): use `{use}`"

    def _alias_fix(self, node: cst.Attribute, module: str, rule: table.BuiltinAlias) -> Callable[[], Optional[Fix]]:
        if rule.numpy_target:
            safety = Safety.SAFE if self._names_a_dtype(node) else Safety.UNSAFE
            return self._fixed_by([(node.attr, rule.numpy_target)], f"Replace with `{module}.{rule.numpy_target}`",
                                  safety)
        safety = Safety.SAFE if rule.safe else Safety.UNSAFE
        plain = self._fixed_by([(node, rule.builtin)], f"Replace with `{rule.builtin}`", safety)
        qualified = self._fixed_by([(node, f"builtins.{rule.builtin}")], f"Replace with `builtins.{rule.builtin}`",
                                   safety)

        def fix() -> Optional[Fix]:
            if rule.builtin not in self._bound:
                return plain()
            shadowed = qualified()
            if shadowed is None or "builtins" in self._bound:  # `builtins` itself means something else here
                return None
            if self._builtins_imported():
                return shadowed
            edit = self.context.import_edit("import builtins")
            return Fix(shadowed.title, (*shadowed.edits, edit), shadowed.safety)
        return fix

    def _builtins_imported(self) -> bool:
        """Is there an `import builtins` among the module's leading imports?"""
        body = self.context.module.body
        for stmt in body[self.context.first_statement_index():]:
            if not _imports_only(stmt):
                return False
            if any(isinstance(small, cst.Import) and any(map(is_plain_import_of_builtins, small.names))
                   for small in stmt.body):
                return True
        return False

    def _names_a_dtype(self, node: cst.CSTNode) -> bool:
        """Is the value used only as a dtype, where `bool` and `np.bool_` mean the same?"""
        parent = self.semantic.parent(node)
        if isinstance(parent, cst.Arg):
            if parent.keyword is not None:
                return parent.keyword.value == "dtype"
            call = self.semantic.parent(parent)
            if not isinstance(call, cst.Call) or parent.star:
                return False
            qualified = self.semantic.qualified(call.func)
            if qualified == "numpy.issubdtype":
                return True
            first = call.args[0] is parent
            if first and qualified == "numpy.dtype":
                return True
            return first and isinstance(call.func, cst.Attribute) and call.func.attr.value == "astype"
        if isinstance(parent, cst.ComparisonTarget):
            comparison = self.semantic.parent(parent)
            if not isinstance(parent.operator, (cst.Equal, cst.NotEqual)) or not isinstance(comparison, cst.Comparison):
                return False
            operands = [comparison.left, *(target.comparator for target in comparison.comparisons)]
        elif isinstance(parent, cst.Comparison):
            if not all(isinstance(t.operator, (cst.Equal, cst.NotEqual)) for t in parent.comparisons):
                return False
            operands = [parent.left, *(target.comparator for target in parent.comparisons)]
        else:
            return False
        return any(isinstance(o, cst.Attribute) and o.attr.value == "dtype" for o in operands if o is not node)

    # -- TL302 ------------------------------------------------------------------------------
    def _removed_fix(self, node: cst.Attribute, module: str, removed: table.Removed,
                     settings) -> Callable[[], Optional[Fix]]:
        if removed.fix is None or not _fix_allowed(removed, settings):
            return _no_fix
        kind = removed.fix
        if kind == table.RENAME:
            return self._fixed_by([(node.attr, removed.target)], f"Replace with `{module}.{removed.target}`",
                                  Safety.SAFE)
        if kind == table.NEGATED:
            text = f"-{module}.{removed.target}"
            if not node.lpar and self._binds_tighter_than_minus(node):
                text = f"({text})"
            return self._fixed_by([(node, text)], f"Replace with `-{module}.{removed.target}`", Safety.SAFE)
        call = self.semantic.parent(node)
        if not isinstance(call, cst.Call) or call.func is not node:
            return _no_fix
        return self._call_fix(call, node, module, removed)

    def _call_fix(self, call: cst.Call, node: cst.Attribute, module: str,
                  removed: table.Removed) -> Callable[[], Optional[Fix]]:
        context = self.context
        args = call.args
        one_positional = len(args) == 1 and not args[0].star and args[0].keyword is None
        kind = removed.fix
        if kind in (table.SORT_AXIS0, table.ASARRAY_FLOAT) and one_positional:
            rename = context.edit(context.start_of(node.attr), context.end_of(node.attr), removed.target)
            end = context.end_with_parentheses(args[0].value)

            def fix() -> Optional[Fix]:
                if kind == table.SORT_AXIS0:
                    extra, title = ", axis=0", f"Use `{module}.sort(a, axis=0)`"
                else:  # `float` may be rebound in this file; float64 is what asfarray used
                    dtype = f"{module}.float64" if "float" in self._bound else "float"
                    extra, title = f", dtype={dtype}", f"Use `{module}.asarray(a, dtype={dtype})`"
                return None if rename is None else Fix(title, (rename, Edit(end, end, extra)), Safety.SAFE)
            return fix
        if kind == table.ISIN_RAVEL:
            # positional arguments mean the same; `isin` renamed the first two keywords
            if any(arg.star == "**" or (arg.keyword is not None and arg.keyword.value in ("ar1", "ar2"))
                   for arg in args):
                return _no_fix
            end = context.end_of(call)
            rename = context.edit(context.start_of(node.attr), context.end_of(node.attr), removed.target)
            fix = None if rename is None else \
                Fix(f"Use `{module}.isin(...).ravel()`", (rename, Edit(end, end, ".ravel()")), Safety.SAFE)
            return lambda: fix
        if kind == table.ITEM and one_positional:
            value = args[0].value
            text = context.code(value).strip()
            if not value.lpar and not isinstance(value, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)):
                text = f"({text})"
            return self._fixed_by([(call, f"{text}.item()")], "Use `.item()`", Safety.SAFE)
        return _no_fix

    def _binds_tighter_than_minus(self, node: cst.CSTNode) -> bool:
        """Would `-x` in place of `node` be split by the surrounding syntax (`-x ** 2`, `-x.real`)?"""
        parent = self.semantic.parent(node)
        if isinstance(parent, (cst.UnaryOperation, cst.Await)):
            return True
        if isinstance(parent, cst.BinaryOperation):
            return isinstance(parent.operator, cst.Power) and parent.left is node
        if isinstance(parent, (cst.Attribute, cst.Subscript)):
            return parent.value is node
        if isinstance(parent, cst.Call):
            return parent.func is node
        return False

    # -- where we are ---------------------------------------------------------------------------
    def _numpy_spelling(self, value: cst.BaseExpression) -> Optional[str]:
        """How this file spells the numpy module here (`np`, `numpy`, `xp`), or None if `value` is not it."""
        if self.semantic.imports.qualified(value) != "numpy":
            return None
        spelled = dotted_name(value)
        if spelled is None or rebound_by_parameter(self.semantic.ancestors, spelled.split(".")[0]):
            return None
        return spelled

    def _in_import_statement(self) -> bool:
        for ancestor in reversed(self.semantic.ancestors):
            if isinstance(ancestor, (cst.Import, cst.ImportFrom)):
                return True
            if isinstance(ancestor, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
                return False
        return False

    def _is_target(self, node: cst.CSTNode) -> bool:
        """Is `node` assigned or deleted (`np.float = float`, `del np.NaN`) rather than read?"""
        return isinstance(self.semantic.store_of(node), (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.Del))

    def _in_compat_code(self, name: str) -> bool:
        return self._guards.in_compat_code(self.semantic.ancestors, name)


def _rule_of(name: str) -> Tuple[Optional[Type[Rule]], Optional[table.BuiltinAlias], Optional[table.Removed]]:
    """The rule that `numpy.<name>` falls under, with its table entry; (None, None, None) for a name that exists."""
    alias_rule = table.BUILTIN_ALIASES.get(name)
    if alias_rule is not None:
        return NumpyRemovedAlias, alias_rule, None
    removed = table.REMOVED_NAMES.get(name)
    return (Numpy2RemovedName if removed is not None else None), None, removed


def _no_fix() -> Optional[Fix]:
    return None


def _fix_allowed(removed: table.Removed, settings) -> bool:
    needs = removed.fix_needs
    if needs is None:
        return True
    return settings.numpy_min is not None and tuple(settings.numpy_min) >= needs


def _removed_message(shown: str, removed: table.Removed, module: str) -> str:
    advice = removed.advice.format(np=module)
    if removed.deprecated_in:
        return (f"`{shown}` was deprecated in NumPy {removed.deprecated_in} and removed in NumPy "
                f"{removed.removed_in}: {advice}")
    return f"`{shown}` was removed in the NumPy {removed.removed_in} release: {advice}"


def _removed_module(module: str) -> Optional[Tuple[str, str]]:
    for name, advice in table.REMOVED_MODULES.items():
        if module == name or module.startswith(name + "."):
            return name, advice
    return None


def _module_message(removed_module: Tuple[str, str]) -> str:
    name, advice = removed_module
    return f"`{name}` was removed in the NumPy 2.0 release: {advice}"


def _source(settings) -> str:
    return f" ({settings.numpy_source})" if getattr(settings, "numpy_source", "") else ""
