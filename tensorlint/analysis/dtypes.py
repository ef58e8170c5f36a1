"""What the code shows of a tensor's dtype: named in `dtype=`, `.to(torch.bfloat16)`, `.bfloat16()`, kept by
the operations that cannot change it. Checked on torch 2.13 (FACTS.md, "dtypes NumPy cannot hold").

A dtype is known only where the code names it and every step after keeps it: an operation not listed here (a
binary operation with another tensor, a reduction over an integer tensor, a call of unknown code) forgets it,
so that a rule never reports a dtype the value may have lost on the way.
"""
from __future__ import annotations

from typing import Optional

# Every dtype torch 2.13 defines, by its canonical name.
TORCH_DTYPES = frozenset({
    "bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64", "float16", "bfloat16",
    "float32", "float64", "complex32", "complex64", "complex128", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2",
    "float8_e5m2fnuz", "float8_e8m0fnu", "qint8", "quint8", "qint32", "quint4x2", "quint2x4",
    *(f"uint{bits}" for bits in range(1, 8)), *(f"int{bits}" for bits in range(1, 8)),
})
# torch's other names for its dtypes (`torch.half` is `torch.float16`).
ALIASES = {"half": "float16", "float": "float32", "double": "float64", "int": "int32", "long": "int64",
           "short": "int16", "cfloat": "complex64", "cdouble": "complex128", "chalf": "complex32", "bit": "uint1"}
# The tensor methods that convert to one dtype (`x.bfloat16()`); on a module they convert its parameters.
CONVERSION_METHODS = {"bfloat16": "bfloat16", "half": "float16", "float": "float32", "double": "float64",
                      "int": "int32", "long": "int64", "short": "int16", "char": "int8", "byte": "uint8",
                      "bool": "bool", "cfloat": "complex64", "cdouble": "complex128", "chalf": "complex32"}
# Methods whose result has the receiver's dtype whatever it is: moves, views, copies, selections.
KEEPS_DTYPE = frozenset({
    "detach", "detach_", "cpu", "cuda", "clone", "contiguous", "pin_memory", "requires_grad_", "squeeze",
    "unsqueeze", "squeeze_", "unsqueeze_", "reshape", "flatten", "ravel", "permute", "transpose", "t", "expand",
    "expand_as", "repeat", "narrow", "select", "index_select", "masked_select", "gather", "flip", "roll",
    "masked_fill", "masked_fill_", "view_as", "reshape_as", "movedim", "swapaxes", "clamp", "clamp_",
    "clip", "abs", "neg", "relu", "to_dense", "coalesce",
})
# Methods whose result keeps a floating receiver's dtype (of an integer tensor, `mean` fails and `sum` widens).
KEEPS_FLOATING_DTYPE = frozenset({
    "sum", "mean", "exp", "log", "sqrt", "rsqrt", "sigmoid", "tanh", "softmax", "log_softmax", "pow", "square",
    "mul", "div", "add", "sub", "max", "min", "amax", "amin", "norm", "std", "var", "cumsum", "sin", "cos",
    "reciprocal", "round", "floor", "ceil",
})
# dtypes `Tensor.numpy()` (and so `np.asarray`, `np.array`) rejects with
# "TypeError: Got unsupported ScalarType BFloat16", and whose `.float()` holds every value exactly.
NUMPY_REJECTS_FLOATING = frozenset({"bfloat16", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz",
                                    "float8_e8m0fnu"})


def canonical(name: str) -> str:
    return ALIASES.get(name, name)


def torch_dtype_named(qualified: Optional[str]) -> Optional[str]:
    """`torch.bfloat16` -> "bfloat16", `torch.half` -> "float16"; None when the name is no torch dtype."""
    if qualified is None or not qualified.startswith("torch.") or qualified.count(".") != 1:
        return None
    name = canonical(qualified[len("torch."):])
    return name if name in TORCH_DTYPES else None


def is_floating(dtype: Optional[str]) -> bool:
    return dtype is not None and (dtype.startswith("float") or dtype == "bfloat16")
