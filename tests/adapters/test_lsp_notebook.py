"""`tensorlint lsp` and notebooks (LSP 3.17 `notebookDocument/*`): diagnostics and quick fixes per cell,
over stdio, as VS Code and other notebook editors speak them."""
from pathlib import Path

from tensorlint.adapters.notebook.lint import check_cells
from test_lsp import apply, by_title, client, edits_of  # noqa: F401 (client is a fixture)

CELLS = [
    ("code", "import numpy as np\nimport torch\n"),
    ("markdown", "# Notes\nout.numpy() is not code here\n"),
    ("code", "out = torch.ones(3).cuda()\n%matplotlib inline\narr = out.numpy()\n"),
    ("code", "y = np.float(1)\n"),
]
CODE, MARKDOWN = 2, 1


def open_notebook(lsp, path, cells=CELLS):
    notebook = Path(path).as_uri()
    uris = [f"{notebook}#cell{index}" for index in range(len(cells))]
    for uri in uris:
        lsp.versions[uri] = 1
    lsp.notify("notebookDocument/didOpen", {
        "notebookDocument": {"uri": notebook, "notebookType": "jupyter-notebook", "version": 1, "cells": [
            {"kind": CODE if kind == "code" else MARKDOWN, "document": uri} for (kind, _), uri in zip(cells, uris)]},
        "cellTextDocuments": [{"uri": uri, "languageId": "python" if kind == "code" else "markdown", "version": 1,
                               "text": text} for (kind, text), uri in zip(cells, uris)]})
    return notebook, uris


def edit_cell(lsp, notebook, uri, text):
    lsp.versions[uri] += 1
    lsp.notify("notebookDocument/didChange", {
        "notebookDocument": {"uri": notebook, "version": lsp.versions[uri]},
        "change": {"cells": {"textContent": [{"document": {"uri": uri, "version": lsp.versions[uri]},
                                              "changes": [{"text": text}]}]}}})


def codes(diagnostics):
    return [(d["code"], d["range"]["start"]["line"], d["range"]["start"]["character"]) for d in diagnostics]


def test_notebook_cells_get_their_diagnostics_and_quick_fixes(client, tmp_path):
    lsp = client(capabilities={"notebookDocument": {"synchronization": {}},
                               "workspace": {"workspaceEdit": {"documentChanges": True}}})
    sync = lsp.initialize_result["capabilities"]["notebookDocumentSync"]
    assert sync["notebookSelector"] == [{"notebook": "*", "cells": [{"language": "python"}]}]
    notebook, uris = open_notebook(lsp, tmp_path / "explore.ipynb")

    expected = check_cells([text if kind == "code" else None for kind, text in CELLS])
    published = {uri: lsp.diagnostics(uri) for uri in uris}
    for index, uri in enumerate(uris):
        found = [(d.code, d.line - 1, d.col) for d in expected if d.cell == index + 1]
        assert codes(published[uri]) == found, index
    assert {d.cell for d in expected} == {3, 4}  # the markdown cell's `out.numpy()` is not code

    # A quick fix in cell 3 (its `%matplotlib` line is masked, never edited): edits of that cell's text.
    (finding,) = [d for d in expected if d.cell == 3]
    actions = by_title(lsp.code_actions(uris[2], (2, 8), (2, 8), published[uris[2]]))
    fix = actions[finding.fix.title]
    assert fix["edit"]["documentChanges"][0]["textDocument"] == {"uri": uris[2], "version": 1}
    fixed = apply(CELLS[2][1], edits_of(fix, uris[2]))
    assert fixed == CELLS[2][1].replace("out.numpy()", "out.detach().cpu().numpy()")
    assert "Fix all safe tensorlint problems" not in actions  # whole-file fixes are for files

    edit_cell(lsp, notebook, uris[2], fixed)
    assert lsp.diagnostics(uris[2]) == []
    assert codes(lsp.diagnostics(uris[3])) == [(d.code, d.line - 1, d.col) for d in expected if d.cell == 4]

    # A cell that stops parsing: its syntax error beside the findings the cells had.
    edit_cell(lsp, notebook, uris[3], "y = np.float(1)\ndef oops(:\n")
    broken = lsp.diagnostics(uris[3])
    assert [d["code"] for d in broken] == ["TL301", "TL002"]
    assert broken[1]["range"]["start"]["line"] == 1 and broken[1]["severity"] == 1
    assert lsp.code_actions(uris[3], (0, 5), (0, 5)) == []

    # Cell 4 deleted: its diagnostics are cleared, the notebook parses again.
    lsp.notify("notebookDocument/didChange", {
        "notebookDocument": {"uri": notebook, "version": 9},
        "change": {"cells": {"structure": {"array": {"start": 3, "deleteCount": 1},
                                           "didClose": [{"uri": uris[3]}]}}}})
    cleared = lsp.wait_for("textDocument/publishDiagnostics",
                           lambda p: p["uri"] == uris[3] and "version" not in p)
    assert cleared["diagnostics"] == []

    lsp.notify("notebookDocument/didClose", {"notebookDocument": {"uri": notebook},
                                             "cellTextDocuments": [{"uri": uri} for uri in uris[:3]]})
    for uri in uris[:3]:
        assert lsp.wait_for("textDocument/publishDiagnostics",
                            lambda p: p["uri"] == uri and "version" not in p)["diagnostics"] == []
    assert lsp.close() == 0
    assert "Traceback" not in lsp.stderr_text()


def test_cells_are_one_module_in_order(client, tmp_path):
    """Names made in an earlier cell are known in a later one, as `tensorlint check` reads a notebook."""
    lsp = client(capabilities={"notebookDocument": {"synchronization": {}}})
    cells = [("code", "import torch\nx = torch.ones(2, requires_grad=True)\n"), ("code", "pred = x.numpy()\n")]
    notebook, uris = open_notebook(lsp, tmp_path / "two.ipynb", cells)
    assert [d["code"] for d in lsp.diagnostics(uris[1])] == ["TL101"]
    # An edit in the first cell changes what the second one's `x` is.
    edit_cell(lsp, notebook, uris[0], "import torch\nx = torch.ones(2)\n")
    assert lsp.wait_for("textDocument/publishDiagnostics",
                        lambda p: p["uri"] == uris[1] and p["diagnostics"] == [], timeout=30)
    assert lsp.close() == 0
