"""`# noqa` comments added to a notebook's cells, each cell tokenized as it is linted (IPython syntax masked)."""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Tuple

from tensorlint.adapters.notebook.cells import rewrite_cells
from tensorlint.core.add_noqa import apply, moved_to, noqa_edits


def add_noqa_to_notebook(text: str, path: Optional[str], findings: Iterable) -> str:
    """The notebook `text` with `# noqa` comments in its cells for `findings` (NotebookDiagnostics:
    cell and line within the cell). Each cell is tokenized as it is linted (IPython syntax masked)."""
    wanted: Dict[int, List[Tuple[int, str]]] = {}
    for finding in findings:
        wanted.setdefault(finding.cell, []).append((finding.line, finding.code))

    def rewrite(cell: int, source: str, masked: str) -> str:
        if cell not in wanted:
            return source
        return apply(source, moved_to(masked, source, noqa_edits(masked, wanted[cell])))

    return rewrite_cells(text, path, rewrite)
