"""What is known at one program point: the facts of names, the grad mode, the enclosing class."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional

import libcst as cst

from tensorlint.analysis.facts import UNKNOWN, Facts


@dataclass(eq=False)
class ClassInfo:
    name: str
    is_module: bool
    attributes: Dict[str, Facts] = field(default_factory=dict)
    node: Optional[cst.ClassDef] = None


@dataclass
class Frame:
    """What is known at one program point."""
    env: Dict[str, Facts]
    globals: Dict[str, Facts]
    grad_enabled: bool = True
    cls: Optional[ClassInfo] = None
    scope: Optional[cst.FunctionDef] = None  # the function whose body this is (None: module level)


def store(env: Dict[str, Facts], changes: Dict[str, Facts]) -> None:
    """Record facts about names and dotted paths. A path `a.b.c` also leaves the markers `a.` and `a.b.`
    (keys no lookup ever asks for), so that `forget` finds in O(1) whether anything below a name is known."""
    for key, value in changes.items():
        env[key] = value
        dot = key.find(".")
        while dot != -1:
            env.setdefault(key[:dot + 1], UNKNOWN)
            dot = key.find(".", dot + 1)


def forget(env: Dict[str, Facts], name: str) -> None:
    """Rebinding `a` makes everything known about `a.x` stale. Without a marker `a.` (see `store`) nothing below
    `a` is known: rebinding stays O(1) in the number of names, even for 50,000 module-level assignments."""
    prefix = name + "."
    if prefix not in env:
        return
    stale = [key for key in env if key.startswith(prefix)]
    for key in stale:
        del env[key]
