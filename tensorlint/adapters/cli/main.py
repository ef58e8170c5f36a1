"""The `tensorlint` commands: check (also --add-noqa, --watch), fix, rule, rules, lsp.

A file that cannot be read or parsed is a finding (TL001/TL002, exit 1); anything else that stops a
file (configuration, a write, a bug) is one line on stderr and exit 2. The grammar is in `arguments`,
reading one input in `inputs`.

Start-up time: what a run whose files all come from the result cache does not need (libcst, the rules,
the fixer, notebooks, multiprocessing) is imported where it is first used, not here.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, FrozenSet, Iterable, Iterator, List, Optional, Sequence, Tuple

from tensorlint.adapters.cli import output
from tensorlint.adapters.cli.arguments import build_parser, conflicting_options
from tensorlint.run.cache import Cache, cache_key, default_directory, tool_fingerprint
from tensorlint.core.codes import FILE_CODES as FILE_PROBLEM_CODES
from tensorlint.config.reader import ConfigError, chosen_config, clear_cache as clear_config_cache, load_config, use_config_file
from tensorlint.core.diagnostics import Diagnostic, physical_lines
from tensorlint.run.inputs import (STDIN, InputError, Unchecked, analyse, ensure_parses, is_notebook, project_settings,
                     read_source, read_stdin, selection, write_source)
from tensorlint.adapters.cli.progress import Progress
from tensorlint.config.targets import clear_cache as clear_project_cache
from tensorlint.core.safe_io import SourceError, SourceFile, read_source_file
from tensorlint.core.settings import Settings

EXCLUDED_DIRS = frozenset({"__pycache__", ".git", ".venv", "venv", "node_modules", "build", "dist",
                           ".tox", ".eggs", "site-packages"})


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
        self.unchecked += any(d.code in FILE_PROBLEM_CODES for d in diagnostics)
        fixes = [d.fix for d in diagnostics if d.fix is not None]
        self.safe_fixable += sum(fix.is_safe for fix in fixes)
        self.unsafe_fixable += sum(not fix.is_safe for fix in fixes)

    def exit_code(self, findings: bool) -> int:
        return 2 if self.errors else 1 if findings else 0


def check_source(*args, **kwargs):
    """`tensorlint.api.check_source`, imported on the first file the cache does not answer."""
    from tensorlint.api import check_source as check
    return check(*args, **kwargs)


def fix_source(*args, **kwargs):
    """`tensorlint.api.fix_source`, imported when a file is fixed."""
    from tensorlint.api import fix_source as fix
    return fix(*args, **kwargs)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def report_error(outcome: Outcome, message: str) -> None:
    outcome.errors += 1
    print(f"tensorlint: error: {' '.join(message.split())}", file=sys.stderr)


# -- finding and reading files -----------------------------------------------------------------
def python_files(paths: Sequence[str], error: Callable[[str], None],
                 unreadable: Callable[[str, str], None]) -> Iterator[str]:
    """Explicit files whatever their suffix; `*.py` under directories, skipping excluded and hidden ones.

    A directory that cannot be listed goes to `unreadable(path, reason)`: it is a finding (TL001).
    A path that does not exist (a usage error) and a broken configuration go to `error(message)`.
    """
    for path in dict.fromkeys(paths):
        if path == STDIN or os.path.isfile(path):
            yield path
        elif os.path.isdir(path):
            walk_errors: List[OSError] = []
            for root, dirs, files in os.walk(path, onerror=walk_errors.append):
                try:
                    config = load_config(root)  # `exclude` and .gitignore of [tool.tensorlint]
                except ConfigError as broken:
                    error(str(broken))
                    dirs[:] = []
                    continue
                dirs[:] = sorted(d for d in dirs if d not in EXCLUDED_DIRS and not d.startswith(".")
                                 and not config.is_excluded(os.path.join(root, d), is_dir=True))
                yield from (os.path.join(root, name) for name in sorted(files) if name.endswith((".py", ".ipynb"))
                            and not config.is_excluded(os.path.join(root, name), is_dir=False))
            for walk_error in walk_errors:
                unreadable(walk_error.filename, f"cannot read directory: {walk_error.strerror}")
        else:
            error(f"{path}: no such file or directory")


def print_diagnostics(path: str, diagnostics: Sequence[Diagnostic], stream=None) -> None:
    for diagnostic in sorted(diagnostics):
        print(diagnostic.format(path), file=stream or sys.stdout)


def file_problems_in(diagnostics: Sequence[Diagnostic]) -> List[Diagnostic]:
    return [d for d in diagnostics if d.code in FILE_PROBLEM_CODES]


# -- check: one file, in this process or a worker --------------------------------------------------
@dataclass(frozen=True)
class FileJob:
    """What every file of one run is handled with (sent once to each worker)."""
    select: Optional[Sequence[str]]
    ignore: Optional[Sequence[str]]
    target_numpy: Optional[str]
    target_torch: Optional[str]
    stdin_filename: Optional[str]
    extend_select: Optional[Sequence[str]] = None

    @classmethod
    def options(cls, args: argparse.Namespace, **more) -> dict:
        """The fields every job takes from the command line (`--extend-ignore` is one more `--ignore`)."""
        ignore = [*(args.ignore or ()), *(args.extend_ignore or ())] or None
        return dict(select=args.select, ignore=ignore, target_numpy=args.target_numpy,
                    target_torch=args.target_torch, stdin_filename=args.stdin_filename,
                    extend_select=args.extend_select, **more)

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
            from tensorlint.adapters.notebook import check_notebook
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
    from tensorlint.run.imported import context_or_none
    from tensorlint.rules.prescreen import parse as parse_ast
    return context_or_none(path, parse_ast(source.text), job.cache_directory)  # --no-cache: none written


def unreadable_directory(job: FileJob, path: str, reason: str) -> FileResult:
    """TL001 for a directory that cannot be listed (unless ignored for it)."""
    from tensorlint.core.file_problems import UNREADABLE, problem
    try:
        _, problems = selection(path, job.select, job.ignore, job.extend_select)
    except InputError as error:
        return FileResult(path, [], str(error))
    found = problem(UNREADABLE, reason)
    return FileResult(path, [found] if found.code in problems else [])


_WORKER_JOB = None  # the job of this worker process


def _start_worker(job, config_file: Optional[str]) -> None:
    global _WORKER_JOB
    _WORKER_JOB = job
    if config_file is not None:  # --config: a spawned worker starts without the parent's choice
        use_config_file(config_file)
    # Ctrl-C is the parent's to handle (it stops the pool); a worker would print a traceback each.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_in_worker(path: str):
    return _WORKER_JOB.run(path)


def run_files(job, paths: Sequence[str], jobs: int) -> Iterator:
    """`job.run(path)` for each path, in the order of `paths`, computed by up to `jobs` processes."""
    jobs = min(jobs, len(paths))
    if jobs <= 1 or STDIN in paths:  # stdin belongs to this process
        yield from (job.run(path) for path in paths)
        return
    if getattr(job, "cache_directory", None) is not None:
        tool_fingerprint()  # computed once here, inherited by forked workers
    # Small chunks keep both workers busy to the end; big ones save round trips on many small files.
    chunksize = max(1, min(16, len(paths) // (jobs * 16)))
    import multiprocessing
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    chosen = chosen_config()
    with context.Pool(jobs, initializer=_start_worker, initargs=(job, chosen.path if chosen else None)) as pool:
        yield from pool.imap(_run_in_worker, paths, chunksize)


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may use
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# -- commands ----------------------------------------------------------------------------------
def run_check(args: argparse.Namespace) -> int:
    if args.fix:
        return run_fix(argparse.Namespace(**{**vars(args), "command": "fix", "diff": False, "verify": False}))
    if args.add_noqa:
        return run_add_noqa(args)
    if args.watch:
        return run_watch(args)
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


def check_job(args: argparse.Namespace, job_type=None) -> "CheckJob":
    return (job_type or CheckJob)(**CheckJob.options(
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
        from tensorlint.run.project_run import check_project
        yield from check_project(job, files, run_files, jobs)
    else:
        yield from run_files(job, files, jobs)


def find_files(job: FileJob, paths: Sequence[str], error: Callable[[str], None]
               ) -> Tuple[List[str], List[FileResult]]:
    """The files under `paths`, and a TL001 result for each directory that cannot be listed."""
    listing: List[FileResult] = []
    files = list(python_files(paths, error, lambda path, reason: listing.append(
        unreadable_directory(job, path, reason))))
    return files, listing


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


@dataclass(frozen=True)
class FixJob(FileJob):
    """`tensorlint fix`."""
    unsafe_fixes: Optional[bool] = None  # None: as [tool.tensorlint] `unsafe-fixes` says
    verify: bool = False
    diff: bool = False

    def run(self, path: str) -> "FixFileResult":
        return fix_file(self, path)


@dataclass
class FixFileResult:
    path: str                                   # as shown to the user
    fixed: int = 0
    changed: bool = False
    remaining: List[Diagnostic] = field(default_factory=list)
    rejected_lines: Sequence[str] = ()          # --verify: the fixes the verifier refused, one line each
    output: str = ""                            # --diff: the diff; stdin: the fixed source
    from_stdin: bool = False
    error: Optional[str] = None
    echo: bytes = b""                           # stdin that could not be checked: passed through unchanged


def fix_file(job: FixJob, path: str) -> FixFileResult:
    """Fix one file and write it back (atomically, unless --diff or stdin); never raises for bad input.

    A file that cannot be read or parsed is left as it is and reported (TL001/TL002), as `check` does;
    stdin is then passed through unchanged, so an editor piping its buffer through keeps it."""
    shown = job.shown(path)
    stdin = read_stdin() if path == STDIN else None
    problems: FrozenSet[str] = frozenset()
    try:
        rules, problems = selection(shown, job.select, job.ignore, job.extend_select)
        source = read_source(path, shown, stdin)
        settings = project_settings(shown, job.target_numpy, job.target_torch)
        ensure_parses(source, bool(rules))
        result = analyse(source, lambda src: fix_one(src, job, rules, settings))
        changed = result.source != source.text
        output_text = ""
        if job.diff:
            output_text = unified_diff(source.path, source.text, result.source)
        elif path == STDIN:
            output_text = ("\ufeff" if source.bom else "") + result.source
        elif changed:
            write_source(source, result.source)
    except Unchecked as unchecked:
        return FixFileResult(shown, remaining=unchecked.reported(problems), from_stdin=path == STDIN,
                             echo=stdin if stdin is not None and not job.diff else b"")
    except InputError as error:
        return FixFileResult(shown, error=str(error))
    return FixFileResult(source.path, len(result.fixed), changed, list(result.remaining),
                         tuple(getattr(result, "rejected_lines", ())), output_text, from_stdin=path == STDIN)


def fix_one(source: SourceFile, job: FixJob, rules: FrozenSet[str], settings: Settings):
    """Fix one file: a notebook cell by cell; with --verify only the fixes the runtime verifier passes."""
    from tensorlint.adapters.notebook import fix_notebook
    select = sorted(rules) or ["none"]  # an empty select would mean the default rules
    unsafe = unsafe_fixes_for(source.path, job.unsafe_fixes)
    if is_notebook(source.path):
        return fix_notebook(source.text, source.path, select, None, unsafe, settings=settings)
    if not job.verify:
        return fix_source(source.text, source.path, select, None, unsafe, settings=settings)
    from tensorlint.verify.command import VerifierUnavailable, rejected_lines, verified_fix_source  # needs the verify extra
    try:
        result = verified_fix_source(source.text, source.path, select, None, unsafe, settings=settings)
    except VerifierUnavailable as error:
        raise InputError(f"{source.path}: cannot verify: {error}") from None
    result.rejected_lines = rejected_lines(source.path, result)
    return result


def unsafe_fixes_for(path: str, cli: Optional[bool]) -> bool:
    """--unsafe-fixes / --no-unsafe-fixes, else [tool.tensorlint] `unsafe-fixes`, else false."""
    try:
        return load_config(path if path != STDIN else os.getcwd()).resolve_unsafe_fixes(cli)
    except ConfigError as error:
        raise InputError(str(error)) from None


def run_lsp(args: argparse.Namespace) -> int:
    from tensorlint.adapters.lsp import serve  # pygls is imported only when the server starts
    return serve()


def run_fix(args: argparse.Namespace) -> int:
    outcome = Outcome()
    job = FixJob(**FixJob.options(args, unsafe_fixes=args.unsafe_fixes, verify=args.verify, diff=args.diff))
    files, listing = find_files(job, args.paths, lambda message: report_error(outcome, message))
    # where findings go when stdout is the point: the diff, or the fixed source of stdin
    aside = args.diff or STDIN in files
    for result in listing:
        print_diagnostics(result.path, result.diagnostics, sys.stderr if aside else sys.stdout)
        outcome.count(result.diagnostics)
    # the bar goes to a terminal only; never with --diff or stdin, whose output is the point
    progress = Progress(len(files), sys.stderr, enabled=False if aside or args.quiet else None)
    refused = 0   # --verify: fixes the verifier did not pass (they stay unapplied)
    for result in run_files(job, files, args.jobs or default_jobs()):
        progress.advance()
        if result.error is not None:
            progress.clear()
            report_error(outcome, result.error)
            continue
        outcome.fixed += result.fixed
        outcome.files_changed += result.changed
        outcome.count(result.remaining)
        refused += len(result.rejected_lines)
        if aside:
            write_output(result)
            print_diagnostics(result.path, file_problems_in(result.remaining), sys.stderr)
            for line in result.rejected_lines:
                print(line, file=sys.stderr)
        elif result.remaining or result.rejected_lines:
            progress.clear()
            print_diagnostics(result.path, result.remaining)
            for line in result.rejected_lines:
                print(line)
    progress.clear()
    if args.diff:
        return outcome.exit_code(findings=outcome.files_changed > 0 or outcome.unchecked > 0 or refused > 0)
    if not args.quiet:
        print_fix_summary(outcome, to=sys.stderr if STDIN in args.paths else sys.stdout)
    return outcome.exit_code(findings=outcome.problems > 0)


def write_output(result: FixFileResult) -> None:
    """The diff, the fixed source of stdin, or stdin's bytes unchanged when it could not be checked."""
    if not result.echo:
        sys.stdout.write(result.output)
        return
    sys.stdout.flush()
    binary = getattr(sys.stdout, "buffer", None)
    if binary is not None:
        binary.write(result.echo)
        binary.flush()
    else:
        sys.stdout.write(result.echo.decode("utf-8", "surrogateescape"))


def print_fix_summary(outcome: Outcome, to) -> None:
    if not outcome.fixed and not outcome.problems:
        if not outcome.errors:
            print("All checks passed!", file=to)
        return
    summary = f"Fixed {plural(outcome.fixed, 'problem')} in {plural(outcome.files_changed, 'file')}"
    if outcome.problems:
        summary += f"; {outcome.problems} remaining"
        notes = []
        if outcome.unchecked:
            notes.append(f"{plural(outcome.unchecked, 'file')} could not be checked")
        if outcome.unsafe_fixable:
            notes.append(f"{outcome.unsafe_fixable} fixable with --unsafe-fixes")
        if notes:
            summary += f" ({', '.join(notes)})"
    print(summary + ".", file=to)


# -- check --add-noqa ----------------------------------------------------------------------------
@dataclass(frozen=True)
class AddNoqaJob(CheckJob):
    """`tensorlint check --add-noqa`: check, then silence every finding with a `# noqa` comment."""
    sees_imports: bool = True

    def run(self, path: str) -> "NoqaResult":
        return add_noqa_file(self, path)


@dataclass
class NoqaResult:
    path: str
    silenced: int = 0                 # findings a new comment silences
    lines: int = 0                    # lines given a comment or more codes
    remaining: List[Diagnostic] = field(default_factory=list)  # files that cannot be checked; stubborn findings
    error: Optional[str] = None


def add_noqa_file(job: AddNoqaJob, path: str) -> NoqaResult:
    """Add the comments and write the file back atomically, or leave it alone: a file that cannot be
    checked is only reported, and the new text is checked again before it is written."""
    inspection = inspect_file(job, path)
    result, source = inspection.result, inspection.source
    if result.error is not None:
        return NoqaResult(result.path, error=result.error)
    if not result.diagnostics or file_problems_in(result.diagnostics) or source is None:
        return NoqaResult(result.path, remaining=result.diagnostics)
    findings = result.diagnostics
    try:
        new_text, left = with_noqa(source, findings, inspection, job.cache_directory)
        if left:  # a `# noqa` flake8 finds first (inside a string) hides ours: leave those lines alone
            stubborn = {finding_key(d) for d in left}
            new_text, left = with_noqa(source, [d for d in findings if finding_key(d) not in stubborn], inspection,
                                       job.cache_directory)
        if new_text != source.text:
            write_source(source, new_text)
    except InputError as error:
        return NoqaResult(result.path, error=str(error))
    return NoqaResult(result.path, len(findings) - len(left), changed_lines(source.text, new_text), left)


def finding_key(diagnostic) -> Tuple[int, int, str]:
    """What identifies a finding across texts that differ only in comments: (cell, line, code)."""
    return getattr(diagnostic, "cell", 0), diagnostic.line, diagnostic.code


def with_noqa(source: SourceFile, findings: Sequence, inspection: Inspection, cache_directory: Optional[str]
              ) -> Tuple[str, list]:
    """The text with comments silencing `findings`, and what a check of it still finds."""
    import libcst as cst

    from tensorlint.core.add_noqa import add_noqa, add_noqa_to_notebook
    from tensorlint.core.file_problems import parse_python
    from tensorlint.adapters.notebook import NotebookError, check_notebook
    select, settings, path = sorted(inspection.rules), inspection.settings, source.path
    try:
        if is_notebook(path):
            new_text = add_noqa_to_notebook(source.text, path, findings)
            return new_text, check_notebook(new_text, path, select, None, settings=settings)
        new_text = add_noqa(source.text, [(d.line, d.code) for d in findings])
        if parse_python(new_text)[1] is not None:
            raise InputError(f"{path}: internal error, please report: --add-noqa would break the file")
        from tensorlint.run.imported import context_or_none
        from tensorlint.rules.prescreen import parse as parse_ast
        return new_text, check_source(new_text, path, select, None, settings=settings,
                                      project=context_or_none(path, parse_ast(new_text), cache_directory))
    except (cst.ParserSyntaxError, NotebookError) as error:
        raise InputError(f"{path}: internal error, please report: --add-noqa would break the file: {error}") \
            from None


def changed_lines(before: str, after: str) -> int:
    """Lines that differ (a `# noqa` comment never adds or removes a line)."""
    return sum(old != new for old, new in zip(physical_lines(before), physical_lines(after)))


def run_add_noqa(args: argparse.Namespace) -> int:
    outcome = Outcome()
    silenced = lines = files_changed = 0
    for result in check_paths(check_job(args, AddNoqaJob), args.paths, outcome, args.jobs or default_jobs()):
        if isinstance(result, FileResult):  # a directory that cannot be listed
            result = NoqaResult(result.path, remaining=result.diagnostics, error=result.error)
        if result.error is not None:
            report_error(outcome, result.error)
            continue
        print_diagnostics(result.path, result.remaining)
        outcome.count(result.remaining)
        silenced += result.silenced
        lines += result.lines
        files_changed += result.lines > 0
    if silenced and not args.quiet:
        print(f"Added noqa comments to {plural(lines, 'line')} in {plural(files_changed, 'file')}, "
              f"silencing {plural(silenced, 'finding')}.")
    if not args.quiet:
        print_check_summary(outcome)  # what the next check will say
    return outcome.exit_code(findings=outcome.problems > 0 and not args.exit_zero)


# -- check --watch -------------------------------------------------------------------------------
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

    from tensorlint.adapters.cli.watch import Watcher
    return Watcher(args.paths, find, lambda files: run_files(job, files, jobs), show, forget_settings).run()


def unified_diff(path: str, before: str, after: str) -> str:
    import difflib
    shown = os.path.normpath(path).lstrip(os.sep)  # `a//tmp/x.py` would not apply; git strips it too
    lines = difflib.unified_diff(physical_lines(before), physical_lines(after),
                                 f"a/{shown}", f"b/{shown}")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def run_rule(args: argparse.Namespace) -> int:
    from tensorlint.rules import RULES_BY_CODE
    rule = RULES_BY_CODE.get(args.code.upper())
    if rule is None:
        report_error(Outcome(), f"unknown rule {args.code!r} (`tensorlint rules` lists them)")
        return 2
    print(f"# {rule.code} {rule.name}\n")
    print(f"Fix: {rule.fixable}. Enabled by default: {'yes' if rule.default_enabled else 'no'}.\n")
    print(rule.documentation())
    return 0


def run_rules(args: argparse.Namespace) -> int:
    from tensorlint.rules import ALL_RULES, in_code_order
    rows = [("CODE", "NAME", "FIX", "DEFAULT", "SUMMARY")]
    rows += [(r.code, r.name, r.fixable, "on" if r.default_enabled else "off", r.summary)
             for r in in_code_order(ALL_RULES)]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[4])
    return 0


@contextlib.contextmanager
def batch_collection() -> Iterator[None]:
    """Python's cyclic collector, tuned for checking many files: what was loaded before the run is never
    garbage (frozen), and collections come less often. A check makes and drops millions of syntax-tree
    objects; the default thresholds collect ~5 % of its time away, for a few MB of memory."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


HANDLERS = {"check": run_check, "fix": run_fix, "rule": run_rule, "rules": run_rules, "lsp": run_lsp}


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(HANDLERS, argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits on --help, --version and usage errors
        return int(exit_.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    conflict = conflicting_options(args)
    if conflict is not None:
        print(f"tensorlint: error: {conflict} (see `tensorlint {args.command} --help`)", file=sys.stderr)
        return 2
    if args.command in ("check", "fix"):
        args.paths = args.paths or [os.curdir]  # as ruff: no path checks the working directory
        try:
            use_config_file(args.config)
        except ConfigError as error:
            print(f"tensorlint: error: --config: {error}", file=sys.stderr)
            return 2
    try:
        with batch_collection() if args.command in ("check", "fix") else contextlib.nullcontext(), \
                output_file(getattr(args, "output_file", None)):
            return args.handler(args)
    except KeyboardInterrupt:  # Ctrl-C: no traceback; 130 is what a shell reports for SIGINT
        print(file=sys.stderr)
        return 130
    except OutputFileError as error:
        print(f"tensorlint: error: --output-file: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `tensorlint check | head`: the reader is gone, so is the output
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's last flush must not fail again
        return 1
    finally:
        if args.command in ("check", "fix"):
            use_config_file(None)  # `main` may be called again in this process (tests, tools)


class OutputFileError(Exception):
    """--output-file cannot be written: one line, exit 2."""


@contextlib.contextmanager
def output_file(path: Optional[str]) -> Iterator[None]:
    """With a path, what the command prints on stdout goes to that file instead (its folder is created).
    The file is written as the findings come, as stdout would be."""
    if path is None:
        yield
        return
    try:
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        stream = open(path, "w", encoding="utf-8", newline="")
    except OSError as error:
        raise OutputFileError(f"{path}: cannot write: {error.strerror or error}") from None
    with stream, contextlib.redirect_stdout(stream):
        yield
