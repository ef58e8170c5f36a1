"""One file being checked, as the checkers see it: text, tree, positions, fix-building helpers, the reports."""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Dict, FrozenSet, Iterable, List, Optional, Tuple, Union

import libcst as cst

from tensorlint.core.diagnostics import Diagnostic, Edit, Fix, Safety
from tensorlint.core.line_index import LineIndex
from tensorlint.core.positions import NodePositions
from tensorlint.core.settings import DEFAULT, Settings


class SourceContext:
    """One file being checked: its text, tree, lazily computed positions, and the reports so far."""

    def __init__(self, source: str, module: cst.Module, settings: Settings = DEFAULT) -> None:
        self.source = source
        self.module = module
        self.settings = settings
        self._positions: Optional[NodePositions] = None
        self._line_one_shift = 0
        self._line_index: Optional[LineIndex] = None
        self.diagnostics: List[Diagnostic] = []
        self._reported: Dict[Tuple[str, int, int, int, int], Tuple[int, bool]] = {}
        # Set by the checkers: the same-file call whose context the analysis is walking a helper in, if any.
        self.call_site: Optional[Callable[[], Union[cst.Call, str, None]]] = None
        self.codes: FrozenSet[str] = frozenset()  # the codes enabled for this file
        # `.data` reads that another family's finding already covers (id → None), or that it hands over to
        # be reported as the one finding of their site (id → (message, fix)).
        self._claimed: Dict[int, Optional[Tuple[str, Optional[Fix]]]] = {}

    def claim(self, nodes: Iterable[cst.CSTNode], handover: Optional[Tuple[str, Optional[Fix]]] = None) -> None:
        """Another family's finding covers these nodes; with `handover`, the first node's own family reports
        that finding (message, fix) instead: one finding per site."""
        for index, node in enumerate(nodes):
            self._claimed[id(node)] = handover if index == 0 else None

    def claimed(self, node: cst.CSTNode) -> Tuple[bool, Optional[Tuple[str, Optional[Fix]]]]:
        key = id(node)
        return key in self._claimed, self._claimed.get(key)

    # positions cost a code-generation pass over the whole file, so only files with findings pay for them
    def span(self, node: cst.CSTNode) -> Tuple[int, int, int, int]:
        if self._positions is None:
            self._positions = NodePositions(self.module)
            self._line_one_shift = _dropped_prefix(self.source, self._positions.code)
        line, column, end_line, end_column = self._positions.span(node)
        if self._line_one_shift:
            column += self._line_one_shift if line == 1 else 0
            end_column += self._line_one_shift if end_line == 1 else 0
        return line, column, end_line, end_column

    def offset(self, line: int, column: int) -> int:
        """The offset of a libcst position (1-based line, character column), which always lies within its line."""
        if self._line_index is None:
            self._line_index = LineIndex(self.source)
        return self._line_index.starts[line - 1] + column

    def start_of(self, node: cst.CSTNode) -> int:
        line, column, _, _ = self.span(node)
        return self.offset(line, column)

    def end_of(self, node: cst.CSTNode) -> int:
        _, _, line, column = self.span(node)
        return self.offset(line, column)

    def end_with_parentheses(self, node: cst.CSTNode) -> int:
        """End offset including the node's own closing parentheses (positions exclude them)."""
        offset, remaining = self.end_of(node), len(getattr(node, "rpar", ()))
        source = self.source
        # Only whitespace, comments and line continuations separate a node from its own `)`.
        while remaining:
            char = source[offset]
            if char == "#":
                offset = source.index("\n", offset)
            elif char == ")":
                remaining -= 1
            offset += 1
        return offset

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def one_line(self, node: cst.CSTNode, limit: Optional[int] = None) -> Optional[str]:
        """The node's code on one line, to name it in a message; None when longer than `limit`."""
        code = " ".join(self.code(node).split())
        return code if limit is None or len(code) <= limit else None

    def edit(self, start: int, end: int, text: str) -> Optional[Edit]:
        """An edit, or None when it would delete a comment."""
        if self.source.count("#", start, end) > text.count("#"):
            return None
        return Edit(start, end, text)

    def first_statement_index(self) -> int:
        """Index in the module body of the first statement after the docstring and `__future__` imports."""
        body = self.module.body
        index = 1 if body and _is_docstring(body[0]) else 0
        while index < len(body) and _is_future_import(body[index]):
            index += 1
        return index

    def import_edit(self, statement: str) -> Edit:
        """An edit adding `statement` (e.g. "import torch") after the docstring and `__future__` imports.

        Every fix that needs the same import gets the same edit, and `fixer.apply_edits` applies an edit
        shared by several fixes once.
        """
        body = self.module.body
        index = self.first_statement_index()
        if index < len(body):
            first = body[index]
            # a decorated def/class starts at its first `@`, not at `def` (where libcst's position is)
            decorators = getattr(first, "decorators", ())
            offset = self.offset(self.span(decorators[0] if decorators else first)[0], 0)  # (before a form feed too)
            return Edit(offset, offset, statement + self.module.default_newline)
        ending = "" if not self.source or self.source.endswith(("\n", "\r")) else self.module.default_newline
        return Edit(len(self.source), len(self.source), ending + statement + self.module.default_newline)

    def statement_indent(self, statement: cst.CSTNode) -> str:
        start = self.start_of(statement)
        line_start = max(self.source.rfind("\n", 0, start), self.source.rfind("\r", 0, start)) + 1
        return self.source[line_start:start]

    def report(self, code: str, node: cst.CSTNode, message: str, fix: Optional[Fix] = None) -> None:
        """Record a finding. One per code and place: a same-file helper walked in a caller's context may find
        again what its own walk found, and then the finding that needs no caller wins."""
        call = self.call_site() if self.call_site is not None else None
        if isinstance(call, str):  # a call in another module of the project: "`to_np(out)` at train.py:42"
            message += f" (reached from the call {call})"
        elif call is not None:
            message += f" (reached from the call `{_shortened(self.code(call))}` at line {self.span(call)[0]})"
            if fix is not None and fix.is_safe:  # right for that caller; other callers may pass something else
                fix = replace(fix, safety=Safety.UNSAFE)
        line, column, end_line, end_column = self.span(node)
        key = (code, line, column, end_line, end_column)
        earlier = self._reported.get(key)
        diagnostic = Diagnostic(
            line=line, col=column, code=code, message=message, end_line=end_line, end_col=end_column,
            start_offset=self.offset(line, column), end_offset=self.offset(end_line, end_column), fix=fix,
        )
        if earlier is None:
            self._reported[key] = (len(self.diagnostics), call is not None)
            self.diagnostics.append(diagnostic)
        elif earlier[1] and call is None:
            self._reported[key] = (earlier[0], False)
            self.diagnostics[earlier[0]] = diagnostic


def _shortened(code: str, limit: int = 60) -> str:
    code = " ".join(code.split())
    return code if len(code) <= limit else code[:limit - 3] + "..."


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
            and isinstance(statement.body[0], cst.Expr)
            and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString)))


def _is_future_import(statement: cst.CSTNode) -> bool:
    return (isinstance(statement, cst.SimpleStatementLine)
            and any(isinstance(small, cst.ImportFrom) and isinstance(small.module, cst.Name)
                    and small.module.value == "__future__" for small in statement.body))


def _dropped_prefix(source: str, generated: str) -> int:
    """Characters libcst dropped before the first statement (a form feed, U+FEFF): line 1's columns
    are that much short. 0 when the tree gives the source back exactly, or differs in another way."""
    if generated == source or not source.endswith(generated):
        return 0
    prefix = source[:len(source) - len(generated)]
    return 0 if "\n" in prefix or "\r" in prefix else len(prefix)
