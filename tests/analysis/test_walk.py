"""The fast walker makes libcst's own visiting calls, in libcst's order, minus whitespace and punctuation."""
from pathlib import Path

import libcst as cst
import pytest

from tensorlint.analysis import semantic
from tensorlint.analysis.walk import TRIVIA, walk
from tensorlint.rules import FAMILIES

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(p for folder in ("tensorlint", "fixtures", "examples", "tests/data") for p in (ROOT / folder).rglob("*.py"))
EDGE_CASES = [
    "async def f():\n    async with a as (b, c):\n        async for x in y:\n            await z\n",
    "match p:\n    case [1, *rest] if rest:\n        pass\n    case {'k': v, **kw}:\n        pass\n    case C(a=1) | D():\n        pass\n",
    "@d(1)\nclass C(B, metaclass=M):\n    x: int = 1\n    def f(self, /, a, *, b=2, **k) -> 'T':\n        return lambda q=1: q\n",
    "x = [a for b in c if d for e in f]\ny = {k: v for k, v in z}\nw = (i async for i in j)\n",
    "f'{a!r:>{width}} {b=}'\nt = a if b else c\ndel a[1:2, ::3], b.c\nglobal g\nprint(*a, **b)\n",
    "try:\n    pass\nexcept* E as e:\n    raise X from e\nelse:\n    pass\nfinally:\n    pass\n",
    "from . import (a as b, c)\nfrom .. x import *\nimport a.b as c\nwhile (n := next(it)) is not None: break\n",
    "type X[T: int, *Ts, **P] = list[T]\ndef g[T](x: T) -> T: ...\n",
]


class Recorder(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.events = []

    def on_visit(self, node) -> bool:
        if type(node) not in TRIVIA:
            self.events.append(("visit", id(node)))
        return not isinstance(node, cst.Lambda)  # a visitor may stop descending

    def on_leave(self, node) -> None:
        if type(node) not in TRIVIA:
            self.events.append(("leave", id(node)))


def events(module, visit):
    recorder = Recorder()
    visit(module, recorder)
    return recorder.events


@pytest.mark.parametrize("source", EDGE_CASES + [p.read_text(encoding="utf-8") for p in SOURCES],
                         ids=[f"edge{i}" for i in range(len(EDGE_CASES))] + [str(p.relative_to(ROOT)) for p in SOURCES])
def test_same_calls_as_libcst_visit(source):
    module = cst.parse_module(source)
    assert events(module, walk) == events(module, lambda m, v: m.visit(v))


def test_no_rule_or_analysis_hook_listens_for_trivia():
    hooked = set(semantic._OWN_VISITS) | set(semantic._OWN_LEAVES)
    for family in FAMILIES:
        for attribute in dir(family):
            for prefix in ("visit_", "leave_"):
                if attribute.startswith(prefix):
                    node_type = getattr(cst, attribute[len(prefix):], None)
                    if isinstance(node_type, type):
                        hooked.add(node_type)
    assert hooked and not hooked & TRIVIA
