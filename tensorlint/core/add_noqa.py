"""`# noqa: CODE` comments written where flake8 (and `tensorlint.core.noqa`) read them, for
`tensorlint check --add-noqa` and the editor's "Ignore ... for this line" action.

flake8 searches for `noqa` in the physical lines of one tokenize group: the tokens up to a NEWLINE
or NL token, so a multi-line string or a backslash continuation counts as one line, while each line
inside brackets is its own. A comment can only end such a group, so the comment for a finding goes
on the group's last line:

* no comment there: `  # noqa: TL101, TL102` is appended (the line's trailing blanks give way to it);
* a `# noqa: CODES` comment there: the missing codes are added after its codes (`# noqa: E501, TL101`);
* any other comment (`# type: ignore`): `  # noqa: ...` follows it, where flake8 still finds it.

Only that line changes; every other byte (encoding, BOM, line endings) is the caller's to keep,
which `safe_io.write_source_file` does. Edits are character offsets into the text given.
"""
from __future__ import annotations

import io
import re
import tokenize
from typing import Dict, Iterable, List, Optional, Set, Tuple

from tensorlint.core.diagnostics import Edit
from tensorlint.core.line_index import LineIndex
from tensorlint.core.noqa import NOQA_COMMENT

_SEPARATORS = re.compile(r"[,\s]+")


def comment_lines(source: str) -> Optional[Tuple[Dict[int, int], Dict[int, int]]]:
    """(1-based line → the last line of its tokenize group, last line → column of its comment);
    None when the text does not tokenize."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    last_line: Dict[int, int] = {}
    comments: Dict[int, int] = {}
    low, high = None, -1
    for token in tokens:
        if token.type in (tokenize.ENDMARKER, tokenize.DEDENT):
            continue
        low = token.start[0] if low is None else min(low, token.start[0])
        high = max(high, token.end[0])
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.start[1]
        if token.type in (tokenize.NL, tokenize.NEWLINE):
            for number in range(low, high + 1):
                last_line[number] = high
            low, high = None, -1
    return last_line, comments


def noqa_edits(source: str, findings: Iterable[Tuple[int, str]]) -> List[Edit]:
    """One edit per line that needs one, silencing each `(line, code)` of `findings`; [] when the
    text does not tokenize (a file that does not parse is never edited)."""
    layout = comment_lines(source)
    if layout is None:
        return []
    last_line, comments = layout
    wanted: Dict[int, Set[str]] = {}
    for line, code in findings:
        wanted.setdefault(last_line.get(line, line), set()).add(code)
    index = LineIndex(source)
    lines, starts = index.lines, index.starts
    edits = []
    for line in sorted(wanted):
        if not 1 <= line <= len(lines):
            continue
        body = lines[line - 1].rstrip("\r\n")
        edit = _line_edit(body, wanted[line], comments.get(line))
        if edit is not None:
            start, end, text = edit
            edits.append(Edit(starts[line - 1] + start, starts[line - 1] + end, text))
    return edits


def _line_edit(body: str, codes: Set[str], comment: Optional[int]) -> Optional[Tuple[int, int, str]]:
    """(start, end, text) within the line `body` adding `codes`; None when nothing is missing."""
    if comment is not None:
        match = NOQA_COMMENT.search(body, comment)
        if match is not None and match.group("codes"):
            listed = {code for code in _SEPARATORS.split(match.group("codes")) if code}
            missing = sorted(codes - listed)
            if not missing:
                return None
            end = match.start("codes") + len(match.group("codes").rstrip(", \t"))
            return end, end, "".join(f", {code}" for code in missing)
    kept = len(body.rstrip(" \t"))
    return kept, len(body), "  # noqa: " + ", ".join(sorted(codes))


def apply(source: str, edits: Iterable[Edit]) -> str:
    """`source` with non-overlapping `edits` applied."""
    for edit in sorted(edits, reverse=True):
        source = source[:edit.start] + edit.text + source[edit.end:]
    return source


def add_noqa(source: str, findings: Iterable[Tuple[int, str]]) -> str:
    """`source` with the `# noqa` comments that silence every `(line, code)` of `findings`."""
    return apply(source, noqa_edits(source, findings))


def moved_to(text: str, other: str, edits: Iterable[Edit]) -> List[Edit]:
    """`edits` made against `text`, placed at the same line and column of `other`, a text with the
    same lines (a notebook cell and its masked copy, which differ only on lines edits never touch)."""
    text_index, other_starts = LineIndex(text), LineIndex(other).starts
    text_starts = text_index.starts
    moved = []
    for edit in edits:
        row = text_index.row(edit.start)
        base = other_starts[min(row, len(other_starts) - 1)]
        moved.append(Edit(base + edit.start - text_starts[row], base + edit.end - text_starts[row], edit.text))
    return moved
