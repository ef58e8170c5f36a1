"""Which rule families cannot have a finding in a file, decided on Python's own `ast` tree.

libcst's parser is the largest cost of a check, Python's is ~11x cheaper, and flake8 hands its plugins
the `ast` tree it has already built. Each family states a *necessary condition* for any finding of it in
its own folder (`rules/<family>/prescreen.py`, with the argument why it is necessary, read off that
family's checker): a syntactic site where the checker can report. This module reads the file once
(`analysis.ast_scan.FileScan`, watching the attribute and method names the conditions declare) and asks
each condition. A family whose condition fails is not run; a file where every enabled family fails is
never parsed by libcst.

No condition depends on provenance (what a value is), so they stay true while the analysis learns more
(use-based evidence, same-file and cross-module summaries): such facts only decide *whether* a candidate
site is reported. Names come from the tree, not the text, so comments, strings and spacing neither hide
nor fake a site.

Grammar: a file that `ast` cannot parse (a newer Python's syntax, null bytes, deep nesting) gets
`None`: every family runs, and libcst decides the error exactly as without the prescreen. A file that
`ast` parses and every enabled family is ruled out in is not given to libcst at all, so a libcst-only
parse error there goes unreported (the CLI's syntax check is Python's parser, which accepted it).

`benchmarks/prescreen_check.py` and `tests/core/test_prescreen.py` compare findings with and without the
prescreen (`lint(..., prescreen=False)`, or `TENSORLINT_PRESCREEN=0`) over the fixtures, every rule
case, fuzz programs and the benchmark corpus; any change in where a checker reports must keep these
conditions necessary, and those checks say when it does not.
"""
from __future__ import annotations

import ast
import warnings
from typing import FrozenSet, Optional

from tensorlint.analysis.ast_scan import FileScan
from tensorlint.rules.conversion import prescreen as conversion
from tensorlint.rules.data import prescreen as data
from tensorlint.rules.numpy_names import prescreen as numpy_names
from tensorlint.rules.silent import prescreen as silent
from tensorlint.rules.sync import prescreen as sync

CONDITIONS = {"TL1": conversion, "TL2": data, "TL3": numpy_names, "TL4": sync, "TL5": silent}
FAMILIES = tuple(CONDITIONS)  # the families with a condition; any other family always runs
_ATTRIBUTES = frozenset().union(*(condition.ATTRIBUTES for condition in CONDITIONS.values()))
_METHODS = frozenset().union(*(condition.METHODS for condition in CONDITIONS.values()))


def parse(source: str) -> Optional[ast.Module]:
    """The `ast` tree of `source`, or None when Python's parser refuses it (libcst then decides)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes and the like: the file is still checked
            return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def families_without_candidates(tree: ast.Module) -> FrozenSet[str]:
    """The families of `FAMILIES` that cannot have a finding in the file this tree was parsed from."""
    scan = FileScan(tree, _ATTRIBUTES, _METHODS)
    return frozenset(family for family, condition in CONDITIONS.items() if not condition.may_report(scan))


__all__ = ["CONDITIONS", "FAMILIES", "families_without_candidates", "parse"]
