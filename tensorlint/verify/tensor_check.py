"""The worker's verifier of tensor code: a fix's original and fixed snippet run on the binding matrix.

Expressions and statements run once per binding (a tensor kind x device x dtype, each operand choice, each
grad mode); a step loop's statement runs a few iterations, counting host syncs and retained graphs; a probe
(a TL4 finding without a fix) measures the flagged expression's syncs. Verdicts: :mod:`tensorlint.verify.tally`.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from tensorlint.verify.compare import shared_inputs
from tensorlint.verify.evaluation import MAX_REPORTED, Outcome, job_result, plan_namespace, run_snippet
from tensorlint.verify.lookalikes import verify_look_alikes
from tensorlint.verify.matrix import DTYPES, OPERANDS, SHAPES, Cell, Factory, cells, describe, seed_for
from tensorlint.verify.plan import Plan, Unbindable, _FixedSyntaxError, assumed_receivers, make_plan
from tensorlint.verify.tally import SyncCount, Tally, retained_steps

PROBE_DTYPES = (torch.float32, torch.int64)


class TensorVerifier:
    """Verifies the fixes of tensor code (expressions, statements, step loops) and measures probes."""

    def __init__(self, real_cuda: bool, emit: Callable[[dict], None]) -> None:
        self.real_cuda = real_cuda
        self.factory = Factory(real_cuda)
        self.emit = emit
        self.tensor_attrs = frozenset(dir(torch.Tensor))

    # one job -----------------------------------------------------------------------------------
    def verify(self, job: dict) -> dict:
        kind = job["kind"]
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
                return job_result("FAIL", reason=str(why), evaluated=candidate)
            except SyntaxError as error:
                return job_result("SKIPPED", error=f"the original snippet does not parse on its own: {error.msg}",
                                  evaluated=candidate)
            try:
                compiled = (compile(plan.original, "<original>", plan.mode),
                            compile(plan.fixed, "<fixed>", plan.mode))
            except SyntaxError as error:
                if error.filename == "<fixed>":
                    return job_result("FAIL", reason=f"the fixed snippet does not compile: {error.msg}",
                                      evaluated=candidate)
                return job_result("SKIPPED", error=f"the original snippet does not compile on its own: {error.msg}",
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
        return job_result("SKIPPED", reason="cannot bind the snippet's names: " + "; ".join(reasons))

    def _look_alikes(self, job: dict, candidate: dict, loop: bool, result: dict) -> None:
        """What the fix assumes is a tensor, bound to non-tensors too: a binding it breaks FAILs the fix."""
        receivers = assumed_receivers(candidate["original"], candidate["fixed"], candidate["mode"], job["imports"],
                                      job.get("assumes") or (), bool(job.get("unproven")))
        if not receivers:
            return
        try:
            plan = make_plan(candidate["original"], candidate["fixed"], candidate["mode"], candidate["flagged"],
                             job["imports"], self.tensor_attrs, loop=loop, forced=receivers)
            compiled = (compile(plan.original, "<original>", plan.mode), compile(plan.fixed, "<fixed>", plan.mode))
        except (Unbindable, _FixedSyntaxError, SyntaxError) as why:
            result.setdefault("notes", []).append(f"look-alikes not tried: {why}")
            return
        found = verify_look_alikes(plan, compiled, job["grad_modes"], loop, int(job.get("iterations", 3)))
        failures = found.pop("failures")
        result["look_alikes"] = found
        if failures and result.get("verdict") == "FAIL":   # the matrix's failure stays first
            result["failures"] = (list(result.get("failures") or []) + failures)[:MAX_REPORTED]
        elif failures:
            result["verdict"] = "FAIL"
            result["reason"] = f"{failures[0]['why']} ({failures[0]['binding']})"
            result["failures"] = failures[:MAX_REPORTED]

    def _bindings(self, job: dict, plan: Plan):
        operands = plan.atoms_with("operand")
        choices: Sequence[Optional[str]] = OPERANDS if operands else (None,)
        modes = job["grad_modes"]
        proven = job.get("dtypes")
        dtypes = tuple(d for d in DTYPES if str(d).replace("torch.", "") in proven) if proven else DTYPES
        for grad_enabled in modes:
            for cell in cells(dtypes=dtypes):
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
        tally = Tally(job["strict_bfloat16"], shape=shape, unshares=bool(job.get("unshares")))
        for grad_enabled, cell, choice, label in self._bindings(job, plan):
            if shape != SHAPES[0]:
                label += f", shape {shape}"
            outcomes = []
            for side, code in (("original", compiled[0]), ("fixed", compiled[1])):
                self.emit({"progress": side, "binding": label,
                           "original_ok": outcomes[0].ok if outcomes else None})
                namespace = plan_namespace(plan)
                inputs = self._bind(plan, namespace, cell, choice, shape=shape)
                outcome = run_snippet(code, namespace, grad_enabled, plan.mode)
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
        tally = Tally(job["strict_bfloat16"], loop=True)
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
        namespace = plan_namespace(plan)
        for atom in plan.atoms_with("accumulator"):
            namespace[atom.placeholder] = 0.0
        step_tensors: List[Tuple[str, Any]] = []
        counter = SyncCount(self.real_cuda)
        for iteration in range(iterations):
            inputs = self._bind(plan, namespace, cell, None, iteration, roles=("step",))
            step_tensors.extend((f"{name}#{iteration}", value) for name, value in inputs)
            if cell.device == "cuda":
                with counter:
                    outcome = run_snippet(code, namespace, grad_enabled, "exec")
            else:
                outcome = run_snippet(code, namespace, grad_enabled, "exec")
            if not outcome.ok:
                return outcome
        state = {a.placeholder: namespace.get(a.placeholder) for a in plan.atoms_with("accumulator")}
        state.update({name: namespace.get(name) for name, spec in plan.names.items() if spec[0] == "list"})
        state.update({name: namespace.get(name, "<unassigned>") for name in plan.assigned})
        outcome = Outcome(True, state)
        outcome.shared = shared_inputs(state, step_tensors)
        outcome.syncs = counter.total / iterations
        outcome.sync_kinds = dict(counter.kinds)
        outcome.retained = retained_steps(state, [t for _, t in step_tensors], iterations, len(
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
            return job_result("SKIPPED", reason=f"cannot bind the flagged expression's names: {why}",
                              evaluated=candidate)
        except (SyntaxError, _FixedSyntaxError) as error:
            return job_result("SKIPPED", error=f"the flagged expression does not compile on its own: {error}",
                              evaluated=candidate)
        iterations = int(job.get("iterations", 3))
        best, kinds, measured, errors = 0.0, Counter(), 0, Counter()
        for grad_enabled in job["grad_modes"]:
            for shape in ((), SHAPES[0]):
                for cell in cells(devices=("cuda",), dtypes=PROBE_DTYPES, kinds=("nograd", "nonleaf")):
                    label = describe(cell, self.factory.accelerator, None, grad_enabled, 1) + f", shape {shape}"
                    self.emit({"progress": "original", "binding": label, "original_ok": None})
                    namespace = plan_namespace(plan)
                    counter = SyncCount(self.real_cuda)
                    outcome = Outcome(True)
                    for iteration in range(iterations):
                        self._bind(plan, namespace, cell, None, iteration, roles=("step",), shape=shape)
                        with counter:
                            outcome = run_snippet(code, namespace, grad_enabled, "eval")
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
            return job_result("SKIPPED", reason=f"the flagged expression raised on every binding ({first})",
                              evaluated=candidate)
        return job_result("MEASURED", evaluated=candidate, syncs={
            "iterations": iterations, "per_iteration": best, "kinds": dict(kinds), "bindings": measured,
            "counter": "torch.cuda.set_sync_debug_mode + synchronize()" if self.real_cuda else "emulation"})
