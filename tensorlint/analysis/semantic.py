"""One pass over a module: follows tensor provenance statement by statement and calls the rules.

The walker is flow-sensitive: branches are walked from the same starting facts and joined,
loop bodies are walked once silently to learn what they change and then again from the joined
loop-head facts, and statements after `return`/`raise` do not feed later facts. Rules see, at
each node, the facts in force there (`facts(expr)`), the grad mode, and where they are
(function, class, ancestors). Rules never re-derive provenance themselves.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Type

import libcst as cst

from . import torch_api as api
from .evaluate import (
    Evaluator, bind_target, combine, element_of, forget, unknown_named,
)
from .facts import MAYBE, MODULE, NO, NOT_TENSOR, UNKNOWN, YES, Facts, container_of
from .frame import ClassInfo, Frame, store
from .refine import refinements
from .imports import ImportMap, dotted_name
from .loops import LoopInfo, classify_loop, is_periodic_guard
from .walk import walk

Hook = Callable[[cst.CSTNode], None]
HookTable = Dict[Type[cst.CSTNode], List[Hook]]
State = Tuple[Dict[str, Facts], bool]  # (env, reachable)
_TARGET_HOLDERS = (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.For, cst.CompFor)


@dataclass(frozen=True)
class FunctionInfo:
    name: str
    is_module_forward: bool
    node: cst.CSTNode
    in_module_class: bool = False


_STEP_DRIVING_METHODS = ("generate", "sample", "decode", "rollout", "search", "train", "fit", "evaluate", "predict")


def _drives_steps(method_name: str) -> bool:
    return any(word in method_name.lower() for word in _STEP_DRIVING_METHODS)


class Semantic(cst.CSTVisitor):
    def __init__(self, module: cst.Module, visit_hooks: HookTable, leave_hooks: HookTable) -> None:
        super().__init__()
        self.module = module
        self.imports = ImportMap()
        self.imports.record_all(module.body)
        self.evaluator = Evaluator(self.imports)
        self._declare_module_classes(module)
        self.frame = Frame(env={}, globals={})
        self.reachable = True
        self.reporting = True
        self.functions: List[FunctionInfo] = []
        self.ancestors: List[cst.CSTNode] = []
        self._loop_exits: List[Tuple[List[State], List[State]]] = []  # (continues, breaks)
        self._visit_hooks = visit_hooks
        self._leave_hooks = leave_hooks
        # Loops, `if` branches and function boundaries enclosing the current node, outermost first.
        self._control: List[object] = []
        self._loop_infos: Dict[int, LoopInfo] = {}

    def _declare_module_classes(self, module: cst.Module) -> None:
        """Know every top-level nn.Module subclass before walking: a class may be used above its definition."""
        classes = [stmt for stmt in module.body if isinstance(stmt, cst.ClassDef)]
        changed = True
        while changed:
            changed = False
            for cls in classes:
                name = cls.name.value
                if name not in self.evaluator.module_classes and any(
                        self._is_module_base(arg.value) for arg in cls.bases if arg.keyword is None):
                    self.evaluator.module_classes.add(name)
                    changed = True

    # -- what rules ask ---------------------------------------------------------------------
    def facts(self, node: cst.BaseExpression) -> Facts:
        return self.evaluator.facts(node, self.frame)

    def qualified(self, node: cst.BaseExpression) -> Optional[str]:
        return self.imports.qualified(node)

    @property
    def grad_enabled(self) -> bool:
        return self.frame.grad_enabled

    @property
    def in_module_forward(self) -> bool:
        return any(f.is_module_forward for f in self.functions)

    def step_loop(self) -> Optional[LoopInfo]:
        """The step loop whose every iteration runs the current node, unless a periodic guard intervenes."""
        for entry in reversed(self._control):
            if entry is _FUNCTION or entry is _PERIODIC:
                return None
            if isinstance(entry, LoopInfo) and entry.is_step:
                return entry
        return None

    def loop_info(self, node: cst.CSTNode) -> LoopInfo:
        """Is this loop a step loop? (Decided once per loop from its body and the facts before it.)"""
        info = self._loop_infos.get(id(node))
        if info is None:
            def calls_a_model(call: cst.Call) -> bool:
                return self.evaluator.fresh().facts(call.func, self.frame).module.possible
            # Inside an nn.Module's own methods a loop calling submodules walks layers, not steps;
            # only generation-style methods (`generate`, `sample`) drive steps there.
            method = self.functions[-1] if self.functions else None
            layer_walk = method is not None and (method.name == "forward" or (
                method.in_module_class and not _drives_steps(method.name)))
            info = self._loop_infos[id(node)] = classify_loop(node, calls_a_model, model_calls_count=not layer_walk)
        return info

    def parent(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        """The parent of `node`, which must be on the current path."""
        for index in range(len(self.ancestors) - 1, 0, -1):
            if self.ancestors[index] is node:
                return self.ancestors[index - 1]
        return None

    def store_of(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        """What stores into the node being visited, directly or by unpacking (`a.x, b = ...`): its
        AssignTarget, AnnAssign, AugAssign, For, CompFor, AsName or Del; None when the node is read."""
        child = node
        for ancestor in reversed(self.ancestors[:-1]):
            if isinstance(ancestor, (cst.Element, cst.StarredElement, cst.Tuple, cst.List)):
                child = ancestor
            elif isinstance(ancestor, _TARGET_HOLDERS):
                return ancestor if ancestor.target is child else None
            elif isinstance(ancestor, cst.AsName):
                return ancestor if ancestor.name is child else None
            else:
                return ancestor if isinstance(ancestor, cst.Del) else None
        return None

    # -- dispatch ---------------------------------------------------------------------------
    def on_visit(self, node: cst.CSTNode) -> bool:
        self.ancestors.append(node)
        if self.reporting:
            for hook in self._visit_hooks.get(type(node), ()):
                hook(node)
        own = _OWN_VISITS.get(type(node))
        return True if own is None else own(self, node)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        own = _OWN_LEAVES.get(type(original_node))
        if own is not None:
            own(self, original_node)
        if self.reporting:
            for hook in self._leave_hooks.get(type(original_node), ()):
                hook(original_node)
        self.ancestors.pop()

    # -- state helpers ----------------------------------------------------------------------
    def _state(self) -> State:
        return self.frame.env, self.reachable

    def _enter(self, env: Dict[str, Facts], reachable: bool = True) -> None:
        self.frame.env = env
        self.reachable = reachable
        self.evaluator.invalidate()

    def _join(self, states: Sequence[State]) -> None:
        live = [env for env, reachable in states if reachable]
        if not live:
            self._enter(dict(states[0][0]) if states else {}, reachable=False)
            return
        joined = dict(live[0])
        for env in live[1:]:
            for key, value in env.items():
                known = joined.get(key)
                joined[key] = value if known is None else known.join(value)
        self._enter(joined)

    def _bind(self, target: cst.BaseExpression, value: Facts) -> None:
        bind_target(target, value, self.frame.env)
        self.evaluator.invalidate()
        cls = self.frame.cls
        if cls is not None and isinstance(target, cst.Attribute):
            path = dotted_name(target)
            if path is not None and path.startswith("self.") and path.count(".") == 1:
                known = cls.attributes.get(target.attr.value)
                cls.attributes[target.attr.value] = value if known is None else known.join(value)

    @contextmanager
    def _silently(self):
        was = self.reporting
        self.reporting = False
        try:
            yield
        finally:
            self.reporting = was

    def _walk(self, node: Optional[cst.CSTNode]) -> None:
        if node is not None:
            walk(node, self)

    # -- scopes -----------------------------------------------------------------------------
    def _visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        for decorator in node.decorators:
            self._walk(decorator)
        self._walk(node.params)
        self._walk(node.returns)
        cls = self.frame.cls
        directly_in_class = bool(self.ancestors) and len(self.ancestors) >= 3 and isinstance(self.ancestors[-3], cst.ClassDef)
        outer_frame, outer_reachable = self.frame, self.reachable
        globals_ = self.frame.env if not self.functions and cls is None else {**self.frame.globals, **self.frame.env}
        self.frame = Frame(env=self._parameters(node, cls if directly_in_class else None), globals=globals_,
                           grad_enabled=self._decorated_grad_mode(node), cls=cls)
        self.reachable = True
        self.evaluator.invalidate()
        self._control.append(_FUNCTION)
        in_module_class = directly_in_class and cls is not None and cls.is_module
        self.functions.append(FunctionInfo(node.name.value, in_module_class and node.name.value == "forward",
                                           node, in_module_class))
        self._walk(node.body)
        self.functions.pop()
        self._control.pop()
        self.frame, self.reachable = outer_frame, outer_reachable
        self._bind(node.name, NOT_TENSOR)
        return False

    def _parameters(self, node: cst.FunctionDef, cls: Optional[ClassInfo]) -> Dict[str, Facts]:
        env: Dict[str, Facts] = {}
        params = node.params
        ordered = [*params.posonly_params, *params.params, *params.kwonly_params]
        for index, param in enumerate(ordered):
            name = param.name.value
            if index == 0 and cls is not None and name == "self":
                env[name] = MODULE if cls.is_module else UNKNOWN.with_(module=NO)
            else:
                env[name] = self._annotated(param.annotation, name)
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                env[star.name.value] = UNKNOWN.with_(module=NO)
        return env

    def _annotated(self, annotation: Optional[cst.Annotation], name: str) -> Facts:
        if annotation is None:
            return unknown_named(name)
        qualified = self.imports.qualified(annotation.annotation) or dotted_name(annotation.annotation) or ""
        if qualified in ("torch.Tensor", "torch.nn.Parameter", "torch.FloatTensor", "torch.LongTensor"):
            return Facts(tensor=YES)
        if qualified in ("int", "float", "str", "bool", "bytes", "numpy.ndarray", "numpy.typing.NDArray"):
            return NOT_TENSOR
        if qualified in ("torch.nn.Module",):
            return MODULE
        return unknown_named(name)

    def _decorated_grad_mode(self, node: cst.FunctionDef) -> bool:
        for decorator in node.decorators:
            expression = decorator.decorator
            target = expression.func if isinstance(expression, cst.Call) else expression
            qualified = self.imports.qualified(target)
            if qualified in api.NO_GRAD_CONTEXTS:
                return False
        return True

    def _visit_ClassDef(self, node: cst.ClassDef) -> bool:
        for decorator in node.decorators:
            self._walk(decorator)
        for base in node.bases:
            self._walk(base)
        is_module = any(self._is_module_base(arg.value) for arg in node.bases if arg.keyword is None)
        name = node.name.value
        (self.evaluator.module_classes if is_module else self.evaluator.plain_classes).add(name)
        outer_frame, outer_reachable = self.frame, self.reachable
        self.frame = Frame(env={}, globals={**outer_frame.globals, **outer_frame.env},
                           grad_enabled=outer_frame.grad_enabled, cls=ClassInfo(name, is_module))
        self.evaluator.invalidate()
        self._walk(node.body)
        self.frame, self.reachable = outer_frame, outer_reachable
        self.evaluator.invalidate()
        return False

    def _is_module_base(self, base: cst.BaseExpression) -> bool:
        qualified = self.imports.qualified(base) or ""
        if qualified.startswith("torch.nn.") or qualified.endswith("LightningModule"):
            return True
        dotted = dotted_name(base) or ""
        return dotted in self.evaluator.module_classes or (bool(dotted) and dotted.endswith(api.MODULE_BASE_SUFFIXES))

    def _visit_Lambda(self, node: cst.Lambda) -> bool:
        self._walk(node.params)
        outer = self.frame
        env = dict(outer.env)
        for param in [*node.params.posonly_params, *node.params.params, *node.params.kwonly_params]:
            env[param.name.value] = unknown_named(param.name.value)
        self.frame = replace(outer, env=env)
        self.evaluator.invalidate()
        self._control.append(_FUNCTION)
        self._walk(node.body)
        self._control.pop()
        self.frame = outer
        self.evaluator.invalidate()
        return False

    def _comprehension(self, node, elements: Sequence[cst.CSTNode]) -> bool:
        outer = self.frame
        env = dict(outer.env)
        self.frame = replace(outer, env=env)
        clause = node.for_in
        while clause is not None:
            self._walk(clause.iter)
            self._bind(clause.target, element_of(self.facts(clause.iter)))
            for condition in clause.ifs:
                self._walk(condition)
                store(env, refinements(self.evaluator, self.frame, condition.test, True))
                self.evaluator.invalidate()
            clause = clause.inner_for_in
        for element in elements:
            self._walk(element)
        self.frame = outer
        self.evaluator.invalidate()
        return False

    def _visit_ListComp(self, node):
        return self._comprehension(node, [node.elt])

    _visit_SetComp = _visit_GeneratorExp = _visit_ListComp

    def _visit_DictComp(self, node):
        return self._comprehension(node, [node.key, node.value])

    def _visit_IfExp(self, node: cst.IfExp) -> bool:
        self._walk(node.test)
        for branch, truth in ((node.body, True), (node.orelse, False)):
            outer = self.frame
            env = dict(outer.env)
            store(env, refinements(self.evaluator, outer, node.test, truth))
            self.frame = replace(outer, env=env)
            self.evaluator.invalidate()
            self._walk(branch)
            self.frame = outer
            self.evaluator.invalidate()
        return False

    # -- control flow -----------------------------------------------------------------------
    def _visit_If(self, node: cst.If) -> bool:
        self._walk(node.test)
        pre_env, pre_reachable = self._state()
        then_env = dict(pre_env)
        store(then_env, refinements(self.evaluator, self.frame, node.test, True))
        else_env = dict(pre_env)
        store(else_env, refinements(self.evaluator, self.frame, node.test, False))
        self._enter(then_env, pre_reachable)
        self._control.append(_PERIODIC if is_periodic_guard(node.test) else _BRANCH)
        self._walk(node.body)
        self._control.pop()
        after_then = self._state()
        self._enter(else_env, pre_reachable)
        self._control.append(_BRANCH)
        if isinstance(node.orelse, cst.Else):
            self._walk(node.orelse.body)
        else:
            self._walk(node.orelse)
        self._control.pop()
        self._join([after_then, self._state()])
        return False

    def _loop(self, head: Callable[[], None], body: cst.CSTNode, orelse: Optional[cst.Else]) -> None:
        info = self.loop_info(self.ancestors[-1])
        pre_env, pre_reachable = self._state()
        if self.reporting:
            with self._silently():
                continues, _ = self._walk_loop_body(dict(pre_env), pre_reachable, head, body, info)
            self._join([(pre_env, pre_reachable), *continues])
            head_env = self.frame.env
        else:
            head_env = pre_env
        continues, breaks = self._walk_loop_body(dict(head_env), pre_reachable, head, body, info)
        self._join([(pre_env, pre_reachable), *continues])
        if orelse is not None:
            self._walk(orelse.body)
        self._join([self._state(), *breaks])

    def _walk_loop_body(self, env, reachable, head, body, info: LoopInfo):
        self._enter(env, reachable)
        self._control.append(info)
        head()
        self._loop_exits.append(([], []))
        self._walk(body)
        self._control.pop()
        continues, breaks = self._loop_exits.pop()
        return [self._state(), *continues], breaks

    def _visit_For(self, node: cst.For) -> bool:
        self._walk(node.iter)
        element = element_of(self.facts(node.iter))

        def head():
            self._bind(node.target, element)
            self._walk(node.target)

        self._loop(head, node.body, node.orelse)
        return False

    def _visit_While(self, node: cst.While) -> bool:
        self._loop(lambda: self._walk(node.test), node.body, node.orelse)
        return False

    def _visit_Try(self, node) -> bool:
        pre_env, pre_reachable = self._state()
        self._enter(dict(pre_env), pre_reachable)
        self._walk(node.body)
        after_body = self._state()
        self._join([(pre_env, pre_reachable), after_body])
        handler_start = self.frame.env
        ends = []
        for handler in node.handlers:
            self._enter(dict(handler_start), pre_reachable)
            self._walk(handler)
            ends.append(self._state())
        self._enter(dict(after_body[0]), after_body[1])
        if node.orelse is not None:
            self._walk(node.orelse.body)
        self._join([self._state(), *ends])
        if node.finalbody is not None:
            self._walk(node.finalbody.body)
        return False

    _visit_TryStar = _visit_Try

    def _visit_Match(self, node) -> bool:
        self._walk(node.subject)
        pre_env, pre_reachable = self._state()
        ends = [(pre_env, pre_reachable)]
        for case in node.cases:
            self._enter(dict(pre_env), pre_reachable)
            self._walk(case)
            ends.append(self._state())
        self._join(ends)
        return False

    def _visit_With(self, node: cst.With) -> bool:
        mode = self.frame.grad_enabled
        for item in node.items:
            self._walk(item.item)
            mode = self._grad_mode_after(item.item, mode)
            if item.asname is not None:
                self._bind(item.asname.name, UNKNOWN.with_(module=NO))
                self._walk(item.asname)
        outer_mode = self.frame.grad_enabled
        self.frame.grad_enabled = mode
        self.evaluator.invalidate()
        self._walk(node.body)
        self.frame.grad_enabled = outer_mode
        self.evaluator.invalidate()
        return False

    def _grad_mode_after(self, context: cst.BaseExpression, mode: bool) -> bool:
        if not isinstance(context, cst.Call):
            return mode
        qualified = self.imports.qualified(context.func)
        if qualified in api.NO_GRAD_CONTEXTS:
            return False
        if qualified in api.GRAD_ON_CONTEXTS:
            return True
        if qualified == "torch.set_grad_enabled" and context.args:
            flag = context.args[0].value
            if isinstance(flag, cst.Name) and flag.value in ("True", "False"):
                return flag.value == "True"
            return True  # unknown: grad may be on, so the grad check may run
        return mode

    # -- statements that change facts -------------------------------------------------------
    def _leave_Assign(self, node: cst.Assign) -> None:
        value = self.facts(node.value)
        for target in node.targets:
            self._bind(target.target, value)
            self._requires_grad_assignment(target.target, node.value)
        if isinstance(node.value, cst.Call):
            self._in_place_effects(node.value)

    def _requires_grad_assignment(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        """`t.requires_grad = True` changes what is known about `t` itself."""
        if isinstance(target, cst.Attribute) and target.attr.value == "requires_grad":
            owner = self.facts(target.value)
            if owner.tensor.possible and dotted_name(target.value) is not None:
                flag = value.value if isinstance(value, cst.Name) else None
                grad = YES if flag == "True" else NO if flag == "False" else MAYBE
                self._bind(target.value, owner.with_(grad=grad))

    def _leave_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._bind(node.target, self.facts(node.value))

    def _leave_AugAssign(self, node: cst.AugAssign) -> None:
        current, incoming = self.facts(node.target), self.facts(node.value)
        if current.items is not None:
            updated = container_of(current.items.join(element_of(incoming)))
        else:
            updated = combine([current, incoming], self.frame.grad_enabled)
        self._bind(node.target, updated)

    def _leave_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind(node.target, self.facts(node.value))

    def _leave_Expr(self, node: cst.Expr) -> None:
        if isinstance(node.value, cst.Call):
            self._in_place_effects(node.value)

    def _in_place_effects(self, call: cst.Call) -> None:
        """What a call changes about its receiver: `xs.append(t)`, `t.requires_grad_()`, `t.detach_()`."""
        if not isinstance(call.func, cst.Attribute):
            return
        qualified = self.imports.qualified(call.func)
        if qualified in ("torch.set_default_device", "torch.set_default_tensor_type"):
            # from here on, a factory without device= may allocate on an accelerator
            self.evaluator.default_device_may_be_accelerator = True
            self.evaluator.invalidate()
            return
        if qualified == "torch.set_grad_enabled" and call.args:
            self.frame.grad_enabled = self._grad_mode_after(call, self.frame.grad_enabled)
            self.evaluator.invalidate()
            return
        receiver = call.func.value
        if dotted_name(receiver) is None:
            return
        method = call.func.attr.value
        current = self.facts(receiver)
        if method in ("append", "add", "insert") and call.args and current.items is not None:
            self._bind(receiver, container_of(current.items.join(self.facts(call.args[-1].value))))
        elif method == "extend" and call.args and current.items is not None:
            self._bind(receiver, container_of(current.items.join(element_of(self.facts(call.args[0].value)))))
        elif method == "requires_grad_" and current.tensor.possible:
            self._bind(receiver, self.evaluator.facts(call, self.frame))
        elif method == "detach_" and current.tensor.possible:
            self._bind(receiver, current.with_(grad=NO))

    def _leave_Del(self, node: cst.Del) -> None:
        targets = node.target.elements if isinstance(node.target, (cst.Tuple, cst.List)) else [node.target]
        for target in targets:
            expression = getattr(target, "value", target)
            path = dotted_name(expression)
            if path is not None:
                self.frame.env.pop(path, None)
                forget(self.frame.env, path)
        self.evaluator.invalidate()

    def _leave_Import(self, node) -> None:
        self.imports.record(node)
        self.evaluator.invalidate()

    _leave_ImportFrom = _leave_Import

    def _leave_Return(self, node) -> None:
        self.reachable = False

    _leave_Raise = _leave_Return

    def _leave_Continue(self, node) -> None:
        if self._loop_exits:
            self._loop_exits[-1][0].append(self._state())
        self.reachable = False

    def _leave_Break(self, node) -> None:
        if self._loop_exits:
            self._loop_exits[-1][1].append(self._state())
        self.reachable = False


_FUNCTION, _PERIODIC, _BRANCH = object(), object(), object()  # control-stack markers


def _own(prefix: str) -> Dict[type, Callable]:
    table = {}
    for attribute in dir(Semantic):
        if attribute.startswith(prefix):
            node_type = getattr(cst, attribute[len(prefix):], None)
            if isinstance(node_type, type):
                table[node_type] = getattr(Semantic, attribute)
    return table


_OWN_VISITS = _own("_visit_")
_OWN_LEAVES = _own("_leave_")
