"""A file that cannot be checked is a finding, not a failure of the run: TL001 (it cannot be read or
decoded, or a `.ipynb` is not a notebook) and TL002 (it does not parse), as flake8 reports E902/E999
and ruff E902 and syntax errors. The run goes on and exits 1; 2 stays for usage, configuration and
internal errors.

Positions are the failing reader's: the byte that does not decode, Python's SyntaxError (line,
offset and end), libcst's ParserSyntaxError, the JSON error in a notebook, else line 1, column 1.
"""
from __future__ import annotations

import ast
from typing import FrozenSet, Iterable, Optional, Tuple

import libcst as cst

from tensorlint.config.reader import Config
from tensorlint.core.diagnostics import Diagnostic
from tensorlint.rules.files import SyntaxErrorInFile, UnreadableFile
from tensorlint.core.safe_io import SourceError, UnparsableSourceError

UNREADABLE = UnreadableFile.code
SYNTAX_ERROR = SyntaxErrorInFile.code
CODES = frozenset({UNREADABLE, SYNTAX_ERROR})
TOO_DEEP = "cannot parse: nested too deeply for tensorlint's parser"


def reported_codes(config: Config, path: Optional[str], checked: FrozenSet[str],
                   cli_ignore: Optional[Iterable[str]]) -> FrozenSet[str]:
    """Which of TL001/TL002 are reported for `path`, given `checked`, the codes selection turned on.

    A `select` that does not name them does not turn them off (a file that could not be read is
    never a pass, as ruff always reports syntax errors); an `ignore`, `--ignore` or
    `per-file-ignores` that names them does, unless the selection kept them anyway (a longer
    `select` prefix wins, as everywhere else).
    """
    ignored = tuple(code.strip().upper() for code in cli_ignore or ()) + config.ignore
    if path is not None:
        ignored += config.per_file_ignored(path)
    return frozenset(code for code in CODES if code in checked or not code.startswith(ignored))


def problem(code: str, message: str, line: int = 1, column: int = 1, end_line: int = 0,
            end_column: int = 0) -> Diagnostic:
    """A file-level finding; `column` and `end_column` 1-based, as parsers report them. Without an
    end after the start it spans one character, so that every format can underline it."""
    line, column = max(line, 1), max(column, 1)
    if (end_line, end_column) <= (line, column):
        end_line, end_column = line, column + 1
    return Diagnostic(line, column - 1, code, " ".join(message.split()), end_line=end_line, end_col=end_column - 1)


def from_source_error(error: SourceError) -> Diagnostic:
    code = SYNTAX_ERROR if isinstance(error, UnparsableSourceError) else UNREADABLE
    return problem(code, error.reason, error.line, error.column)


def parse_python(text: str) -> Tuple[Optional[ast.Module], Optional[Diagnostic]]:
    """(the `ast` tree, None), or (None, the TL002 finding): what the running interpreter's parser says
    of `text`. The engine skips libcst's parse of files that cannot hold a finding, so this is what
    makes every file's syntax checked: fast, flake8's E999 verdict, and a tree the prescreen reuses.
    """
    try:
        return compile(text, "<file>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True), None
    except SyntaxError as error:
        return None, problem(SYNTAX_ERROR, f"cannot parse: {error.msg}", error.lineno or 1, error.offset or 1,
                             getattr(error, "end_lineno", None) or 0, getattr(error, "end_offset", None) or 0)
    except (ValueError, MemoryError) as error:
        return None, problem(SYNTAX_ERROR, f"cannot parse: {error or type(error).__name__}")
    except RecursionError:
        return None, problem(SYNTAX_ERROR, "cannot parse: nested too deeply for Python's parser")


def from_parser_error(error: cst.ParserSyntaxError) -> Diagnostic:
    """libcst could not parse what Python accepted (syntax newer than the libcst installed)."""
    return problem(SYNTAX_ERROR, f"cannot parse: {error.message}", error.raw_line, error.raw_column + 1)
