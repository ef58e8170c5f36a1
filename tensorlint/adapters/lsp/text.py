"""Positions and edits in a document's text, tested on their own (positions in the client's units come from
pygls' position codec)."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from typing import List, Optional, Tuple

from pygls.workspace.position_codec import PositionCodec

from tensorlint.core.add_noqa import noqa_edits
from tensorlint.core.diagnostics import Diagnostic, physical_lines
from tensorlint.core.line_index import LineIndex
from tensorlint.core.noqa import without_suppressed


# ------------------------------------------------------------------ positions

class Lines(LineIndex):
    """A document's lines, with (line, character) positions in the client's units: UTF-16 code units unless
    the client agreed on UTF-8 or UTF-32."""

    __slots__ = ("encoding", "codec")

    def __init__(self, source: str, encoding: str = "utf-16") -> None:
        super().__init__(source)
        self.encoding = encoding
        self.codec = PositionCodec(encoding)

    @property
    def source(self) -> str:
        return self.text

    def position(self, offset: int) -> Tuple[int, int]:
        """Character offset → (line, character) in client units, both 0-based."""
        offset = max(0, min(offset, len(self.text)))
        row, column = super().position(offset)
        return row, self.codec.client_num_units(self.text[offset - column:offset])

    def offset(self, line: int, character: int) -> int:
        """(line, character) in client units → character offset, clamped to the line's text."""
        if line < 0:
            return 0
        if line >= len(self.lines):
            return len(self.text)
        text = self.lines[line].rstrip("\r\n")
        units = 0
        for index, char in enumerate(text):
            if units >= character:
                return self.starts[line] + index
            units += self.codec.client_num_units(char)
        return self.starts[line] + len(text)


# ------------------------------------------------------------------ edits

@dataclass(frozen=True)
class TextChange:
    start: int
    end: int
    text: str


def minimal_changes(old: str, new: str) -> List[TextChange]:
    """Non-overlapping replacements turning `old` into `new`: a line diff, trimmed to the changed characters."""
    old_index = LineIndex(old)
    old_lines, new_lines, starts = old_index.lines, physical_lines(new), old_index.starts
    changes = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        start, end, text = starts[i1], starts[i2], "".join(new_lines[j1:j2])
        before = old[start:end]
        # Trim the common end first: `x.numpy()` → `x.detach().numpy()` inserts `.detach()`, not `detach().`.
        suffix = 0
        while suffix < min(len(before), len(text)) and before[-1 - suffix] == text[-1 - suffix]:
            suffix += 1
        prefix = 0
        while prefix < min(len(before), len(text)) - suffix and before[prefix] == text[prefix]:
            prefix += 1
        changes.append(TextChange(start + prefix, end - suffix, text[prefix:len(text) - suffix]))
    return changes


def noqa_change(source: str, diagnostic: Diagnostic) -> Optional[TextChange]:
    """Append `  # noqa: CODE` to the finding's line, or add CODE to the `# noqa: ...` comment already there
    (on the last line of a multi-line string or continued line: see `tensorlint.core.add_noqa`).

    None where flake8 would still not honour it (the line's first `# noqa` is inside a string), or
    where the text does not tokenize.
    """
    edits = noqa_edits(source, [(diagnostic.line, diagnostic.code)])
    if not edits:
        return None
    change = TextChange(edits[0].start, edits[0].end, edits[0].text)
    after = source[:change.start] + change.text + source[change.end:]
    return change if not without_suppressed(after, [diagnostic]) else None


def noqa_change_within(source: str, lines: Lines, diagnostic: Diagnostic, first: int, last: int
                       ) -> Optional[TextChange]:
    """`noqa_change` worked out on lines `first`..`last` (0-based) only: a whole top-level statement,
    where tokenizing starts and ends in the state it has in the whole text, so the answer is the
    same for a fraction of the time (the editor asks on every cursor move)."""
    base = lines.starts[first]
    window = source[base:lines.starts[last + 1]]
    change = noqa_change(window, replace(diagnostic, line=diagnostic.line - first, fix=None))
    return None if change is None else TextChange(change.start + base, change.end + base, change.text)
