"""Code that runs only where a NumPy name exists, or that handles its absence (compatibility code).

A use of `np.<name>` is guarded when it sits in a branch a test about that name or the NumPy version
selects (`if hasattr(np, "trapezoid")`, `if np.__version__ >= "2"`, a flag assigned from such a test,
`a if NP2 else b`, `x and np.<name>`), after an `if` that leaves when the name is missing, in the body of
a `try` that catches the missing name's AttributeError/ImportError (or anything), in the fallback of
`except AttributeError:`, or under `contextlib.suppress(AttributeError)`. A guard around a definition does
not guard the calls of what it defines: `try`/`with` guards stop at a function boundary.
"""
from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Sequence

import libcst as cst

from tensorlint.analysis.imports import ImportMap, dotted_name

# Where a name in a test means "this code depends on the NumPy version".
VERSION_ATTRIBUTES = frozenset({
    "numpy.__version__", "numpy.version", "numpy.version.version", "numpy.version.full_version",
    "numpy.version.short_version", "numpy.lib.NumpyVersion",
})
# Exceptions a `try:` may catch around a possibly missing name.
MISSING_NAME_ERRORS = frozenset({"AttributeError", "ImportError", "ModuleNotFoundError"})
BROAD_ERRORS = frozenset({"Exception", "BaseException"})


class NumpyNameGuards:
    """Judges, for one file, whether a place is compatibility code for a NumPy name.

    `record_assignment` must see every assignment as the walk meets it: a version flag is a name
    assigned *so far* from a version test (`NP2 = np.__version__ >= "2"`, `OLD = not NP2`), and each
    flag's verdict is kept once asked.
    """

    def __init__(self, imports: ImportMap) -> None:
        self._imports = imports
        self._assigned: Dict[str, List[cst.BaseExpression]] = {}
        self._version_flags: Dict[str, bool] = {}

    def record_assignment(self, name: str, value: cst.BaseExpression) -> None:
        self._assigned.setdefault(name, []).append(value)

    def in_compat_code(self, path: Sequence[cst.CSTNode], name: str) -> bool:
        """Is the last node of `path` (the ancestors from the module down) in code that only runs when
        `numpy.<name>` (or the module `name`) exists, or that handles its absence?"""
        crossed_function = False
        for index in range(len(path) - 1, 0, -1):
            child, parent = path[index], path[index - 1]
            if isinstance(parent, (cst.If, cst.IfExp)):
                if child is not parent.test and self._guards(parent.test, name, child is parent.body):
                    return True
            elif isinstance(parent, cst.BooleanOperation):
                if child is parent.right and self._guards(parent.left, name, isinstance(parent.operator, cst.And)):
                    return True
            elif isinstance(parent, (cst.Try, cst.TryStar)):
                if child is parent.body and not crossed_function and \
                        any(catches_missing_name(h.type, broad=True) for h in parent.handlers):
                    return True
            elif isinstance(parent, (cst.ExceptHandler, cst.ExceptStarHandler)):
                # the fallback of `try: <new name> except AttributeError: <old name>`
                if child is parent.body and catches_missing_name(parent.type, broad=False):
                    return True
            elif isinstance(parent, cst.With):
                if child is parent.body and not crossed_function and \
                        any(_suppresses(item.item) for item in parent.items):
                    return True
            elif isinstance(parent, (cst.FunctionDef, cst.Lambda)):
                crossed_function = True  # a guard around a definition does not guard the call
            if isinstance(parent, (cst.IndentedBlock, cst.Module)) and self._after_exit_guard(parent.body, child, name):
                return True
        return False

    def _after_exit_guard(self, statements, current: cst.CSTNode, name: str) -> bool:
        """`if hasattr(np, "trapezoid"): return np.trapezoid(y)` before the current statement."""
        for stmt in statements:
            if stmt is current:
                return False
            if isinstance(stmt, cst.If) and stmt.orelse is None and always_exits(stmt.body) \
                    and self._guards(stmt.test, name, False):
                return True
        return False

    def _guards(self, test: cst.BaseExpression, name: str, truth: bool) -> bool:
        """Does `test` having value `truth` mean `np.<name>` exists, or is `test` about the NumPy version?"""
        return self._implies_present(test, name, truth) or \
            any(self._version_evidence(node, name) for node in _descendants(test))

    def _implies_present(self, test: cst.BaseExpression, name: str, truth: bool) -> bool:
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            return self._implies_present(test.expression, name, not truth)
        if isinstance(test, cst.BooleanOperation):
            if isinstance(test.operator, cst.And) and truth:
                return any(self._implies_present(side, name, True) for side in (test.left, test.right))
            if isinstance(test.operator, cst.Or) and not truth:
                return any(self._implies_present(side, name, False) for side in (test.left, test.right))
            return False
        return truth and self.hasattr_numpy(test) == name

    def hasattr_numpy(self, node: cst.CSTNode) -> Optional[str]:
        """"X" for `hasattr(np, "X")`."""
        if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "hasattr"
                and len(node.args) >= 2):
            return None
        if self._imports.qualified(node.args[0].value) not in ("numpy", "numpy.lib"):
            return None
        return string_value(node.args[1].value)

    def _version_evidence(self, node: cst.CSTNode, name: Optional[str]) -> bool:
        """Is this part of a test about the NumPy version (`np.__version__`, `NumpyVersion`, a flag)?"""
        if isinstance(node, cst.Name) and self._is_version_flag(node.value):
            return True
        if isinstance(node, (cst.Name, cst.Attribute)):
            return self._imports.qualified(node) in VERSION_ATTRIBUTES
        if isinstance(node, cst.Call):
            probed = self.hasattr_numpy(node)
            if probed is not None:
                return probed != name  # `hasattr(np, "trapezoid")` tells the version
            func = dotted_name(node.func) or ""
            return func.rsplit(".", 1)[-1] in ("version", "get_distribution") and \
                any(string_value(arg.value) == "numpy" for arg in node.args)
        return False

    def _is_version_flag(self, name: str) -> bool:
        """`NP2 = np.__version__ >= "2"`, `OLD = not NP2`: a name assigned (so far) from a version test."""
        known = self._version_flags.get(name)
        if known is None and name in self._assigned:
            self._version_flags[name] = False  # cycles (`a = b`, `b = a`) are no evidence
            known = any(self._version_evidence(node, None) for value in self._assigned.get(name, ())
                        for node in _descendants(value))
            self._version_flags[name] = known
        return bool(known)


def catches_missing_name(handler_type: Optional[cst.BaseExpression], broad: bool) -> bool:
    """Does an `except` clause of this type catch the AttributeError/ImportError of a missing name?
    A bare `except:` (None), and with `broad` an `except Exception:`, does."""
    if handler_type is None:
        return broad
    accepted = MISSING_NAME_ERRORS | (BROAD_ERRORS if broad else frozenset())
    return any(name in accepted for name in _error_names(handler_type))


def always_exits(block: cst.BaseSuite) -> bool:
    """Does the block end with `return`, `raise`, `continue` or `break`?"""
    if isinstance(block, cst.SimpleStatementSuite):  # `if x: return`
        small = block.body
    else:
        last = block.body[-1] if block.body else None
        small = last.body if isinstance(last, cst.SimpleStatementLine) else ()
    return bool(small) and isinstance(small[-1], (cst.Return, cst.Raise, cst.Continue, cst.Break))


def string_value(node: cst.CSTNode) -> Optional[str]:
    """The text of a plain string literal (`"X"`); None for anything else, bytes included."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _suppresses(expression: cst.BaseExpression) -> bool:
    """`contextlib.suppress(AttributeError)`"""
    if not isinstance(expression, cst.Call):
        return False
    func = dotted_name(expression.func) or ""
    return func.rsplit(".", 1)[-1] == "suppress" and \
        any(catches_missing_name(arg.value, broad=False) for arg in expression.args)


def _error_names(expression: Optional[cst.BaseExpression]) -> Iterator[str]:
    if isinstance(expression, cst.Tuple):
        for element in expression.elements:
            yield from _error_names(element.value)
    elif expression is not None:
        name = dotted_name(expression)
        if name is not None:
            yield name.rsplit(".", 1)[-1]


def _descendants(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    yield node
    for child in node.children:
        yield from _descendants(child)
