"""Apply fixes: non-overlapping edits per pass, repeated to a fixpoint, each pass checked against the AST.

The safety check (as black does) compares the module's AST before and after every pass. A fix may
rewrite the statement that holds its diagnostic (for a compound statement, only its header) and may
insert `import` lines at module level; the ASTs must be equal once those statements are masked, and
no edit may touch text outside them. Anything else is refused with a FixError and nothing is written.
"""
from __future__ import annotations

import ast
import bisect
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import libcst as cst

from tensorlint.core.deep import parse_module, with_deep_recursion
from tensorlint.core.diagnostics import Diagnostic, Edit, Fix, changes_nothing, physical_lines

MAX_PASSES = 10
# Fields holding nested statements: a masked compound statement is still compared through these.
_BLOCK_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")
_STATEMENT = (ast.stmt, ast.excepthandler)
_BOM = "\ufeff"


class FixError(Exception):
    """A fix was refused (invalid code, or a change outside its edits): a bug in tensorlint, never written."""


@dataclass
class FixResult:
    source: str
    fixed: List[Diagnostic] = field(default_factory=list)
    remaining: List[Diagnostic] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.fixed)


def apply_edits(source: str, fixes: Sequence[Fix]) -> Tuple[str, List[Fix]]:
    """Apply every fix whose edits overlap no earlier accepted fix; return the text and the fixes applied.

    An edit shared by several fixes (the same `import torch` line) is applied once.
    """
    accepted: Dict[Fix, None] = {}
    taken: List[Edit] = []      # sorted and mutually non-overlapping, so neighbours are all to compare
    starts: List[int] = []
    for fix in fixes:
        if fix in accepted or any(_overlaps_taken(edit, taken, starts) for edit in fix.edits):
            continue
        accepted[fix] = None
        for edit in fix.edits:
            index = bisect.bisect_left(taken, edit)
            if index == len(taken) or taken[index] != edit:
                taken.insert(index, edit)
                starts.insert(index, edit.start)
    pieces, position = [], 0
    for edit in taken:
        pieces += [source[position:edit.start], edit.text]
        position = edit.end
    return "".join(pieces) + source[position:], list(accepted)


def _overlaps_taken(edit: Edit, taken: List[Edit], starts: List[int]) -> bool:
    index = bisect.bisect_left(starts, edit.start)
    before = index - 1
    while before >= 0 and taken[before].end >= edit.start:
        if taken[before] != edit and _overlaps(edit, taken[before]):
            return True
        before -= 1
    while index < len(taken) and taken[index].start <= edit.end:
        if taken[index] != edit and _overlaps(edit, taken[index]):
            return True
        index += 1
    return False


def _overlaps(a: Edit, b: Edit) -> bool:
    if a.start == a.end and b.start == b.end:
        return a.start == b.start and a.text != b.text
    return a.start < b.end and b.start < a.end or (a.start == a.end and b.start < a.start < b.end) \
        or (b.start == b.end and a.start < b.start < a.end)


# Which of a pass's usable fixes to apply (a subset of theirs), given the text and the usable diagnostics.
FixChooser = Callable[[str, List[Diagnostic]], Sequence[Fix]]


def fix_to_fixpoint(source: str, diagnose: Callable[[str], List[Diagnostic]], unsafe: bool,
                    choose: Optional[FixChooser] = None) -> FixResult:
    """Fix what `diagnose` reports until nothing more applies (nested conversions need two passes).

    `choose` picks which usable fixes a pass applies (default: all of them; `fix --verify`: those that
    verify); when it picks none, fixing stops there. Every pass must parse and pass `check_pass`; the
    result must be a fixpoint (checked: the last diagnosis offers no fix to apply), else FixError.
    """
    return with_deep_recursion(_fix_to_fixpoint, source, diagnose, unsafe, choose)


def _fix_to_fixpoint(source: str, diagnose: Callable[[str], List[Diagnostic]], unsafe: bool,
                     choose: Optional[FixChooser]) -> FixResult:
    result = FixResult(source)
    tree: Optional[ast.Module] = None
    for passes in range(MAX_PASSES + 1):
        diagnostics = diagnose(result.source)
        usable = [d for d in diagnostics if d.fix is not None and (unsafe or d.fix.is_safe)
                  and not changes_nothing(result.source, d.fix.edits)]
        fixes = [d.fix for d in usable] if choose is None else list(choose(result.source, usable))
        if not fixes:
            result.remaining = diagnostics
            return result
        if passes == MAX_PASSES:
            raise FixError(f"refused: fixes still apply after {MAX_PASSES} passes (no fixpoint, e.g. "
                           f"{_describe([d for d in usable if d.fix in fixes])}); nothing was written")
        new_source, applied = apply_edits(result.source, fixes)
        applied_set = set(applied)
        done = [d for d in usable if d.fix in applied_set]
        try:
            parse_module(new_source)
        except cst.ParserSyntaxError as error:
            raise FixError(f"fix produced invalid code ({error.message.splitlines()[0]}) "
                           f"({_describe(done)}); nothing was written") from None
        tree = check_pass(result.source, new_source, done, tree)
        result.fixed.extend(done)
        result.source = new_source
    raise AssertionError("unreachable")  # pragma: no cover


# -- the AST safety check ----------------------------------------------------------------------
def check_pass(before: str, after: str, diagnostics: Sequence[Diagnostic],
               before_tree: Optional[ast.Module] = None) -> ast.Module:
    """Raise FixError unless `after` is `before` with only the fixed statements changed; return after's AST.

    `diagnostics` are those whose fixes made `after` from `before` in one pass of `apply_edits`.
    """
    old = _Source(before, before_tree if before_tree is not None else _parse(before, "the original"))
    new = _Source(after, _parse(after, "the fixed code"))
    masked: Dict[int, int] = {}  # id(fixed statement in `before`) -> its mask number
    statements: Dict[Fix, List[ast.AST]] = {}  # fix -> the statements holding its diagnostics
    for diagnostic in diagnostics:
        statement = old.innermost(diagnostic.start_offset, diagnostic.end_offset)
        if statement is not None:
            masked.setdefault(id(statement), len(masked))
            statements.setdefault(diagnostic.fix, []).append(statement)
    wraps = {fix: run for fix, held in statements.items()
             if any(edit.start == edit.end and edit.text.startswith("with ") for edit in fix.edits)
             and (run := old.wrapped_run(held, _changed_spans(before, fix))) is not None}
    regions: Dict[Fix, List[Tuple[int, int, Optional[ast.AST]]]] = {  # fix -> (start, end, statement) it may edit
        fix: [(old.span(wraps[fix][0])[0], old.span(wraps[fix][-1])[1], None)] if fix in wraps
        else [(*old.header(statement), statement) for statement in held] for fix, held in statements.items()}
    ordered = _checked_edits(old, diagnostics, regions)
    if _apply(before, [edit for edit, _ in ordered]) != after:
        raise FixError("refused: the edits applied do not match the fixes; nothing was written")
    shift = _Shift(ordered)
    counterparts: Dict[int, int] = {}  # id(statement in `after`) -> mask number of the one it replaces
    wrapped: Dict[int, Tuple[int, ast.With]] = {}  # id(first statement of a run) -> (run length, its `with`)
    inside = set()  # statements in a wrapped run: their counterparts are found by position
    for run in wraps.values():
        match = new.outermost_at(shift.start(old.span(run[0])[0]), shift.end(old.span(run[-1])[1]))
        if not isinstance(match, ast.With) or len(match.body) != len(run):
            raise FixError(f"refused: the fix changed code outside its edits at line {run[0].lineno} "
                           f"(the statements it wraps are not one `with` block); nothing was written")
        wrapped[id(run[0])] = (len(run), match)
        _pair(run, match.body, masked, counterparts)
        inside.update(id(node) for statement in run for node in ast.walk(statement) if isinstance(node, _STATEMENT))
    for fix_regions in regions.values():
        for _, _, statement in fix_regions:
            if statement is None or id(statement) in inside:
                continue
            start, end = old.span(statement)
            match = new.outermost_at(shift.start(start), shift.end(end))
            if match is None or (_is_compound(statement) and type(match) is not type(statement)):
                raise FixError(f"refused: the fix changed code outside its edits at line {statement.lineno} "
                               f"(the statement it fixes no longer ends where its edits end); nothing was written")
            counterparts[id(match)] = masked[id(statement)]
    line = _first_difference(old.tree.body, _without_inserted_imports(new, ordered), masked, counterparts,
                             wrapped)
    if line is not None:
        raise FixError(f"refused: the fix changed code outside its edits at line {line} "
                       f"({_describe(diagnostics)}); nothing was written")
    return new.tree


def _changed_spans(source: str, fix: Fix) -> List[Tuple[int, int, str]]:
    """What the fix's edits change, import lines aside."""
    spans = []
    for edit in fix.edits:
        start, end, text = _minimal(source, edit)
        if (start != end or text) and _import_insertion(source, start, end, text) is None:
            spans.append((start, end, text))
    return spans


def _pair(old: Sequence[ast.AST], new: Sequence[ast.AST], masked: Dict[int, int], counterparts: Dict[int, int]) -> None:
    """Counterparts by position for the statements of a wrapped run (a shape mismatch is found later)."""
    for a, b in zip(old, new):
        if id(a) in masked:
            counterparts[id(b)] = masked[id(a)]
        if type(a) is type(b):
            for name in _BLOCK_FIELDS:
                _pair(getattr(a, name, ()) or (), getattr(b, name, ()) or (), masked, counterparts)


class _Wrapped:
    """In a statement list of `before`: a run of statements that a fix put inside one `with` block."""

    def __init__(self, run: Sequence[ast.AST], block: ast.With) -> None:
        self.run, self.block = list(run), block


def _checked_edits(old: "_Source", diagnostics: Sequence[Diagnostic],
                   regions: Dict[Fix, List[Tuple[int, int, Optional[ast.AST]]]]) -> List[Tuple[Tuple[int, int, str], bool]]:
    """Each edit reduced to what it changes, with whether it inserts import lines, in the order applied.

    Raises FixError for an edit that cuts a word or lies outside the statement its fix is for.
    """
    before = old.text
    edits: Dict[Tuple[int, int, str], Tuple[Edit, bool]] = {}  # minimal edit -> (as made, inserts imports?)
    for fix, fixed in _by_fix(diagnostics).items():
        for original in fix.edits:
            edit = _minimal(before, original)
            if edit[0] == edit[1] and not edit[2]:
                continue
            placed = _import_insertion(before, *edit)
            if placed is None:
                cut = next((at for at in (original.start, original.end) if _inside_a_word(before, at)), None)
                if cut is not None:
                    raise FixError(f"refused: the fix for {_describe(fixed)} cuts a word in two at line "
                                   f"{old.line_of(cut)} (an edit in the wrong place); nothing was written")
                if not any(s <= edit[0] and edit[1] <= e for s, e, _ in regions.get(fix, ())):
                    raise FixError(f"refused: the fix for {_describe(fixed)} edits line {old.line_of(edit[0])}, "
                                   f"outside the statement it fixes; nothing was written")
            edits[placed or edit] = (original, placed is not None)
    # apply_edits's order: two insertions at one place keep theirs
    return [(edit, imports) for edit, (_, imports) in sorted(edits.items(), key=lambda item: item[1][0])]


def _without_inserted_imports(new: "_Source", ordered: Sequence[Tuple[Tuple[int, int, str], bool]]) -> list:
    """The module body of `after` without the import lines the fixes inserted (FixError if one is not an import)."""
    added, delta = [], 0
    for (start, end, text), imports in ordered:  # where each inserted import line lies in `after`
        if imports:
            added.append((start + delta, start + delta + len(text)))
        delta += len(text) - (end - start)
    body, inserted = [], []
    for statement in new.tree.body:
        start = new.span(statement)[0]
        (inserted if any(a <= start < b for a, b in added) else body).append(statement)
    if any(not isinstance(s, (ast.Import, ast.ImportFrom)) for s in inserted):
        raise FixError(f"refused: the fix changed code outside its edits at line {inserted[0].lineno} "
                       f"(an inserted line is not an import); nothing was written")
    return body


def _parse(source: str, what: str) -> ast.Module:
    try:
        return ast.parse(source[1:] if source.startswith(_BOM) else source)  # `ast` refuses a BOM character
    except SyntaxError as error:
        raise FixError(f"refused: cannot check the fix: Python cannot parse {what} "
                       f"(line {error.lineno or 1}: {error.msg}); nothing was written") from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise FixError(f"refused: cannot check the fix: Python cannot parse {what} "
                       f"({error or type(error).__name__}); nothing was written") from None


def _describe(diagnostics: Sequence[Diagnostic]) -> str:
    shown = sorted({f"{d.code} at line {d.line}" for d in diagnostics})
    return ", ".join(shown[:3]) + (f" and {len(shown) - 3} more" if len(shown) > 3 else "")


def _by_fix(diagnostics: Sequence[Diagnostic]) -> Dict[Fix, List[Diagnostic]]:
    grouped: Dict[Fix, List[Diagnostic]] = {}
    for diagnostic in diagnostics:
        grouped.setdefault(diagnostic.fix, []).append(diagnostic)
    return grouped


def _minimal(source: str, edit: Edit) -> Tuple[int, int, str]:
    """The edit without the text it leaves as it was."""
    old, new = source[edit.start:edit.end], edit.text
    head = 0
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < min(len(old), len(new)) - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    return edit.start + head, edit.end - tail, new[head:len(new) - tail]


def _inside_a_word(source: str, offset: int) -> bool:
    """Does `offset` fall inside a name, keyword or number? Edits made from nodes never do."""
    return 0 < offset < len(source) and _is_word(source[offset - 1]) and _is_word(source[offset])


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _import_insertion(source: str, start: int, end: int, text: str) -> Optional[Tuple[int, int, str]]:
    """The same edit as whole `import` lines inserted at a line start, if it is one.

    An insertion can slide where the text around it repeats it: `\nX` → `\nimport builtins\nX` is
    `mport builtins\ni` inserted after an `i`, and equally `import builtins\n` at the line start.
    """
    if start != end or not text:
        return None
    while start > 0 and source[start - 1] == text[-1]:
        start, text = start - 1, source[start - 1] + text[:-1]
    for _ in range(len(text) + 1):
        at_line_start = (start == 0 or source[start - 1] == "\n" or start == 1 and source[0] == _BOM
                         or source[start - 1] == "\r" and source[start:start + 1] != "\n")
        if at_line_start and text.endswith(("\n", "\r")) or start == len(source) and text[0] in "\r\n":
            break
        if start == len(source) or source[start] != text[0]:
            return None
        start, text = start + 1, text[1:] + source[start]
    else:
        return None
    try:
        statements = ast.parse(text).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if statements and all(isinstance(s, ast.Import) or isinstance(s, ast.ImportFrom) and s.module != "__future__"
                          for s in statements):
        return start, start, text
    return None


def _apply(source: str, edits: Sequence[Tuple[int, int, str]]) -> str:
    pieces, position = [], 0
    for start, end, text in edits:
        pieces += [source[position:start], text]
        position = end
    return "".join(pieces) + source[position:]


class _Shift:
    """Maps offsets in the text before a pass to the text after it (edits sorted, so their ends are too)."""

    def __init__(self, ordered: Sequence[Tuple[Tuple[int, int, str], bool]]) -> None:
        self.edits = [(start, end, len(text) - (end - start), imports) for (start, end, text), imports in ordered]
        self.ends = [end for _, end, _, _ in self.edits]
        self.before = [0]  # before[i]: total length change of the first i edits
        for _, _, delta, _ in self.edits:
            self.before.append(self.before[-1] + delta)

    def _map(self, offset: int, counts: Callable[[int, bool], bool]) -> int:
        index = bisect.bisect_left(self.ends, offset)
        shifted = offset + self.before[index]
        while index < len(self.edits) and self.edits[index][1] == offset:
            start, end, delta, imports = self.edits[index]
            shifted += delta if counts(start < end, imports) else 0
            index += 1
        return shifted

    def start(self, offset: int) -> int:
        """Where a statement starting at `offset` starts: text inserted there belongs to it, imports do not."""
        return self._map(offset, lambda replaces, imports: replaces or imports)

    def end(self, offset: int) -> int:
        """Where a statement ending at `offset` ends: text appended there belongs to it, imports do not."""
        return self._map(offset, lambda replaces, imports: not imports)


class _Source:
    """A text and its AST, with statement spans as character offsets."""

    def __init__(self, text: str, tree: ast.Module) -> None:
        self.text, self.tree = text, tree
        bom = int(text.startswith(_BOM))
        self._lines = physical_lines(text[bom:])
        self._starts = [bom]
        for line in self._lines:
            self._starts.append(self._starts[-1] + len(line))
        self._spans: Dict[int, Tuple[int, int]] = {}
        self._sorted: Optional[List[Tuple[int, int, ast.AST]]] = None
        self._sorted_starts: List[int] = []
        self._outermost: Optional[Dict[Tuple[int, int], ast.AST]] = None
        self._parent_map: Optional[Dict[int, Tuple[list, int, Optional[ast.AST]]]] = None

    def offset(self, line: int, column: int) -> int:
        """Character offset of (1-based line, UTF-8 byte column), as `ast` positions are given."""
        if line > len(self._lines):
            return len(self.text)
        text = self._lines[line - 1]
        if not text.isascii():
            column = len(text.encode("utf-8")[:column].decode("utf-8", "ignore"))
        return self._starts[line - 1] + column

    def line_of(self, offset: int) -> int:
        return max(1, bisect.bisect_right(self._starts, offset)) if self._lines else 1

    def span(self, node: ast.AST) -> Tuple[int, int]:
        known = self._spans.get(id(node))
        if known is None:
            start = self.offset(node.lineno, node.col_offset)
            decorators = getattr(node, "decorator_list", None)
            if decorators:
                first = decorators[0]
                start = self.text.rfind("@", 0, self.offset(first.lineno, first.col_offset))
            known = self._spans[id(node)] = (start, self.offset(node.end_lineno, node.end_col_offset))
        return known

    def _statements(self) -> Iterator[ast.AST]:
        return (node for node in ast.walk(self.tree) if isinstance(node, _STATEMENT))

    def innermost(self, start: int, end: int) -> Optional[ast.AST]:
        """The innermost statement (or except clause) whose span holds [start, end)."""
        if self._sorted is None:
            self._sorted = sorted(((*self.span(s), s) for s in self._statements()), key=lambda t: (t[0], -t[1]))
            self._sorted_starts = [s for s, _, _ in self._sorted]
        for index in range(bisect.bisect_right(self._sorted_starts, start) - 1, -1, -1):
            s, e, node = self._sorted[index]
            if end <= e:
                return node
        return None

    def header(self, statement: ast.AST) -> Tuple[int, int]:
        """The text a fix for this statement may edit: all of a simple one, up to its body for a compound one."""
        start, end = self.span(statement)
        children = [self.span(child)[0] for name in _BLOCK_FIELDS for child in getattr(statement, name, ())
                    if isinstance(child, _STATEMENT)]
        return start, min(children, default=end)

    def wrapped_run(self, statements: Sequence[ast.AST], changed: Sequence[Tuple[int, int, str]]
                    ) -> Optional[List[ast.AST]]:
        """The sibling statements a fix wraps in a `with` block: the fewest adjacent siblings holding all its
        statements and changes, when that is more than one statement or an ancestor of its statements, and
        the fix inserts a `with` header where the first of them starts."""
        if not statements:
            return None
        parents = self._parents()
        candidate: Optional[ast.AST] = statements[0]
        while candidate is not None:
            siblings, _, owner = parents[id(candidate)]
            indices = [self._index_in(statement, siblings) for statement in statements]
            if None not in indices:
                run = siblings[min(indices):max(indices) + 1]
                start, end = self.span(run[0])[0], self.span(run[-1])[1]
                if all(start <= a and b <= end for a, b, _ in changed):
                    single = len(run) == 1 and any(run[0] is statement for statement in statements)
                    header = any(a == b == start and text.startswith("with ") for a, b, text in changed)
                    return None if single or not header else run
            candidate = owner
        return None

    def _index_in(self, statement: ast.AST, siblings: list) -> Optional[int]:
        parents = self._parents()
        node: Optional[ast.AST] = statement
        while node is not None:
            holder, index, owner = parents[id(node)]
            if holder is siblings:
                return index
            node = owner
        return None

    def _parents(self) -> Dict[int, Tuple[list, int, Optional[ast.AST]]]:
        """id(statement) -> (the list holding it, its index there, the statement owning that list)."""
        if self._parent_map is None:
            self._parent_map = {}
            owners: List[Tuple[Optional[ast.AST], list]] = [(None, self.tree.body)]
            owners += [(node, getattr(node, name)) for node in self._statements() for name in _BLOCK_FIELDS
                       if isinstance(getattr(node, name, None), list)]
            for owner, holder in owners:
                for index, child in enumerate(holder):
                    if isinstance(child, _STATEMENT):
                        self._parent_map[id(child)] = (holder, index, owner)
        return self._parent_map

    def outermost_at(self, start: int, end: int) -> Optional[ast.AST]:
        if self._outermost is None:
            self._outermost = {}
            for node in self._statements():  # breadth first: outer statements come first
                self._outermost.setdefault(self.span(node), node)
        return self._outermost.get((start, end))


def _is_compound(node: ast.AST) -> bool:
    return any(getattr(node, name, None) for name in _BLOCK_FIELDS) or isinstance(node, ast.excepthandler)


def _collapsed(statements: list, wrapped: Dict[int, Tuple[int, ast.With]]) -> list:
    """The list with each wrapped run replaced by one `_Wrapped` item."""
    result, index = [], 0
    while index < len(statements):
        length, block = wrapped.get(id(statements[index]), (0, None))
        if block is None:
            result.append(statements[index])
            index += 1
        else:
            result.append(_Wrapped(statements[index:index + length], block))
            index += length
    return result


def _first_difference(old: list, new: list, masked: Dict[int, int], counterparts: Dict[int, int],
                      wrapped: Optional[Dict[int, Tuple[int, ast.With]]] = None) -> Optional[int]:
    """Line (in `old`) of the first difference between two statement lists, masked statements aside.

    A run in `wrapped` must be, in `new`, exactly the body of the `with` block its fix wrapped it in.

    Iterative, so deeply nested expressions cannot exhaust the recursion limit.
    """
    stack: List[Tuple[object, object, int]] = [(old, new, 1)]
    while stack:
        a, b, line = stack.pop()
        if isinstance(a, _Wrapped):
            if b is not a.block or len(a.run) != len(b.body):
                return a.run[0].lineno
            stack.extend(zip(reversed(a.run), reversed(b.body), [a.run[0].lineno] * len(a.run)))
        elif isinstance(a, ast.AST):
            line = getattr(a, "lineno", line)
            mask = masked.get(id(a))
            if mask is not None or id(b) in counterparts:
                if mask is None or counterparts.get(id(b)) != mask:
                    return line
                if not _is_compound(a):
                    continue  # the fixed statement itself: any new form is the intended edit
                names: Sequence[str] = [name for name in a._fields if name in _BLOCK_FIELDS]
            else:
                names = a._fields
            if type(a) is not type(b):
                return line
            stack.extend((getattr(a, name, None), getattr(b, name, None), line) for name in reversed(names))
        elif isinstance(a, list):
            if wrapped and any(id(x) in wrapped for x in a):
                a = _collapsed(a, wrapped)
            if not isinstance(b, list) or len(a) != len(b):
                lines = [getattr(x, "lineno", line) for x, y in zip(a, b or ()) if type(x) is not type(y)]
                return lines[0] if lines else (getattr(a[-1], "lineno", line) if a else line)
            stack.extend(zip(reversed(a), reversed(b), [line] * len(a)))
        elif type(a) is not type(b) or a != b:
            return line
    return None
