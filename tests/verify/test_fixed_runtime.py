"""Under real torch on the CPU: every flagged conversion with a fix, evaluated before and after the fix.

For each diagnostic with a fix (fixtures and the rules' INVALID cases) we take the flagged
expression's text and the same text with the fix's edits applied, bind its free names (numpy,
torch, a pass-through function for callees, a tensor for everything else) and evaluate both:

* with tensors that require grad, a TL101 original raises "... requires grad" and the fix works;
* with tensors that do not, both work and give the same array (values, dtype, shape).

An implicit conversion (the flagged expression is the argument of `np.asarray`, a sklearn metric,
...) is evaluated inside `np.asarray(...)`, which is what those sinks do with it.
"""
import ast
import builtins
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

import pytest

from tensorlint import check_source
from tensorlint.rules import ALL_RULES

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MODULES = {"np": np, "numpy": np, "torch": torch}
MINIMUM_RUN = 10


@dataclass(frozen=True)
class Conversion:
    where: str                 # "conversion/TL101_numpy_without_detach.py:11:12" or "TL101 INVALID[0]"
    codes: Tuple[str, ...]     # every code reported on this span (TL101 and TL102 share one fix)
    original: str
    fixed: str


def _fixed_text(source, diagnostic):
    start, end = diagnostic.start_offset, diagnostic.end_offset
    text = source[start:end]
    inside = [e for e in diagnostic.fix.edits if start <= e.start <= e.end <= end]
    for edit in sorted(inside, key=lambda e: (e.start, e.end), reverse=True):
        text = text[:edit.start - start] + edit.text + text[edit.end - start:]
    return text


def _conversions(source, where):
    spans: Dict[Tuple[int, int, str], list] = {}
    for diagnostic in check_source(source, select=["TL1"]):  # conversions; other families' rewrites are statements
        if diagnostic.fix is None:
            continue
        fixed = _fixed_text(source, diagnostic)
        spans.setdefault((diagnostic.start_offset, diagnostic.end_offset, fixed), []).append(diagnostic)
    for (start, end, fixed), diagnostics in spans.items():
        first = diagnostics[0]
        yield Conversion(f"{where}:{first.line}:{first.col + 1}", tuple(d.code for d in diagnostics),
                         source[start:end], fixed)


def _all_conversions():
    for path in sorted(FIXTURES.rglob("*.py")):
        if path.name.endswith(".fixed.py"):
            continue
        yield from _conversions(path.read_text(encoding="utf-8"), str(path.relative_to(FIXTURES)))
    for rule in ALL_RULES:
        if not rule.code.startswith("TL1"):
            continue
        for index, case in enumerate(rule.INVALID):
            if case.fixed is not None:
                yield from _conversions(case.source, f"{rule.code}-INVALID[{index}]")


def _parse(text):
    # parentheses let a multi-line expression with comments (or a walrus) stand alone
    return ast.parse(f"(\n{text}\n)", mode="eval").body


@dataclass(frozen=True)
class Plan:
    explicit: bool                   # `.numpy()` itself, or an argument of an implicit conversion
    callees: Tuple[str, ...]
    values: Tuple[str, ...]


def _plan(text) -> Tuple[Optional[Plan], str]:
    """How to bind the free names of an expression, or (None, why it cannot be bound)."""
    tree = _parse(text)
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    bound |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.Lambda)
              for a in ast.walk(n.args) if isinstance(a, ast.arg)}
    callee_nodes = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    callees, values = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in bound | MODULES.keys():
            (callees if id(node) in callee_nodes else values).add(node.id)
    callees -= {name for name in callees if hasattr(builtins, name)}   # print, len, ... stay builtins
    if callees & values:
        return None, f"used both as a callee and as a value: {sorted(callees & values)}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in values \
                and not hasattr(torch.Tensor, node.attr):
            return None, f"attribute base `{node.value.id}.{node.attr}` is not a tensor"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in callees and node.args \
                and any(isinstance(n, ast.Attribute) and n.attr == "numpy" for n in ast.walk(node.args[0])):
            return None, f"callee `{node.func.id}` is applied to a NumPy array: its result is not a tensor"
    explicit = isinstance(tree, ast.Call) and isinstance(tree.func, ast.Attribute) and tree.func.attr == "numpy"
    return Plan(explicit, tuple(sorted(callees)), tuple(sorted(values))), ""


def _params():
    params, seen = [], set()
    for conversion in _all_conversions():
        key = (conversion.original, conversion.fixed, conversion.codes)
        if key in seen:
            continue
        seen.add(key)
        plan, why = _plan(conversion.original)
        ident = f"{conversion.where}-{'+'.join(conversion.codes)}"
        skip = pytest.mark.skip(reason=f"cannot bind `{conversion.original}`: {why}")
        marks = () if plan is not None else (skip,)
        params.append(pytest.param(conversion, plan, id=ident, marks=marks))
    return params


PARAMS = _params()


def _bindings(plan, requires_grad, dtype=torch.float32):
    generator = torch.Generator().manual_seed(0)
    names = dict(MODULES)
    for callee in plan.callees:
        # a "model": its output carries a grad_fn when its input requires grad
        names[callee] = lambda *a, **k: a[0] * 1.0
    for value in plan.values:
        # 2-D, so that `argmax(1)`, `.T` and `softmax(-1)` mean what they mean in the fixtures
        names[value] = torch.randn(2, 3, generator=generator).to(dtype).requires_grad_(requires_grad)
    return names


def _evaluate(text, plan, names):
    expression = f"(\n{text}\n)" if plan.explicit else f"np.asarray(\n{text}\n)"
    return eval(compile(expression, "<conversion>", "eval"), dict(names))


def test_enough_conversions_are_evaluated():
    runnable = [p for p in PARAMS if not p.marks]
    assert len(runnable) >= MINIMUM_RUN, f"only {len(runnable)} conversions could be bound"
    assert any("TL101" in p.values[0].codes for p in runnable)
    assert any("TL102" in p.values[0].codes for p in runnable)
    assert any("TL103" in p.values[0].codes for p in runnable)


@pytest.mark.parametrize("conversion, plan", PARAMS)
def test_fix_runs_under_real_torch(conversion, plan):
    assert conversion.fixed != conversion.original, "the fix changed nothing inside the flagged expression"
    if "TL104" in conversion.codes:  # a dtype fix: bfloat16 tensors, as the rule proves them to be
        low = _bindings(plan, requires_grad=False, dtype=torch.bfloat16)
        with pytest.raises(TypeError, match="unsupported ScalarType BFloat16"):
            _evaluate(conversion.original, plan, low)
        fixed = np.asarray(_evaluate(conversion.fixed, plan, low))
        assert fixed.dtype == np.float32 and np.isfinite(fixed).all()
        return

    with_grad = _bindings(plan, requires_grad=True)
    if "TL101" in conversion.codes:
        with pytest.raises(RuntimeError, match="requires grad"):
            _evaluate(conversion.original, plan, with_grad)
    fixed_with_grad = np.asarray(_evaluate(conversion.fixed, plan, with_grad))

    without_grad = _bindings(plan, requires_grad=False)
    original = np.asarray(_evaluate(conversion.original, plan, without_grad))
    fixed = np.asarray(_evaluate(conversion.fixed, plan, without_grad))
    assert isinstance(fixed, np.ndarray)
    assert fixed.dtype == original.dtype
    assert fixed.shape == original.shape
    assert np.array_equal(fixed, original)
    # same seed, same values: the fix gives with grad what the original gave without it
    assert fixed_with_grad.dtype == original.dtype
    assert np.array_equal(fixed_with_grad, original)
