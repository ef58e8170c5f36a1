"""What the server knows of a document's text: its findings, worked out once per version.

Every request (diagnostics, code actions, hover) is answered from the `Snapshot` of the text it
names; nothing is linted twice for one text. While a text does not parse, the findings of the
last text that did are kept (moved past the edit) and the syntax error is shown beside them as
TL002; they carry no fixes then, since their edits were made for another text.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from tensorlint.adapters.notebook.cells import NotebookError
from tensorlint.core.diagnostics import Diagnostic
from tensorlint.core.noqa import is_suppressed
from tensorlint.adapters.lsp.incremental import Group, carried, in_groups, outline, plan
from tensorlint.adapters.lsp.text import Lines

# check(text, tree or None) -> the findings of `text`, `# noqa` honoured
Check = Callable[[str, Optional[ast.Module]], List[Diagnostic]]


@dataclass
class Snapshot:
    """One text of one document (or one notebook cell) and its findings."""
    source: str
    lines: Lines
    findings: List[Diagnostic]
    fixable: bool = True                     # the findings' fixes are edits of this very text
    groups: Optional[List[Group]] = None     # top-level statements, when the text parses
    syntax_error: Optional[Diagnostic] = None
    good: Optional["Snapshot"] = None        # the last text that parsed, while this one does not
    partial: bool = False                    # only the groups an edit reached were linted again
    report_syntax_error: bool = True         # TL002 is selected for the document

    @property
    def shown(self) -> List[Diagnostic]:
        """What is published: the findings, and the syntax error beside them (unless TL002 is
        ignored, or a `# noqa` on its line silences it, as in `tensorlint check`)."""
        error = self.syntax_error
        if error is None or not self.report_syntax_error:
            return self.findings
        line = self.lines.lines[error.line - 1] if error.line <= len(self.lines.lines) else ""
        return self.findings if is_suppressed(error.code, line) else self.findings + [error]

    def last_good(self) -> Optional["Snapshot"]:
        return self if self.syntax_error is None else self.good


def placed(problem: Diagnostic, lines: Lines) -> Diagnostic:
    """A finding known by line and column only (a syntax error), with its offsets in the text."""
    def offset(line: int, col: int) -> int:
        if line - 1 >= len(lines.lines):
            return len(lines.source)
        return min(lines.starts[line - 1] + col, lines.line_end(line - 1))
    start = offset(problem.line, problem.col)
    end = offset(problem.end_line or problem.line, problem.end_col)
    return replace(problem, start_offset=start, end_offset=max(start, end))


def analyse(source: str, previous: Optional[Snapshot], check: Check, encoding: str, whole: bool = False) -> Snapshot:
    """The snapshot of `source`, reusing `previous` (the document's last snapshot) unless `whole`."""
    from tensorlint.core.file_problems import from_parser_error, parse_python  # libcst: imported on the first lint
    from libcst import ParserSyntaxError
    lines = Lines(source, encoding)
    good = previous.last_good() if previous is not None else None
    tree, error = parse_python(source)
    if tree is None:
        return _broken(source, lines, previous, good, error)
    groups = outline(tree, lines.lines, good.groups if good is not None and good.groups else ())
    try:
        if good is not None and not whole and good.groups is not None:
            partial = _partial(good, source, lines, groups, check)
            if partial is not None:
                return Snapshot(source, lines, partial, groups=groups, partial=True)
        return Snapshot(source, lines, check(source, tree), groups=groups)
    except ParserSyntaxError as parser_error:  # Python parses it, the installed libcst does not
        return _broken(source, lines, previous, good, from_parser_error(parser_error))


def _broken(source: str, lines: Lines, previous: Optional[Snapshot], good: Optional[Snapshot], error: Diagnostic
            ) -> Snapshot:
    # Moved from the previous text, edit by edit: each edit is small, their sum may not be.
    findings = carried(previous.source, previous.findings, source) if previous is not None else []
    return Snapshot(source, lines, findings, fixable=False, syntax_error=placed(error, lines), good=good)


def _partial(good: Snapshot, source: str, lines: Lines, groups: List[Group], check: Check
             ) -> Optional[List[Diagnostic]]:
    steps = plan(good.lines.starts, good.groups, good.findings, source, lines.starts, groups)
    if steps is None:
        return None
    allowed = steps.redo + [g for g in groups if g.context]
    try:
        found_in_slice = check(steps.text, None)
    except Exception:  # noqa: BLE001 - whatever the slice does, the whole text decides
        return None
    mine = []
    for found in found_in_slice:
        if not any(g.holds(steps.back.line(found.line - 1) + 1) for g in steps.redo):
            continue  # in an import: its previous finding stands
        moved = steps.back.finding(found)
        if moved is None or not in_groups(moved, lines.starts, allowed):
            return None  # a fix reaches text that was left out: in the whole text it may differ
        mine.append(moved)
    return sorted(steps.kept + mine)


# ------------------------------------------------------------------ notebooks

@dataclass
class NotebookSnapshot:
    """One version of a notebook: a snapshot per cell (cell URI → its text and findings)."""
    cells: Dict[str, Snapshot] = field(default_factory=dict)
    good: Optional["NotebookSnapshot"] = None  # the last version whose cells all parsed, while one does not

    def last_good(self) -> Optional["NotebookSnapshot"]:
        broken = any(cell.syntax_error is not None for cell in self.cells.values())
        return self.good if broken else self


CheckCells = Callable[[Sequence[Optional[str]]], list]  # -> List[NotebookDiagnostic]; raises NotebookError


def analyse_notebook(cells: Sequence[Tuple[str, Optional[str]]], previous: Optional[NotebookSnapshot],
                     check: CheckCells, encoding: str) -> NotebookSnapshot:
    """`cells`: (cell URI, its text or None when it is not a Python code cell), in notebook order."""
    from tensorlint.core.file_problems import SYNTAX_ERROR, problem  # libcst: imported on the first lint
    try:
        found = check([source for _, source in cells])
    except NotebookError as error:
        good = previous.last_good() if previous is not None else None
        snapshot = NotebookSnapshot(good=good)
        for index, (uri, source) in enumerate(cells):
            text = source or ""
            lines = Lines(text, encoding)
            old = previous.cells.get(uri) if previous is not None else None
            findings = carried(old.source, old.findings, text) if old is not None else []
            syntax_error = None
            if error.cell == index + 1:
                syntax_error = placed(problem(SYNTAX_ERROR, error.reason, error.line, error.column), lines)
            snapshot.cells[uri] = Snapshot(text, lines, findings, fixable=False, syntax_error=syntax_error)
        return snapshot
    by_cell: Dict[int, List[Diagnostic]] = {}
    for mapped in found:
        by_cell.setdefault(mapped.cell, []).append(mapped.diagnostic)
    snapshot = NotebookSnapshot()
    for index, (uri, source) in enumerate(cells):
        text = source or ""
        snapshot.cells[uri] = Snapshot(text, Lines(text, encoding), by_cell.get(index + 1, []))
    return snapshot
