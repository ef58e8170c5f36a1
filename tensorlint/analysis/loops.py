"""Step loops (a body that runs once per training/evaluation/generation step) and periodic guards.

A loop is a *step loop* when its own body (not nested functions, not nested loops, which are
judged on their own) calls `.backward()` or an optimizer/scaler `.step(...)`, or when it iterates a
data loader, a `range(...)` or is a `while` loop, and calls a model. An epoch loop that calls
`train(...)` is not one. A *periodic guard* is an `if` whose body runs only some steps: a modulo
test (`step % N == 0`), a test naming logging/interval/last-step knobs, or an equality with a
literal (`i == 0`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, List

import libcst as cst

from .imports import dotted_name
from .walk import walk

_TOKENS = re.compile(r"[_\d]+|(?<=[a-z])(?=[A-Z])")
_OPTIMIZER_TOKENS = frozenset({"optim", "optimizer", "optimiser", "opt", "scaler", "optimizers", "optim_g", "optim_d"})
_LOADER_TOKENS = frozenset({"loader", "dataloader", "loaders", "batches", "iterator"})
_GUARD_TOKENS = frozenset({
    "log", "logging", "every", "interval", "freq", "frequency", "period", "periodic", "last", "verbose",
    "print", "display", "report", "debug", "eval", "evaluate", "validate", "validation", "save",
    "checkpoint", "ckpt", "first", "final", "should", "summary", "visualize", "vis", "plot",
})
_TIMING_CALLS = frozenset({"perf_counter", "perf_counter_ns", "time", "time_ns", "monotonic", "monotonic_ns",
                           "process_time", "elapsed_time"})
_ITERATION_WRAPPERS = frozenset({"enumerate", "tqdm", "trange", "iter", "zip", "islice", "cycle", "track", "progress"})


@dataclass(frozen=True)
class LoopInfo:
    node: cst.CSTNode
    is_step: bool
    is_timing: bool


def _tokens(name: str) -> List[str]:
    return [t.lower() for t in _TOKENS.split(name) if t]


class _Evidence(cst.CSTVisitor):
    """What a loop body does directly: steps an optimizer, calls backward, reads a clock, calls things."""

    def __init__(self) -> None:
        super().__init__()
        self.steps = False
        self.timing = False
        self.calls: List[cst.Call] = []

    def visit_FunctionDef(self, node) -> bool:
        return False

    visit_ClassDef = visit_Lambda = visit_For = visit_While = visit_FunctionDef

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)
        func = node.func
        if not isinstance(func, cst.Attribute):
            return
        name = func.attr.value
        owner = dotted_name(func.value) or ""
        if name == "backward":
            self.steps = True
        elif name == "step" and set(_tokens(owner.rsplit(".", 1)[-1])) & _OPTIMIZER_TOKENS:
            self.steps = True
        elif name in _TIMING_CALLS and (owner in ("time", "timeit") or name == "elapsed_time"):
            self.timing = True


def classify_loop(node: cst.CSTNode, calls_a_model: Callable[[cst.Call], bool],
                  model_calls_count: bool = True) -> LoopInfo:
    evidence = _Evidence()
    if isinstance(node, cst.While):
        walk(node.test, evidence)
    walk(node.body, evidence)
    model_call = model_calls_count and any(calls_a_model(call) for call in evidence.calls)
    per_step_iteration = isinstance(node, cst.While) or (isinstance(node, cst.For) and _iterates_steps(node.iter))
    return LoopInfo(node, evidence.steps or (model_call and per_step_iteration), evidence.timing)


def _iterates_steps(iterable: cst.BaseExpression) -> bool:
    """`loader`, `enumerate(train_loader)`, `tqdm(dataloader)`, `DataLoader(...)`, `range(max_new_tokens)`."""
    while isinstance(iterable, cst.Call):
        callee = dotted_name(iterable.func) or ""
        last = callee.rsplit(".", 1)[-1]
        if last in ("range", "DataLoader") or last.endswith("DataLoader"):
            return True
        if last not in _ITERATION_WRAPPERS or not iterable.args:
            return False
        iterable = iterable.args[0].value
    name = dotted_name(iterable)
    return bool(name) and bool(set(_tokens(name.rsplit(".", 1)[-1])) & _LOADER_TOKENS)


def is_periodic_guard(test: cst.BaseExpression) -> bool:
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Modulo(self, node) -> None:
            nonlocal found
            found = True

        def visit_Name(self, node: cst.Name) -> None:
            nonlocal found
            found = found or bool(set(_tokens(node.value)) & _GUARD_TOKENS)

        def visit_Comparison(self, node: cst.Comparison) -> None:
            nonlocal found
            for target in node.comparisons:
                if isinstance(target.operator, cst.Equal) and (
                        isinstance(target.comparator, cst.Integer) or isinstance(node.left, cst.Integer)):
                    found = True

    walk(test, Finder())
    return found
