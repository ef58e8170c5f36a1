"""`# noqa` exactly as flake8 reads it: same regex, same line mapping, same code matching."""
from __future__ import annotations

import io
import re
import tokenize
from typing import Dict, Iterable, List

from flake8.defaults import NOQA_INLINE_REGEXP as NOQA_COMMENT  # flake8's own pattern: the two never drift

from tensorlint.core.diagnostics import Diagnostic, physical_lines

_SEPARATORS = re.compile(r"[,\s]")


def noqa_lines(source: str) -> Dict[int, str]:
    """Line number → the text flake8 searches for `noqa` (a multi-line string counts as one line)."""
    lines = physical_lines(source)
    mapping: Dict[int, str] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return {number: text for number, text in enumerate(lines, start=1)}
    low, high = len(lines) + 2, -1
    for token in tokens:
        if token.type in (tokenize.ENDMARKER, tokenize.DEDENT):
            continue
        low, high = min(low, token.start[0]), max(high, token.end[0])
        if token.type in (tokenize.NL, tokenize.NEWLINE):
            joined = "".join(lines[low - 1:high])
            for number in range(low, high + 1):
                mapping[number] = joined
            low, high = len(lines) + 2, -1
    return mapping


def is_suppressed(code: str, text: str) -> bool:
    match = NOQA_COMMENT.search(text)
    if match is None:
        return False
    codes_text = match.groupdict()["codes"]
    if codes_text is None:
        return True
    codes = {c for c in _SEPARATORS.split(codes_text) if c}
    return code in codes or code.startswith(tuple(codes))


def without_suppressed(source: str, diagnostics: Iterable[Diagnostic]) -> List[Diagnostic]:
    diagnostics = list(diagnostics)
    if not diagnostics or "noqa" not in source.lower():
        return diagnostics
    mapping = noqa_lines(source)
    lines = physical_lines(source)
    kept = []
    for diagnostic in diagnostics:
        text = mapping.get(diagnostic.line)
        if text is None:
            text = lines[diagnostic.line - 1] if diagnostic.line <= len(lines) else ""
        if not is_suppressed(diagnostic.code, text):
            kept.append(diagnostic)
    return kept
