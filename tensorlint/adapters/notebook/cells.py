"""Reading a notebook file: its cells, where each cell's `source` lies in the JSON text, and writing changed
sources back with every other byte kept (see the package's docstring)."""
from __future__ import annotations

import ast
import difflib
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from tensorlint.adapters.notebook.masking import mask_ipython
from tensorlint.core.line_index import LineIndex

NOTEBOOK_SUFFIX = ".ipynb"
CELL_COMPILE_FLAGS = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


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


def parse_notebook(text: str, path: Optional[str] = None) -> None:
    """Raise NotebookError when `text` is not a notebook or a linted cell does not parse; check nothing."""
    Notebook(text, path or "<notebook>")


def rewrite_cells(text: str, path: Optional[str], rewrite: Callable[[int, str, str], str]) -> str:
    """`text` with each linted cell's source replaced by `rewrite(cell, source, masked)`: `cell` is
    the 1-based index among all cells, `masked` the source as linted (same lines, IPython syntax
    masked). Only the changed cells are rewritten, as fixes are. Raises NotebookError."""
    notebook = Notebook(text, path or "<notebook>")
    changed = {}
    for cell in notebook.cells:
        if cell.lintable:
            new_source = rewrite(cell.index + 1, cell.source, cell.masked)
            if new_source != cell.source:
                changed[cell.index] = new_source
    return notebook.replace_sources(changed) if changed else text

# -- reading the file ----------------------------------------------------------------------------
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
Span = Tuple[int, int]


@dataclass
class Cell:
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


class Notebook:
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
        self.cells: List[Cell] = []
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

    def _cell(self, index: int, cell: Any, spans) -> Cell:
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
        result = Cell(index, kind, cell_id, source, span, elements, element_spans or [])
        if kind == "code" and self.python and _is_python_cell(cell):
            masked = mask_ipython(source)
            if masked is not None:
                result.lintable = True
                result.masked, result.masked_lines = masked
                try:
                    check_cell(result.masked, index + 1, self.shown)
                except NotebookError as error:
                    raise self.placed(error, result) from None
        return result

    def placed(self, error: NotebookError, cell: Cell) -> NotebookError:
        """`error` (a syntax error in `cell`) with its position in the `.ipynb` file."""
        index = LineIndex(cell.source)
        lines = index.lines or [""]
        row = min(max(error.line, 1), len(lines)) - 1
        column = min(max(error.column - 1, 0), len(lines[row].rstrip("\r\n")))
        error.file_line, error.file_col = self.file_position(cell, index.starts[row] + column)
        error.line_text = lines[row]
        return error

    # -- writing --------------------------------------------------------------------------------
    def replace_sources(self, sources: Dict[int, str]) -> str:
        """The file text with the given cells' sources replaced, every other byte kept."""
        text = self.text
        for index in sorted(sources, reverse=True):
            cell = self.cells[index]
            if cell.span is None:  # pragma: no cover - a linted cell always has a source
                from tensorlint.core.fixer import FixError  # libcst: never loaded for this unreachable case
                raise FixError(f"cell {index + 1} has no source to rewrite")
            start, end = cell.span
            text = text[:start] + self._render(cell, sources[index]) + text[end:]
        return text

    def _render(self, cell: Cell, new_source: str) -> str:
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

    def _pretty(self, cell: Cell) -> bool:
        """Is the `"source"` key alone at the start of its line (an indented file)?"""
        line_start = self._line_start(cell.span[0])
        key = re.fullmatch(r'[ \t]*"source"[ \t]*:[ \t]*', self.text[line_start:cell.span[0]])
        return line_start > 0 and key is not None

    def _line_start(self, offset: int) -> int:
        return max(self.text.rfind("\n", 0, offset), self.text.rfind("\r", 0, offset)) + 1

    def _key_indent(self, cell: Cell) -> str:
        line_start = self._line_start(cell.span[0])
        prefix = self.text[line_start:cell.span[0]]
        return prefix[:len(prefix) - len(prefix.lstrip(" \t"))]

    def _compact_separator(self, cell: Cell) -> str:
        # `"source": [` vs `"source":[`: a file written with `, ` between items has `: ` after keys too
        before = self.text[max(0, cell.span[0] - 2):cell.span[0]]
        return ", " if before.endswith(" ") else ","

    # -- positions ------------------------------------------------------------------------------
    def file_position(self, cell: Cell, offset: int) -> Tuple[int, int]:
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


class EditorNotebook:
    """The part of `Notebook` that linting reads, for cells given as texts: no file to place them in."""

    def __init__(self, sources: Sequence[Optional[str]], shown: str) -> None:
        self.cells: List[Cell] = []
        for index, source in enumerate(sources):
            cell = Cell(index, "code" if source is not None else "markdown", None, source or "", None, None, [])
            masked = mask_ipython(source) if source is not None else None
            if masked is not None:
                cell.lintable = True
                cell.masked, cell.masked_lines = masked
                check_cell(cell.masked, index + 1, shown)
            self.cells.append(cell)

    def placed(self, error: NotebookError, cell: Cell) -> NotebookError:
        return error

    def file_position(self, cell: Cell, offset: int) -> Tuple[int, int]:
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


def _container_items(text: str, index: int, keyed: bool) -> List[Tuple[Optional[str], Span]]:
    """(key, value span) of each member of the JSON object at `index` (`keyed`), or (None, span) of each item of
    the array there."""
    opening, closing = ("{", "}") if keyed else ("[", "]")
    items: List[Tuple[Optional[str], Span]] = []
    if text[index] != opening:
        return items
    index = _skip(text, index + 1)
    if text[index] == closing:
        return items
    while True:
        key = None
        if keyed:
            key, index = json.decoder.scanstring(text, index + 1)
            index = _skip(text, _skip(text, index) + 1)  # past ':'
        _, end = _DECODER.raw_decode(text, index)
        items.append((key, (index, end)))
        index = _skip(text, end)
        if text[index] != ",":
            return items
        index = _skip(text, index + 1)


def _object_members(text: str, index: int) -> Dict[str, Span]:
    """Key -> value span of the JSON object at `index` (the last one wins, as in json.loads)."""
    return dict(_container_items(text, index, keyed=True))


def _array_items(text: str, index: int) -> List[Span]:
    return [span for _, span in _container_items(text, index, keyed=False)]


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

def check_cell(masked: str, number: int, shown: str) -> None:
    try:
        compile(masked, f"cell {number}", "exec", CELL_COMPILE_FLAGS, dont_inherit=True)
    except SyntaxError as error:
        raise NotebookError(shown, f"cannot parse: {error.msg}", error.lineno or 1, error.offset or 1, number,
                            unparsable=True) from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise NotebookError(shown, f"cannot parse: {error or type(error).__name__}", cell=number,
                            unparsable=True) from None
