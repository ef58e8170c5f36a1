"""The worker's check of a "module_input" fix (TL501): a tensor made from a NumPy array, fed to a float32 layer.

The rule reports the expression that makes the tensor (`torch.from_numpy(features)`) and fixes it there
(`.float()`); the module call it reaches is elsewhere in the function. The snippet is that expression: its free
names are bound to NumPy arrays of the dtypes the rule proves (`FixCheck.dtypes`: float64) in a few shapes, and
each side's tensor is fed to a freshly built layer with torch's default float32 parameters that fits its shape
(`nn.Linear` on the last dimension; `nn.Conv1d/2d/3d` on the channels of a 3-, 4-, 5-dimensional tensor). Per
binding:

* ``error_removed``: the original's tensor makes the layer raise the rule's error (`FixCheck.raises`), the fixed
  one runs through it, and the fixed tensor holds the original's values as float32 (`t.float()`, exactly);
* ``not_compared``: the binding cannot be evaluated (the original raises before the layer: a shape the
  expression refuses, a name that is not an array);
* ``fail``: anything else (the fixed tensor still fails the layer, differs from the original's, or the original
  runs through the layer: the fix would not be shown to fix that hazard).

A fix PASSes with no ``fail`` and at least one ``error_removed``. What this does not check: the real module of
the user's code (a layer is built to fit the tensor), and other uses of the tensor between where it is made and
the module call (they see float32 values too; the rule's docs say so).
"""
from __future__ import annotations

import ast
import re
import warnings
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from tensorlint.verify.evaluation import MAX_REPORTED, bind_spec, job_result, snippet_builtins
from tensorlint.verify.plan import Unbindable

# The array shapes a free name is bound to: a batch of features, a sequence, an image batch.
SHAPES = ((4, 3), (2, 3, 5), (2, 1, 6, 6))


def free_names(expression: str, imports: Dict[str, List[str]]) -> List[str]:
    """The names the expression reads that the file's imports do not bind (the arrays)."""
    tree = ast.parse(expression, mode="eval")
    loaded = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    return sorted(name for name in loaded if name not in imports and name not in dir(__builtins__)
                  and name not in ("True", "False", "None"))


def layer_for(tensor: torch.Tensor) -> Optional[torch.nn.Module]:
    """A layer with default (float32) parameters that takes this tensor's shape, or None."""
    torch.manual_seed(0)
    if tensor.dim() in (1, 2):
        return torch.nn.Linear(tensor.shape[-1], 2)
    convolutions = {3: torch.nn.Conv1d, 4: torch.nn.Conv2d, 5: torch.nn.Conv3d}
    if tensor.dim() in convolutions:
        return convolutions[tensor.dim()](tensor.shape[1], 2, 1)
    return None


class ModuleInputVerifier:
    """Verifies "module_input" fixes (see the module's docstring)."""

    def __init__(self, emit=None) -> None:
        self.emit = emit

    def verify(self, job: dict) -> dict:
        candidate = next(iter(job["candidates"]), None)
        if candidate is None:
            return job_result("SKIPPED", reason="no snippet")
        try:
            names = free_names(candidate["original"], job["imports"])
            original = compile(candidate["original"], "<original>", "eval")
        except SyntaxError as error:
            return job_result("SKIPPED", error=f"the original snippet does not parse on its own: {error.msg}",
                              evaluated=candidate)
        try:
            fixed = compile(candidate["fixed"], "<fixed>", "eval")
        except SyntaxError as error:
            return job_result("FAIL", reason=f"the fixed snippet does not compile: {error.msg}", evaluated=candidate)
        try:
            namespace = self._namespace(job["imports"])
        except Unbindable as why:
            return job_result("SKIPPED", reason=f"cannot bind the snippet's names: {why}", evaluated=candidate)
        dtypes = [np.dtype(d) for d in job.get("dtypes") or ["float64"]]
        counts: Counter = Counter()
        failures: List[dict] = []
        skipped: Counter = Counter()
        for dtype, shapes in self._bindings(dtypes, names):
            label = ", ".join(f"{name}: {dtype} array {shape}" for name, shape in zip(names, shapes)) or "no names"
            counts["bindings"] += 1
            outcome, detail = self._one(original, fixed, namespace, names, dtype, shapes, job["raises"])
            counts[outcome] += 1
            if outcome == "fail" and len(failures) < MAX_REPORTED:
                failures.append(dict(detail, binding=label))
            elif outcome == "not_compared":
                skipped[detail["why"][:160]] += 1
        summary = {key: counts.get(key, 0) for key in ("bindings", "same", "error_removed", "other_error_removed",
                                                       "limitation", "not_compared", "fail")}
        if counts["fail"]:
            return job_result("FAIL", reason=failures[0]["why"], counts=summary, failures=failures, limitations=[],
                              notes=[], evaluated=candidate)
        if counts["error_removed"]:
            return job_result("PASS", counts=summary, failures=[], limitations=[], evaluated=candidate,
                              notes=["each side's tensor was fed to a float32 layer built to fit its shape"])
        reason = "no binding showed the hazard"
        if skipped:
            reason += f" (the original: {skipped.most_common(1)[0][0]})"
        return job_result("SKIPPED", reason=reason, counts=summary, failures=[], limitations=[], notes=[],
                          evaluated=candidate)

    @staticmethod
    def _namespace(imports: Dict[str, List[str]]) -> Dict[str, Any]:
        namespace: Dict[str, Any] = {"__builtins__": snippet_builtins(), "__name__": "__tensorlint_verify__"}
        for name, spec in imports.items():
            if spec[0] in ("module", "attr"):
                namespace[name] = bind_spec(spec)
        return namespace

    @staticmethod
    def _bindings(dtypes: Sequence[np.dtype], names: Sequence[str]):
        for dtype in dtypes:
            if not names:
                yield dtype, ()
                continue
            for shape in SHAPES:  # every name the same shape (`a - b` broadcasts)
                yield dtype, tuple(shape for _ in names)

    def _one(self, original, fixed, namespace: Dict[str, Any], names: Sequence[str], dtype: np.dtype,
             shapes: Sequence[Tuple[int, ...]], raises: Sequence[Sequence[str]]) -> Tuple[str, dict]:
        made = {}
        for side, code in (("original", original), ("fixed", fixed)):
            scope = dict(namespace)
            generator = np.random.default_rng(0)
            for name, shape in zip(names, shapes):
                scope[name] = generator.random(shape).astype(dtype)
            made[side] = self._run(lambda: eval(code, scope))
        before, after = made["original"], made["fixed"]
        if isinstance(before, str):
            return "not_compared", {"why": before}
        if not isinstance(before, torch.Tensor):
            return "not_compared", {"why": f"the original makes a {type(before).__name__}, not a tensor"}
        layer = layer_for(before)
        if layer is None:
            return "not_compared", {"why": f"no layer takes a {before.dim()}-dimensional tensor"}
        if isinstance(after, str) or not isinstance(after, torch.Tensor):
            return "fail", {"why": "the fixed snippet does not make a tensor", "original": _text(before),
                            "fixed": str(after)}
        if after.dtype != torch.float32 or not torch.equal(after, before.float()):
            return "fail", {"why": "the fixed tensor is not the original's as float32", "original": _text(before),
                            "fixed": _text(after)}
        crashed = self._run(lambda: layer(before))
        runs = self._run(lambda: layer(after))
        if isinstance(runs, str):
            return "fail", {"why": "the fixed tensor still fails the float32 layer", "original": _text(before),
                            "fixed": runs}
        if not isinstance(crashed, str):
            return "fail", {"why": "the original tensor runs through a float32 layer: no hazard shown",
                            "original": _text(before), "fixed": _text(after)}
        kind, _, message = crashed.partition(": ")
        if any(kind == expected and re.search(pattern, message) for expected, pattern in raises):
            return "error_removed", {}
        return "fail", {"why": f"the original fails the layer with another error: {crashed}",
                        "original": _text(before), "fixed": _text(after)}

    @staticmethod
    def _run(thunk):
        """The value, or "ExceptionType: message"."""
        torch.manual_seed(0)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with torch.no_grad():
                    return thunk()
        except Exception as error:  # noqa: BLE001 - a snippet's error is its outcome
            message = " ".join(str(error).split())
            return f"{type(error).__name__}: {message[:297]}"


def _text(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"tensor(dtype={value.dtype}, shape={tuple(value.shape)})"
    return str(value)[:120]
