"""The worker's check of a TL503 fix: run the loop snippet (:mod:`tensorlint.verify.aliasing_snippet`) on real
NumPy and torch, original and fixed, and look at the tensors the containers kept.

The hazard, as the original must show it: at least two kept tensors, sharing memory with the buffer, all
equal (every one holds the last refill). The fix PASSes when the fixed loop's kept tensors share no memory
with the buffer and hold different values from one iteration to the next. A fixed loop whose tensors still
share the buffer, or that raises where the original did not, FAILs. The rest (the original raises, keeps
fewer than two tensors, or does not show the hazard; refills that write the same values every iteration)
is SKIPPED with the reason.
"""
from __future__ import annotations

import types
from typing import Any, Callable, Dict, List

import numpy as np
import torch

from tensorlint.verify.evaluation import Outcome, bind_spec, job_result, run_snippet, snippet_builtins

SIZE = 4  # what a name in the buffer's creation stands for (`np.empty((n, 3))`)


class Size(int):
    """A size of the buffer's creation (`n`, `cfg.width`, `cfg.size()`): SIZE, whatever attribute is asked of it."""

    def __new__(cls, value: int = SIZE) -> "Size":
        return super().__new__(cls, value)

    def __getattr__(self, name: str) -> "Size":
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    # (no `__getitem__`: NumPy would take it for a sequence without end)
    def __call__(self, *args: Any, **kwargs: Any) -> "Size":
        return self


class Value(Size):
    """A loop target (`for path in paths`): the iteration's number plus one, distinct in every iteration."""


class Source:
    """What the loop reads from (`load`, a reader, a stream): each call, item, read or number is a new value."""

    def __init__(self) -> None:
        self.count = 0

    def next(self) -> float:
        self.count += 1
        return float(self.count)

    def __call__(self, *args: Any, **kwargs: Any) -> float:
        return self.next()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name in ("readinto", "readinto1", "recv_into", "recvfrom_into"):
            return self.readinto
        return self

    def __getitem__(self, key: Any) -> float:
        return self.next()

    def __iter__(self):  # a finite stream (iterating by `__getitem__` would never end)
        return iter([self.next() for _ in range(SIZE)])

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.next(), dtype=dtype)

    def readinto(self, buffer: Any, *args: Any) -> int:
        view = memoryview(buffer).cast("B")
        view[:] = bytes([int(self.next()) % 256]) * len(view)
        return len(view)

    def _number(self, *args: Any) -> float:
        return self.next()

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _number
    __float__ = __int__ = __index__ = _number


def kept_tensors(value: Any, found: List[torch.Tensor]) -> List[torch.Tensor]:
    """The tensors a container holds (in lists, tuples, deques and dict values, nested)."""
    if isinstance(value, torch.Tensor):
        found.append(value)
    elif isinstance(value, dict):
        for item in value.values():
            kept_tensors(item, found)
    elif isinstance(value, (list, tuple)) or type(value).__name__ == "deque":
        for item in value:
            kept_tensors(item, found)
    return found


def _shares(tensor: torch.Tensor, buffer: Any) -> bool:
    try:
        return bool(np.shares_memory(tensor.detach().cpu().numpy(), buffer))
    except (TypeError, RuntimeError, ValueError):
        return False


def _observe(job: dict, code: Any, iterations: int) -> Outcome:
    extra = job.get("extra") or {}
    namespace: Dict[str, Any] = {"__builtins__": snippet_builtins(), "__name__": "__tensorlint_verify__",
                                 "__tl_iterations": iterations, "__tl_value": lambda i: Value(i + 1)}
    for name, spec in extra.get("modules", {}).items():
        namespace[name] = bind_spec(spec)
    for name in extra.get("sizes", ()):
        namespace[name] = Size()
    for name in extra.get("sources", ()):
        namespace[name] = Source()
    if extra.get("self"):
        namespace["self"] = types.SimpleNamespace()
    outcome = run_snippet(code, namespace, True, "exec")
    if not outcome.ok:
        return outcome
    buffer = namespace.get(extra.get("buffer"))
    kept: List[torch.Tensor] = []
    for path in extra.get("kept", ()):
        try:
            kept_tensors(eval(path, namespace), kept)
        except Exception as error:  # noqa: BLE001 - a container the snippet did not make
            return Outcome(False, error=f"cannot read `{path}` after the loop: {error}")
    equal = all(t.shape == kept[0].shape and torch.equal(t, kept[0]) for t in kept)
    outcome.value = {"kept": len(kept), "sharing": sum(_shares(t, buffer) for t in kept), "all_equal": equal,
                     "values": [t.flatten()[:4].tolist() for t in kept[:4]]}
    return outcome


class AliasingVerifier:
    """Verifies TL503's fixes: the loop snippet, run on real NumPy and torch."""

    def __init__(self, emit: Callable[[dict], None]) -> None:
        self.emit = emit

    def verify(self, job: dict) -> dict:
        candidate = job["candidates"][0]
        iterations = max(2, int(job.get("iterations", 3)))
        try:
            compiled = [compile(candidate["original"], "<original>", "exec"),
                        compile(candidate["fixed"], "<fixed>", "exec")]
        except SyntaxError as error:
            if error.filename == "<fixed>":
                return job_result("FAIL", reason=f"the fixed loop does not compile: {error.msg}", evaluated=candidate)
            return job_result("SKIPPED", error=f"the loop snippet does not compile on its own: {error.msg}",
                              evaluated=candidate)
        outcomes = []
        for side, code in zip(("original", "fixed"), compiled):
            self.emit({"progress": side, "binding": "loop snippet", "original_ok": outcomes[0].ok if outcomes else None})
            outcomes.append(_observe(job, code, iterations))
        original, fixed = outcomes
        evaluated = dict(candidate, original_code=candidate["original"], fixed_code=candidate["fixed"])
        details = {"iterations": iterations, "before": original.value, "after": fixed.value}
        if original.ok and fixed.ok:
            evaluated["notes"] = [f"{iterations} iterations; kept tensors before the fix: {original.value}; "
                                  f"after: {fixed.value}"]
        if not original.ok:
            return job_result("SKIPPED", reason=f"the loop snippet raised: {original.error}", evaluated=evaluated,
                              aliasing=details)
        if not fixed.ok:
            return job_result("FAIL", reason=f"the fixed loop raises where the original did not: {fixed.error}",
                              evaluated=evaluated, aliasing=details)
        before, after = original.value, fixed.value
        if before["kept"] < 2:
            return job_result("SKIPPED", reason=f"the loop kept {before['kept']} tensor(s): nothing to compare",
                              evaluated=evaluated, aliasing=details)
        if not (before["sharing"] and before["all_equal"]):
            return job_result("SKIPPED", reason="the original loop does not show the hazard (its kept tensors "
                              "share no memory with the buffer or differ)", evaluated=evaluated, aliasing=details)
        if after["sharing"]:
            return job_result("FAIL", reason=f"{after['sharing']} of the fixed loop's {after['kept']} kept tensors "
                              "still share the buffer's memory", evaluated=evaluated, aliasing=details)
        if after["all_equal"]:
            return job_result("SKIPPED", reason="the refills write the same values every iteration: the fixed "
                              "loop's tensors cannot be told apart", evaluated=evaluated, aliasing=details)
        return job_result("PASS", reason=f"original: all {before['kept']} kept tensors share the buffer and hold "
                          f"the last refill; fixed: {after['kept']} tensors with per-iteration values, none "
                          "sharing the buffer", evaluated=evaluated, aliasing=details,
                          notes=evaluated.pop("notes", []))
