"""flake8 adaptor: flake8 hands us the file's lines; we hand back 0-based columns (flake8 adds 1)."""
from __future__ import annotations

from typing import Iterator, List, Optional, Tuple

import libcst as cst
from flake8.exceptions import ExecutionError

from . import __version__
from .engine import lint
from .project import ProjectConfigError, settings_for
from .rules import ALL_RULES
from .settings import DEFAULT, parse_version


class TensorlintChecker:
    name = "tensorlint"
    version = __version__
    target_numpy: Optional[str] = None
    target_torch: Optional[str] = None

    # flake8 classifies plugins by their parameters: `tree` makes this an AST plugin. We do not
    # use the ast tree (libcst parses `lines`), but flake8 has already built it anyway.
    def __init__(self, tree: object, lines: List[str], filename: str) -> None:
        self.lines = lines
        self.filename = filename

    @classmethod
    def add_options(cls, parser) -> None:
        parser.add_option("--tensorlint-target-numpy", metavar="VERSION", parse_from_config=True,
                          help="lowest NumPy the code must run on (default: the project's metadata)")
        parser.add_option("--tensorlint-target-torch", metavar="VERSION", parse_from_config=True,
                          help="lowest torch the code must run on (default: the project's metadata)")

    @classmethod
    def parse_options(cls, options) -> None:
        for option in ("tensorlint_target_numpy", "tensorlint_target_torch"):
            value = getattr(options, option)
            if value is not None:
                try:
                    parse_version(value)
                except ValueError as error:
                    # flake8 prints an ExecutionError as one clear message, without a traceback
                    raise ExecutionError(f"--{option.replace('_', '-')}: {error}") from None
        cls.target_numpy = options.tensorlint_target_numpy
        cls.target_torch = options.tensorlint_target_torch

    def run(self) -> Iterator[Tuple[int, int, str, type]]:
        source = "".join(self.lines)
        # flake8 applies --select/--ignore and `# noqa` itself, so report every code.
        codes = frozenset(rule.code for rule in ALL_RULES)
        try:
            settings = settings_for(self.filename if self.filename not in ("-", "stdin") else ".",
                                    self.target_numpy, self.target_torch)
        except ProjectConfigError:
            settings = DEFAULT  # flake8 has no channel for a config error; the CLI reports it
        try:
            diagnostics = lint(source, codes, settings=settings)
        except (cst.ParserSyntaxError, RecursionError):
            return  # flake8 reports E999 for the syntax error itself
        for diagnostic in diagnostics:
            yield diagnostic.line, diagnostic.col, f"{diagnostic.code} {diagnostic.message}", type(self)


__all__ = ["TensorlintChecker"]
