"""Jupyter notebooks (`.ipynb`): check and fix the code cells, leave every other byte of the file alone.

How a notebook is read
  * Only code cells of a Python notebook are linted (`metadata.kernelspec.language` or
    `metadata.language_info.name` must say Python when present; a VS Code cell whose
    `metadata.vscode.languageId` names another language is skipped). Markdown and raw cells never are.
  * The code cells are linted as ONE virtual module, in document order, so names imported or values made
    in an earlier cell are known in a later one (the order a notebook is normally run in, top to bottom).
  * IPython syntax is masked, never linted nor fixed: line magics (`%matplotlib inline`), shell escapes
    (`!pip install x`, `!!ls`), help (`?obj`, `obj??`), the autocall escapes `,` `;` `/`, and assignments
    from them (`files = !ls`, `t = %timeit -o f()`). Each such line becomes `pass` (or `target = None`
    for an assignment) in the virtual module, so line numbers stay; a trailing backslash continues the
    masked line. Lines are masked only where a statement starts (never inside a string or brackets).
  * A cell that starts with a cell magic (`%%bash`, `%%writefile`, `%%html`, ...) is skipped whole,
    except `%%time`, `%%timeit`, `%%capture`, `%%prun` and `%%debug`, whose body is Python and is linted.
  * Every linted cell must parse on its own (top-level `await` allowed, as in IPython); otherwise a
    NotebookError names the cell, like a syntax error in a `.py` file.

Positions
  * `cell N:line:col`: N is the cell's 1-based index among ALL cells of the notebook (markdown included,
    as they appear in the file), line is 1-based within the cell, col 1-based when printed.
    `NotebookDiagnostic.format(path)` gives `path:cell 3:2:5: TL101 message`.
  * The flat form, `NotebookDiagnostic.format_flat(path)` -> `path:LINE:COL: TL101 message`, points into
    the `.ipynb` file itself: the line and column of that character inside the cell's JSON string.
    That is the one location tools that address files by line (editors jumping to `path:line:col`, GitHub
    annotations, SARIF regions) can place correctly; a line in the concatenated cells would match nothing
    on disk. `.file_line` / `.file_col` hold it (1-based line, 0-based col, as Diagnostic).

Fixing
  * A fix is applied only when all its edits lie in the flagged cell and touch no masked line; any other
    fix (for example one that would add `import torch` to the first cell for a finding in a later one)
    is left unapplied and its diagnostic is reported without a fix.
  * Only the `source` values of the changed cells are rewritten, in place: key order, indentation,
    newline style, `ensure_ascii` style, cell ids, outputs, metadata and execution counts keep their bytes.
    A list source stays a list (every element but the last ends with "\\n", as Jupyter writes it;
    unchanged lines keep their exact original JSON text), a string source stays a string.
"""
from __future__ import annotations

import ast
import bisect
import dataclasses
import difflib
import io
import json
import re
import tokenize
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

import libcst as cst

from tensorlint.api import check_source
from tensorlint.core.deep import parse_module
from tensorlint.core.diagnostics import Diagnostic, Edit, Fix, physical_lines, with_lines_mapped
from tensorlint.core.fixer import FixError, apply_edits, check_pass
from tensorlint.core.settings import Settings

__all__ = ["NOTEBOOK_SUFFIX", "NotebookDiagnostic", "NotebookError", "NotebookFixResult",
           "check_cells", "check_notebook", "fix_notebook", "is_notebook", "parse_notebook", "rewrite_cells"]

NOTEBOOK_SUFFIX = ".ipynb"
MAX_PASSES = 10
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})
_COMPILE_FLAGS = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


class NotebookError(Exception):
    """The file is not a notebook we can read, or a cell does not parse. str() is one line, path included.

    `cell` (1-based; 0: the file as a whole), `line` and `column` (1-based; 0 unknown: within the cell
    when `cell` is set, else in the file) and `reason` let the CLI report it as a diagnostic;
    `unparsable` tells a cell's syntax error (TL002) from a file that is not a notebook (TL001).
    `file_line`/`file_col` (1-based line, 0-based col) place a cell's error in the `.ipynb` itself,
    `line_text` is the cell's line there.
    """

    def __init__(self, path: str, reason: str, line: int = 0, column: int = 0, cell: int = 0,
                 unparsable: bool = False) -> None:
        self.path, self.reason, self.line, self.column, self.cell = path, reason, line, column, cell
        self.unparsable = unparsable
        self.file_line, self.file_col = 0, 0
        self.line_text = ""  # the cell's physical line at `line`, where a `# noqa` would be
        where = f"{path}:cell {cell}" if cell else path
        if line:
            where += f":{line}:{column}" if column else f":{line}"
        super().__init__(f"{where}: {reason}")

    def __reduce__(self):  # the default would call __init__ with the message alone
        return type(self), (self.path, self.reason, self.line, self.column, self.cell, self.unparsable)


def is_notebook(path: Optional[str]) -> bool:
    return bool(path) and str(path).lower().endswith(NOTEBOOK_SUFFIX)


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


# -- public entry points -------------------------------------------------------------------------
def check_notebook(text: str, path: Optional[str] = None, select: Optional[Iterable[str]] = None,
                   ignore: Optional[Iterable[str]] = None,
                   settings: Optional[Settings] = None) -> List[NotebookDiagnostic]:
    """Diagnostics for the code cells of the notebook `text`, `# noqa` honoured, sorted by position.

    Raises NotebookError when `text` is not a notebook or a linted cell does not parse.
    """
    shown = path or "<notebook>"
    notebook = _Notebook(text, shown)
    return _diagnose(notebook, shown, path, select, ignore, settings)


def check_cells(sources: Sequence[Optional[str]], path: Optional[str] = None,
                select: Optional[Iterable[str]] = None, ignore: Optional[Iterable[str]] = None,
                settings: Optional[Settings] = None) -> List[NotebookDiagnostic]:
    """`check_notebook` for a notebook held as its cells' texts, as an editor holds it (no JSON):
    `sources[i]` is cell i+1's text, or None for a cell that is not Python code. The diagnostics
    have no file position (`file_line` 0). Raises NotebookError when a linted cell does not parse."""
    shown = path or "<notebook>"
    cells = _EditorNotebook(sources, shown)
    return _diagnose(cells, shown, path, select, ignore, settings)


def parse_notebook(text: str, path: Optional[str] = None) -> None:
    """Raise NotebookError when `text` is not a notebook or a linted cell does not parse; check nothing."""
    _Notebook(text, path or "<notebook>")


def rewrite_cells(text: str, path: Optional[str], rewrite: Callable[[int, str, str], str]) -> str:
    """`text` with each linted cell's source replaced by `rewrite(cell, source, masked)`: `cell` is
    the 1-based index among all cells, `masked` the source as linted (same lines, IPython syntax
    masked). Only the changed cells are rewritten, as fixes are. Raises NotebookError."""
    notebook = _Notebook(text, path or "<notebook>")
    changed = {}
    for cell in notebook.cells:
        if cell.lintable:
            new_source = rewrite(cell.index + 1, cell.source, cell.masked)
            if new_source != cell.source:
                changed[cell.index] = new_source
    return notebook.replace_sources(changed) if changed else text


def fix_notebook(text: str, path: Optional[str] = None, select: Optional[Iterable[str]] = None,
                 ignore: Optional[Iterable[str]] = None, unsafe_fixes: bool = False,
                 settings: Optional[Settings] = None) -> NotebookFixResult:
    """The fixed notebook text plus what was fixed and what remains (positions in the text of their pass).

    Raises NotebookError (not a notebook, a cell does not parse) or FixError (a fix broke a cell).
    """
    shown = path or "<notebook>"
    notebook = _Notebook(text, shown)
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
            _check_fixed_cell(new_source, cell, shown)
            new_sources[cell - 1] = new_source
            fixed.extend(d for d in in_cell if d.fix in applied)
        # The same fixes in the virtual module, checked as a `.py` file's are (only the fixed statements
        # may change); the cells rewritten above must add up to exactly that module.
        new_virtual, applied = apply_edits(virtual.text, [v.fix for _, v in usable])
        tree = check_pass(virtual.text, new_virtual, [v for _, v in usable if v.fix in applied], tree)
        notebook = _Notebook(notebook.replace_sources(new_sources), shown)
        if _Virtual([cell for cell in notebook.cells if cell.lintable]).text != new_virtual:
            raise FixError("refused: a fix would change a cell boundary; nothing was written")
    raise AssertionError("unreachable")  # pragma: no cover


# -- reading the file ----------------------------------------------------------------------------
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
Span = Tuple[int, int]


@dataclass
class _Cell:
    index: int                      # 0-based among all cells
    kind: str
    cell_id: Optional[str]
    source: str
    span: Optional[Span]            # the `source` value in the file text
    elements: Optional[List[str]]   # the list items, or None for a string source
    element_spans: List[Span]
    lintable: bool = False
    masked: str = ""                # the source with IPython syntax masked
    masked_lines: frozenset = frozenset()  # 0-based lines of `source` that are masked


class _Notebook:
    def __init__(self, text: str, shown: str) -> None:
        self.text = text
        self.shown = shown
        data = self._load()
        cells = data.get("cells")
        if not isinstance(cells, list):
            if isinstance(data.get("worksheets"), list) or data.get("nbformat") in (1, 2, 3):
                raise NotebookError(shown, f"nbformat {data.get('nbformat')} notebooks are not supported "
                                           f"(convert with `jupyter nbconvert --to notebook --nbformat 4`)")
            raise NotebookError(shown, "not a Jupyter notebook (no \"cells\" list)")
        if not isinstance(data.get("nbformat", 4), int) or data.get("nbformat", 4) < 4:
            raise NotebookError(shown, f"nbformat {data.get('nbformat')!r} notebooks are not supported "
                                       f"(convert with `jupyter nbconvert --to notebook --nbformat 4`)")
        metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        self.python = _is_python_notebook(metadata)
        cell_spans, source_spans = self._layout()
        if len(cell_spans) != len(cells):  # pragma: no cover - both read the same JSON text
            raise NotebookError(shown, "cannot locate the cells in the file")
        self.cells: List[_Cell] = []
        for index, cell in enumerate(cells):
            self.cells.append(self._cell(index, cell, source_spans[index]))
        self.ensure_ascii = _uses_ascii_escapes(text)
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self.unit = _indent_unit(text)

    def _load(self) -> Dict[str, Any]:
        try:
            data = json.loads(self.text)
        except json.JSONDecodeError as error:
            raise NotebookError(self.shown, f"not a Jupyter notebook: invalid JSON ({error.msg})",
                                error.lineno, error.colno) from None
        except RecursionError:
            raise NotebookError(self.shown, "not a Jupyter notebook: JSON nested too deeply") from None
        if not isinstance(data, dict):
            raise NotebookError(self.shown, "not a Jupyter notebook (the JSON is not an object)")
        return data

    def _layout(self) -> Tuple[List[Span], List[Optional[Tuple[Span, Optional[List[Span]]]]]]:
        """Spans of each cell and of each cell's `source` value (and its list items) in the text."""
        text = self.text
        members = _object_members(text, _skip(text, 0))
        cells_span = members.get("cells")
        cell_spans = _array_items(text, cells_span[0]) if cells_span else []
        sources: List[Optional[Tuple[Span, Optional[List[Span]]]]] = []
        for start, _end in cell_spans:
            if text[start] != "{":
                sources.append(None)
                continue
            span = _object_members(text, start).get("source")
            if span is None:
                sources.append(None)
            elif text[span[0]] == "[":
                sources.append((span, _array_items(text, span[0])))
            else:
                sources.append((span, None))
        return cell_spans, sources

    def _cell(self, index: int, cell: Any, spans) -> _Cell:
        if not isinstance(cell, dict):
            raise NotebookError(self.shown, f"cell {index + 1} is not a JSON object")
        kind = cell.get("cell_type")
        raw = cell.get("source", "")
        if isinstance(raw, str):
            elements, source = None, raw
        elif isinstance(raw, list) and all(isinstance(item, str) for item in raw):
            elements, source = list(raw), "".join(raw)
        else:
            raise NotebookError(self.shown, f"cell {index + 1}: \"source\" must be a string or a list of strings")
        cell_id = cell.get("id") if isinstance(cell.get("id"), str) else None
        span, element_spans = spans if spans is not None else (None, None)
        result = _Cell(index, kind, cell_id, source, span, elements, element_spans or [])
        if kind == "code" and self.python and _is_python_cell(cell):
            masked = _mask(source)
            if masked is not None:
                result.lintable = True
                result.masked, result.masked_lines = masked
                try:
                    _check_cell(result.masked, index + 1, self.shown)
                except NotebookError as error:
                    raise self.placed(error, result) from None
        return result

    def placed(self, error: NotebookError, cell: _Cell) -> NotebookError:
        """`error` (a syntax error in `cell`) with its position in the `.ipynb` file."""
        lines = physical_lines(cell.source) or [""]
        row = min(max(error.line, 1), len(lines)) - 1
        column = min(max(error.column - 1, 0), len(lines[row].rstrip("\r\n")))
        error.file_line, error.file_col = self.file_position(cell, sum(map(len, lines[:row])) + column)
        error.line_text = lines[row]
        return error

    # -- writing --------------------------------------------------------------------------------
    def replace_sources(self, sources: Dict[int, str]) -> str:
        """The file text with the given cells' sources replaced, every other byte kept."""
        text = self.text
        for index in sorted(sources, reverse=True):
            cell = self.cells[index]
            if cell.span is None:  # pragma: no cover - a linted cell always has a source
                raise FixError(f"cell {index + 1} has no source to rewrite")
            start, end = cell.span
            text = text[:start] + self._render(cell, sources[index]) + text[end:]
        return text

    def _render(self, cell: _Cell, new_source: str) -> str:
        dump = lambda value: json.dumps(value, ensure_ascii=self.ensure_ascii)  # noqa: E731
        if cell.elements is None:
            return dump(new_source)
        new_items = split_source(new_source)
        if not new_items:
            return "[]"
        text, (start, end), spans = self.text, cell.span, cell.element_spans
        if spans:
            opening = text[start + 1:spans[0][0]]
            closing = text[spans[-1][1]:end - 1]
            if len(spans) > 1:
                separator = text[spans[0][1]:spans[1][0]]
            else:
                separator = "," + opening if "\n" in opening or "\r" in opening else self._compact_separator(cell)
        elif self._pretty(cell):
            indent = self._key_indent(cell)
            opening, closing = self.newline + indent + self.unit, self.newline + indent
            separator = "," + opening
        else:
            opening = closing = ""
            separator = self._compact_separator(cell)
        old_items = cell.elements
        rendered: List[str] = []
        matcher = difflib.SequenceMatcher(None, old_items, new_items, autojunk=False)
        for tag, a_start, _a_end, b_start, b_end in matcher.get_opcodes():
            for offset in range(b_end - b_start):
                if tag == "equal":  # unchanged line: keep its exact JSON text
                    item_start, item_end = spans[a_start + offset]
                    rendered.append(text[item_start:item_end])
                else:
                    rendered.append(dump(new_items[b_start + offset]))
        return "[" + opening + separator.join(rendered) + closing + "]"

    def _pretty(self, cell: _Cell) -> bool:
        """Is the `"source"` key alone at the start of its line (an indented file)?"""
        line_start = self._line_start(cell.span[0])
        key = re.fullmatch(r'[ \t]*"source"[ \t]*:[ \t]*', self.text[line_start:cell.span[0]])
        return line_start > 0 and key is not None

    def _line_start(self, offset: int) -> int:
        return max(self.text.rfind("\n", 0, offset), self.text.rfind("\r", 0, offset)) + 1

    def _key_indent(self, cell: _Cell) -> str:
        line_start = self._line_start(cell.span[0])
        prefix = self.text[line_start:cell.span[0]]
        return prefix[:len(prefix) - len(prefix.lstrip(" \t"))]

    def _compact_separator(self, cell: _Cell) -> str:
        # `"source": [` vs `"source":[`: a file written with `, ` between items has `: ` after keys too
        before = self.text[max(0, cell.span[0] - 2):cell.span[0]]
        return ", " if before.endswith(" ") else ","

    # -- positions ------------------------------------------------------------------------------
    def file_position(self, cell: _Cell, offset: int) -> Tuple[int, int]:
        """(1-based line, 0-based column) in the file of the character at `offset` in the cell's source."""
        if cell.span is None:  # pragma: no cover
            return 0, 0
        if cell.elements is None:
            raw = _raw_index(self.text, cell.span[0], offset)
        else:
            raw = cell.span[0]
            last = len(cell.elements) - 1
            for number, (item, (item_start, _)) in enumerate(zip(cell.elements, cell.element_spans)):
                if offset < len(item) or number == last:
                    raw = _raw_index(self.text, item_start, min(offset, len(item)))
                    break
                offset -= len(item)
        line = self.text.count("\n", 0, raw) + 1
        return line, raw - (self.text.rfind("\n", 0, raw) + 1)


class _EditorNotebook:
    """The part of `_Notebook` that linting reads, for cells given as texts: no file to place them in."""

    def __init__(self, sources: Sequence[Optional[str]], shown: str) -> None:
        self.cells: List[_Cell] = []
        for index, source in enumerate(sources):
            cell = _Cell(index, "code" if source is not None else "markdown", None, source or "", None, None, [])
            masked = _mask(source) if source is not None else None
            if masked is not None:
                cell.lintable = True
                cell.masked, cell.masked_lines = masked
                _check_cell(cell.masked, index + 1, shown)
            self.cells.append(cell)

    def placed(self, error: NotebookError, cell: _Cell) -> NotebookError:
        return error

    def file_position(self, cell: _Cell, offset: int) -> Tuple[int, int]:
        return 0, 0


def split_source(source: str) -> List[str]:
    """Jupyter's list form: every item but the last ends with "\\n"."""
    return re.findall(r"[^\n]*\n|[^\n]+\Z", source)


def _is_python_notebook(metadata: Dict[str, Any]) -> bool:
    for section, key in (("kernelspec", "language"), ("language_info", "name")):
        value = metadata.get(section, {}).get(key) if isinstance(metadata.get(section), dict) else None
        if isinstance(value, str) and value.strip() and not value.strip().lower().startswith("python"):
            return False
    return True


def _is_python_cell(cell: Dict[str, Any]) -> bool:
    metadata = cell.get("metadata")
    vscode = metadata.get("vscode") if isinstance(metadata, dict) else None
    language = vscode.get("languageId") if isinstance(vscode, dict) else None
    return not isinstance(language, str) or language.lower().startswith("python")


def _uses_ascii_escapes(text: str) -> bool:
    """Was the file written with ensure_ascii (non-ASCII as \\uXXXX)? Raw non-ASCII says no."""
    if not text.isascii():
        return False
    return re.search(r"(?<!\\)(?:\\\\)*\\u(?!00[0-7])[0-9a-fA-F]{4}", text) is not None


def _indent_unit(text: str) -> str:
    match = re.match(r"\s*\{(?:\r\n|\r|\n)([ \t]+)\"", text)
    return match.group(1) if match else " "


def _skip(text: str, index: int) -> int:
    return _WHITESPACE.match(text, index).end()


def _object_members(text: str, index: int) -> Dict[str, Span]:
    """Key -> value span of the JSON object at `index` (the last one wins, as in json.loads)."""
    members: Dict[str, Span] = {}
    if text[index] != "{":
        return members
    index = _skip(text, index + 1)
    if text[index] == "}":
        return members
    while True:
        key, index = json.decoder.scanstring(text, index + 1)
        index = _skip(text, _skip(text, index) + 1)  # past ':'
        _, end = _DECODER.raw_decode(text, index)
        members[key] = (index, end)
        index = _skip(text, end)
        if text[index] != ",":
            return members
        index = _skip(text, index + 1)


def _array_items(text: str, index: int) -> List[Span]:
    items: List[Span] = []
    if text[index] != "[":
        return items
    index = _skip(text, index + 1)
    if text[index] == "]":
        return items
    while True:
        _, end = _DECODER.raw_decode(text, index)
        items.append((index, end))
        index = _skip(text, end)
        if text[index] != ",":
            return items
        index = _skip(text, index + 1)


def _raw_index(text: str, string_start: int, char_index: int) -> int:
    """Offset in `text` of character `char_index` of the JSON string whose opening quote is at `string_start`."""
    index = string_start + 1
    for _ in range(char_index):
        if text[index] != "\\":
            index += 1
        elif text[index + 1] != "u":
            index += 2
        else:
            code = int(text[index + 2:index + 6], 16)
            pair = text[index + 6:index + 8] == "\\u" and 0xD800 <= code < 0xDC00 \
                and 0xDC00 <= int(text[index + 8:index + 12], 16) < 0xE000
            index += 12 if pair else 6
    return index


# -- IPython syntax ------------------------------------------------------------------------------
_ESCAPES = ("%", "!", "?", ",", ";", "/")
_HELP_END = re.compile(r"[\w.*%]+\?{1,2}\Z")                       # obj?  np.linalg.norm??  %time?
_ASSIGN = re.compile(r"(?P<target>[\w.\[\]'\", ]+?)\s*=\s*[!%]")   # files = !ls   t = %timeit -o f()


def _mask(source: str) -> Optional[Tuple[str, frozenset]]:
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


def _check_cell(masked: str, number: int, shown: str) -> None:
    try:
        compile(masked, f"cell {number}", "exec", _COMPILE_FLAGS, dont_inherit=True)
    except SyntaxError as error:
        raise NotebookError(shown, f"cannot parse: {error.msg}", error.lineno or 1, error.offset or 1, number,
                            unparsable=True) from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise NotebookError(shown, f"cannot parse: {error or type(error).__name__}", cell=number,
                            unparsable=True) from None


def _check_fixed_cell(source: str, number: int, shown: str) -> None:
    masked = _mask(source)
    try:
        if masked is None:
            raise SyntaxError("the cell magic changed")
        compile(masked[0], f"cell {number}", "exec", _COMPILE_FLAGS, dont_inherit=True)
        parse_module(masked[0])
    except (SyntaxError, ValueError, cst.ParserSyntaxError) as error:
        message = getattr(error, "msg", None) or getattr(error, "message", None) or str(error)
        raise FixError(f"fix produced invalid code in cell {number} ({message}); nothing was written") from None


# -- the virtual module --------------------------------------------------------------------------
class _Virtual:
    """The linted code cells joined into one module, with the map back to cells."""

    def __init__(self, cells: Sequence[_Cell]) -> None:
        parts: List[str] = []
        self.cells: List[_Cell] = []
        self.first_lines: List[int] = []   # 0-based virtual line of each cell's first line
        self.line_starts: List[int] = [0]  # virtual offset of each virtual line
        self.cell_line_starts: Dict[int, List[int]] = {}  # cell index -> offsets of its lines in .source
        line = 0
        for cell in cells:
            lines = physical_lines(cell.masked)
            if not lines:
                continue
            if not lines[-1].endswith(("\n", "\r")):
                lines[-1] += "\n"
            self.cells.append(cell)
            self.first_lines.append(line)
            starts, total = [0], 0
            for text in physical_lines(cell.source):
                total += len(text)
                starts.append(total)
            self.cell_line_starts[cell.index] = starts
            for text in lines:
                parts.append(text)
                self.line_starts.append(self.line_starts[-1] + len(text))
            line += len(lines)
        self.text = "".join(parts)

    def locate_line(self, line: int) -> Tuple[_Cell, int]:
        """0-based virtual line -> (cell, 0-based line in the cell)."""
        position = bisect.bisect_right(self.first_lines, line) - 1
        return self.cells[position], line - self.first_lines[position]

    def cell_line_text(self, line: int) -> str:
        """A 1-based line of the joined cells as a user finds it: "cell 3, line 4"."""
        cell, cell_line = self.locate_line(max(line, 1) - 1)
        return f"cell {cell.index + 1}, line {cell_line + 1}"

    def locate(self, offset: int) -> Tuple[_Cell, int, int]:
        """Virtual offset -> (cell, 0-based line in the cell, column)."""
        line = min(bisect.bisect_right(self.line_starts, offset) - 1, len(self.line_starts) - 2)
        cell, cell_line = self.locate_line(line)
        return cell, cell_line, offset - self.line_starts[line]

    def cell_offset(self, cell: _Cell, cell_line: int, column: int) -> int:
        starts = self.cell_line_starts[cell.index]
        if cell_line >= len(starts) - 1:
            return starts[-1]
        return min(starts[cell_line] + column, starts[cell_line + 1])

    def map_fix(self, fix: Fix, cell: _Cell) -> Optional[Fix]:
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
                    end_line, end_col = len(self.cell_line_starts[cell.index]), 0
            start = self.cell_offset(cell, start_line, start_col)
            end = self.cell_offset(cell, end_line, end_col)
            text = edit.text
            if end == len(cell.source) and edit.end > edit.start and not cell.source.endswith(("\n", "\r")) \
                    and self.text[edit.end - 1] == "\n" and text.endswith("\n"):
                text = text[:-1]  # the newline the join added is not the cell's
            edits.append(Edit(start, end, text))
        return dataclasses.replace(fix, edits=tuple(edits))

    def map(self, diagnostic: Diagnostic, notebook: _Notebook) -> NotebookDiagnostic:
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


def _lint(notebook: _Notebook, shown: str, path: Optional[str], select, ignore,
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


def _diagnose(notebook: _Notebook, shown: str, path: Optional[str], select, ignore,
              settings: Optional[Settings]) -> List[NotebookDiagnostic]:
    return [mapped for mapped, _ in _lint(notebook, shown, path, select, ignore, settings)[1]]
