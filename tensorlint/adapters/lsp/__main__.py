"""`python -m tensorlint.adapters.lsp`: the language server, as `tensorlint lsp` starts it."""
import sys

from tensorlint.adapters.lsp import serve

sys.exit(serve())
