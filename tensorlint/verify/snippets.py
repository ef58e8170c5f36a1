"""Turn a file's fixes into verification jobs: the original and fixed snippet, and what surrounds it.

This runs in the verifier's parent process and needs neither torch nor NumPy: it reads the file with
:mod:`ast`, never runs it. For each fix (diagnostics sharing one fix are one case: TL101 and TL102
share the canonical chain) it extracts

* the **expression** the fix rewrites (`.data` reads, TL201), and for a **conversion** (TL1xx, or a
  `.data` read the fix turns into one) where the flagged expression is not a `.numpy()` call but the
  argument of an implicit conversion, also the enclosing NumPy call (`np.linalg.norm(p)`) and the
  model of any such sink, `np.asarray(...)`;
* the **statement** (TL202 writes: the fix wraps it in `with torch.no_grad():`);
* the **accumulating statement** of a step loop (TL4xx: run a few iterations);
* the **NumPy name** and its enclosing expression/call, or the `from numpy import` statement (TL3xx);

together with the grad mode the code has there and the file's import aliases (so `np` is bound to
NumPy only if the file means NumPy by it; both read by :mod:`tensorlint.verify.source_model`), and the
snippet's text with every *other* fix whose edits lie inside it applied to both sides, so that a
fix is judged on its own effect (`np.array([a, b])` with one fix per element).

What a fix's snippet is comes from what its rules declare (`Rule.fix_check`, generated into
:data:`tensorlint.core.codes.FIX_CHECKS`), never from a rule's internals: :func:`snippet_kind`.
"""
from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from tensorlint.core.codes import FIX_CHECKS
from tensorlint.core.diagnostics import Diagnostic, Edit, Fix
from tensorlint.core.fix_check import FixCheck
from tensorlint.verify import aliasing_snippet
from tensorlint.verify.source_model import SourceModel, dotted, grad_modes, imports_of

# When the rules of one fix declare different snippets, the most specific wins: a NumPy name is part of
# an expression, a conversion is a kind of expression, an expression is part of a statement, and a
# statement is what a loop runs.
SNIPPET_SPECIFICITY = ("numpy", "module_input", "conversion", "expression", "statement", "loop", "aliasing")
_UNDECLARED = FixCheck()  # a code no rule declares (a diagnostic a test builds) is checked as an expression
_IMPORT_LINE = re.compile(r"\A\s*(?:import|from)\s+[\w.]+.*\n?\Z", re.DOTALL)
_SINK_ROOTS = ("numpy",)  # an implicit conversion evaluated inside its own call when the callee is NumPy's
SINK_MODEL = "__tl_np.asarray"


def fix_check(code: str) -> FixCheck:
    return FIX_CHECKS.get(code, _UNDECLARED)


def snippet_kind(codes: Sequence[str]) -> str:
    """The snippet the rules of `codes` declare for their shared fix (the most specific of them)."""
    declared = {fix_check(code).snippet for code in codes} or {_UNDECLARED.snippet}
    return min(declared, key=SNIPPET_SPECIFICITY.index)


def hazard_errors(codes: Sequence[str]) -> List[Tuple[str, str]]:
    """(exception class, message regex) that any of `codes` says the unfixed code raises, in code order."""
    found: List[Tuple[str, str]] = []
    for code in codes:
        found.extend(error for error in fix_check(code).raises if error not in found)
    return found


def proven_dtypes(codes: Sequence[str]) -> List[str]:
    """The dtypes the rules of `codes` prove the flagged tensors have (every declaration holds); empty: any."""
    declared = [set(fix_check(code).dtypes) for code in codes if fix_check(code).dtypes]
    return sorted(set.intersection(*declared)) if declared else []


def unshares(codes: Sequence[str]) -> bool:
    """Does a rule of `codes` say its fix stops the result sharing memory with its inputs, on purpose?"""
    return any(fix_check(code).unshares for code in codes)


def loop_measure(codes: Sequence[str]) -> str:
    """What the fixed loop must save: "graph" (retained graphs) if any of `codes` says so, else "sync"."""
    measures = {fix_check(code).measures for code in codes}
    return "graph" if "graph" in measures else "sync"


@dataclass
class Candidate:
    """One way of evaluating a fix: `original` and `fixed` texts; `flagged` = (start, end) in `original`."""
    original: str
    fixed: str
    how: str                      # "expression", "enclosing call", "modelled as np.asarray(...)", "statement", ...
    flagged: Tuple[int, int] = (0, 0)
    mode: str = "eval"            # "eval" (an expression) or "exec" (statements)


@dataclass
class Case:
    """One fix of one file, ready to be sent to a worker (see :meth:`job`)."""
    path: str
    diagnostics: List[Diagnostic]
    fix: Fix
    kind: str                     # what is evaluated: "expression", "statement", "loop", "numpy" or "probe"
    candidates: List[Candidate] = field(default_factory=list)
    grad_modes: List[bool] = field(default_factory=lambda: [True])
    imports: Dict[str, List[str]] = field(default_factory=dict)
    legacy_name: str = ""
    numpy_min: Optional[Tuple[int, ...]] = None
    problem: str = ""             # set when the fix cannot be extracted: reported SKIPPED with this reason
    notes: List[str] = field(default_factory=list)
    conversion: bool = False      # the expression is converted to NumPy: its implicit conversion is evaluated too
    extra: Dict[str, object] = field(default_factory=dict)  # what a kind's own checker needs (aliasing_snippet.py)

    @property
    def codes(self) -> List[str]:
        return sorted({d.code for d in self.diagnostics})

    @property
    def first(self) -> Diagnostic:
        return min(self.diagnostics)

    def job(self, iterations: int = 3, strict_bfloat16: bool = False) -> dict:
        return {
            "kind": self.kind,
            "raises": hazard_errors(self.codes),
            "measures": loop_measure(self.codes),
            "dtypes": proven_dtypes(self.codes),
            "unshares": unshares(self.codes),
            "candidates": [c.__dict__ for c in self.candidates],
            "grad_modes": self.grad_modes,
            "imports": self.imports,
            "legacy_name": self.legacy_name,
            "numpy_min": list(self.numpy_min) if self.numpy_min else None,
            "iterations": iterations,
            "strict_bfloat16": strict_bfloat16,
            # what the fix takes for a torch tensor without proof: bound also to look-alikes (plan.py)
            "assumes": list(self.fix.assumes) if self.fix is not None else [],
            "unproven": self.fix is not None and not self.fix.is_safe,
            "extra": self.extra,
        }


# -- applying edits inside a region -------------------------------------------------------------
def _inserted_imports(source: str, edit: Edit) -> Optional[str]:
    """The import lines an edit inserts (also written as a minimal edit: `i` -> `import x\ni`), else None."""
    replaced = source[edit.start:edit.end]
    text = edit.text
    if replaced and text.endswith(replaced):
        inserted = text[:len(text) - len(replaced)]
    elif text.startswith(replaced):
        inserted = text[len(replaced):]
    else:
        return None
    lines = [line for line in inserted.splitlines() if line.strip()]
    if not lines or not all(_IMPORT_LINE.match(line + "\n") for line in lines):
        return None
    return "\n".join(lines) + "\n"


def _inside(edit: Edit, start: int, end: int) -> bool:
    return start <= edit.start and edit.end <= end


def _overlap(a: Edit, b: Edit) -> bool:
    return a.start < b.end and b.start < a.end or a.start == b.start


def _apply(text: str, base: int, edits: Iterable[Edit]) -> str:
    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        text = text[:edit.start - base] + edit.text + text[edit.end - base:]
    return text


def _region_texts(source: str, start: int, end: int, fix: Fix,
                  others: Sequence[Fix]) -> Tuple[str, str, List[Edit]]:
    """Original and fixed text of source[start:end]; other fixes inside the region applied to both.

    Returns (original, fixed, the other fixes' edits that were applied).
    """
    own = [e for e in fix.edits if _inside(e, start, end)]
    extra: List[Edit] = []
    for other in others:
        if other == fix:
            continue
        edits = list(other.edits)
        if edits and all(_inside(e, start, end) for e in edits) and \
                not any(_overlap(e, o) for e in edits for o in own + extra):
            extra.extend(edits)
    region = source[start:end]
    return _apply(region, start, extra), _apply(region, start, own + extra), extra


def _flagged(diagnostic: Diagnostic, start: int, applied: Sequence[Edit]) -> Tuple[int, int]:
    """The flagged span, relative to the region's original text once `applied` edits are made."""
    a, b = diagnostic.start_offset - start, diagnostic.end_offset - start
    shift_a = shift_b = 0
    for edit in applied:
        change = len(edit.text) - (edit.end - edit.start)
        if edit.end <= diagnostic.start_offset:
            shift_a += change
        if edit.end <= diagnostic.end_offset:
            shift_b += change
    return a + shift_a, b + shift_b


# -- building cases ----------------------------------------------------------------------------
def cases_for_source(source: str, path: str, diagnostics: Sequence[Diagnostic],
                     numpy_min: Optional[Tuple[int, ...]] = None) -> List[Case]:
    """One Case per distinct fix among `diagnostics`. Raises SyntaxError if the file does not parse."""
    by_fix: Dict[Fix, List[Diagnostic]] = {}
    for diagnostic in diagnostics:
        if diagnostic.fix is not None:
            by_fix.setdefault(diagnostic.fix, []).append(diagnostic)
    if not by_fix:
        return []
    model = SourceModel(source)
    fixes = list(by_fix)
    cases = []
    for fix, group in by_fix.items():
        snippet = snippet_kind([d.code for d in group])
        conversion = snippet == "conversion"
        case = Case(path, sorted(group), fix, "expression" if conversion else snippet, imports=model.imports,
                    numpy_min=numpy_min, conversion=conversion)
        try:
            _extract(model, case, fixes)
        except _Unextractable as problem:
            case.problem = str(problem)
        cases.append(case)
    cases.sort(key=lambda c: (c.first.line, c.first.col, c.codes))
    return cases


class _Unextractable(Exception):
    pass


def _extract(model: SourceModel, case: Case, fixes: Sequence[Fix]) -> None:
    source = model.source
    first = case.first
    edits = list(case.fix.edits)
    outside_imports = []
    for edit in edits:
        inserted = _inserted_imports(source, edit)
        if inserted is not None and not (first.start_offset < edit.start < first.end_offset):
            outside_imports.append(edit)
            try:
                added = imports_of(ast.parse(textwrap.dedent(inserted)))
            except SyntaxError:
                continue
            case.imports = {**case.imports, **added}
    if outside_imports:
        case.notes.append("the fix also inserts import lines; the snippet binds those modules itself")
    edits = [e for e in edits if e not in outside_imports]
    if not edits:
        raise _Unextractable("the fix only inserts imports: nothing to evaluate")
    region = (min([first.start_offset] + [e.start for e in edits]), max([first.end_offset] + [e.end for e in edits]))
    fix = Fix(case.fix.title, tuple(edits), case.fix.safety, case.fix.assumes)
    others = [f for f in fixes if f != case.fix]
    if case.kind == "numpy":
        _extract_numpy(model, case, fix, others, region)
        return
    if case.kind == "aliasing":  # TL503: the loop around the finding, reduced to its evidence
        try:
            case.candidates.append(Candidate(*aliasing_snippet.extract(model, case, fix, others, _region_texts,
                                                                       _flagged)))
        except aliasing_snippet.Unextractable as problem:
            raise _Unextractable(str(problem)) from None
        return
    if case.kind in ("expression", "module_input"):  # module_input: the expression that makes a module's input
        node = model.covering(*region, kinds=(ast.expr,))
        if node is None:
            raise _Unextractable("no expression holds the fix's edits")
        node = _whole_conversion(model, node)
        case.grad_modes = grad_modes(model, node)
        _expression_candidates(model, case, fix, others, node)
        return
    statement = model.covering(*region, kinds=(ast.stmt,))
    if statement is None:
        raise _Unextractable("no statement holds the fix's edits")
    if any(hasattr(statement, name) for name in ("body", "orelse", "handlers")):
        raise _Unextractable(f"the fix spans a compound statement (`{type(statement).__name__}`)")
    case.grad_modes = grad_modes(model, statement)
    start, end = model.span(statement)
    line_start = model.positions.line_start(start)
    if source[line_start:start].strip() == "":
        start = line_start
    original, fixed, applied = _region_texts(source, start, end, fix, others)
    _note_applied(case, applied)
    case.candidates.append(Candidate(original, fixed, "statement" if case.kind == "statement" else "loop body",
                                     _flagged(case.first, start, applied), "exec"))


def _note_applied(case: Case, applied: Sequence[Edit]) -> None:
    if applied and not any("applied to both sides" in note for note in case.notes):
        case.notes.append("other fixes inside the snippet are applied to both sides")


def _is_numpy_call(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "numpy"


def _whole_conversion(model: SourceModel, node: ast.expr) -> ast.expr:
    """The `.numpy()` call that ends the method chain `node` begins, else `node` itself.

    A fix of `batch.data` in `batch.data.numpy()` moves the device copy into the chain
    (`batch.detach().cpu().numpy()`): only the whole conversion has the same result on both sides.
    """
    current = node
    while not _is_numpy_call(current):
        parent = model.parent(current)
        if not (isinstance(parent, (ast.Attribute, ast.Subscript)) and parent.value is current
                or isinstance(parent, ast.Call) and parent.func is current):
            return node
        current = parent
    return current


def _adds_device_copy(original: str, fixed: str) -> bool:
    return fixed.count(".cpu()") > original.count(".cpu()")


def _expression_candidates(model: SourceModel, case: Case, fix: Fix, others: Sequence[Fix], node: ast.expr) -> None:
    source = model.source
    start, end = model.span(node)
    original, fixed, applied = _region_texts(source, start, end, fix, others)
    _note_applied(case, applied)
    flagged = _flagged(case.first, start, applied)
    # a conversion, or a `.data` read the fix turns into one (`np.asarray(batch.data)`: `.detach().cpu()`)
    if not (case.conversion or _adds_device_copy(original, fixed)) or _is_numpy_call(node):
        case.candidates.append(Candidate(original, fixed, "expression", flagged))
        return
    # an argument of an implicit conversion: its own NumPy call if that can be evaluated, else np.asarray(...)
    sink = _enclosing_sink(model, node)
    if sink is not None:
        sink_start, sink_end = model.span(sink)
        sink_original, sink_fixed, sink_applied = _region_texts(source, sink_start, sink_end, fix, others)
        _note_applied(case, sink_applied)
        case.candidates.append(Candidate(sink_original, sink_fixed, "enclosing call",
                                         _flagged(case.first, sink_start, sink_applied)))
    prefix = f"{SINK_MODEL}(\n"
    case.candidates.append(Candidate(f"{prefix}{original}\n)", f"{prefix}{fixed}\n)", "modelled as np.asarray(...)",
                                     (flagged[0] + len(prefix), flagged[1] + len(prefix))))


def _enclosing_sink(model: SourceModel, node: ast.expr) -> Optional[ast.Call]:
    current: ast.AST = node
    while True:
        parent = model.parent(current)
        if isinstance(parent, (ast.List, ast.Tuple, ast.Starred, ast.keyword)):
            current = parent
            continue
        if isinstance(parent, ast.Call) and current is not parent.func:
            name = dotted(parent.func, model.imports)
            if name.split(".")[0] in _SINK_ROOTS:
                return parent
        return None


def _legacy_name(text: str) -> str:
    """`np.bool` -> bool, `NaN as MISSING` -> NaN, `np.in1d` -> in1d."""
    head = text.split(" as ")[0].strip()
    return head.rsplit(".", 1)[-1].strip()


def _extract_numpy(model: SourceModel, case: Case, fix: Fix, others: Sequence[Fix], region: Tuple[int, int]) -> None:
    source = model.source
    first = case.first
    case.legacy_name = _legacy_name(source[first.start_offset:first.end_offset])
    node = model.covering(*region, kinds=(ast.expr,))
    if node is None:
        statement = model.covering(*region, kinds=(ast.stmt,))
        if not isinstance(statement, (ast.ImportFrom, ast.Import)):
            raise _Unextractable("the NumPy-name fix is neither in an expression nor in an import")
        start, end = model.span(statement)
        original, fixed, applied = _region_texts(source, start, end, fix, others)
        case.candidates.append(Candidate(original, fixed, "import", _flagged(first, start, applied), "exec"))
        return
    start, end = model.span(node)
    original, fixed, applied = _region_texts(source, start, end, fix, others)
    case.candidates.append(Candidate(original, fixed, "expression", _flagged(first, start, applied)))
    # the context that may tell two meanings apart: the call the name is an argument of
    current: ast.AST = node
    parent = model.parent(current)
    while isinstance(parent, (ast.keyword, ast.UnaryOp)):
        current, parent = parent, model.parent(parent)
    if isinstance(parent, ast.Call):  # an argument (`dtype=np.bool`) or the callee (`np.long(n)`)
        start, end = model.span(parent)
        original, fixed, applied = _region_texts(source, start, end, fix, others)
        case.candidates.append(Candidate(original, fixed, "enclosing call", _flagged(first, start, applied)))


# -- step-loop findings without a fix: measure the flagged site's host syncs -----------------------------
def probes_for_source(source: str, path: str, diagnostics: Sequence[Diagnostic]) -> List[Case]:
    """One probe Case per diagnostic without a fix whose rule's fix would be a "loop" snippet (TL4): the
    flagged expression, run a few iterations.

    An `if`/`while`/`assert` condition is measured as `bool(condition)` (that is where it syncs), an
    f-string replacement field as the whole f-string.
    """
    wanted = [d for d in diagnostics if d.fix is None and fix_check(d.code).snippet == "loop"]
    if not wanted:
        return []
    model = SourceModel(source)
    probes = []
    for diagnostic in sorted(wanted):
        case = Case(path, [diagnostic], None, "probe", imports=model.imports)  # type: ignore[arg-type]
        node = model.covering(diagnostic.start_offset, diagnostic.end_offset, kinds=(ast.expr,))
        if node is None:
            case.problem = "no expression holds the flagged span"
            probes.append(case)
            continue
        parent = model.parent(node)
        while isinstance(parent, (ast.FormattedValue, ast.JoinedStr)) or isinstance(node, ast.FormattedValue):
            node, parent = parent, model.parent(parent)
        start, end = model.span(node)
        text = source[start:end]
        how = "flagged expression"
        if isinstance(parent, (ast.If, ast.While, ast.Assert, ast.IfExp)) and parent.test is node:
            text, how = f"bool(\n{text}\n)", "flagged condition, as bool(...)"
        case.grad_modes = grad_modes(model, node)
        case.candidates.append(Candidate(text, text, how, (0, len(text))))
        probes.append(case)
    return probes
