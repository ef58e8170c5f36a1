"""Character offsets of every node, from one code-generation pass that only counts characters.

libcst's `PositionProvider` computes the same spans but builds line/column objects for every node and splits
every token on newlines; on a 50,000-line file that cost 13× a plain `module.code`. Here each token only adds
its length, and a node's span is two integers; lines and columns are computed for the few reported nodes.
The spans are the syntactic ones of `PositionProvider` (`tests/core/test_positions.py` compares them node by node).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import libcst as cst
from libcst._nodes.internal import CodegenState

from tensorlint.core.line_index import LineIndex

Span = Tuple[int, int]


class _OffsetCodegenState(CodegenState):
    def __init__(self, module: cst.Module) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.offset = 0
        self.dropped = ""
        # by id(node): libcst's own __hash__ is a Python call per lookup
        self.spans: Dict[int, Span] = {}
        self._starts: List[int] = []

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.offset += len(token)
        self.tokens.extend(self.indent_tokens)

    def add_token(self, value: str) -> None:
        self.offset += len(value)
        self.tokens.append(value)

    def pop_trailing_newline(self) -> None:
        # libcst generates a file's last newline and then drops it; its positions still count it
        if self.tokens:
            self.dropped = self.tokens.pop()

    def before_codegen(self, node: cst.CSTNode) -> None:
        self._starts.append(self.offset)

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self._starts.pop()
        key = id(node)
        if key not in self.spans:  # a syntactic span, recorded inside, wins
            self.spans[key] = (start, self.offset)

    def record_syntactic_position(self, node: cst.CSTNode, *, start_node: Optional[cst.CSTNode] = None,
                                  end_node: Optional[cst.CSTNode] = None) -> "_SyntacticSpan":
        return _SyntacticSpan(self, node, start_node, end_node)


class _SyntacticSpan:
    """`record_syntactic_position`'s context: libcst enters one per node, so it is a plain object, not a
    generator-based context manager (a third of the pass went to contextlib)."""
    __slots__ = ("state", "node", "start_node", "end_node", "start")

    def __init__(self, state: _OffsetCodegenState, node: cst.CSTNode, start_node: Optional[cst.CSTNode],
                 end_node: Optional[cst.CSTNode]) -> None:
        self.state, self.node, self.start_node, self.end_node = state, node, start_node, end_node

    def __enter__(self) -> None:
        self.start = self.state.offset

    def __exit__(self, *exception: object) -> None:
        state = self.state
        spans = state.spans
        spans[id(self.node)] = (spans[id(self.start_node)][0] if self.start_node is not None else self.start,
                                spans[id(self.end_node)][1] if self.end_node is not None else state.offset)


class NodePositions:
    """Line/column spans of nodes, exactly as libcst's `PositionProvider` gives them (1-based lines, 0-based
    columns counted in characters of the generated code), from one counting pass over the tree."""

    def __init__(self, module: cst.Module) -> None:
        state = _OffsetCodegenState(module)
        module._codegen(state)
        self._spans = state.spans
        self.code = "".join(state.tokens) + state.dropped  # what the positions count in
        self._index = LineIndex(self.code)

    def _line_column(self, offset: int) -> Tuple[int, int]:
        row, column = self._index.position(offset)
        return row + 1, column

    def span(self, node: cst.CSTNode) -> Tuple[int, int, int, int]:
        start, end = self._spans[id(node)]
        return (*self._line_column(start), *self._line_column(end))
