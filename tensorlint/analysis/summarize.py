"""What one module tells the rest of its project: a `ModuleSummary` of its functions and classes.

Used by the project run (`tensorlint/project_run.py`) for the modules that another file's check asked about.
A summary is context-free: each function is walked silently with its parameters unknown (or as annotated),
so what it returns is what it returns for any caller; a caller that passes something specific is handled by
an *incoming call* to the callee's file instead (a reporting walk there).

A class's `step_methods` are the `self.m(...)` calls inside one of its loops over data (`for batch in loader:
loss = self.training_forward(batch)`): a subclass elsewhere that overrides `m` has one step per call.
"""
from __future__ import annotations

from typing import Dict, Iterable, Optional

import libcst as cst

from .calls import Callee
from .crossmodule import ClassSummary, FunctionSummary, ModuleSummary, ProjectContext
from .index import FunctionIndex
from .loops import iterates_data
from .semantic import Semantic
from .walk import walk


def summarize_module(module: cst.Module, project: ProjectContext,
                     wanted: Optional[Iterable[str]] = None, semantic: Optional[Semantic] = None) -> ModuleSummary:
    """The summary of `module`; `project.module` names it (for its relative imports and base classes).
    `wanted`: the top-level names to summarise (None: all); the module's imports are always there.
    `semantic`: the analysis a check of this module without answers from other modules just ran (its index
    is reused); by default a fresh one."""
    if semantic is None:
        semantic = Semantic(module, {}, {}, project)
    else:
        semantic.calls.summary_walks = 0  # the summary's own budget of callee walks, as a fresh analysis has
    semantic.reporting = False
    chosen = None if wanted is None else set(wanted)
    summary = ModuleSummary(names=dict(semantic.imports.names))
    for name, function in semantic.index.module_functions.items():
        if chosen is None or name in chosen:
            summary.functions[name] = _function(semantic, Callee(function, None, False))
    for stmt in module.body:
        if isinstance(stmt, cst.ClassDef) and (chosen is None or stmt.name.value in chosen):
            summary.classes[stmt.name.value] = _class(semantic, stmt)
    return summary


def _function(semantic: Semantic, callee: Callee) -> FunctionSummary:
    function: FunctionIndex = callee.function
    params = function.params[1:] if callee.is_method else function.params
    returns = semantic.calls.returns(callee, {}, True)
    evidence = tuple((param, facts) for param in params
                     for facts in [semantic.index.evidence.get((id(function.node), param))] if facts is not None)
    return FunctionSummary(tuple(params), returns, evidence, function.performs_step)


def _class(semantic: Semantic, node: cst.ClassDef) -> ClassSummary:
    info = semantic._class_info(node)
    methods: Dict[str, FunctionSummary] = {}
    for name, function in semantic.index.methods.get(id(node), {}).items():
        if function.params[:1] == ("self",):
            methods[name] = _function(semantic, Callee(function, info, True))
    bases = []
    for arg in node.bases:
        if arg.keyword is None:
            qualified = semantic.imports.qualified(arg.value) or _own_class(semantic, arg.value)
            if qualified:
                bases.append(qualified)
    return ClassSummary(info.is_module, tuple(bases), methods, frozenset(_step_methods(node)))


def _own_class(semantic: Semantic, base: cst.BaseExpression) -> Optional[str]:
    """A base class defined in the same module, by its qualified name."""
    if isinstance(base, cst.Name) and base.value in semantic.calls.classes_by_name and semantic.project.module:
        return f"{semantic.project.module}.{base.value}"
    return None


def _step_methods(cls: cst.ClassDef) -> set:
    found: set = set()

    class Finder(cst.CSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.data_loops = 0

        def visit_For(self, node: cst.For) -> None:
            if iterates_data(node.iter):
                self.data_loops += 1

        def leave_For(self, node: cst.For) -> None:
            if iterates_data(node.iter):
                self.data_loops -= 1

        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if (self.data_loops and isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)
                    and func.value.value == "self"):
                found.add(func.attr.value)

    walk(cls.body, Finder())
    return found


__all__ = ["summarize_module"]
