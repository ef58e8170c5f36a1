"""The one place that knows imports and tensor provenance. Every rule asks it; none re-derives it.

Names are loaded on first use (PEP 562): a check answered from the cache reads project summaries
(`crossmodule`) without loading libcst and the walker.
"""
from __future__ import annotations

import importlib

_WHERE = {"MAYBE": "facts", "NO": "facts", "YES": "facts", "Facts": "facts", "Tri": "facts",
          "ImportMap": "imports", "dotted_name": "imports", "Semantic": "semantic"}


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)


__all__ = ["Facts", "ImportMap", "MAYBE", "NO", "Semantic", "Tri", "YES", "dotted_name"]
