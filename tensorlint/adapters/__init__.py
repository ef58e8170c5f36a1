"""Thin adaptors over the engine: the command line, flake8, the language server, notebooks."""
