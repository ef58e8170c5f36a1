"""The data behind TL301/TL302: which NumPy names are gone, since when, and what replaces them.

Measured, not remembered: every TL302 name is in `dir(numpy)` of NumPy 1.26.4 (or, for the
deprecated scalar aliases and exceptions, reachable through its `__getattr__`) and absent from
NumPy 2.4; `tests/rules/numpy_names/test_numpy_names.py` checks the second half against the installed NumPy.
A fix is listed only where the replacement exists on every NumPy the project may run:
`fix_needs` is the lowest NumPy that has it, when that is above 1.19.

In the advice texts `{np}` stands for the user's own spelling of the module (`np`, `numpy`, `xp`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

Version = Tuple[int, ...]


# -- TL301: aliases of builtins, removed in NumPy 1.24 --------------------------------------
@dataclass(frozen=True)
class BuiltinAlias:
    builtin: str                 # what `np.<name>` was on NumPy <= 1.23
    numpy_target: str = ""       # fix with this NumPy attribute instead of the builtin (`bool_`)
    back_in_numpy2: bool = False  # NumPy 2 defines the name again (`np.bool`, `np.long`)
    safe: bool = True            # the fix keeps the meaning on every NumPy that had the name


BUILTIN_ALIASES: Dict[str, BuiltinAlias] = {
    "int": BuiltinAlias("int"),
    "float": BuiltinAlias("float"),
    "complex": BuiltinAlias("complex"),
    "object": BuiltinAlias("object"),
    "str": BuiltinAlias("str"),
    "unicode": BuiltinAlias("str"),
    # `np.bool` is `bool` on <= 1.23 and `np.bool_` on 2.x; only a dtype cannot tell them apart.
    "bool": BuiltinAlias("bool", numpy_target="bool_", back_in_numpy2=True, safe=False),
    # `np.long` is `int` on <= 1.23 and C `long` on 2.x (32 bits on Windows).
    "long": BuiltinAlias("int", back_in_numpy2=True, safe=False),
}


# -- TL302: names removed from the main namespace ----------------------------------------------
# How a fix rewrites a use (fix kinds).
RENAME = "rename"            # np.X -> np.<target>; `from numpy import X` -> `from numpy import <target> as X`
NEGATED = "negated"          # np.NINF -> -np.inf (parenthesized where the context needs it)
SORT_AXIS0 = "sort-axis0"    # np.msort(a) -> np.sort(a, axis=0)
ASARRAY_FLOAT = "asarray-float"  # np.asfarray(a) -> np.asarray(a, dtype=float)
ISIN_RAVEL = "isin-ravel"    # np.in1d(a, b, ...) -> np.isin(a, b, ...).ravel()
ITEM = "item"                # np.asscalar(a) -> a.item()


@dataclass(frozen=True)
class Removed:
    advice: str                  # message tail: what to do instead
    fix: Optional[str] = None    # a fix kind above; None: no automatic fix
    target: str = ""             # the NumPy attribute the fix writes
    removed_in: str = "2.0"
    deprecated_in: str = ""      # set when the release that deprecated it still had it (2.0 for in1d, trapz)
    fix_needs: Optional[Version] = None  # lowest NumPy that has `target`, when above 1.19


def _rename(target: str, **kwargs) -> Removed:
    return Removed(f"use `{{np}}.{target}`", RENAME, target, **kwargs)


def _gone(advice: str, **kwargs) -> Removed:
    return Removed(advice, **kwargs)


_INTERNAL = "an internal constant with no replacement"

REMOVED_NAMES: Dict[str, Removed] = {
    # scalar type aliases
    "float_": _rename("float64"),
    "complex_": _rename("complex128"),
    "cfloat": _rename("complex128"),
    "singlecomplex": _rename("complex64"),
    "longfloat": _rename("longdouble"),
    "longcomplex": _rename("clongdouble"),
    "clongfloat": _rename("clongdouble"),
    "string_": _rename("bytes_"),
    "unicode_": _rename("str_"),
    "bool8": _rename("bool_"),
    "int0": _rename("intp"),
    "uint0": _rename("uintp"),
    "object0": _rename("object_"),
    "str0": _rename("str_"),
    "bytes0": _rename("bytes_"),
    "void0": _rename("void"),
    # constants
    "NaN": _rename("nan"),
    "NAN": _rename("nan"),
    "Inf": _rename("inf"),
    "Infinity": _rename("inf"),
    "PINF": _rename("inf"),
    "infty": _rename("inf"),
    "NINF": Removed("use `-{np}.inf`", NEGATED, "inf"),
    "PZERO": _gone("use `0.0`"),
    "NZERO": _gone("use `-0.0`"),
    # functions with a same-signature replacement
    "round_": _rename("round"),
    "alltrue": _rename("all"),
    "sometrue": _rename("any"),
    "product": _rename("prod"),
    "cumproduct": _rename("cumprod"),
    "mat": _rename("asmatrix"),
    # functions whose replacement changes the call
    "msort": Removed("use `{np}.sort(a, axis=0)`", SORT_AXIS0, "sort"),
    "asfarray": Removed("use `{np}.asarray(a, dtype=float)`", ASARRAY_FLOAT, "asarray"),
    "in1d": Removed("use `{np}.isin` (`{np}.isin(a, b).ravel()` keeps the flat result)", ISIN_RAVEL, "isin",
                    removed_in="2.4", deprecated_in="2.0"),
    "trapz": Removed("use `{np}.trapezoid` (NumPy >= 2.0) or `scipy.integrate.trapezoid`", RENAME, "trapezoid",
                     removed_in="2.4", deprecated_in="2.0", fix_needs=(2,)),
    "find_common_type": _gone("use `{np}.result_type` or `{np}.promote_types` (pass `0`, `0.0` or `0j` "
                              "for the old `scalar_types`)"),
    "asscalar": Removed("use `a.item()`", ITEM, removed_in="1.23"),
    "alen": _gone("use `len(a)` (or `{np}.shape(a)[0]`)", removed_in="1.23"),
    "issubclass_": _gone("use the builtin `issubclass` (it raises TypeError where `issubclass_` returned False)"),
    "issubsctype": _gone("use `{np}.issubdtype`"),
    "issctype": _gone("use `issubclass(rep, {np}.generic)`"),
    "maximum_sctype": _gone("name the dtype explicitly"),
    "obj2sctype": _gone("use `{np}.dtype(obj).type`"),
    "sctype2char": _gone("use `{np}.dtype(obj).char`"),
    "sctypes": _gone("name the dtypes explicitly"),
    "cast": _gone("use `{np}.asarray(arr, dtype=dtype)`"),
    "nbytes": _gone("use `{np}.dtype(dtype).itemsize`"),
    "fastCopyAndTranspose": _gone("use `arr.T.copy()`"),
    "source": _gone("use `inspect.getsource`"),
    "lookfor": _gone("search NumPy's documentation instead"),
    "who": _gone("use `locals()` or an IDE's variable explorer"),
    "disp": _gone("use `print`"),
    "safe_eval": _gone("use `ast.literal_eval`"),
    "set_string_function": _gone("use `{np}.set_printoptions(formatter=...)`"),
    "deprecate": _gone("emit a `DeprecationWarning` with `warnings.warn`"),
    "deprecate_with_doc": _gone("emit a `DeprecationWarning` with `warnings.warn`"),
    "recfromcsv": _gone("use `{np}.genfromtxt(..., delimiter=\",\")`"),
    "recfromtxt": _gone("use `{np}.genfromtxt`"),
    "geterrobj": _gone("use the `{np}.errstate` context manager"),
    "seterrobj": _gone("use the `{np}.errstate` context manager"),
    "set_numeric_ops": _gone("override ufuncs with `__array_ufunc__`"),
    "get_array_wrap": _gone("it has no replacement"),
    "add_newdoc_ufunc": _gone("it has no replacement"),
    "add_docstring": _gone("use `{np}.lib.add_docstring`"),
    "add_newdoc": _gone("use `{np}.lib.add_newdoc`"),
    "tracemalloc_domain": _gone("use `{np}.lib.tracemalloc_domain`"),
    "DataSource": _gone("use `{np}.lib.npyio.DataSource`"),
    "compare_chararrays": _gone("use `{np}.char.compare_chararrays`"),
    "format_parser": _gone("use `{np}.rec.format_parser`"),
    "byte_bounds": Removed("use `{np}.lib.array_utils.byte_bounds` (NumPy >= 2.0)", RENAME,
                           "lib.array_utils.byte_bounds", fix_needs=(2,)),
    "compat": _gone("it has no replacement (it only served Python 2)"),
    "math": _gone("use the standard library's `math`"),
    # exceptions, in `numpy.exceptions` since 1.25 (RankWarning since 2.0)
    **{name: Removed(f"use `{{np}}.exceptions.{name}` (NumPy >= 1.25)", RENAME, f"exceptions.{name}",
                     fix_needs=(1, 25))
       for name in ("AxisError", "ComplexWarning", "VisibleDeprecationWarning", "ModuleDeprecationWarning",
                    "TooHardError")},
    "RankWarning": Removed("use `{np}.exceptions.RankWarning` (NumPy >= 2.0)", RENAME, "exceptions.RankWarning",
                           fix_needs=(2,)),
    # internal enums and constants
    "CLIP": _gone("pass `mode=\"clip\"`"),
    "WRAP": _gone("pass `mode=\"wrap\"`"),
    "RAISE": _gone("pass `mode=\"raise\"`"),
    "ALLOW_THREADS": _gone(_INTERNAL),
    "BUFSIZE": _gone(_INTERNAL),
    "MAXDIMS": _gone(_INTERNAL),
    "MAY_SHARE_BOUNDS": _gone(_INTERNAL),
    "MAY_SHARE_EXACT": _gone(_INTERNAL),
    "FLOATING_POINT_SUPPORT": _gone(_INTERNAL),
    "UFUNC_BUFSIZE_DEFAULT": _gone(_INTERNAL),
    "UFUNC_PYVALS_NAME": _gone(_INTERNAL),
    "kernel_version": _gone(_INTERNAL),
    **{name: _gone("use `{np}.errstate`") for name in (
        "ERR_CALL", "ERR_DEFAULT", "ERR_IGNORE", "ERR_LOG", "ERR_PRINT", "ERR_RAISE", "ERR_WARN",
        "FPE_DIVIDEBYZERO", "FPE_INVALID", "FPE_OVERFLOW", "FPE_UNDERFLOW",
        "SHIFT_DIVIDEBYZERO", "SHIFT_INVALID", "SHIFT_OVERFLOW", "SHIFT_UNDERFLOW")},
}

# Submodules removed in NumPy 2.0 (`import numpy.compat`, `from numpy.compat import long`).
REMOVED_MODULES: Dict[str, str] = {
    "numpy.compat": "it has no replacement (it only served Python 2)",
    "numpy.array_api": "use the main `numpy` namespace, or the `array-api-strict` package for testing",
}

# Where a name in a test means "this code depends on the NumPy version".
VERSION_ATTRIBUTES = frozenset({
    "numpy.__version__", "numpy.version", "numpy.version.version", "numpy.version.full_version",
    "numpy.version.short_version", "numpy.lib.NumpyVersion",
})

# Exceptions a `try:` may catch around a possibly missing name.
MISSING_NAME_ERRORS = frozenset({"AttributeError", "ImportError", "ModuleNotFoundError"})
BROAD_ERRORS = frozenset({"Exception", "BaseException"})
