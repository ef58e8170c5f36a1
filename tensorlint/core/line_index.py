"""Offsets in a text and (line, column) positions, one mapping for every place that converts between them.

Lines are physical lines, split where Python and LSP both split (`\\r\\n`, `\\r`, `\\n`); columns count characters.
Rows are 0-based here; a `Diagnostic`'s line is the row plus one. Kept free of libcst: the command line's output
and `--add-noqa` use it before (or without) any parse.
"""
from __future__ import annotations

import bisect
from typing import List, Optional, Sequence, Tuple

from tensorlint.core.diagnostics import physical_lines

_LINE_BREAKS = ("\n", "\r")


class LineIndex:
    """A text's physical lines and the offset each starts at."""

    __slots__ = ("text", "lines", "starts")

    def __init__(self, text: str, lines: Optional[Sequence[str]] = None) -> None:
        """`lines`, when given, are the text's lines as the caller split it (they join to `text`)."""
        self.text = text
        self.lines: List[str] = physical_lines(text) if lines is None else list(lines)
        starts, total = [0], 0
        for line in self.lines:
            total += len(line)
            starts.append(total)
        self.starts = starts  # starts[row]: the offset row `row` starts at; starts[-1] == len(text)

    def row(self, offset: int) -> int:
        """The row `offset` lies in; `len(lines)` for the end of a text that ends with a line break (or is empty)."""
        return bisect.bisect_right(self.starts, offset) - 1

    def position(self, offset: int) -> Tuple[int, int]:
        """(row, column) of `offset` (0 <= offset <= len(text)). The end of a text whose last line has no line
        break is on that line; after a final line break it is (len(lines), 0)."""
        row = self.row(offset)
        if row == len(self.lines) and self.lines and not self.lines[-1].endswith(_LINE_BREAKS):
            row -= 1
        return row, offset - self.starts[row]

    def offset(self, row: int, column: int) -> int:
        """The offset of `column` in `row`, kept within the row (its line break included); past the last row,
        the end of the text."""
        if row >= len(self.starts) - 1:
            return self.starts[-1]
        return min(self.starts[row] + column, self.starts[row + 1])

    def line_end(self, row: int) -> int:
        """The offset where `row`'s text ends, before its line break."""
        return self.starts[row] + len(self.lines[row].rstrip("\r\n"))
