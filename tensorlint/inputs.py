"""One input of a command, read as every command reads it: which codes apply, the project's
settings, the text, and whether it parses.

What goes wrong is one of two things. `Unchecked`: the file cannot be read, decoded or parsed,
which is a finding about the file (TL001/TL002, exit 1, the run goes on). `InputError`: the run
cannot handle the file for another reason (a broken configuration, a write that failed, a bug in
tensorlint), one line on stderr and exit 2.
"""
from __future__ import annotations

import ast
import os
import sys
from typing import Callable, FrozenSet, Optional, Sequence, Tuple, TypeVar

import libcst as cst

from .config import ConfigError, load_config
from .file_problems import (CODES as FILE_PROBLEM_CODES, SYNTAX_ERROR, TOO_DEEP, from_notebook_error,
                            from_parser_error, from_source_error, parse_python, problem, reported_codes,
                            suppressed_in_cell)
from .fixer import FixError
from .noqa import without_suppressed
from .notebook import NotebookError, is_notebook, parse_notebook
from .project import ProjectConfigError, settings_for
from .safe_io import SourceError, SourceFile, decode_source, newline_style, read_source_file, write_source_file
from .settings import Settings

STDIN = "-"
T = TypeVar("T")


class InputError(Exception):
    """A file the run could not handle for a reason that is not the file's content (a broken
    configuration, a write that failed, a bug in tensorlint): one line on stderr, exit status 2."""


class Unchecked(Exception):
    """The file could not be read or parsed: its TL001/TL002 finding, and whether a `# noqa` silences it."""

    def __init__(self, diagnostic, silenced: bool = False) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic
        self.silenced = silenced

    def reported(self, codes: FrozenSet[str]) -> list:
        return [self.diagnostic] if self.diagnostic.code in codes and not self.silenced else []


def read_stdin() -> bytes:
    stream = sys.stdin
    return stream.buffer.read() if hasattr(stream, "buffer") else stream.read().encode("utf-8")


def read_source(path: str, shown: str, stdin: Optional[bytes] = None) -> SourceFile:
    """The file, or the bytes read from stdin for -, decoded as Python decodes source (coding cookie,
    BOM, newlines kept). Raises Unchecked (TL001, or TL002 for a null byte)."""
    try:
        if path != STDIN:
            return read_source_file(path)
        text, encoding, bom = decode_source(stdin or b"", shown)
        return SourceFile(shown, text, encoding, bom, *newline_style(text))
    except SourceError as error:
        raise Unchecked(from_source_error(error)) from None


def ensure_parses(source: SourceFile, rules_run: bool) -> Optional[ast.Module]:
    """The file's `ast` tree; raises Unchecked (TL002) unless Python's parser accepts it. A notebook's
    cells are compiled one by one inside tensorlint.notebook, so a notebook is only parsed here when
    no rule will run on it (and gives no tree)."""
    if is_notebook(source.path):
        if not rules_run:
            analyse(source, lambda src: parse_notebook(src.text, src.path))
        return None
    tree, found = parse_python(source.text)
    if found is not None:
        raise Unchecked(found, not without_suppressed(source.text, [found]))
    return tree


def write_source(source: SourceFile, text: str) -> None:
    """Replace the file atomically, in its own encoding and line breaks; refuse if it changed since it was read."""
    try:
        write_source_file(source, text)
    except SourceError as error:
        raise InputError(str(error)) from None


def analyse(source: SourceFile, action: Callable[[SourceFile], T]) -> T:
    """`action(source)`: a parse failure raised as Unchecked (TL002), any other failure as one InputError line."""
    path = source.path
    try:
        return action(source)
    except cst.ParserSyntaxError as error:
        found = from_parser_error(error)
        raise Unchecked(found, not without_suppressed(source.text, [found])) from None
    except NotebookError as error:
        found = from_notebook_error(error)
        raise Unchecked(found, error.cell > 0 and suppressed_in_cell(error, found)) from None
    except RecursionError:
        found = problem(SYNTAX_ERROR, TOO_DEEP)
        raise Unchecked(found, not without_suppressed(source.text, [found])) from None
    except FixError as error:
        raise InputError(f"{path}: cannot fix: {error}") from None
    except Exception as error:  # noqa: BLE001 - a bug in tensorlint is still one line, never a traceback
        raise InputError(f"{path}: internal error, please report: {type(error).__name__}: {error}") from None


def selection(path: str, select: Optional[Sequence[str]], ignore: Optional[Sequence[str]]
              ) -> Tuple[FrozenSet[str], FrozenSet[str]]:
    """(the rule codes to run, which of TL001/TL002 to report) for `path`: defaults, then
    [tool.tensorlint], then the command line, then per-file-ignores."""
    file_path = path if path != STDIN else None
    try:
        config = load_config(file_path or os.getcwd())
        codes = config.codes_for(file_path, select, ignore)
    except ConfigError as error:
        raise InputError(str(error)) from None
    return codes - FILE_PROBLEM_CODES, reported_codes(config, file_path, codes, ignore)


def project_settings(path: str, target_numpy: Optional[str], target_torch: Optional[str]) -> Settings:
    """The NumPy/torch range for `path`: --target-numpy/--target-torch, else the nearest project metadata."""
    try:
        return settings_for(path if path != STDIN else os.getcwd(), target_numpy, target_torch)
    except ProjectConfigError as error:
        raise InputError(str(error)) from None
