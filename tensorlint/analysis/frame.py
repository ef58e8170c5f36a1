"""What is known at one program point: the facts of names, the grad mode, the enclosing class."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional

from .facts import Facts


@dataclass
class ClassInfo:
    name: str
    is_module: bool
    attributes: Dict[str, Facts] = field(default_factory=dict)


@dataclass
class Frame:
    """What is known at one program point."""
    env: Dict[str, Facts]
    globals: Dict[str, Facts]
    grad_enabled: bool = True
    cls: Optional[ClassInfo] = None
