"""The Python API: `check_source` and `fix_source`. The CLI, flake8 and the editor use these layers."""
from __future__ import annotations

import ast
from typing import Iterable, List, Optional

from tensorlint.config.targets import settings_for
from tensorlint.core.diagnostics import Diagnostic
from tensorlint.config.selection import enabled_codes
from tensorlint.core.engine import lint
from tensorlint.core.fixer import FixResult, fix_to_fixpoint
from tensorlint.core.noqa import without_suppressed
from tensorlint.rules.prescreen import parse as parse_ast
from tensorlint.core.settings import DEFAULT, Settings
from tensorlint.run.imported import context_or_none


def resolve_settings(path: Optional[str], settings: Optional[Settings]) -> Settings:
    """`settings` when given, else what the project metadata near `path` says, else the defaults."""
    if settings is not None:
        return settings
    if path is None:
        return DEFAULT
    return settings_for(path)  # the project metadata near `path` (cached per directory)


def check_source(source: str, path: Optional[str] = None, select: Optional[Iterable[str]] = None,
                 ignore: Optional[Iterable[str]] = None, settings: Optional[Settings] = None,
                 tree: Optional[ast.Module] = None, project=None, prescreen: Optional[bool] = None
                 ) -> List[Diagnostic]:
    """Diagnostics for one file's text, `# noqa` honoured.

    `settings` (the project's NumPy/torch range) default to what the project metadata near `path`
    says, or to `Settings()` without a path. `tree` is `ast.parse(source)` when the caller already
    has it (it spares the prescreen a parse). Files that cannot hold a finding are not parsed by
    libcst; otherwise raises libcst.ParserSyntaxError.

    `project` (an `analysis.crossmodule.ProjectContext`) is what the rest of the file's project tells
    it; `tensorlint check` builds one per file in a project run (`tensorlint.run.project_run`).
    """
    codes = enabled_codes(select, ignore)
    return without_suppressed(source, lint(source, codes, settings=resolve_settings(path, settings), tree=tree,
                                           prescreen=prescreen, project=project))


def fix_source(source: str, path: Optional[str] = None, select: Optional[Iterable[str]] = None,
               ignore: Optional[Iterable[str]] = None, unsafe_fixes: bool = False,
               settings: Optional[Settings] = None) -> FixResult:
    """Fixed text plus what was fixed and what remains. Raises libcst.ParserSyntaxError or FixError.
    With the `path` of a file on disk, each pass sees what the project modules the file imports tell it."""
    codes = enabled_codes(select, ignore)
    resolved = resolve_settings(path, settings)

    def diagnose(text: str) -> List[Diagnostic]:
        tree = parse_ast(text) if path is not None else None
        project = None
        if tree is not None:
            project = context_or_none(path, tree, cache_directory=None)  # a fix writes no cache
        return without_suppressed(text, lint(text, codes, settings=resolved, tree=tree, project=project))
    return fix_to_fixpoint(source, diagnose, unsafe_fixes)

