"""What one module tells the rest of its project: a `ModuleSummary` of its functions and classes.

Used by the project run (`tensorlint/run/project_run.py`) for the modules that another file's check asked about.
A summary is context-free: each function is walked silently with its parameters unknown (or as annotated),
so what it returns is what it returns for any caller; a caller that passes something specific is handled by
an *incoming call* to the callee's file instead (a reporting walk there).

A class's `step_methods` are the `self.m(...)` calls inside one of its loops over data (`for batch in loader:
loss = self.training_forward(batch)`): a subclass elsewhere that overrides `m` has one step per call.
"""
from __future__ import annotations

import weakref
from typing import Dict, Iterable, List, Optional, Tuple

import libcst as cst

from tensorlint.analysis.calls import Callee
from tensorlint.analysis.crossmodule import (DEVICE, GRAD, MODEL, ClassSummary, FunctionSummary, LatentConversion, ModuleSummary,
                          ProjectContext, is_project_name, literal_defaults, none_defaults)
from tensorlint.analysis.facts import NO, NOT_TENSOR, YES, Evidence, Facts, device_spec
from tensorlint.analysis.frozen import freezes_every_parameter
from tensorlint.analysis.host_copy import returns_host_copy
from tensorlint.analysis.imports import dotted_name
from tensorlint.analysis.index import FunctionIndex
from tensorlint.analysis.loops import function_syncs, iterates_data
from tensorlint.analysis.branches import branch_guards
from tensorlint.analysis.semantic import _FUNCTION, Semantic
from tensorlint.analysis.sinks import PLOT_FUNCTIONS, STRUCTURAL_KEYWORDS, converts_to_numpy
from tensorlint.analysis.walk import walk

MAX_PROBED_PARAMS = 6   # parameters probed per function for latent conversions (each probe is one walk)
_SYNCS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # per module index: function_syncs answers


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
    for stmt in module.body:  # what the module's walk would bind first: its functions and classes are not tensors
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):  # (so `helper(x)` inside another function resolves)
            semantic.module_frame.env.setdefault(stmt.name.value, NOT_TENSOR)
    chosen = None if wanted is None else set(wanted)
    summary = ModuleSummary(names=dict(semantic.imports.names))
    positions = _Lines(module, project.module.replace(".", "/") + ("/__init__.py" if project.is_package else ".py"))
    for name, function in semantic.index.module_functions.items():
        if chosen is None or name in chosen:
            summary.functions[name] = _function(semantic, Callee(function, None, False), positions)
    for stmt in module.body:
        if isinstance(stmt, cst.ClassDef) and (chosen is None or stmt.name.value in chosen):
            summary.classes[stmt.name.value] = _class(semantic, stmt, positions)
    return summary


class _Lines:
    """Line numbers of nodes, computed on the first question (most modules have no latent conversion)."""

    def __init__(self, module: cst.Module, path: str) -> None:
        self.module = module
        self.path = path
        self._positions = None
        self._parents = None

    def guards(self, node: cst.CSTNode, function: cst.FunctionDef) -> Optional[Tuple[Tuple[str, bool], ...]]:
        """The `if param:` tests between `node` and the function's body that it sits under (or that leave the
        function before it), as (param, truth);
        () when the climb does not reach `function` (a helper's helper: its tests name other parameters);
        None when it sits in an `except` handler."""
        if self._parents is None:
            self._parents = {}
            walk(self.module, _Parents(self._parents))
        path = [node]
        parent = self._parents.get(id(node))
        while parent is not None and parent is not function:
            if isinstance(parent, cst.ExceptHandler):
                return None
            path.append(parent)
            parent = self._parents.get(id(parent))
        # (also `if not flag: return x` before it, as a same-file call's walk reads them)
        return tuple(branch_guards(function, [function, *reversed(path)])) if parent is function else ()

    def __call__(self, node: cst.CSTNode) -> int:
        if self._positions is None:
            from tensorlint.core.positions import NodePositions  # PositionProvider's spans from one counting pass
            self._positions = NodePositions(self.module)
        try:
            return self._positions.span(node)[0]
        except KeyError:
            return 0


class _Parents(cst.CSTVisitor):
    def __init__(self, parents: Dict[int, cst.CSTNode]) -> None:
        super().__init__()
        self.parents = parents
        self.stack: List[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.stack:
            self.parents[id(node)] = self.stack[-1]
        self.stack.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.stack.pop()


def _function(semantic: Semantic, callee: Callee, positions: "_Lines") -> FunctionSummary:
    function: FunctionIndex = callee.function
    params = function.params[1:] if callee.is_method else function.params
    # for any caller: a parameter's annotation says what it is, not that this caller's argument requires grad or
    # is on a device (`weights: nn.Parameter` given a plain tensor); `passes` carries a caller's own evidence
    declared = semantic._parameters(function.node, callee.cls if callee.is_method else None)
    arguments = {p: f.with_(grad_why=None, device_why=None) for p, f in declared.items() if p in params}
    returns = semantic.calls.returns(callee, arguments, True)
    models = []
    for param in params:  # a model parameter known by its name only: does the return come from calling it?
        if arguments[param].named_parameter and not returns.grad_evidenced and len(models) < MAX_PROBED_PARAMS:
            trusted = {**arguments, param: arguments[param].with_(named_parameter=False)}
            if semantic.calls.returns(callee, trusted, True).grad_evidenced:
                models.append((param, MODEL))
    unpassed, returns_unpassed = _unpassed(semantic, callee, params, arguments, returns)
    evidence = tuple((param, facts) for param in params
                     for facts in [semantic.index.evidence.get((id(function.node), param))] if facts is not None)
    conversions, passes = [], []
    probed = params[:MAX_PROBED_PARAMS]
    if len(probed) > 1 and not any(_probe(semantic, callee, *probed)):
        probed = ()  # one walk with every parameter a probe found nothing: none alone would (most functions)
    for param in probed:
        found, returned = _probe(semantic, callee, param)
        for needs, node, sink, site in found:
            guards = positions.guards(site, function.node)
            if guards is not None:  # None: on an `except` path, not the normal one
                conversions.append(LatentConversion(param, needs, f"{positions.path}:{positions(node)}", sink, guards))
        passes += [(param, fact) for fact in returned]
    passes += models
    project = semantic.project  # (a helper of another module syncs when its summary says so)
    syncs = function_syncs(function, semantic.index.module_functions, semantic.imports.qualified,
                           lambda name: project.function(name) if is_project_name(name) else None,
                           _SYNCS.setdefault(semantic.index, {}))
    return FunctionSummary(tuple(params), returns, evidence, function.performs_step, tuple(dict.fromkeys(conversions)),
                           tuple(passes), literal_defaults(function.node), syncs, unpassed, returns_unpassed,
                           callee.is_method and returns_host_copy(function.node))


def _unpassed(semantic: Semantic, callee: Callee, params, arguments: Dict[str, Facts], returns: Facts
              ) -> Tuple[Tuple[str, ...], Optional[Facts]]:
    """The `None`-default parameters, and what a call that leaves them out gets back, when that says less than
    `returns`: such a call passes `None` (the host, for a device), as a same-file call's walk binds it
    (calls.py), so `if device is not None: audio = audio.to(device)` moves nothing for it."""
    content = returns.tensor_content()
    if content is None or not (content.device_evidenced or content.grad_evidenced):
        return (), None
    nones = tuple(param for param in none_defaults(callee.function.node) if param in params)
    if not nones:
        return (), None
    left = semantic.calls.returns(callee, {**arguments, **{param: device_spec(NO) for param in nones}}, True)
    return ((), None) if left == returns else (nones, left)


def _probe(semantic: Semantic, callee: Callee, param: str, *more: str):
    """Walk the function with `param` bound to a tensor that requires grad and lives on an accelerator, each
    fact with evidence of its own: the conversions that evidence reaches are latent hazards of the function
    (its caller's argument decides them), and the evidence left on its return value says which facts of the
    argument the result keeps. Same-file helpers the body passes the parameter to are walked too (calls.py).
    With `more`, those parameters are bound to the same probe (a first screening walk)."""
    grad_why = Evidence(f"is the argument `{param}`", from_caller=True)
    device_why = Evidence(f"is the argument `{param}`", from_caller=True)
    probe = Facts(tensor=YES, grad=YES, device=YES, grad_why=grad_why, device_why=device_why)
    walker = Semantic.__new__(Semantic)
    cst.CSTVisitor.__init__(walker)
    for shared in ("module", "project", "imports", "index", "calls", "_class_infos", "module_frame"):
        setattr(walker, shared, getattr(semantic, shared))
    walker.evaluator = semantic.evaluator.fresh()
    found: List[Tuple[str, cst.CSTNode, str, cst.CSTNode]] = []

    def judge(expression: cst.BaseExpression, sink: str) -> None:
        facts = walker.facts(expression)
        content = facts if facts.tensor is YES else facts.tensor_content()
        if content is None:
            return
        # where the conversion sits in the probed function: itself, or the call into the same-file helper holding it
        site = expression if walker.current_call_site() is None else walker.current_call_site()
        if any(isinstance(node, cst.ExceptHandler) for node in walker.ancestors):
            return  # `try: torch.log(x) except: np.log(x)`: not the normal path for a tensor
        if content.grad_why is grad_why and content.grad.possible and walker.grad_enabled:
            found.append((GRAD, expression, sink, site))
        if content.device_why is device_why and content.device.possible:
            found.append((DEVICE, expression, sink, site))

    def sinks(node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "numpy":
            if not node.args and not walker.imports.numpy_method_is_not_torch:
                judge(func.value, "`.numpy()`")
            return
        qualified = walker.imports.qualified(func)
        root = func
        while isinstance(root, (cst.Attribute, cst.Subscript)):
            root = root.value
        plot = (qualified is None and isinstance(func, cst.Attribute) and func.attr.value in PLOT_FUNCTIONS
                and isinstance(root, cst.Name) and root.value.startswith("ax"))
        if plot or (qualified is not None and converts_to_numpy(qualified)):
            sink = f"`{dotted_name(func) or qualified or func.attr.value}()`"
            for arg in node.args:
                if not arg.star and (arg.keyword is None or arg.keyword.value not in STRUCTURAL_KEYWORDS):
                    judge(arg.value, sink)

    walker._start_walk({cst.Call: [sinks]}, {})
    walker._returned = []
    # a probe's helper walks must not be cut short by another probe's (the budget is per probe)
    seen, walks = semantic.calls.context_seen, semantic.calls.context_walks
    semantic.calls.context_seen, semantic.calls.context_walks = set(), 0
    # `self.image = image` under the probe must not stay in the class: other methods' summaries would return it
    attributes = [(info, dict(info.attributes)) for info in semantic._class_infos.values()]
    try:
        walker._walk_callee(callee, {name: probe for name in (param, *more)}, True, context=_FUNCTION)
    finally:
        semantic.calls.context_seen, semantic.calls.context_walks = seen, walks
        for info, kept in attributes:
            info.attributes = kept
    returned = []
    for facts in walker._returned or ():
        if facts.grad_why is grad_why and facts.grad.possible and GRAD not in returned:
            returned.append(GRAD)
        # a model run on the argument (`return self.net(x)`) computes where the argument is
        if _rooted_in(facts.device_why, device_why) and facts.device.possible and DEVICE not in returned:
            returned.append(DEVICE)
    return found, returned


def _rooted_in(why: Optional[Evidence], probe: Evidence) -> bool:
    while why is not None:
        if why is probe:
            return True
        why = why.cause
    return False


def _class(semantic: Semantic, node: cst.ClassDef, positions) -> ClassSummary:
    info = semantic._class_info(node)
    methods: Dict[str, FunctionSummary] = {}
    for name, function in semantic.index.methods.get(id(node), {}).items():
        if function.params[:1] == ("self",):
            methods[name] = _function(semantic, Callee(function, info, True), positions)
    bases = []
    holds_state = _sets_state(node)
    for arg in node.bases:
        if arg.keyword is None:
            qualified = semantic.imports.qualified(arg.value) or _own_class(semantic, arg.value)
            if qualified:
                bases.append(qualified)
            # a base the summary cannot follow (unresolved, or a library layer such as nn.Linear) may bring parameters
            holds_state = holds_state or not qualified or (not is_project_name(qualified)
                                                           and qualified not in _STATELESS_BASES)
    init = semantic.index.method(node, "__init__")
    frozen = freezes_every_parameter(init.node if init is not None else None)
    return ClassSummary(info.is_module, tuple(bases), methods, frozenset(_step_methods(node)), holds_state, frozen)


_STATELESS_BASES = frozenset({"torch.nn.Module", "torch.nn.modules.module.Module", "object"})
_REGISTERS = frozenset({"register_parameter", "register_module", "add_module"})


def _sets_state(cls: cst.ClassDef) -> bool:
    """Does a method set `self.x = <call>` (a layer, a Parameter, a submodule) or register a parameter/module?"""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            nonlocal found
            if isinstance(node.value, cst.Call) and any(_on_self(t.target) for t in node.targets):
                found = True

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            nonlocal found
            if isinstance(node.value, cst.Call) and _on_self(node.target):
                found = True

        def visit_Call(self, node: cst.Call) -> None:
            nonlocal found
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value in _REGISTERS:
                found = True

    walk(cls.body, Finder())
    return found


def _on_self(target: cst.BaseExpression) -> bool:
    return (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self"
            or isinstance(target, cst.Subscript) and _on_self(target.value))


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
