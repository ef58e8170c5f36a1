"""The language server's partial re-lint (tensorlint.adapters.lsp.incremental) must say what a whole check says.

Edits of the rule fixtures and of a generated module, one after another as typing makes them:
after each, the findings worked out from the previous analysis equal `check_source` of the new
text, positions, offsets and fixes included.
"""
import random
from pathlib import Path

import pytest

from tensorlint import check_source
from tensorlint.core.diagnostics import physical_lines
from tensorlint.adapters.lsp.documents import analyse
from tensorlint.adapters.lsp.incremental import Slice, carried, outline
from tensorlint.adapters.lsp.text import Lines, noqa_change, noqa_change_within

REPO = Path(__file__).resolve().parents[2]
FIXTURES = sorted(p for p in (REPO / "fixtures").rglob("*.py") if not p.name.endswith(".fixed.py"))

MODULE = '''"""A module with linked and unlinked functions."""
import numpy as np
import torch

SCALE = 2.0


def make(device):
    return torch.ones(3, requires_grad=True).to(device)


def use_made():
    out = make("cuda")
    return out.numpy()


def alone(batch):
    x = torch.as_tensor(batch).cuda()
    history = [x.sum().item()]
    return np.mean(x.cpu()), history


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(3, 3)

    def forward(self, x):
        return self.linear(x) * SCALE


def predict(net: Net, x):
    return net(x).numpy(), net.linear.weight.data
'''


def check(text, tree):
    return check_source(text, tree=tree)


def exact(findings):
    return [(d.line, d.col, d.code, d.message, d.end_line, d.end_col, d.start_offset, d.end_offset, d.fix)
            for d in sorted(findings)]


def edits(text, rng, count):
    """Line edits as typing makes them: a line copied, deleted, moved or changed."""
    lines = physical_lines(text)
    for _ in range(count):
        lines = list(lines)
        index = rng.randrange(len(lines))
        operation = rng.choice(["copy", "delete", "swap", "replace", "blank"])
        if operation == "copy":
            lines.insert(index, lines[index])
        elif operation == "delete" and len(lines) > 2:
            del lines[index]
        elif operation == "swap":
            other = rng.randrange(len(lines))
            lines[index], lines[other] = lines[other], lines[index]
        elif operation == "replace":
            lines[index] = lines[rng.randrange(len(lines))]
        else:
            lines.insert(index, "\n")
        yield "".join(lines)


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in FIXTURES]
                         + [pytest.param(None, id="module"), pytest.param("crlf", id="module-crlf")])
def test_partial_relint_equals_a_whole_check(path):
    text = MODULE.replace("\n", "\r\n") if path == "crlf" else path.read_text() if path else MODULE
    rng = random.Random(path.name if isinstance(path, Path) else str(path))
    snapshot = analyse(text, None, check, "utf-16")
    partial = 0
    for new in edits(text, rng, 10):
        snapshot = analyse(new, snapshot, check, "utf-16")
        if snapshot.syntax_error is not None:
            continue
        assert exact(snapshot.findings) == exact(check_source(new)), new
        partial += snapshot.partial
    if not isinstance(path, Path):
        assert partial  # the module has unlinked groups: some edits must have been partial


def test_an_edit_relints_only_the_groups_it_reaches():
    before = analyse(MODULE, None, check, "utf-16")
    edited = MODULE.replace("    return np.mean(x.cpu()), history", "    return np.mean(x), history")
    after = analyse(edited, before, check, "utf-16")
    assert after.partial
    assert exact(after.findings) == exact(check_source(edited))
    # `make` changes what `use_made` gets: both are checked again, not `alone`.
    edited = MODULE.replace("requires_grad=True", "requires_grad=False")
    after = analyse(edited, before, check, "utf-16")
    assert after.partial and exact(after.findings) == exact(check_source(edited))
    # An import is read by every rule: the whole text.
    edited = MODULE.replace("import numpy as np", "import numpy as np  # changed")
    assert not analyse(edited, before, check, "utf-16").partial
    # Saving checks the whole text whatever changed.
    assert not analyse(MODULE.replace("x.cpu()", "x"), before, check, "utf-16", whole=True).partial


def test_groups_link_callers_and_callees():
    import ast
    groups = outline(ast.parse(MODULE), physical_lines(MODULE))
    by_name = {sorted(g.binds)[0] if g.binds else g.text.split()[0]: g for g in groups}
    assert by_name["make"].binds == {"make"} and "make" in by_name["use_made"].uses
    assert {"Net", "linear", "forward"} <= groups[-2].binds  # a class binds its methods and attributes
    assert "__init__" not in groups[-2].uses  # dunders are called by type, not by name
    assert [g.context for g in groups][:3] == [True, True, True]  # docstring and imports


def test_slice_maps_positions_back():
    import ast
    text = "import torch\n\ndef a():\n    pass\n\ndef b():\n    return 1\n"
    groups = outline(ast.parse(text), physical_lines(text))
    lines = Lines(text)
    sliced, back = Slice.without(text, lines.starts, [groups[1]])  # without `a`
    assert sliced == "import torch\n\n\ndef b():\n    return 1\n"
    assert back.line(3) == 5  # `def b():`
    at_return = sliced.index("return")
    assert back.offset(at_return) == text.index("return")
    # Where a left-out group would be on either side, an edit cannot be placed.
    assert back.offset(sliced.index("def b"), edit=True) == text.index("def b")  # a blank line between
    sliced, back = Slice.without(text, lines.starts, [groups[2]])  # without `b`, the last group
    assert back.offset(len(sliced), edit=True) is None
    assert back.offset(len(sliced)) == text.index("def b")


def test_carried_findings_move_with_the_lines_around_an_edit():
    text = "import torch\nx = torch.ones(2, requires_grad=True)\n\ny = x.numpy()\n"
    (finding,) = check_source(text)
    moved = carried(text, [finding], "# new\n" + text.replace("\n\n", "\ndef (:\n"))
    assert [(d.line, d.col, d.fix) for d in moved] == [(5, 4, None)]
    assert moved[0].start_offset == finding.start_offset + len("# new\n") + len("def (:")
    assert carried(text, [finding], text.replace("y = x.numpy()", "y = x.numpy(")) == []


def test_noqa_within_a_statement_equals_noqa_on_the_whole_text():
    before = analyse(MODULE, None, check, "utf-16")
    assert before.findings
    for finding in before.findings:
        group = next(g for g in before.groups if g.holds(finding.line))
        within = noqa_change_within(MODULE, before.lines, finding, group.first, group.last)
        assert within == noqa_change(MODULE, finding)
