"""Calls to functions of the same file: what they return, and what their bodies do with the caller's values.

Real code computes its loss in `self.compute_loss(out, y)`, returns model outputs from helpers and converts
in `def to_np(t)`. The walker alone sees a call to an unknown function; here a call to a function or method
of the same file is *resolved* (a module-level `f(...)` whose name is not shadowed, or `self.m(...)` on the
enclosing class or a same-file base class) and its parameters are *bound* to the caller's argument facts.
Two things use that:

- **return summaries** (`returns`): the join of the facts of the callee's `return` values, computed by
  walking its body silently with the caller's arguments and grad mode. Returns of `None` do not weaken the
  join (a helper that returns `None` on one path and a model output on another still returns a model
  output where it matters). Memoised per argument facts.
- **context walks** (`Semantic._leave_Call`): when the caller passes something more specific than the callee
  would assume on its own (a tensor that requires grad into `def to_np(t)`), or calls it from a step loop,
  the callee's body is walked again *with reporting on*, its parameters bound to the arguments and its step
  context the caller's. A finding there is reported at its place in the callee and names the call site.
  Context walks nest two levels deep: a helper, and its own helper (`fit_batch` → `check_gradients`).

Both are bounded per file, so a file with thousands of calls costs at most a few extra walks of each helper.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

import libcst as cst

from tensorlint.analysis.facts import NO, NOT_TENSOR, UNKNOWN, Facts, device_spec
from tensorlint.analysis.frame import ClassInfo, Frame
from tensorlint.analysis.imports import dotted_name
from tensorlint.analysis.index import FileIndex, FunctionIndex

MAX_SUMMARY_WALKS = 200     # silent walks for return facts, per file
MAX_CONTEXT_WALKS = 64      # reporting walks in a caller's context, per file
MAX_SUMMARY_DEPTH = 3       # a helper's helper's helper: deeper calls are unknown

ParameterFacts = Tuple[Tuple[str, Facts], ...]


@dataclass(frozen=True)
class Callee:
    function: FunctionIndex
    cls: Optional[ClassInfo]   # the class whose method it is, for `self`
    is_method: bool
    # through `functools.partial(f, a, k=v)`: how many positional parameters, and which keywords, it binds
    bound_positional: int = 0
    bound_keywords: Tuple[str, ...] = ()


class SameFileCalls:
    """Resolves calls to functions of this file and summarises what they return."""

    def __init__(self, index: FileIndex, walk_silently: Callable[["Callee", Dict[str, Facts], bool], Facts],
                 project=None, imports=None) -> None:
        self.index = index
        self.project = project   # ProjectContext: summaries of other modules' classes
        self.imports = imports
        self._walk_silently = walk_silently
        self._returns: Dict[Tuple[int, ParameterFacts, bool], Facts] = {}
        self._in_progress: set = set()
        self.summary_walks = 0
        self.context_walks = 0
        self.context_seen: set = set()
        self.depth = 0
        # Set by the walker: what a class's `ClassInfo` is (made on demand for a class not walked yet).
        self.class_info: Callable[[cst.ClassDef], Optional[ClassInfo]] = lambda node: None
        self.classes_by_name: Dict[str, cst.ClassDef] = {}
        # Set by the walker: what a function's `-> T` annotation says it returns.
        self.stated_return: Callable[[cst.FunctionDef], Optional[Facts]] = lambda node: None

    # -- which function is called -------------------------------------------------------------------
    def resolve(self, func: cst.BaseExpression, frame: Frame, lookup: Callable[[str], Facts]) -> Optional[Callee]:
        if isinstance(func, cst.Name):
            partial = self.index.partials.get((id(frame.scope) if frame.scope is not None else 0, func.value))
            if partial is not None:
                function = self.index.module_functions.get(partial[0])
                return Callee(function, None, False, partial[1], partial[2]) if function is not None else None
            function = self.index.module_functions.get(func.value)
            if function is None:
                return None
            # a def binds its name to a non-tensor; anything else bound to the name shadows the function
            if lookup(func.value) == NOT_TENSOR:
                return Callee(function, None, is_method=False)
            # a body calling a function defined further down the file calls that function when the file binds
            # the name in no other way
            if frame.scope is not None and func.value not in frame.env and func.value not in frame.globals \
                    and self.index.defined_once(func.value):
                return Callee(function, None, is_method=False)
            return None
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
            cls = frame.cls
            if cls is None or cls.node is None or f"self.{func.attr.value}" in frame.env:
                return None
            found = self._method(cls.node, func.attr.value, depth=0)
            if found is not None:
                function, owner = found
                return Callee(function, cls if owner is cls.node else self.class_info(owner) or cls, is_method=True)
        return None

    # -- methods a class inherits from another module -----------------------------------------------
    def external_method(self, cls: Optional[ClassInfo], name: str):
        """The summary of `self.name` when it is defined by a base class in another module of the project."""
        for summary in self._external_bases(cls):
            found = self._summary_method(summary, name, depth=0)
            if found is not None:
                return found
        return None

    def inherited_step_methods(self, cls: Optional[ClassInfo]) -> frozenset:
        """Methods that a base class in another module calls from its step loop (`fit` calls
        `self.training_forward(batch)` every batch): an override's body is one step."""
        found = frozenset()
        for summary in self._external_bases(cls):
            found |= self._summary_steps(summary, depth=0)
        return found

    def _external_bases(self, cls: Optional[ClassInfo]):
        if cls is None or cls.node is None or self.project is None or self.imports is None:
            return []
        summaries, pending, seen = [], [cls.node], set()
        while pending:
            node = pending.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            for base in node.bases:
                local = self.classes_by_name.get(dotted_name(base.value) or "")
                if local is not None:
                    pending.append(local)
                    continue
                qualified = self.imports.qualified(base.value)
                summary = self.project.class_(qualified) if qualified else None
                if summary is not None:
                    summaries.append(summary)
        return summaries

    def _summary_method(self, summary, name: str, depth: int):
        if name in summary.methods:
            return summary.methods[name]
        for base in summary.bases if depth < 3 else ():
            parent = self.project.class_(base)
            if parent is not None:
                found = self._summary_method(parent, name, depth + 1)
                if found is not None:
                    return found
        return None

    def _summary_steps(self, summary, depth: int) -> frozenset:
        found = summary.step_methods
        for base in summary.bases if depth < 3 else ():
            parent = self.project.class_(base)
            if parent is not None:
                found = found | self._summary_steps(parent, depth + 1)
        return found

    def _method(self, cls: cst.ClassDef, name: str, depth: int):
        function = self.index.method(cls, name)
        if function is not None:
            return function, cls
        if depth >= 3:
            return None
        for base in cls.bases:
            base_class = self.classes_by_name.get(dotted_name(base.value) or "")
            if base_class is not None and base_class is not cls:
                found = self._method(base_class, name, depth + 1)
                if found is not None:
                    return found
        return None

    # -- what the call passes ---------------------------------------------------------------------
    @staticmethod
    def arguments(callee: Callee, call: cst.Call, facts_of: Callable[[cst.BaseExpression], Facts]
                  ) -> Optional[Dict[str, Facts]]:
        """Facts of the callee's parameters that the call passes (`self` excluded); None when `*args`/`**kw`
        make the binding unknowable."""
        params = tuple(p for p in callee.function.params[callee.bound_positional:] if p not in callee.bound_keywords)
        if callee.is_method:
            if params[:1] != ("self",) or any(_decorator_name(d) in ("staticmethod", "classmethod", "property")
                                              for d in callee.function.node.decorators):
                return None  # staticmethods and classmethods: leave them alone
            params = params[1:]
        bound: Dict[str, Facts] = {}
        position = 0
        for arg in call.args:
            if arg.star:
                return None
            if arg.keyword is not None:
                if arg.keyword.value not in params:
                    return None
                bound[arg.keyword.value] = facts_of(arg.value)
            else:
                if position >= len(params):
                    return None
                bound[params[position]] = facts_of(arg.value)
                position += 1
        # a parameter left at its default `None` is None (`device=None`: the default device, the host)
        declared = callee.function.node.params
        for param in (*declared.posonly_params, *declared.params, *declared.kwonly_params):
            name = param.name.value
            if name in params and name not in bound and isinstance(param.default, cst.Name) \
                    and param.default.value == "None":
                bound[name] = device_spec(NO)
        return bound

    # -- what it returns --------------------------------------------------------------------------
    def returns(self, callee: Callee, arguments: Dict[str, Facts], grad_enabled: bool) -> Facts:
        function = callee.function
        stated = self.stated_return(function.node)
        if function.is_generator:
            return UNKNOWN.with_(module=NO)
        if stated is not None and stated.tensor is NO:
            return stated  # `-> np.ndarray`, `-> float`: the author says what comes back is no tensor
        if not function.returns_value:
            if stated is not None:
                return stated
            # `raise NotImplementedError` (a subclass's override returns something we cannot know), or None
            return UNKNOWN.with_(module=NO) if function.raises else NOT_TENSOR
        key = (id(function.node), tuple(sorted(arguments.items(), key=lambda item: item[0])), grad_enabled)
        known = self._returns.get(key)
        if known is not None:
            return known
        if key in self._in_progress or self.depth >= MAX_SUMMARY_DEPTH or self.summary_walks >= MAX_SUMMARY_WALKS:
            return stated if stated is not None else UNKNOWN.with_(module=NO)
        self.summary_walks += 1
        self._in_progress.add(key)
        self.depth += 1
        try:
            result = self._walk_silently(callee, arguments, grad_enabled)
        finally:
            self.depth -= 1
            self._in_progress.discard(key)
        self._returns[key] = result
        return result

    def wants_context_walk(self, key: object) -> bool:
        if key in self.context_seen or self.context_walks >= MAX_CONTEXT_WALKS:
            return False
        self.context_seen.add(key)
        self.context_walks += 1
        return True


def _decorator_name(decorator: cst.Decorator) -> str:
    expression = decorator.decorator
    return (dotted_name(expression.func if isinstance(expression, cst.Call) else expression) or "").rsplit(".", 1)[-1]
