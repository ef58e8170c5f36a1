"""Notebooks: code cells linted as one module, IPython syntax masked, the file rewritten only where fixed."""
from __future__ import annotations

import ast
import difflib
import json
import re
from pathlib import Path
from typing import List, Optional

import pytest

from tensorlint.api import check_source, fix_source
from tensorlint.adapters.notebook.cells import NotebookError, is_notebook, split_source
from tensorlint.adapters.notebook.lint import NotebookDiagnostic, check_notebook, fix_notebook
from tensorlint.core.settings import Settings

DATA = Path(__file__).resolve().parents[1] / "data" / "notebooks"
SETTINGS = Settings()  # no project metadata lookup: the tests do not depend on where they run
DETACHED = "out.detach().cpu().numpy()"


def read(name: str) -> str:
    with open(DATA / name, encoding="utf-8", newline="") as handle:
        return handle.read()


def notebook(*cells, indent: Optional[int] = 1, ensure_ascii: bool = False, language: str = "python",
             as_lists: bool = True, **dump) -> str:
    """A notebook as Jupyter writes it: code cells from strings, ("markdown", text) / ("raw", text) tuples."""
    built = []
    for number, cell in enumerate(cells):
        kind, source = cell if isinstance(cell, tuple) else ("code", cell)
        entry = {"cell_type": kind, "id": f"cell-{number}", "metadata": {},
                 "source": split_source(source) if as_lists else source}
        if kind == "code":
            entry.update(execution_count=number + 1, outputs=[{"name": "stdout", "output_type": "stream",
                                                               "text": [f"run {number} — ok\n"]}])
        built.append(entry)
    data = {"cells": built,
            "metadata": {"kernelspec": {"display_name": language, "language": language, "name": language},
                         "language_info": {"name": language}},
            "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(data, sort_keys=True, indent=indent, ensure_ascii=ensure_ascii, **dump) + "\n"


def found(diagnostics: List[NotebookDiagnostic]):
    return [(d.cell, d.line, d.col + 1, d.code) for d in diagnostics]


def sources(text: str) -> List[str]:
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in json.loads(text)["cells"]]


def changed_lines(before: str, after: str):
    """Lines of the file removed and added by the fix, in order."""
    diff = list(difflib.ndiff(before.splitlines(True), after.splitlines(True)))
    return ([line[2:] for line in diff if line.startswith("- ")], [line[2:] for line in diff if line.startswith("+ ")])


IMPORTS = "import numpy as np\nimport torch\n"
MODEL = "model = torch.nn.Linear(3, 1).cuda()\nout = model(torch.randn(2, 3))\n"
CONVERT = "arr = out.numpy()\n"


# -- positions -----------------------------------------------------------------------------------
def test_sample_notebook_findings_and_positions():
    text = read("hazards.ipynb")
    diagnostics = check_notebook(text, "nb/hazards.ipynb", settings=SETTINGS)
    # cell 4: `out` comes from `model(...)` in cell 3; cell 6 is a `%%time` cell; cell 7's tensor is a fresh host one
    assert found(diagnostics) == [(4, 1, 7, "TL101"), (4, 1, 7, "TL102"), (6, 2, 8, "TL101"), (6, 2, 8, "TL102")]
    first = diagnostics[0]
    assert first.format("nb/hazards.ipynb") == (
        # The evidence names where `model(...)` is in the notebook's terms (cell 3, its line 4), not a line of
        # the cells joined together, which the user never sees.
        "nb/hazards.ipynb:cell 4:1:7: TL101 `.numpy()` on a tensor that may require grad (`out` comes from "
        "`model(torch.randn(2, 3))` (cell 3, line 4)): insert `.detach()` "
        "first (raises \"RuntimeError: Can't call numpy() on Tensor that requires grad\")")
    assert first.format_flat("nb/hazards.ipynb").startswith("nb/hazards.ipynb:66:12: TL101 ")
    assert first.cell_id == "convert"
    assert first.fix is not None and first.fix.is_safe


def test_flat_positions_point_into_the_file():
    for name in ("hazards.ipynb", "string_sources.ipynb"):
        text = read(name)
        lines = text.split("\n")
        for diagnostic in check_notebook(text, name, settings=SETTINGS):
            at = lines[diagnostic.file_line - 1][diagnostic.file_col:]
            assert at.startswith(("out.numpy()", "model(torch", "y.numpy()")), (name, diagnostic, at)


def test_cell_relative_diagnostic_indexes_the_cell_source():
    text = notebook("import torch\n", "%matplotlib inline\n" + MODEL, "x = 1\n\n" + CONVERT)
    (diagnostic, _) = check_notebook(text, settings=SETTINGS)
    local = diagnostic.diagnostic
    assert (diagnostic.cell, local.line, local.col) == (3, 3, 6)
    cell_source = sources(text)[2]
    assert cell_source[local.start_offset:local.end_offset] == "out.numpy()"
    (edit,) = local.fix.edits
    assert cell_source[:edit.start] + edit.text + cell_source[edit.end:] == "x = 1\n\narr = " + DETACHED + "\n"


def test_cell_numbers_count_every_cell():
    text = notebook(("markdown", "# Title\n"), IMPORTS + MODEL, ("raw", "raw text\n"), ("markdown", "more\n"), CONVERT)
    assert found(check_notebook(text, settings=SETTINGS)) == [(5, 1, 7, "TL101"), (5, 1, 7, "TL102")]


# -- what is linted --------------------------------------------------------------------------------
def test_markdown_and_raw_cells_with_code_like_text_are_ignored():
    hazard = IMPORTS + MODEL + CONVERT
    text = notebook(("markdown", "```python\n" + hazard + "```\n"), ("raw", hazard), ("markdown", hazard))
    assert check_notebook(text, settings=SETTINGS) == []
    assert fix_notebook(text, settings=SETTINGS) == (text, [], [])


def test_cells_share_imports_and_provenance_in_order():
    alone = notebook(CONVERT)
    assert check_notebook(alone, settings=SETTINGS) == []  # nothing says what `out` is: only TL105 reports it
    (unknown,) = check_notebook(alone, select=["TL1", "TL105"], settings=SETTINGS)
    assert unknown.code == "TL105" and not unknown.fix.is_safe

    together = notebook(IMPORTS, MODEL, CONVERT)
    (grad, device) = check_notebook(together, settings=SETTINGS)
    assert (grad.cell, grad.code, device.code) == (3, "TL101", "TL102")
    assert grad.fix.is_safe  # `out` is a model output: cell 2, with `torch` from cell 1

    under_no_grad = "model = torch.nn.Linear(3, 1).cuda()\nwith torch.no_grad():\n    out = model(torch.ones(1, 3))\n"
    no_grad = notebook(IMPORTS, under_no_grad, CONVERT)
    assert found(check_notebook(no_grad, settings=SETTINGS)) == [(3, 1, 7, "TL102")]


def test_noqa_in_a_cell():
    text = notebook(IMPORTS + MODEL, "arr = out.numpy()  # noqa: TL101\n")
    assert found(check_notebook(text, settings=SETTINGS)) == [(2, 1, 7, "TL102")]


def test_select_and_ignore():
    text = notebook(IMPORTS + MODEL + CONVERT)
    assert found(check_notebook(text, select=["TL102"], settings=SETTINGS)) == [(1, 5, 7, "TL102")]
    assert found(check_notebook(text, ignore=["TL1"], settings=SETTINGS)) == []


MAGICS = """\
%matplotlib inline
%load_ext autoreload
!pip install torch==2.13.0
!!ls -la
files = !ls *.pt
timing = %timeit -o model(torch.ones(1, 3))
np.linalg.norm?
?torch.nn.Linear
torch.nn??
for name in files:
    !echo {name} \\
        --and-more
    %time load(name)
x = torch.zeros(3).numpy()
arr = out.numpy()
"""


def test_magics_and_shell_escapes_are_masked():
    text = notebook(IMPORTS + MODEL, MAGICS)
    assert found(check_notebook(text, settings=SETTINGS)) == [(2, 15, 7, "TL101"), (2, 15, 7, "TL102")]
    fixed = fix_notebook(text, settings=SETTINGS)
    assert sources(fixed.source)[1] == MAGICS.replace("arr = out.numpy()", "arr = " + DETACHED)


def test_hazards_inside_magics_are_neither_reported_nor_touched():
    cell = ("%time arr = out.numpy()\n!python -c 'out.numpy()'\nresult = !python -c 'out.numpy()'\n"
            "out.numpy?\n")
    text = notebook(IMPORTS + MODEL, cell)
    assert check_notebook(text, settings=SETTINGS) == []
    assert fix_notebook(text, unsafe_fixes=True, settings=SETTINGS).source == text


def test_lines_inside_strings_and_brackets_are_not_magics():
    cell = ('doc = """\n%d items\n!important\nwhat?\n"""\ntotal = sum([\n    1,\n    2,\n])\n'
            "arr = out.numpy()\n")
    text = notebook(IMPORTS + MODEL, cell)
    assert found(check_notebook(text, settings=SETTINGS)) == [(2, 10, 7, "TL101"), (2, 10, 7, "TL102")]
    assert sources(fix_notebook(text, settings=SETTINGS).source)[1] == cell.replace("out.numpy()", DETACHED)


def test_cell_magics():
    body = "pred = model(torch.randn(4, 3)).numpy()\n"
    for magic in ("%%time", "%%timeit -n 1", "%%capture captured"):  # Python bodies: linted and fixed
        text = notebook(IMPORTS + MODEL, f"{magic}\n{body}")
        assert found(check_notebook(text, settings=SETTINGS)) == [(2, 2, 8, "TL101"), (2, 2, 8, "TL102")]
        assert sources(fix_notebook(text, settings=SETTINGS).source)[1] == (
            f"{magic}\n" + body.replace(".numpy()", ".detach().cpu().numpy()"))
    for magic in ("%%bash", "%%writefile train.py", "%%html", "%%script python"):  # not Python: skipped whole
        text = notebook(IMPORTS + MODEL, "\n" + magic + "\n" + body + "this is { not python\n")
        assert check_notebook(text, settings=SETTINGS) == []
        assert fix_notebook(text, unsafe_fixes=True, settings=SETTINGS).source == text


def test_top_level_await_is_allowed():
    text = notebook(IMPORTS + MODEL, "data = await fetch()\n" + CONVERT)
    assert found(check_notebook(text, settings=SETTINGS)) == [(2, 2, 7, "TL101"), (2, 2, 7, "TL102")]


def test_other_languages_are_skipped():
    hazard = IMPORTS + MODEL + CONVERT
    assert check_notebook(notebook(hazard, language="R"), settings=SETTINGS) == []
    vscode = json.loads(notebook(hazard, "SELECT * FROM t\n"))
    vscode["cells"][1]["metadata"] = {"vscode": {"languageId": "sql"}}
    assert found(check_notebook(json.dumps(vscode), settings=SETTINGS)) == [(1, 5, 7, "TL101"), (1, 5, 7, "TL102")]


# -- fixing preserves the file ---------------------------------------------------------------------
def test_fix_changes_only_the_fixed_lines_of_the_sample():
    text = read("hazards.ipynb")
    result = fix_notebook(text, "hazards.ipynb", settings=SETTINGS)
    assert [d.code for d in result.fixed] == ["TL101", "TL102", "TL101", "TL102"] and result.remaining == []
    removed, added = changed_lines(text, result.source)
    assert removed == ['    "arr = out.numpy()  # cell 4 uses `out` from cell 3\\n",\n',
                       '    "pred = model(torch.randn(4, 3)).numpy()\\n"\n']
    assert added == ['    "arr = out.detach().cpu().numpy()  # cell 4 uses `out` from cell 3\\n",\n',
                     '    "pred = model(torch.randn(4, 3)).detach().cpu().numpy()\\n"\n']
    before, after = json.loads(text), json.loads(result.source)
    for number, (old, new) in enumerate(zip(before["cells"], after["cells"])):
        assert list(old) == list(new)  # key order
        assert {k: v for k, v in old.items() if k != "source"} == {k: v for k, v in new.items() if k != "source"}
        if number not in (3, 5):
            assert old["source"] == new["source"]
    assert {k: v for k, v in before.items() if k != "cells"} == {k: v for k, v in after.items() if k != "cells"}
    assert after["cells"][3]["source"] == ["arr = out.detach().cpu().numpy()  # cell 4 uses `out` from cell 3\n",
                                           "print(arr.shape)\n"]
    assert result.source.endswith("}\n") and "résumé" in result.source and "— ok" in result.source


def test_fix_keeps_string_sources_two_space_indent_ascii_escapes_and_no_final_newline():
    text = read("string_sources.ipynb")
    result = fix_notebook(text, "string_sources.ipynb", settings=SETTINGS)
    assert result.source == text.replace("values = y.numpy()", "values = y.detach().cpu().numpy()")
    assert "caf\\u00e9" in result.source and not result.source.endswith("\n")


@pytest.mark.parametrize("indent", [None, 1, 2, 4, "\t"])
@pytest.mark.parametrize("ensure_ascii", [False, True])
def test_fix_rewrites_a_source_in_the_file_own_style(indent, ensure_ascii):
    cell = "# données → tableau\narr = out.numpy()  # é\nprint(arr)"
    text = notebook(IMPORTS + MODEL, cell, indent=indent, ensure_ascii=ensure_ascii)
    result = fix_notebook(text, settings=SETTINGS)
    expected = notebook(IMPORTS + MODEL, cell.replace("out.numpy()", DETACHED), indent=indent,
                        ensure_ascii=ensure_ascii)
    assert result.source == expected


def test_fix_keeps_compact_separators():
    cell = "arr = out.numpy()\nprint(arr)\n"
    for separators in ((",", ":"), (", ", ": ")):
        text = notebook(IMPORTS + MODEL, cell, indent=None, separators=separators)
        result = fix_notebook(text, settings=SETTINGS)
        assert result.source == notebook(IMPORTS + MODEL, cell.replace("out.numpy()", DETACHED), indent=None,
                                         separators=separators)


def test_fix_keeps_crlf_files():
    text = notebook(IMPORTS + MODEL, CONVERT + "print(arr)\n").replace("\n", "\r\n")
    result = fix_notebook(text, settings=SETTINGS)
    assert result.source == text.replace("out.numpy()", DETACHED)


def test_fix_keeps_unchanged_items_byte_for_byte():
    # Items written with unusual escapes (`\/`, `\u0041`) keep them when a neighbouring line is fixed.
    text = notebook(IMPORTS + MODEL, "path = 'a/b'\n" + CONVERT + "name = 'A'\n")
    text = text.replace('"path = \'a/b\'\\n"', '"path = \'a\\/b\'\\n"')
    text = text.replace('"name = \'A\'\\n"', '"name = \'\\u0041\'\\n"')
    assert "a\\/b" in text and "\\u0041" in text
    result = fix_notebook(text, settings=SETTINGS)
    assert result.source == text.replace("out.numpy()", DETACHED)


def test_fix_that_adds_lines_keeps_a_list_source_in_jupyter_form():
    cell = "for p in model.parameters():\n    p.data.add_(1)\nprint('done')"
    text = notebook(IMPORTS + MODEL, cell)
    result = fix_notebook(text, unsafe_fixes=True, settings=SETTINGS)
    assert [d.code for d in result.fixed] == ["TL202"]
    source = json.loads(result.source)["cells"][1]["source"]
    assert source == ["with torch.no_grad():\n", "    for p in model.parameters():\n", "        p.add_(1)\n",
                      "print('done')"]  # a loop of only `.data` writes is wrapped whole
    removed, added = changed_lines(text, result.source)
    assert removed == ['    "for p in model.parameters():\\n",\n', '    "    p.data.add_(1)\\n",\n']
    assert added == ['    "with torch.no_grad():\\n",\n', '    "    for p in model.parameters():\\n",\n',
                     '    "        p.add_(1)\\n",\n']


def test_fix_that_needs_another_cell_is_not_applied():
    # Without `import torch` anywhere, the TL202 fix adds one at the top of the module: that is cell 1, and
    # a fix may only edit the cell it fixes, so the finding stays, without a fix.
    data = "for p in model.parameters():\n    p.data.add_(1)\n"
    text = notebook("import numpy as np\n", data)
    (diagnostic,) = check_notebook(text, settings=SETTINGS)
    assert (diagnostic.cell, diagnostic.code, diagnostic.fix) == (2, "TL202", None)
    result = fix_notebook(text, unsafe_fixes=True, settings=SETTINGS)
    assert result.source == text and result.fixed == [] and found(result.remaining) == [(2, 2, 5, "TL202")]
    # In the first cell itself the import may be added.
    first = notebook("import numpy as np\n" + data)
    fixed = fix_notebook(first, unsafe_fixes=True, settings=SETTINGS)
    assert sources(fixed.source) == ["import torch\nimport numpy as np\nwith torch.no_grad():\n"
                                     "    for p in model.parameters():\n        p.add_(1)\n"]


def test_fix_is_idempotent():
    for text in (read("hazards.ipynb"), read("string_sources.ipynb"), notebook(IMPORTS, MODEL, MAGICS)):
        once = fix_notebook(text, settings=SETTINGS)
        assert once.fixed
        twice = fix_notebook(once.source, settings=SETTINGS)
        assert twice.source == once.source and twice.fixed == [] and twice.remaining == once.remaining


def test_remaining_positions_refer_to_the_fixed_file():
    cell = "arr = out.numpy()\nx = np.float_(1)\n"
    text = notebook(IMPORTS + MODEL, cell)
    result = fix_notebook(text, select=["TL101", "TL302"], settings=SETTINGS)  # TL302's fix is safe
    assert found(result.fixed) == [(2, 1, 7, "TL101"), (2, 2, 5, "TL302")]
    assert result.remaining == []
    unsafe_only = notebook(CONVERT)  # unknown `out`: only the opt-in TL105 reports it; its fix is unsafe, so it remains
    kept = fix_notebook(unsafe_only + "", select=["TL1", "TL105"], settings=SETTINGS)
    assert kept.source == unsafe_only and found(kept.remaining) == [(1, 1, 7, "TL105")]
    line = kept.source.split("\n")[kept.remaining[0].file_line - 1]
    assert line[kept.remaining[0].file_col:].startswith("out.numpy()")


def test_fix_result_unpacks_as_a_triple():
    new_text, fixed, remaining = fix_notebook(notebook(IMPORTS + MODEL + CONVERT), settings=SETTINGS)
    assert DETACHED in new_text and len(fixed) == 2 and remaining == []


# -- errors ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, message", [
    ("", "nb.ipynb:1:1: not a Jupyter notebook: invalid JSON (Expecting value)"),
    ('{"cells": [}', "nb.ipynb:1:12: not a Jupyter notebook: invalid JSON (Expecting value)"),
    ("import torch\n", "nb.ipynb:1:1: not a Jupyter notebook: invalid JSON (Expecting value)"),
    ("[1, 2]", "nb.ipynb: not a Jupyter notebook (the JSON is not an object)"),
    ('{"metadata": {}}', 'nb.ipynb: not a Jupyter notebook (no "cells" list)'),
    ('{"nbformat": 3, "worksheets": [{"cells": []}]}', "nb.ipynb: nbformat 3 notebooks are not supported"),
    ('{"nbformat": 4, "cells": [1]}', "nb.ipynb: cell 1 is not a JSON object"),
    ('{"nbformat": 4, "cells": [{"cell_type": "code", "source": 5}]}',
     'nb.ipynb: cell 1: "source" must be a string or a list of strings'),
])
def test_not_a_notebook(text, message):
    for call in (check_notebook, fix_notebook):
        with pytest.raises(NotebookError) as error:
            call(text, "nb.ipynb", settings=SETTINGS)
        assert str(error.value).startswith(message)
        assert "\n" not in str(error.value)


def test_a_cell_that_does_not_parse():
    text = notebook(IMPORTS, ("markdown", "text\n"), "x = 1\nif x\n    pass\n")
    with pytest.raises(NotebookError) as error:
        check_notebook(text, "nb.ipynb", settings=SETTINGS)
    assert re.fullmatch(r"nb\.ipynb:cell 3:2:5: cannot parse: .+", str(error.value))
    # a cell continued in the next one is not Python either, even though the joined text would be
    with pytest.raises(NotebookError, match=r"cell 1:1:\d+: cannot parse"):
        check_notebook(notebook("x = (1,\n", "2)\n"), "nb.ipynb", settings=SETTINGS)


def test_is_notebook():
    assert is_notebook("a/b.ipynb") and is_notebook("B.IPYNB") and not is_notebook("a.py") and not is_notebook(None)


# -- a notebook made of a .py file's statements behaves as the .py file ------------------------------
ROOT = Path(__file__).resolve().parents[2]
PY_FILES = sorted(p for pattern in ("fixtures/**/*.py", "examples/*.py") for p in ROOT.glob(pattern))


def as_cells(text: str) -> List[str]:
    """The file cut into cells of two top-level statements each (comments go with the next statement)."""
    tree = ast.parse(text)
    starts = [min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) for node in tree.body]
    lines = text.splitlines(True)
    cuts = sorted({1, *starts[1::2]})
    cells = ["".join(lines[a - 1:b - 1]) for a, b in zip(cuts, cuts[1:] + [len(lines) + 1])]
    return [cell for cell in cells if cell]


@pytest.mark.parametrize("path", PY_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_file_split_into_cells_gives_the_same_findings_and_fixes(path):
    text = path.read_text(encoding="utf-8")
    cells = as_cells(text)
    assert "".join(cells) == text and len(cells) > 1
    nb = notebook(*cells)
    firsts, offsets = [0], [0]
    for cell in cells:
        firsts.append(firsts[-1] + len(cell.splitlines()))
        offsets.append(offsets[-1] + len(cell))
    expected, crossing = [], False
    for diagnostic in check_source(text, settings=SETTINGS):
        cell = max(i for i in range(len(cells)) if firsts[i] < diagnostic.line)
        fixable = diagnostic.fix is not None and all(  # an insertion at a cell's end belongs to the next cell
            offsets[cell] <= edit.start and edit.end <= offsets[cell + 1] and edit.start < offsets[cell + 1]
            for edit in diagnostic.fix.edits)
        crossing |= diagnostic.fix is not None and not fixable  # e.g. `import torch` added in cell 1
        expected.append((cell + 1, diagnostic.line - firsts[cell], diagnostic.col + 1, diagnostic.code, fixable))
    got = [(d.cell, d.line, d.col + 1, d.code, d.fix is not None) for d in check_notebook(nb, settings=SETTINGS)]
    assert got == sorted(expected)
    for unsafe in (False, True):
        fixed = fix_notebook(nb, unsafe_fixes=unsafe, settings=SETTINGS)
        if not crossing:
            assert "".join(sources(fixed.source)) == fix_source(text, unsafe_fixes=unsafe, settings=SETTINGS).source
