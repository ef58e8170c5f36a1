"""The server's constants and the small helpers that need no pygls."""
from __future__ import annotations

import re
from typing import Any, List, Optional, Sequence

from tensorlint.config.reader import clear_cache as clear_config_cache
from tensorlint.config.selection import normalized_prefix
from tensorlint.config.targets import clear_cache as clear_targets_cache
from tensorlint.core.diagnostics import Fix

SOURCE = "tensorlint"
FIX_ALL_KIND = "source.fixAll.tensorlint"
FIX_ALL_TITLE = "Fix all safe tensorlint problems"
CHANGE_DELAY = 0.1  # seconds of quiet typing before a changed document is linted again
PYTHON_SUFFIXES = (".py", ".pyi")
METADATA_NAMES = ("pyproject.toml", "setup.cfg", "setup.py")
# What settings_for reads: a change to one of these re-reads the project for every open document.
METADATA_GLOBS = ("**/pyproject.toml", "**/setup.cfg", "**/setup.py", "**/requirements*.txt", "**/requirements/*.txt")
_CODE_PREFIX = re.compile(r"^[A-Z]+[0-9]*$")


def clear_project_caches() -> None:
    """Forget what was read from project metadata and `[tool.tensorlint]` (they may have changed)."""
    clear_targets_cache()
    clear_config_cache()


def fix_title(fix: Fix) -> str:
    return fix.title if fix.is_safe else f"{fix.title} (unsafe)"


def prefixes(value: Any) -> Optional[List[str]]:
    """Code prefixes from initializationOptions (a list, or one string split at commas and spaces)."""
    if isinstance(value, str):
        value = [part for part in re.split(r"[,\s]+", value) if part]
    if not isinstance(value, (list, tuple)):
        return None
    codes = [normalized_prefix(str(code)) for code in value]
    return [code for code in codes if _CODE_PREFIX.match(code)] or None


def kind_wanted(kind: str, only: Optional[Sequence[str]]) -> bool:
    return not only or any(kind == want or kind.startswith(want + ".") for want in only)
