"""Walk a libcst tree for a read-only visitor without rebuilding it.

`node.visit(visitor)` rebuilds every node it passes (libcst's `_visit_and_replace_children`
constructs and validates a new instance per node, even for a `CSTVisitor` that changes nothing),
which costs more than parsing the file. `walk(node, visitor)` makes the same `on_visit` /
`on_leave` calls, in the same order, on the original nodes, minus two things no rule needs:

- whitespace, comments and punctuation (`TRIVIA`) are not visited;
- the attribute hooks (`visit_<Node>_<field>`) are not called.

The order of a node's children is libcst's own: it is learnt once per node type and set of
present fields by letting `_visit_and_replace_children` run on one node with a visitor that
records the children and does not descend (a type with one child field needs no order).
Listing children is the walk's hot path (every pass of the analysis goes through it), hence
type checks by identity rather than `isinstance`, which libcst's ABCMeta makes slow.
`tests/analysis/test_walk.py` checks that the calls match `node.visit` on real code.
"""
from __future__ import annotations

import dataclasses
import typing
from typing import Dict, Iterator, List, Sequence, Tuple

import libcst as cst

TRIVIA: typing.FrozenSet[type] = frozenset({
    cst.SimpleWhitespace, cst.ParenthesizedWhitespace, cst.TrailingWhitespace, cst.Newline, cst.EmptyLine,
    cst.Comment, cst.Comma, cst.Dot, cst.Colon, cst.Semicolon, cst.AssignEqual,
    cst.LeftParen, cst.RightParen, cst.LeftSquareBracket, cst.RightSquareBracket,
    cst.LeftCurlyBrace, cst.RightCurlyBrace,
})
_TRIVIA_BASES = tuple(TRIVIA) + (cst.BaseParenthesizableWhitespace,)

_DEFAULT = cst.MaybeSentinel.DEFAULT


class _Plan:
    """How to list one node type's children: the fields that may hold non-trivia nodes and, per pattern
    of absent fields (None, MaybeSentinel.DEFAULT, an empty sequence), the order libcst visits the rest."""
    __slots__ = ("fields", "always_present", "orders")

    def __init__(self, cls: type) -> None:
        self.fields = _child_fields(cls)
        hints = typing.get_type_hints(cls)
        # fields that always hold one node: for a type with only those, the pattern never changes
        self.always_present = all(_always_one_node(hints[name]) for name in self.fields)
        self.orders: Dict[Tuple[bool, ...], Tuple[int, ...]] = {}


_PLANS: Dict[type, _Plan] = {}


def walk(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """`node.visit(visitor)` for a visitor that changes nothing, without rebuilding the tree."""
    if visitor.on_visit(node):
        for child in children(node):
            walk(child, visitor)
    visitor.on_leave(node)


def descendants(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """`node` and every node under it (whitespace nodes included), without recursion; in no particular order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.children)


def children(node: cst.CSTNode) -> Sequence[cst.CSTNode]:
    """The node's children other than trivia, in libcst's visiting order."""
    cls = type(node)
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _Plan(cls)
    fields = plan.fields
    if not fields:
        return ()
    if len(fields) == 1:  # nothing to order
        return _nodes_in(getattr(node, fields[0]), [])
    values = [getattr(node, name) for name in fields]
    # nodes are always true (libcst defines no __bool__ or __len__ on them)
    absent = (False,) * len(fields) if plan.always_present else \
        tuple([not value or value is _DEFAULT for value in values])
    order = plan.orders.get(absent)
    if order is None:
        order = plan.orders[absent] = _visiting_order(node, fields, values, absent)
    found: List[cst.CSTNode] = []
    for index in order:
        _nodes_in(values[index], found)
    return found


def _nodes_in(value: object, found: List[cst.CSTNode]) -> List[cst.CSTNode]:
    """`found` plus the non-trivia nodes of one field's value (a node, a sequence of them, or nothing)."""
    kind = type(value)  # `isinstance(value, cst.CSTNode)` goes through ABCMeta: once the walk's largest cost
    if kind is tuple or kind is list:
        for child in value:
            if type(child) not in TRIVIA:
                found.append(child)
    elif value is not None and value is not _DEFAULT and kind not in TRIVIA:
        found.append(value)
    return found


def _always_one_node(annotation: object) -> bool:
    """A node type or a union of them: not optional, not a sequence, no MaybeSentinel."""
    options = typing.get_args(annotation) if typing.get_origin(annotation) is typing.Union else (annotation,)
    return all(isinstance(option, type) and issubclass(option, cst.CSTNode) for option in options)


def _child_fields(cls: type) -> Tuple[str, ...]:
    """Fields whose annotation admits a node that is not trivia."""
    hints = typing.get_type_hints(cls)
    return tuple(field.name for field in dataclasses.fields(cls)
                 if any(not issubclass(node_type, _TRIVIA_BASES) for node_type in _node_types(hints[field.name])))


def _node_types(annotation: object) -> Iterator[type]:
    if isinstance(annotation, type):
        if issubclass(annotation, cst.CSTNode):
            yield annotation
        return
    for argument in typing.get_args(annotation):
        yield from _node_types(argument)


class _Recorder(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.seen: List[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.seen.append(node)
        return False


def _visiting_order(node: cst.CSTNode, fields: Tuple[str, ...], values: List[object],
                    absent: Tuple[bool, ...]) -> Tuple[int, ...]:
    """The order (indices into `fields`) in which libcst visits the fields this node has."""
    owner = {}
    for index, value in enumerate(values):
        if not absent[index]:
            for child in [value] if isinstance(value, cst.CSTNode) else value:
                owner[id(child)] = index
    recorder = _Recorder()
    node._visit_and_replace_children(recorder)  # the one rebuild per (type, fields present)
    order = dict.fromkeys(owner[id(child)] for child in recorder.seen if id(child) in owner)
    missing = [fields[index] for index in range(len(fields)) if not absent[index] and index not in order]
    if missing:  # a field libcst does not visit would be a new libcst node layout: fail loudly
        raise RuntimeError(f"{type(node).__name__}: libcst does not visit {missing}")
    return tuple(order)


__all__ = ["TRIVIA", "children", "walk"]
