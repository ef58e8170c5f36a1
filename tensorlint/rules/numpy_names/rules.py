"""TL3: NumPy names that no longer exist (builtin aliases gone in 1.24, main-namespace removals of 2.0)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Set, Tuple

import libcst as cst

from tensorlint.analysis import dotted_name
from tensorlint.core.diagnostics import Edit, Fix, Safety
from tensorlint.core.settings import DEFAULT
from tensorlint.rules.numpy_names import table
from tensorlint.core.fix_check import FixCheck
from tensorlint.rules.base import FamilyChecker, Invalid, Rule, Valid

H = "import numpy as np\n"  # header shared by the cases


class NumpyRemovedAlias(Rule):
    """
    ## What it does
    Flags NumPy's aliases of Python builtins: `np.int`, `np.float`, `np.complex`, `np.object`,
    `np.str` and `np.unicode`, and, while the project may still run NumPy 1.x, `np.bool` and
    `np.long`. Imports of them (`from numpy import float`) are flagged too. Sized and NumPy
    scalar types (`np.float64`, `np.int32`, `np.bool_`, `np.str_`) are never flagged.

    ## Why is this bad?
    These names were the builtins themselves (`np.float is float`). NumPy 1.20 deprecated them and
    NumPy 1.24 removed them: `AttributeError: module 'numpy' has no attribute 'float'`, and the
    import form raises `ImportError`. NumPy 2 defines `np.bool` (now `np.bool_`) and `np.long`
    (C `long`) again, so those two crash only on NumPy 1.24–1.26: they are flagged while the
    project's lowest supported NumPy is below 2.0, which is assumed when nothing says otherwise.

    Compatibility code is not flagged: the body of a `try:` that catches `AttributeError` or
    `ImportError` (or anything broader), code that runs only when `hasattr(np, "float")` holds
    (its branch, or what follows `if not hasattr(np, "float"): return`), either branch of a test
    on the NumPy version (`np.__version__`, `np.lib.NumpyVersion`, `importlib.metadata.version("numpy")`,
    or a flag assigned from one), and files that restore the name themselves (`np.float = float`).
    A project run (the default `tensorlint check`) also leaves alone every file of a project one of
    whose modules assigns the name back (`np.float = np.float_` in a `compatibility_settings()`, or
    `setattr(np, "float", ...)`), since the name exists again once that code has run; flake8 and the
    editor, which see one file and what it imports, still flag those uses.

    ## Example
    ```python
    labels = np.zeros(n, dtype=np.int)
    scores = np.asarray(values, dtype=np.float)
    ```

    ## Use instead
    ```python
    labels = np.zeros(n, dtype=int)
    scores = np.asarray(values, dtype=float)
    ```

    ## Fix safety
    `np.int`, `np.float`, `np.complex`, `np.object`, `np.str` and `np.unicode` become the builtin
    they always were: safe, it is the same object on every NumPy that had the alias. Where the file
    rebinds the builtin's name (a variable, parameter or import called `float`), the fix writes
    `builtins.float` and adds `import builtins` once, after the docstring and `__future__` imports.
    `np.bool` becomes `np.bool_`, which is what `np.bool` is on NumPy 2: safe where it names a dtype
    (`dtype=`, `.astype()`, `np.dtype()`, a comparison with `.dtype`), unsafe elsewhere, because on
    NumPy 1.23 and older `np.bool` was the builtin `bool` (`isinstance(True, np.bool_)` is False).
    `np.long` becomes `int`, always unsafe: on NumPy 2 `np.long` is C `long`, 32 bits on Windows.
    `from numpy import float` becomes `from builtins import float` when it imports nothing else;
    other import forms have no automatic fix.

    ## Options
    The project's lowest supported NumPy (from its requirements, or `--target-numpy`): from 2.0 on,
    `np.bool` and `np.long` are valid and not flagged.

    ## Known problems
    A shim in another module (`np.float = float` in a package `__init__`) is not seen. Names
    brought in by `from numpy import *` are not followed. If you meant a NumPy scalar type rather
    than the builtin, pick the sized type yourself (`np.float64`, `np.int64`).
    """

    code = "TL301"
    fix_check = FixCheck(snippet="numpy")
    name = "numpy-removed-alias"
    summary = "NumPy alias of a builtin (`np.float`, `np.int`, ...) that NumPy 1.24 removed"
    fixable = "sometimes"
    VALID = [
        Valid(H + "x = np.zeros(3, dtype=np.float64)\ny = x.astype(np.int32)\n", "sized types"),
        Valid(H + "m = np.zeros(3, dtype=np.bool_)\ns = np.str_('a')\no = np.object_\n", "NumPy scalar types"),
        Valid(H + "x = np.zeros(3, dtype=float)\n", "the builtin itself"),
        Valid("import pandas as pd\ndf = pd.DataFrame()\ncol = df.float\nn = df.int\n", "attributes of another object"),
        Valid("import numpy\nnp = load_backend()\nx = np.float\n", "a local `np` that is not NumPy"),
        Valid(H + "def f(np):\n    return np.float\n", "a parameter named `np` shadows the import"),
        Valid(H + "try:\n    F = np.float\nexcept AttributeError:\n    F = float\n", "try/except AttributeError"),
        Valid(H + "try:\n    from numpy import float as F\nexcept ImportError:\n    F = float\n", "try/except ImportError"),
        Valid(H + "try:\n    F = np.float\nexcept (TypeError, AttributeError):\n    F = float\n", "a tuple of handlers"),
        Valid(H + "try:\n    F = np.float\nexcept:\n    F = float\n", "bare except"),
        Valid(H + "if hasattr(np, 'float'):\n    F = np.float\nelse:\n    F = float\n", "hasattr guard"),
        Valid(H + "F = np.float if hasattr(np, 'float') else float\n", "hasattr in a conditional expression"),
        Valid(H + "if not hasattr(np, 'int'):\n    I = int\nelse:\n    I = np.int\n", "negated hasattr guard"),
        Valid(H + "if np.__version__ < '1.20':\n    F = np.float\n", "NumPy version test"),
        Valid(H + "if np.lib.NumpyVersion(np.__version__) >= '1.20.0':\n    F = float\nelse:\n    F = np.float\n",
              "NumpyVersion test, either branch"),
        Valid(H + "OLD_NUMPY = int(np.__version__.split('.')[1]) < 20\nF = np.float if OLD_NUMPY else float\n",
              "a flag computed from the version"),
        Valid(H + "F = getattr(np, 'float', float)\n", "getattr is not an attribute access"),
        Valid(H + "np.float = float\nx = np.zeros(3, dtype=np.float)\n", "the file restores the alias"),
        Valid(H + "x = 'np.float'\n# np.int in a comment\n", "strings and comments"),
    ]
    INVALID = [
        Invalid(H + "x = np.zeros(3, dtype=np.float)\n", line=2, col=23,
                fixed=H + "x = np.zeros(3, dtype=float)\n", why="np.float"),
        Invalid(H + "ids = arr.astype(np.int)\n", line=2, col=18,
                fixed=H + "ids = arr.astype(int)\n", why="np.int"),
        Invalid(H + "z = np.complex(1, 2)\n", line=2, col=5, fixed=H + "z = complex(1, 2)\n", why="np.complex"),
        Invalid(H + "a = np.empty(3, dtype=np.object)\n", line=2, col=23,
                fixed=H + "a = np.empty(3, dtype=object)\n", why="np.object"),
        Invalid(H + "names = np.array(xs, dtype=np.str)\n", line=2, col=28,
                fixed=H + "names = np.array(xs, dtype=str)\n", why="np.str"),
        Invalid(H + "u = np.unicode('a')\n", line=2, col=5, fixed=H + "u = str('a')\n", why="np.unicode"),
        Invalid("import numpy\nx = numpy.float(3)\n", line=2, col=5, fixed="import numpy\nx = float(3)\n",
                why="`import numpy`"),
        Invalid("import numpy as xp\nmask = xp.zeros(3, dtype=xp.bool)\n", line=2, col=26,
                fixed="import numpy as xp\nmask = xp.zeros(3, dtype=xp.bool_)\n",
                why="np.bool as a dtype: `np.bool_`, the user's alias kept"),
        Invalid(H + "ok = isinstance(v, np.bool)\n", line=2, col=20, unsafe=True,
                fixed=H + "ok = isinstance(v, np.bool_)\n",
                why="np.bool outside a dtype: the fix is unsafe (it was the builtin on NumPy <= 1.23)"),
        Invalid(H + "n = np.long(7)\n", line=2, col=5, unsafe=True, fixed=H + "n = int(7)\n",
                why="np.long: unsafe (C long on NumPy 2)"),
        Invalid(H + "def f(float):\n    return np.zeros(3, dtype=np.float)\n", line=3, col=30,
                fixed="import builtins\n" + H + "def f(float):\n    return np.zeros(3, dtype=builtins.float)\n",
                why="the builtin name is shadowed: builtins.float"),
        Invalid('"""Doc."""\nfrom __future__ import annotations\nimport numpy as np\nint = 3\nx = np.int(1)\ny = np.int(2)\n',
                line=5, col=5,
                fixed='"""Doc."""\nfrom __future__ import annotations\nimport builtins\nimport numpy as np\nint = 3\n'
                      'x = builtins.int(1)\ny = builtins.int(2)\n',
                why="`import builtins` added once, after the docstring and __future__ imports"),
        Invalid("from numpy import float\nx = float(3)\n", line=1, col=19,
                fixed="from builtins import float\nx = float(3)\n", why="`from numpy import float`"),
        Invalid("from numpy import unicode as U\n", line=1, col=19,
                fixed="from builtins import str as U\n", why="imported under another name"),
        Invalid("from numpy import float, zeros\n", line=1, col=19, why="imported with other names: no fix"),
        Invalid("from numpy import bool\n", line=1, col=19, why="`from numpy import bool`: no fix"),
        Invalid(H + "if np.__version__ >= '1.20':\n    pass\nx = np.float\n", line=4, col=5,
                fixed=H + "if np.__version__ >= '1.20':\n    pass\nx = float\n", why="after a version test, not inside it"),
        Invalid(H + "try:\n    pass\nexcept AttributeError:\n    pass\nelse:\n    x = np.float\n", line=7, col=9,
                fixed=H + "try:\n    pass\nexcept AttributeError:\n    pass\nelse:\n    x = float\n",
                why="the else of a try is not guarded"),
        Invalid(H + "try:\n    def f():\n        return np.float\nexcept AttributeError:\n    pass\n", line=4, col=16,
                fixed=H + "try:\n    def f():\n        return float\nexcept AttributeError:\n    pass\n",
                why="a function defined in a try runs later, unguarded"),
        Invalid(H + "if hasattr(np, 'float'):\n    pass\nelse:\n    x = np.float\n", line=5, col=9,
                fixed=H + "if hasattr(np, 'float'):\n    pass\nelse:\n    x = float\n",
                why="the branch where hasattr is false"),
    ]


class Numpy2RemovedName(Rule):
    """
    ## What it does
    Flags names that NumPy 2.0 removed from its main namespace: scalar aliases (`np.float_`,
    `np.complex_`, `np.string_`, `np.unicode_`, `np.bool8`, `np.int0`, ...), constants (`np.NaN`,
    `np.Inf`, `np.NINF`, `np.PZERO`, ...), functions (`np.product`, `np.alltrue`, `np.round_`,
    `np.msort`, `np.asfarray`, `np.find_common_type`, `np.mat`, `np.cast`, `np.who`, ...),
    exceptions now only in `np.exceptions` (`np.AxisError`, `np.ComplexWarning`, ...), and the
    `numpy.compat` and `numpy.array_api` modules. Also `np.in1d` and `np.trapz`, deprecated in 2.0
    and removed in 2.4, and `np.asscalar`/`np.alen`, removed in 1.23. Imports of these names are
    flagged too. The full list, with replacements, is `tensorlint/rules/numpy_names/table.py`.

    ## Why is this bad?
    On NumPy 2 the name is gone: `AttributeError: np.float_ was removed in the NumPy 2.0 release.
    Use np.float64 instead.` Most have a replacement that works on NumPy 1.x and 2.x alike, so the
    code can support both.

    Compatibility code is not flagged: the body of a `try:` that catches `AttributeError` or
    `ImportError` (or anything broader), the fallback in an `AttributeError`/`ImportError` handler,
    code that runs only when `hasattr(np, "trapz")` holds, either branch of a test on the NumPy
    version (a `hasattr(np, "trapezoid")` test counts as one), and files that restore the name
    themselves (`np.NaN = np.nan`) or, in a project run, whose project does so in any module.
    `getattr(np, "NaN", np.nan)` is not an attribute access.

    ## Example
    ```python
    x = np.asarray(values, dtype=np.float_)
    x[np.isnan(x)] = np.NaN
    total = np.product(x.shape)
    ```

    ## Use instead
    ```python
    x = np.asarray(values, dtype=np.float64)
    x[np.isnan(x)] = np.nan
    total = np.prod(x.shape)
    ```

    ## Fix safety
    Every fix is safe: the replacement is the same object or computes the same result on every NumPy
    from 1.19 on, and the user's module alias is kept (`xp.float_` → `xp.float64`). `np.NINF` becomes
    `-np.inf`, parenthesized where an operator would bind tighter. Call forms are fixed only where
    the rewrite is exact: `np.msort(a)` → `np.sort(a, axis=0)` and `np.asfarray(a)` →
    `np.asarray(a, dtype=float)` with one positional argument, `np.in1d(a, b, ...)` →
    `np.isin(a, b, ...).ravel()` (`in1d` always returned a flat array), `np.asscalar(a)` →
    `a.item()`. `from numpy import float_` becomes `from numpy import float64 as float_`.
    A replacement that exists only on newer NumPy is applied only when the project requires it:
    `np.trapz` → `np.trapezoid` and `np.byte_bounds` → `np.lib.array_utils.byte_bounds` from NumPy 2.0,
    `np.AxisError` → `np.exceptions.AxisError` from 1.25 (`RankWarning` from 2.0). Names without an
    equivalent (`np.find_common_type`, `np.cast`, `np.issubclass_`, `np.PZERO`, ...) are reported with
    the advice of the NumPy 2.0 migration guide and no fix.

    ## Options
    The project's lowest supported NumPy (from its requirements, or `--target-numpy`) unlocks the
    fixes whose replacement is newer than NumPy 1.x.

    ## Known problems
    `np.row_stack` and `np.chararray` are deprecated but still present in NumPy 2.4, so they are not
    flagged. A shim in another module is not seen, names brought in by `from numpy import *` are not
    followed, and a version flag is recognised only once its assignment has been read (in file order).
    """

    code = "TL302"
    fix_check = FixCheck(snippet="numpy")
    name = "numpy2-removed-name"
    summary = "Name removed from NumPy's main namespace in NumPy 2.0 (`np.float_`, `np.NaN`, `np.product`, ...)"
    fixable = "sometimes"
    VALID = [
        Valid(H + "x = np.asarray(v, dtype=np.float64)\ny = np.nan * np.inf\n", "the replacements"),
        Valid(H + "r = np.round(x, 2)\np = np.prod(x)\nc = np.cumprod(x)\nok = np.all(x)\n", "replacement functions"),
        Valid(H + "x = np.row_stack([a, b])\n", "row_stack is deprecated, not removed"),
        Valid("import pandas as pd\nv = pd.NaT\nw = df.NaN\n", "attributes of another object"),
        Valid("import math\nx = math.inf\ny = float('NaN')\n", "not NumPy"),
        Valid(H + "def f(np):\n    return np.NaN\n", "a parameter named `np`"),
        Valid(H + "try:\n    integrate = np.trapezoid\nexcept AttributeError:\n    integrate = np.trapz\n",
              "the fallback in an AttributeError handler"),
        Valid(H + "try:\n    from numpy import trapezoid\nexcept ImportError:\n    from numpy import trapz as trapezoid\n",
              "the fallback in an ImportError handler"),
        Valid(H + "try:\n    x = np.float_\nexcept Exception:\n    x = np.float64\n", "try/except Exception"),
        Valid(H + "if hasattr(np, 'trapezoid'):\n    integrate = np.trapezoid\nelse:\n    integrate = np.trapz\n",
              "hasattr of the replacement: either branch"),
        Valid(H + "f = np.in1d if hasattr(np, 'in1d') else np.isin\n", "hasattr of the name itself"),
        Valid(H + "if np.lib.NumpyVersion(np.__version__) >= '2.0.0':\n    F = np.float64\nelse:\n    F = np.float_\n",
              "NumpyVersion test"),
        Valid("import numpy\nif numpy.__version__.startswith('1.'):\n    x = numpy.NaN\n", "numpy.__version__ test"),
        Valid(H + "from importlib.metadata import version\nif version('numpy') < '2':\n    x = np.NaN\n",
              "importlib.metadata.version('numpy') test"),
        Valid(H + "NP2 = np.__version__ >= '2'\nNUMPY1 = not NP2\nif NUMPY1:\n    x = np.NINF\n",
              "a flag derived from a version flag"),
        Valid(H + "from contextlib import suppress\nwith suppress(AttributeError):\n    x = np.float_\n",
              "contextlib.suppress(AttributeError)"),
        Valid(H + "x = getattr(np, 'NaN', np.nan)\n", "getattr"),
        Valid(H + "if not hasattr(np, 'asscalar'):\n    np.asscalar = lambda a: a.item()\nv = np.asscalar(x)\n",
              "the file restores the name"),
        Valid(H + "x = np.trapezoid(y)\n", "trapezoid"),
        Valid(H + "def area(y):\n    if hasattr(np, 'trapezoid'):\n        return np.trapezoid(y)\n    return np.trapz(y)\n",
              "after an early return on hasattr of the replacement"),
        Valid(H + "if not hasattr(np, 'float_'):\n    raise ImportError('NumPy 1.x needed')\nF = np.float_\n",
              "after an early raise when the name is missing"),
    ]
    INVALID = [
        Invalid(H + "x = np.zeros(3, dtype=np.float_)\n", line=2, col=23,
                fixed=H + "x = np.zeros(3, dtype=np.float64)\n", why="np.float_"),
        Invalid(H + "y = np.NaN\n", line=2, col=5, fixed=H + "y = np.nan\n", why="np.NaN"),
        Invalid(H + "best = np.Inf\n", line=2, col=8, fixed=H + "best = np.inf\n", why="np.Inf"),
        Invalid(H + "low = np.NINF\n", line=2, col=7, fixed=H + "low = -np.inf\n", why="np.NINF"),
        Invalid(H + "sq = np.NINF ** 2\n", line=2, col=6, fixed=H + "sq = (-np.inf) ** 2\n",
                why="np.NINF under `**`: parenthesized"),
        Invalid(H + "pos = -np.NINF\n", line=2, col=8, fixed=H + "pos = -(-np.inf)\n", why="np.NINF negated"),
        Invalid(H + "r = np.NINF.real\n", line=2, col=5, fixed=H + "r = (-np.inf).real\n", why="attribute of np.NINF"),
        Invalid(H + "d = x - np.NINF\n", line=2, col=9, fixed=H + "d = x - -np.inf\n", why="np.NINF as a right operand"),
        Invalid(H + "p = np.product(x, axis=0)\n", line=2, col=5, fixed=H + "p = np.prod(x, axis=0)\n", why="np.product"),
        Invalid(H + "c = np.cumproduct(x)\n", line=2, col=5, fixed=H + "c = np.cumprod(x)\n", why="np.cumproduct"),
        Invalid(H + "ok = np.alltrue(m) and np.sometrue(m)\n", line=2, col=6,
                fixed=H + "ok = np.all(m) and np.any(m)\n", why="np.alltrue and np.sometrue"),
        Invalid(H + "r = np.round_(x, 2)\n", line=2, col=5, fixed=H + "r = np.round(x, 2)\n", why="np.round_"),
        Invalid(H + "m = np.mat([[1, 2]])\n", line=2, col=5, fixed=H + "m = np.asmatrix([[1, 2]])\n", why="np.mat"),
        Invalid(H + "s = np.msort(a)\n", line=2, col=5, fixed=H + "s = np.sort(a, axis=0)\n", why="np.msort(a)"),
        Invalid(H + "s = np.msort(a=x)\n", line=2, col=5, why="np.msort with a keyword: no fix"),
        Invalid(H + "f = np.asfarray(v)\n", line=2, col=5, fixed=H + "f = np.asarray(v, dtype=float)\n",
                why="np.asfarray(a)"),
        Invalid(H + "f = np.asfarray(v, dtype=np.float32)\n", line=2, col=5, why="np.asfarray with a dtype: no fix"),
        Invalid(H + "mask = np.in1d(a, b, invert=True)\n", line=2, col=8,
                fixed=H + "mask = np.isin(a, b, invert=True).ravel()\n", why="np.in1d"),
        Invalid(H + "area = np.trapz(y, x)\n", line=2, col=8,
                why="np.trapz: no fix while NumPy 1.x is supported (trapezoid is 2.0+)"),
        Invalid(H + "t = np.find_common_type([np.float32], [])\n", line=2, col=5, why="np.find_common_type: no fix"),
        Invalid(H + "v = np.asscalar(a[0])\n", line=2, col=5, fixed=H + "v = a[0].item()\n", why="np.asscalar"),
        Invalid(H + "v = np.asscalar(a + b)\n", line=2, col=5, fixed=H + "v = (a + b).item()\n",
                why="np.asscalar of an expression"),
        Invalid(H + "s = np.string_('a')\nu = np.unicode_('b')\n", line=2, col=5,
                fixed=H + "s = np.bytes_('a')\nu = np.str_('b')\n", why="np.string_, np.unicode_"),
        Invalid(H + "b = np.bool8(1)\ni = np.int0(2)\n", line=2, col=5,
                fixed=H + "b = np.bool_(1)\ni = np.intp(2)\n", why="the aliases deprecated in 1.24"),
        Invalid(H + "c = np.cfloat(1)\nl = np.longfloat(2)\n", line=2, col=5,
                fixed=H + "c = np.complex128(1)\nl = np.longdouble(2)\n", why="np.cfloat, np.longfloat"),
        Invalid("import numpy as xp\nv = xp.Infinity\n", line=2, col=5, fixed="import numpy as xp\nv = xp.inf\n",
                why="another alias is kept"),
        Invalid(H + "except_ = np.AxisError\n", line=2, col=11,
                why="np.AxisError: np.exceptions needs NumPy 1.25, no fix by default"),
        Invalid(H + "with np.errstate():\n    x = np.cast[np.float32](v)\n", line=3, col=9, why="np.cast: no fix"),
        Invalid("from numpy import float_, zeros\n", line=1, col=19,
                fixed="from numpy import float64 as float_, zeros\n", why="from numpy import float_"),
        Invalid("from numpy import NaN as nan_value\n", line=1, col=19,
                fixed="from numpy import nan as nan_value\n", why="imported under another name"),
        Invalid("from numpy import msort\n", line=1, col=19, why="from numpy import msort: no fix"),
        Invalid("from numpy.compat import long\n", line=1, col=6, why="numpy.compat"),
        Invalid("import numpy.compat\n", line=1, col=8, why="import numpy.compat"),
        Invalid(H + "x = np.compat.long(3)\n", line=2, col=5, why="np.compat"),
        Invalid(H + "try:\n    pass\nexcept ValueError:\n    x = np.NaN\n", line=5, col=9,
                fixed=H + "try:\n    pass\nexcept ValueError:\n    x = np.nan\n", why="a ValueError handler is no guard"),
    ]


RULES = (NumpyRemovedAlias, Numpy2RemovedName)


@dataclass
class _Finding:
    code: str
    node: cst.CSTNode
    name: str                               # the NumPy name, which a shim anywhere in the file restores
    message: str
    fix: Callable[[], Optional[Fix]]        # built once the whole file has been seen


def _docstring(stmt: cst.CSTNode) -> bool:
    return (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Expr)
            and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString)))


def _future_import(stmt: cst.CSTNode) -> bool:
    """A line holding a `from __future__` import (nothing may be inserted before it)."""
    return isinstance(stmt, cst.SimpleStatementLine) and any(
        isinstance(s, cst.ImportFrom) and isinstance(s.module, cst.Name) and s.module.value == "__future__"
        for s in stmt.body)


def _imports_only(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, (cst.Import, cst.ImportFrom))
                                                             for s in stmt.body)


def _plain_import_builtins(alias: cst.ImportAlias) -> bool:
    return isinstance(alias.name, cst.Name) and alias.name.value == "builtins" and alias.asname is None


def _target_names(target: cst.CSTNode) -> Iterator[str]:
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from _target_names(target.value)


def _descendants(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    yield node
    for child in node.children:
        yield from _descendants(child)


def _string_value(node: cst.CSTNode) -> Optional[str]:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _always_exits(block: cst.BaseSuite) -> bool:
    """Does the block end with `return`, `raise`, `continue` or `break`?"""
    if isinstance(block, cst.SimpleStatementSuite):  # `if x: return`
        small = block.body
    else:
        last = block.body[-1] if block.body else None
        small = last.body if isinstance(last, cst.SimpleStatementLine) else ()
    return bool(small) and isinstance(small[-1], (cst.Return, cst.Raise, cst.Continue, cst.Break))


def _error_names(expression: Optional[cst.BaseExpression]) -> Iterator[str]:
    if isinstance(expression, cst.Tuple):
        for element in expression.elements:
            yield from _error_names(element.value)
    elif expression is not None:
        name = dotted_name(expression)
        if name is not None:
            yield name.rsplit(".", 1)[-1]


def _catches_missing_name(handler_type: Optional[cst.BaseExpression], broad: bool) -> bool:
    """Does an `except` clause catch the AttributeError/ImportError of a missing name?"""
    if handler_type is None:
        return broad
    accepted = table.MISSING_NAME_ERRORS | (table.BROAD_ERRORS if broad else frozenset())
    return any(name in accepted for name in _error_names(handler_type))


class NumpyNamesChecker(FamilyChecker):
    """Finds the names in the shared walk; reports when leaving the module, once the file's own
    shims (`np.float = float`) and rebindings of builtins (`float = ...`) are all known."""

    triggers = ("numpy",)

    def __init__(self, context, semantic, enabled) -> None:
        super().__init__(context, semantic, enabled)
        self._findings: List[_Finding] = []
        self._bound: Set[str] = set()        # names bound anywhere: a builtin of that name is shadowed
        self._restored: Set[str] = set()     # `np.X = ...`, `setattr(np, "X", ...)`
        self._assigned: Dict[str, List[cst.BaseExpression]] = {}   # for version flags
        self._version_flags: Dict[str, bool] = {}

    # -- findings -----------------------------------------------------------------------------
    def visit_Attribute(self, node: cst.Attribute) -> None:
        name = node.attr.value
        alias_rule = table.BUILTIN_ALIASES.get(name)
        removed = table.REMOVED_NAMES.get(name)
        if alias_rule is None and removed is None:
            return
        code = "TL301" if alias_rule is not None else "TL302"
        if not self.wants(code) or self._in_import_statement() or self._is_target(node):
            return
        module = self._numpy_spelling(node.value)
        if module is None:
            return
        settings = getattr(self.context, "settings", DEFAULT)
        if alias_rule is not None and alias_rule.back_in_numpy2 and not settings.supports_numpy1:
            return
        if self._in_compat_code(name):
            return
        shown = f"{module}.{name}"
        if alias_rule is not None:
            self._found(code, node, name, self._alias_message(shown, alias_rule, module, settings),
                        self._alias_fix(node, module, alias_rule))
        else:
            self._found(code, node, name, _removed_message(shown, removed, module),
                        self._removed_fix(node, module, removed, settings))

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self._record_import_from(node)
        if node.relative or node.module is None:
            return
        module = dotted_name(node.module)
        if module is None:
            return
        removed_module = _removed_module(module)
        if removed_module is not None:
            if self.wants("TL302") and not self._in_compat_code(module):
                self._found("TL302", node.module, module, _module_message(removed_module), _no_fix)
            return
        if module != "numpy" or isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            if isinstance(alias.name, cst.Name):
                self._imported_name(node, alias)

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            if alias.asname is None and not _plain_import_builtins(alias):
                self._bound.add((dotted_name(alias.name) or "").split(".")[0])
            module = dotted_name(alias.name) or ""
            removed_module = _removed_module(module)
            if removed_module is not None and self.wants("TL302") and not self._in_compat_code(module):
                self._found("TL302", alias.name, module, _module_message(removed_module), _no_fix)

    def _found(self, code: str, node: cst.CSTNode, name: str, message: str, fix: Callable[[], Optional[Fix]]) -> None:
        self._findings.append(_Finding(code, node, name, message, fix))

    def leave_Module(self, node: cst.Module) -> None:
        restored = self._restored | self.semantic.project.restored_numpy_names
        for finding in self._findings:
            if finding.name not in restored:
                self.context.report(finding.code, finding.node, finding.message, finding.fix())

    # -- what the file binds, collected in the same walk ----------------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            for name in _target_names(target.target):
                self._assigned.setdefault(name, []).append(node.value)
            self._restored.update(self._restored_names(target.target))

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._bound.update(_target_names(node.target))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bound.update(_target_names(node.target))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bound.update(_target_names(node.target))

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bound.update(_target_names(node.target))

    def visit_For(self, node: cst.For) -> None:
        self._bound.update(_target_names(node.target))

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._bound.update(_target_names(node.target))

    def visit_AsName(self, node: cst.AsName) -> None:
        # `import x as float`, `with open(p) as str`, `except E as int`
        self._bound.update(_target_names(node.name))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._bound.add(node.name.value)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._bound.add(node.name.value)

    def visit_Param(self, node: cst.Param) -> None:
        self._bound.add(node.name.value)

    def visit_Global(self, node: cst.Global) -> None:
        self._bound.update(item.name.value for item in node.names)

    def visit_MatchAs(self, node) -> None:
        if node.name is not None:
            self._bound.add(node.name.value)

    def visit_MatchStar(self, node) -> None:
        if node.name is not None:
            self._bound.add(node.name.value)

    def visit_Call(self, node: cst.Call) -> None:
        # `setattr(np, "float", float)`
        if isinstance(node.func, cst.Name) and node.func.value == "setattr" and len(node.args) >= 2 \
                and self.semantic.imports.qualified(node.args[0].value) == "numpy":
            value = _string_value(node.args[1].value)
            if value is not None:
                self._restored.add(value)

    def _record_import_from(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        from_builtins = isinstance(node.module, cst.Name) and node.module.value == "builtins"
        for alias in node.names:
            if alias.asname is None and isinstance(alias.name, cst.Name) and not from_builtins:
                self._bound.add(alias.name.value)

    def _restored_names(self, target: cst.BaseExpression) -> Iterator[str]:
        """`np.float = float`, `np.float, np.int = float, int`"""
        if isinstance(target, cst.Attribute) and self.semantic.imports.qualified(target.value) == "numpy":
            yield target.attr.value
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                yield from self._restored_names(element.value)

    # -- `from numpy import X` --------------------------------------------------------------
    def _imported_name(self, statement: cst.ImportFrom, alias: cst.ImportAlias) -> None:
        name = alias.name.value
        alias_rule = table.BUILTIN_ALIASES.get(name)
        removed = table.REMOVED_NAMES.get(name)
        if alias_rule is None and removed is None:
            return
        code = "TL301" if alias_rule is not None else "TL302"
        if not self.wants(code):
            return
        settings = getattr(self.context, "settings", DEFAULT)
        if alias_rule is not None and alias_rule.back_in_numpy2 and not settings.supports_numpy1:
            return
        if self._in_compat_code(name):
            return
        if alias_rule is not None:
            if alias_rule.back_in_numpy2:
                use = f"numpy.{alias_rule.numpy_target}" if alias_rule.numpy_target else alias_rule.builtin
                message = (f"`from numpy import {name}` raises ImportError on NumPy 1.24–1.26, "
                           f"which this project may still run{_source(settings)}: use `{use}`")
            else:
                message = (f"`from numpy import {name}` raises ImportError on NumPy 1.24 and later "
                           f"(`numpy.{name}` was the builtin `{alias_rule.builtin}`): use `{alias_rule.builtin}`")
            fix = _no_fix
            if not alias_rule.back_in_numpy2 and len(statement.names) == 1:
                fix = self._import_from_builtins(statement, alias, alias_rule.builtin)
            self._found(code, alias, name, message, fix)
            return
        message = f"`from numpy import {name}` fails: " + _removed_message(f"numpy.{name}", removed, "numpy")
        fix = _no_fix
        if removed.fix == table.RENAME and "." not in removed.target and _fix_allowed(removed, settings):
            text = removed.target if alias.asname is not None else f"{removed.target} as {name}"
            fix = self._fixed_by([(alias.name, text)], f"Import `{removed.target}`", Safety.SAFE)
        self._found(code, alias, name, message, fix)

    def _import_from_builtins(self, statement: cst.ImportFrom, alias: cst.ImportAlias,
                              builtin: str) -> Callable[[], Optional[Fix]]:
        """`from numpy import float as f` → `from builtins import float as f` (the only name imported)."""
        replacements = [(statement.module, "builtins")]
        name = alias.name.value
        if builtin != name:
            replacements.append((alias.name, builtin if alias.asname is not None else f"{builtin} as {name}"))
        return self._fixed_by(replacements, f"Import `{builtin}` from `builtins`", Safety.SAFE)

    def _fixed_by(self, replacements, title: str, safety: Safety) -> Callable[[], Optional[Fix]]:
        """A fix replacing each node's text; edits are made now, while the node's position is at hand."""
        context = self.context
        edits = tuple(context.edit(context.start_of(node), context.end_of(node), text) for node, text in replacements)
        fix = None if any(edit is None for edit in edits) else Fix(title, edits, safety)
        return lambda: fix

    # -- TL301 ------------------------------------------------------------------------------
    def _alias_message(self, shown: str, rule: table.BuiltinAlias, module: str, settings) -> str:
        use = f"{module}.{rule.numpy_target}" if rule.numpy_target else rule.builtin
        if rule.back_in_numpy2:
            return (f"`{shown}` raises AttributeError on NumPy 1.24–1.26, which this project may still run"
                    f"{_source(settings)}: use `{use}`")
        return f"`{shown}` was removed in NumPy 1.24 (it was the builtin `{rule.builtin}`): use `{use}`"

    def _alias_fix(self, node: cst.Attribute, module: str, rule: table.BuiltinAlias) -> Callable[[], Optional[Fix]]:
        if rule.numpy_target:
            safety = Safety.SAFE if self._names_a_dtype(node) else Safety.UNSAFE
            return self._fixed_by([(node.attr, rule.numpy_target)], f"Replace with `{module}.{rule.numpy_target}`",
                                  safety)
        safety = Safety.SAFE if rule.safe else Safety.UNSAFE
        plain = self._fixed_by([(node, rule.builtin)], f"Replace with `{rule.builtin}`", safety)
        qualified = self._fixed_by([(node, f"builtins.{rule.builtin}")], f"Replace with `builtins.{rule.builtin}`",
                                   safety)

        def fix() -> Optional[Fix]:
            if rule.builtin not in self._bound:
                return plain()
            shadowed = qualified()
            if shadowed is None or "builtins" in self._bound:  # `builtins` itself means something else here
                return None
            if self._builtins_imported():
                return shadowed
            edit = self._import_builtins_edit()
            return None if edit is None else Fix(shadowed.title, (*shadowed.edits, edit), shadowed.safety)
        return fix

    def _builtins_imported(self) -> bool:
        """Is there an `import builtins` among the module's leading imports?"""
        body = list(self.context.module.body)
        start = self._anchor_index(body)
        for stmt in body[start:]:
            if not _imports_only(stmt):
                return False
            if any(isinstance(small, cst.Import) and any(map(_plain_import_builtins, small.names)) for small in stmt.body):
                return True
        return False

    @staticmethod
    def _anchor_index(body: List[cst.CSTNode]) -> int:
        """Index of the first statement after the module docstring and `from __future__` imports."""
        index = 1 if body and _docstring(body[0]) else 0
        while index < len(body) and _future_import(body[index]):
            index += 1
        return index

    def _import_builtins_edit(self) -> Optional[Edit]:
        """`import builtins` before the first statement after the docstring and __future__ imports.

        Every fix that needs the import carries this same edit. It replaces a character on each
        side of the line start, so two such fixes overlap and the fixer applies one per pass: the
        next pass finds the import and needs no edit. (Two identical zero-width inserts would both
        be applied.)
        """
        body = list(self.context.module.body)
        index = self._anchor_index(body)
        if index >= len(body):
            return None
        anchor = body[index]
        decorators = getattr(anchor, "decorators", ())
        line, _, _, _ = self.context.span(decorators[0] if decorators else anchor)
        start = self.context.offset(line, 0)
        source = self.context.source
        text = "import builtins" + self.context.module.default_newline
        if start == 0:
            return Edit(0, 1, text + source[0])
        return Edit(start - 1, start + 1, source[start - 1] + text + source[start])

    def _names_a_dtype(self, node: cst.CSTNode) -> bool:
        """Is the value used only as a dtype, where `bool` and `np.bool_` mean the same?"""
        parent = self.semantic.parent(node)
        if isinstance(parent, cst.Arg):
            if parent.keyword is not None:
                return parent.keyword.value == "dtype"
            call = self.semantic.parent(parent)
            if not isinstance(call, cst.Call) or parent.star:
                return False
            qualified = self.semantic.qualified(call.func)
            if qualified == "numpy.issubdtype":
                return True
            first = call.args[0] is parent
            if first and qualified == "numpy.dtype":
                return True
            return first and isinstance(call.func, cst.Attribute) and call.func.attr.value == "astype"
        if isinstance(parent, cst.ComparisonTarget):
            comparison = self.semantic.parent(parent)
            if not isinstance(parent.operator, (cst.Equal, cst.NotEqual)) or not isinstance(comparison, cst.Comparison):
                return False
            operands = [comparison.left, *(target.comparator for target in comparison.comparisons)]
        elif isinstance(parent, cst.Comparison):
            if not all(isinstance(t.operator, (cst.Equal, cst.NotEqual)) for t in parent.comparisons):
                return False
            operands = [parent.left, *(target.comparator for target in parent.comparisons)]
        else:
            return False
        return any(isinstance(o, cst.Attribute) and o.attr.value == "dtype" for o in operands if o is not node)

    # -- TL302 ------------------------------------------------------------------------------
    def _removed_fix(self, node: cst.Attribute, module: str, removed: table.Removed,
                     settings) -> Callable[[], Optional[Fix]]:
        if removed.fix is None or not _fix_allowed(removed, settings):
            return _no_fix
        kind = removed.fix
        if kind == table.RENAME:
            return self._fixed_by([(node.attr, removed.target)], f"Replace with `{module}.{removed.target}`",
                                  Safety.SAFE)
        if kind == table.NEGATED:
            text = f"-{module}.{removed.target}"
            if not node.lpar and self._binds_tighter_than_minus(node):
                text = f"({text})"
            return self._fixed_by([(node, text)], f"Replace with `-{module}.{removed.target}`", Safety.SAFE)
        call = self.semantic.parent(node)
        if not isinstance(call, cst.Call) or call.func is not node:
            return _no_fix
        return self._call_fix(call, node, module, removed)

    def _call_fix(self, call: cst.Call, node: cst.Attribute, module: str,
                  removed: table.Removed) -> Callable[[], Optional[Fix]]:
        context = self.context
        args = call.args
        one_positional = len(args) == 1 and not args[0].star and args[0].keyword is None
        kind = removed.fix
        if kind in (table.SORT_AXIS0, table.ASARRAY_FLOAT) and one_positional:
            rename = context.edit(context.start_of(node.attr), context.end_of(node.attr), removed.target)
            end = context.end_with_parentheses(args[0].value)

            def fix() -> Optional[Fix]:
                if kind == table.SORT_AXIS0:
                    extra, title = ", axis=0", f"Use `{module}.sort(a, axis=0)`"
                else:  # `float` may be rebound in this file; float64 is what asfarray used
                    dtype = f"{module}.float64" if "float" in self._bound else "float"
                    extra, title = f", dtype={dtype}", f"Use `{module}.asarray(a, dtype={dtype})`"
                return None if rename is None else Fix(title, (rename, Edit(end, end, extra)), Safety.SAFE)
            return fix
        if kind == table.ISIN_RAVEL:
            # positional arguments mean the same; `isin` renamed the first two keywords
            if any(arg.star == "**" or (arg.keyword is not None and arg.keyword.value in ("ar1", "ar2"))
                   for arg in args):
                return _no_fix
            end = context.end_of(call)
            rename = context.edit(context.start_of(node.attr), context.end_of(node.attr), removed.target)
            fix = None if rename is None else \
                Fix(f"Use `{module}.isin(...).ravel()`", (rename, Edit(end, end, ".ravel()")), Safety.SAFE)
            return lambda: fix
        if kind == table.ITEM and one_positional:
            value = args[0].value
            text = context.code(value).strip()
            if not value.lpar and not isinstance(value, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)):
                text = f"({text})"
            return self._fixed_by([(call, f"{text}.item()")], "Use `.item()`", Safety.SAFE)
        return _no_fix

    def _binds_tighter_than_minus(self, node: cst.CSTNode) -> bool:
        """Would `-x` in place of `node` be split by the surrounding syntax (`-x ** 2`, `-x.real`)?"""
        parent = self.semantic.parent(node)
        if isinstance(parent, (cst.UnaryOperation, cst.Await)):
            return True
        if isinstance(parent, cst.BinaryOperation):
            return isinstance(parent.operator, cst.Power) and parent.left is node
        if isinstance(parent, (cst.Attribute, cst.Subscript)):
            return parent.value is node
        if isinstance(parent, cst.Call):
            return parent.func is node
        return False

    # -- where we are ---------------------------------------------------------------------------
    def _numpy_spelling(self, value: cst.BaseExpression) -> Optional[str]:
        """How this file spells the numpy module here (`np`, `numpy`, `xp`), or None if `value` is not it."""
        if self.semantic.imports.qualified(value) != "numpy":
            return None
        spelled = dotted_name(value)
        if spelled is None or self._rebound_by_parameter(spelled.split(".")[0]):
            return None
        return spelled

    def _rebound_by_parameter(self, head: str) -> bool:
        for ancestor in reversed(self.semantic.ancestors):
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
                params = ancestor.params
                for param in (*params.posonly_params, *params.params, *params.kwonly_params,
                              params.star_arg, params.star_kwarg):
                    if isinstance(param, cst.Param) and param.name.value == head:
                        # `def f(x, np=np)` keeps the module
                        return not (isinstance(param.default, cst.Name) and param.default.value == head)
        return False

    def _in_import_statement(self) -> bool:
        for ancestor in reversed(self.semantic.ancestors):
            if isinstance(ancestor, (cst.Import, cst.ImportFrom)):
                return True
            if isinstance(ancestor, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
                return False
        return False

    def _is_target(self, node: cst.CSTNode) -> bool:
        """Is `node` assigned or deleted (`np.float = float`, `del np.NaN`) rather than read?"""
        return isinstance(self.semantic.store_of(node), (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.Del))

    def _in_compat_code(self, name: str) -> bool:
        """Is the current node in code that only runs when the name exists, or handles its absence?"""
        path = self.semantic.ancestors
        crossed_function = False
        for index in range(len(path) - 1, 0, -1):
            child, parent = path[index], path[index - 1]
            if isinstance(parent, (cst.If, cst.IfExp)):
                if child is not parent.test and self._guards(parent.test, name, child is parent.body):
                    return True
            elif isinstance(parent, cst.BooleanOperation):
                if child is parent.right and self._guards(parent.left, name, isinstance(parent.operator, cst.And)):
                    return True
            elif isinstance(parent, (cst.Try, cst.TryStar)):
                if child is parent.body and not crossed_function and \
                        any(_catches_missing_name(h.type, broad=True) for h in parent.handlers):
                    return True
            elif isinstance(parent, (cst.ExceptHandler, cst.ExceptStarHandler)):
                # the fallback of `try: <new name> except AttributeError: <old name>`
                if child is parent.body and _catches_missing_name(parent.type, broad=False):
                    return True
            elif isinstance(parent, cst.With):
                if child is parent.body and not crossed_function and \
                        any(self._suppresses(item.item) for item in parent.items):
                    return True
            elif isinstance(parent, (cst.FunctionDef, cst.Lambda)):
                crossed_function = True  # a guard around a definition does not guard the call
            if isinstance(parent, (cst.IndentedBlock, cst.Module)) and self._after_exit_guard(parent.body, child, name):
                return True
        return False

    def _after_exit_guard(self, statements, current: cst.CSTNode, name: str) -> bool:
        """`if hasattr(np, "trapezoid"): return np.trapezoid(y)` before the current statement."""
        for stmt in statements:
            if stmt is current:
                return False
            if isinstance(stmt, cst.If) and stmt.orelse is None and _always_exits(stmt.body) \
                    and self._guards(stmt.test, name, False):
                return True
        return False

    def _suppresses(self, expression: cst.BaseExpression) -> bool:
        """`contextlib.suppress(AttributeError)`"""
        if not isinstance(expression, cst.Call):
            return False
        func = dotted_name(expression.func) or ""
        return func.rsplit(".", 1)[-1] == "suppress" and \
            any(_catches_missing_name(arg.value, broad=False) for arg in expression.args)

    def _guards(self, test: cst.BaseExpression, name: str, truth: bool) -> bool:
        """Does `test` having value `truth` mean `np.<name>` exists, or is `test` about the NumPy version?"""
        return self._implies_present(test, name, truth) or \
            any(self._version_evidence(node, name) for node in _descendants(test))

    def _implies_present(self, test: cst.BaseExpression, name: str, truth: bool) -> bool:
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            return self._implies_present(test.expression, name, not truth)
        if isinstance(test, cst.BooleanOperation):
            if isinstance(test.operator, cst.And) and truth:
                return any(self._implies_present(side, name, True) for side in (test.left, test.right))
            if isinstance(test.operator, cst.Or) and not truth:
                return any(self._implies_present(side, name, False) for side in (test.left, test.right))
            return False
        return truth and self._hasattr_numpy(test) == name

    def _hasattr_numpy(self, node: cst.CSTNode) -> Optional[str]:
        """"X" for `hasattr(np, "X")`."""
        if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "hasattr"
                and len(node.args) >= 2):
            return None
        if self.semantic.imports.qualified(node.args[0].value) not in ("numpy", "numpy.lib"):
            return None
        return _string_value(node.args[1].value)

    def _version_evidence(self, node: cst.CSTNode, name: Optional[str]) -> bool:
        """Is this part of a test about the NumPy version (`np.__version__`, `NumpyVersion`, a flag)?"""
        if isinstance(node, cst.Name) and self._is_version_flag(node.value):
            return True
        if isinstance(node, (cst.Name, cst.Attribute)):
            return self.semantic.imports.qualified(node) in table.VERSION_ATTRIBUTES
        if isinstance(node, cst.Call):
            probed = self._hasattr_numpy(node)
            if probed is not None:
                return probed != name  # `hasattr(np, "trapezoid")` tells the version
            func = dotted_name(node.func) or ""
            return func.rsplit(".", 1)[-1] in ("version", "get_distribution") and \
                any(_string_value(arg.value) == "numpy" for arg in node.args)
        return False

    def _is_version_flag(self, name: str) -> bool:
        """`NP2 = np.__version__ >= "2"`, `OLD = not NP2`: a name assigned (so far) from a version test."""
        known = self._version_flags.get(name)
        if known is None and name in self._assigned:
            self._version_flags[name] = False  # cycles (`a = b`, `b = a`) are no evidence
            known = any(self._version_evidence(node, None) for value in self._assigned.get(name, ())
                        for node in _descendants(value))
            self._version_flags[name] = known
        return bool(known)


def _no_fix() -> Optional[Fix]:
    return None


def _fix_allowed(removed: table.Removed, settings) -> bool:
    needs = removed.fix_needs
    if needs is None:
        return True
    return settings.numpy_min is not None and tuple(settings.numpy_min) >= needs


def _removed_message(shown: str, removed: table.Removed, module: str) -> str:
    advice = removed.advice.format(np=module)
    if removed.deprecated_in:
        return (f"`{shown}` was deprecated in NumPy {removed.deprecated_in} and removed in NumPy "
                f"{removed.removed_in}: {advice}")
    return f"`{shown}` was removed in the NumPy {removed.removed_in} release: {advice}"


def _removed_module(module: str) -> Optional[Tuple[str, str]]:
    for name, advice in table.REMOVED_MODULES.items():
        if module == name or module.startswith(name + "."):
            return name, advice
    return None


def _module_message(removed_module: Tuple[str, str]) -> str:
    name, advice = removed_module
    return f"`{name}` was removed in the NumPy 2.0 release: {advice}"


def _source(settings) -> str:
    return f" ({settings.numpy_source})" if getattr(settings, "numpy_source", "") else ""


class NumpyNamesFamily(NumpyNamesChecker):
    rules = RULES
