"""The command line's grammar: subcommands, options, their help, and the options that cannot go together."""
from __future__ import annotations

import argparse
from typing import Callable, Mapping, Optional, Sequence

from tensorlint import __version__
from tensorlint.run.cache import DIRECTORY_NAME, ENVIRONMENT_VARIABLE
from tensorlint.config.selection import prefixes_option
from tensorlint.adapters.cli.output import FORMATS
from tensorlint.adapters.cli.progress import Progress

STDIN = "-"

EPILOG = """\
output: `path:line:col: CODE message` (columns 1-based, as flake8), sorted by position in each file,
then a summary line (`All checks passed!` when there is nothing to report). Errors: one line on stderr.
exit status: 0 clean; 1 problems found (check, fix) or changes pending (fix --diff), a file that cannot be
read, decoded or parsed included (TL001, TL002: the other files are still processed); 2 usage, configuration
or internal error (2 wins over 1).
fix - (stdin) writes the fixed source to stdout and its summary to stderr.
check runs files in parallel (--jobs) and prints them in the order given, each directory's files sorted;
it caches results by file content, settings, codes and tool version, so unchanged files are not re-checked
(`fix` always checks afresh)."""


class OneLineErrors(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"tensorlint: error: {message} (see `{self.prog} --help`)\n")


# -- arguments ---------------------------------------------------------------------------------
def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


VERIFY_SUMMARY = "run every fix, original and fixed, on real tensors and report PASS/FAIL/SKIPPED"


def add_common_options(command: argparse.ArgumentParser, verb: str) -> None:
    """The options `check` and `fix` share."""
    command.add_argument("paths", nargs="*", metavar="PATH",
                         help="files, directories, or - for stdin (default: the current directory)")
    command.add_argument("--select", type=prefixes_option, metavar="CODES",
                         help="comma-separated codes or prefixes to enable (default: the default rules)")
    command.add_argument("--extend-select", type=prefixes_option, metavar="CODES",
                         help="comma-separated codes or prefixes to enable on top of the configured ones")
    command.add_argument("--ignore", type=prefixes_option, metavar="CODES",
                         help="comma-separated codes or prefixes to disable")
    command.add_argument("--extend-ignore", type=prefixes_option, metavar="CODES",
                         help="the same as --ignore; both may be given (as in flake8)")
    command.add_argument("--config", metavar="FILE",
                         help="read the settings from this file only (a pyproject.toml's [tool.tensorlint], or a "
                              "TOML file with the same keys at the top), not from the nearest pyproject.toml")
    command.add_argument("--stdin-filename", metavar="NAME", help="path to show for - (stdin)")
    command.add_argument("--target-numpy", metavar="VERSION",
                         help="lowest NumPy the code must run on (default: read from the project's metadata)")
    command.add_argument("--target-torch", metavar="VERSION",
                         help="lowest torch the code must run on (default: read from the project's metadata)")
    command.add_argument("-j", "--jobs", type=positive_int, metavar="N",
                         help=f"{verb} files in N processes (default: one per core)")
    command.add_argument("-q", "--quiet", action="store_true",
                         help="print the findings only: no progress bar, no summary line")


def add_unsafe_options(command: argparse.ArgumentParser, note: str = "") -> None:
    command.add_argument("--unsafe-fixes", action="store_true", default=None,
                         help=f"also apply fixes that may change behaviour{note} (default: [tool.tensorlint] "
                              "unsafe-fixes, else off)")
    command.add_argument("--no-unsafe-fixes", dest="unsafe_fixes", action="store_false",
                         help="apply only safe fixes, whatever the configuration says")


def build_parser(handlers: Mapping[str, Callable[[argparse.Namespace], int]],
                 argv: Optional[Sequence[str]] = None) -> argparse.ArgumentParser:
    """The parser; each command's `handler` default is `handlers[command]` (check, fix, rule, rules, lsp).

    `verify`'s own options are registered only when `argv` may name it (or is not known): they come with the
    verifier's modules, which `tensorlint check` has no use for."""
    parser = OneLineErrors(prog="tensorlint", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                           description="Find and fix PyTorch-to-NumPy conversion hazards.")
    parser.add_argument("--version", action="version", version=f"tensorlint {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, summary in (("check", "report problems (--fix: fix them)"),
                          ("fix", "fix problems in place (or show the --diff)")):
        command = commands.add_parser(name, help=summary, description=summary, epilog=EPILOG,
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
        add_common_options(command, name)
        if name == "check":
            command.add_argument("--format", choices=FORMATS, default="concise",
                                 help="concise (path:line:col: CODE message, the default), text (with the source "
                                      "line and a caret), json, sarif, github")
            command.add_argument("--output-file", metavar="FILE",
                                 help="write the findings and the summary to FILE instead of stdout")
            command.add_argument("--statistics", action="store_true", help="print counts per code instead")
            command.add_argument("--exit-zero", action="store_true", help="exit 0 even when problems are found")
            command.add_argument("--no-cache", action="store_true",
                                 help=f"neither read nor write the result cache ({DIRECTORY_NAME}/ in the project "
                                      f"root, or ${ENVIRONMENT_VARIABLE})")
            command.add_argument("--no-project", dest="project", action="store_false",
                                 help="check each file alone: the project's modules do not tell each other what "
                                      "they know (imported functions' returns and conversions, base classes, calls "
                                      "into other files); faster on a first run, finds less")
            command.add_argument("--project", dest="project", action="store_true",
                                 help="the default (kept for command lines written when it was not)")
            command.add_argument("--add-noqa", action="store_true",
                                 help="add `# noqa: CODE` to every line with a finding (merged with noqa comments "
                                      "already there), so that the next check starts from zero")
            command.add_argument("--watch", action="store_true",
                                 help="check, then check again each file that changes, until Ctrl-C")
            command.add_argument("--fix", action="store_true", help="the same as `tensorlint fix`")
            add_unsafe_options(command, ", with --fix")
        if name == "fix":
            command.add_argument("--diff", action="store_true", help="write nothing; print a unified diff")
            add_unsafe_options(command)
            command.add_argument("--verify", action="store_true",
                                 help="apply only fixes the runtime verifier passes (needs the verify extra)")
        command.set_defaults(handler=handlers[name])
    rule = commands.add_parser("rule", help="show one rule's documentation")
    rule.add_argument("code", metavar="CODE")
    rule.set_defaults(handler=handlers["rule"])
    commands.add_parser("rules", help="list every rule").set_defaults(handler=handlers["rules"])
    if argv is None or "verify" in argv:
        from tensorlint.verify.command import add_verify_parser  # argparse only; the verifier itself loads on use
        add_verify_parser(commands, Progress)
    else:
        commands.add_parser("verify", help=VERIFY_SUMMARY)
    commands.add_parser("lsp", help="run the language server (LSP over stdio) for editors").set_defaults(
        handler=handlers["lsp"])
    return parser


# Options `check --fix` does not take: they describe a report, and `fix` writes files.
_REPORT_ONLY = (("--add-noqa", "add_noqa"), ("--watch", "watch"), ("--statistics", "statistics"),
                ("--output-file", "output_file"), ("--exit-zero", "exit_zero"))


def conflicting_options(args: argparse.Namespace) -> Optional[str]:
    """Why the options of `check` cannot go together, or None."""
    if args.command != "check":
        return None
    if args.fix:
        for flag, name in _REPORT_ONLY:
            if getattr(args, name):
                return f"--fix cannot be combined with {flag}"
        if args.format != "concise":
            return f"--fix prints what remains as concise, not as {args.format}"
        return None
    if args.unsafe_fixes is not None:
        return f"--{'' if args.unsafe_fixes else 'no-'}unsafe-fixes applies to --fix only"
    if args.add_noqa and args.watch:
        return "--add-noqa and --watch cannot be combined"
    if args.watch and args.output_file:
        return "--watch prints to the terminal, not to --output-file"
    for flag, on in (("--add-noqa", args.add_noqa), ("--watch", args.watch)):
        if not on:
            continue
        if STDIN in args.paths:
            return f"{flag} works on files, not on stdin (-)"
        if args.statistics:
            return f"{flag} cannot be combined with --statistics"
        if args.format not in ("concise", "text"):
            return f"{flag} prints findings as concise or text, not as {args.format}"
    return None
