"""The verifier's subprocess: evaluates original and fixed snippets on the binding matrix.

Run as ``python -m tensorlint.verify.worker``; the parent (:mod:`tensorlint.verify.runner`) sends one
JSON job per line on stdin and reads JSON lines back: first ``{"hello": {...}}`` (versions and mode),
then per job ``{"id", "progress": ...}`` lines (so that a timeout can say which side hung) and one
``{"id", "result": {...}}``. The snippets' own output (``print``) goes to /dev/null, never into the
protocol. Snippets get a copy of the builtins without ``input``, ``open``, ``exit``, ``quit``,
``breakpoint`` and ``help``, and an ``__import__`` that only imports NumPy, torch and ``math``
(the user's modules are never imported).

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

import builtins
import io
import json
import os
import re
import sys
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from tensorlint.verify import emulation, sandbox
from tensorlint.verify.compare import difference, shared_inputs, summary
from tensorlint.verify.matrix import OPERANDS, SHAPES, Cell, Factory, cells, describe, seed_for
from tensorlint.verify.numpy_facts import INTRODUCED, describe_range, meanings_for, resolve
from tensorlint.verify.plan import Plan, Unbindable, _FixedSyntaxError, assumed_receivers, make_plan, name_spec, wrap

LIMITATION = re.compile(r"Got unsupported ScalarType (BFloat16|Float8\w*|QU?Int\w*)")
MAX_REPORTED = 4
SYNC_WARNING = re.compile(r"synchroniz", re.IGNORECASE)


# -- the environment snippets run in --------------------------------------------------------------
_REAL_IMPORT = builtins.__import__
_ALLOWED_IMPORTS = ("numpy", "torch", "math", "builtins")


def _restricted_import(numpy_module: Any = None) -> Callable:
    def _import(name, globals=None, locals=None, fromlist=(), level=0):
        if level or name.split(".")[0] not in _ALLOWED_IMPORTS:
            raise ImportError(f"the verifier does not import `{name}` (only NumPy, torch and math)")
        if name == "numpy" and numpy_module is not None:
            return numpy_module
        return _REAL_IMPORT(name, globals, locals, fromlist, level)
    return _import


def _builtins(numpy_module: Any = None) -> Dict[str, Any]:
    names = dict(vars(builtins))
    for name in ("input", "open", "exit", "quit", "breakpoint", "help", "copyright", "credits", "license"):
        names.pop(name, None)
    names["__import__"] = _restricted_import(numpy_module)
    return names


def _module(path: str) -> Any:
    import importlib
    return importlib.import_module(path)


def _bind_spec(spec: List[str], numpy_module: Any = None) -> Any:
    kind = spec[0]
    if kind == "builtin":
        return getattr(builtins, spec[1])
    if kind == "module":
        if spec[1] == "numpy" and numpy_module is not None:
            return numpy_module
        return _module(spec[1])
    if kind == "attr":
        if spec[1] == "numpy" and numpy_module is not None:
            return getattr(numpy_module, spec[2])
        return getattr(_module(spec[1]), spec[2])
    raise Unbindable(f"cannot bind {spec}")


@dataclass
class Outcome:
    ok: bool
    value: Any = None
    error: str = ""            # "TypeError: message"
    error_type: str = ""
    shared: frozenset = frozenset()
    syncs: float = 0.0
    sync_kinds: Optional[Dict[str, int]] = None
    retained: int = 0

    def text(self) -> str:
        return summary(self.value) if self.ok else self.error


def _run(code: Any, namespace: Dict[str, Any], grad_enabled: bool, mode: str) -> Outcome:
    torch.manual_seed(0)
    np.random.seed(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # ...except CUDA's sync debug warnings, which _SyncCount records on a real GPU
            warnings.filterwarnings("always", message=".*synchroniz")
            with torch.set_grad_enabled(grad_enabled):
                if mode == "eval":
                    value = eval(code, namespace)
                else:
                    exec(code, namespace)
                    value = None
        return Outcome(True, value)
    except BaseException as error:  # noqa: BLE001 - SystemExit from a snippet is an outcome too
        if isinstance(error, KeyboardInterrupt):
            raise
        message = " ".join(str(error).split())
        if len(message) > 300:
            message = message[:297] + "..."
        return Outcome(False, error=f"{type(error).__name__}: {message}", error_type=type(error).__name__)


class _SyncCount:
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
        self._counter = emulation.count_syncs().__enter__()   # real CUDA: only synchronize() lands here
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


# -- the tensor families: expressions, statements, loops -------------------------------------------
class Verifier:
    def __init__(self, real_cuda: bool, emit: Callable[[dict], None]) -> None:
        self.real_cuda = real_cuda
        self.factory = Factory(real_cuda)
        self.emit = emit
        self.tensor_attrs = frozenset(dir(torch.Tensor))

    # one job -----------------------------------------------------------------------------------
    def verify(self, job: dict) -> dict:
        kind = job["kind"]
        if kind == "numpy":
            return NumpyVerifier(self.emit).verify(job)
        if kind == "probe":
            return self._probe(job)
        loop = kind == "loop"
        reasons = []
        for candidate in job["candidates"]:
            try:
                plan = make_plan(candidate["original"], candidate["fixed"], candidate["mode"], candidate["flagged"],
                                 job["imports"], self.tensor_attrs, loop=loop)
            except Unbindable as why:
                reasons.append(f"{candidate['how']}: {why}")
                continue
            except _FixedSyntaxError as why:
                return _result("FAIL", reason=str(why), evaluated=candidate)
            except SyntaxError as error:
                return _result("SKIPPED", error=f"the original snippet does not parse on its own: {error.msg}",
                               evaluated=candidate)
            try:
                compiled = (compile(plan.original, "<original>", plan.mode),
                            compile(plan.fixed, "<fixed>", plan.mode))
            except SyntaxError as error:
                if error.filename == "<fixed>":
                    return _result("FAIL", reason=f"the fixed snippet does not compile: {error.msg}",
                                   evaluated=candidate)
                return _result("SKIPPED", error=f"the original snippet does not compile on its own: {error.msg}",
                               evaluated=candidate)
            if loop:
                result = self._verify_loop(job, plan, compiled)
            else:
                result = self._verify_snippet(job, plan, compiled)
            result["evaluated"] = dict(candidate, original_code=plan.original, fixed_code=plan.fixed,
                                       placeholders={a.placeholder: [a.key, a.role] for a in plan.atoms})
            self._look_alikes(job, candidate, loop, result)
            if reasons:
                result.setdefault("notes", []).extend(f"not evaluated as {r}" for r in reasons)
            return result
        return _result("SKIPPED", reason="cannot bind the snippet's names: " + "; ".join(reasons))

    def _look_alikes(self, job: dict, candidate: dict, loop: bool, result: dict) -> None:
        """What the fix assumes is a tensor, bound to non-tensors too: a binding it breaks FAILs the fix."""
        receivers = assumed_receivers(candidate["original"], candidate["fixed"], candidate["mode"], job["imports"],
                                      job.get("assumes") or (), bool(job.get("unproven")))
        if not receivers:
            return
        from tensorlint.verify.lookalikes import verify_look_alikes
        try:
            plan = make_plan(candidate["original"], candidate["fixed"], candidate["mode"], candidate["flagged"],
                             job["imports"], self.tensor_attrs, loop=loop, forced=receivers)
            compiled = (compile(plan.original, "<original>", plan.mode), compile(plan.fixed, "<fixed>", plan.mode))
        except (Unbindable, _FixedSyntaxError, SyntaxError) as why:
            result.setdefault("notes", []).append(f"look-alikes not tried: {why}")
            return
        found = verify_look_alikes(plan, compiled, job["grad_modes"], loop, int(job.get("iterations", 3)),
                                   self._namespace, _run)
        failures = found.pop("failures")
        result["look_alikes"] = found
        if failures and result.get("verdict") == "FAIL":   # the matrix's failure stays first
            result["failures"] = (list(result.get("failures") or []) + failures)[:MAX_REPORTED]
        elif failures:
            result["verdict"] = "FAIL"
            result["reason"] = f"{failures[0]['why']} ({failures[0]['binding']})"
            result["failures"] = failures[:MAX_REPORTED]

    def _namespace(self, plan: Plan) -> Dict[str, Any]:
        namespace: Dict[str, Any] = {"__builtins__": _builtins(), "__name__": "__tensorlint_verify__"}
        for name, spec in plan.names.items():
            if spec[0] == "list":
                namespace[name] = []
            else:
                namespace[name] = _bind_spec(spec)
        return namespace

    def _bindings(self, job: dict, plan: Plan):
        operands = plan.atoms_with("operand")
        choices: Sequence[Optional[str]] = OPERANDS if operands else (None,)
        modes = job["grad_modes"]
        for grad_enabled in modes:
            for cell in cells():
                for choice in choices:
                    yield grad_enabled, cell, choice, describe(cell, self.factory.accelerator, choice, grad_enabled,
                                                               len(modes))

    def _bind(self, plan: Plan, namespace: Dict[str, Any], cell: Cell, choice: Optional[str],
              iteration: int = 0, roles=("tensor", "operand"), shape=SHAPES[0]) -> List[Tuple[str, Any]]:
        inputs = []
        for index, atom in enumerate(plan.atoms):
            if atom.role not in roles:
                continue
            seed = seed_for(index, iteration)
            if atom.role == "operand":
                value = self.factory.operand(cell, choice or "tensor", seed, shape)
            else:
                value = self.factory.make(cell, seed, shape)
            namespace[atom.placeholder] = value
            inputs.append((atom.placeholder, value))
        return inputs

    def _state(self, plan: Plan, namespace: Dict[str, Any], inputs: List[Tuple[str, Any]]) -> Dict[str, Any]:
        state = {}
        for name, value in inputs:
            state[f"{name} (input)"] = value
            state[name] = namespace.get(name)
        for name in plan.assigned:
            state[name] = namespace.get(name, "<unassigned>")
        return state

    def _verify_snippet(self, job: dict, plan: Plan, compiled: Tuple[Any, Any]) -> dict:
        """Every binding with tensors of shape (2, 3); where none can be compared, (2,), then 0-dim."""
        result: dict = {}
        for shape in SHAPES:
            result = self._verify_shape(job, plan, compiled, shape)
            if result["verdict"] != "SKIPPED":
                break
        return result

    def _verify_shape(self, job: dict, plan: Plan, compiled: Tuple[Any, Any], shape: Tuple[int, ...]) -> dict:
        hazards = job["raises"]
        tally = _Tally(job["strict_bfloat16"], shape=shape)
        for grad_enabled, cell, choice, label in self._bindings(job, plan):
            if shape != SHAPES[0]:
                label += f", shape {shape}"
            outcomes = []
            for side, code in (("original", compiled[0]), ("fixed", compiled[1])):
                self.emit({"progress": side, "binding": label,
                           "original_ok": outcomes[0].ok if outcomes else None})
                namespace = self._namespace(plan)
                inputs = self._bind(plan, namespace, cell, choice, shape=shape)
                outcome = _run(code, namespace, grad_enabled, plan.mode)
                if outcome.ok:
                    if plan.mode == "exec":
                        outcome.value = self._state(plan, namespace, inputs)
                        assigned = {k: v for k, v in outcome.value.items() if k in plan.assigned}
                        outcome.shared = shared_inputs(assigned, inputs)
                    else:
                        outcome.shared = shared_inputs(outcome.value, inputs)
                outcomes.append(outcome)
            tally.add(label, outcomes[0], outcomes[1], hazards)
        return tally.result()

    # loops: the flagged statement as the body of a loop, a few iterations -----------------------
    def _verify_loop(self, job: dict, plan: Plan, compiled: Tuple[Any, Any]) -> dict:
        iterations = int(job.get("iterations", 3))
        tally = _Tally(job["strict_bfloat16"], loop=True)
        syncs = {"original": Counter(), "fixed": Counter()}
        per_iteration = {"original": 0.0, "fixed": 0.0}
        retained = {"original": 0, "fixed": 0}
        for grad_enabled, cell, choice, label in self._bindings(job, plan):
            outcomes = []
            for side, code in (("original", compiled[0]), ("fixed", compiled[1])):
                self.emit({"progress": side, "binding": label,
                           "original_ok": outcomes[0].ok if outcomes else None})
                outcomes.append(self._run_loop(plan, code, cell, grad_enabled, iterations))
            original, fixed = outcomes
            if original.ok and fixed.ok and cell.device == "cuda":
                for side, outcome in (("original", original), ("fixed", fixed)):
                    per_iteration[side] = max(per_iteration[side], outcome.syncs)
                    syncs[side].update(outcome.sync_kinds or {})
            if original.ok and fixed.ok:
                retained["original"] = max(retained["original"], original.retained)
                retained["fixed"] = max(retained["fixed"], fixed.retained)
            tally.add(label, original, fixed, [], loop_hazard=job["measures"])
        result = tally.result()
        result["syncs"] = {"iterations": iterations, "before": per_iteration["original"],
                           "after": per_iteration["fixed"], "kinds_before": dict(syncs["original"]),
                           "kinds_after": dict(syncs["fixed"]),
                           "counter": "torch.cuda.set_sync_debug_mode" if self.real_cuda else "emulation"}
        result["graphs_retained"] = {"iterations": iterations, "before": retained["original"],
                                     "after": retained["fixed"]}
        return result

    def _run_loop(self, plan: Plan, code: Any, cell: Cell, grad_enabled: bool, iterations: int) -> Outcome:
        namespace = self._namespace(plan)
        for atom in plan.atoms_with("accumulator"):
            namespace[atom.placeholder] = 0.0
        step_tensors: List[Tuple[str, Any]] = []
        counter = _SyncCount(self.real_cuda)
        for iteration in range(iterations):
            inputs = self._bind(plan, namespace, cell, None, iteration, roles=("step",))
            step_tensors.extend((f"{name}#{iteration}", value) for name, value in inputs)
            if cell.device == "cuda":
                with counter:
                    outcome = _run(code, namespace, grad_enabled, "exec")
            else:
                outcome = _run(code, namespace, grad_enabled, "exec")
            if not outcome.ok:
                return outcome
        state = {a.placeholder: namespace.get(a.placeholder) for a in plan.atoms_with("accumulator")}
        state.update({name: namespace.get(name) for name, spec in plan.names.items() if spec[0] == "list"})
        state.update({name: namespace.get(name, "<unassigned>") for name in plan.assigned})
        outcome = Outcome(True, state)
        outcome.shared = shared_inputs(state, step_tensors)
        outcome.syncs = counter.total / iterations
        outcome.sync_kinds = dict(counter.kinds)
        outcome.retained = _retained_steps(state, [t for _, t in step_tensors], iterations, len(
            plan.atoms_with("step")))
        return outcome

    # TL4 findings without a fix: how often does the flagged expression sync per iteration? ------
    def _probe(self, job: dict) -> dict:
        candidate = job["candidates"][0]
        try:
            plan = make_plan(candidate["original"], candidate["original"], "eval", candidate["flagged"],
                             job["imports"], self.tensor_attrs, loop=True)
            code = compile(plan.original, "<probe>", "eval")
        except Unbindable as why:
            return _result("SKIPPED", reason=f"cannot bind the flagged expression's names: {why}", evaluated=candidate)
        except (SyntaxError, _FixedSyntaxError) as error:
            return _result("SKIPPED", error=f"the flagged expression does not compile on its own: {error}",
                           evaluated=candidate)
        iterations = int(job.get("iterations", 3))
        best, kinds, measured, errors = 0.0, Counter(), 0, Counter()
        for grad_enabled in job["grad_modes"]:
            for shape in ((), SHAPES[0]):
                for cell in cells(devices=("cuda",), dtypes=PROBE_DTYPES, kinds=("nograd", "nonleaf")):
                    label = describe(cell, self.factory.accelerator, None, grad_enabled, 1) + f", shape {shape}"
                    self.emit({"progress": "original", "binding": label, "original_ok": None})
                    namespace = self._namespace(plan)
                    counter = _SyncCount(self.real_cuda)
                    outcome = Outcome(True)
                    for iteration in range(iterations):
                        self._bind(plan, namespace, cell, None, iteration, roles=("step",), shape=shape)
                        with counter:
                            outcome = _run(code, namespace, grad_enabled, "eval")
                        if not outcome.ok:
                            errors[outcome.error] += 1
                            break
                    if outcome.ok:
                        measured += 1
                        per_iteration = counter.total / iterations
                        if per_iteration >= best:
                            best = per_iteration
                            kinds = Counter({k: v / iterations for k, v in counter.kinds.items()})
        if not measured:
            first = errors.most_common(1)[0][0] if errors else "no binding"
            return _result("SKIPPED", reason=f"the flagged expression raised on every binding ({first})",
                           evaluated=candidate)
        return _result("MEASURED", evaluated=candidate, syncs={
            "iterations": iterations, "per_iteration": best, "kinds": dict(kinds), "bindings": measured,
            "counter": "torch.cuda.set_sync_debug_mode + synchronize()" if self.real_cuda else "emulation"})


PROBE_DTYPES = (torch.float32, torch.int64)


def _retained_steps(state: Dict[str, Any], steps: List[Any], iterations: int, per_step: int) -> int:
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
    stack = [t.grad_fn for t in _tensors(state) if t.grad_fn is not None]
    stack += [t for t in _tensors(state) if t.grad_fn is None and t.requires_grad]
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


def _tensors(value: Any, depth: int = 0):
    if isinstance(value, torch.Tensor):
        yield value
    elif depth < 6 and isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item, depth + 1)
    elif depth < 6 and isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item, depth + 1)


class _Tally:
    """Outcomes per binding -> a verdict."""

    def __init__(self, strict_bfloat16: bool, loop: bool = False, shape: Tuple[int, ...] = (2, 3)) -> None:
        self.strict = strict_bfloat16
        self.loop = loop
        self.shape = shape
        self.counts: Counter = Counter()
        self.failures: List[dict] = []
        self.limitations: List[dict] = []
        self.other_errors: Counter = Counter()
        self.both_errors: Counter = Counter()

    def add(self, label: str, original: Outcome, fixed: Outcome, hazards: List[Tuple[str, str]],
            loop_hazard: str = "") -> None:
        self.counts["bindings"] += 1
        rule_error = not original.ok and any(original.error_type == kind and re.search(pattern, original.error)
                                             for kind, pattern in hazards)
        limitation = not fixed.ok and LIMITATION.search(fixed.error)
        why = None
        if original.ok and fixed.ok:
            why = difference(original.value, fixed.value, loop=self.loop)
            if why is None and original.shared != fixed.shared:
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
        return _result(verdict, reason=reason, counts=counts, failures=self.failures,
                       limitations=self.limitations, notes=notes)


def _result(verdict: str, reason: Optional[str] = None, error: Optional[str] = None, **extra: Any) -> dict:
    result = {"verdict": verdict, "reason": reason, "error": error}
    result.update(extra)
    return result


# -- NumPy names ---------------------------------------------------------------------------------
class _NumpyView:
    """The `numpy` module as some NumPy version had it: `overrides` win, everything else is the installed one."""

    def __init__(self, overrides: Dict[str, Any], hidden: Sequence[str] = ()) -> None:
        self.__dict__["_overrides"] = overrides
        self.__dict__["_hidden"] = set(hidden)

    def __getattr__(self, name: str) -> Any:
        if name in self._overrides:
            return self._overrides[name]
        if name in self._hidden:
            raise AttributeError(f"module 'numpy' has no attribute '{name}' (installed NumPy {np.__version__})")
        return getattr(np, name)

    def __repr__(self) -> str:
        return "<module 'numpy' (verifier view)>"


SAMPLES: List[Tuple[str, Callable[[], Any]]] = [
    ("int64 array (2, 3)", lambda: np.arange(6, dtype=np.int64).reshape(2, 3) - 2),
    ("float32 array (2, 3)", lambda: (np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5) / 2),
    ("float64 array with nan", lambda: np.array([0.5, -1.5, np.nan, 2.0])),
    ("bool array (2, 3)", lambda: np.array([[True, False, True], [False, False, True]])),
    ("complex128 array", lambda: np.array([1 + 2j, -0.5j])),
    ("0-d float64 array", lambda: np.array(1.25)),
    ("size-1 int64 array", lambda: np.array([7])),
    ("empty float64 array", lambda: np.zeros(0)),
    ("nested list", lambda: [[1, 2], [3, 4]]),
    ("True", lambda: True),
    ("int 3", lambda: 3),
    ("float 2.5", lambda: 2.5),
    ("np.True_", lambda: np.True_),
    ("np.float32(1.5)", lambda: np.float32(1.5)),
]


class NumpyVerifier:
    def __init__(self, emit: Callable[[dict], None]) -> None:
        self.emit = emit

    def verify(self, job: dict) -> dict:
        name = job["legacy_name"]
        numpy_min = tuple(job["numpy_min"]) if job.get("numpy_min") else None
        info: Dict[str, Any] = {"installed": np.__version__, "name": name, "ranges": []}
        meanings = meanings_for(name, numpy_min)
        if not meanings:
            return _result("SKIPPED", reason=f"no facts about `numpy.{name}` in the verifier's table", numpy=info)
        candidates = job["candidates"]
        missing = self._missing_replacements(candidates[0], job["imports"], numpy_min, name)
        if missing:
            return _result("FAIL", reason=missing, numpy=info, evaluated=candidates[0])
        verdicts = []
        failures: List[dict] = []
        evaluated = candidates[0]
        for span, meaning in meanings:
            entry = {"range": describe_range(span), "meaning": meaning}
            try:
                legacy_value = resolve(meaning)
            except Exception as error:  # noqa: BLE001
                entry.update(verdict="SKIPPED", why=f"cannot resolve {meaning}: {error}")
                info["ranges"].append(entry)
                verdicts.append("SKIPPED")
                continue
            chosen = None
            for candidate in candidates:
                outcome = self._compare(job, candidate, name, legacy_value, entry["range"])
                chosen = (candidate, outcome)
                if outcome["verdict"] == "PASS":
                    break
            candidate, outcome = chosen
            if outcome["verdict"] == "FAIL" and "FAIL" not in verdicts:
                evaluated = candidate   # show the snippet that failed first
            entry.update(verdict=outcome["verdict"], how=candidate["how"], why=outcome.get("why"),
                         samples=outcome.get("samples"))
            failures.extend(outcome.get("failures", []))
            info["ranges"].append(entry)
            verdicts.append(outcome["verdict"])
        if "FAIL" in verdicts:
            first = next(r for r in info["ranges"] if r["verdict"] == "FAIL")
            return _result("FAIL", reason=f"on {first['range']} `np.{name}` meant {first['meaning']}: {first['why']}",
                           numpy=info, failures=failures[:MAX_REPORTED], evaluated=evaluated)
        if "PASS" in verdicts:
            return _result("PASS", numpy=info, evaluated=evaluated)
        return _result("SKIPPED", reason="no sample could be compared", numpy=info, evaluated=evaluated)

    def _missing_replacements(self, candidate: dict, imports: Dict[str, List[str]], numpy_min, name: str) -> str:
        import ast
        code, _ = wrap(candidate["fixed"], candidate["mode"])
        try:
            tree = ast.parse(code, mode=candidate["mode"])
        except SyntaxError as error:
            return f"the fixed snippet does not parse: {error.msg}"
        paths = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                parts = []
                current = node
                while isinstance(current, ast.Attribute):
                    parts.append(current.attr)
                    current = current.value
                if isinstance(current, ast.Name) and name_spec(current.id, imports) == ["module", "numpy"]:
                    paths.append(".".join(reversed(parts)))
            elif isinstance(node, ast.ImportFrom) and node.module == "numpy" and not node.level:
                paths.extend(alias.name for alias in node.names)
        for path in sorted(set(paths)):
            obj: Any = np
            for part in path.split("."):
                if part == name and path.split(".")[0] == name:
                    break  # the old name left in place is judged by evaluation
                try:
                    obj = getattr(obj, part)
                except AttributeError:
                    return f"`numpy.{path}` does not exist in the installed NumPy {np.__version__}"
            for prefix, version in INTRODUCED.items():
                if (path == prefix or path.startswith(prefix + ".")) and (numpy_min is None or numpy_min < version):
                    supported = ".".join(map(str, numpy_min)) if numpy_min else "1.x (no minimum declared)"
                    return (f"`numpy.{path}` needs NumPy >= {'.'.join(map(str, version))}, "
                            f"but the project supports NumPy {supported}")
        return ""

    def _compare(self, job: dict, candidate: dict, name: str, legacy_value: Any, range_text: str) -> dict:
        import ast
        mode = candidate["mode"]
        code_original, _ = wrap(candidate["original"], mode)
        code_fixed, _ = wrap(candidate["fixed"], mode)
        try:
            compiled = (compile(code_original, "<original>", mode), compile(code_fixed, "<fixed>", mode))
        except SyntaxError as error:
            return {"verdict": "FAIL" if error.filename == "<fixed>" else "SKIPPED",
                    "why": f"does not compile: {error.msg}"}
        trees = [ast.parse(code_original, mode=mode), ast.parse(code_fixed, mode=mode)]
        others = _other_legacy(trees, name)
        legacy = _NumpyView({name: legacy_value, **others})
        installed = _NumpyView(others, hidden=[name])
        free: List[str] = []
        for tree in trees:
            local = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            for node in ast.walk(tree):
                if isinstance(node, ast.Name) and node.id not in local and node.id not in free:
                    spec = name_spec(node.id, job["imports"])
                    if spec is None:
                        free.append(node.id)
                    elif spec[0] in ("foreign", "ambiguous"):
                        return {"verdict": "SKIPPED", "why": f"`{node.id}` cannot be bound"}
        assigned = sorted({a.asname or a.name for t in trees for n in ast.walk(t) if isinstance(n, ast.ImportFrom)
                           for a in n.names})
        tally = Counter()
        failures = []
        for label, values in _sample_sets(free):
            outcomes = []
            for side, code, view in (("original", compiled[0], legacy), ("fixed", compiled[1], installed)):
                self.emit({"progress": side, "binding": label, "original_ok": outcomes[0].ok if outcomes else None})
                namespace: Dict[str, Any] = {"__builtins__": _builtins(view), "__name__": "__tensorlint_verify__"}
                for spec_name in {n.id for t in trees for n in ast.walk(t) if isinstance(n, ast.Name)}:
                    spec = name_spec(spec_name, job["imports"])
                    if spec is not None and spec_name not in free:
                        try:
                            namespace[spec_name] = _bind_spec(spec, view)
                        except AttributeError:
                            pass  # `from numpy import old` bound lazily: the name is judged where it is used
                namespace.update(values)
                outcome = _run(code, namespace, True, mode)
                if outcome.ok and mode == "exec":
                    outcome.value = {n: namespace.get(n, "<unassigned>") for n in assigned}
                outcomes.append(outcome)
            original, fixed = outcomes
            if original.ok and fixed.ok:
                why = difference(original.value, fixed.value)
                if why is None:
                    tally["same"] += 1
                    continue
            elif original.ok:
                why = f"the fixed snippet raises {fixed.error}"
            else:
                tally["not_compared"] += 1
                continue
            tally["fail"] += 1
            if len(failures) < MAX_REPORTED:
                failures.append({"binding": f"{range_text}, {label}", "why": why, "original": original.text(),
                                 "fixed": fixed.text()})
        samples = dict(tally)
        if tally["fail"]:
            return {"verdict": "FAIL", "why": f"{failures[0]['why']} ({failures[0]['binding']}: original "
                                              f"{failures[0]['original']}, fixed {failures[0]['fixed']})",
                    "failures": failures, "samples": samples}
        if tally["same"]:
            return {"verdict": "PASS", "samples": samples}
        return {"verdict": "SKIPPED", "why": "no sample could be compared", "samples": samples}


def _other_legacy(trees, name: str) -> Dict[str, Any]:
    """Other removed names in the snippet keep their last meaning (their own fixes are judged apart)."""
    import ast
    from tensorlint.verify.numpy_facts import MEANINGS
    found = {}
    for tree in trees:
        for node in ast.walk(tree):
            attr = node.attr if isinstance(node, ast.Attribute) else None
            names = [attr] if attr else []
            if isinstance(node, ast.ImportFrom):
                names = [a.name for a in node.names]
            for other in names:
                if other and other != name and other in MEANINGS and not hasattr(np, other):
                    try:
                        found[other] = resolve(MEANINGS[other][-1][1])
                    except Exception:  # noqa: BLE001
                        pass
    return found


def _sample_sets(free: List[str]):
    if not free:
        yield "no free names", {}
        return
    if len(free) == 1:
        for label, make in SAMPLES:
            yield f"{free[0]} = {label}", {free[0]: make()}
        return
    if len(free) == 2:
        for label_a, make_a in SAMPLES:
            for label_b, make_b in SAMPLES:
                yield f"{free[0]} = {label_a}, {free[1]} = {label_b}", {free[0]: make_a(), free[1]: make_b()}
        return
    for shift in range(2):
        for index in range(len(SAMPLES)):
            picks = {n: SAMPLES[(index + shift * k) % len(SAMPLES)] for k, n in enumerate(free)}
            yield ", ".join(f"{n} = {p[0]}" for n, p in picks.items()), {n: p[1]() for n, p in picks.items()}


# -- the protocol ----------------------------------------------------------------------------------
def hello(real_cuda: bool) -> dict:
    info = {"torch": torch.__version__, "numpy": np.__version__, "python": sys.version.split()[0],
            "mode": "cuda" if real_cuda else "emulated"}
    if real_cuda:
        info["device"] = torch.cuda.get_device_name(0)
    else:
        info["device"] = "EmulatedCudaTensor (cuda:0 emulated on the CPU; no GPU)"
    return info


def main() -> int:
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = io.TextIOWrapper(open(os.devnull, "wb"), encoding="utf-8")
    wanted = os.environ.get("TENSORLINT_VERIFY_DEVICE", "auto")
    available = torch.cuda.is_available()
    if wanted == "cuda" and not available:
        protocol.write(json.dumps({"fatal": "--device cuda: torch.cuda.is_available() is False"}) + "\n")
        return 2
    real_cuda = available and wanted != "emulated"
    if not real_cuda:
        torch.cuda.synchronize = emulation.emulated_synchronize  # a snippet's synchronize counts as a sync
    else:  # set_sync_debug_mode misses torch.cuda.synchronize() (FACTS §5): count it ourselves
        real_synchronize = torch.cuda.synchronize

        def counted_synchronize(device=None):
            emulation._record("synchronize")
            return real_synchronize(device)
        torch.cuda.synchronize = counted_synchronize
    current: Dict[str, Any] = {"id": None}

    def emit(message: dict) -> None:
        protocol.write(json.dumps(dict(message, id=current["id"]), default=str) + "\n")

    verifier = Verifier(real_cuda, emit)
    memory = os.environ.get("TENSORLINT_VERIFY_MEMORY_BYTES")
    sandbox.confine(os.getcwd(), int(memory) if memory else sandbox.DEFAULT_MEMORY_BYTES,
                    limit_address_space=not real_cuda)
    protocol.write(json.dumps({"hello": hello(real_cuda)}) + "\n")
    for line in sys.stdin:  # from here on, the sandbox applies (see tensorlint/verify/sandbox.py)
        if not line.strip():
            continue
        request = json.loads(line)
        current["id"] = request["id"]
        try:
            result = verifier.verify(request["job"])
        except Exception as error:  # noqa: BLE001 - one job's crash is that job's error
            tail = traceback.format_exc(limit=3).strip().splitlines()[-1]
            result = _result("SKIPPED", error=f"verifier error: {type(error).__name__}: {error} ({tail})")
        emit({"result": result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
