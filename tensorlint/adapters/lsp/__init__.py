"""`tensorlint lsp`: a language server over stdio (pygls), for editors.

It publishes tensorlint's diagnostics for open Python documents and the code cells of open
notebooks (LSP 3.17 `notebookDocument/*`), on open, change and save, and offers code actions:

* one quick fix per fixable diagnostic (the rule's fix; unsafe ones say "(unsafe)"),
* "Ignore TLxxx for this line (noqa)", which adds or extends a `# noqa:` comment,
* "Fix all safe tensorlint problems" (kind `source.fixAll.tensorlint`), what `tensorlint fix` would
  do, its edit worked out only when the action is chosen (`codeAction/resolve`),

and a hover with the rule's documentation over a finding. Each text is linted once; every request
is answered from that analysis, and an edit re-lints only the top-level statements it can have
changed (`incremental`). While a text does not parse, its last findings stay and the syntax error
is shown beside them (TL002).

Project settings (`[tool.tensorlint]` rule selection and the NumPy/torch range) are read for each
document's path, as `tensorlint check` reads them. Positions are converted from Python's characters
to the encoding agreed with the client (UTF-16 code units unless the client offers UTF-8 or UTF-32).
Optional `initializationOptions`: `{"select": ["TL1"], "ignore": ["TL404"]}` (code prefixes, applied
on top of `[tool.tensorlint]` as the command line's `--select`/`--ignore` are).

Modules: `text` (positions, edits), `incremental` (what an edit can change), `documents` (one
analysis per text), `links` (rule pages), `server` and `handlers` (pygls' server, imported by `serve()` only).
"""
from __future__ import annotations

import sys

__all__ = ["MISSING_EXTRA", "serve"]

MISSING_EXTRA = "tensorlint lsp needs pygls 2, a dependency of tensorlint missing here: pip install 'pygls>=2'"


def serve() -> int:
    """Run the language server on stdin/stdout until the client says exit. Returns the exit code."""
    try:
        import lsprotocol.types  # noqa: F401
        import pygls.lsp.server  # noqa: F401 - pygls 2.x
    except ImportError:
        print(MISSING_EXTRA, file=sys.stderr)
        return 2
    from tensorlint.adapters.lsp.handlers import build  # pygls: loaded once it is known to be installed
    server = build()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    real_stdout, sys.stdout = sys.stdout, sys.stderr  # a stray print must not corrupt the protocol stream
    try:
        server.start_io(stdin, stdout)
    finally:
        sys.stdout = real_stdout
        server.linter.shutdown(wait=False, cancel_futures=True)
    # LSP: exit code 0 after a shutdown request, 1 when the client exits (or vanishes) without one.
    return 0 if server.shutdown_requested else 1
