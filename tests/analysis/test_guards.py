"""analysis/guards.py: which places are compatibility code for a NumPy name, asked directly."""
from __future__ import annotations

from typing import List, Optional

import libcst as cst
import pytest

from tensorlint.analysis.guards import NumpyNameGuards, always_exits, catches_missing_name, string_value
from tensorlint.analysis.imports import ImportMap


def _path_to(module: cst.Module, wanted: str) -> List[cst.CSTNode]:
    """The ancestors (module first) of the first `np.<wanted>` attribute, itself last."""
    stack: List[cst.CSTNode] = []
    found: List[List[cst.CSTNode]] = []

    class Finder(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            stack.append(node)
            if not found and isinstance(node, cst.Attribute) and node.attr.value == wanted:
                found.append(list(stack))
            return not found

        def on_leave(self, original_node: cst.CSTNode) -> None:
            stack.pop()

    module.visit(Finder())
    assert found, f"no .{wanted} in the source"
    return found[0]


def _guarded(source: str, name: str, flags: Optional[dict] = None) -> bool:
    module = cst.parse_module(source)
    imports = ImportMap()
    imports.record_all(module.body)
    guards = NumpyNameGuards(imports)
    for statement in module.body:  # the assignments before the use, as the walk would have met them
        if isinstance(statement, cst.SimpleStatementLine) and isinstance(statement.body[0], cst.Assign):
            assign = statement.body[0]
            for target in assign.targets:
                if isinstance(target.target, cst.Name):
                    guards.record_assignment(target.target.value, assign.value)
    return guards.in_compat_code(_path_to(module, name), name)


H = "import numpy as np\n"


@pytest.mark.parametrize("source", [
    pytest.param(H + "if hasattr(np, 'trapz'):\n    y = np.trapz(x)\n", id="hasattr test selects the branch"),
    pytest.param(H + "y = np.trapz(x) if hasattr(np, 'trapz') else 0\n", id="conditional expression"),
    pytest.param(H + "y = hasattr(np, 'trapz') and np.trapz(x)\n", id="and"),
    pytest.param(H + "if not hasattr(np, 'trapz'):\n    pass\nelse:\n    y = np.trapz(x)\n", id="else of a negated test"),
    pytest.param(H + "if np.__version__ >= '2':\n    pass\nelse:\n    y = np.trapz(x)\n", id="version test"),
    pytest.param(H + "NP2 = np.__version__ >= '2'\nOLD = not NP2\nif OLD:\n    y = np.trapz(x)\n",
                 id="a flag assigned from a flag assigned from a version test"),
    pytest.param(H + "if hasattr(np, 'trapezoid'):\n    pass\nelse:\n    y = np.trapz(x)\n",
                 id="hasattr of another name tells the version"),
    pytest.param(H + "try:\n    y = np.trapz(x)\nexcept AttributeError:\n    y = 0\n", id="try body"),
    pytest.param(H + "try:\n    y = np.trapz(x)\nexcept Exception:\n    y = 0\n", id="broad except around the body"),
    pytest.param(H + "try:\n    y = np.trapezoid(x)\nexcept AttributeError:\n    y = np.trapz(x)\n", id="fallback"),
    pytest.param(H + "import contextlib\nwith contextlib.suppress(AttributeError):\n    y = np.trapz(x)\n", id="suppress"),
    pytest.param(H + "def f(x):\n    if not hasattr(np, 'trapz'):\n        return 0\n    return np.trapz(x)\n",
                 id="after an exit guard"),
])
def test_guarded(source):
    assert _guarded(source, "trapz")


@pytest.mark.parametrize("source", [
    pytest.param(H + "y = np.trapz(x)\n", id="plain use"),
    pytest.param(H + "if hasattr(np, 'trapz'):\n    pass\nelse:\n    y = np.trapz(x)\n", id="the branch where it is missing"),
    pytest.param(H + "try:\n    def f(x):\n        return np.trapz(x)\nexcept AttributeError:\n    pass\n",
                 id="a try around a definition does not guard its calls"),
    pytest.param(H + "try:\n    pass\nexcept Exception:\n    y = np.trapz(x)\n", id="a broad handler is no fallback"),
    pytest.param(H + "try:\n    y = np.trapz(x)\nexcept ValueError:\n    pass\n", id="another error"),
    pytest.param(H + "A = 1\nif A:\n    y = np.trapz(x)\n", id="a flag that is no version test"),
])
def test_not_guarded(source):
    assert not _guarded(source, "trapz")


def test_hasattr_numpy_reads_the_probed_name():
    imports = ImportMap()
    imports.record_all(cst.parse_module(H).body)
    guards = NumpyNameGuards(imports)
    assert guards.hasattr_numpy(cst.parse_expression("hasattr(np, 'float')")) == "float"
    assert guards.hasattr_numpy(cst.parse_expression("hasattr(os, 'float')")) is None


@pytest.mark.parametrize("handler, broad, expected", [
    (None, True, True), (None, False, False), ("AttributeError", False, True), ("builtins.ImportError", False, True),
    ("(ValueError, ModuleNotFoundError)", False, True), ("Exception", False, False), ("Exception", True, True),
    ("ValueError", True, False),
])
def test_catches_missing_name(handler, broad, expected):
    expression = None if handler is None else cst.parse_expression(handler)
    assert catches_missing_name(expression, broad) is expected


@pytest.mark.parametrize("block, expected", [
    ("if x: return\n", True), ("if x:\n    y = 1\n    raise E\n", True), ("if x:\n    y = 1\n", False),
    ("for a in b:\n    if x: continue\n", None),
])
def test_always_exits(block, expected):
    statement = cst.parse_statement(block)
    if expected is None:
        statement = statement.body.body[0]
        expected = True
    assert always_exits(statement.body) is expected


def test_string_value():
    assert string_value(cst.parse_expression("'X'")) == "X"
    assert string_value(cst.parse_expression("b'X'")) is None
    assert string_value(cst.parse_expression("name")) is None
