"""analysis/scope.py: the names a file binds, parameters that rebind a name, in-place changes of a name."""
from __future__ import annotations

from typing import List

import libcst as cst
import pytest

from tensorlint.analysis.scope import (enclosing_scope, is_in_place_method, mutates_in_place, names_bound_by,
                                       rebound_by_parameter, target_names)


def _bound(source: str) -> set:
    names: set = set()

    class Collector(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            names.update(names_bound_by(node))
            return True

    cst.parse_module(source).visit(Collector())
    return names


@pytest.mark.parametrize("source, expected", [
    pytest.param("a = b = 1\n", {"a", "b"}, id="assignment targets"),
    pytest.param("a, (b, *c) = x\n", {"a", "b", "c"}, id="unpacking"),
    pytest.param("x.a = 1\nx[0] = 2\n", set(), id="attributes and items bind no name"),
    pytest.param("a: int = 1\nb += 1\n", {"a", "b"}, id="annotated and augmented"),
    pytest.param("if (a := f()):\n    pass\n", {"a"}, id="walrus"),
    pytest.param("for a in b:\n    pass\n[c for d in e]\n", {"a", "d"}, id="loop and comprehension targets"),
    pytest.param("with f() as str:\n    pass\n", {"str"}, id="with as"),
    pytest.param("try:\n    pass\nexcept E as int:\n    pass\n", {"int"}, id="except as"),
    pytest.param("def f(a, *b, c=1, **d):\n    global g\n", {"f", "a", "b", "c", "d", "g"}, id="def, parameters, global"),
    pytest.param("class C:\n    pass\n", {"C"}, id="class"),
    pytest.param("match p:\n    case [x, *rest]:\n        pass\n", {"x", "rest"}, id="match captures"),
    pytest.param("import os.path\nimport builtins\nimport numpy as np\n", {"os", "np"}, id="imports"),
    pytest.param("from builtins import float\nfrom m import a, b as c\nfrom n import *\n", {"a", "c"}, id="from imports"),
])
def test_names_bound_by(source, expected):
    assert _bound(source) == expected


def test_target_names_in_order():
    target = cst.parse_statement("a, [b, *c], d.e = x\n").body[0].targets[0].target
    assert list(target_names(target)) == ["a", "b", "c"]


def _ancestors_of_name(source: str, wanted: str) -> List[cst.CSTNode]:
    stack: List[cst.CSTNode] = []
    found: List[List[cst.CSTNode]] = []

    class Finder(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            stack.append(node)
            if not found and isinstance(node, cst.Name) and node.value == wanted and len(stack) > 3:
                found.append(list(stack))
            return not found

        def on_leave(self, original_node: cst.CSTNode) -> None:
            stack.pop()

    cst.parse_module(source).visit(Finder())
    return found[0]


@pytest.mark.parametrize("source, expected", [
    ("def f(np):\n    return np.ones(1)\n", True),
    ("def f(x, np=np):\n    return np.ones(1)\n", False),
    ("def f(x):\n    return np.ones(1)\n", False),
    ("g = lambda np: np.ones(1)\n", True),
    ("def f(*, np):\n    return np.ones(1)\n", True),
])
def test_rebound_by_parameter(source, expected):
    path = _ancestors_of_name(source, "np")
    assert rebound_by_parameter(path, "np") is expected


def test_enclosing_scope():
    module = cst.parse_module("def f():\n    x = 1\n")
    function = module.body[0]
    assert enclosing_scope([module, function, function.body], module) is function
    assert enclosing_scope([module], module) is module
    assert enclosing_scope([], module) is module


@pytest.mark.parametrize("name, expected", [("add_", True), ("zero_", True), ("__iadd__", False), ("_", False),
                                            ("add", False)])
def test_is_in_place_method(name, expected):
    assert is_in_place_method(name) is expected


@pytest.mark.parametrize("body, expected", [
    ("w.add_(1)", True), ("w[0] = 1", True), ("w += 1", True), ("w[0] += 1", True),
    ("w = w + 1", False), ("v.add_(1)", False), ("w.add(1)", False), ("w.x = 1", False),
    ("def g():\n        w.zero_()", True),
])
def test_mutates_in_place(body, expected):
    scope = cst.parse_module(f"def f(w):\n    {body}\n").body[0]
    assert mutates_in_place(scope, "w") is expected
