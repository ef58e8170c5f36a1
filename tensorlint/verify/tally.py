"""Counting what a binding's two runs did: a fix's verdict from its bindings' outcomes, host syncs, graphs.

Verdicts (see docs/verifier.md): per binding the outcome is one of

* ``same``: both succeed with identical results (and the same memory sharing);
* ``error_removed``: the original raises the error the rule is about, the fixed snippet succeeds;
* ``other_error_removed``: the original raises another error, the fixed snippet succeeds;
* ``limitation``: the fixed snippet raises NumPy's missing-dtype error (bfloat16, float8): a known
  limit of the `.detach().cpu()` chain (FACTS §1.6), shown, and a FAIL with ``--strict-bfloat16``;
* ``not_compared``: both raise, and not the rule's error;
* ``fail``: anything else (the fixed snippet raises where the original succeeded or still raises the
  rule's error, or a result differs).

A fix PASSes with no ``fail`` binding and at least one binding that was compared. Where the fix
assumes a receiver is a tensor without proof, that receiver is also bound to look-alikes
(:mod:`tensorlint.verify.lookalikes`); one on which the original works and the fixed snippet does
not is a ``fail`` too.
"""
from __future__ import annotations

import re
import warnings
from collections import Counter
from typing import Any, Dict, List, Sequence, Tuple

import torch

from tensorlint.verify.compare import difference
from tensorlint.verify.emulated_tensor import tensors_in
from tensorlint.verify.evaluation import MAX_REPORTED, Outcome, job_result
from tensorlint.verify.sync_count import count_syncs

LIMITATION = re.compile(r"Got unsupported ScalarType (BFloat16|Float8\w*|QU?Int\w*)")
SYNC_WARNING = re.compile(r"synchroniz", re.IGNORECASE)


class SyncCount:
    """Counts host syncs: the emulation's counter, or CUDA's sync debug mode on a real GPU."""

    def __init__(self, real_cuda: bool) -> None:
        self.real_cuda = real_cuda
        self.kinds: Counter = Counter()

    def __enter__(self):
        if self.real_cuda:
            self._warnings = warnings.catch_warnings(record=True)
            self._log = self._warnings.__enter__()
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
        self._counter = count_syncs().__enter__()   # real CUDA: only synchronize() lands here
        return self

    def __exit__(self, *exc):
        if self.real_cuda:
            torch.cuda.set_sync_debug_mode("default")
            self.kinds["sync (set_sync_debug_mode)"] += sum(
                1 for w in self._log if SYNC_WARNING.search(str(w.message)))
            self._warnings.__exit__(*exc)
        self._counter.__exit__(*exc)
        self.kinds.update(self._counter.by_kind)
        self.kinds = Counter({k: v for k, v in self.kinds.items() if v})

    @property
    def total(self) -> int:
        return sum(self.kinds.values())


def retained_steps(state: Dict[str, Any], steps: List[Any], iterations: int, per_step: int) -> int:
    """How many iterations' step tensors (their autograd graphs) the accumulated state still reaches."""
    targets: Dict[int, int] = {}
    for index, tensor in enumerate(steps):
        if isinstance(tensor, torch.Tensor):
            iteration = index // max(per_step, 1)
            node = tensor.grad_fn
            if node is not None:
                targets[id(node)] = iteration
            elif tensor.requires_grad:
                targets[id(tensor)] = iteration
    reached = set()
    seen = set()
    stack = [t.grad_fn for t in tensors_in(state, max_depth=6) if t.grad_fn is not None]
    stack += [t for t in tensors_in(state, max_depth=6) if t.grad_fn is None and t.requires_grad]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if id(node) in targets:
            reached.add(targets[id(node)])
        if isinstance(node, torch.Tensor):
            continue
        variable = getattr(node, "variable", None)   # AccumulateGrad: the leaf
        if variable is not None and id(variable) in targets:
            reached.add(targets[id(variable)])
        for parent, _ in getattr(node, "next_functions", ()):
            stack.append(parent)
    return len(reached)


class Tally:
    """Outcomes per binding -> a verdict."""

    def __init__(self, strict_bfloat16: bool, loop: bool = False, shape: Tuple[int, ...] = (2, 3),
                 unshares: bool = False) -> None:
        self.strict = strict_bfloat16
        self.unshares = unshares  # the fix copies on purpose: the fixed value must share memory with no input
        self.loop = loop
        self.shape = shape
        self.counts: Counter = Counter()
        self.failures: List[dict] = []
        self.limitations: List[dict] = []
        self.other_errors: Counter = Counter()
        self.both_errors: Counter = Counter()

    def add(self, label: str, original: Outcome, fixed: Outcome, hazards: Sequence[Sequence[str]],
            loop_hazard: str = "") -> None:
        self.counts["bindings"] += 1
        rule_error = not original.ok and any(original.error_type == kind and re.search(pattern, original.error)
                                             for kind, pattern in hazards)
        limitation = not fixed.ok and LIMITATION.search(fixed.error)
        why = None
        if original.ok and fixed.ok:
            why = difference(original.value, fixed.value, loop=self.loop)
            if why is None and self.unshares and fixed.shared:
                why = f"the fix was to stop sharing memory, but the fixed snippet shares it with {sorted(fixed.shared)}"
            elif why is None and not self.unshares and original.shared != fixed.shared:
                why = (f"memory sharing differs: the original shares memory with "
                       f"{sorted(original.shared) or 'nothing'}, "
                       f"the fixed snippet with {sorted(fixed.shared) or 'nothing'}")
            if why is None and self.loop and loop_hazard == "graph" and fixed.retained:
                why = f"the fixed loop still keeps the graphs of {fixed.retained} iteration(s) alive"
            if why is None and self.loop and loop_hazard == "sync" and original.syncs and \
                    fixed.syncs >= original.syncs:
                why = f"the fixed loop still syncs {fixed.syncs:g} time(s) per iteration"
            if why is None:
                self.counts["same"] += 1
                if self.loop and original.retained and not fixed.retained:
                    self.counts["graph_removed"] += 1
                return
        elif original.ok:
            why = "the fixed snippet raises where the original succeeds"
        elif fixed.ok:
            self.counts["error_removed" if rule_error else "other_error_removed"] += 1
            if not rule_error:
                self.other_errors[original.error[:120]] += 1
            return
        elif limitation:
            self.counts["limitation"] += 1
            if len(self.limitations) < MAX_REPORTED:
                self.limitations.append({"binding": label, "original": original.text(), "fixed": fixed.text()})
            if not self.strict:
                return
            why = "the fixed snippet still cannot convert this dtype (--strict-bfloat16)"
        elif rule_error:
            why = "the fixed snippet still raises"
        else:
            self.counts["not_compared"] += 1
            self.both_errors[original.error[:160]] += 1
            return
        self.counts["fail"] += 1
        if len(self.failures) < MAX_REPORTED:
            self.failures.append({"binding": label, "why": why, "original": original.text(), "fixed": fixed.text()})

    def result(self) -> dict:
        counts = {key: self.counts.get(key, 0) for key in
                  ("bindings", "same", "error_removed", "other_error_removed", "limitation", "not_compared", "fail")}
        if self.loop:
            counts["graph_removed"] = self.counts.get("graph_removed", 0)
        counts["shape"] = list(self.shape)
        compared = counts["same"] + counts["error_removed"] + counts["other_error_removed"]
        notes = []
        if counts["other_error_removed"] and not counts["same"] and not counts["error_removed"]:
            top = self.other_errors.most_common(1)[0][0]
            notes.append(f"the original raised an error other than the rule's on every binding it failed "
                         f"({top}); the fixed snippet runs")
        if counts["fail"]:
            verdict, reason = "FAIL", self.failures[0]["why"] if self.failures else "failed"
        elif compared:
            verdict, reason = "PASS", None
        else:
            verdict = "SKIPPED"
            reason = "no binding could be compared: the original and the fixed snippet raise on every binding"
            if self.both_errors:
                reason += f" (the original: {self.both_errors.most_common(1)[0][0]})"
        return job_result(verdict, reason=reason, counts=counts, failures=self.failures,
                          limitations=self.limitations, notes=notes)
