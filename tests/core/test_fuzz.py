"""Fuzzing: the checker never crashes, and every fix it makes passes the AST safety check and parses.

Two sources of programs: hypothesmith (random programs from Python's grammar; they rarely touch
torch, so each also runs with torch/NumPy imports prepended) and `torch_program`, which composes
snippets our rules are about (conversions, `.data`, NumPy aliases, training loops) inside random
statements, formatting and newlines. Bounded for the test command (a few hundred programs, derandomized:
the same ones every run, about 30 s of CPU in all); `benchmarks/fuzz_long.py` runs 10 000.
"""
from __future__ import annotations

import ast
import random
import warnings
from typing import List

import libcst as cst
import pytest

from tensorlint import check_source, fix_source
from tensorlint.core.fixer import FixError

hypothesis = pytest.importorskip("hypothesis")
hypothesmith = pytest.importorskip("hypothesmith")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

PRELUDE = "import numpy as np\nimport torch  # .data .step( backward: every family runs\n"
FUZZ_SETTINGS = settings(max_examples=60, deadline=None, database=None, derandomize=True,
                         suppress_health_check=list(HealthCheck))


# -- the property ------------------------------------------------------------------------------
def exercise(source: str) -> str:
    """Check and fix `source`: "syntax" (libcst cannot read it), "clean", "found" (nothing to fix) or "fixed".

    Raises FixError when a fix is refused, AssertionError when the result is wrong (does not parse,
    changes when fixed again, diagnostics out of the file), anything else when tensorlint crashes.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)  # `ast.parse` of odd but valid programs
        return _exercise(source)


def _exercise(source: str) -> str:
    try:
        diagnostics = check_source(source)
    except cst.ParserSyntaxError:
        return "syntax"
    for diagnostic in diagnostics:
        assert 1 <= diagnostic.line <= source.count("\n") + source.count("\r") + 1
        assert 0 <= diagnostic.start_offset <= diagnostic.end_offset <= len(source)
    result = fix_source(source, unsafe_fixes=True)
    if result.source == source:
        return "found" if diagnostics else "clean"
    ast.parse(result.source)  # the interpreter's parser agrees (libcst's was checked by the fixer)
    assert fix_source(result.source, unsafe_fixes=True).source == result.source, "fixing twice changed it again"
    return "fixed"


# -- a torch-flavoured program generator -------------------------------------------------------
TENSORS = ["t", "w", "out", "loss", "model(x)", "self.weight", "batch[0]", "xs[i]", "(a + b)", "net(x)[0]"]
CONVERSIONS = [
    "{v}.numpy()", "{v}.cpu().numpy()", "{v}.cpu().detach().numpy()", "{v}.detach().numpy()",
    "{v}.data.numpy()", "{v}.data.cpu().numpy()", "np.asarray({v})", "np.array([{v}])", "np.mean({v})",
    "np.linalg.norm({v}, axis=0)", "{v}.data", "{v}.data.clone()", "{v}.item()", "float({v})",
    "{v}.tolist()", "g({v}.numpy()).numpy()", "np.concatenate([{v}.numpy(), {v}.cpu().numpy()])",
    "np.float({v})", "np.int({v})", "np.bool", "np.float", "np.product({v})", "np.asfarray({v})",
    "np.in1d({v}, {v})", "np.alltrue({v})", "np.Inf", "np.NINF", "np.sort_complex({v})", "np.round_({v})",
    "{v}.numpy()[0]", "({v}).numpy()", "[y.numpy() for y in {v}]", "lambda: {v}.numpy()",
    "{v}.numpy() if c else None", "f'{{{v}.numpy()}}'", "np.zeros(3, dtype=np.float)",
]
STATEMENTS = [
    "y = {e}", "y = {e}  # comment", "y = (\n    {e}\n)", "return {e}", "print({e})", "results.append({e})",
    "total += {v}", "total = total + {v}", "losses.append({v})", "{v}.data.add_(1)", "{v}.data.mul_(0.5)",
    "{v}.data[0] = 1", "{v}.data = {v}", "{v}.data.copy_(src)", "a = 1; y = {e}", "if c: y = {e}",
    "assert {e} is not None", "del y", "pass", "x = {v}", "{v}.backward()", "optimizer.step()",
    "y: object = {e}", "yield {e}", "y = {e}  # noqa", "y = {e}  # noqa: TL101",
    "with torch.no_grad():\n    y = {e}", "@decorate({e})\ndef inner():\n    pass",
]
HEADERS = [
    "import numpy as np", "import numpy", "import torch", "import torch as T", "from torch import nn",
    "import numpy as onp", "from numpy import float", "from numpy import product", "import builtins",
]
BLOCKS = [
    "def f(model, x, t, w, a, b, g, c, xs, i, batch, net, src, results, losses, optimizer, decorate):",
    "for step, batch in enumerate(loader):", "for x in data:", "while c:", "with torch.no_grad():",
    "if c:", "try:", "class M(nn.Module):\n{i}    def forward(self, x):", "async def g(x):",
]


def torch_program(rng: random.Random) -> str:
    """A random module built from torch/NumPy snippets: imports, blocks, statements, odd formatting."""
    lines: List[str] = []
    if rng.random() < 0.2:
        lines.append('"""A module docstring."""')
    if rng.random() < 0.2:
        lines.append("from __future__ import annotations")
    lines += rng.sample(HEADERS, rng.randint(0, 4))
    if rng.random() < 0.5:
        lines.append("t = torch.ones(3, requires_grad=True)")
    if rng.random() < 0.3:
        lines.append("w = nn.Parameter(torch.randn(3))")
    for _ in range(rng.randint(1, 4)):
        lines += _block(rng, "", depth=0)
    indent = "\t" if rng.random() < 0.1 else None
    text = "\n".join(lines) + ("\n" if rng.random() < 0.9 else "")
    if indent:
        text = text.replace("    ", indent)
    newline = rng.choice(["\n", "\n", "\n", "\r\n", "\r"])
    if newline != "\n":
        text = text.replace("\n", newline)
    if rng.random() < 0.1:  # a form feed on a line of its own, and one starting a line of code
        text = text.replace(newline + "def ", newline + "\x0c" + newline + "\x0cdef ", 1)
    return text


def _block(rng: random.Random, indent: str, depth: int) -> List[str]:
    if depth >= 3 or rng.random() < 0.3:
        return [indent + line for line in _statement(rng).split("\n")]
    header = rng.choice(BLOCKS).replace("{i}", indent)
    inner = indent + "    " * (header.count("\n") + 1)
    lines = [indent + header]
    for _ in range(rng.randint(1, 3)):
        lines += _block(rng, inner, depth + 1)
    if header == "try:":
        lines += [indent + "except Exception:", inner + "pass"]
    return lines


def _statement(rng: random.Random) -> str:
    def operand() -> str:  # sometimes a conversion inside a conversion
        if rng.random() < 0.1:
            return "(" + rng.choice(CONVERSIONS).replace("{v}", rng.choice(TENSORS)) + ")"
        return rng.choice(TENSORS)

    expression = rng.choice(CONVERSIONS).replace("{v}", operand(), 1).replace("{v}", operand())
    statement = rng.choice(STATEMENTS).replace("{e}", expression).replace("{v}", rng.choice(TENSORS))
    if rng.random() < 0.1:
        statement = statement.replace(" = ", "=", 1).replace("(", "( ", 1)
    return statement


torch_programs = st.randoms(use_true_random=False).map(torch_program)


# -- the tests ---------------------------------------------------------------------------------
@FUZZ_SETTINGS
@given(source=hypothesmith.from_grammar())
def test_grammar_programs_never_crash(source):
    exercise(source)
    exercise(PRELUDE + source)


@settings(FUZZ_SETTINGS, max_examples=25)  # hypothesmith's libcst programs are slow to draw: ~0.7 s each
@given(source=hypothesmith.from_node())
def test_libcst_programs_never_crash(source):
    exercise(PRELUDE + source)


@settings(FUZZ_SETTINGS, max_examples=300)
@given(source=torch_programs)
def test_torch_programs_fix_safely(source):
    exercise(source)


def test_the_generator_reaches_the_rules():
    """The torch generator is worth running: most programs get findings, many get fixes."""
    rng = random.Random(0)
    programs = [torch_program(rng) for _ in range(60)]
    found = fixed = 0
    for source in programs:
        try:
            found += bool(check_source(source))
            fixed += fix_source(source, unsafe_fixes=True).source != source
        except cst.ParserSyntaxError:
            continue
    assert found >= 35 and fixed >= 25, (found, fixed)


def test_a_refused_fix_is_reported_not_hidden(monkeypatch):
    """`exercise` lets FixError through, so a broken fix fails the fuzz tests."""
    def refuse(*args, **kwargs):
        raise FixError("refused: the fix changed code outside its edits at line 1")

    monkeypatch.setattr("tensorlint.api.fix_to_fixpoint", refuse)
    with pytest.raises(FixError):
        exercise("import torch\nt = torch.ones(2)\ny = t.numpy()\n")
