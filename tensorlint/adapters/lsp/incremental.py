"""Re-check only what an edit can have changed, so that diagnostics follow typing in a large file.

A module is cut into its top-level statements ("groups", whole lines). Two groups are *linked* when
one uses a name the other binds (a function and its callers, a class and the code that uses its
methods or attributes, a global and its readers). After an edit, the findings of the groups linked,
directly or through others, to a changed group are worked out again, on the new text without the
other groups' lines (a `Slice`, which maps its positions back to the text's); the imports and the
module docstring are always kept, since every rule reads them. The findings of the other groups
are the previous ones, moved to where their unchanged group now is.

Whenever that cannot be done exactly (an import changed, a fix edits text outside the re-checked
groups, every group is linked anyway), the caller checks the whole text; it also does on open and
on save, so a session never drifts from what `tensorlint check` says. tests/adapters/test_lsp_incremental.py
compares both answers over edits of the rule fixtures.
"""
from __future__ import annotations

import ast
import bisect
import difflib
from dataclasses import dataclass, replace
from typing import Dict, FrozenSet, Iterable, List, NamedTuple, Optional, Sequence, Set, Tuple

from tensorlint.core.diagnostics import Diagnostic, Edit, physical_lines, with_lines_mapped

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_IMPORTS = (ast.Import, ast.ImportFrom)


@dataclass(frozen=True)
class Group:
    """One top-level statement (statements sharing a line are one group), as whole lines."""
    first: int                 # 0-based first line (its first decorator for a definition)
    last: int                  # 0-based last line, included
    text: str
    context: bool              # imports and the module docstring: kept in every partial check
    binds: FrozenSet[str]
    uses: FrozenSet[str]

    def holds(self, line: int) -> bool:
        """Is 1-based `line` in the group?"""
        return self.first < line <= self.last + 1


def outline(tree: ast.Module, lines: Sequence[str], known: Iterable[Group] = ()) -> List[Group]:
    """The groups of a module, from its `ast` tree and its physical lines; the names of a group
    whose text is among the `known` groups' (the previous text's) are taken from there."""
    names = {group.text: (group.binds, group.uses) for group in known}
    spans: List[Tuple[int, int, List[ast.stmt]]] = []
    for statement in tree.body:
        decorators = getattr(statement, "decorator_list", ())
        first = min([statement.lineno] + [d.lineno for d in decorators]) - 1
        last = (statement.end_lineno or statement.lineno) - 1
        if spans and first <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(last, spans[-1][1]), spans[-1][2] + [statement])
        else:
            spans.append((first, last, [statement]))
    groups = []
    for index, (first, last, statements) in enumerate(spans):
        docstring = index == 0 and len(statements) == 1 and isinstance(statements[0], ast.Expr) \
            and isinstance(statements[0].value, ast.Constant) and isinstance(statements[0].value.value, str)
        text = "".join(lines[first:last + 1])
        if text not in names:
            binds: Set[str] = set()
            uses: Set[str] = set()
            for statement in statements:
                _names(statement, binds, uses)
            names[text] = (frozenset(binds), frozenset(uses))
        context = docstring or all(isinstance(statement, _IMPORTS) for statement in statements)
        groups.append(Group(first, last, text, context, *names[text]))
    return groups


def _names(statement: ast.stmt, binds: Set[str], uses: Set[str]) -> None:
    """The names a top-level statement binds for the rest of the module, and every name it uses.

    Generous on purpose: a name bound in a function body that is not declared global only links
    more groups than needed, which costs time, never exactness."""
    definition = isinstance(statement, _DEFINITIONS)
    if definition:
        binds.add(statement.name)
        if isinstance(statement, ast.ClassDef):  # methods and class attributes are reached as attributes
            for item in statement.body:
                for node in ast.walk(item):
                    if isinstance(node, _DEFINITIONS):
                        binds.add(node.name)
                    elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                        binds.add(node.id)
    for node in ast.walk(statement):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                uses.add(node.id)
            elif not definition:
                binds.add(node.id)
        elif isinstance(node, ast.Attribute):
            if not (node.attr.startswith("__") and node.attr.endswith("__")):  # called implicitly, by type
                uses.add(node.attr)
                if not isinstance(node.ctx, ast.Load):
                    binds.add(node.attr)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            binds.update(node.names)
            uses.update(node.names)
        elif not definition:
            if isinstance(node, _DEFINITIONS):
                binds.add(node.name)
            elif isinstance(node, ast.alias):
                binds.add((node.asname or node.name).split(".")[0])
            elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
                binds.add(node.name)
            elif isinstance(node, ast.MatchMapping) and node.rest:
                binds.add(node.rest)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                binds.add(node.name)


class Plan(NamedTuple):
    """A partial check: lint `text`, place its findings with `back`, keep those inside `redo`, add `kept`."""
    text: str                   # the new source without the groups outside `redo` (context kept)
    back: "Slice"
    redo: List[Group]
    kept: List[Diagnostic]      # previous findings of the other groups, at their new place


def plan(old_starts: Sequence[int], old_groups: Sequence[Group], old_findings: Iterable[Diagnostic],
         new_source: str, new_starts: Sequence[int], new_groups: Sequence[Group]) -> Optional[Plan]:
    """How to update `old_findings` (those of the old text) for `new_source`; None: check it all.

    `*_starts` are the offsets of each line (and of the end of the text, last)."""
    matcher = difflib.SequenceMatcher(None, [g.text for g in old_groups], [g.text for g in new_groups],
                                      autojunk=False)
    was: Dict[int, int] = {}   # new group -> the equal old group
    changed: Set[int] = set()
    names: Set[str] = set()    # bound by a changed or removed group
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            was.update((j1 + k, i1 + k) for k in range(i2 - i1))
            continue
        for group in list(old_groups[i1:i2]) + list(new_groups[j1:j2]):
            if group.context:
                return None
            names |= group.binds
        changed.update(range(j1, j2))
    redo = _linked(new_groups, changed, names)
    if len(redo) == sum(1 for g in new_groups if not g.context):
        return None
    kept = _moved(old_starts, old_groups, old_findings, new_starts, new_groups, was, redo)
    if kept is None:
        return None
    dropped = [g for i, g in enumerate(new_groups) if i not in redo and not g.context]
    return Plan(*Slice.without(new_source, new_starts, dropped), [new_groups[i] for i in sorted(redo)], kept)


class Slice:
    """The new text without some groups' lines, and the way back from its positions to the text's."""

    def __init__(self, runs: List[Tuple[int, int, int]], slice_starts: List[int], new_starts: Sequence[int]) -> None:
        self.runs = runs                  # (first slice line, first new line, line count) of each kept run
        self.firsts = [run[0] for run in runs]
        self.slice_starts = slice_starts  # offset of each slice line, and of its end
        self.new_starts = new_starts

    @classmethod
    def without(cls, source: str, starts: Sequence[int], dropped: Sequence[Group]) -> Tuple[str, "Slice"]:
        runs, parts, line, slice_line = [], [], 0, 0
        for group in list(dropped) + [None]:
            end = group.first if group is not None else len(starts) - 1
            if end > line:
                runs.append((slice_line, line, end - line))
                parts.append(source[starts[line]:starts[end]])
                slice_line += end - line
            if group is not None:
                line = group.last + 1
        slice_starts = [0]
        for first, new_first, count in runs:
            for number in range(new_first, new_first + count):
                slice_starts.append(slice_starts[-1] + starts[number + 1] - starts[number])
        return "".join(parts), cls(runs, slice_starts, starts)

    def line(self, slice_line: int) -> int:
        """0-based slice line -> 0-based line of the text."""
        run = self.runs[bisect.bisect_right(self.firsts, slice_line) - 1]
        return slice_line - run[0] + run[1]

    def offset(self, offset: int, edit: bool = False) -> Optional[int]:
        """Slice offset -> offset in the text; None for an edit where a dropped group would be on
        either side of it (where the whole text's fix could be before or after that group)."""
        if not self.runs:
            return None
        if offset >= self.slice_starts[-1]:
            first, new_first, count = self.runs[-1]
            end = self.new_starts[new_first + count]
            return end if not edit or end == self.new_starts[-1] else None
        line = bisect.bisect_right(self.slice_starts, offset) - 1
        position = bisect.bisect_right(self.firsts, line) - 1
        if edit and position > 0 and line == self.firsts[position] and offset == self.slice_starts[line]:
            before = self.runs[position - 1]
            if before[1] + before[2] != self.runs[position][1]:
                return None
        return self.new_starts[self.line(line)] + offset - self.slice_starts[line]

    def finding(self, finding: Diagnostic) -> Optional[Diagnostic]:
        """A finding of the slice, placed in the text (None when a fix edit cannot be placed)."""
        start, end = self.offset(finding.start_offset), self.offset(finding.end_offset)
        fix = finding.fix
        if fix is not None:
            edits = []
            for edit in fix.edits:
                edit_start, edit_end = self.offset(edit.start, edit=True), self.offset(edit.end, edit=True)
                if edit_start is None or edit_end is None:
                    return None
                edits.append(Edit(edit_start, edit_end, edit.text))
            fix = replace(fix, edits=tuple(edits))
        placed = replace(finding, line=self.line(finding.line - 1) + 1,
                         end_line=self.line(finding.end_line - 1) + 1 if finding.end_line else 0,
                         start_offset=start, end_offset=end, fix=fix)
        # the lines a message names ("comes from `model(x)` (line 12)") are slice lines too
        return with_lines_mapped(placed, lambda line: f"line {self.line(line - 1) + 1}" if line >= 1 else None)


def _linked(groups: Sequence[Group], changed: Set[int], names: Set[str]) -> Set[int]:
    """The changed groups and every group linked to them, directly or through others."""
    binders: Dict[str, List[int]] = {}
    users: Dict[str, List[int]] = {}
    for index, group in enumerate(groups):
        if group.context:
            continue
        for name in group.binds:
            binders.setdefault(name, []).append(index)
        for name in group.uses:
            users.setdefault(name, []).append(index)
    todo = list(changed)
    for name in names:
        todo += binders.get(name, []) + users.get(name, [])
    found: Set[int] = set()
    bound_seen: Set[str] = set()
    used_seen: Set[str] = set()
    while todo:
        index = todo.pop()
        if index in found:
            continue
        found.add(index)
        for name in groups[index].binds - bound_seen:  # its users, and other bindings of the name
            bound_seen.add(name)
            todo += binders.get(name, []) + users.get(name, [])
        for name in groups[index].uses - used_seen:    # what it uses (two users of `x` are not linked)
            used_seen.add(name)
            todo += binders.get(name, [])
    return found


def _moved(old_starts, old_groups, old_findings, new_starts, new_groups, was, redo) -> Optional[List[Diagnostic]]:
    """The old findings of the groups not re-checked, moved with their group; None when one cannot be."""
    shifts: List[Tuple[int, int, int]] = []  # (old start offset, old end offset, offset shift)
    line_shift: Dict[int, int] = {}
    for new_index, old_index in was.items():
        old, new = old_groups[old_index], new_groups[new_index]
        shifts.append((old_starts[old.first], old_starts[old.last + 1], new_starts[new.first] - old_starts[old.first]))
        line_shift[old_index] = new.first - old.first
    shifts.sort()
    keep = {old_index for new_index, old_index in was.items() if new_index not in redo}
    starts = [start for start, _, _ in shifts]

    firsts = [g.first for g in old_groups]

    def move(offset: int, edit: bool = False) -> Optional[int]:
        position = bisect.bisect_right(starts, offset) - 1
        if position < 0 or offset > shifts[position][1]:
            return None
        shift = shifts[position][2]
        if edit and position > 0 and offset == shifts[position][0] == shifts[position - 1][1] \
                and shifts[position - 1][2] != shift:
            return None  # the end of one group and the start of the next, which moved apart
        return offset + shift

    kept = []
    for finding in old_findings:
        index = bisect.bisect_right(firsts, finding.line - 1) - 1
        if index < 0 or not old_groups[index].holds(finding.line):
            return None
        if index not in keep:
            continue
        start, end = move(finding.start_offset), move(finding.end_offset)
        if start is None or end is None:
            return None
        fix = finding.fix
        if fix is not None:
            edits = []
            for edit in fix.edits:
                edit_start, edit_end = move(edit.start, True), move(edit.end, True)
                if edit_start is None or edit_end is None:
                    return None
                edits.append(Edit(edit_start, edit_end, edit.text))
            fix = replace(fix, edits=tuple(edits))
        shift = line_shift[index]
        moved = replace(finding, line=finding.line + shift, end_line=finding.end_line + shift if finding.end_line
                        else 0, start_offset=start, end_offset=end, fix=fix)
        moved = with_lines_mapped(moved, lambda line: _moved_line(line, firsts, old_groups, line_shift))
        if moved is None:
            return None
        kept.append(moved)
    return kept


def _moved_line(line: int, firsts, old_groups, line_shift) -> Optional[str]:
    """A line a kept finding's message names, moved with the group holding it (None: that group changed)."""
    index = bisect.bisect_right(firsts, line - 1) - 1
    if index < 0 or not old_groups[index].holds(line) or index not in line_shift:
        return None
    return f"line {line + line_shift[index]}"


def in_groups(finding: Diagnostic, starts: Sequence[int], groups: Sequence[Group]) -> bool:
    """Is the finding, and every edit of its fix, within `groups` (the end of a group included)?"""
    spans = [(starts[g.first], starts[g.last + 1]) for g in groups]
    offsets = [finding.start_offset] + [o for e in (finding.fix.edits if finding.fix else ()) for o in (e.start, e.end)]
    return any(g.holds(finding.line) for g in groups) and all(any(a <= o <= b for a, b in spans) for o in offsets)


def carried(old_source: str, findings: Iterable[Diagnostic], new_source: str) -> List[Diagnostic]:
    """The findings of `old_source` outside the lines an edit changed, moved to their place in
    `new_source` and without fixes (for a text that does not parse, where nothing can be fixed)."""
    old_lines, new_lines = physical_lines(old_source), physical_lines(new_source)
    prefix = 0
    while prefix < min(len(old_lines), len(new_lines)) and old_lines[prefix] == new_lines[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(old_lines), len(new_lines)) - prefix \
            and old_lines[-1 - suffix] == new_lines[-1 - suffix]:
        suffix += 1
    line_shift = len(new_lines) - len(old_lines)
    offset_shift = len(new_source) - len(old_source)
    moved = []
    for finding in findings:
        last = max(finding.end_line, finding.line)
        if last <= prefix:
            moved.append(replace(finding, fix=None))
        elif finding.line > len(old_lines) - suffix:
            moved.append(replace(finding, line=finding.line + line_shift,
                                 end_line=finding.end_line + line_shift if finding.end_line else 0,
                                 start_offset=finding.start_offset + offset_shift,
                                 end_offset=finding.end_offset + offset_shift, fix=None))
    return moved
