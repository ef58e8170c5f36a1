"""Jupyter notebooks (`.ipynb`): check and fix the code cells, leave every other byte of the file alone.

How a notebook is read
  * Only code cells of a Python notebook are linted (`metadata.kernelspec.language` or
    `metadata.language_info.name` must say Python when present; a VS Code cell whose
    `metadata.vscode.languageId` names another language is skipped). Markdown and raw cells never are.
  * The code cells are linted as ONE virtual module, in document order, so names imported or values made
    in an earlier cell are known in a later one (the order a notebook is normally run in, top to bottom).
  * IPython syntax is masked, never linted nor fixed: line magics (`%matplotlib inline`), shell escapes
    (`!pip install x`, `!!ls`), help (`?obj`, `obj??`), the autocall escapes `,` `;` `/`, and assignments
    from them (`files = !ls`, `t = %timeit -o f()`). Each such line becomes `pass` (or `target = None`
    for an assignment) in the virtual module, so line numbers stay; a trailing backslash continues the
    masked line. Lines are masked only where a statement starts (never inside a string or brackets).
  * A cell that starts with a cell magic (`%%bash`, `%%writefile`, `%%html`, ...) is skipped whole,
    except `%%time`, `%%timeit`, `%%capture`, `%%prun` and `%%debug`, whose body is Python and is linted.
  * Every linted cell must parse on its own (top-level `await` allowed, as in IPython); otherwise a
    NotebookError names the cell, like a syntax error in a `.py` file.

Positions
  * `cell N:line:col`: N is the cell's 1-based index among ALL cells of the notebook (markdown included,
    as they appear in the file), line is 1-based within the cell, col 1-based when printed.
    `NotebookDiagnostic.format(path)` gives `path:cell 3:2:5: TL101 message`.
  * The flat form, `NotebookDiagnostic.format_flat(path)` -> `path:LINE:COL: TL101 message`, points into
    the `.ipynb` file itself: the line and column of that character inside the cell's JSON string.
    That is the one location tools that address files by line (editors jumping to `path:line:col`, GitHub
    annotations, SARIF regions) can place correctly; a line in the concatenated cells would match nothing
    on disk. `.file_line` / `.file_col` hold it (1-based line, 0-based col, as Diagnostic).

Fixing
  * A fix is applied only when all its edits lie in the flagged cell and touch no masked line; any other
    fix (for example one that would add `import torch` to the first cell for a finding in a later one)
    is left unapplied and its diagnostic is reported without a fix.
  * Only the `source` values of the changed cells are rewritten, in place: key order, indentation,
    newline style, `ensure_ascii` style, cell ids, outputs, metadata and execution counts keep their bytes.
    A list source stays a list (every element but the last ends with "\\n", as Jupyter writes it;
    unchanged lines keep their exact original JSON text), a string source stays a string.

Modules: `cells` (reading and rewriting the file), `masking` (IPython syntax), `lint` (the virtual module: check,
fix, findings placed in cells and in the file), `noqa` (`--add-noqa` in cells).
"""
