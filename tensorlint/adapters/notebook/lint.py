"""Linting and fixing a notebook: its code cells joined into one virtual module, checked as a `.py` file is, each
finding mapped back to its cell and to its place in the `.ipynb` file."""
from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple, Union

import libcst as cst

from tensorlint.adapters.notebook.cells import CELL_COMPILE_FLAGS, Cell, EditorNotebook, Notebook, NotebookError
from tensorlint.adapters.notebook.masking import mask_ipython
from tensorlint.api import check_source
from tensorlint.core.deep import parse_module
from tensorlint.core.diagnostics import Diagnostic, Edit, Fix, physical_lines, with_lines_mapped
from tensorlint.core.file_problems import SYNTAX_ERROR, UNREADABLE, problem
from tensorlint.core.fixer import FixError, apply_edits, check_pass
from tensorlint.core.line_index import LineIndex
from tensorlint.core.noqa import is_suppressed
from tensorlint.core.settings import Settings

MAX_PASSES = 10


@dataclass(frozen=True, order=True)
class NotebookDiagnostic:
    cell: int          # 1-based index among all cells of the notebook
    line: int          # 1-based line within the cell
    col: int           # 0-based column within the cell (printed 1-based)
    code: str
    # The diagnostic relative to the cell's source text: positions, offsets and fix edits all index
    # `"".join(cell["source"])`. `fix` is None when the fix cannot be applied inside the cell.
    diagnostic: Diagnostic = field(compare=False)
    file_line: int = field(default=0, compare=False)   # 1-based line in the .ipynb file
    file_col: int = field(default=0, compare=False)    # 0-based column in the .ipynb file
    file_end_line: int = field(default=0, compare=False)  # where the flagged span ends in the file (0: unknown)
    file_end_col: int = field(default=0, compare=False)
    cell_id: Optional[str] = field(default=None, compare=False)  # the cell's `id` (nbformat >= 4.5)

    @property
    def message(self) -> str:
        return self.diagnostic.message

    @property
    def fix(self) -> Optional[Fix]:
        return self.diagnostic.fix

    @property
    def location(self) -> str:
        """`cell 3:2:5` (column 1-based, as printed)."""
        return f"cell {self.cell}:{self.line}:{self.col + 1}"

    def format(self, path: str) -> str:
        return f"{path}:{self.location}: {self.code} {self.message}"

    def format_flat(self, path: str) -> str:
        return f"{path}:{self.file_line}:{self.file_col + 1}: {self.code} {self.message}"

    def flat(self) -> Diagnostic:
        """The finding placed in the `.ipynb` file itself, for formats that address files by line.

        Without its fix: fix edits index the cell's source, not the file's JSON text.
        """
        return Diagnostic(self.file_line, self.file_col, self.code, self.message,
                          end_line=self.file_end_line, end_col=self.file_end_col)


class NotebookFixResult(NamedTuple):
    """Unpacks as `(new_text, fixed, remaining)`; attribute names match api.FixResult."""
    source: str
    fixed: List[NotebookDiagnostic]
    remaining: List[NotebookDiagnostic]


def check_notebook(text: str, path: Optional[str] = None, select: Optional[Iterable[str]] = None,
                   ignore: Optional[Iterable[str]] = None,
                   settings: Optional[Settings] = None) -> List[NotebookDiagnostic]:
    """Diagnostics for the code cells of the notebook `text`, `# noqa` honoured, sorted by position.

    Raises NotebookError when `text` is not a notebook or a linted cell does not parse.
    """
    shown = path or "<notebook>"
    notebook = Notebook(text, shown)
    return _diagnose(notebook, shown, path, select, ignore, settings)


def check_cells(sources: Sequence[Optional[str]], path: Optional[str] = None,
                select: Optional[Iterable[str]] = None, ignore: Optional[Iterable[str]] = None,
                settings: Optional[Settings] = None) -> List[NotebookDiagnostic]:
    """`check_notebook` for a notebook held as its cells' texts, as an editor holds it (no JSON):
    `sources[i]` is cell i+1's text, or None for a cell that is not Python code. The diagnostics
    have no file position (`file_line` 0). Raises NotebookError when a linted cell does not parse."""
    shown = path or "<notebook>"
    cells = EditorNotebook(sources, shown)
    return _diagnose(cells, shown, path, select, ignore, settings)

def fix_notebook(text: str, path: Optional[str] = None, select: Optional[Iterable[str]] = None,
                 ignore: Optional[Iterable[str]] = None, unsafe_fixes: bool = False,
                 settings: Optional[Settings] = None) -> NotebookFixResult:
    """The fixed notebook text plus what was fixed and what remains (positions in the text of their pass).

    Raises NotebookError (not a notebook, a cell does not parse) or FixError (a fix broke a cell).
    """
    shown = path or "<notebook>"
    notebook = Notebook(text, shown)
    fixed: List[NotebookDiagnostic] = []
    tree = None
    for passes in range(MAX_PASSES + 1):
        virtual, pairs = _lint(notebook, shown, path, select, ignore, settings)
        usable = [(d, v) for d, v in pairs if d.fix is not None and (unsafe_fixes or d.fix.is_safe)]
        if not usable:
            return NotebookFixResult(notebook.text, fixed, [d for d, _ in pairs])
        if passes == MAX_PASSES:
            raise FixError(f"refused: fixes still apply after {MAX_PASSES} passes; nothing was written")
        new_sources: Dict[int, str] = {}
        for cell in sorted({d.cell for d, _ in usable}):
            in_cell = [d for d, _ in usable if d.cell == cell]
            new_source, applied = apply_edits(notebook.cells[cell - 1].source, [d.fix for d in in_cell])
            _check_fixed_cell(new_source, cell)
            new_sources[cell - 1] = new_source
            fixed.extend(d for d in in_cell if d.fix in applied)
        # The same fixes in the virtual module, checked as a `.py` file's are (only the fixed statements
        # may change); the cells rewritten above must add up to exactly that module.
        new_virtual, applied = apply_edits(virtual.text, [v.fix for _, v in usable])
        tree = check_pass(virtual.text, new_virtual, [v for _, v in usable if v.fix in applied], tree)
        notebook = Notebook(notebook.replace_sources(new_sources), shown)
        if _Virtual([cell for cell in notebook.cells if cell.lintable]).text != new_virtual:
            raise FixError("refused: a fix would change a cell boundary; nothing was written")
    raise AssertionError("unreachable")  # pragma: no cover

def _check_fixed_cell(source: str, number: int) -> None:
    masked = mask_ipython(source)
    try:
        if masked is None:
            raise SyntaxError("the cell magic changed")
        compile(masked[0], f"cell {number}", "exec", CELL_COMPILE_FLAGS, dont_inherit=True)
        parse_module(masked[0])
    except (SyntaxError, ValueError, cst.ParserSyntaxError) as error:
        message = getattr(error, "msg", None) or getattr(error, "message", None) or str(error)
        raise FixError(f"fix produced invalid code in cell {number} ({message}); nothing was written") from None


class _Virtual:
    """The linted code cells joined into one module, with the map back to cells."""

    def __init__(self, cells: Sequence[Cell]) -> None:
        parts: List[str] = []
        self.cells: List[Cell] = []
        self.first_lines: List[int] = []   # 0-based virtual line of each cell's first line
        self.cell_lines: Dict[int, LineIndex] = {}  # cell index -> the lines of its .source
        line = 0
        for cell in cells:
            lines = physical_lines(cell.masked)
            if not lines:
                continue
            if not lines[-1].endswith(("\n", "\r")):
                lines[-1] += "\n"
            self.cells.append(cell)
            self.first_lines.append(line)
            self.cell_lines[cell.index] = LineIndex(cell.source)
            parts.extend(lines)
            line += len(lines)
        # from the parts, not split again: a cell ending in "\r" and the next starting with "\n" stay two lines
        self.lines = LineIndex("".join(parts), parts)
        self.text = self.lines.text

    def locate_line(self, line: int) -> Tuple[Cell, int]:
        """0-based virtual line -> (cell, 0-based line in the cell)."""
        position = bisect.bisect_right(self.first_lines, line) - 1
        return self.cells[position], line - self.first_lines[position]

    def cell_line_text(self, line: int) -> str:
        """A 1-based line of the joined cells as a user finds it: "cell 3, line 4"."""
        cell, cell_line = self.locate_line(max(line, 1) - 1)
        return f"cell {cell.index + 1}, line {cell_line + 1}"

    def locate(self, offset: int) -> Tuple[Cell, int, int]:
        """Virtual offset -> (cell, 0-based line in the cell, column)."""
        line = min(self.lines.row(offset), len(self.lines.lines) - 1)  # the text ends with a line break
        cell, cell_line = self.locate_line(line)
        return cell, cell_line, offset - self.lines.starts[line]

    def cell_offset(self, cell: Cell, cell_line: int, column: int) -> int:
        return self.cell_lines[cell.index].offset(cell_line, column)

    def map_fix(self, fix: Fix, cell: Cell) -> Optional[Fix]:
        """The fix in `cell`'s source offsets, or None when an edit leaves the cell or touches a masked line."""
        edits = []
        for edit in fix.edits:
            start_cell, start_line, start_col = self.locate(edit.start)
            if start_cell is not cell:
                return None
            if edit.start == edit.end:
                if start_col and start_line in cell.masked_lines:
                    return None
                end_line, end_col = start_line, start_col
            else:
                last_cell, last_line, _ = self.locate(edit.end - 1)
                touched = range(start_line, last_line + 1)
                if last_cell is not cell or any(line in cell.masked_lines for line in touched):
                    return None
                end_cell, end_line, end_col = self.locate(edit.end)
                if end_cell is not cell:  # the edit reaches the end of the cell
                    end_line, end_col = len(self.cell_lines[cell.index].starts), 0
            start = self.cell_offset(cell, start_line, start_col)
            end = self.cell_offset(cell, end_line, end_col)
            text = edit.text
            if end == len(cell.source) and edit.end > edit.start and not cell.source.endswith(("\n", "\r")) \
                    and self.text[edit.end - 1] == "\n" and text.endswith("\n"):
                text = text[:-1]  # the newline the join added is not the cell's
            edits.append(Edit(start, end, text))
        return dataclasses.replace(fix, edits=tuple(edits))

    def map(self, diagnostic: Diagnostic, notebook: Notebook) -> NotebookDiagnostic:
        cell, line = self.locate_line(diagnostic.line - 1)
        end_cell, end_line = self.locate_line(max(diagnostic.end_line, diagnostic.line) - 1)
        if end_cell is not cell:  # pragma: no cover - a node never spans cells
            end_line = line
        start = self.cell_offset(cell, line, diagnostic.col)
        end = self.cell_offset(cell, end_line, diagnostic.end_col)
        fix = self.map_fix(diagnostic.fix, cell) if diagnostic.fix is not None else None
        local = dataclasses.replace(diagnostic, line=line + 1, end_line=end_line + 1, start_offset=start,
                                    end_offset=max(start, end), fix=fix)
        local = with_lines_mapped(local, self.cell_line_text) or local
        file_line, file_col = notebook.file_position(cell, start)
        file_end_line, file_end_col = notebook.file_position(cell, max(start, end))
        return NotebookDiagnostic(cell.index + 1, line + 1, diagnostic.col, diagnostic.code, local,
                                  file_line, file_col, file_end_line, file_end_col, cell.cell_id)


def _lint(notebook: Notebook, shown: str, path: Optional[str], select, ignore,
          settings: Optional[Settings]) -> Tuple[_Virtual, List[Tuple[NotebookDiagnostic, Diagnostic]]]:
    """Lint the virtual module: each diagnostic mapped to its cell, with the virtual-module one beside it."""
    virtual = _Virtual([cell for cell in notebook.cells if cell.lintable])
    if not virtual.text:
        return virtual, []
    try:
        diagnostics = check_source(virtual.text, path, select, ignore, settings=settings)
    except cst.ParserSyntaxError as error:
        cell, line = virtual.locate_line(max(error.raw_line, 1) - 1)
        raise notebook.placed(NotebookError(shown, f"cannot parse: {error.message}", line + 1, error.raw_column + 1,
                                            cell.index + 1, unparsable=True), cell) from None
    pairs = [(virtual.map(diagnostic, notebook), diagnostic) for diagnostic in diagnostics]
    return virtual, sorted(pairs, key=lambda pair: pair[0])


def _diagnose(notebook: Notebook, shown: str, path: Optional[str], select, ignore,
              settings: Optional[Settings]) -> List[NotebookDiagnostic]:
    return [mapped for mapped, _ in _lint(notebook, shown, path, select, ignore, settings)[1]]


def from_notebook_error(error: NotebookError) -> Union[Diagnostic, NotebookDiagnostic]:
    """A cell that does not parse (TL002, at the cell's line), or a file that is not a notebook (TL001)."""
    if not error.cell:
        return problem(UNREADABLE, error.reason, error.line, error.column)
    found = problem(SYNTAX_ERROR if error.unparsable else UNREADABLE, error.reason, error.line, error.column)
    return NotebookDiagnostic(error.cell, found.line, found.col, found.code, found, error.file_line, error.file_col)


def suppressed_in_cell(error: NotebookError, diagnostic: NotebookDiagnostic) -> bool:
    """A `# noqa` on the cell line a syntax error is reported at (the cell cannot be tokenized, so
    only that physical line is read)."""
    return is_suppressed(diagnostic.code, error.line_text)
