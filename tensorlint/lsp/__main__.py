"""`python -m tensorlint.lsp`: the language server, as `tensorlint lsp` starts it."""
import sys

from . import serve

sys.exit(serve())
