"""The `tensorlint` commands: check (also --add-noqa, --watch), fix, rule, rules, lsp.

A file that cannot be read or parsed is a finding (TL001/TL002, exit 1); anything else that stops a
file (configuration, a write, a bug) is one line on stderr and exit 2. The grammar is in `arguments`, the
commands in `check`, `fix` and `noqa`; reading one input in `run.inputs`, checking one file in `run.check`.

Start-up time: what a run whose files all come from the result cache does not need (libcst, the rules,
the fixer, notebooks, multiprocessing) is imported where it is first used, not here.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
from typing import Iterator, Optional, Sequence

from tensorlint.adapters.cli.arguments import build_parser, conflicting_options
from tensorlint.adapters.cli.check import Outcome, report_error, run_check, run_watch
from tensorlint.adapters.cli.fix import run_fix
from tensorlint.adapters.cli.noqa import run_add_noqa
from tensorlint.config.reader import ConfigError, use_config_file


def run_check_command(args: argparse.Namespace) -> int:
    """`tensorlint check`, or what its --fix, --add-noqa and --watch make of it."""
    if args.fix:
        return run_fix(argparse.Namespace(**{**vars(args), "command": "fix", "diff": False, "verify": False}))
    if args.add_noqa:
        return run_add_noqa(args)
    if args.watch:
        return run_watch(args)
    return run_check(args)


def run_lsp(args: argparse.Namespace) -> int:
    from tensorlint.adapters.lsp import serve  # pygls is imported only when the server starts
    return serve()


def run_rule(args: argparse.Namespace) -> int:
    from tensorlint.rules import RULES_BY_CODE  # the rules and libcst: only these two commands need them
    rule = RULES_BY_CODE.get(args.code.upper())
    if rule is None:
        report_error(Outcome(), f"unknown rule {args.code!r} (`tensorlint rules` lists them)")
        return 2
    print(f"# {rule.code} {rule.name}\n")
    print(f"Fix: {rule.fixable}. Enabled by default: {'yes' if rule.default_enabled else 'no'}.\n")
    print(rule.documentation())
    return 0


def run_rules(args: argparse.Namespace) -> int:
    from tensorlint.rules import ALL_RULES, in_code_order  # the rules and libcst: only `rule` and `rules` need them
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


HANDLERS = {"check": run_check_command, "fix": run_fix, "rule": run_rule, "rules": run_rules, "lsp": run_lsp}


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