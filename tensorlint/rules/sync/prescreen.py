"""TL4's necessary condition, on the file's `ast` (rules/prescreen.py runs it; analysis/ast_scan.py reads the file).

Soundness. Every `SyncChecker` report requires `imports.imports_torch` (a `torch` import somewhere in the
file, or a star import, after which the import map assumes torch) and a step: the node is in a method a
framework calls once per batch (`training_step`, ...: `step_hooks.STEP_METHOD_NAMES`, counted in any class),
or inside a loop that `Semantic.loop_info` calls a step loop, or inside a same-file helper walked in the
context of a call made from one (`calls.py`, one level). The step loop is then a loop of this file, and
`classify_loop` makes a loop one only when, counting everything lexically inside it (more than it counts
itself),
  (a) it is not in a layer walk (`step_names.walks_layers`: in `forward`, and in a method of an nn.Module class
      whose name does not drive steps, only (b) and (c) count), and it is a `for` over data: its iterable
      mentions a loader-like name or a progress bar (`step_names.iteration_kind` "data", the name-level reading of
      `loops.iterates_data`), or a name the file assigns from an expression that mentions one or `range`
      (index.py's loader bindings: `pbar = tqdm(loader)`); or it is a `while`, or a `for` whose iterable
      mentions `range`, and it contains a call (the model call). (The analysis also wants a model call in a
      loop over data, and none named like a layer: this condition asks for less, so stays necessary.); or
  (b) it contains step evidence: a call `step_names.is_step_evidence` accepts (`backward`/`step` on any receiver,
      `manual_backward`, `*_step`, `zero_grad`), more than `loops.is_step_call` accepts; or
  (c) it names a function of this file that contains step evidence, directly or through the functions it
      names (a transitive closure, more than the analysis follows: index.py's `once_calls` only through
      plain-name and `self.` calls outside the helper's own loops), or it contains a call and the file
      defines a `forward`/`__call__` with step evidence (called through an instance).
A class is taken for an nn.Module only by the bases the analysis always accepts (a name ending in
`MODULE_BASE_SUFFIXES`, or a top-level module class of the file); treating any other class as a plain one
only weakens (a). Sync sites are not enumerated: nearly every such loop holds one (requiring one would rule
out 2 % more of the corpus), and new kinds of sync sites then need no change here.

A step can also come from another module (an inherited step method, a call from another file's step loop):
a project run then runs TL4 regardless (`ProjectContext.families_beyond_prescreen`).
"""
from __future__ import annotations

from typing import List, Set, Tuple

from tensorlint.analysis.ast_scan import FileScan, names_in
from tensorlint.analysis.step_names import iteration_kind
from tensorlint.analysis.step_hooks import STEP_METHOD_NAMES

ATTRIBUTES: frozenset = frozenset()
METHODS: frozenset = frozenset()
_INSTANCE_CALLS = frozenset({"forward", "__call__"})
_TORCH = frozenset({"torch"})


def may_report(scan: FileScan) -> bool:
    if not (scan.star_import or scan.names_bound_to(_TORCH)):
        return False
    return not scan.method_names.isdisjoint(STEP_METHOD_NAMES) or _may_have_step_loop(scan)


def _may_have_step_loop(scan: FileScan) -> bool:
    if scan.data_loop or scan.step_iteration_call or scan.evidence_in_loop:
        return True
    if not scan.for_iteration_names and not scan.call_in_loop:
        return False
    assignments = [(targets, names_in(value)) for targets, value in scan.assignments]
    # `pbar = tqdm(loader)` ... `for batch in pbar:` (index.py's loader bindings): a loop over data too
    loader_names = {name for targets, names in assignments if iteration_kind(names) for name in targets}
    if not scan.for_iteration_names.isdisjoint(loader_names):
        return True
    if not scan.call_in_loop:
        return False
    stepping = _stepping_names(scan, assignments)
    return not scan.loop_names.isdisjoint(stepping) or not stepping.isdisjoint(_INSTANCE_CALLS)


def _stepping_names(scan: FileScan, assignments: List[Tuple[Set[str], Set[str]]]) -> Set[str]:
    """Names of the file's functions with step evidence inside, directly or through the functions they
    name, and names assigned from an expression naming one (`step = partial(train_step, ...)`)."""
    functions = scan.functions
    for function in reversed(functions):  # a nested function lies inside its parent: hand its facts up
        if function.parent >= 0:
            parent = functions[function.parent]
            parent.evidence = parent.evidence or function.evidence
            parent.names |= function.names
    stepping = {f.name for f in functions if f.evidence}
    links = [({f.name}, f.names) for f in functions] + assignments
    grew = bool(stepping)
    while grew:
        grew = False
        for targets, names in links:
            if not targets <= stepping and not names.isdisjoint(stepping):
                stepping |= targets
                grew = True
    return stepping
