"""Emulate CUDA tensors on a CPU-only machine and count host<->device synchronisations.

An :class:`EmulatedCudaTensor` is an ordinary CPU tensor (a ``torch.Tensor`` subclass using
``__torch_function__``; a ``__torch_dispatch__`` subclass cannot be used because ``.numpy()`` and
``.tolist()`` refuse those) that behaves, as far as tensorlint's rules care, like a tensor on
``cuda:0``:

* ``t.device == torch.device("cuda", 0)``, ``t.is_cuda`` is True, ``t.is_cpu`` False,
  ``t.get_device() == 0``, ``t.type()`` is ``"torch.cuda.FloatTensor"``, ``repr(t)`` is
  ``tensor([...], device='cuda:0')``;
* ``t.numpy()``, ``np.asarray(t)`` (``Tensor.__array__``) and every NumPy function given ``t``
  raise exactly the real CUDA ``TypeError`` (:data:`CUDA_NUMPY_MESSAGE`), and the device check
  comes before the requires-grad check, as in ``tensor_numpy.cpp``; ``t.numpy(force=True)``
  returns a copy and counts a sync;
* ``t.cpu()``, ``t.to("cpu")``, ``t.to(torch.device("cpu"))``, ``t.to(plain_cpu_tensor)`` and
  ``t.type("torch.FloatTensor")`` return a plain ``torch.Tensor`` **copy** (never sharing memory),
  recorded in autograd as ``ToCopyBackward0`` like a real device-to-host copy, so gradients flow
  back; ``t.cuda()`` / ``t.to("cuda")`` return ``t`` itself (or a converted emulated tensor);
* results of torch functions and methods on emulated inputs are emulated (recursively through
  tuples and lists); the result objects are the real results re-classed in place, so ``grad_fn``,
  ``is_leaf`` and object identity are exactly what plain PyTorch gives (``(e * 2).grad_fn`` is
  ``MulBackward0``, not the ``AliasBackward0`` that ``as_subclass`` would add);
* ``.grad`` of an emulated tensor is emulated too, and ``p.grad is p.grad`` holds;
* ``copy.deepcopy`` (of a tensor or a module holding emulated parameters) gives emulated copies;
* optimizers (SGD, Adam, ...) and ``clip_grad_norm_`` run without counted syncs, as on a GPU:
  importing this module wraps ``torch._C._group_tensors_by_device_and_dtype`` (whose C++ reads
  the real device) so that emulated tensors are grouped under ``cuda:0``; for other tensors the
  wrapper returns the original result unchanged;
* every blocking operation is recorded in the active :class:`SyncCounter` (see
  :func:`count_syncs`).

Counted (kind in parentheses), one count per call -- nested counted operations that the
implementation performs inside a counted call (``repr`` formats through ``masked_select`` and
``.item()``) are not counted again:

``.item()`` (item), ``bool(t)``/``if t:`` (bool), ``float(t)`` (float), ``int(t)`` (int),
``operator.index(t)``/``range(t)`` (index), ``complex(t)`` (complex), f-strings/``format()``
(format), ``.tolist()`` (tolist), ``repr``/``str``/``print`` (repr), ``.cpu()``/``.to("cpu")``/
``.type("torch.FloatTensor")`` (cpu), ``.numpy(force=True)`` (numpy), ``torch.equal`` (equal),
``torch.allclose`` (allclose), ``torch.is_nonzero`` (is_nonzero), ``x in t`` (contains),
``nonzero`` (nonzero), ``argwhere`` (argwhere), one-argument ``torch.where`` (where), indexing
with an emulated boolean/uint8 mask ``t[mask]`` (mask_index), ``t[mask] = tensor_value``
(mask_assign; ``t[mask] = scalar`` is a ``masked_fill`` on CUDA and is not counted),
``masked_select`` (masked_select), ``unique`` (unique), ``unique_consecutive``
(unique_consecutive), ``bincount`` (bincount), ``repeat_interleave`` with tensor repeats and no
``output_size`` (repeat_interleave), and :func:`emulated_synchronize` (synchronize) -- patch it in
for ``torch.cuda.synchronize``, which is not a tensor operation.

Not counted: ``.detach()``, ``.clone()``, ``.float()``, arithmetic, reductions, ``.to("cuda")``,
``.to(dtype)``, ``backward()``, optimizer steps, ``.to("cpu", non_blocking=True)`` (on CUDA that is
an asynchronous copy into pinned memory, not a sync), ``np.asarray(t)``/``.numpy()`` (they raise
before copying).

What differs from real CUDA (precisely):

* The data lives in CPU memory: ``data_ptr()``, ``untyped_storage().device``, ``is_pinned()`` and
  ``torch.cuda.*`` queries are the CPU ones; nothing is asynchronous, so counts are of operations
  that *would* block, not measured waits. ``torch.cuda.synchronize`` is untouched (patch in
  :func:`emulated_synchronize`); ``torch.cuda.is_available()`` stays False; factory calls such as
  ``torch.zeros(3, device="cuda")`` still fail on a CPU-only build -- only calls that receive an
  emulated tensor are intercepted (there ``device="cuda"`` is mapped to an emulated result and
  ``device="cpu"`` to a plain one).
* Mixing an emulated tensor with a plain CPU tensor of one or more dimensions in one operation
  does **not** raise by default (real CUDA raises "Expected all tensors to be on the same device");
  inside ``with strict_devices():`` it raises a ``RuntimeError`` with that text (0-dim CPU tensors
  stay allowed, as on CUDA; copies, ``to``, indexing and assignment are exempt). The real message
  also names the argument and kernel; ours does not.
* Only ``cuda:0`` exists: ``.to("cuda:1")`` raises ``RuntimeError`` (a one-GPU machine raises
  "invalid device ordinal").
* Syncs performed *inside* one torch function that is implemented in Python (some
  ``torch.nn.functional`` paths call ``.item()`` internally) are not seen: the function's body runs
  with the subclass disabled. Only the listed operations are counted; others that sync on real
  CUDA (``torch.save``, ``torch.histc`` with default bounds, ...) are not.
* :func:`to_emulated_cuda` copies by default (``copy=False`` shares storage with the input). A
  requires-grad leaf becomes a new requires-grad leaf (``is_leaf`` True, ``grad_fn`` None, its own
  ``.grad``: like a tensor created on the GPU or a parameter after ``model.cuda()``); a non-leaf
  keeps its autograd history behind one ``ToCopyBackward0`` node (``AliasBackward0`` with
  ``copy=False``), exactly what ``t.cuda()`` records, so gradients flow back to the original graph.
* ``copy.deepcopy`` copies each tensor on its own: two emulated views of one storage, deep-copied
  together, no longer share memory (the real one keeps that sharing). ``torch.save`` of an emulated
  tensor works; ``torch.load`` gives plain CPU tensors (``map_location`` is not emulated).
* ``repr`` temporarily re-classes the tensor to a private subclass named ``tensor`` so the output
  reads ``tensor(..., device='cuda:0')``; ``type(t)`` seen from another thread during that call is
  that private subclass (still an ``EmulatedCudaTensor``).
* Parameters: :func:`emulate_module` re-classes each parameter in place (identity kept, as
  ``module.cuda()`` keeps it, so an optimizer built before still works); the parameter becomes an
  ``EmulatedCudaTensor`` marked as a parameter (``isinstance(p, nn.Parameter)`` is True -- the
  mechanism PyTorch has for custom-tensor parameters) but ``type(p)`` is no longer
  ``nn.Parameter``. :func:`to_emulated_cuda` on an ``nn.Parameter`` returns a new such parameter.
  The optimizers' foreach/fused fast paths are skipped for these (they accept only plain tensor
  types), which changes nothing numerically. ``module.cpu()`` turns them back into plain
  ``nn.Parameter`` objects (counting one copy per parameter and gradient, as on CUDA).
* A plain ``nn.Parameter`` (or another ``__torch_function__`` subclass) that comes *before* an
  emulated tensor in an operation's arguments handles the call itself and returns a plain result:
  emulate the module, not only its inputs.

Counting state: counters are process-global -- a sync in any thread is recorded in every
:class:`SyncCounter` that is active (entered and not yet exited), each starting from zero when
entered; nested ``count_syncs()`` blocks all see the inner events. Only the "inside a counted call"
suppression depth is per thread.
"""
from __future__ import annotations

import copy
import threading
from collections import Counter
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional, Set

import torch

__all__ = [
    "CUDA_DEVICE",
    "CUDA_NUMPY_MESSAGE",
    "DEVICE_MISMATCH_MESSAGE",
    "EmulatedCudaTensor",
    "SyncCounter",
    "count_syncs",
    "emulate_module",
    "emulated_synchronize",
    "strict_devices",
    "to_emulated_cuda",
]

CUDA_DEVICE = torch.device("cuda", 0)
CUDA_NUMPY_MESSAGE = ("can't convert cuda:0 device type tensor to numpy. "
                      "Use Tensor.cpu() to copy the tensor to host memory first.")
DEVICE_MISMATCH_MESSAGE = ("Expected all tensors to be on the same device, but found at least two devices, "
                           "cuda:0 and cpu!")
_FORMAT_MESSAGE = "unsupported format string passed to Tensor.__format__"

_DisableSubclass = torch._C.DisableTorchFunctionSubclass


# -- counting -----------------------------------------------------------------------------------
class SyncCounter:
    """Counts the host<->device synchronisations recorded while it is active.

    ``total`` is the number of syncs, ``by_kind`` a :class:`collections.Counter` by kind
    (``"item"``, ``"cpu"``, ``"bool"``, ``"format"``, ``"repr"``, ...) and ``events`` the kinds in
    the order they happened. Use it through :func:`count_syncs`.
    """

    def __init__(self) -> None:
        self.by_kind: Counter = Counter()
        self.events: List[str] = []

    @property
    def total(self) -> int:
        return len(self.events)

    def per_step(self, steps: int) -> float:
        return self.total / steps

    def reset(self) -> None:
        with _lock:
            self.by_kind.clear()
            self.events.clear()

    def _add(self, kind: str) -> None:
        self.by_kind[kind] += 1
        self.events.append(kind)

    def __enter__(self) -> "SyncCounter":
        with _lock:
            _active.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        with _lock:
            if self in _active:
                _active.remove(self)

    def __repr__(self) -> str:
        return f"SyncCounter(total={self.total}, by_kind={dict(self.by_kind)})"


_lock = threading.Lock()
_active: List[SyncCounter] = []
_local = threading.local()


def count_syncs() -> SyncCounter:
    """``with count_syncs() as counter: ...`` then ``counter.total`` / ``counter.by_kind``.

    Each counter starts at zero when entered and records every sync from any thread until exited.
    """
    return SyncCounter()


def _depth() -> int:
    return getattr(_local, "depth", 0)


def _record(kind: str) -> None:
    if _depth():
        return
    with _lock:
        for counter in _active:
            counter._add(kind)


@contextmanager
def _blocking(kind: str) -> Iterator[None]:
    """Run a blocking operation: nested counted operations are suppressed; counts once on success."""
    _local.depth = _depth() + 1
    try:
        yield
    finally:
        _local.depth -= 1
    _record(kind)


def emulated_synchronize(device: Any = None) -> None:
    """Stand-in for ``torch.cuda.synchronize``: records one sync of kind ``"synchronize"``."""
    _record("synchronize")


_strict = threading.local()


@contextmanager
def strict_devices(enabled: bool = True) -> Iterator[None]:
    """Inside this block (this thread), mixing emulated and plain CPU tensors raises like CUDA."""
    previous = getattr(_strict, "on", False)
    _strict.on = enabled
    try:
        yield
    finally:
        _strict.on = previous


# -- the subclass -------------------------------------------------------------------------------
def _func_key(func: Callable) -> str:
    name = getattr(func, "__name__", "")
    if name in ("__get__", "__set__", "__delete__"):
        owner = getattr(func, "__self__", None)  # property getters arrive as method-wrappers
        return f"{getattr(owner, '__name__', '?')}.{name}"
    return name


def _iter_tensors(value: Any, depth: int = 0) -> Iterator[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif depth < 3 and isinstance(value, (tuple, list)):
        for item in value:
            yield from _iter_tensors(item, depth + 1)
    elif depth < 3 and isinstance(value, dict):
        for item in value.values():
            yield from _iter_tensors(item, depth + 1)


def _is_plain(t: torch.Tensor) -> bool:
    return not isinstance(t, EmulatedCudaTensor)


def _wrap(ret: Any, args: tuple, kwargs: dict) -> Any:
    """Re-class fresh plain tensors in ``ret`` as emulated (in place: identity and grad_fn kept)."""
    keep = {id(t) for t in _iter_tensors((args, kwargs)) if _is_plain(t)}
    _reclass(ret, keep, 0)
    return ret


def _reclass(value: Any, keep: Set[int], depth: int) -> None:
    if type(value) is torch.Tensor:
        if id(value) not in keep:  # never turn the caller's own plain tensor into an emulated one
            value.__class__ = EmulatedCudaTensor
    elif depth < 4 and isinstance(value, (tuple, list)):
        for item in value:
            _reclass(item, keep, depth + 1)


def _device_of(t: torch.Tensor) -> torch.device:
    return CUDA_DEVICE if isinstance(t, EmulatedCudaTensor) else t.device


def _resolve_device(device: Any) -> Optional[torch.device]:
    if device is None:
        return None
    if isinstance(device, int) and not isinstance(device, bool):
        return torch.device("cuda", device)
    device = torch.device(device)
    if device.type == "cuda":
        if device.index not in (None, 0):
            raise RuntimeError(f"EmulatedCudaTensor emulates one device, cuda:0; got {device}")
        return CUDA_DEVICE
    return device


def _check_devices(key: str, args: tuple, kwargs: dict) -> None:
    if not getattr(_strict, "on", False) or key in _DEVICE_CHECK_EXEMPT:
        return
    with _DisableSubclass():
        tensors = list(_iter_tensors((args, kwargs)))
        if any(isinstance(t, EmulatedCudaTensor) for t in tensors) and any(
                _is_plain(t) and t.device.type == "cpu" and t.dim() > 0 for t in tensors):
            raise RuntimeError(DEVICE_MISMATCH_MESSAGE)


def _host_copy(t: torch.Tensor, kind: str, dtype: Optional[torch.dtype] = None, non_blocking: bool = False,
               memory_format: Optional[torch.memory_format] = None) -> torch.Tensor:
    """A plain CPU copy of ``t`` (differentiable: ``ToCopyBackward0``), counted unless non_blocking."""
    def make_copy() -> torch.Tensor:
        with _DisableSubclass():
            return torch.Tensor.to(t, device="cpu", dtype=dtype, non_blocking=False, copy=True,
                                   memory_format=memory_format or torch.preserve_format)
    if non_blocking:
        return make_copy()
    with _blocking(kind):
        out = make_copy()
    return out


def _plain_call(func: Callable, args: tuple, kwargs: dict) -> Any:
    with _DisableSubclass():
        return func(*args, **kwargs)


class EmulatedCudaTensor(torch.Tensor):
    """A CPU tensor that reports ``cuda:0`` and counts host syncs; make one with :func:`to_emulated_cuda`."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if kwargs is None:
            kwargs = {}
        key = _func_key(func)
        special = _SPECIAL.get(key)
        if special is not None:
            return special(func, args, kwargs)
        _check_devices(key, args, kwargs)
        counted = _COUNTED.get(key)
        if counted is not None:
            kind, wrap = counted
            if kind is not None or _conditional_kind(key, args, kwargs):
                kind = kind or key
                with _blocking(kind):
                    ret = _plain_call(func, args, kwargs)
                return _wrap(ret, args, kwargs) if wrap else ret
        wrap = True
        if kwargs.get("device") is not None:
            device = _resolve_device(kwargs["device"])
            if device.type == "cuda":
                kwargs = dict(kwargs, device="cpu")
            else:
                wrap = False
        ret = _plain_call(func, args, kwargs)
        if not wrap or key in _NOWRAP:
            return ret
        return _wrap(ret, args, kwargs)


class _ReprAs(EmulatedCudaTensor):
    """Used only while formatting, so that ``repr`` reads ``tensor(...)`` like a real CUDA tensor."""


_ReprAs.__name__ = "tensor"
_ReprAs.__qualname__ = "tensor"


def _conditional_kind(key: str, args: tuple, kwargs: dict) -> bool:
    if key == "where":  # torch.where(condition) only; the three-argument form does not sync
        return len(args) + len(kwargs) == 1
    if key == "repeat_interleave":
        if len(args) + len(kwargs) == 1:
            return True  # torch.repeat_interleave(repeats)
        repeats = args[1] if len(args) > 1 else kwargs.get("repeats")
        return isinstance(repeats, torch.Tensor) and repeats.numel() > 1 and kwargs.get("output_size") is None
    return False


def _is_device_mask(index: Any) -> bool:
    if isinstance(index, EmulatedCudaTensor):
        return index.dtype in (torch.bool, torch.uint8)
    if isinstance(index, (tuple, list)):
        return any(_is_device_mask(item) for item in index)
    return False


# -- special handlers ---------------------------------------------------------------------------
def _numpy(func, args, kwargs):
    self = args[0]
    if len(args) > 1 or set(kwargs) - {"force"} or self.layout != torch.strided:
        return _plain_call(func, args, kwargs)  # the real argument / sparse-layout errors
    if not kwargs.get("force", False):
        raise TypeError(CUDA_NUMPY_MESSAGE)
    with _DisableSubclass():
        detached = torch.Tensor.detach(self)
    host = _host_copy(detached, "numpy")
    return host.numpy(force=True)  # resolve_conj/resolve_neg; bfloat16 still raises the real error


def _array(func, args, kwargs):
    self = args[0]
    if self.layout != torch.strided:
        return _plain_call(func, args, kwargs)
    raise TypeError(CUDA_NUMPY_MESSAGE)


def _cpu(func, args, kwargs):
    memory_format = args[1] if len(args) > 1 else kwargs.get("memory_format")
    return _host_copy(args[0], "cpu", memory_format=memory_format)


def _to_copy_flag(rest: tuple, kwargs: dict) -> bool:
    if "copy" in kwargs:
        return bool(kwargs["copy"])
    if not rest:
        return False
    position = 2 if isinstance(rest[0], (torch.dtype, torch.Tensor)) else 3
    return bool(rest[position]) if len(rest) > position else False


def _to(func, args, kwargs):
    self, rest = args[0], tuple(args[1:])
    copy = _to_copy_flag(rest, kwargs)
    if rest and isinstance(rest[0], torch.Tensor):
        other = rest[0]
        device, dtype = _device_of(other), other.dtype
        non_blocking = bool(rest[1]) if len(rest) > 1 else bool(kwargs.get("non_blocking", False))
        memory_format = kwargs.get("memory_format")
    else:
        if rest and isinstance(rest[0], int) and not isinstance(rest[0], bool):
            rest = (f"cuda:{rest[0]}",) + rest[1:]
        parse_kwargs = {k: v for k, v in kwargs.items() if k != "copy"}
        if isinstance(parse_kwargs.get("device"), int) and not isinstance(parse_kwargs["device"], bool):
            parse_kwargs["device"] = f"cuda:{parse_kwargs['device']}"
        parse_rest = rest[:3] if rest and not isinstance(rest[0], torch.dtype) else rest[:2]
        device, dtype, non_blocking, memory_format = torch._C._nn._parse_to(*parse_rest, **parse_kwargs)
        device = _resolve_device(device)
    if device is not None and device.type == "cpu":
        return _host_copy(self, "cpu", dtype=dtype, non_blocking=non_blocking, memory_format=memory_format)
    if device is not None and device.type != "cuda":
        return _plain_call(func, args, kwargs)  # meta and friends: the real result, not emulated
    with _DisableSubclass():
        ret = torch.Tensor.to(self, dtype=dtype if dtype is not None else self.dtype, non_blocking=non_blocking,
                              copy=copy, memory_format=memory_format or torch.preserve_format)
    return _wrap(ret, args, kwargs)


def _cuda(func, args, kwargs):
    self = args[0]
    device = args[1] if len(args) > 1 else kwargs.get("device")
    _resolve_device(device if device is not None else "cuda")
    memory_format = kwargs.get("memory_format", torch.preserve_format)
    if memory_format == torch.preserve_format:
        return self
    with _DisableSubclass():
        ret = torch.Tensor.to(self, memory_format=memory_format)
    return _wrap(ret, args, {})


def _type(func, args, kwargs):
    self = args[0]
    target = args[1] if len(args) > 1 else kwargs.get("dtype")
    if target is None:
        name = _plain_call(func, (self,), {})
        return name.replace("torch.", "torch.cuda.", 1) if not name.startswith("torch.cuda.") else name
    if isinstance(target, str):
        if target.startswith("torch.cuda."):
            target = target.replace("torch.cuda.", "torch.", 1)
        else:  # a CPU tensor type: the real call copies to the host
            with _blocking("cpu"):
                with _DisableSubclass():
                    return torch.Tensor.to(self, copy=True).type(target)
    ret = _plain_call(func, (self, target), {k: v for k, v in kwargs.items() if k != "dtype"})
    return _wrap(ret, args, kwargs)


def _repr(func, args, kwargs):
    self = args[0]
    with _blocking("repr"):
        previous = type(self)
        self.__class__ = _ReprAs
        try:
            text = torch._tensor_str._str(self, tensor_contents=kwargs.get("tensor_contents"))
        finally:
            self.__class__ = previous
    if getattr(self, "_is_param", False):  # as nn.Parameter.__repr__ prints a CUDA parameter
        if text.startswith("Parameter(") and text.endswith(")"):
            text = text[len("Parameter("):-1]
        text = "Parameter containing:\n" + text
    return text


def _format(func, args, kwargs):
    self = args[0]
    spec = args[1] if len(args) > 1 else kwargs.get("format_spec", "")
    with _DisableSubclass():
        scalar = self.dim() == 0 and not self.is_meta
    if not scalar and spec:
        raise TypeError(_FORMAT_MESSAGE)  # raised before any copy, as on CUDA
    with _blocking("format"):
        if scalar:
            with _DisableSubclass():
                value = torch.Tensor.item(torch.Tensor.detach(self))
            text = value.__format__(spec)
        else:
            text = repr(self)
    return text


def _getitem(func, args, kwargs):
    _check_devices("__getitem__", args, kwargs)
    if len(args) > 1 and _is_device_mask(args[1]):
        with _blocking("mask_index"):
            ret = _plain_call(func, args, kwargs)
        return _wrap(ret, args, kwargs)
    return _wrap(_plain_call(func, args, kwargs), args, kwargs)


def _setitem(func, args, kwargs):
    if len(args) > 2 and _is_device_mask(args[1]):
        value = args[2]
        masked_fill = not isinstance(value, torch.Tensor) or (_is_plain(value) and value.numel() == 1)
        if not masked_fill:
            with _blocking("mask_assign"):
                return _plain_call(func, args, kwargs)
    return _plain_call(func, args, kwargs)


def _grad(func, args, kwargs):
    ret = _plain_call(func, args, kwargs)
    if type(ret) is torch.Tensor:
        ret.__class__ = EmulatedCudaTensor  # stored on the tensor, so identity is kept from now on
    return ret


def _deepcopy(func, args, kwargs):
    self = args[0]
    memo = args[1] if len(args) > 1 else kwargs.get("memo", {})
    with _DisableSubclass():
        if not self.is_leaf or self.layout != torch.strided:
            return func(*args, **kwargs)  # the real errors (non-leaf) / the real sparse path
    if id(self) in memo:
        return memo[id(self)]
    with torch.no_grad(), _DisableSubclass():
        new = torch.Tensor.clone(self, memory_format=torch.preserve_format)
    if self.requires_grad:
        new.requires_grad_()
    new.__class__ = EmulatedCudaTensor
    grad = self.grad
    if grad is not None:
        new.grad = copy.deepcopy(grad, memo)
    new.__dict__ = copy.deepcopy(self.__dict__, memo)  # keeps the parameter mark
    memo[id(self)] = new
    return new


def _set_data(func, args, kwargs):
    """``t.data = value`` moves ``t`` to ``value``'s device: re-class ``t`` to match (``module.cpu()``)."""
    _plain_call(func, args, kwargs)
    if len(args) > 1 and isinstance(args[1], torch.Tensor):
        _match_class(args[0], args[1])
    return None


def _match_class(tensor: torch.Tensor, value: torch.Tensor) -> None:
    """Re-class ``tensor`` (whose data was just set to ``value``) as emulated or plain, like ``value``."""
    if isinstance(value, EmulatedCudaTensor) and type(tensor) in (torch.Tensor, torch.nn.Parameter):
        is_param = type(tensor) is torch.nn.Parameter
        tensor.__class__ = EmulatedCudaTensor
        if is_param:
            tensor._is_param = True
    elif not isinstance(value, EmulatedCudaTensor) and isinstance(tensor, EmulatedCudaTensor):
        with _DisableSubclass():
            on_cpu = value.device.type == "cpu"
        if on_cpu:
            is_param = tensor.__dict__.pop("_is_param", False)
            tensor.__class__ = torch.nn.Parameter if is_param else torch.Tensor


def _constant(value: Any) -> Callable:
    return lambda func, args, kwargs: value


_SPECIAL: Dict[str, Callable] = {
    "numpy": _numpy,
    "__array__": _array,
    "cpu": _cpu,
    "to": _to,
    "cuda": _cuda,
    "type": _type,
    "__repr__": _repr,
    "__format__": _format,
    "__getitem__": _getitem,
    "__setitem__": _setitem,
    "__deepcopy__": _deepcopy,
    "data.__set__": _set_data,
    "grad.__get__": _grad,
    "_grad.__get__": _grad,
    "device.__get__": _constant(CUDA_DEVICE),
    "is_cuda.__get__": _constant(True),
    "is_cpu.__get__": _constant(False),
    "get_device": _constant(0),
}

# key -> (kind, wrap the result); kind None: counted only when _conditional_kind says so
_COUNTED: Dict[str, tuple] = {
    "item": ("item", False),
    "tolist": ("tolist", False),
    "__bool__": ("bool", False),
    "__float__": ("float", False),
    "__int__": ("int", False),
    "__index__": ("index", False),
    "__complex__": ("complex", False),
    "__contains__": ("contains", False),
    "equal": ("equal", False),
    "allclose": ("allclose", False),
    "is_nonzero": ("is_nonzero", False),
    "nonzero": ("nonzero", True),
    "argwhere": ("argwhere", True),
    "masked_select": ("masked_select", True),
    "unique": ("unique", True),
    "unique_consecutive": ("unique_consecutive", True),
    "bincount": ("bincount", True),
    "where": (None, True),
    "repeat_interleave": (None, True),
}

_NOWRAP = {"_base.__get__"}

_DEVICE_CHECK_EXEMPT = {
    "to", "cpu", "cuda", "copy_", "set_", "__getitem__", "__setitem__", "index_put", "index_put_",
    "type_as", "new_tensor", "grad.__set__", "_grad.__set__", "data.__set__", "__deepcopy__",
    "__reduce_ex__", "__setstate__", "__repr__", "__format__", "numpy", "__array__", "__contains__",
}


# -- creating emulated tensors ------------------------------------------------------------------
def to_emulated_cuda(t: torch.Tensor, *, copy: bool = True) -> EmulatedCudaTensor:
    """Return ``t`` as if it lived on ``cuda:0`` (an :class:`EmulatedCudaTensor`).

    ``copy=True`` (default) copies the data, like ``t.cuda()``; ``copy=False`` shares it. A tensor
    that is not part of a graph (a leaf, requiring grad or not) gives a leaf with the same
    ``requires_grad``; a non-leaf keeps its history behind ``ToCopyBackward0`` (``copy=True``) or
    ``AliasBackward0`` (``copy=False``). An ``nn.Parameter`` gives an emulated parameter. An
    already emulated tensor is returned unchanged.
    """
    if isinstance(t, EmulatedCudaTensor):
        return t
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"to_emulated_cuda expects a torch.Tensor, got {type(t).__name__}")
    if t.device.type != "cpu":
        raise ValueError(f"to_emulated_cuda expects a CPU tensor, got one on {t.device}")
    is_param = isinstance(t, torch.nn.Parameter)
    with _DisableSubclass():
        if t.grad_fn is not None:  # keep the history, as t.cuda() would
            out = torch.Tensor.to(t, copy=True) if copy else torch.Tensor.as_subclass(t, torch.Tensor)
        else:
            out = torch.Tensor.detach(t)
            if copy:
                out = out.clone(memory_format=torch.preserve_format)
            out.requires_grad_(t.requires_grad)
    if type(out) is not torch.Tensor:
        raise TypeError(f"cannot emulate a {type(t).__name__}: expected a plain tensor or nn.Parameter")
    out.__class__ = EmulatedCudaTensor
    if is_param:
        out = torch.nn.Parameter(out, requires_grad=t.requires_grad)
    return out


def _move_data(tensor: torch.Tensor, value: torch.Tensor) -> None:
    with _DisableSubclass():  # nn.Parameter disables __torch_function__, so set and re-class here
        tensor.data = value
    _match_class(tensor, value)


def emulate_module(module: torch.nn.Module) -> torch.nn.Module:
    """Move ``module``'s parameters and buffers to emulated CUDA in place, like ``module.cuda()``.

    As ``module.cuda()`` does, each parameter and buffer keeps its identity (its ``.data`` is
    replaced by an emulated copy and the object re-classed), so an optimizer built before still
    holds the same tensors and tied parameters stay tied; parameters stay leaves that require grad
    and ``isinstance(p, nn.Parameter)`` holds. Existing ``.grad`` tensors are moved too.
    ``module.cpu()`` afterwards moves everything back to plain CPU tensors (counting the copies).
    """
    for tensor in list(module.parameters()) + list(module.buffers()):
        if isinstance(tensor, EmulatedCudaTensor):
            continue
        with _DisableSubclass():
            data = torch.Tensor.detach(tensor)
        _move_data(tensor, to_emulated_cuda(data))
        grad = tensor.grad
        if grad is not None and not isinstance(grad, EmulatedCudaTensor):
            _move_data(grad, to_emulated_cuda(grad.detach()))
    return module


# -- torch internals that read the real device ----------------------------------------------------
_real_group_tensors_by_device_and_dtype = torch._C._group_tensors_by_device_and_dtype


def _group_tensors_by_device_and_dtype(tensorlistlist, with_indices=False):
    """``torch._C._group_tensors_by_device_and_dtype`` that files emulated tensors under ``cuda:0``.

    The C++ function reads the real (CPU) device, so ``clip_grad_norm_`` and the optimizers' foreach
    helpers would otherwise call ``.to("cpu")`` on emulated tensors and count syncs that a real GPU
    never does. Emulated and plain CPU tensors of one group are split into two groups, as on CUDA.
    Without emulated tensors the result is the original function's, unchanged.
    """
    grouped = _real_group_tensors_by_device_and_dtype(tensorlistlist, with_indices)
    if not tensorlistlist or not any(isinstance(t, EmulatedCudaTensor) for t in tensorlistlist[0]):
        return grouped
    result = {}
    for (device, dtype), (lists, indices) in grouped.items():
        flags = [isinstance(t, EmulatedCudaTensor) for t in lists[0]]
        if device.type != "cpu" or not any(flags):
            result[(device, dtype)] = (lists, indices)
            continue
        for on_device, key in ((False, device), (True, CUDA_DEVICE)):
            positions = [i for i, flag in enumerate(flags) if flag == on_device]
            if positions:
                result[(key, dtype)] = ([[tensors[i] for i in positions] for tensors in lists],
                                        [indices[i] for i in positions] if indices else indices)
    return result


torch._C._group_tensors_by_device_and_dtype = _group_tensors_by_device_and_dtype
