"""Look-alikes: values real code passes where a fix assumes a torch tensor.

A conversion fix that inserts `.detach()` is right for a tensor and wrong for an object that merely
looks like one. The verifier binds each receiver a fix assumes without proof (``Fix.assumes``, and,
for an unsafe fix, every receiver that gains a link; :func:`tensorlint.verify.plan.assumed_receivers`)
also to each of :data:`LOOK_ALIKES`, the other sub-expressions to a plain CPU tensor, and runs both
sides: a binding on which the original works and the fixed snippet raises or differs is a failure,
whatever the tensor matrix said.

* an ``ndarray`` (a NumPy pipeline handing arrays where tensors were expected);
* the Python numbers ``3`` and ``2.5`` (a method named like a tensor op returning an ``int``);
* :class:`ResultLike`: ``.cpu()``, ``.cuda()``, ``.to()``, ``.numpy()`` of its own, no ``.detach()``
  (the result wrappers of detection packages: their ``Boxes``, ``Keypoints``, ``Results``);
* :class:`NumpyOnly`: ``.numpy()`` only (a dataset library's ``Tensor``, TensorFlow's eager tensor).

Imported only by the worker (:mod:`tensorlint.verify.tensor_check`): it needs NumPy and torch.
"""
from __future__ import annotations

from typing import Any, Callable, List, Sequence, Tuple

import numpy as np
import torch

from tensorlint.verify.compare import difference
from tensorlint.verify.evaluation import Outcome, plan_namespace, run_snippet
from tensorlint.verify.plan import Plan


class _LookAlike:
    """Holds an array; equal to another of its class holding the same bytes."""

    def __init__(self, values: np.ndarray, where: str = "cpu") -> None:
        self.values = values
        self.where = where

    @property
    def shape(self) -> Tuple[int, ...]:
        return self.values.shape

    def __len__(self) -> int:
        return len(self.values)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.where == self.where and \
            difference(self.values, other.values) is None  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.values.dtype} {self.values.shape}, {self.where})"


class ResultLike(_LookAlike):
    """Like a detection package's Boxes/Keypoints/Results: its own .cpu()/.cuda()/.to()/.numpy(), no .detach()."""

    def cpu(self) -> "ResultLike":
        return ResultLike(self.values.copy(), "cpu")

    def cuda(self, *args: Any, **kwargs: Any) -> "ResultLike":
        return ResultLike(self.values.copy(), "cuda")

    def to(self, *args: Any, **kwargs: Any) -> "ResultLike":
        return ResultLike(self.values.copy(), self.where)

    def numpy(self) -> "ResultLike":
        return ResultLike(self.values.copy(), "numpy")

    def __getitem__(self, index: Any) -> "ResultLike":
        return ResultLike(self.values[index], self.where)


class NumpyOnly(_LookAlike):
    """Like a dataset library's Tensor or TensorFlow's eager tensor: only .numpy()."""

    def numpy(self) -> np.ndarray:
        return self.values.copy()


def _array(seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((2, 3))).astype(np.float32)


LOOK_ALIKES: Sequence[Tuple[str, Callable[[int], Any]]] = (
    ("ndarray float32 (2, 3)", _array),
    ("int 3", lambda seed: 3),
    ("float 2.5", lambda seed: 2.5),
    ("object with .cpu()/.numpy()/.to(), no .detach()", lambda seed: ResultLike(_array(seed))),
    ("object with .numpy() only", lambda seed: NumpyOnly(_array(seed))),
)


def _plain_tensor(seed: int) -> torch.Tensor:
    return torch.randn((2, 3), generator=torch.Generator().manual_seed(seed))


def verify_look_alikes(plan: Plan, compiled: Tuple[Any, Any], grad_modes: Sequence[bool], loop: bool,
                       iterations: int) -> dict:
    """Both sides with the plan's assumed placeholders bound to each look-alike.

    Returns {"receivers", "bindings", "same", "not_compared", "fail", "failures"}.
    """
    assumed = set(plan.assumed)
    keys = [atom.key for atom in plan.atoms if atom.placeholder in assumed]
    counts = {"bindings": 0, "same": 0, "not_compared": 0, "fail": 0}
    failures: List[dict] = []
    for grad_enabled in grad_modes:
        for label, make in LOOK_ALIKES:
            binding = "look-alike: " + ", ".join(f"`{key}` = {label}" for key in keys)
            if len(grad_modes) > 1:
                binding += ", grad on" if grad_enabled else ", grad off"
            outcomes = [_side(plan, code, make, grad_enabled, loop, iterations) for code in compiled]
            original, fixed = outcomes
            counts["bindings"] += 1
            if not original.ok:
                counts["not_compared"] += 1
                continue
            why = difference(original.value, fixed.value, loop=loop) if fixed.ok else \
                f"the fixed snippet raises {fixed.error} where the original succeeds"
            if why is None:
                counts["same"] += 1
                continue
            counts["fail"] += 1
            failures.append({"binding": binding, "why": why, "original": original.text(), "fixed": fixed.text()})
    return dict(counts, receivers=keys, failures=failures)


def _side(plan: Plan, code: Any, make: Callable[[int], Any], grad_enabled: bool, loop: bool,
          iterations: int) -> Outcome:
    names = plan_namespace(plan)
    for atom in plan.atoms_with("accumulator"):
        names[atom.placeholder] = 0.0
    outcome = None
    for iteration in range(iterations if loop else 1):
        bound = []
        for index, atom in enumerate(plan.atoms):
            if atom.role == "accumulator":
                continue
            seed = 1000 + 97 * index + 7919 * iteration
            value = make(seed) if atom.placeholder in plan.assumed else _plain_tensor(seed)
            names[atom.placeholder] = value
            bound.append((atom.placeholder, value))
        outcome = run_snippet(code, names, grad_enabled, plan.mode)
        if not outcome.ok:
            return outcome
    if plan.mode == "exec":
        state = {name: names.get(name) for name, _ in bound}
        state.update({a.placeholder: names.get(a.placeholder) for a in plan.atoms_with("accumulator")})
        state.update({name: names.get(name, "<unassigned>") for name in plan.assigned})
        state.update({name: names.get(name) for name, spec in plan.names.items() if spec[0] == "list"})
        outcome.value = state
    return outcome
