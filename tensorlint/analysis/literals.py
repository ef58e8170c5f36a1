"""What a literal says on its own: the text of a string, the truth of a constant.

By node type name, without importing libcst: a check answered from the cache decodes summaries
(crossmodule) without loading the parser.
"""
from __future__ import annotations

from typing import Optional


def string_value(node) -> Optional[str]:
    """The text of a plain string literal (`"cuda:0"`), None for anything else (bytes, f-strings, names)."""
    if type(node).__name__ == "SimpleString":
        try:
            value = node.evaluated_value
        except Exception:  # noqa: BLE001 - bytes or odd prefixes: not a device name
            return None
        return value if isinstance(value, str) else None
    return None


def literal_truth(node) -> Optional[bool]:
    """The truth value of a literal argument (`True`, `None`, `0`, `"x"`), None for anything else."""
    kind = type(node).__name__
    if kind == "Name" and node.value in ("True", "False", "None"):
        return node.value == "True"
    if kind in ("Integer", "Float"):
        return float(node.value.replace("_", "")) != 0 if node.value.replace("_", "").replace(".", "").isdigit() else None
    if kind == "SimpleString":
        return len(node.value.strip("rbuRBU")) > 2
    return None
