"""Which rule codes run: the defaults, then layers of select / extend-select / ignore over them (code prefixes, as
flake8 and ruff take them), and the check that a prefix names a rule. `[tool.tensorlint]`, the command line, the
editor's options and the API all select codes here."""
from __future__ import annotations

import argparse
import functools
from typing import FrozenSet, Iterable, List, Optional, Tuple

from tensorlint.core.codes import CODES, DEFAULT_CODES, FILE_CODES

Codes = Tuple[str, ...]


def normalized_prefix(text: str) -> str:
    return text.strip().upper()


def names_a_rule(prefix: str) -> bool:
    """Does some rule code start with `prefix` (normalized)? The empty prefix names none."""
    return bool(prefix) and any(code.startswith(prefix) for code in CODES)


def prefixes_option(text: str) -> List[str]:
    """A command-line value such as `TL1,tl301`: its prefixes, each naming a rule (an argparse `type`)."""
    prefixes = [normalized_prefix(part) for part in text.split(",") if part.strip()]
    for prefix in prefixes:
        if not names_a_rule(prefix):
            raise argparse.ArgumentTypeError(f"no rule code starts with {prefix!r}")
    return prefixes


def longest_match(code: str, prefixes: Iterable[str]) -> int:
    """Length of the longest prefix in `prefixes` that `code` starts with; 0 for none."""
    return max((len(prefix) for prefix in prefixes if code.startswith(prefix)), default=0)


def _selected_by(code: str, prefixes: Iterable[str]) -> int:
    """As `longest_match`, but an opt-in rule (a house style, off by default) is selected only when named in full."""
    if code in DEFAULT_CODES:
        return longest_match(code, prefixes)
    return len(code) if code in prefixes else 0


def apply_layer(current: FrozenSet[str], select: Optional[Codes], extend_select: Codes,
                ignore: Codes) -> FrozenSet[str]:
    """One layer of select / extend-select / ignore on top of `current`, as ruff layers its settings.

    `select` replaces what came before; `extend-select` adds; `ignore` removes unless a longer
    (more specific) select or extend-select prefix of the same layer names the code, as flake8.
    """
    chosen = set()
    for code in CODES:
        selected_by = max(_selected_by(code, select or ()), _selected_by(code, extend_select))
        if select is not None:
            on = selected_by > 0
        else:
            on = code in current or selected_by > 0
        if on and ignore:
            ignored_by = longest_match(code, ignore)
            if ignored_by:
                on = selected_by > ignored_by
        if on:
            chosen.add(code)
    return frozenset(chosen)


@functools.lru_cache(maxsize=256)
def layered_codes(select: Optional[Codes], extend_select: Codes, ignore: Codes, cli_select: Optional[Codes],
                  cli_extend_select: Codes, cli_ignore: Codes) -> FrozenSet[str]:
    """The defaults, then the configuration's layer, then the command line's (when it says anything)."""
    codes = apply_layer(DEFAULT_CODES, select, extend_select, ignore)
    if cli_select is not None or cli_extend_select or cli_ignore:
        codes = apply_layer(codes, cli_select, cli_extend_select, cli_ignore)
    return codes


def selected_codes(select: Optional[Iterable[str]] = None, ignore: Optional[Iterable[str]] = None) -> FrozenSet[str]:
    """Codes on after one --select/--ignore (prefixes, as flake8: `TL1` selects the TL1xx family; the longer
    matching prefix wins; an opt-in rule only when named in full)."""
    return apply_layer(DEFAULT_CODES, tuple(select) if select else None, (), tuple(ignore or ()))


def enabled_codes(select: Optional[Iterable[str]] = None, ignore: Optional[Iterable[str]] = None) -> FrozenSet[str]:
    """The codes the checkers run after --select/--ignore: `selected_codes` less TL001/TL002 (files that cannot
    be checked are the caller's to report)."""
    return selected_codes(select, ignore) - FILE_CODES
