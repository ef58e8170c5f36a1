"""Walk a libcst tree for a read-only visitor without rebuilding it.

`node.visit(visitor)` rebuilds every node it passes (libcst's `_visit_and_replace_children`
constructs and validates a new instance per node, even for a `CSTVisitor` that changes nothing),
which costs more than parsing the file. `walk(node, visitor)` makes the same `on_visit` /
`on_leave` calls, in the same order, on the original nodes, minus two things no rule needs:

- whitespace, comments and punctuation (`TRIVIA`) are not visited;
- the attribute hooks (`visit_<Node>_<field>`) are not called.

The order of a node's children is libcst's own: it is learnt once per node type and set of
present fields by letting `_visit_and_replace_children` run on one node with a visitor that
records the children and does not descend. `tests/test_walk.py` checks that the calls match
`node.visit` on real code.
"""
from __future__ import annotations

import dataclasses
import typing
from typing import Dict, Iterator, List, Tuple

import libcst as cst

TRIVIA: typing.FrozenSet[type] = frozenset({
    cst.SimpleWhitespace, cst.ParenthesizedWhitespace, cst.TrailingWhitespace, cst.Newline, cst.EmptyLine,
    cst.Comment, cst.Comma, cst.Dot, cst.Colon, cst.Semicolon, cst.AssignEqual,
    cst.LeftParen, cst.RightParen, cst.LeftSquareBracket, cst.RightSquareBracket,
    cst.LeftCurlyBrace, cst.RightCurlyBrace,
})
_TRIVIA_BASES = tuple(TRIVIA) + (cst.BaseParenthesizableWhitespace,)

# Per node type: the fields that may hold non-trivia children. Per (type, fields present): their order.
_FIELDS: Dict[type, Tuple[str, ...]] = {}
_ORDERS: Dict[Tuple[type, Tuple[str, ...]], Tuple[str, ...]] = {}


def walk(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """`node.visit(visitor)` for a visitor that changes nothing, without rebuilding the tree."""
    if visitor.on_visit(node):
        for child in children(node):
            walk(child, visitor)
    visitor.on_leave(node)


def children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The node's children other than trivia, in libcst's visiting order."""
    cls = type(node)
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = _FIELDS[cls] = _child_fields(cls)
    present = tuple(name for name in fields if _holds_nodes(getattr(node, name)))
    order = _ORDERS.get((cls, present))
    if order is None:
        order = _ORDERS[(cls, present)] = _visiting_order(node, present)
    for name in order:
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            if type(value) not in TRIVIA:
                yield value
        else:
            for child in value:
                if type(child) not in TRIVIA:
                    yield child


def _holds_nodes(value: object) -> bool:
    return isinstance(value, cst.CSTNode) or (isinstance(value, (tuple, list)) and bool(value))


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


def _visiting_order(node: cst.CSTNode, present: Tuple[str, ...]) -> Tuple[str, ...]:
    """The order in which libcst visits the `present` fields of this node."""
    owner = {}
    for name in present:
        value = getattr(node, name)
        for child in [value] if isinstance(value, cst.CSTNode) else value:
            owner[id(child)] = name
    recorder = _Recorder()
    node._visit_and_replace_children(recorder)  # the one rebuild per (type, fields present)
    order = dict.fromkeys(owner[id(child)] for child in recorder.seen if id(child) in owner)
    missing = [name for name in present if name not in order]
    if missing:  # a field libcst does not visit would be a new libcst node layout: fail loudly
        raise RuntimeError(f"{type(node).__name__}: libcst does not visit {missing}")
    return tuple(order)


__all__ = ["TRIVIA", "children", "walk"]
