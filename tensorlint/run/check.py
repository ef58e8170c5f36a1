"""Checking one file, in this process or a worker: from the result cache when its text, settings and codes were
seen before, else analysed (a notebook cell by cell); what every command's jobs share.

Start-up time: what a run whose files all come from the result cache does not need (libcst, the rules, notebooks)
is imported where it is first used, not here.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import FrozenSet, List, Optional, Sequence

from tensorlint.core.codes import FILE_CODES
from tensorlint.core.diagnostics import Diagnostic
from tensorlint.core.safe_io import SourceFile
from tensorlint.core.settings import Settings
from tensorlint.run.cache import Cache, cache_key
from tensorlint.run.imported import context_or_none
from tensorlint.run.inputs import (STDIN, InputError, Unchecked, analyse, ensure_parses, is_notebook, project_settings,
                                   read_source, read_stdin, selection)


def check_source(*args, **kwargs):
    """`tensorlint.api.check_source`, imported on the first file the cache does not answer."""
    from tensorlint.api import check_source as check
    return check(*args, **kwargs)


def file_problems_in(diagnostics: Sequence[Diagnostic]) -> List[Diagnostic]:
    return [d for d in diagnostics if d.code in FILE_CODES]


@dataclass(frozen=True)
class FileJob:
    """What every file of one run is handled with (sent once to each worker)."""
    select: Optional[Sequence[str]]
    ignore: Optional[Sequence[str]]
    target_numpy: Optional[str]
    target_torch: Optional[str]
    stdin_filename: Optional[str]
    extend_select: Optional[Sequence[str]] = None

    def shown(self, path: str) -> str:
        return (self.stdin_filename or path) if path == STDIN else path


@dataclass(frozen=True)
class CheckJob(FileJob):
    """`tensorlint check`."""
    cache_directory: Optional[str] = None  # None: no cache
    # Checked one file at a time (--add-noqa, --watch): each file still hears from the modules it imports.
    sees_imports: bool = False

    def run(self, path: str) -> "FileResult":
        return check_file(self, path)


@dataclass
class FileResult:
    path: str                       # as shown to the user
    diagnostics: List[Diagnostic]
    error: Optional[str] = None     # the one-line message when the run could not handle the file


@dataclass
class Inspection:
    """One file checked: what was found, and what it was found in (for --add-noqa to edit)."""
    result: FileResult
    source: Optional[SourceFile] = None
    rules: FrozenSet[str] = frozenset()
    settings: Optional[Settings] = None


def check_file(job: CheckJob, path: str) -> FileResult:
    return inspect_file(job, path).result


def inspect_file(job: CheckJob, path: str, project=None) -> Inspection:
    """Check one file, from the cache when its text, settings and codes were seen before.

    `project` (a `project_run.ProjectFile`) is this file's place in a project run: what the rest of the
    project told it, and where its own records (queries, calls out) go; they are cached with the result."""
    shown = job.shown(path)
    chosen = None
    try:
        chosen = selection(shown, job.select, job.ignore, job.extend_select)
        rules = chosen.rules
        if not rules and not chosen.problems:
            return Inspection(FileResult(shown, []))
        source = read_source(path, shown, read_stdin() if path == STDIN else None)
        settings = project_settings(shown, job.target_numpy, job.target_torch)
        select = sorted(rules)
        key = cache = None
        imported = _imported_context(job, path, source, rules) if project is None else None
        if job.cache_directory is not None and rules and not is_notebook(shown):
            cache = Cache(job.cache_directory)
            context = project.cache_context() if project is not None else \
                json.dumps(imported.encode_context(), sort_keys=True) if imported is not None else ""
            key = cache_key(source.text, settings, rules, context)
            cached = cache.load_entry(key)
            if cached is not None and (project is None or project.restore(cached[1])):
                return Inspection(FileResult(shown, cached[0]), source, rules, settings)
        tree = ensure_parses(source, bool(rules))
        if not rules:
            diagnostics: List = []
        elif is_notebook(shown):
            from tensorlint.adapters.notebook.lint import check_notebook  # libcst and the rules: on a cache miss only
            diagnostics = analyse(source, lambda src: check_notebook(src.text, src.path, select, None,
                                                                     settings=settings))
        elif project is not None:
            diagnostics = analyse(source, lambda src: project.check(src.text, select, settings, tree))
        else:
            diagnostics = analyse(source, lambda src: check_source(src.text, src.path, select, None,
                                                                   settings=settings, tree=tree, project=imported))
    except Unchecked as unchecked:  # not cached: the next run reads the file again
        return Inspection(FileResult(shown, unchecked.reported(chosen.problems if chosen else frozenset())))
    except InputError as error:
        return Inspection(FileResult(shown, [], str(error)))
    if cache is not None:
        cache.store(key, diagnostics, project.records() if project is not None else None)
    return Inspection(FileResult(shown, diagnostics), source, rules, settings)


def _imported_context(job: CheckJob, path: str, source, rules):
    """What the modules a file checked alone imports tell it (`imported.py`), for the jobs that want it."""
    if not job.sees_imports or not rules or path == STDIN or is_notebook(path):
        return None
    from tensorlint.rules.prescreen import parse as parse_ast  # the analysis modules: not for a cached run
    return context_or_none(path, parse_ast(source.text), job.cache_directory)  # --no-cache: none written


def unreadable_directory(job: FileJob, path: str, reason: str) -> FileResult:
    """TL001 for a directory that cannot be listed (unless ignored for it)."""
    from tensorlint.core.file_problems import UNREADABLE, problem  # libcst and the rules: seldom needed
    try:
        _, problems = selection(path, job.select, job.ignore, job.extend_select)
    except InputError as error:
        return FileResult(path, [], str(error))
    found = problem(UNREADABLE, reason)
    return FileResult(path, [found] if found.code in problems else [])

