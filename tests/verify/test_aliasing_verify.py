"""`tensorlint verify` on TL503's fixes: the loop around the finding, reduced to its evidence, runs on real NumPy
and torch; the original's kept tensors must all hold the last refill, the fixed ones each iteration's values."""
import pytest

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")

from tensorlint.core.diagnostics import Diagnostic, Edit, Fix, Safety  # noqa: E402
from tensorlint.verify.core import Verifier  # noqa: E402
from tensorlint.verify.snippets import cases_for_source  # noqa: E402

H = "import numpy as np\nimport torch\n"
SOURCE = (H + "def read(paths, load):\n    buf = np.empty((2, 3), dtype=np.float32)\n    batch = []\n"
          "    for i, path in enumerate(paths):\n        log(i)\n        if path:\n            buf[:] = load(path)\n"
          "        batch.append(torch.from_numpy(buf))\n    return batch\n")


@pytest.fixture(scope="module")
def verifier():
    with Verifier(timeout=30) as shared:
        yield shared


def _fake(source, old, new):
    """A TL503 diagnostic on `old` whose fix writes `new` instead (a deliberately wrong fix)."""
    start = source.index(old)
    line = source.count("\n", 0, start) + 1
    col = start - (source.rfind("\n", 0, start) + 1)
    return Diagnostic(line, col, "TL503", "fake", start_offset=start, end_offset=start + len(old),
                      fix=Fix("fake fix", (Edit(start, start + len(old), new),), Safety.SAFE))


def test_the_snippet_is_the_loop_reduced_to_its_evidence():
    [case] = cases_for_source(SOURCE, "f.py", [_fake(SOURCE, "torch.from_numpy(buf)", "torch.from_numpy(buf.copy())")])
    assert case.kind == "aliasing" and not case.problem
    [candidate] = case.candidates
    assert candidate.original == (
        "buf = np.empty((2, 3), dtype=np.float32)\nbatch = []\nfor __tl_iteration in range(__tl_iterations):\n"
        "    i = __tl_value(__tl_iteration)\n    path = __tl_value(__tl_iteration)\n    buf[:] = load(path)\n"
        "    batch.append(torch.from_numpy(buf))\n")
    assert candidate.fixed == candidate.original.replace("from_numpy(buf)", "from_numpy(buf.copy())")
    start, end = candidate.flagged
    assert candidate.original[start:end] == "torch.from_numpy(buf)"
    assert case.extra["kept"] == ["batch"] and case.extra["sources"] == ["load"]


def test_the_rules_own_fix_passes(verifier):
    [verdict] = verifier.verify_source(SOURCE, "f.py")
    assert verdict.codes == ["TL503"] and verdict.verdict == "PASS", verdict.reason
    assert "share the buffer and hold the last refill" in verdict.reason


def test_a_fix_that_keeps_a_view_fails(verifier):
    wrong = _fake(SOURCE, "torch.from_numpy(buf)", "torch.from_numpy(buf).view(2, 3)")
    [verdict] = verifier.verify_cases(cases_for_source(SOURCE, "f.py", [wrong]))
    assert verdict.verdict == "FAIL" and "still share the buffer's memory" in verdict.reason


def test_a_fix_that_breaks_the_loop_fails(verifier):
    wrong = _fake(SOURCE, "torch.from_numpy(buf)", "torch.from_numpy(buf.tolist())")
    [verdict] = verifier.verify_cases(cases_for_source(SOURCE, "f.py", [wrong]))
    assert verdict.verdict == "FAIL" and "raises where the original did not" in verdict.reason


def test_refills_that_write_the_same_values_are_inconclusive(verifier):
    source = H + "buf = np.zeros(3)\nout = []\nfor k in range(4):\n    buf *= 2\n    out.append(torch.from_numpy(buf))\n"
    [verdict] = verifier.verify_source(source, "f.py")
    assert verdict.verdict == "SKIPPED" and "same values every iteration" in verdict.reason


def test_attribute_lists_dicts_and_readinto(verifier):
    source = (H + "class Recorder:\n    def __init__(self):\n        self.frames = {}\n"
              "    def run(self, stream, n):\n        frame = np.zeros(n, np.uint8)\n        for step in range(9):\n"
              "            stream.readinto(frame)\n            t = torch.as_tensor(frame)\n"
              "            self.frames[step] = t.view(-1)\n")
    [verdict] = verifier.verify_source(source, "f.py")
    assert verdict.verdict == "PASS", (verdict.reason, verdict.error, verdict.original)
