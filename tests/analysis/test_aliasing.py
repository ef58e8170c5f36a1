"""analysis/aliasing.py: TL503's evidence (a NumPy buffer refilled in a loop while tensors sharing it are kept).

Each source marks the construction asked about with `# <-`; the table says what the analysis finds there.
"""
import libcst as cst
import pytest

from tensorlint.analysis.aliasing import SHARING_CONSTRUCTORS, kept_shared_tensor
from tensorlint.analysis.imports import ImportMap

H = "import numpy as np\nimport torch\n"


def _evidence(source):
    module = cst.parse_module(source)
    imports = ImportMap()
    imports.record_all(module.body)
    marked = next(i for i, line in enumerate(source.splitlines(), 1) if line.endswith("# <-"))
    wrapper = cst.MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(cst.metadata.PositionProvider)
    found = []

    class Finder(cst.CSTVisitor):
        def __init__(self):
            super().__init__()
            self.stack = []

        def on_visit(self, node):
            self.stack.append(node)
            if isinstance(node, cst.Call) and positions[node].start.line == marked and imports.qualified(
                    node.func) in SHARING_CONSTRUCTORS and not found:
                found.append(kept_shared_tensor(node, list(self.stack), imports.qualified))
            return True

        def on_leave(self, node):
            self.stack.pop()

    module.visit(Finder())
    assert found, "no sharing construction on the marked line"
    return found[0], module


@pytest.mark.parametrize("body, refill, kept", [
    pytest.param("buf[:] = x\n    out.append(torch.from_numpy(buf))  # <-", "`buf[:] = ...`", "`out.append(...)`",
                 id="slice assignment, append"),
    pytest.param("np.copyto(buf, x)\n    out.insert(0, torch.as_tensor(buf))  # <-", "`np.copyto(buf, ...)`",
                 "`out.insert(...)`", id="copyto, insert"),
    pytest.param("src.readinto(buf)\n    t = torch.asarray(buf)  # <-\n    out.append((t[0], t.view(-1)))",
                 "`src.readinto(buf)`", "`out.append(...)`", id="readinto, through a name and its views"),
    pytest.param("np.multiply(buf, 2, out=buf)\n    out.append(torch.from_numpy(buf).unsqueeze(0).to('cpu'))  # <-",
                 "`np.multiply(..., out=buf)`", "`out.append(...)`", id="out=, views"),
    pytest.param("buf.fill(x)\n    out.append(torch.from_numpy(buf))  # <-", "`buf.fill(...)`", "`out.append(...)`",
                 id="fill"),
    pytest.param("buf[0] += x\n    out.append(torch.from_numpy(buf))  # <-", "`buf[0] += ...`", "`out.append(...)`",
                 id="augmented item"),
])
def test_the_evidence_names_the_refill_and_the_keeping(body, refill, kept):
    source = H + "buf = np.zeros(4)\nout = []\nfor x in xs:\n    " + body + "\n"
    found, _ = _evidence(source)
    assert found is not None
    assert (found.buffer, found.refill_shown, found.kept_shown) == ("buf", refill, kept)
    assert cst.Module([]).code_for_node(found.created) == "np.zeros(4)"


def test_a_dict_made_with_defaultdict_and_a_subscript_store():
    source = (H + "import collections\nbuf = np.empty(3)\nseen = collections.defaultdict(list)\n"
              "while True:\n    buf *= 0.5\n    seen[len(seen)] = torch.from_numpy(buf)  # <-\n")
    found, _ = _evidence(source)
    assert found is not None and found.kept_shown == "`seen[...] = ...`" and found.refill_shown == "`buf *= ...`"


def test_the_outer_loop_refills_while_the_inner_one_keeps():
    source = (H + "def f(xs):\n    buf = np.empty(3)\n    out = []\n    for x in xs:\n        buf[:] = x\n"
              "        for _ in range(2):\n            out.append(torch.from_numpy(buf))  # <-\n    return out\n")
    found, _ = _evidence(source)
    assert found is not None and isinstance(found.loop, cst.For) and found.refill_shown == "`buf[:] = ...`"


@pytest.mark.parametrize("source", [
    pytest.param(H + "buf = np.zeros(4)\nout = []\nfor x in xs:\n    out.append(torch.from_numpy(buf))  # <-\n",
                 id="no refill"),
    pytest.param(H + "buf = np.zeros(4)\nout = []\nfor x in xs:\n    buf = np.zeros(4)\n    buf[:] = x\n"
                 "    out.append(torch.from_numpy(buf))  # <-\n", id="made anew each iteration"),
    pytest.param(H + "buf = load()\nout = []\nfor x in xs:\n    buf[:] = x\n    out.append(torch.from_numpy(buf))  # <-\n",
                 id="not shown to be a NumPy array"),
    pytest.param(H + "buf = np.zeros(4) if a else torch.zeros(4)\nout = []\nfor x in xs:\n    buf[:] = x\n"
                 "    out.append(torch.from_numpy(buf))  # <-\n", id="a conditional value"),
    pytest.param(H + "buf = np.zeros(4)\nfor x in xs:\n    out = []\n    buf[:] = x\n"
                 "    out.append(torch.from_numpy(buf))  # <-\n", id="the list is made anew"),
    pytest.param(H + "buf = np.zeros(4)\nout = make()\nfor x in xs:\n    buf[:] = x\n"
                 "    out.append(torch.from_numpy(buf))  # <-\n", id="a container of unknown kind"),
    pytest.param(H + "buf = np.zeros(4)\nout = []\nfor x in xs:\n    buf[:] = x\n"
                 "    out.append(torch.from_numpy(buf) + 1)  # <-\n", id="arithmetic makes a new tensor"),
    pytest.param(H + "buf = np.zeros(4)\nout = []\nfor x in xs:\n    buf[:] = x\n"
                 "    out.append(torch.from_numpy(buf)[idx])  # <-\n", id="advanced indexing copies"),
    pytest.param(H + "buf = np.zeros(4)\nout = []\nfor x in xs:\n    buf[:] = x\n    t = torch.from_numpy(buf)  # <-\n"
                 "    if c:\n        t = t.double()\n    out.append(t)\n", id="the name is bound twice"),
    pytest.param(H + "buf = np.zeros(4)\nout = []\nfor x in xs:\n    buf[:] = x\n"
                 "    out.append(torch.as_tensor(buf, device=dev))  # <-\n", id="a device that may copy"),
    pytest.param(H + "buf = np.zeros(4)\nout = []\nfor x in xs:\n    buf[:] = x\n"
                 "    out.append(torch.from_numpy(buf).to(dev))  # <-\n", id="a move that may copy"),
    pytest.param(H + "buf = np.zeros(4)\nout = []\ndef g():\n    global buf\n    buf = None\nfor x in xs:\n"
                 "    buf[:] = x\n    out.append(torch.from_numpy(buf))  # <-\n", id="rebound by a nested function"),
])
def test_look_alikes_have_no_evidence(source):
    found, _ = _evidence(source)
    assert found is None
