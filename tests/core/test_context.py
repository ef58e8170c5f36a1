"""core/context.py: where SourceContext.import_edit puts an import, and what it skips."""
from __future__ import annotations

import libcst as cst
import pytest

from tensorlint.core.context import SourceContext


def _inserted(source: str) -> str:
    context = SourceContext(source, cst.parse_module(source))
    edit = context.import_edit("import torch")
    return source[:edit.start] + edit.text + source[edit.end:]


@pytest.mark.parametrize("source, expected", [
    pytest.param("x = 1\n", "import torch\nx = 1\n", id="first line"),
    pytest.param('"""Doc."""\nx = 1\n', '"""Doc."""\nimport torch\nx = 1\n', id="after the docstring"),
    pytest.param("from __future__ import annotations\nx = 1\n", "from __future__ import annotations\nimport torch\nx = 1\n",
                 id="after __future__ imports"),
    pytest.param("# c\n@d\nclass C:\n    pass\n", "# c\nimport torch\n@d\nclass C:\n    pass\n", id="before the decorator"),
    pytest.param("\x0cx = 1\n", "import torch\n\x0cx = 1\n", id="at the line start, before a form feed"),
    pytest.param('"""Doc."""', '"""Doc."""\nimport torch\n', id="at the end when nothing follows"),
    pytest.param("x = 1\r\n", "import torch\r\nx = 1\r\n", id="the file's newline"),
])
def test_import_edit(source, expected):
    assert _inserted(source) == expected


def test_every_fix_gets_the_same_edit():
    source = "x = 1\n"
    context = SourceContext(source, cst.parse_module(source))
    assert context.import_edit("import torch") == context.import_edit("import torch")
    assert context.first_statement_index() == 0
