"""The Python API: `check_source` and `fix_source`. The CLI, flake8 and the editor use these layers."""
from __future__ import annotations

from typing import Iterable, List, Optional

from .diagnostics import Diagnostic
from .engine import enabled_codes, lint
from .fixer import FixResult, fix_to_fixpoint
from .noqa import without_suppressed


def check_source(source: str, path: Optional[str] = None, select: Optional[Iterable[str]] = None,
                 ignore: Optional[Iterable[str]] = None) -> List[Diagnostic]:
    """Diagnostics for one file's text, `# noqa` honoured. Raises libcst.ParserSyntaxError."""
    codes = enabled_codes(select, ignore)
    return without_suppressed(source, lint(source, codes))


def fix_source(source: str, path: Optional[str] = None, select: Optional[Iterable[str]] = None,
               ignore: Optional[Iterable[str]] = None, unsafe_fixes: bool = False) -> FixResult:
    """Fixed text plus what was fixed and what remains. Raises libcst.ParserSyntaxError or FixError."""
    codes = enabled_codes(select, ignore)
    return fix_to_fixpoint(source, lambda text: without_suppressed(text, lint(text, codes)), unsafe_fixes)
