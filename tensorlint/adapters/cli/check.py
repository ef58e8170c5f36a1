"""`tensorlint check`: every file's findings, printed as they come (concise) or at the end (the other formats),
then the summary; `check --watch` runs it again whenever a file changes."""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from dataclasses import dataclass
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from tensorlint.adapters.cli import output
from tensorlint.adapters.cli.progress import Progress
from tensorlint.adapters.cli.watch import Watcher
from tensorlint.config.reader import clear_cache as clear_config_cache
from tensorlint.config.targets import clear_cache as clear_project_cache
from tensorlint.core.codes import FILE_CODES
from tensorlint.core.diagnostics import Diagnostic
from tensorlint.core.safe_io import SourceError, read_source_file
from tensorlint.run.cache import default_directory
from tensorlint.run.check import CheckJob, FileResult
from tensorlint.run.discovery import find_files
from tensorlint.run.inputs import STDIN, is_notebook
from tensorlint.run.pool import default_jobs, run_files
from tensorlint.run.project_run import check_project


@dataclass
class Outcome:
    problems: int = 0        # diagnostics reported (check) or remaining (fix)
    safe_fixable: int = 0
    unsafe_fixable: int = 0
    fixed: int = 0
    files_changed: int = 0
    unchecked: int = 0       # files reported as TL001/TL002
    errors: int = 0

    def count(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.problems += len(diagnostics)
        self.unchecked += any(d.code in FILE_CODES for d in diagnostics)
        fixes = [d.fix for d in diagnostics if d.fix is not None]
        self.safe_fixable += sum(fix.is_safe for fix in fixes)
        self.unsafe_fixable += sum(not fix.is_safe for fix in fixes)

    def exit_code(self, findings: bool) -> int:
        return 2 if self.errors else 1 if findings else 0


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def report_error(outcome: Outcome, message: str) -> None:
    outcome.errors += 1
    print(f"tensorlint: error: {' '.join(message.split())}", file=sys.stderr)


def print_diagnostics(path: str, diagnostics: Sequence[Diagnostic], stream=None) -> None:
    for diagnostic in sorted(diagnostics):
        print(diagnostic.format(path), file=stream or sys.stdout)


def run_check(args: argparse.Namespace) -> int:
    outcome = Outcome()
    job = check_job(args)
    progress = progress_for(args)
    results = check_paths(job, args.paths, outcome, args.jobs or default_jobs(), project=args.project,
                          progress=progress)
    show_check(args, outcome, results, progress)
    return outcome.exit_code(findings=outcome.problems > 0 and not args.exit_zero)


def progress_for(args: argparse.Namespace) -> Progress:
    """The bar for this run, sized once the files are found; never with --quiet or stdin."""
    return Progress(0, sys.stderr, enabled=False if args.quiet or STDIN in args.paths else None)


def job_fields(args: argparse.Namespace, **more) -> dict:
    """The fields every job takes from the command line (`--extend-ignore` is one more `--ignore`)."""
    ignore = [*(args.ignore or ()), *(args.extend_ignore or ())] or None
    return dict(select=args.select, ignore=ignore, target_numpy=args.target_numpy,
                target_torch=args.target_torch, stdin_filename=args.stdin_filename,
                extend_select=args.extend_select, **more)


def check_job(args: argparse.Namespace, job_type=None) -> CheckJob:
    return (job_type or CheckJob)(**job_fields(
        args, cache_directory=None if args.no_cache else str(default_directory())))


def check_paths(job: CheckJob, paths: Sequence[str], outcome: Outcome, jobs: int, project: bool = False,
                progress: Optional[Progress] = None) -> Iterator:
    """The results of every file under `paths`, directories that cannot be listed first. With `project`,
    the files see what the project's other modules tell them (`project_run`). `progress` is given the
    number of files."""
    files, listing = find_files(job, paths, lambda message: report_error(outcome, message))
    if progress is not None:
        progress.set_total(len(files) + len(listing))
    yield from listing
    if project and files and STDIN not in files:
        yield from check_project(job, files, run_files, jobs)
    else:
        yield from run_files(job, files, jobs)


def show_check(args: argparse.Namespace, outcome: Outcome, results: Iterable[FileResult],
               progress: Optional[Progress] = None) -> None:
    """Print each result as it comes (concise) or all at the end (the other formats), then the summary
    (not with --quiet)."""
    streaming = args.format == "concise" and not args.statistics
    items: List[Tuple[str, Diagnostic]] = []
    sources: Dict[str, str] = {}
    progress = progress or Progress(0, sys.stderr, enabled=False)
    for result in progress.track(results):
        if result.error is not None:
            progress.clear()
            report_error(outcome, result.error)
            continue
        if streaming:
            if result.diagnostics:
                progress.clear()
            print_diagnostics(result.path, result.diagnostics)
        else:
            items.extend((result.path, d) for d in sorted(result.diagnostics))
            if args.format != "github" and result.diagnostics:
                text = source_text(result.path)
                if text is not None:
                    sources[result.path] = text
        outcome.count(result.diagnostics)
    if args.statistics:
        output.write_statistics(sys.stdout, [d for _, d in items], as_json=args.format == "json")
    elif not streaming:
        flat = [(path, in_file(d, keep_fix=args.format == "text")) for path, d in items]
        output.write(args.format, sys.stdout, flat, sources, color=output.should_color(sys.stdout),
                     root=repository_root() if args.format == "github" else None)
    if args.format in ("concise", "text") and not args.statistics and not getattr(args, "quiet", False):
        print_check_summary(outcome)


def repository_root(start: Optional[str] = None) -> str:
    """The top of the git work tree holding `start` (default: the working directory), else `start`: what
    GitHub's file paths are relative to."""
    directory = os.path.abspath(start or os.getcwd())
    current = directory
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return directory
        current = parent


def source_text(path: str) -> Optional[str]:
    """The file's text again, for formats that show source lines or place fix edits (not notebooks,
    whose findings are placed in the file without their edits; not files that cannot be read)."""
    if path == STDIN or is_notebook(path):
        return None
    try:
        return read_source_file(path).text
    except SourceError:
        return None


def in_file(diagnostic, keep_fix: bool) -> Diagnostic:
    """A notebook finding placed in the `.ipynb` file itself (as editors, SARIF and GitHub address it)."""
    if not hasattr(diagnostic, "flat"):  # only a notebook.NotebookDiagnostic has a cell to flatten
        return diagnostic
    flat = diagnostic.flat()
    return dataclasses.replace(flat, fix=diagnostic.fix) if keep_fix else flat


def print_check_summary(outcome: Outcome) -> None:
    if not outcome.problems:
        if not outcome.errors:
            print("All checks passed!")
        return
    notes = []
    if outcome.unchecked:
        notes.append(f"{plural(outcome.unchecked, 'file')} could not be checked")
    if outcome.safe_fixable:
        notes.append(f"{outcome.safe_fixable} fixable with `tensorlint fix`")
    if outcome.unsafe_fixable:
        notes.append(f"{outcome.unsafe_fixable} more with `--unsafe-fixes`" if outcome.safe_fixable
                     else f"{outcome.unsafe_fixable} fixable with `tensorlint fix --unsafe-fixes`")
    print(f"Found {plural(outcome.problems, 'problem')}" + (f" ({', '.join(notes)})" if notes else "") + ".")


def run_watch(args: argparse.Namespace) -> int:
    missing = [path for path in args.paths if not os.path.exists(path)]
    if missing:
        report_error(Outcome(), f"{missing[0]}: no such file or directory")
        return 2
    job = dataclasses.replace(check_job(args), sees_imports=True)
    jobs = args.jobs or default_jobs()
    terminal = sys.stdout.isatty()

    def find() -> Tuple[List[str], List[FileResult]]:
        errors: List[FileResult] = []  # shown with each run, not printed at every poll
        files, listing = find_files(job, args.paths, lambda message: errors.append(FileResult("", [], message)))
        return files, errors + listing

    def show(extra: List[FileResult], results: List[FileResult]) -> None:
        if terminal:
            sys.stdout.write("\x1b[2J\x1b[H")  # clear the screen, cursor home: one run per screen
        else:
            print()
        show_check(args, Outcome(), [*extra, *results])
        print(f"[{time.strftime('%H:%M:%S')}] Watching {plural(len(results), 'file')} for changes "
              f"(Ctrl-C to stop).", flush=True)

    def forget_settings() -> None:
        clear_config_cache()
        clear_project_cache()

    return Watcher(args.paths, find, lambda files: run_files(job, files, jobs), show, forget_settings).run()

