"""Is the fixed snippet's result the original's? Value, dtype, shape, type, device, autograd state, memory.

:func:`difference` returns ``None`` when two results are identical and otherwise one line saying where
they differ. Floating-point values are compared bit for bit (after resolving conjugate/negative views),
so ``-0.0`` is not ``0.0`` and NaN equals NaN only with the same payload. Tensors are also compared on
class, device, ``requires_grad`` and ``is_leaf`` (in loop snippets, whose fix is meant to detach,
``nn.Parameter`` counts as a plain tensor and the autograd state is judged apart).

:func:`shared_inputs` says which input tensors a result shares memory with (by storage byte ranges):
the verifier requires the fixed snippet to share exactly where the original did.
"""
from __future__ import annotations

import math
from typing import Any, FrozenSet, List, Optional, Sequence, Tuple

import numpy as np
import torch

from tensorlint.verify.emulated_tensor import EmulatedCudaTensor

_Disable = torch._C.DisableTorchFunctionSubclass
_MAX_DEPTH = 6


def kind_of(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return "tensor"
    if isinstance(value, np.ndarray):
        return "ndarray"
    return type(value).__name__


def _tensor_class(value: torch.Tensor, loop: bool) -> str:
    emulated = isinstance(value, EmulatedCudaTensor)
    if loop or emulated:
        return "EmulatedCudaTensor" if emulated else "Tensor"
    return type(value).__name__


def _plain(t: torch.Tensor) -> torch.Tensor:
    with _Disable():
        d = t.detach()
        if d.device.type != "cpu":
            d = d.cpu()
        if d.is_conj():
            d = d.resolve_conj()
        if d.is_neg():
            d = d.resolve_neg()
        return torch.Tensor.as_subclass(d.contiguous(), torch.Tensor)


def _tensor_bytes(t: torch.Tensor) -> torch.Tensor:
    flat = _plain(t).reshape(-1)
    if flat.numel() == 0:
        return flat.to(torch.uint8)
    return flat.view(torch.uint8)


def summary(value: Any) -> str:
    """A short description of a value: `ndarray float32 (2, 3)`, `Tensor float32 (2, 3) cuda:0 grad_fn`."""
    if isinstance(value, torch.Tensor):
        with _Disable():
            shape, dtype = tuple(value.shape), str(value.dtype).replace("torch.", "")
            grad = " grad_fn" if value.grad_fn is not None else " requires_grad" if value.requires_grad else ""
        device = str(value.device)
        return f"{_tensor_class(value, False)} {dtype} {shape} {device}{grad}"
    if isinstance(value, np.ndarray):
        return f"ndarray {value.dtype} {value.shape}"
    if isinstance(value, np.generic):
        return f"{type(value).__name__} {value!r}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(summary(v) for v in value[:3]) + (", ..." if len(value) > 3 else "")
        return f"{type(value).__name__} of {len(value)} [{inner}]"
    if isinstance(value, dict):
        return f"dict of {len(value)}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def difference(a: Any, b: Any, loop: bool = False, depth: int = 0, where: str = "") -> Optional[str]:
    """None if `a` (original) and `b` (fixed) are the same result, else what differs."""
    at = f" at {where}" if where else ""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            return f"type {kind_of(a)} != {kind_of(b)}{at}"
        return _tensor_difference(a, b, loop, at)
    if type(a) is not type(b):
        return f"type {type(a).__name__} != {type(b).__name__}{at}"
    if isinstance(a, np.ndarray):
        if a.dtype != b.dtype:
            return f"dtype {a.dtype} != {b.dtype}{at}"
        if a.shape != b.shape:
            return f"shape {a.shape} != {b.shape}{at}"
        if a.dtype.hasobject:
            return None if a.tolist() == b.tolist() else f"values differ{at}"
        return None if np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes() \
            else f"values differ{at}"
    if isinstance(a, np.generic):
        if a.dtype != b.dtype:
            return f"dtype {a.dtype} != {b.dtype}{at}"
        return None if np.asarray(a).tobytes() == np.asarray(b).tobytes() else f"value {a!r} != {b!r}{at}"
    if isinstance(a, float):
        same = (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
        return None if same else f"value {a!r} != {b!r}{at}"
    if isinstance(a, complex):
        return difference(a.real, b.real, loop, depth + 1, where) or difference(a.imag, b.imag, loop, depth + 1, where)
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return f"length {len(a)} != {len(b)}{at}"
        for index, (x, y) in enumerate(zip(a, b)):
            found = difference(x, y, loop, depth + 1, f"{where}[{index}]")
            if found:
                return found
        return None
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"keys {list(a)!r} != {list(b)!r}{at}"
        for key in a:
            found = difference(a[key], b[key], loop, depth + 1, f"{where}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(a, (type, np.dtype)) or callable(a):
        return None if a is b or (isinstance(a, np.dtype) and a == b) else f"{a!r} is not {b!r}{at}"
    try:
        same = bool(a == b)
    except Exception:  # noqa: BLE001 - objects without a usable ==
        same = repr(a) == repr(b)
    return None if same else f"value {summary(a)} != {summary(b)}{at}"


def _tensor_difference(a: torch.Tensor, b: torch.Tensor, loop: bool, at: str) -> Optional[str]:
    if _tensor_class(a, loop) != _tensor_class(b, loop):
        return f"class {_tensor_class(a, loop)} != {_tensor_class(b, loop)}{at}"
    with _Disable():
        facts_a = (a.dtype, tuple(a.shape), a.layout)
        facts_b = (b.dtype, tuple(b.shape), b.layout)
        grad_a, grad_b = (a.requires_grad, a.is_leaf), (b.requires_grad, b.is_leaf)
    if facts_a[0] != facts_b[0]:
        return f"dtype {facts_a[0]} != {facts_b[0]}{at}"
    if facts_a[1] != facts_b[1]:
        return f"shape {facts_a[1]} != {facts_b[1]}{at}"
    if str(a.device) != str(b.device):
        return f"device {a.device} != {b.device}{at}"
    if not loop and grad_a != grad_b:
        return (f"autograd state (requires_grad, is_leaf) {grad_a} != {grad_b}{at}")
    if facts_a[2] != torch.strided:
        return None
    if not torch.equal(_tensor_bytes(a), _tensor_bytes(b)):
        return f"values differ{at}"
    return None


# -- memory sharing ----------------------------------------------------------------------------------
Range = Tuple[str, int, int]


def _tensor_range(t: torch.Tensor) -> Optional[Range]:
    with _Disable():
        if t.layout != torch.strided:
            return None
        storage = t.untyped_storage()
        start, size = storage.data_ptr(), storage.nbytes()
        device = t.device.type
    if size == 0:
        return None
    return device, start, start + size


def _array_range(a: np.ndarray) -> Optional[Range]:
    if a.size == 0 or a.dtype.hasobject:
        return None
    try:
        from numpy.lib.array_utils import byte_bounds  # NumPy >= 2.0
    except ImportError:  # pragma: no cover - NumPy 1.x
        byte_bounds = np.byte_bounds
    low, high = byte_bounds(a)
    return "cpu", low, high


def ranges(value: Any, depth: int = 0) -> List[Range]:
    found: List[Range] = []
    if depth > _MAX_DEPTH:
        return found
    if isinstance(value, torch.Tensor):
        r = _tensor_range(value)
        if r:
            found.append(r)
    elif isinstance(value, np.ndarray):
        r = _array_range(value)
        if r:
            found.append(r)
    elif isinstance(value, (list, tuple)):
        for item in value[:64]:
            found.extend(ranges(item, depth + 1))
    elif isinstance(value, dict):
        for item in list(value.values())[:64]:
            found.extend(ranges(item, depth + 1))
    return found


def shared_inputs(value: Any, inputs: Sequence[Tuple[str, Any]]) -> FrozenSet[str]:
    """Names of the inputs whose memory `value` overlaps."""
    mine = ranges(value)
    shared = set()
    for name, tensor in inputs:
        for device, low, high in ranges(tensor):
            if any(d == device and lo < high and low < hi for d, lo, hi in mine):
                shared.add(name)
    return frozenset(shared)
