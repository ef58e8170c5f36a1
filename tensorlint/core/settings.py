"""What rules may know about the project: the NumPy and torch versions it supports."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

Version = Tuple[int, ...]


@dataclass(frozen=True)
class Settings:
    # Lowest NumPy / torch the project supports; None when nothing says (then NumPy 1.x is assumed supported).
    numpy_min: Optional[Version] = None
    torch_min: Optional[Version] = None
    # Where numpy_min came from, for messages and `tensorlint` output: "pyproject.toml: numpy>=2", "--target-numpy".
    numpy_source: str = ""

    @property
    def supports_numpy1(self) -> bool:
        """May the code still run on NumPy 1.x? (`np.bool` crashes on 1.24–1.26, works on 2.x.)"""
        return self.numpy_min is None or self.numpy_min < (2,)


DEFAULT = Settings()


def parse_version(text: str) -> Version:
    """"2", "2.0", "1.24.3" → (2,), (2, 0), (1, 24, 3); raises ValueError for anything else."""
    parts = text.strip().split(".")
    if not parts or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a version: {text!r}")
    return tuple(int(p) for p in parts)
