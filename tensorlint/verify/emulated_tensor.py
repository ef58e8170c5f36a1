"""The emulated CUDA tensor: a CPU tensor that reports ``cuda:0``, raises CUDA's errors and counts host
syncs. What it does and where it differs from real CUDA: :mod:`tensorlint.verify.emulation`.
"""
from __future__ import annotations

import copy
import threading
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, Optional, Set

import torch

from tensorlint.verify.sync_count import blocking

CUDA_DEVICE = torch.device("cuda", 0)
CUDA_NUMPY_MESSAGE = ("can't convert cuda:0 device type tensor to numpy. "
                      "Use Tensor.cpu() to copy the tensor to host memory first.")
DEVICE_MISMATCH_MESSAGE = ("Expected all tensors to be on the same device, but found at least two devices, "
                           "cuda:0 and cpu!")
_FORMAT_MESSAGE = "unsupported format string passed to Tensor.__format__"

_DisableSubclass = torch._C.DisableTorchFunctionSubclass


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


def tensors_in(value: Any, max_depth: int = 3, depth: int = 0) -> Iterator[torch.Tensor]:
    """The tensors in `value` and in the lists, tuples and dict values it holds, `max_depth` levels down."""
    if isinstance(value, torch.Tensor):
        yield value
    elif depth < max_depth and isinstance(value, (tuple, list)):
        for item in value:
            yield from tensors_in(item, max_depth, depth + 1)
    elif depth < max_depth and isinstance(value, dict):
        for item in value.values():
            yield from tensors_in(item, max_depth, depth + 1)


def _is_plain(t: torch.Tensor) -> bool:
    return not isinstance(t, EmulatedCudaTensor)


def _wrap(ret: Any, args: tuple, kwargs: dict) -> Any:
    """Re-class fresh plain tensors in ``ret`` as emulated (in place: identity and grad_fn kept)."""
    keep = {id(t) for t in tensors_in((args, kwargs)) if _is_plain(t)}
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
        tensors = list(tensors_in((args, kwargs)))
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
    with blocking(kind):
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
                with blocking(kind):
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
            with blocking("cpu"):
                with _DisableSubclass():
                    return torch.Tensor.to(self, copy=True).type(target)
    ret = _plain_call(func, (self, target), {k: v for k, v in kwargs.items() if k != "dtype"})
    return _wrap(ret, args, kwargs)


def _repr(func, args, kwargs):
    self = args[0]
    with blocking("repr"):
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
    with blocking("format"):
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
        with blocking("mask_index"):
            ret = _plain_call(func, args, kwargs)
        return _wrap(ret, args, kwargs)
    return _wrap(_plain_call(func, args, kwargs), args, kwargs)


def _setitem(func, args, kwargs):
    if len(args) > 2 and _is_device_mask(args[1]):
        value = args[2]
        masked_fill = not isinstance(value, torch.Tensor) or (_is_plain(value) and value.numel() == 1)
        if not masked_fill:
            with blocking("mask_assign"):
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
        match_class(args[0], args[1])
    return None


def match_class(tensor: torch.Tensor, value: torch.Tensor) -> None:
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
