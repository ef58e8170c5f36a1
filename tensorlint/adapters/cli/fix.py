"""`tensorlint fix` (and `check --fix`): fix each file and write it back atomically, or show the diff (`--diff`),
or write stdin's fixed text to stdout; with `--verify`, only the fixes the runtime verifier passes."""
from __future__ import annotations

import argparse
import difflib
import os
import sys
from dataclasses import dataclass, field
from typing import FrozenSet, List, Optional, Sequence

from tensorlint.adapters.cli.check import Outcome, job_fields, plural, print_diagnostics, report_error
from tensorlint.adapters.cli.progress import Progress
from tensorlint.config.reader import ConfigError, load_config
from tensorlint.core.diagnostics import Diagnostic, physical_lines
from tensorlint.core.safe_io import SourceFile
from tensorlint.core.settings import Settings
from tensorlint.run.check import FileJob, file_problems_in
from tensorlint.run.discovery import find_files
from tensorlint.run.inputs import (STDIN, InputError, Unchecked, analyse, ensure_parses, is_notebook, project_settings,
                                   read_source, read_stdin, selection, write_source)
from tensorlint.run.pool import default_jobs, run_files


def fix_source(*args, **kwargs):
    """`tensorlint.api.fix_source`, imported (with libcst and the rules) when a file is fixed."""
    from tensorlint.api import fix_source as fix
    return fix(*args, **kwargs)


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
    from tensorlint.adapters.notebook.lint import fix_notebook  # libcst and the rules: once a file is to be fixed
    select = sorted(rules) or ["none"]  # an empty select would mean the default rules
    unsafe = unsafe_fixes_for(source.path, job.unsafe_fixes)
    if is_notebook(source.path):
        return fix_notebook(source.text, source.path, select, None, unsafe, settings=settings)
    if not job.verify:
        return fix_source(source.text, source.path, select, None, unsafe, settings=settings)
    # the verifier needs the verify extra (torch), loaded only for --verify
    from tensorlint.verify.command import VerifierUnavailable, rejected_lines, verified_fix_source
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


def run_fix(args: argparse.Namespace) -> int:
    outcome = Outcome()
    job = FixJob(**job_fields(args, unsafe_fixes=args.unsafe_fixes, verify=args.verify, diff=args.diff))
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


def unified_diff(path: str, before: str, after: str) -> str:
    shown = os.path.normpath(path).lstrip(os.sep)  # `a//tmp/x.py` would not apply; git strips it too
    lines = difflib.unified_diff(physical_lines(before), physical_lines(after),
                                 f"a/{shown}", f"b/{shown}")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)

