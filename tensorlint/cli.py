"""The `tensorlint` command: check, fix, and explain rules. Every input problem is one line on stderr."""
from __future__ import annotations

import argparse
import ast
import difflib
import multiprocessing
import os
import sys
from dataclasses import dataclass, field
from typing import Callable, Dict, FrozenSet, Iterator, List, Optional, Sequence, Tuple, TypeVar

import libcst as cst

from . import __version__
from .api import check_source, fix_source
from .cache import DIRECTORY_NAME, ENVIRONMENT_VARIABLE, Cache, cache_key, default_directory, tool_fingerprint
from .diagnostics import Diagnostic, physical_lines
from . import output
from .config import ConfigError, load_config
from .fixer import FixError
from .safe_io import SourceError, SourceFile, decode_source, newline_style, read_source_file, write_source_file
from .notebook import NotebookError, check_notebook, fix_notebook, is_notebook
from .progress import Progress
from .project import ProjectConfigError, settings_for
from .rules import ALL_RULES, RULES_BY_CODE
from .settings import Settings

EXCLUDED_DIRS = frozenset({"__pycache__", ".git", ".venv", "venv", "node_modules", "build", "dist",
                           ".tox", ".eggs", "site-packages"})
STDIN = "-"
T = TypeVar("T")

EPILOG = """\
output: `path:line:col: CODE message` (columns 1-based, as flake8), sorted by position in each file,
then a summary line (`All checks passed!` when there is nothing to report). Errors: one line on stderr.
exit status: 0 clean; 1 problems found (check, fix) or changes pending (fix --diff); 2 usage error or an
input that cannot be read, decoded as UTF-8 or parsed (the other files are still processed; 2 wins over 1).
fix - (stdin) writes the fixed source to stdout and its summary to stderr.
check runs files in parallel (--jobs) and prints them in the order given, each directory's files sorted;
it caches results by file content, settings, codes and tool version, so unchanged files are not re-checked
(`fix` always checks afresh)."""


class OneLineErrors(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"tensorlint: error: {message} (see `{self.prog} --help`)\n")


class InputError(Exception):
    """A file that cannot be read, decoded, parsed or fixed: reported in one line, then the run goes on."""


@dataclass
class Outcome:
    problems: int = 0        # diagnostics reported (check) or remaining (fix)
    safe_fixable: int = 0
    unsafe_fixable: int = 0
    fixed: int = 0
    files_changed: int = 0
    errors: int = 0

    def count(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.problems += len(diagnostics)
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


# -- finding and reading files -----------------------------------------------------------------
def python_files(paths: Sequence[str], outcome: Outcome) -> Iterator[str]:
    """Explicit files whatever their suffix; `*.py` under directories, skipping excluded and hidden ones."""
    for path in dict.fromkeys(paths):
        if path == STDIN or os.path.isfile(path):
            yield path
        elif os.path.isdir(path):
            walk_errors: List[OSError] = []
            for root, dirs, files in os.walk(path, onerror=walk_errors.append):
                try:
                    config = load_config(root)  # `exclude` and .gitignore of [tool.tensorlint]
                except ConfigError as error:
                    report_error(outcome, str(error))
                    dirs[:] = []
                    continue
                dirs[:] = sorted(d for d in dirs if d not in EXCLUDED_DIRS and not d.startswith(".")
                                 and not config.is_excluded(os.path.join(root, d), is_dir=True))
                yield from (os.path.join(root, name) for name in sorted(files) if name.endswith((".py", ".ipynb"))
                            and not config.is_excluded(os.path.join(root, name), is_dir=False))
            for error in walk_errors:
                report_error(outcome, f"{error.filename}: cannot read directory: {error.strerror}")
        else:
            report_error(outcome, f"{path}: no such file or directory")


def read_source(path: str, stdin_filename: Optional[str]) -> SourceFile:
    """The file (or stdin) decoded as Python decodes source: coding cookie, BOM, newlines kept."""
    try:
        if path != STDIN:
            return read_source_file(path)
        stream = sys.stdin
        data = stream.buffer.read() if hasattr(stream, "buffer") else stream.read().encode("utf-8")
        shown = stdin_filename or path
        text, encoding, bom = decode_source(data, shown)
        return SourceFile(shown, text, encoding, bom, *newline_style(text))
    except SourceError as error:
        raise InputError(str(error)) from None


def write_source(source: SourceFile, text: str) -> None:
    """Replace the file atomically, in its own encoding and line breaks; refuse if it changed since it was read."""
    try:
        write_source_file(source, text)
    except SourceError as error:
        raise InputError(str(error)) from None


def analyse(source: SourceFile, action: Callable[[SourceFile], T]) -> T:
    """`action(source)`, with any failure turned into one InputError line."""
    path = source.path
    try:
        # The engine skips parsing files that cannot hold a finding, so check syntax as flake8's E999
        # does, with the running interpreter's parser: fast, and the same verdict as flake8.
        # (A notebook's cells are compiled one by one inside tensorlint.notebook.)
        if not is_notebook(path):
            compile(source.text, source.path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as error:
        raise InputError(f"{path}:{error.lineno or 1}:{error.offset or 1}: cannot parse: {error.msg}") from None
    except (ValueError, RecursionError, MemoryError) as error:  # null bytes (3.11), deep nesting
        raise InputError(f"{path}: cannot parse: {error or type(error).__name__}") from None
    try:
        return action(source)
    except cst.ParserSyntaxError as error:
        raise InputError(f"{path}:{error.raw_line}:{error.raw_column + 1}: cannot parse: {error.message}") from None
    except FixError as error:
        raise InputError(f"{path}: cannot fix: {error}") from None
    except NotebookError as error:
        raise InputError(str(error)) from None
    except RecursionError:
        raise InputError(f"{path}: cannot check: nested too deeply for tensorlint") from None
    except Exception as error:  # noqa: BLE001 - a bug in tensorlint is still one line, never a traceback
        raise InputError(f"{path}: internal error, please report: {type(error).__name__}: {error}") from None


def configured_codes(path: str, select: Optional[Sequence[str]], ignore: Optional[Sequence[str]]) -> FrozenSet[str]:
    """The codes on for `path`: defaults, then [tool.tensorlint], then the command line, then per-file-ignores."""
    try:
        return load_config(path if path != STDIN else os.getcwd()).codes_for(
            path if path != STDIN else None, select, ignore)
    except ConfigError as error:
        raise InputError(str(error)) from None


def project_settings(path: str, target_numpy: Optional[str], target_torch: Optional[str]) -> Settings:
    """The NumPy/torch range for `path`: --target-numpy/--target-torch, else the nearest project metadata."""
    try:
        return settings_for(path if path != STDIN else os.getcwd(), target_numpy, target_torch)
    except ProjectConfigError as error:
        raise InputError(str(error)) from None


def print_diagnostics(path: str, diagnostics: Sequence[Diagnostic]) -> None:
    for diagnostic in sorted(diagnostics):
        print(diagnostic.format(path))


# -- check: one file, in this process or a worker --------------------------------------------------
@dataclass(frozen=True)
class FileJob:
    """What every file of one run is handled with (sent once to each worker)."""
    select: Optional[Sequence[str]]
    ignore: Optional[Sequence[str]]
    target_numpy: Optional[str]
    target_torch: Optional[str]
    stdin_filename: Optional[str]


@dataclass(frozen=True)
class CheckJob(FileJob):
    """`tensorlint check`."""
    cache_directory: Optional[str] = None  # None: no cache

    def run(self, path: str) -> "FileResult":
        return check_file(self, path)


@dataclass
class FileResult:
    path: str                       # as shown to the user
    diagnostics: List[Diagnostic]
    error: Optional[str] = None     # the one-line message when the file could not be checked


def check_file(job: CheckJob, path: str) -> FileResult:
    """Check one file, from the cache when its text, settings and codes were seen before."""
    try:
        source = read_source(path, job.stdin_filename)
        settings = project_settings(source.path, job.target_numpy, job.target_torch)
        codes = configured_codes(source.path, job.select, job.ignore)
        if not codes:
            return FileResult(source.path, [])
        select = sorted(codes)
        key = cache = None
        if is_notebook(source.path):
            return FileResult(source.path, analyse(source, lambda src: check_notebook(
                src.text, src.path, select, None, settings=settings)))
        if job.cache_directory is not None:
            cache = Cache(job.cache_directory)
            key = cache_key(source.text, settings, codes)
            cached = cache.load(key)
            if cached is not None:
                return FileResult(source.path, cached)
        diagnostics = analyse(source, lambda src: check_source(src.text, src.path, select, None, settings=settings))
    except InputError as error:
        return FileResult(path, [], str(error))
    if cache is not None:
        cache.store(key, diagnostics)  # errors are not cached: a file that failed is tried again next time
    return FileResult(source.path, diagnostics)


_WORKER_JOB = None  # the CheckJob or FixJob of this worker process


def _start_worker(job) -> None:
    global _WORKER_JOB
    _WORKER_JOB = job


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
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    with context.Pool(jobs, initializer=_start_worker, initargs=(job,)) as pool:
        yield from pool.imap(_run_in_worker, paths, chunksize)


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may use
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# -- commands ----------------------------------------------------------------------------------
def run_check(args: argparse.Namespace) -> int:
    outcome = Outcome()
    files = list(python_files(args.paths, outcome))
    job = CheckJob(args.select, args.ignore, args.target_numpy, args.target_torch, args.stdin_filename,
                   None if args.no_cache else str(default_directory()))
    streaming = args.format == "concise" and not args.statistics
    items: List[Tuple[str, Diagnostic]] = []
    sources: Dict[str, str] = {}
    for result in run_files(job, files, args.jobs or default_jobs()):
        if result.error is not None:
            report_error(outcome, result.error)
            continue
        if streaming:
            print_diagnostics(result.path, result.diagnostics)
        else:
            items.extend((result.path, d) for d in sorted(result.diagnostics))
            if result.diagnostics and result.path != STDIN and not is_notebook(result.path):
                sources[result.path] = read_source(result.path, None).text
        outcome.count(result.diagnostics)
    if args.statistics:
        output.write_statistics(sys.stdout, [d for _, d in items], as_json=args.format == "json")
    elif not streaming:
        output.write(args.format, sys.stdout, items, sources, color=output.should_color(sys.stdout))
    if args.format not in ("concise", "text") or args.statistics:
        return outcome.exit_code(findings=outcome.problems > 0 and not args.exit_zero)
    print_check_summary(outcome)
    return outcome.exit_code(findings=outcome.problems > 0 and not args.exit_zero)


def print_check_summary(outcome: Outcome) -> None:
    if not outcome.problems:
        if not outcome.errors:
            print("All checks passed!")
        return
    notes = []
    if outcome.safe_fixable:
        notes.append(f"{outcome.safe_fixable} fixable with `tensorlint fix`")
    if outcome.unsafe_fixable:
        notes.append(f"{outcome.unsafe_fixable} more with `--unsafe-fixes`" if notes
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


def fix_file(job: FixJob, path: str) -> FixFileResult:
    """Fix one file and write it back (atomically, unless --diff or stdin); never raises for bad input."""
    try:
        source = read_source(path, job.stdin_filename)
        settings = project_settings(source.path, job.target_numpy, job.target_torch)
        result = analyse(source, lambda src: fix_one(src, job, settings))
        changed = result.source != source.text
        output_text = ""
        if job.diff:
            output_text = unified_diff(source.path, source.text, result.source)
        elif path == STDIN:
            output_text = ("\ufeff" if source.bom else "") + result.source
        elif changed:
            write_source(source, result.source)
    except InputError as error:
        return FixFileResult(path, error=str(error))
    return FixFileResult(source.path, len(result.fixed), changed, list(result.remaining),
                         tuple(getattr(result, "rejected_lines", ())), output_text, from_stdin=path == STDIN)


def fix_one(source: SourceFile, job: FixJob, settings: Settings):
    """Fix one file: a notebook cell by cell; with --verify only the fixes the runtime verifier passes."""
    select = sorted(configured_codes(source.path, job.select, job.ignore)) or ["none"]
    unsafe = unsafe_fixes_for(source.path, job.unsafe_fixes)
    if is_notebook(source.path):
        return fix_notebook(source.text, source.path, select, None, unsafe, settings=settings)
    if not job.verify:
        return fix_source(source.text, source.path, select, None, unsafe, settings=settings)
    from .verify.command import VerifierUnavailable, rejected_lines, verified_fix_source  # needs the verify extra
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
    from .lsp import serve  # pygls is imported only here, and only when installed
    return serve()


def run_fix(args: argparse.Namespace) -> int:
    outcome = Outcome()
    files = list(python_files(args.paths, outcome))
    job = FixJob(args.select, args.ignore, args.target_numpy, args.target_torch, args.stdin_filename,
                 args.unsafe_fixes, args.verify, args.diff)
    # the bar goes to a terminal only; never with --diff or stdin, whose output is the point
    progress = Progress(len(files), sys.stderr, enabled=False if args.diff or STDIN in files else None)
    for result in run_files(job, files, args.jobs or default_jobs()):
        progress.advance()
        if result.error is not None:
            progress.clear()
            report_error(outcome, result.error)
            continue
        outcome.fixed += result.fixed
        outcome.files_changed += result.changed
        outcome.count(result.remaining)
        if args.diff or result.from_stdin:
            sys.stdout.write(result.output)
        elif result.remaining or result.rejected_lines:
            progress.clear()
            print_diagnostics(result.path, result.remaining)
            for line in result.rejected_lines:
                print(line)
    progress.clear()
    if args.diff:
        return outcome.exit_code(findings=outcome.files_changed > 0)
    print_fix_summary(outcome, to=sys.stderr if STDIN in args.paths else sys.stdout)
    return outcome.exit_code(findings=outcome.problems > 0)


def print_fix_summary(outcome: Outcome, to) -> None:
    if not outcome.fixed and not outcome.problems:
        if not outcome.errors:
            print("All checks passed!", file=to)
        return
    summary = f"Fixed {plural(outcome.fixed, 'problem')} in {plural(outcome.files_changed, 'file')}"
    if outcome.problems:
        summary += f"; {outcome.problems} remaining"
        if outcome.unsafe_fixable:
            summary += f" ({outcome.unsafe_fixable} fixable with --unsafe-fixes)"
    print(summary + ".", file=to)


def unified_diff(path: str, before: str, after: str) -> str:
    shown = os.path.normpath(path).lstrip(os.sep)  # `a//tmp/x.py` would not apply; git strips it too
    lines = difflib.unified_diff(physical_lines(before), physical_lines(after),
                                 f"a/{shown}", f"b/{shown}")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def run_rule(args: argparse.Namespace) -> int:
    rule = RULES_BY_CODE.get(args.code.upper())
    if rule is None:
        report_error(Outcome(), f"unknown rule {args.code!r} (`tensorlint rules` lists them)")
        return 2
    print(f"# {rule.code} {rule.name}\n")
    print(f"Fix: {rule.fixable}. Enabled by default: {'yes' if rule.default_enabled else 'no'}.\n")
    print(rule.documentation())
    return 0


def run_rules(args: argparse.Namespace) -> int:
    rows = [("CODE", "NAME", "FIX", "DEFAULT", "SUMMARY")]
    rows += [(r.code, r.name, r.fixable, "on" if r.default_enabled else "off", r.summary) for r in ALL_RULES]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[4])
    return 0


# -- arguments ---------------------------------------------------------------------------------
def code_prefixes(text: str) -> List[str]:
    prefixes = [part.strip().upper() for part in text.split(",") if part.strip()]
    for prefix in prefixes:
        if not any(code.startswith(prefix) for code in RULES_BY_CODE):
            raise argparse.ArgumentTypeError(f"no rule code starts with {prefix!r}")
    return prefixes


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrors(prog="tensorlint", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                           description="Find and fix PyTorch-to-NumPy conversion hazards.")
    parser.add_argument("--version", action="version", version=f"tensorlint {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, handler, summary in (("check", run_check, "report problems"),
                                   ("fix", run_fix, "fix problems in place (or show the --diff)")):
        command = commands.add_parser(name, help=summary, description=summary, epilog=EPILOG,
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
        command.add_argument("paths", nargs="+", metavar="PATH", help="files, directories, or - for stdin")
        command.add_argument("--select", type=code_prefixes, metavar="CODES",
                             help="comma-separated codes or prefixes to enable (default: the default rules)")
        command.add_argument("--ignore", type=code_prefixes, metavar="CODES",
                             help="comma-separated codes or prefixes to disable")
        command.add_argument("--stdin-filename", metavar="NAME", help="path to show for - (stdin)")
        command.add_argument("--target-numpy", metavar="VERSION",
                             help="lowest NumPy the code must run on (default: read from the project's metadata)")
        command.add_argument("--target-torch", metavar="VERSION",
                             help="lowest torch the code must run on (default: read from the project's metadata)")
        if name == "check":
            command.add_argument("--format", choices=output.FORMATS, default="concise",
                                 help="concise (path:line:col: CODE message, the default), text (with the source "
                                      "line and a caret), json, sarif, github")
            command.add_argument("--statistics", action="store_true", help="print counts per code instead")
            command.add_argument("--exit-zero", action="store_true", help="exit 0 even when problems are found")
            command.add_argument("-j", "--jobs", type=positive_int, metavar="N",
                                 help="check files in N processes (default: one per core)")
            command.add_argument("--no-cache", action="store_true",
                                 help=f"neither read nor write the result cache ({DIRECTORY_NAME}/ in the project "
                                      f"root, or ${ENVIRONMENT_VARIABLE})")
        if name == "fix":
            command.add_argument("--diff", action="store_true", help="write nothing; print a unified diff")
            command.add_argument("--unsafe-fixes", action="store_true", default=None,
                                 help="also apply fixes that may change behaviour (default: [tool.tensorlint] "
                                      "unsafe-fixes, else off)")
            command.add_argument("--no-unsafe-fixes", dest="unsafe_fixes", action="store_false",
                                 help="apply only safe fixes, whatever the configuration says")
            command.add_argument("-j", "--jobs", type=positive_int, metavar="N",
                                 help="fix files in N processes (default: one per core)")
            command.add_argument("--verify", action="store_true",
                                 help="apply only fixes the runtime verifier passes (needs the verify extra)")
        command.set_defaults(handler=handler)
    rule = commands.add_parser("rule", help="show one rule's documentation")
    rule.add_argument("code", metavar="CODE")
    rule.set_defaults(handler=run_rule)
    commands.add_parser("rules", help="list every rule").set_defaults(handler=run_rules)
    from .verify.command import add_verify_parser  # argparse only; the verifier itself loads on use
    add_verify_parser(commands)
    commands.add_parser("lsp", help="run the language server (LSP over stdio) for editors").set_defaults(
        handler=run_lsp)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits on --help, --version and usage errors
        return int(exit_.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return args.handler(args)
