"""Positions and edits in a document's text: no pygls needed, so they are tested on their own."""
from __future__ import annotations

import bisect
import difflib
from dataclasses import dataclass, replace
from typing import List, Optional, Tuple

from tensorlint.core.add_noqa import noqa_edits
from tensorlint.core.diagnostics import Diagnostic, physical_lines
from tensorlint.core.noqa import without_suppressed


# ------------------------------------------------------------------ positions (no pygls needed)

def _units(text: str, encoding: str) -> int:
    """Length of `text` in the client's position units."""
    if encoding == "utf-32":
        return len(text)
    if encoding == "utf-8":
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)  # UTF-16: two units above the BMP


class Lines:
    """A document's physical lines (split where Python and LSP both split: \\r\\n, \\r, \\n)."""

    def __init__(self, source: str, encoding: str = "utf-16") -> None:
        self.source = source
        self.encoding = encoding
        self.lines = physical_lines(source)
        starts, total = [0], 0
        for line in self.lines:
            total += len(line)
            starts.append(total)
        self.starts = starts  # starts[i]: offset of line i; starts[-1] == len(source)

    def position(self, offset: int) -> Tuple[int, int]:
        """Character offset → (line, character) in client units, both 0-based."""
        offset = max(0, min(offset, len(self.source)))
        line = bisect.bisect_right(self.starts, offset) - 1
        if line >= len(self.lines):  # the end of a text that ends with a newline (or of an empty text)
            if self.lines and not self.lines[-1].endswith(("\n", "\r")):
                line = len(self.lines) - 1
            else:
                return len(self.lines), 0
        return line, _units(self.source[self.starts[line]:offset], self.encoding)

    def offset(self, line: int, character: int) -> int:
        """(line, character) in client units → character offset, clamped to the line's text."""
        if line < 0:
            return 0
        if line >= len(self.lines):
            return len(self.source)
        text = self.lines[line].rstrip("\r\n")
        units = 0
        for index, char in enumerate(text):
            if units >= character:
                return self.starts[line] + index
            units += _units(char, self.encoding)
        return self.starts[line] + len(text)

    def line_end(self, line: int) -> int:
        """Offset of the end of 0-based `line`'s text, before its line ending."""
        return self.starts[line] + len(self.lines[line].rstrip("\r\n"))


# ------------------------------------------------------------------ edits (no pygls needed)

@dataclass(frozen=True)
class TextChange:
    start: int
    end: int
    text: str


def minimal_changes(old: str, new: str) -> List[TextChange]:
    """Non-overlapping replacements turning `old` into `new`: a line diff, trimmed to the changed characters."""
    old_lines, new_lines = physical_lines(old), physical_lines(new)
    starts = [0]
    for line in old_lines:
        starts.append(starts[-1] + len(line))
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
