"""flake8 adaptor: flake8 hands us the file's lines; we hand back 0-based columns (flake8 adds 1).

The plugin reads the same `[tool.tensorlint]` as the CLI (found by walking up from the file): `exclude`,
`target-numpy`/`target-torch`, and `select`/`ignore`/`extend-select`/`per-file-ignores`. flake8's own options
win when given: once flake8's `--select`, `--ignore`, `--extend-select`, `--extend-ignore` or
`--per-file-ignores` name a TL code (or a prefix of one, such as `T`), the plugin reports every TL code and
leaves the choice to flake8; `--tensorlint-target-numpy/-torch` win over the project's versions.
Each file sees what the project modules it imports tell it (`imported.py`), as `tensorlint check` does.
A broken `[tool.tensorlint]` stops flake8 with one message naming the key, as the CLI does.
"""
from __future__ import annotations

import ast
from typing import Iterator, List, Optional, Tuple

import libcst as cst
from flake8.exceptions import ExecutionError

from tensorlint import __version__
from tensorlint.core.engine import lint
from tensorlint.run.imported import context_or_none
from tensorlint.config.reader import ConfigError, load_config
from tensorlint.config.targets import ProjectConfigError, settings_for
from tensorlint.core.codes import CODES, DEFAULT_CODES
from tensorlint.core.settings import parse_version

_FLAKE8_CODE_OPTIONS = ("select", "ignore", "extend_select", "extend_ignore")


class TensorlintChecker:
    name = "tensorlint"
    version = __version__
    target_numpy: Optional[str] = None
    target_torch: Optional[str] = None
    flake8_chooses_codes = False  # flake8's options name TL codes: they decide, not [tool.tensorlint]
    flake8_codes = DEFAULT_CODES

    # flake8 classifies plugins by their parameters: `tree` makes this an AST plugin. The tree flake8
    # has already built is all the prescreen needs; libcst parses `lines` only when it passes.
    def __init__(self, tree: ast.Module, lines: List[str], filename: str) -> None:
        self.tree = tree
        self.lines = lines
        self.filename = filename

    @classmethod
    def add_options(cls, parser) -> None:
        parser.add_option("--tensorlint-target-numpy", metavar="VERSION", parse_from_config=True,
                          help="lowest NumPy the code must run on (default: the project's metadata)")
        parser.add_option("--tensorlint-target-torch", metavar="VERSION", parse_from_config=True,
                          help="lowest torch the code must run on (default: the project's metadata)")

    @classmethod
    def parse_options(cls, options) -> None:
        for option in ("tensorlint_target_numpy", "tensorlint_target_torch"):
            value = getattr(options, option)
            if value is not None:
                try:
                    parse_version(value)
                except ValueError as error:
                    # flake8 prints an ExecutionError as one clear message, without a traceback
                    raise ExecutionError(f"--{option.replace('_', '-')}: {error}") from None
        cls.target_numpy = options.tensorlint_target_numpy
        cls.target_torch = options.tensorlint_target_torch
        try:  # the project flake8 runs in, read here in the main process: with -j, a worker's error could hang the
            load_config(".")  # pool (flake8 terminating it with the other workers mid-file); it stops flake8 now
            settings_for(".", cls.target_numpy, cls.target_torch)
        except (ConfigError, ProjectConfigError) as error:
            raise ExecutionError(f"tensorlint: {error}") from None
        cls.flake8_chooses_codes = _names_our_codes(options)
        cls.flake8_codes = DEFAULT_CODES | _opt_in_codes_named(options)

    def run(self) -> Iterator[Tuple[int, int, str, type]]:
        from_stdin = self.filename in ("-", "stdin")
        where = "." if from_stdin else self.filename
        try:
            config = load_config(where)
            if not from_stdin and config.is_excluded(self.filename, is_dir=False, explicit=True):
                return
            # flake8 applies its --select/--ignore and `# noqa` itself; we only narrow to what the project chose
            codes = self.flake8_codes if self.flake8_chooses_codes else config.codes_for(None if from_stdin else where)
            settings = settings_for(where, self.target_numpy, self.target_torch)
        except (ConfigError, ProjectConfigError) as error:
            raise ExecutionError(f"tensorlint: {error}") from None
        if not codes:
            return
        project = None if from_stdin else context_or_none(self.filename, self.tree)
        try:
            diagnostics = lint("".join(self.lines), codes, settings=settings, tree=self.tree, project=project)
        except (cst.ParserSyntaxError, RecursionError):
            return  # flake8 reports E999 for the syntax error itself
        for diagnostic in diagnostics:
            yield diagnostic.line, diagnostic.col, f"{diagnostic.code} {diagnostic.message}", type(self)


def _opt_in_codes_named(options) -> frozenset:
    """Opt-in rules (house styles, off by default) that flake8's options name in full: `--select TL` leaves them off."""
    named = set()
    for option in _FLAKE8_CODE_OPTIONS[0::2]:  # select, extend_select
        named.update(code.strip() for code in getattr(options, option, None) or ())
    return frozenset(code for code in CODES if code not in DEFAULT_CODES and code in named)


def _names_our_codes(options) -> bool:
    """Do flake8's own options mention a TL code, or a prefix of one (`T`, `TL`, `TL1`, `TL101`)?"""
    named: List[str] = []
    for option in _FLAKE8_CODE_OPTIONS:
        named.extend(getattr(options, option, None) or ())
    per_file = getattr(options, "per_file_ignores", None) or ""
    named.extend(part for entry in per_file.replace(",", " ").split() for part in entry.split(":")[-1:])
    return any(code.strip() and ("TL".startswith(code.strip()) or code.strip().startswith("TL")) for code in named)


__all__ = ["TensorlintChecker"]
