"""The counting position pass gives exactly libcst's PositionProvider spans, node by node."""
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from tensorlint.core.positions import NodePositions

ROOT = Path(__file__).resolve().parents[2]
REPO_SOURCES = sorted(p for folder in ("tensorlint", "tests", "fixtures", "examples")
                      for p in (ROOT / folder).rglob("*.py"))
ODD_SOURCES = {
    "crlf": "import torch\r\nx = torch.ones(2)\r\nif x:\r\n    y = x.numpy()\r\n",
    "lone_cr": "a = 1\rb = (a +\r  2)\r",
    "mixed": "a = 1\r\nb = 2\nc = [\r\n  3]\r",
    "no_trailing_newline": "def f(x):\n    return x.data",
    "empty": "",
    "only_comment": "# just a comment",
    "tabs": "if True:\n\tx = 1\n\tif x:\n\t\ty = {'a': [1,\n\t\t  2]}\n",
    "form_feed": "x = 1\n\x0c\ndef f():\n    return (1 +\n            2)\n",
    "unicode": "s = 'héllo wörld ∑'  # ünïcode\nt = s.upper()  ; u = f'{t!r:>10}'\n",
    "continuation": "x = 1 + \\\n    2\nwith open('f') as a, \\\n     open('g') as b:\n    pass\n",
    "decorated": "@dec\n@other(1)\nclass A(B, metaclass=M):\n    '''doc'''\n    def f(self, *a, **k) -> int: ...\n",
    "parenthesised": "y = ((a).b)(c)[d]\nz = (yield_ := lambda q=(1): q)\n",
}


def _same_positions(source: str) -> None:
    module = cst.parse_module(source)
    expected = PositionProvider()._gen(MetadataWrapper(module, unsafe_skip_copy=True))
    positions = NodePositions(module)
    for node, code_range in expected.items():
        want = (code_range.start.line, code_range.start.column, code_range.end.line, code_range.end.column)
        assert positions.span(node) == want, (type(node).__name__, module.code_for_node(node))


@pytest.mark.parametrize("name", sorted(ODD_SOURCES))
def test_odd_sources(name):
    _same_positions(ODD_SOURCES[name])


def test_every_source_file_of_the_repository():
    assert len(REPO_SOURCES) > 50
    for path in REPO_SOURCES:
        source = path.read_text(encoding="utf-8")
        try:
            _same_positions(source)
        except cst.ParserSyntaxError:
            continue  # fixtures of bad input
