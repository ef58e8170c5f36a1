"""TL3: NumPy names that no longer exist (builtin aliases gone in 1.24, main-namespace removals of 2.0)."""
from __future__ import annotations

from tensorlint.core.fix_check import FixCheck
from tensorlint.rules.base import Invalid, Rule, Valid

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
