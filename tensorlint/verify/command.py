"""`tensorlint verify` and the function behind `tensorlint fix --verify`.

Imported by the CLI, so nothing here imports torch: the evaluation runs in worker subprocesses.

* :func:`add_verify_parser` registers ``verify PATH... [--format text|json] [--select CODES]
  [--ignore CODES] [--timeout S] [--unsafe-fixes] ...`` on the CLI's subparsers, with
  :func:`run_verify` as its handler (``args.handler``).
* :func:`run_verify` returns 1 when a fix FAILs, 2 on a usage or input error (a file that cannot be
  read or parsed, a verifier that cannot start: torch missing), else 0; 2 wins over 1.
* :func:`verified_fix_source` is ``fix_source`` applying only fixes that PASS; :func:`rejected_lines`
  formats what it left unapplied.
"""
from __future__ import annotations

import argparse
import ast
import codecs
import functools
import json
import os
import sys
from typing import Any, Callable, Iterable, Iterator, List, Optional, Sequence, TextIO

from tensorlint.config.targets import ProjectConfigError, settings_for
from tensorlint.config.selection import prefixes_option
from tensorlint.core.settings import Settings
from tensorlint.verify.core import FixVerdict, VerifiedFixResult, Verifier, shared_verifier
from tensorlint.verify.report import options_json, to_json, write_text
from tensorlint.verify.runner import DEFAULT_TIMEOUT, VerifierUnavailable
from tensorlint.verify.sandbox import DEFAULT_MEMORY_BYTES
from tensorlint.verify.snippets import Case

__all__ = ["add_verify_parser", "run_verify", "verified_fix_source", "rejected_lines", "VerifierUnavailable",
           "VerifiedFixResult"]

# `Progress(total, stream)` with `.track(items)`: the bar `check` and `fix` draw, on a terminal's stderr only.
ProgressBar = Callable[[int, TextIO], Any]
EXCLUDED_DIRS = frozenset({"__pycache__", ".git", ".venv", "venv", "node_modules", "build", "dist",
                           ".tox", ".eggs", "site-packages"})

EPILOG = """\
Each fix that `tensorlint check` would offer is run, original and fixed, on a matrix of real tensors
(requires-grad leaf, non-leaf, no-grad, nn.Parameter x CPU and CUDA x 7 dtypes) in subprocesses. CUDA is
real when torch sees a GPU, else emulated. A receiver a fix takes for a tensor without proof (an unsafe
fix's, a fix's declared assumptions) is also bound to look-alikes: an ndarray, an int, a float, objects with
.cpu()/.numpy() but no .detach(); a fix that breaks one FAILs. Verdicts: PASS, FAIL, SKIPPED (unsafe fixes
are SKIPPED unless --unsafe-fixes). See docs/verifier.md.
exit status: 0 no fix failed; 1 a fix FAILed; 2 usage error, unreadable/unparsable input, or no
verifier (torch missing); 2 wins over 1."""


def _number_argument(parse: Callable[[str], float], what: str, allowed: Callable[[float], bool],
                     too_small: str) -> Callable[[str], float]:
    """An argparse `type`: `parse(text)`, refused with "not {what}" or `too_small` unless `allowed`."""
    def checked(text: str) -> float:
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        if not allowed(value):
            raise argparse.ArgumentTypeError(f"{too_small}: {text!r}")
        return value
    return checked


_positive = _number_argument(float, "a number", lambda value: value > 0, "must be positive")
_count = _number_argument(int, "a whole number", lambda value: value >= 1, "must be at least 1")


def add_verify_parser(subparsers, progress: Optional[ProgressBar] = None) -> argparse.ArgumentParser:
    """Register `verify` on the CLI's subparsers (`parser.add_subparsers(...)`); returns its parser.

    `progress` draws the bar over the files read (the CLI gives its own; the verifier imports nothing of the CLI).
    """
    summary = "run every fix, original and fixed, on real tensors and report PASS/FAIL/SKIPPED"
    parser = subparsers.add_parser("verify", help=summary, description=summary, epilog=EPILOG,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.add_argument("--select", type=prefixes_option, metavar="CODES",
                        help="comma-separated codes or prefixes to enable (default: the default rules)")
    parser.add_argument("--ignore", type=prefixes_option, metavar="CODES",
                        help="comma-separated codes or prefixes to disable")
    parser.add_argument("--timeout", type=_positive, default=DEFAULT_TIMEOUT, metavar="S",
                        help=f"seconds one fix may take, all bindings together (default: {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--memory-limit", type=_count, default=DEFAULT_MEMORY_BYTES // 2 ** 20, metavar="MIB",
                        help="memory a worker may add to what it holds after loading torch; a snippet past it "
                             f"gets MemoryError (default: {DEFAULT_MEMORY_BYTES // 2 ** 20})")
    parser.add_argument("--unsafe-fixes", action="store_true", help="also verify fixes marked unsafe")
    parser.add_argument("--strict-bfloat16", action="store_true",
                        help="count a fix that still cannot convert bfloat16 as FAIL (default: a listed limitation)")
    parser.add_argument("--device", choices=("auto", "cuda", "emulated"), default="auto",
                        help="accelerator: real CUDA when available (auto), or force one")
    parser.add_argument("--workers", type=_count, default=None, metavar="N",
                        help="worker subprocesses (default: up to 2)")
    parser.add_argument("--iterations", type=_count, default=3, metavar="N",
                        help="loop iterations for TL4 snippets (default: 3)")
    parser.add_argument("--look-alikes", choices=("unproven", "all"), default="unproven",
                        help="bind the receivers a fix assumes are tensors also to non-tensor look-alikes: for "
                             "unsafe fixes and a fix's declared assumptions (unproven, default), or for every "
                             "fix, safe ones too (all: an audit of the rules' proofs)")
    parser.add_argument("--verbose", "-v", action="store_true", help="show every snippet, binding detail and note")
    parser.add_argument("--target-numpy", metavar="VERSION",
                        help="lowest NumPy the code must run on (default: read from the project's metadata)")
    parser.add_argument("--target-torch", metavar="VERSION",
                        help="lowest torch the code must run on (default: read from the project's metadata)")
    parser.set_defaults(handler=functools.partial(run_verify, progress=progress))
    return parser


# -- files -------------------------------------------------------------------------------------------
def _python_files(paths: Sequence[str], errors: List[str]) -> Iterator[str]:
    for path in dict.fromkeys(paths):
        if os.path.isfile(path):
            yield path
        elif os.path.isdir(path):
            walk_errors: List[OSError] = []
            for root, dirs, files in os.walk(path, onerror=walk_errors.append):
                dirs[:] = sorted(d for d in dirs if d not in EXCLUDED_DIRS and not d.startswith("."))
                yield from (os.path.join(root, name) for name in sorted(files) if name.endswith(".py"))
            errors.extend(f"{e.filename}: cannot read directory: {e.strerror}" for e in walk_errors)
        else:
            errors.append(f"{path}: no such file or directory")


def _read(path: str) -> str:
    with open(path, "rb") as handle:
        data = handle.read()
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    return data.decode("utf-8")


def _file_cases(path: str, args: argparse.Namespace, verifier: Verifier, errors: List[str]) -> List[Case]:
    try:
        text = _read(path)
    except OSError as error:
        errors.append(f"{path}: cannot read: {error.strerror or error}")
        return []
    except UnicodeDecodeError as error:
        errors.append(f"{path}: not valid UTF-8 ({error.reason})")
        return []
    try:
        compile(text, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as error:
        errors.append(f"{path}:{error.lineno or 1}:{error.offset or 1}: cannot parse: {error.msg}")
        return []
    except (ValueError, RecursionError, MemoryError) as error:
        errors.append(f"{path}: cannot parse: {error or type(error).__name__}")
        return []
    try:
        settings = settings_for(path, args.target_numpy, args.target_torch)
    except ProjectConfigError as error:
        errors.append(str(error))
        return []
    try:
        return verifier.cases(text, path, args.select, args.ignore, settings, probes=True)
    except Exception as error:  # noqa: BLE001 - one file's problem is one line
        errors.append(f"{path}: cannot verify: {type(error).__name__}: {error}")
        return []


# -- the command ---------------------------------------------------------------------------------------
def run_verify(args: argparse.Namespace, verifier: Optional[Verifier] = None,
               progress: Optional[ProgressBar] = None) -> int:
    """`tensorlint verify`: 1 if a fix FAILs, 2 on usage/input/environment errors, else 0.

    `verifier` (tests, long-lived callers) is used instead of a fresh one and left open; its
    timeout/strictness/unsafe options are then taken from `args` per call.
    """
    errors: List[str] = []
    for name, default in (("target_numpy", None), ("target_torch", None), ("select", None), ("ignore", None),
                          ("strict_bfloat16", False), ("device", "auto"), ("workers", None), ("iterations", 3),
                          ("verbose", False), ("format", "text"), ("timeout", DEFAULT_TIMEOUT),
                          ("unsafe_fixes", False), ("memory_limit", DEFAULT_MEMORY_BYTES // 2 ** 20),
                          ("look_alikes", "unproven")):
        if not hasattr(args, name):
            setattr(args, name, default)
    verdicts: List[FixVerdict] = []
    info = {}
    owned = verifier is None
    if verifier is None:
        verifier = Verifier(timeout=args.timeout, workers=args.workers, device=args.device,
                            unsafe_fixes=args.unsafe_fixes, strict_bfloat16=args.strict_bfloat16,
                            iterations=args.iterations, memory_bytes=args.memory_limit * 2 ** 20,
                            look_alikes=args.look_alikes)
    try:
        cases: List[Case] = []
        files = list(_python_files(args.paths, errors))
        for path in progress(len(files), sys.stderr).track(files) if progress is not None else files:
            cases.extend(_file_cases(path, args, verifier, errors))
        try:
            verdicts = verifier.verify_cases(cases, unsafe_fixes=args.unsafe_fixes,
                                             strict_bfloat16=args.strict_bfloat16, timeout=args.timeout,
                                             look_alikes=args.look_alikes)
            info = verifier.info() if verifier.started else {}
        except VerifierUnavailable as error:
            errors.append(f"cannot verify: {error}")
    finally:
        if owned:
            verifier.close()
    if args.format == "json":
        json.dump(to_json(verdicts, info, options_json(args), errors), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        write_text(sys.stdout, verdicts, info, [], verbose=args.verbose)
    for error in errors:
        print(f"tensorlint: error: {' '.join(error.split())}", file=sys.stderr)
    if errors:
        return 2
    return 1 if any(v.verdict == "FAIL" for v in verdicts) else 0


def verified_fix_source(source: str, path: Optional[str] = None, select: Optional[Iterable[str]] = None,
                        ignore: Optional[Iterable[str]] = None, unsafe_fixes: bool = False,
                        settings: Optional[Settings] = None, *, timeout: float = DEFAULT_TIMEOUT,
                        verifier: Optional[Verifier] = None) -> VerifiedFixResult:
    """Like `tensorlint.api.fix_source`, applying only fixes whose verification PASSes.

    Re-checks after each pass until nothing more applies (nested fixes need two passes), as the
    fixer does. `result.fixed` / `result.remaining` as in FixResult; `result.rejected` lists the
    verdicts of fixes left unapplied (FAIL or SKIPPED), `result.verdicts` those applied. Workers are
    shared by every call in the process (pass `verifier=` to control them). Raises
    VerifierUnavailable when no worker can start (torch missing), libcst.ParserSyntaxError for a file
    that does not parse, FixError when applied fixes produce invalid code.
    """
    chosen = verifier if verifier is not None else shared_verifier(timeout=timeout)
    return chosen.fix_source(source, path, select, ignore, unsafe_fixes, settings)


def rejected_lines(path: str, result: VerifiedFixResult) -> List[str]:
    """`path:line:col: CODE fix not applied: verify FAIL: reason` for each fix `fix --verify` refused."""
    lines = []
    for verdict in result.rejected:
        why = verdict.error or verdict.reason or ""
        lines.append(f"{path}:{verdict.line}:{verdict.col}: {','.join(verdict.codes)} fix not applied: "
                     f"verify {verdict.verdict}" + (f": {why}" if why else ""))
    return lines
