"""What removed NumPy names meant, version by version: the verifier's own copy of FACTS.md §4.

Kept apart from the rules' table (``tensorlint/rules/numpy_names/table.py``) on purpose: the verifier
checks a fix against these facts, so it must not read them from the code it checks.

:data:`MEANINGS` maps a name of the ``numpy`` namespace to the versions where it existed and what it
was there, as a *reference* the worker can evaluate against the installed NumPy:

* ``"builtins.int"``: that builtin object;
* ``"numpy.float64"``: that attribute of the installed NumPy (the name was an alias of it);
* ``"value:nan"`` / ``"value:-inf"`` / ...: that float;
* ``"ref:msort"``: a reference implementation written from NumPy 1.26's source (below).

:data:`INTRODUCED` gives the first NumPy that has a replacement, where that is after 1.19, so a fix
that writes it can be checked against the project's lowest supported NumPy.
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Tuple

Version = Tuple[int, ...]
Range = Tuple[Version, Optional[Version]]   # first, last (inclusive); None: still there

_OLD = (1, 0)
_LAST_1X = (1, 26)
_ALIASES_GONE = (1, 23)   # the builtin aliases existed up to 1.23 (deprecated from 1.20)

MEANINGS: Dict[str, List[Tuple[Range, str]]] = {
    # FACTS §4: builtin aliases, removed in 1.24; np.bool and np.long come back in 2.0 with new meanings
    "int": [((_OLD, _ALIASES_GONE), "builtins.int")],
    "float": [((_OLD, _ALIASES_GONE), "builtins.float")],
    "complex": [((_OLD, _ALIASES_GONE), "builtins.complex")],
    "object": [((_OLD, _ALIASES_GONE), "builtins.object")],
    "str": [((_OLD, _ALIASES_GONE), "builtins.str")],
    "unicode": [((_OLD, _ALIASES_GONE), "builtins.str")],
    "bool": [((_OLD, _ALIASES_GONE), "builtins.bool"), (((2, 0), None), "numpy.bool_")],
    "long": [((_OLD, _ALIASES_GONE), "builtins.int"), (((2, 0), None), "numpy.long")],
    # FACTS §4: removed in 2.0
    "float_": [((_OLD, _LAST_1X), "numpy.float64")],
    "complex_": [((_OLD, _LAST_1X), "numpy.complex128")],
    "cfloat": [((_OLD, _LAST_1X), "numpy.complex128")],
    "singlecomplex": [((_OLD, _LAST_1X), "numpy.complex64")],
    "longfloat": [((_OLD, _LAST_1X), "numpy.longdouble")],
    "longcomplex": [((_OLD, _LAST_1X), "numpy.clongdouble")],
    "clongfloat": [((_OLD, _LAST_1X), "numpy.clongdouble")],
    "string_": [((_OLD, _LAST_1X), "numpy.bytes_")],
    "unicode_": [((_OLD, _LAST_1X), "numpy.str_")],
    "bool8": [((_OLD, _LAST_1X), "numpy.bool_")],
    "int0": [((_OLD, _LAST_1X), "numpy.intp")],
    "uint0": [((_OLD, _LAST_1X), "numpy.uintp")],
    "object0": [((_OLD, _LAST_1X), "numpy.object_")],
    "str0": [((_OLD, _LAST_1X), "numpy.str_")],
    "bytes0": [((_OLD, _LAST_1X), "numpy.bytes_")],
    "void0": [((_OLD, _LAST_1X), "numpy.void")],
    "NaN": [((_OLD, _LAST_1X), "value:nan")],
    "NAN": [((_OLD, _LAST_1X), "value:nan")],
    "Inf": [((_OLD, _LAST_1X), "value:inf")],
    "Infinity": [((_OLD, _LAST_1X), "value:inf")],
    "PINF": [((_OLD, _LAST_1X), "value:inf")],
    "infty": [((_OLD, _LAST_1X), "value:inf")],
    "NINF": [((_OLD, _LAST_1X), "value:-inf")],
    "PZERO": [((_OLD, _LAST_1X), "value:0.0")],
    "NZERO": [((_OLD, _LAST_1X), "value:-0.0")],
    "round_": [((_OLD, _LAST_1X), "numpy.round")],
    "alltrue": [((_OLD, _LAST_1X), "numpy.all")],
    "sometrue": [((_OLD, _LAST_1X), "numpy.any")],
    "product": [((_OLD, _LAST_1X), "numpy.prod")],
    "cumproduct": [((_OLD, _LAST_1X), "numpy.cumprod")],
    "mat": [((_OLD, _LAST_1X), "numpy.asmatrix")],
    "row_stack": [((_OLD, _LAST_1X), "numpy.vstack")],
    "msort": [((_OLD, _LAST_1X), "ref:msort")],
    "asfarray": [((_OLD, _LAST_1X), "ref:asfarray")],
    "in1d": [((_OLD, (2, 3)), "ref:in1d")],
    "trapz": [((_OLD, (2, 3)), "ref:trapz")],
    "asscalar": [((_OLD, (1, 22)), "ref:asscalar")],
    "AxisError": [((_OLD, _LAST_1X), "numpy.exceptions.AxisError")],
    "ComplexWarning": [((_OLD, _LAST_1X), "numpy.exceptions.ComplexWarning")],
    "VisibleDeprecationWarning": [((_OLD, _LAST_1X), "numpy.exceptions.VisibleDeprecationWarning")],
    "ModuleDeprecationWarning": [((_OLD, _LAST_1X), "numpy.exceptions.ModuleDeprecationWarning")],
    "TooHardError": [((_OLD, _LAST_1X), "numpy.exceptions.TooHardError")],
    "RankWarning": [((_OLD, _LAST_1X), "numpy.exceptions.RankWarning")],
}

# First NumPy with a replacement, where later than 1.19 (the oldest NumPy the facts cover).
INTRODUCED: Dict[str, Version] = {
    "trapezoid": (2, 0),
    "bool": (2, 0),                 # np.bool (as np.bool_) is back only from 2.0
    "long": (2, 0),
    "exceptions": (1, 25),
    "exceptions.RankWarning": (2, 0),
    "lib.array_utils": (2, 0),
    "lib.array_utils.byte_bounds": (2, 0),
}


def meanings_for(name: str, numpy_min: Optional[Version]) -> List[Tuple[Range, str]]:
    """The meanings of `np.<name>` on the NumPy versions the project supports (all, without a minimum).

    A name the table does not know but the installed NumPy has (`float32`) means what it means there:
    a fix must keep that meaning too.
    """
    if name not in MEANINGS:
        import numpy
        if hasattr(numpy, name):
            version = tuple(int(p) for p in re.findall(r"\d+", numpy.__version__)[:2])
            return [((version, None), f"numpy.{name}")]
        return []
    found = []
    for (first, last), meaning in MEANINGS.get(name, []):
        if numpy_min is not None and last is not None and last < tuple(numpy_min[:len(last)]):
            continue
        found.append(((first, last), meaning))
    return found


def describe_range(span: Range) -> str:
    first, last = span
    if last is None:
        return f"NumPy >= {'.'.join(map(str, first))}"  # for a name the table lacks: the installed NumPy
    if first == _OLD:
        return f"NumPy <= {'.'.join(map(str, last))}"
    return f"NumPy {'.'.join(map(str, first))}-{'.'.join(map(str, last))}"


# -- reference implementations (NumPy 1.26 source, simplified to the documented behaviour) ---------
def reference(name: str):
    import numpy as np

    def msort(a):
        b = np.array(a, subok=True, copy=True)
        b.sort(0)
        return b

    def asfarray(a, dtype=np.double):
        if not np.issubdtype(dtype, np.inexact):
            dtype = np.double
        return np.asarray(a, dtype=dtype)

    def in1d(ar1, ar2, assume_unique=False, invert=False, *, kind=None):
        # membership of each element of the *flattened* ar1, as NumPy 1.x's small-ar2 branch computes it
        ar1 = np.asarray(ar1).ravel()
        ar2 = np.asarray(ar2).ravel()
        mask = np.zeros(len(ar1), dtype=bool)
        for value in ar2:
            mask |= (ar1 == value)
        return ~mask if invert else mask

    def trapz(y, x=None, dx=1.0, axis=-1):
        y = np.asanyarray(y)
        if x is None:
            d = dx
        else:
            x = np.asanyarray(x)
            if x.ndim == 1:
                d = np.diff(x)
                shape = [1] * y.ndim
                shape[axis] = d.shape[0]
                d = d.reshape(shape)
            else:
                d = np.diff(x, axis=axis)
        nd = y.ndim
        slice1 = [slice(None)] * nd
        slice2 = [slice(None)] * nd
        slice1[axis] = slice(1, None)
        slice2[axis] = slice(None, -1)
        return np.add.reduce(d * (y[tuple(slice1)] + y[tuple(slice2)]) / 2.0, axis)

    def asscalar(a):
        return a.item()

    return {"msort": msort, "asfarray": asfarray, "in1d": in1d, "trapz": trapz, "asscalar": asscalar}[name]


def resolve(meaning: str):
    """The object a meaning string stands for, in this interpreter (raises if it cannot be had)."""
    import builtins
    import importlib

    if meaning.startswith("builtins."):
        return getattr(builtins, meaning.split(".", 1)[1])
    if meaning.startswith("value:"):
        return float(meaning.split(":", 1)[1])
    if meaning.startswith("ref:"):
        return reference(meaning.split(":", 1)[1])
    module_name, _, attr = meaning.rpartition(".")
    parts = module_name.split(".")
    obj = importlib.import_module(parts[0])
    for part in parts[1:] + [attr]:
        obj = getattr(obj, part)
    return obj
