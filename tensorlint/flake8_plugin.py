"""flake8 adaptor: flake8 hands us the file's lines; we hand back 0-based columns (flake8 adds 1)."""
from __future__ import annotations

from typing import Iterator, List, Tuple

import libcst as cst

from . import __version__
from .engine import lint
from .rules import ALL_RULES


class TensorlintChecker:
    name = "tensorlint"
    version = __version__

    # flake8 classifies plugins by their parameters: `tree` makes this an AST plugin. We do not
    # use the ast tree (libcst parses `lines`), but flake8 has already built it anyway.
    def __init__(self, tree: object, lines: List[str], filename: str) -> None:
        self.lines = lines
        self.filename = filename

    def run(self) -> Iterator[Tuple[int, int, str, type]]:
        source = "".join(self.lines)
        # flake8 applies --select/--ignore and `# noqa` itself, so report every code.
        codes = frozenset(rule.code for rule in ALL_RULES)
        try:
            diagnostics = lint(source, codes)
        except (cst.ParserSyntaxError, RecursionError):
            return  # flake8 reports E999 for the syntax error itself
        for diagnostic in diagnostics:
            yield diagnostic.line, diagnostic.col, f"{diagnostic.code} {diagnostic.message}", type(self)


__all__ = ["TensorlintChecker"]
