"""IPython syntax in a code cell (magics, shell escapes, help, autocall) masked as neutral Python, so that the
cell parses and keeps its line numbers; the masked lines are never linted nor fixed."""
from __future__ import annotations

import ast
import io
import re
import tokenize
from typing import Optional, Sequence, Tuple

from tensorlint.core.diagnostics import physical_lines

PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})
_ESCAPES = ("%", "!", "?", ",", ";", "/")
_HELP_END = re.compile(r"[\w.*%]+\?{1,2}\Z")                       # obj?  np.linalg.norm??  %time?
_ASSIGN = re.compile(r"(?P<target>[\w.\[\]'\", ]+?)\s*=\s*[!%]")   # files = !ls   t = %timeit -o f()


def mask_ipython(source: str) -> Optional[Tuple[str, frozenset]]:
    """The source with IPython-only lines replaced by neutral Python, and which lines those are;
    None for a cell magic whose body is not Python."""
    lines = physical_lines(source)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    masked_lines = set()
    if first is not None and lines[first].startswith("%%"):
        name = lines[first][2:].split(None, 1)[0] if lines[first][2:].strip() else ""
        if name not in PYTHON_CELL_MAGICS:
            return None
        masked_lines.add(first)
        lines[first] = _replace(lines[first], "pass")
    index = 0
    checkpoint = 0  # a line where a statement starts at column 0: tokenizing may start there
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if index in masked_lines or not stripped or stripped.startswith("#"):
            index += 1
            continue
        replacement = _ipython_replacement(stripped)
        if replacement is None or not _at_statement_start(lines[checkpoint:index]):
            index += 1
            continue
        indent = line[:len(line) - len(line.lstrip(" \t"))]
        lines[index] = _replace(line, indent + replacement)
        masked_lines.add(index)
        # `!cmd \` goes on with the next line, as IPython reads it
        while line.rstrip("\r\n").endswith("\\") and index + 1 < len(lines):
            index += 1
            line = lines[index]
            lines[index] = _replace(line, "")
            masked_lines.add(index)
        index += 1
        if not indent:
            checkpoint = index
    return "".join(lines), frozenset(masked_lines)


def _ipython_replacement(stripped: str) -> Optional[str]:
    if stripped.startswith(_ESCAPES) or _HELP_END.match(stripped):
        return "pass"
    match = _ASSIGN.match(stripped)
    if match:
        target = match.group("target").strip()
        try:
            compile(f"{target} = None", "<mask>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
        except (SyntaxError, ValueError):
            return "pass"
        return f"{target} = None"
    return None


def _replace(line: str, text: str) -> str:
    body = line.rstrip("\r\n")
    return text + line[len(body):]


def _at_statement_start(previous: Sequence[str]) -> bool:
    """Does a new statement start after these (already masked) lines: no open string, bracket or `\\`?"""
    try:
        for _ in tokenize.generate_tokens(io.StringIO("".join(previous)).readline):
            pass
    except tokenize.TokenError:
        return False
    except (SyntaxError, ValueError):  # an indentation error: the cell is reported as unparsable anyway
        return True
    return True
