"""What runs after a statement, in source order, to the end of its function: the units a same-function flow
search reads (analysis/non_blocking.py, analysis/views.py), and the names each unit reads and binds.

A unit is a small statement or a compound statement's header (`Header`: an `if`/`while` test, a `for`'s iterable
and target, a `with` item); blocks follow their header, every branch in source order (a search that stops at
something on one branch stops for what follows, which keeps it on the silent side). Nested functions, classes
and lambdas are other scopes and are skipped. From inside a loop the search goes on after the loop: the next
iteration is not followed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple

import libcst as cst

from tensorlint.analysis.imports import dotted_name

SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)


def loads(unit: cst.CSTNode, aliases: Set[str], parents: Dict[int, cst.CSTNode]) -> Iterator[cst.BaseExpression]:
    """Reads (not stores) of an alias in the unit, outermost first, outside nested scopes."""
    stack = [unit]
    while stack:
        node = stack.pop()
        if isinstance(node, SCOPES) and node is not unit:
            continue
        if isinstance(node, (cst.Name, cst.Attribute)) and dotted_name(node) in aliases and not _stored(node, parents):
            yield node
            continue
        stack.extend(reversed(node.children))


def _stored(node: cst.CSTNode, parents: Dict[int, cst.CSTNode]) -> bool:
    child = node
    parent = parents.get(id(child))
    while isinstance(parent, (cst.Element, cst.StarredElement, cst.Tuple, cst.List)):
        child, parent = parent, parents.get(id(parent))
    if isinstance(parent, (cst.AssignTarget, cst.CompFor, cst.AnnAssign, Header)):
        return getattr(parent, "target", None) is child
    return isinstance(parent, (cst.AsName, cst.Del))


def rebound(unit: cst.CSTNode) -> Set[str]:
    """Names and dotted attributes the unit binds (assignments, `for`/`with` targets, `del`)."""
    found: Set[str] = set()
    targets: List[cst.CSTNode] = []
    if isinstance(unit, cst.Assign):
        targets = [t.target for t in unit.targets]
    elif isinstance(unit, (cst.AnnAssign, cst.AugAssign)):
        targets = [unit.target]
    elif isinstance(unit, cst.Del):
        targets = [unit.target]
    elif isinstance(unit, Header) and unit.target is not None:
        targets = [unit.target]
    while targets:
        target = targets.pop()
        if isinstance(target, (cst.Tuple, cst.List)):
            targets.extend(e.value for e in target.elements)
        elif isinstance(target, cst.StarredElement):
            targets.append(target.value)
        else:
            name = dotted_name(target)
            if name:
                found.add(name)
    return found


@dataclass(frozen=True)
class Header:
    """A compound statement's header, scanned as one unit before its blocks: an `if`/`while` test (a truth test of
    what it holds), a `for`'s iterable and target, a `with` item."""
    children: Tuple[cst.CSTNode, ...]
    test: bool = False
    target: Optional[cst.BaseExpression] = None


def following_units(ancestors: Sequence[cst.CSTNode], index: int) -> Iterator[cst.CSTNode]:
    """What runs after the statement `ancestors[index]`, in source order, up to the end of its function."""
    for position in range(index, 0, -1):
        child, holder = ancestors[position], ancestors[position - 1]
        if isinstance(holder, SCOPES):
            return
        body = _statements_of(holder)
        if body is not None and any(item is child for item in body):
            after = False
            for item in body:
                if after:
                    yield from _units(item)
                after = after or item is child


def _statements_of(holder: cst.CSTNode) -> Optional[Sequence[cst.CSTNode]]:
    if isinstance(holder, (cst.Module, cst.IndentedBlock, cst.SimpleStatementLine, cst.SimpleStatementSuite)):
        return holder.body
    return None


def _units(statement: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """A statement as the units scanned in order: small statements, and a compound's header then its blocks."""
    if isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
        yield from statement.body
        return
    if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
        return
    if isinstance(statement, (cst.If, cst.While)):
        yield Header((statement.test,), test=True)
    elif isinstance(statement, cst.For):
        yield Header((statement.iter, statement.target), target=statement.target)
    elif isinstance(statement, cst.With):
        for item in statement.items:
            yield Header((item.item,), target=item.asname.name if item.asname is not None else None)
    elif isinstance(statement, getattr(cst, "Match", ())):
        yield Header((statement.subject,))
    for block in _blocks(statement):
        for item in _statements_of(block) or ():
            yield from _units(item)


def _blocks(statement: cst.CSTNode) -> Iterator[cst.CSTNode]:
    body = getattr(statement, "body", None)
    if isinstance(body, cst.BaseSuite):
        yield body
    for handler in getattr(statement, "handlers", ()) or ():
        yield handler.body
    for case in getattr(statement, "cases", ()) or ():
        yield case.body
    orelse = getattr(statement, "orelse", None)
    while isinstance(orelse, cst.If):  # `elif`
        yield orelse.body
        orelse = orelse.orelse
    if isinstance(orelse, cst.Else):
        yield orelse.body
    final = getattr(statement, "finalbody", None)
    if isinstance(final, cst.Finally):
        yield final.body


def statement_index(ancestors: Sequence[cst.CSTNode]) -> Optional[int]:
    """Index in `ancestors` of the small statement (or compound statement) that holds the copy."""
    for index in range(len(ancestors) - 1, -1, -1):
        node = ancestors[index]
        if isinstance(node, SCOPES):
            return None
        if isinstance(node, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
            return index
    return None


def nodes_of(unit) -> Iterator[cst.CSTNode]:
    """The unit's nodes, outside nested scopes."""
    return nodes_under(unit) if isinstance(unit, Header) else _nodes_from([unit])


def nodes_under(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The nodes under `node` (a function's or module's body, a header's parts), outside nested scopes."""
    return _nodes_from(list(node.children))


def _nodes_from(stack: List[cst.CSTNode]) -> Iterator[cst.CSTNode]:
    while stack:
        node = stack.pop()
        if isinstance(node, SCOPES):
            continue
        yield node
        stack.extend(node.children)


def first_use(unit: cst.CSTNode, aliases: Set[str], use_of: Callable) -> Optional[object]:
    """Follow the names `aliases` through one unit: `use_of(node, parents, name)` of each load of them gives what a
    rule looks for (returned at once) or the names the value is bound to next (a set); then `aliases` becomes the
    names that still hold the value after the unit (those it rebinds drop out). None when nothing was found."""
    parents = parents_of(unit)
    added: Set[str] = set()
    for node in loads(unit, aliases, parents):
        use = use_of(node, parents, dotted_name(node) or "")
        if not isinstance(use, set):
            return use
        added |= use
    aliases -= rebound(unit) - added
    aliases |= added
    return None


def basic_index(subscript: cst.Subscript) -> bool:
    """`t[0]`, `t[-1]`, `t[1:]`, `t[..., :3]`, `t[None]`: basic indexing, which returns a view of the same memory
    (an index array or a mask copies)."""
    for element in subscript.slice:
        inner = element.slice
        if isinstance(inner, cst.Slice):
            continue
        value = inner.value
        if isinstance(value, cst.UnaryOperation) and isinstance(value.expression, cst.Integer):
            continue
        if isinstance(value, (cst.Integer, cst.Ellipsis)) or isinstance(value, cst.Name) and value.value == "None":
            continue
        return False
    return True


def parents_of(root) -> Dict[int, cst.CSTNode]:
    parents: Dict[int, cst.CSTNode] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        for child in node.children:
            parents[id(child)] = node
            stack.append(child)
    return parents


__all__ = ["Header", "SCOPES", "basic_index", "first_use", "following_units", "loads", "nodes_of", "parents_of", "rebound", "statement_index"]
