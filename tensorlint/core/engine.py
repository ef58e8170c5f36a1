"""Prescreen with `ast`, parse once with libcst, run the enabled families in one walk, position the reports."""
from __future__ import annotations

import ast
import os
from typing import Dict, FrozenSet, List, Optional

import libcst as cst

from tensorlint.rules import prescreen as screen
from tensorlint.analysis import Semantic
from tensorlint.analysis.crossmodule import ProjectContext, call_line
from tensorlint.analysis.walk import walk
from tensorlint.core.context import SourceContext
from tensorlint.core.deep import parse_module, with_deep_recursion
from tensorlint.core.diagnostics import Diagnostic
from tensorlint.rules import FAMILIES
from tensorlint.core.settings import DEFAULT, Settings


def lint(source: str, codes: FrozenSet[str], module: Optional[cst.Module] = None,
         settings: Settings = DEFAULT, tree: Optional[ast.Module] = None,
         prescreen: Optional[bool] = None, project: Optional[ProjectContext] = None) -> List[Diagnostic]:
    """All diagnostics of `codes` in `source`, before noqa. Raises libcst.ParserSyntaxError.

    Families that `tensorlint.rules.prescreen` proves cannot report in this file are not run, and a file
    no enabled family can report in is not parsed by libcst. `tree` is the file's `ast` tree when the
    caller has one (flake8 does); otherwise the source is parsed with `ast` here. `prescreen=False`,
    or `TENSORLINT_PRESCREEN=0` in the environment when it is None, runs every enabled family.

    `project` is what the rest of the project tells this file (a project run). The check records in it
    whether the file was walked, what it asked for (`queries`) and the calls it made into other modules
    (`calls_out`). The prescreen's TL1-TL3 conditions hold whatever other modules say (a finding is at a
    conversion, `.data` or NumPy-name site of this file); TL4's do not when a step comes from elsewhere
    (an inherited step method, a call from another file's step loop), and then TL4 runs regardless.
    """
    return with_deep_recursion(_lint, source, codes, module, settings, tree, prescreen, project)


def prescreen_enabled(prescreen: Optional[bool] = None) -> bool:
    if prescreen is not None:
        return prescreen
    return os.environ.get("TENSORLINT_PRESCREEN", "1").strip().lower() not in ("0", "off", "no", "false")


def family_prefix(family: type) -> str:
    """`TL1` for the conversion family: the hundreds digit of its codes names the family."""
    return family.rules[0].code[:3]


def _lint(source: str, codes: FrozenSet[str], module: Optional[cst.Module], settings: Settings,
          tree: Optional[ast.Module], prescreen: Optional[bool], project: Optional[ProjectContext] = None
          ) -> List[Diagnostic]:
    families = [f for f in FAMILIES if any(rule.code in codes for rule in f.rules)]
    ast_parses = False
    if families and prescreen_enabled(prescreen):
        if tree is None:
            tree = screen.parse(source)
        if tree is not None:  # otherwise every family runs and libcst reports the error, as without it
            ast_parses = True
            excluded = screen.families_without_candidates(tree)
            if project is not None:  # a step can come from another module: the prescreen cannot see it
                project.screened_out = frozenset(excluded)
                excluded = set(excluded) - project.families_beyond_prescreen()
            families = [f for f in families if family_prefix(f) not in excluded]
    if not families and not (project is not None and project.walk_for_calls):
        return []
    if project is not None:
        project.walked = True
    if module is None:
        module = parse_module(source, ast_parses=ast_parses)
    context = SourceContext(source, module, settings)
    context.codes = codes
    visit_hooks: Dict[type, list] = {}
    leave_hooks: Dict[type, list] = {}
    semantic = Semantic(module, visit_hooks, leave_hooks, project)
    if project is not None:
        project.analysed = (module, semantic)
    for family in families:
        checker = family(context, semantic, frozenset(r.code for r in family.rules if r.code in codes))
        for attribute in dir(checker):
            for prefix, table in (("visit_", visit_hooks), ("leave_", leave_hooks)):
                if attribute.startswith(prefix):
                    node_type = getattr(cst, attribute[len(prefix):], None)
                    if isinstance(node_type, type):
                        table.setdefault(node_type, []).append(getattr(checker, attribute))
    walk(module, semantic)
    if project is not None:
        project.calls_out = semantic.outgoing_calls(
            lambda node: call_line(source, module, node, lambda call: context.span(call)[0]), context.code)
    return sorted(_without_superseded(context.diagnostics))


_SUPERSEDED_BY = {rule.code: rule.superseded_by for family in FAMILIES for rule in family.rules if rule.superseded_by}


def _without_superseded(diagnostics: List[Diagnostic]) -> List[Diagnostic]:
    """Drop findings made redundant by another code at the same place (`Rule.superseded_by`)."""
    if not any(d.code in _SUPERSEDED_BY for d in diagnostics):
        return diagnostics
    places = {(d.code, d.line, d.col) for d in diagnostics}
    return [d for d in diagnostics
            if not any((other, d.line, d.col) in places for other in _SUPERSEDED_BY.get(d.code, ()))]


__all__ = ["family_prefix", "lint", "prescreen_enabled"]
