"""One input of a command, read as every command reads it: which codes apply, the project's
settings, the text, and whether it parses.

What goes wrong is one of two things. `Unchecked`: the file cannot be read, decoded or parsed,
which is a finding about the file (TL001/TL002, exit 1, the run goes on). `InputError`: the run
cannot handle the file for another reason (a broken configuration, a write that failed, a bug in
tensorlint), one line on stderr and exit 2.
"""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Callable, FrozenSet, Iterator, Optional, Sequence, TypeVar

from tensorlint.adapters.notebook.cells import NotebookError, is_notebook, parse_notebook
from tensorlint.config.reader import Config, ConfigError, chosen_config, load_config
from tensorlint.config.targets import ProjectConfigError, settings_for
from tensorlint.core.codes import FILE_CODES
from tensorlint.core.noqa import without_suppressed
from tensorlint.core.safe_io import (SourceError, SourceFile, decode_source, newline_style, read_source_file,
                                     write_source_file)
from tensorlint.core.settings import Settings

if TYPE_CHECKING:
    import ast

# libcst, the rules, the fixer and the notebook linter are imported where a file is analysed, not here:
# a run whose files all come from the result cache never needs them (see docs/performance.md, startup).

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
        from tensorlint.core.file_problems import from_source_error  # libcst and the rules: seldom needed
        raise Unchecked(from_source_error(error)) from None


def ensure_parses(source: SourceFile, rules_run: bool) -> "Optional[ast.Module]":
    """The file's `ast` tree; raises Unchecked (TL002) unless Python's parser accepts it. A notebook's
    cells are compiled one by one inside `adapters.notebook.cells`, so a notebook is only parsed here when
    no rule will run on it (and gives no tree)."""
    from tensorlint.core.file_problems import parse_python  # libcst and the rules: not for a cached file
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
    # libcst, the rules and the fixer: loaded for the first file the cache does not answer
    import libcst as cst

    from tensorlint.adapters.notebook.lint import from_notebook_error, suppressed_in_cell
    from tensorlint.core.file_problems import SYNTAX_ERROR, TOO_DEEP, from_parser_error, problem
    from tensorlint.core.fixer import FixError
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


class Selection:
    """Which codes apply to one file: `rules`, the rule codes to run, and `problems`, which of TL001/TL002
    to report (worked out on first use: a file read from the cache never needs it). Unpacks as
    `rules, problems`."""

    def __init__(self, rules: FrozenSet[str], config: Config, path: Optional[str], codes: FrozenSet[str],
                 ignore: Optional[Sequence[str]]) -> None:
        self.rules = rules
        self._inputs = (config, path, codes, ignore)
        self._problems: Optional[FrozenSet[str]] = None

    @property
    def problems(self) -> FrozenSet[str]:
        if self._problems is None:
            from tensorlint.core.file_problems import reported_codes  # libcst and the rules: not for a cached file
            self._problems = reported_codes(*self._inputs)
        return self._problems

    def __iter__(self) -> Iterator[FrozenSet[str]]:
        return iter((self.rules, self.problems))


def selection(path: str, select: Optional[Sequence[str]], ignore: Optional[Sequence[str]],
              extend_select: Optional[Sequence[str]] = None) -> Selection:
    """The codes that apply to `path`: defaults, then [tool.tensorlint], then the command line, then
    per-file-ignores."""
    file_path = path if path != STDIN else None
    try:
        config = load_config(file_path or os.getcwd())
        codes = config.codes_for(file_path, select, ignore, extend_select)
    except ConfigError as error:
        raise InputError(str(error)) from None
    return Selection(codes - FILE_CODES, config, file_path, codes, ignore)


def project_settings(path: str, target_numpy: Optional[str], target_torch: Optional[str]) -> Settings:
    """The NumPy/torch range for `path`: --target-numpy/--target-torch, else the targets of the file
    `--config` names, else the nearest project metadata."""
    chosen = chosen_config()
    if chosen is not None:
        target_numpy = target_numpy or chosen.target_numpy
        target_torch = target_torch or chosen.target_torch
    try:
        return settings_for(path if path != STDIN else os.getcwd(), target_numpy, target_torch)
    except ProjectConfigError as error:
        raise InputError(str(error)) from None
