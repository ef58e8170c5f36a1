"""Fix behaviour on hand-written inputs: exact output, untouched surroundings, nesting, newlines, safety."""
import pytest

from tensorlint import check_source, fix_source

H = "import numpy as np\nimport torch\n"
# The edit mechanics are the same for every conversion fix: these tests also select the house-style rule, so that
# values of unknown provenance get the canonical chain too (an unsafe fix; safety is tested on its own below).
ALL = ["TL", "TL105"]


@pytest.mark.parametrize("source, expected", [
    pytest.param(H + "def f(x):\n    return model(x).numpy()\n",
                 H + "def f(x):\n    return model(x).detach().cpu().numpy()\n", id="model-output"),
    pytest.param(H + "def f(x):\n    return x.cpu().numpy()\n",
                 H + "def f(x):\n    return x.detach().cpu().numpy()\n", id="cpu-kept-detach-inserted"),
    pytest.param(H + "def f(x):\n    return x.cpu().detach().numpy()\n",
                 H + "def f(x):\n    return x.detach().cpu().numpy()\n", id="reordered-chain"),
    pytest.param(H + "def f(a, b):\n    return (a + b).numpy()\n",
                 H + "def f(a, b):\n    return (a + b).detach().cpu().numpy()\n", id="parenthesized-receiver"),
    pytest.param(H + "t = torch.ones(3, requires_grad=True)\nr = np.asarray(t * 2)\n",
                 H + "t = torch.ones(3, requires_grad=True)\nr = np.asarray((t * 2).detach().cpu())\n",
                 id="implicit-conversion-of-binary-expression"),
    pytest.param(H + "w = torch.nn.Parameter(torch.randn(3))\nn = np.linalg.norm(w, axis=0)\n",
                 H + "w = torch.nn.Parameter(torch.randn(3))\nn = np.linalg.norm(w.detach().cpu(), axis=0)\n",
                 id="implicit-conversion-keyword-untouched"),
])
def test_exact_output(source, expected):
    result = fix_source(source, select=ALL, unsafe_fixes=True)
    assert result.source == expected
    assert result.fixed and not result.remaining


ODD = """import numpy   as np   # odd spacing kept
import torch


def f( model ,x ):   # a comment
    preds = model(
        x,  # the inputs
    ).numpy()
    out = np.concatenate(
        [   # open
            model(x).cpu().detach().numpy() ,  # item
            np.zeros( 3 ),
        ],
        axis = 0 ,
    )
    return   out , preds
"""


def test_formatting_and_comments_elsewhere_untouched():
    expected = (ODD.replace("    ).numpy()", "    ).detach().cpu().numpy()")
                   .replace("model(x).cpu().detach().numpy() ,", "model(x).detach().cpu().numpy() ,"))
    assert expected != ODD
    assert fix_source(ODD, select=ALL, unsafe_fixes=True).source == expected


def test_nested_conversions_fixed_in_one_call():
    source = H + "def f(a, g):\n    return g(a.numpy()).numpy()\n"
    result = fix_source(source, select=ALL, unsafe_fixes=True)
    assert result.source == H + "def f(a, g):\n    return g(a.detach().cpu().numpy()).detach().cpu().numpy()\n"
    assert result.remaining == []
    assert check_source(result.source, select=ALL) == []


@pytest.mark.parametrize("source", [
    pytest.param(H + "def f(a, g):\n    return g(a.numpy()).numpy()\n", id="nested"),
    pytest.param(ODD, id="odd-formatting"),
    pytest.param(H + "def f(xs):\n    return np.array([model(x) for x in xs])\n", id="comprehension"),
    pytest.param(H + "def f(x):\n    return (x  # keep\n        ).cpu().detach().numpy()\n", id="comment-in-receiver"),
])
def test_idempotent(source):
    once = fix_source(source, select=ALL, unsafe_fixes=True).source
    assert once != source
    twice = fix_source(once, select=ALL, unsafe_fixes=True)
    assert twice.source == once
    assert twice.fixed == []


def test_crlf_newlines_preserved():
    source = (H + "def f(x):\n    y = model(x)  # output\n    return y.cpu().numpy()\n").replace("\n", "\r\n")
    result = fix_source(source, unsafe_fixes=True)
    assert result.source == source.replace("y.cpu().numpy()", "y.detach().cpu().numpy()")
    assert "\n" not in result.source.replace("\r\n", "")


def test_comment_inside_the_receiver_is_kept():
    source = H + "def f(x):\n    return (x  # keep\n        ).cpu().detach().numpy()\n"
    assert fix_source(source).source == H + "def f(x):\n    return (x  # keep\n        ).detach().cpu().numpy()\n"


FORWARD = "class Net(torch.nn.Module):\n    def forward(self, x):\n        return torch.from_numpy(np.tanh({}))\n"


@pytest.mark.parametrize("source, fixed", [
    pytest.param(H + FORWARD.format("x.numpy()"), H + FORWARD.format("x.detach().cpu().numpy()"), id="inside-forward"),
    pytest.param("import numpy as np\ndef f(x):\n    return x.numpy()\n",
                 "import numpy as np\ndef f(x):\n    return x.detach().cpu().numpy()\n", id="file-without-torch"),
    pytest.param(H + "def f(x):\n    return x.data.cpu().numpy()\n",
                 H + "def f(x):\n    return x.detach().cpu().numpy()\n", id="data-of-unknown-value"),
])
def test_unsafe_fixes_need_opt_in(source, fixed):
    safe = fix_source(source, select=ALL)
    assert safe.source == source
    assert safe.fixed == []
    assert safe.remaining and all(d.fix is not None and not d.fix.is_safe for d in safe.remaining)
    unsafe = fix_source(source, select=ALL, unsafe_fixes=True)
    assert unsafe.source == fixed
    assert unsafe.remaining == []


def test_conversion_without_local_fix_is_left_alone():
    source = H + "def f(loader):\n    outs = [model(x) for x in loader]\n    return np.vstack(outs)\n"
    result = fix_source(source, unsafe_fixes=True)
    assert result.source == source
    assert [(d.line, d.code, d.fix) for d in result.remaining] == [(5, "TL101", None)]


# -- no chain gets a second link ----------------------------------------------------------------
M = H + "def f(x, device):\n    out = model(x.to(device))\n    return "


@pytest.mark.parametrize("chain, fixed", [
    pytest.param("out.cpu().detach().numpy()", "out.detach().cpu().numpy()", id="reordered"),
    pytest.param("out.cpu().numpy()", "out.detach().cpu().numpy()", id="detach-added-before-cpu"),
    pytest.param("out.cpu().squeeze().numpy()", "out.detach().cpu().squeeze().numpy()", id="cpu-behind-a-view"),
    pytest.param("out.detach()[0].numpy()", "out.detach()[0].cpu().numpy()", id="detach-behind-a-subscript"),
    pytest.param('out.to("cpu").float().numpy()', 'out.detach().to("cpu").float().numpy()', id="to-cpu-behind-float"),
    pytest.param('out.to(device="cpu")[0].numpy()', 'out.detach().to(device="cpu")[0].numpy()', id="to-device-cpu"),
    pytest.param("out.detach().mean(0).numpy()", "out.detach().mean(0).cpu().numpy()", id="detach-behind-a-reduction"),
    pytest.param("out.detach().float().numpy()", "out.detach().float().cpu().numpy()", id="detach-behind-float"),
    pytest.param("out.data.cpu()[0].numpy()", "out.detach().cpu()[0].numpy()", id="data-dropped-cpu-kept"),
    pytest.param('out.to("cpu", non_blocking=True).numpy()', 'out.detach().to("cpu", non_blocking=True).numpy()',
                 id="a-move-with-arguments-stays"),
    pytest.param("np.asarray(out.cpu().squeeze())", "np.asarray(out.detach().cpu().squeeze())", id="implicit"),
    pytest.param("out.detach().mul(out).numpy()", "out.detach().mul(out).detach().cpu().numpy()",
                 id="a-tensor-argument-may-bring-grad-back"),
    pytest.param("out.cpu().cuda().numpy()", "out.cpu().cuda().detach().cpu().numpy()", id="moved-back-to-the-device"),
])
def test_no_chain_gets_a_second_link(chain, fixed):
    result = fix_source(M + chain + "\n", unsafe_fixes=True)
    assert result.source == M + fixed + "\n"
    assert fix_source(result.source, unsafe_fixes=True).source == result.source


# -- TL202: one `with torch.no_grad():` block per run of writes ---------------------------------
P = "import torch\np = torch.nn.Parameter(torch.ones(2))\n"


@pytest.mark.parametrize("source, fixed", [
    pytest.param(P + "p.data.zero_()\n\np.data.add_(1)\n", P + "with torch.no_grad():\n    p.zero_()\n\n    p.add_(1)\n",
                 id="a-blank-line-between-stays-blank"),
    pytest.param(P + "p.data.zero_()\np.data.add_(len('''x\n  y\n'''))\n",
                 P + "with torch.no_grad():\n    p.zero_()\n    p.add_(len('''x\n  y\n'''))\n",
                 id="lines-inside-a-string-are-not-reindented"),
    pytest.param(P + "p.data.zero_()\np.data.add_(\n    1)\n", P + "with torch.no_grad():\n    p.zero_()\n    p.add_(\n        1)\n",
                 id="continuation-lines-follow"),
    pytest.param("import torch\ndef f(model):\n\tfor p in model.parameters():\n\t\tp.data.mul_(2)\n\t\tp.data.add_(1)\n",
                 "import torch\ndef f(model):\n\twith torch.no_grad():\n\t\tfor p in model.parameters():\n\t\t\tp.mul_(2)\n"
                 "\t\t\tp.add_(1)\n", id="tabs"),
    pytest.param("import torch\ndef f(a, b):\n    for p in a.parameters():\n        for q in b.parameters():\n"
                 "            q.data.mul_(2)\n        p.data.zero_()\n",
                 "import torch\ndef f(a, b):\n    with torch.no_grad():\n        for p in a.parameters():\n"
                 "            for q in b.parameters():\n                q.mul_(2)\n            p.zero_()\n",
                 id="nested-loops-of-writes"),
    pytest.param("import torch\ndef f(a):\n    for p in a.parameters():\n        p.data.zero_()\n    a.weight.data.fill_(1)\n",
                 "import torch\ndef f(a):\n    with torch.no_grad():\n        for p in a.parameters():\n            p.zero_()\n"
                 "        a.weight.fill_(1)\n", id="a-loop-then-a-write"),
    pytest.param("import torch\ndef f(a):\n    async for p in a:\n        p.weight.data.zero_()\n",
                 "import torch\ndef f(a):\n    async for p in a:\n        with torch.no_grad():\n            p.weight.zero_()\n",
                 id="async-for-is-not-wrapped"),
    pytest.param("def init(m):\n    m.weight.data.normal_(0.0, 0.02)\n    m.bias.data.zero_()\n",
                 "import torch\ndef init(m):\n    with torch.no_grad():\n        m.weight.normal_(0.0, 0.02)\n        m.bias.zero_()\n",
                 id="import-added-once"),
    pytest.param(P + "p.data.zero_(); p.data.add_(1)\np.data.add_(1)\n",
                 P + "p.data.zero_(); p.data.add_(1)\nwith torch.no_grad():\n    p.add_(1)\n",
                 id="a-line-of-two-statements-has-no-fix-and-ends-the-run"),
])
def test_merged_no_grad_block(source, fixed):
    result = fix_source(source, unsafe_fixes=True)
    assert result.source == fixed
    again = fix_source(fixed, unsafe_fixes=True)
    assert again.source == fixed and again.fixed == []


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_merged_block_keeps_the_newlines(newline):
    source = "import torch\ndef f(model):\n    for p in model.parameters():\n        p.data.mul_(2)\n        p.data.add_(1)\n"
    fixed = ("import torch\ndef f(model):\n    with torch.no_grad():\n        for p in model.parameters():\n"
             "            p.mul_(2)\n            p.add_(1)\n")
    assert fix_source(source.replace("\n", newline), unsafe_fixes=True).source == fixed.replace("\n", newline)


RUN = P + "p.data.zero_()\np.data.mul_(2)\np.data.add_(1)\n"
RUN_FIXED = P + "with torch.no_grad():\n    p.zero_()\n    p.mul_(2)\n    p.add_(1)\n"


def test_every_finding_of_a_run_carries_the_merged_fix():
    from tensorlint.core.fixer import apply_edits

    found = [d for d in check_source(RUN) if d.code == "TL202"]
    assert len(found) == 3 and len({d.fix for d in found}) == 1
    for diagnostic in found:  # an editor applying the fix of any one of them
        assert apply_edits(RUN, [diagnostic.fix])[0] == RUN_FIXED


def test_a_suppressed_write_in_the_middle_splits_the_run():
    source = RUN.replace("p.data.mul_(2)", "p.data.mul_(2)  # noqa: TL202")
    assert fix_source(source, unsafe_fixes=True).source == (
        P + "with torch.no_grad():\n    p.zero_()\np.data.mul_(2)  # noqa: TL202\nwith torch.no_grad():\n    p.add_(1)\n")


def _altered(source, diagnostics, change):
    """The diagnostics with their one shared fix's edits changed by `change(source, edits)`."""
    import dataclasses

    fix = diagnostics[0].fix
    altered = dataclasses.replace(fix, edits=tuple(change(source, list(fix.edits))))
    return [dataclasses.replace(d, fix=altered) for d in diagnostics]


LOOP = "import torch\ndef f(model):\n    for p in model.parameters():\n        p.data.mul_(2)\n        p.data.add_(1)\n"


def _extra(old, new):
    """One more edit: the first `old` in the source becomes `new`."""
    from tensorlint.core.diagnostics import Edit
    return lambda source, edits: edits + [Edit(source.index(old), source.index(old) + len(old), new)]


@pytest.mark.parametrize("source, change", [
    pytest.param(LOOP, _extra("parameters", "buffers"), id="the-loop-header-changed"),
    pytest.param(RUN, lambda s, edits: [e for e in edits if not (e.text == "    " and e.start == s.index("p.data.add_"))],
                 id="a-statement-left-outside-the-block"),
    pytest.param(RUN, _extra("mul_(2)", "mul_(2)\n    q = 1"), id="a-statement-added-inside-the-block"),
])
def test_the_check_refuses_a_wrap_that_is_not_exactly_the_run(source, change):
    """A wrapped run must be, statement for statement, the body of the `with` block its fix inserts;
    statements in it that hold no finding must stay as they were."""
    from tensorlint.core.fixer import FixError, apply_edits, check_pass

    found = [d for d in check_source(source) if d.code == "TL202"]
    check_pass(source, apply_edits(source, [found[0].fix])[0], found)  # the real fix passes
    altered = _altered(source, found, change)
    after = apply_edits(source, [altered[0].fix])[0]
    assert after != apply_edits(source, [found[0].fix])[0]
    with pytest.raises(FixError, match="changed code outside its edits"):
        check_pass(source, after, altered)


# -- the fixpoint loop with a chooser (what `fix --verify` applies) --------------------------------------
def _diagnose(source):
    return check_source(source, select=ALL)


def test_a_chooser_applies_only_the_fixes_it_picks_and_stops_when_it_picks_none():
    from tensorlint.core.fixer import fix_to_fixpoint
    source = H + "def f(a, b):\n    return a.cpu().numpy(), b.cpu().numpy()\n"
    offered = []

    def first_only(text, usable):
        offered.append(len(usable))
        return [usable[0].fix] if len(usable) == 2 else []

    result = fix_to_fixpoint(source, _diagnose, True, choose=first_only)
    assert result.source == H + "def f(a, b):\n    return a.detach().cpu().numpy(), b.cpu().numpy()\n"
    assert [d.line for d in result.fixed] == [4] and len(result.remaining) == 1
    assert offered == [2, 1]


def test_a_chooser_is_asked_even_when_nothing_is_left_to_fix():
    from tensorlint.core.fixer import fix_to_fixpoint
    asked = []
    result = fix_to_fixpoint(H + "x = 1\n", _diagnose, True, choose=lambda text, usable: asked.append(usable) or [])
    assert asked == [[]] and not result.changed


def test_a_chooser_gets_the_loops_guards():
    import dataclasses
    from tensorlint.core import fixer
    from tensorlint.core.diagnostics import Edit, Fix
    source = H + "def f(x):\n    return x.cpu().numpy()\n"

    def offering(edit):  # the first diagnostic, its fix replaced by `edit(text)`
        return lambda text: [dataclasses.replace(d, fix=Fix("altered", (edit(text),))) for d in _diagnose(text)[:1]]

    def every(text, usable):
        return [d.fix for d in usable]

    breaks = offering(lambda text: Edit(text.index("x.cpu()"), text.index("x.cpu()"), "(("))
    with pytest.raises(fixer.FixError, match="fix produced invalid code"):
        fixer.fix_to_fixpoint(source, breaks, True, choose=every)
    grows = offering(lambda text: Edit(text.index("numpy()") + 7, text.index("numpy()") + 7, " + 0"))
    with pytest.raises(fixer.FixError, match=f"fixes still apply after {fixer.MAX_PASSES} passes"):
        fixer.fix_to_fixpoint(source, grows, True, choose=every)
