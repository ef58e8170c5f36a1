"""TL0: files tensorlint was asked to check and could not. No checker: the CLI reports these itself
(`tensorlint.core.file_problems`) before any rule runs; the flake8 plugin leaves them to flake8 (E902, E999)."""
from __future__ import annotations

from tensorlint.rules.base import Rule


class UnreadableFile(Rule):
    """
    ## What it does
    Reports a file that tensorlint was asked to check but could not read: an operating system
    error (permission denied, not a regular file, a directory that cannot be listed), bytes that
    are not valid in the file's encoding (UTF-8 unless a PEP 263 coding declaration names another),
    a UTF-16 or UTF-32 file, or a `.ipynb` file that is not a Jupyter notebook (invalid JSON, no
    `cells` list, nbformat 3).

    ## Why is this bad?
    Nothing in the file was checked, so a run without this finding would be a false all-clear.
    Python itself refuses such a file: `SyntaxError: (unicode error) 'utf-8' codec can't decode
    byte 0xe9`. The finding is reported where the problem is: the first byte that does not decode
    (line and column), the coding declaration's line, the JSON error's position, otherwise line 1,
    column 1 (as ruff's E902).

    ## Example
    ```python
    # saved in Latin-1 without a coding declaration: the é below is the single byte 0xE9
    label = "café"
    ```

    ## Use instead
    Save the file as UTF-8, or declare its encoding on the first or second line:

    ```python
    # -*- coding: latin-1 -*-
    label = "café"
    ```

    ## Options
    Reported for every file checked, whatever `select` says (a `select` picks rules, it does not
    make unreadable files pass). To silence it, name it in `ignore`, `--ignore` or
    `per-file-ignores` (for example `per-file-ignores = {"vendor/**" = ["TL0"]}`), or leave the
    files out with `exclude`. A `# noqa` comment cannot apply: the file's text could not be read.
    The exit status is 1, as for any finding; `2` is kept for usage, configuration and internal errors.

    ## Known problems
    The flake8 plugin never reports TL001: flake8 reads the file itself and reports `E902` or
    `E999` for what it cannot read.
    """

    code = "TL001"
    name = "unreadable-file"
    summary = "a file that cannot be read or decoded, or a `.ipynb` that is not a notebook: it was not checked"
    fixable = "no"


class SyntaxErrorInFile(Rule):
    """
    ## What it does
    Reports a file, or a notebook code cell, that does not parse: Python's own parser (the
    interpreter tensorlint runs on) rejects it, it contains a null byte, or libcst, the parser the
    rules run on, cannot read it. The position and message are the parser's.

    ## Why is this bad?
    None of the file was checked, so its conversions to NumPy are unknown; Python would raise
    `SyntaxError` on import as well. Files written for Python 2, or for a newer Python than the one
    tensorlint runs on, are the usual cause.

    ## Example
    The `(` after `mean` is never closed:

    ```text
    def mean(values:
        return sum(values) / len(values)
    ```

    ## Use instead
    ```python
    def mean(values):
        return sum(values) / len(values)
    ```

    ## Options
    Reported for every file checked, whatever `select` says; silence it with `ignore`, `--ignore`
    or `per-file-ignores`, leave the files out with `exclude`, or put `# noqa: TL002` on the
    reported line (read as flake8 reads `noqa`). `tensorlint check --add-noqa` does not add it:
    it never edits a file that does not parse. `tensorlint fix` reports it and leaves the file
    untouched. The exit status is 1, as for any finding.

    ## Known problems
    The flake8 plugin never reports TL002: flake8 reports the same problem as `E999`.
    """

    code = "TL002"
    name = "syntax-error"
    summary = "a file or notebook cell that does not parse: it was not checked"
    fixable = "no"


FILE_RULES = (UnreadableFile, SyntaxErrorInFile)
