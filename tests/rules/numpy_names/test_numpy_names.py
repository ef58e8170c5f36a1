"""TL301/TL302 beyond their inline cases: the project's NumPy range, the tables checked against the
installed NumPy, the `import builtins` fix, and compatibility code."""
import sys
import warnings

import libcst as cst
import pytest

from tensorlint import check_source, fix_source
from tensorlint.rules.numpy_names import table
from tensorlint.core.settings import Settings

np = pytest.importorskip("numpy")

NUMPY1 = Settings()                          # the default: NumPy 1.x may be in use
NUMPY2 = Settings(numpy_min=(2,), numpy_source="pyproject.toml: numpy>=2")
NUMPY125 = Settings(numpy_min=(1, 25))
H = "import numpy as np\n"


def codes(source, settings=NUMPY1):
    return [(d.line, d.code) for d in check_source(source, select=["TL3"], settings=settings)]


def fixed(source, settings=NUMPY1, unsafe=True):
    return fix_source(source, select=["TL3"], unsafe_fixes=unsafe, settings=settings).source


def installed_has(name):
    """Does the installed NumPy's main namespace have `name`? (dotted: `exceptions.AxisError`)"""
    value = np
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for part in name.split("."):
            try:
                value = getattr(value, part)
            except AttributeError:
                return False
    return True


# -- (1) the same source under two NumPy ranges ------------------------------------------------------
@pytest.mark.parametrize("source", [
    pytest.param(H + "m = np.zeros(3, dtype=np.bool)\n", id="np.bool"),
    pytest.param(H + "n = np.long(3)\n", id="np.long"),
    pytest.param("from numpy import bool\n", id="from numpy import bool"),
    pytest.param("from numpy import long as L\n", id="from numpy import long"),
])
def test_bool_and_long_only_while_numpy1_is_supported(source):
    assert [code for _, code in codes(source, NUMPY1)] == ["TL301"]
    assert codes(source, NUMPY2) == []
    assert codes(source, Settings(numpy_min=(1, 26))) != []


def test_other_aliases_are_flagged_on_numpy2_too():
    source = H + "x = np.float\ny = np.int\nz = np.object\n"
    assert codes(source, NUMPY2) == codes(source, NUMPY1) == [(2, "TL301"), (3, "TL301"), (4, "TL301")]


def test_numpy_source_is_named_in_the_message():
    settings = Settings(numpy_min=(1, 21), numpy_source="setup.cfg: numpy>=1.21")
    [diagnostic] = check_source(H + "m = np.bool\n", select=["TL301"], settings=settings)
    assert "(setup.cfg: numpy>=1.21)" in diagnostic.message
    assert "use `np.bool_`" in diagnostic.message


@pytest.mark.parametrize("source, numpy1, numpy2", [
    pytest.param(H + "a = np.trapz(y, x)\n", H + "a = np.trapz(y, x)\n", H + "a = np.trapezoid(y, x)\n", id="trapz"),
    pytest.param("from numpy import trapz\n", "from numpy import trapz\n", "from numpy import trapezoid as trapz\n",
                 id="from numpy import trapz"),
    pytest.param(H + "lo, hi = np.byte_bounds(a)\n", H + "lo, hi = np.byte_bounds(a)\n",
                 H + "lo, hi = np.lib.array_utils.byte_bounds(a)\n", id="byte_bounds"),
    pytest.param(H + "w = np.RankWarning\n", H + "w = np.RankWarning\n", H + "w = np.exceptions.RankWarning\n",
                 id="RankWarning"),
])
def test_fixes_that_need_numpy2(source, numpy1, numpy2):
    assert [code for _, code in codes(source, NUMPY1)] == ["TL302"]
    assert fixed(source, NUMPY1) == numpy1
    assert fixed(source, Settings(numpy_min=(1, 26))) == numpy1
    assert fixed(source, NUMPY2) == numpy2
    assert fixed(source, NUMPY2, unsafe=False) == numpy2, "the gated fixes are safe"


def test_exceptions_need_numpy_1_25():
    source = H + "try:\n    pass\nexcept np.AxisError:\n    pass\n"
    assert fixed(source, NUMPY1) == source
    assert fixed(source, Settings(numpy_min=(1, 24))) == source
    assert fixed(source, NUMPY125) == source.replace("np.AxisError", "np.exceptions.AxisError")


def test_trapz_message_names_both_replacements():
    [diagnostic] = check_source(H + "a = np.trapz(y)\n", select=["TL302"])
    assert diagnostic.message == ("`np.trapz` was deprecated in NumPy 2.0 and removed in NumPy 2.4: "
                                  "use `np.trapezoid` (NumPy >= 2.0) or `scipy.integrate.trapezoid`")


# -- (2) every replacement exists in the installed NumPy and means the same ---------------------------
def _fixed_expression(source, settings=NUMPY2):
    """The value of `x` after fixing `import numpy as np\\nx = <expr>\\n`."""
    result = fixed(source, settings)
    assert result != source, f"no fix for:\n{source}"
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a replacement must not be deprecated either
        exec(compile(result, "<fixed>", "exec"), namespace)
    return result, namespace["x"]


ALIAS_USES = {name: H + f"x = np.{name}\n" for name in table.BUILTIN_ALIASES}


@pytest.mark.parametrize("name", sorted(table.BUILTIN_ALIASES))
def test_alias_fix_is_the_builtin(name):
    import builtins
    rule = table.BUILTIN_ALIASES[name]
    result, value = _fixed_expression(ALIAS_USES[name], NUMPY1)
    old_meaning = getattr(builtins, rule.builtin)
    assert np.dtype(value) == np.dtype(old_meaning)
    if rule.numpy_target:
        assert value is getattr(np, rule.numpy_target)
        assert f"np.{rule.numpy_target}" in result
    else:
        assert value is old_meaning


@pytest.mark.parametrize("name", [n for n, rule in sorted(table.BUILTIN_ALIASES.items()) if rule.back_in_numpy2])
def test_alias_fix_means_what_numpy2_means(name):
    """`np.bool` and `np.long` exist again in NumPy 2: the fix must name the same dtype."""
    if name == "long" and sys.platform == "win32":
        pytest.skip("np.long is 32-bit C long on Windows: why that fix is unsafe")
    _, value = _fixed_expression(ALIAS_USES[name], NUMPY1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        original = getattr(np, name)
    assert np.dtype(value) == np.dtype(original)
    if name == "bool":
        assert value is original  # np.bool is np.bool_ on NumPy 2


def _use(name, removed):
    """The simplest use of a removed name that its fix rewrites."""
    if removed.fix == table.ITEM:
        return H + f"a = np.array([7])\nx = np.{name}(a)\n"
    if removed.fix in (table.SORT_AXIS0, table.ASARRAY_FLOAT):
        return H + f"a = np.array([[3, 1], [2, 4]], dtype=np.int64)\nx = np.{name}(a)\n"
    if removed.fix == table.ISIN_RAVEL:
        return H + f"a = np.array([[3, 1], [2, 4]])\nx = np.{name}(a, [1, 2])\n"
    return H + f"x = np.{name}\n"


FIXABLE = sorted(name for name, removed in table.REMOVED_NAMES.items() if removed.fix is not None)


@pytest.mark.parametrize("name", FIXABLE)
def test_removed_name_fix_runs_on_installed_numpy(name):
    removed = table.REMOVED_NAMES[name]
    assert installed_has(removed.target or "ndarray.item"), f"np.{removed.target} is not in NumPy {np.__version__}"
    result, value = _fixed_expression(_use(name, removed))
    assert f"np.{name}" not in result
    assert check_source(result, select=["TL3"], settings=NUMPY2) == []


# What each fixed use must evaluate to: the old name's documented value or result.
EXPECTED_VALUES = {
    "float_": np.float64, "complex_": np.complex128, "cfloat": np.complex128, "singlecomplex": np.complex64,
    "longfloat": np.longdouble, "longcomplex": np.clongdouble, "clongfloat": np.clongdouble,
    "string_": np.bytes_, "unicode_": np.str_, "bool8": np.bool_, "int0": np.intp, "uint0": np.uintp,
    "object0": np.object_, "str0": np.str_, "bytes0": np.bytes_, "void0": np.void,
    "round_": np.round, "alltrue": np.all, "sometrue": np.any, "product": np.prod, "cumproduct": np.cumprod,
    "mat": np.asmatrix, "trapz": np.trapezoid,
}


@pytest.mark.parametrize("name", sorted(EXPECTED_VALUES))
def test_renamed_value_is_the_documented_replacement(name):
    _, value = _fixed_expression(_use(name, table.REMOVED_NAMES[name]))
    assert value is EXPECTED_VALUES[name]


@pytest.mark.parametrize("name, expected", [("NaN", "nan"), ("NAN", "nan"), ("Inf", "inf"), ("Infinity", "inf"),
                                            ("PINF", "inf"), ("infty", "inf"), ("NINF", "-inf")])
def test_constants_keep_their_value(name, expected):
    _, value = _fixed_expression(_use(name, table.REMOVED_NAMES[name]))
    assert repr(float(value)) == expected


def test_call_fixes_compute_the_old_result():
    a = np.array([[3, 1], [2, 4]], dtype=np.int64)
    _, value = _fixed_expression(_use("msort", table.REMOVED_NAMES["msort"]))
    assert np.array_equal(value, np.array([[2, 1], [3, 4]]))  # sorted along the first axis, as msort did
    _, value = _fixed_expression(_use("asfarray", table.REMOVED_NAMES["asfarray"]))
    assert value.dtype == np.float64 and np.array_equal(value, a)
    _, value = _fixed_expression(_use("in1d", table.REMOVED_NAMES["in1d"]))
    assert value.shape == (4,) and value.tolist() == [False, True, True, False]  # in1d's flat result
    source = H + "a = np.array([7])\nx = np.asscalar(a)\n"
    result, value = _fixed_expression(source)
    assert value == 7 and type(value) is int and "a.item()" in result


def test_asfarray_of_float32_gives_float64_as_before():
    # NumPy 1.x: `asfarray(a, dtype=float_)` -> `asarray(a, dtype=float64)` whatever `a`'s dtype
    source = H + "a = np.ones(2, dtype=np.float32)\nx = np.asfarray(a)\n"
    _, value = _fixed_expression(source)
    assert value.dtype == np.float64


def test_ninf_is_parenthesized_where_needed():
    source = H + "x = [np.NINF ** 2, -np.NINF, np.NINF.real, 1 - np.NINF, (np.NINF), abs(np.NINF)]\n"
    result, value = _fixed_expression(source)
    assert result == H + "x = [(-np.inf) ** 2, -(-np.inf), (-np.inf).real, 1 - -np.inf, (-np.inf), abs(-np.inf)]\n"
    inf = float("inf")
    assert value == [inf, inf, -inf, inf, -inf, inf]


def test_every_fix_kind_is_known():
    kinds = {table.RENAME, table.NEGATED, table.SORT_AXIS0, table.ASARRAY_FLOAT, table.ISIN_RAVEL, table.ITEM, None}
    for name, removed in table.REMOVED_NAMES.items():
        assert removed.fix in kinds, name
        assert removed.advice, name
        # every kind but ITEM (`a.item()`) writes a NumPy attribute
        assert bool(removed.target) == (removed.fix not in (None, table.ITEM)), name


# -- (3) the tables agree with the installed NumPy ------------------------------------------------------
@pytest.mark.parametrize("name", sorted(table.REMOVED_NAMES))
def test_removed_name_is_absent_from_installed_numpy(name):
    assert not installed_has(name), f"np.{name} exists in NumPy {np.__version__}: it must not be flagged"
    assert name not in dir(np)


@pytest.mark.parametrize("module", sorted(table.REMOVED_MODULES))
def test_removed_module_cannot_be_imported(module):
    with pytest.raises(ImportError):
        __import__(module)


@pytest.mark.parametrize("name", sorted(table.BUILTIN_ALIASES))
def test_builtin_alias_presence_matches_the_table(name):
    assert installed_has(name) == table.BUILTIN_ALIASES[name].back_in_numpy2


def test_deprecated_but_present_names_are_not_flagged():
    # still in NumPy 2.4 (with a DeprecationWarning): flagging them would be wrong
    for name in ("row_stack", "chararray"):
        assert installed_has(name)
        assert name not in table.REMOVED_NAMES
        assert codes(H + f"x = np.{name}\n") == []


def test_sized_types_are_never_flagged():
    sized = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "complex64",
             "complex128", "bool_", "str_", "bytes_", "object_", "int_", "intp", "longdouble"]
    source = H + "".join(f"x{i} = np.{name}\n" for i, name in enumerate(sized))
    assert codes(source, NUMPY1) == codes(source, NUMPY2) == []


# -- (4) the fix that needs `import builtins` ---------------------------------------------------------------
SHADOWED = (
    '#!/usr/bin/env python\n'
    '# -*- coding: utf-8 -*-\n'
    '"""Module doc."""\n'
    'from __future__ import annotations\n'
    '\n'
    '# the imports\n'
    'import numpy as np\n'
    '\n'
    'float = 0.5\n'
    '\n'
    '\n'
    'def cast(values, str=None):\n'
    '    a = np.asarray(values, dtype=np.float)\n'
    '    b = np.asarray(values, dtype=np.str)\n'
    '    return a, b, np.float(1), np.int(2)\n'
)
SHADOWED_FIXED = (
    '#!/usr/bin/env python\n'
    '# -*- coding: utf-8 -*-\n'
    '"""Module doc."""\n'
    'from __future__ import annotations\n'
    '\n'
    '# the imports\n'
    'import builtins\n'
    'import numpy as np\n'
    '\n'
    'float = 0.5\n'
    '\n'
    '\n'
    'def cast(values, str=None):\n'
    '    a = np.asarray(values, dtype=builtins.float)\n'
    '    b = np.asarray(values, dtype=builtins.str)\n'
    '    return a, b, builtins.float(1), int(2)\n'
)


def test_shadowed_builtins_get_one_import():
    result = fixed(SHADOWED)
    assert result == SHADOWED_FIXED
    assert result.count("import builtins") == 1
    cst.parse_module(result)
    assert fixed(result) == result
    assert codes(result) == []


def test_every_fix_carries_the_import_until_it_exists():
    """Whichever fix is applied first (noqa, --select, safe only) brings the import with it."""
    diagnostics = [d for d in check_source(SHADOWED, select=["TL301"]) if "builtins." in d.fix.title]
    assert len(diagnostics) == 3
    imports = [e for d in diagnostics for e in d.fix.edits if "import builtins" in e.text]
    assert len(imports) == 3 and len(set(imports)) == 1
    # one fix alone is valid code
    only_last = SHADOWED.replace("np.float(1)", "np.float(1)  # noqa: TL301").replace(
        "dtype=np.float)", "dtype=np.float)  # noqa: TL301")
    result = fixed(only_last)
    assert result.count("import builtins\n") == 1 and "dtype=builtins.str" in result
    cst.parse_module(result)


def test_an_existing_import_builtins_is_reused():
    source = "import builtins\nimport numpy as np\nfloat = 1\nx = np.float\n"
    assert fixed(source) == "import builtins\nimport numpy as np\nfloat = 1\nx = builtins.float\n"


def test_an_import_builtins_after_code_does_not_count():
    source = "import numpy as np\nfloat = 1\nx = np.float\nimport builtins\n"
    assert fixed(source) == "import builtins\nimport numpy as np\nfloat = 1\nx = builtins.float\nimport builtins\n"


def test_a_rebound_builtins_name_gets_no_fix():
    source = "import numpy as np\nbuiltins = {}\nfloat = 1\nx = np.float\n"
    assert [c for _, c in codes(source)] == ["TL301"]
    assert fixed(source) == source


@pytest.mark.parametrize("source, expected", [
    pytest.param("import numpy as np\n\n\n@decorate\ndef float():\n    return np.float\n",
                 "import builtins\nimport numpy as np\n\n\n@decorate\ndef float():\n    return builtins.float\n",
                 id="the name is a function"),
    pytest.param("@decorate\ndef f(np, float):\n    pass\nimport numpy as np\nx = np.float\n",
                 "import builtins\n@decorate\ndef f(np, float):\n    pass\nimport numpy as np\nx = builtins.float\n",
                 id="before a decorated first statement"),
    pytest.param("import numpy as np\r\nfor float in range(3):\r\n    x = np.float\r\n",
                 "import builtins\r\nimport numpy as np\r\nfor float in range(3):\r\n    x = builtins.float\r\n",
                 id="CRLF, a loop variable"),
    pytest.param("import numpy as np\nfrom numpy import float\nx = np.float\n",
                 "import builtins\nimport numpy as np\nfrom builtins import float\nx = builtins.float\n",
                 id="the flagged import itself shadows"),
    pytest.param("from __future__ import annotations; import numpy as np\nfloat = 1\nx = np.float\n",
                 "from __future__ import annotations; import numpy as np\nimport builtins\nfloat = 1\n"
                 "x = builtins.float\n", id="after a __future__ line holding more"),
    pytest.param("import numpy as np\nwith open(p) as str:\n    x = np.str\n",
                 "import builtins\nimport numpy as np\nwith open(p) as str:\n    x = builtins.str\n",
                 id="a with target"),
])
def test_shadowing_forms(source, expected):
    assert fixed(source) == expected
    assert fixed(expected) == expected


def test_not_shadowed_by_a_builtins_import():
    source = "from builtins import float\nimport numpy as np\nx = np.float\n"
    assert fixed(source) == "from builtins import float\nimport numpy as np\nx = float\n"


# -- (5) compatibility code is left alone ------------------------------------------------------------------
COMPAT = [
    pytest.param(H + "try:\n    x = np.float_\nexcept (ImportError, AttributeError) as error:\n    x = np.float64\n",
                 id="tuple with as"),
    pytest.param(H + "try:\n    x = np.NaN\nexcept BaseException:\n    x = np.nan\n", id="BaseException"),
    pytest.param(H + "try:\n    x = np.float\nexcept builtins.AttributeError:\n    x = float\n", id="qualified handler"),
    pytest.param(H + "if hasattr(np, 'float_') and x:\n    y = np.float_\n", id="hasattr and more"),
    pytest.param(H + "if not hasattr(np, 'float_') or old:\n    y = np.float64\nelse:\n    y = np.float_\n",
                 id="negated hasattr or more, else branch"),
    pytest.param(H + "y = hasattr(np, 'NaN') and np.NaN\n", id="short-circuit and"),
    pytest.param(H + "y = not hasattr(np, 'NaN') or np.NaN\n", id="short-circuit or"),
    pytest.param(H + "if hasattr(np, 'float_'):\n    def f():\n        return np.float_\n", id="a def inside hasattr"),
    pytest.param(H + "if np.__version__ >= '2':\n    pass\nelif flag:\n    y = np.float_\n", id="elif of a version test"),
    pytest.param(H + "from numpy.lib import NumpyVersion\nif NumpyVersion(np.__version__) < '2.0.0':\n    y = np.NaN\n",
                 id="imported NumpyVersion"),
    pytest.param("import numpy\nif numpy.version.version < '1.24':\n    y = numpy.float\n", id="numpy.version.version"),
    pytest.param(H + "V = tuple(map(int, np.__version__.split('.')[:2]))\nNEW = V >= (1, 24)\n"
                 "def f():\n    return float if NEW else np.float\n", id="flags followed through assignments"),
    pytest.param(H + "import importlib.metadata\nif importlib.metadata.version('numpy') < '2':\n    y = np.Inf\n",
                 id="importlib.metadata.version"),
    pytest.param(H + "if not hasattr(np, 'NaN'):\n    np.NaN = np.nan\ny = np.NaN\n", id="shim after hasattr"),
    pytest.param(H + "setattr(np, 'float', float)\ny = np.float\n", id="setattr shim"),
    pytest.param(H + "del np.NaN\n", id="del is not a use"),
    pytest.param(H + "np.float, np.int = float, int\nx = np.float\n", id="tuple assignment shim"),
    pytest.param(H + "def f(x, np=np):\n    if hasattr(np, 'float_'):\n        return np.float_\n",
                 id="np=np parameter, guarded"),
    pytest.param(H + "for i in range(3):\n    if not hasattr(np, 'float_'):\n        continue\n    y = np.float_\n",
                 id="after an early continue"),
    pytest.param(H + "try:\n    from numpy import float_\nexcept ImportError:\n    float_ = None\n", id="import in try"),
    pytest.param(H + "try:\n    import numpy.compat\nexcept ImportError:\n    pass\n", id="compat import in try"),
]


@pytest.mark.parametrize("source", COMPAT)
def test_compatibility_code_is_silent(source):
    assert codes(source, NUMPY1) == []


@pytest.mark.parametrize("source", [
    pytest.param(H + "if hasattr(np, 'float_'):\n    pass\ny = np.float_\n", id="after an if that does not exit"),
    pytest.param(H + "if hasattr(np, 'float_'):\n    return_value = 1\nelse:\n    y = np.float_\n", id="else of hasattr"),
    pytest.param(H + "try:\n    y = np.float_\nexcept ValueError:\n    pass\n", id="a handler that does not catch it"),
    pytest.param(H + "try:\n    pass\nexcept Exception:\n    y = np.float_\n", id="a broad handler is no fallback"),
    pytest.param(H + "if hasattr(np, 'float_') or x:\n    y = np.float_\n", id="hasattr or more"),
    pytest.param(H + "with suppress(ValueError):\n    y = np.float_\n", id="suppress of another error"),
    pytest.param(H + "if hasattr(other, 'float_'):\n    y = np.float_\n", id="hasattr of another object"),
])
def test_not_compatibility_code(source):
    assert [c for _, c in codes(source, NUMPY1)] == ["TL302"]


# -- what NumPy is -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("source, expected", [
    pytest.param("import numpy\nx = numpy.NaN\n", [(2, "TL302")], id="import numpy"),
    pytest.param("import numpy as anything\nx = anything.NaN\n", [(2, "TL302")], id="any alias"),
    pytest.param("import numpy.linalg\nx = numpy.NaN\n", [(2, "TL302")], id="import of a submodule"),
    pytest.param("def f():\n    import numpy as np\n    return np.NaN\n", [(3, "TL302")], id="import in a function"),
    pytest.param("import numpy.random as npr\nx = npr.NaN\n", [], id="a submodule's attribute"),
    pytest.param("x = np.NaN\n# numpy\n", [], id="np never imported"),
    pytest.param("import numpy as np\nx = np.lib.NaN\n", [], id="not the main namespace"),
    pytest.param("import numpy as np\nimport pandas as pd\nx = pd.NaN\ny = df.float\n", [], id="pandas"),
    pytest.param("from numpy import *\nx = NaN\n", [], id="star import is not followed"),
    pytest.param("from . import numpy\nx = numpy.NaN\n", [], id="relative import"),
])
def test_what_is_numpy(source, expected):
    assert codes(source) == expected


def test_message_says_removed_in_numpy2_and_names_the_replacement():
    [diagnostic] = check_source("import numpy as xp\nx = xp.float_\n", select=["TL302"])
    assert diagnostic.message == "`xp.float_` was removed in the NumPy 2.0 release: use `xp.float64`"
    assert diagnostic.fix.title == "Replace with `xp.float64`"


def test_selecting_one_code():
    source = H + "x = np.float\ny = np.NaN\n"
    assert codes(source) == [(2, "TL301"), (3, "TL302")]
    assert [(d.line, d.code) for d in check_source(source, select=["TL302"])] == [(3, "TL302")]
    assert [(d.line, d.code) for d in check_source(source, select=["TL301"])] == [(2, "TL301")]


def test_facts_correction_row_stack_is_deprecated_not_removed():
    """FACTS.md §4 lists `row_stack` among the NumPy 2.0 removals; NumPy 2.x still has it (deprecated)."""
    numpy = pytest.importorskip("numpy")
    if int(numpy.__version__.split(".")[0]) < 2:
        pytest.skip("a NumPy 2.x fact")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert hasattr(numpy, "row_stack")
    from tensorlint import check_source
    assert not [d for d in check_source("import numpy as np\nnp.row_stack([[1], [2]])\n") if d.code == "TL302"]


@pytest.mark.parametrize("source, expected", [
    pytest.param("import numpy as np\nfloat = 1\nx = np.float(2)\ny = np.int(3)\nint = 2\n",
                 "import builtins\nimport numpy as np\nfloat = 1\nx = builtins.float(2)\ny = builtins.int(3)\nint = 2\n",
                 id="two fixes share one import edit, applied once"),
    pytest.param("\x0cimport numpy as np\nfloat = 1\nx = np.float(2)\n",
                 "import builtins\n\x0cimport numpy as np\nfloat = 1\nx = builtins.float(2)\n",
                 id="before a form feed at the start of the file"),
    pytest.param('"""Doc."""\nfrom __future__ import annotations\n@dec\ndef f(float):\n    import numpy as np\n'
                 "    return np.float(2)\n",
                 '"""Doc."""\nfrom __future__ import annotations\nimport builtins\n@dec\ndef f(float):\n'
                 "    import numpy as np\n    return builtins.float(2)\n",
                 id="after the docstring and __future__ imports, before the decorator"),
])
def test_a_shadowed_builtin_is_imported_from_builtins(source, expected):
    assert fixed(source) == expected
