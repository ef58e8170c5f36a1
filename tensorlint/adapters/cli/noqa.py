"""`tensorlint check --add-noqa`: check, then silence every finding with a `# noqa` comment, writing each file
back atomically once its new text is checked again."""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from tensorlint.adapters.cli.check import (Outcome, check_job, check_paths, plural, print_check_summary,
                                           print_diagnostics, report_error)
from tensorlint.core.add_noqa import add_noqa
from tensorlint.core.diagnostics import Diagnostic, physical_lines
from tensorlint.core.safe_io import SourceFile
from tensorlint.run.check import CheckJob, FileResult, Inspection, check_source, file_problems_in, inspect_file
from tensorlint.run.imported import context_or_none
from tensorlint.run.inputs import InputError, is_notebook, write_source
from tensorlint.run.pool import default_jobs


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
    # libcst, the rules and the notebook reader: not loaded when every file came from the cache clean
    import libcst as cst

    from tensorlint.adapters.notebook.cells import NotebookError
    from tensorlint.adapters.notebook.lint import check_notebook
    from tensorlint.adapters.notebook.noqa import add_noqa_to_notebook
    from tensorlint.core.file_problems import parse_python
    from tensorlint.rules.prescreen import parse as parse_ast
    select, settings, path = sorted(inspection.rules), inspection.settings, source.path
    try:
        if is_notebook(path):
            new_text = add_noqa_to_notebook(source.text, path, findings)
            return new_text, check_notebook(new_text, path, select, None, settings=settings)
        new_text = add_noqa(source.text, [(d.line, d.code) for d in findings])
        if parse_python(new_text)[1] is not None:
            raise InputError(f"{path}: internal error, please report: --add-noqa would break the file")
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

