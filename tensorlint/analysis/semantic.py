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

from tensorlint.analysis import torch_api as api
from tensorlint.analysis.calls import Callee, SameFileCalls
from tensorlint.analysis.crossmodule import CallFlags, OutgoingCall, ProjectContext, call_flags, is_project_name
from tensorlint.analysis.evaluate import (
    Evaluator, bind_target, combine, element_of, forget, unknown_named,
)
from tensorlint.analysis.facts import (
    MAYBE, MODULE, MOVED_BESIDE, NO, NOT_TENSOR, PLACED_BY_TRAINER, SET_BY, UNKNOWN, YES, Evidence, Facts,
    container_of, device_spec,
)
from tensorlint.analysis.peers import PeerIndex
from tensorlint.analysis.frame import ClassInfo, Frame, store
from tensorlint.analysis.branches import call_rules_out, flags_rule_out, literal_flags
from tensorlint.analysis.refine import refinements
from tensorlint.analysis.imports import ImportMap, dotted_name, names_other_framework
from tensorlint.analysis.index import FileIndex, apply_evidence, bound_names
from tensorlint.analysis.annotations import annotated, annotation_facts
from tensorlint.analysis.retention import names_reaching_backward, names_reset_in
from tensorlint.analysis import step_hooks
from tensorlint.analysis.loops import (LoopInfo, callees_once, calls_a_layer, classify_loop, fixed_cases, guard_kind, is_first_time_guard,
                    performs_step)
from tensorlint.analysis.step_names import walks_layers
from tensorlint.analysis.walk import walk

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


@dataclass(frozen=True)
class _CallContext:
    """Control-stack entry of a callee walked in its caller's context: the call, and the caller's step loop."""
    call: cst.Call
    step: Optional[LoopInfo]


class Semantic(cst.CSTVisitor):
    def __init__(self, module: cst.Module, visit_hooks: HookTable, leave_hooks: HookTable,
                 project: Optional[ProjectContext] = None) -> None:
        super().__init__()
        self.module = module
        self.project = project if project is not None else ProjectContext()
        self.imports = ImportMap(self.project)
        self.imports.record_all(module.body)
        self.evaluator = Evaluator(self.imports)
        self.index = FileIndex(module, numpy_is_torch=not self.imports.numpy_method_is_not_torch,
                               uses_prove_torch=not self.imports.imports_framework_with_data)
        self.peers = PeerIndex()
        self.calls = SameFileCalls(self.index, self._returns_of, self.project, self.imports)
        self.calls.classes_by_name = {stmt.name.value: stmt for stmt in module.body if isinstance(stmt, cst.ClassDef)}
        self.calls.class_info = self._class_info
        self.calls.stated_return = lambda node: self._stated(node.returns)
        self.evaluator.calls = self.calls
        self._class_infos: Dict[int, ClassInfo] = {}
        self._class_hooks: Dict[int, dict] = {}  # by id of a ClassDef: per-step method → its framework entry
        self._declare_module_classes(module)
        self.frame = Frame(env={}, globals={})
        self.module_frame = self.frame
        self._start_walk(visit_hooks, leave_hooks)

    def _start_walk(self, visit_hooks: HookTable, leave_hooks: HookTable) -> None:
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
        self._returned: Optional[List[Facts]] = None  # facts of `return` values, while summarising a callee
        self._backward_roots: Dict[int, set] = {}
        self._reset: Dict[int, set] = {}
        self._call_site: Optional[cst.Call] = None    # the call whose context the walk is in
        self._incoming_flags: CallFlags = None         # that call's flags, and
        self._incoming_method = False                  # whether it calls a method
        self._context_depth = 0
        self._outgoing_nodes: Dict[int, cst.Call] = {}

    def _declare_module_classes(self, module: cst.Module) -> None:
        """Know every top-level nn.Module subclass before walking: a class may be used above its definition."""
        classes = [stmt for stmt in module.body if isinstance(stmt, cst.ClassDef)]
        changed = True
        while changed:
            changed = False
            for cls in classes:
                name = cls.name.value
                if name not in self.evaluator.module_classes and self._is_module_class(cls):
                    self.evaluator.module_classes.add(name)
                    changed = True
                if id(cls) not in self.evaluator.trainer_placed and self._is_lightning_class(cls):
                    self.evaluator.trainer_placed[id(cls)] = Evidence(PLACED_BY_TRAINER, cls.name, by_framework=True)
                    changed = True

    # -- what rules ask ---------------------------------------------------------------------
    def facts(self, node: cst.BaseExpression) -> Facts:
        return self.evaluator.facts(node, self.frame)

    def qualified(self, node: cst.BaseExpression) -> Optional[str]:
        return self.imports.qualified(node)

    def may_be_tensor_data(self, attribute: cst.Attribute) -> bool:
        """Is `x.data` possibly a tensor's legacy `.data` (rather than a dataset's samples or a plain field)?"""
        if isinstance(attribute.value, cst.Name) and attribute.value.value in ("self", "cls"):
            return self._class_is_tensor()  # `self.data` of a dataset or a container is its own field
        parent = next((a for a in reversed(self.ancestors) if a is not attribute), None)
        if isinstance(parent, cst.Call) and parent.func is attribute:
            return False  # `tensor.data()`: a method of some other object (a tensor's `.data` is not callable)
        facts = self.facts(attribute.value)
        if facts.guessed and self.imports.imports_framework_with_data:
            return False  # `ch_loss.data` beside `import chainer`: a chainer Variable's array as likely as a tensor's
        return facts.tensor.possible and not api.looks_like_dataset(dotted_name(attribute.value) or "")

    def peer_host_move(self, expression: cst.BaseExpression) -> Optional[Evidence]:
        """Device evidence for a tensor derived from this function's parameters: the function moves another
        tensor derived from its parameters to the host with `.cpu()` (analysis/peers.py), so its author expects
        its inputs on an accelerator. For conversions only: it shows a crash, not what a sync costs."""
        function = self.functions[-1].node if self.functions else None
        if not isinstance(function, cst.FunctionDef) or self.peers.callers_in_view(self.module, function):
            return None
        peer = self.peers.flow(function).peer_of(expression)
        return Evidence(MOVED_BESIDE, peer) if peer is not None else None

    def _class_is_tensor(self) -> bool:
        """Does the class being walked subclass torch.Tensor / nn.Parameter (so `self` is a tensor)?"""
        cls = self.frame.cls
        if cls is None or cls.node is None:
            return False
        return any(self.imports.qualified(base.value) in ("torch.Tensor", "torch.nn.Parameter",
                                                          "torch.nn.parameter.Parameter")
                   for base in cls.node.bases)

    @property
    def grad_enabled(self) -> bool:
        return self.frame.grad_enabled

    def proves_torch_tensor(self, facts: Facts) -> bool:
        """Is a value with these facts, here, proven a torch tensor (what a safe fix may rely on)? Tensor-ness
        from a torch source, in a file that imports torch and no other array framework, outside a branch for
        another framework (`if isinstance(x, tf.Tensor):`, `if backend == "tensorflow":`)."""
        return (facts.tensor is YES and not facts.guessed and self.imports.imports_torch
                and not self.in_other_framework_branch())

    def in_other_framework_branch(self) -> bool:
        """Is the current node in an `if` arm (or conditional expression) whose test names another framework?"""
        for ancestor in self.ancestors:
            test = getattr(ancestor, "test", None) if isinstance(ancestor, (cst.If, cst.IfExp, cst.While)) else None
            if test is not None and names_other_framework(test, self.imports):
                return True
        return False

    @property
    def in_module_forward(self) -> bool:
        return any(f.is_module_forward for f in self.functions)

    def step_loop(self) -> Optional[LoopInfo]:
        """The step loop whose every iteration runs the current node, unless a periodic guard intervenes
        (inside a helper walked in its caller's context: the caller's step loop)."""
        for entry in reversed(self._control):
            if entry is _FUNCTION or entry is _PERIODIC:
                return None
            if isinstance(entry, _CallContext):
                return entry.step
            if isinstance(entry, LoopInfo) and entry.is_step:
                return entry
        return None

    def feeds_backward(self, name: str) -> bool:
        """Does the value of `name` flow into what the enclosing function backpropagates?"""
        scope = next((a for a in reversed(self.ancestors) if isinstance(a, cst.FunctionDef)), self.module)
        roots = self._backward_roots.get(id(scope))
        if roots is None:
            roots = self._backward_roots[id(scope)] = names_reaching_backward(scope)
        return name in roots

    def outlives_step(self, accumulator: cst.BaseExpression) -> bool:
        """Does what `accumulator` names survive the current step (rather than being made anew in it)?"""
        path = dotted_name(accumulator)
        root = path.split(".", 1)[0] if path is not None else None
        if root is None:
            return True
        if root == "self":  # an attribute outlives the step unless the step loop makes it anew
            loop = self.step_loop()
            return loop is None or path not in self._reset_names(loop.node.body)
        if self._call_site is not None:  # a helper walked for one step of its caller: its locals die with the call
            callee = self.functions[0].node
            return root in self.index.functions[id(callee)].params or root not in self._reset_names(callee.body)
        loop = self.step_loop()
        return loop is None or root not in self._reset_names(loop.node.body)

    def _reset_names(self, body: cst.CSTNode):
        names = self._reset.get(id(body))
        if names is None:
            names = self._reset[id(body)] = names_reset_in(body)
        return names

    def current_call_site(self) -> Optional[cst.Call]:
        """The same-file call whose arguments or step loop the current node is judged with, if any."""
        return self._call_site

    def ruled_out_by_call(self) -> bool:
        """Is the current node, in a callee walked for a same-file call, on a branch a flag of that call rules out
        (`if ret_np:` with `ret_np` left at `False`; branches.call_rules_out)?"""
        call = self._call_site
        if not self.functions or call is None:
            return False
        if isinstance(call, cst.Call):
            return call_rules_out(call, self.functions[0].node, self.ancestors)
        return flags_rule_out(self._incoming_flags, self.functions[0].node, self.ancestors, self._incoming_method)

    def loop_info(self, node: cst.CSTNode) -> LoopInfo:
        """Is this loop a step loop? (Decided once per loop from its body and the facts before it.)"""
        info = self._loop_infos.get(id(node))
        if info is None:
            def calls_a_model(call: cst.Call) -> bool:  # `model(x)`, `self.forward(x)`, `self.batch_loss(b)`
                func = call.func
                if isinstance(func, cst.Attribute) and func.attr.value == "forward":
                    func = func.value
                return self.evaluator.fresh().facts(func, self.frame).module.possible or runs_own_model(call)

            def runs_own_model(call: cst.Call) -> bool:  # a method of this object that calls its model once
                func = call.func
                if not (isinstance(func, cst.Attribute) and dotted_name(func.value) == "self"):
                    return False
                callee = self.calls.resolve(func, self.frame, lambda name: self.evaluator.lookup(name, self.frame))
                return callee is not None and callee.is_method and any(
                    dotted_name(part) is not None and dotted_name(part).startswith("self.") and not calls_a_layer(
                        cst.Call(func=part)) and self.evaluator.fresh().facts(part, self.frame).module.possible
                    for part in callees_once(callee.function.node))
            # Inside an nn.Module's own methods a loop calling submodules walks layers, not steps;
            # only generation-style methods (`generate`, `sample`) drive steps there.
            method = self.functions[-1] if self.functions else None
            layer_walk = method is not None and walks_layers(method.name, method.in_module_class)
            def calls_a_step_helper(call: cst.Call) -> bool:  # `self.training_step(batch)` that calls backward
                callee = self.calls.resolve(call.func, self.frame, lambda name: self.evaluator.lookup(name, self.frame))
                if callee is not None:
                    return callee.function.performs_step
                return bool(getattr(self._external_summary(call), "performs_step", False))
            info = self._loop_infos[id(node)] = classify_loop(
                node, calls_a_model, model_calls_count=not layer_walk, calls_a_step_helper=calls_a_step_helper,
                iterates_a_loader=id(node) in self.index.loader_loops, fixed=isinstance(node, cst.For) and fixed_cases(
                    node.iter, method.node if method is not None else self.module))
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

    def _bind(self, target: cst.BaseExpression, value: Facts, owner: Optional[cst.CSTNode] = None) -> None:
        """Bind `target` to `value` at the statement `owner`, with what later uses prove about that binding."""
        env = self.frame.env
        bind_target(target, value, env)
        if owner is not None:
            for name in bound_names(target):
                evidence = self.index.evidence.get((id(owner), name))
                if evidence is not None and name in env:
                    env[name] = apply_evidence(env[name], evidence)
        self.evaluator.invalidate()
        cls = self.frame.cls
        if cls is not None and isinstance(target, cst.Attribute):
            path = dotted_name(target)
            if path is not None and path.startswith("self.") and path.count(".") == 1:
                value = env.get(path, value)
                if value.named_parameter and self._class_trains(cls, path):
                    value = value.with_(named_parameter=False)  # `self.model = model`, trained by `fit()`
                known = cls.attributes.get(target.attr.value)
                cls.attributes[target.attr.value] = value if known is None else known.join(value)

    def _class_trains(self, cls: ClassInfo, path: str) -> bool:
        """Does a method of the class train `self.model` (or back-propagate)?"""
        methods = self.index.methods.get(id(cls.node), {}) if cls.node is not None else {}
        return any("" in method.trains or path in method.trains for method in methods.values())

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
                           grad_enabled=self._decorated_grad_mode(node), cls=cls, scope=node)
        self.reachable = True
        self.evaluator.invalidate()
        in_module_class = directly_in_class and cls is not None and cls.is_module
        hooks = self._step_hooks(cls, node) if directly_in_class and cls is not None else None
        framework_step = directly_in_class and cls is not None and (
            hooks is not None or node.name.value in self.calls.inherited_step_methods(cls))
        if hooks is not None and hooks.places:
            self._framework_values(hooks, node)
        # Lightning calls `training_step` once per batch: its body is one step of a loop the framework runs
        self._control.append(_CallContext(None, LoopInfo(node, True, False, trains_or_reads_data=True,
                                                         placed_by=hooks.framework if hooks and hooks.places else ""))
                             if framework_step else _FUNCTION)
        self.functions.append(FunctionInfo(node.name.value, in_module_class and node.name.value == "forward",
                                           node, in_module_class))
        returned, self._returned = self._returned, None  # a nested def's returns are not the callee's
        self._walk(node.body)
        self._returned = returned
        self.functions.pop()
        self._control.pop()
        self.frame, self.reachable = outer_frame, outer_reachable
        self._bind(node.name, NOT_TENSOR)
        return False

    # -- same-file calls (calls.py decides which; here is how a callee is walked) -------------------
    def _returns_of(self, callee: Callee, arguments: Dict[str, Facts], grad_enabled: bool) -> Facts:
        """What the callee returns given these arguments: its body walked silently by a walker of its own."""
        walker = Semantic.__new__(Semantic)
        cst.CSTVisitor.__init__(walker)
        for shared in ("module", "project", "imports", "index", "calls", "_class_infos", "_class_hooks", "module_frame"):
            setattr(walker, shared, getattr(self, shared))
        walker.evaluator = self.evaluator.fresh()
        walker._start_walk({}, {})
        walker.reporting = False
        walker._returned = []
        walker._walk_callee(callee, arguments, grad_enabled, context=_FUNCTION)
        if not walker._returned:
            return NOT_TENSOR
        joined = walker._returned[0]
        for facts in walker._returned[1:]:
            joined = joined.join(facts)
        return joined  # the body's word over the `-> T` annotation (which helpers copied around get wrong)

    def _walk_callee(self, callee: Callee, arguments: Dict[str, Facts], grad_enabled: bool, context: object) -> None:
        node = callee.function.node
        cls = callee.cls if callee.is_method else None
        env = self._parameters(node, cls)
        for name, facts in arguments.items():
            stated = env.get(name, UNKNOWN)
            if stated.tensor is NO and not stated.holds_tensors and facts.denotes_accelerator is None:
                # `def ocr(image: np.ndarray)`: the callee's own word on what it takes stands (a `Dict[str, Tensor]`
                # says tensors, and the caller says which; a device, `None` left at its default, agrees with it)
                continue
            env[name] = apply_evidence(facts, self.index.evidence.get((id(node), name)))
        self.frame = Frame(env=env, globals=self.module_frame.env,
                           grad_enabled=grad_enabled and self._decorated_grad_mode(node), cls=callee.cls, scope=node)
        self.reachable = True
        self.evaluator.invalidate()
        in_module_class = cls is not None and cls.is_module
        self.functions = [FunctionInfo(node.name.value, in_module_class and node.name.value == "forward",
                                       node, in_module_class)]
        self._control = [context]
        self._loop_exits = []
        self.ancestors = [self.module] + ([cls.node] if cls is not None and cls.node is not None else [])
        self.ancestors.append(node)
        self._walk(node.body)

    def _leave_Call(self, node: cst.Call) -> None:
        """Walk a same-file callee again, reporting, when the caller tells it more than it knows alone;
        note a call into another module of the project."""
        if not self.reporting or not self.reachable or self._context_depth >= MAX_CONTEXT_DEPTH:
            return
        callee = self.calls.resolve(node.func, self.frame, lambda name: self.evaluator.lookup(name, self.frame))
        if callee is None:
            self._call_out(node)
            return
        if any(f.node is callee.function.node for f in self.functions):
            return
        if self.ruled_out_by_call():  # `if sparse: to_host(adj)` in a helper walked for a call leaving `sparse` False
            return
        arguments = self.calls.arguments(callee, node, self.facts)
        if arguments is None:
            return
        specific = {name: facts for name, facts in arguments.items()
                    if facts.tensor is YES or facts.holds_tensors or facts.module is YES}
        step = self.step_loop()
        if not specific and step is None:
            return
        key = (id(callee.function.node), tuple(sorted(specific.items(), key=lambda item: item[0])),
               step is not None, self.frame.grad_enabled, literal_flags(node))  # (flags rule branches out)
        if not self.calls.wants_context_walk(key):
            return
        saved = (self.frame, self.reachable, self.functions, self._control, self._loop_exits, self.ancestors,
                 self._call_site)
        self._call_site = node
        self._context_depth += 1
        try:
            self._walk_callee(callee, specific, self.frame.grad_enabled, context=_CallContext(node, step))
        finally:
            self._context_depth -= 1
            (self.frame, self.reachable, self.functions, self._control, self._loop_exits, self.ancestors,
             self._call_site) = saved
            self.evaluator.invalidate()

    def _external_summary(self, call: cst.Call):
        """The summary of the function of another module that `call` calls, if the project run has one."""
        func = call.func
        if isinstance(func, cst.Attribute) and dotted_name(func.value) == "self":
            return self.calls.external_method(self.frame.cls, func.attr.value)
        qualified = self.imports.qualified(func)
        return self.project.function(qualified) if qualified and is_project_name(qualified) else None

    def outgoing_calls(self, line_of, code_of) -> list:
        """The calls into other modules recorded during the walk, with their line and text filled in."""
        found = []
        for key, call in self.project.outgoing.items():
            node = self._outgoing_nodes.get(key)
            if node is not None:
                text = " ".join(code_of(node).split())
                found.append(replace(call, line=line_of(node), text=text if len(text) <= 60 else text[:57] + "..."))
        return found

    def _leave_Module(self, node: cst.Module) -> None:
        """Walk this module's functions once more for each call another module of the project makes into
        them with something specific (`to_np(model(x))` in train.py, for `def to_np(t)` here)."""
        for incoming in self.project.incoming:
            found = self._local_function(incoming.function)
            if found is None:
                continue
            function, cls = found
            params = function.params[1:] if cls is not None else function.params
            arguments = {}
            for key, facts in incoming.arguments:
                name = params[int(key)] if key.isdigit() and int(key) < len(params) else key
                if name in params:
                    arguments[name] = facts
            callee = Callee(function, self._class_info(cls) if cls is not None else None, cls is not None)
            step = LoopInfo(function.node, True, False, trains_or_reads_data=True) if incoming.in_step_loop else None
            self._call_site = f"`{incoming.text}` at {incoming.where}"
            self._incoming_flags, self._incoming_method = incoming.flags, cls is not None
            self._context_depth = 1
            try:
                self._walk_callee(callee, arguments, incoming.grad_enabled, context=_CallContext(None, step))
            finally:
                self._context_depth = 0
                self._call_site = None
        self.frame, self.reachable, self._control, self.functions = self.module_frame, True, [], []
        self.ancestors = [node]
        self.evaluator.invalidate()

    def _local_function(self, name: str):
        owner, _, method = name.rpartition(".")
        if not owner:
            function = self.index.module_functions.get(name)
            return (function, None) if function is not None else None
        cls = self.calls.classes_by_name.get(owner)
        function = self.index.method(cls, method) if cls is not None else None
        return (function, cls) if function is not None else None

    def _call_out(self, node: cst.Call) -> None:
        """A call of another module's function: what its summary proves about the arguments (`step(loss)` whose
        body calls `loss.backward()`), and, when the call passes something specific, an outgoing call."""
        qualified = self.imports.qualified(node.func)
        if qualified is None or not is_project_name(qualified):
            return
        summary = self.project.function(qualified)
        positional = [arg for arg in node.args if arg.keyword is None and not arg.star]
        if summary is not None and summary.evidence:
            for param, evidence in summary.evidence:
                index = summary.params.index(param) if param in summary.params else -1
                arg = positional[index].value if 0 <= index < len(positional) else next(
                    (a.value for a in node.args if a.keyword is not None and a.keyword.value == param), None)
                if arg is not None and dotted_name(arg) is not None:
                    self._bind(arg, apply_evidence(self.facts(arg), evidence))
        if self.project.module == "" or self._context_depth:
            return
        arguments = {}
        for position, arg in enumerate(positional):
            arguments[str(position)] = self.facts(arg.value)
        for arg in node.args:
            if arg.keyword is not None:
                arguments[arg.keyword.value] = self.facts(arg.value)
        specific = tuple((k, f) for k, f in arguments.items() if f.tensor is YES or f.holds_tensors or f.module is YES)
        step = self.step_loop() is not None
        if specific or step or not self.frame.grad_enabled:
            self.project.outgoing[id(node)] = OutgoingCall(qualified, specific, step, self.frame.grad_enabled, 0, "",
                                                           call_flags(node))
            self._outgoing_nodes[id(node)] = node

    def _parameters(self, node: cst.FunctionDef, cls: Optional[ClassInfo]) -> Dict[str, Facts]:
        env: Dict[str, Facts] = {}
        params = node.params
        ordered = [*params.posonly_params, *params.params, *params.kwonly_params]
        for index, param in enumerate(ordered):
            name = param.name.value
            if index == 0 and cls is not None and name == "self":
                placed = self.evaluator.trainer_placed.get(id(cls.node)) if cls.node is not None else None
                env[name] = MODULE.with_(device_why=placed) if cls.is_module else UNKNOWN.with_(module=NO)
            elif _host_literal(param.default):
                # `def subsequent_mask(size, device="cpu")`: the host unless a caller passes another device (a
                # caller that does is walked with its argument bound instead)
                env[name] = device_spec(NO)
            else:
                env[name] = apply_evidence(self._annotated(param.annotation, name, node),
                                           self.index.evidence.get((id(node), name)))
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                env[star.name.value] = UNKNOWN.with_(module=NO)
        return env

    def _annotated(self, annotation: Optional[cst.Annotation], name: str, function: cst.FunctionDef) -> Facts:
        stated = self._stated(annotation)
        if stated is not None:
            return stated
        named = unknown_named(name)
        if named.module is not MAYBE:
            return named
        # a model that arrives as a parameter is a module by its name only: whether its parameters require grad
        # is what its callers pass (walked with it), unless this function trains it
        index = self.index.functions.get(id(function))
        trained = index is not None and ("" in index.trains or name in index.trains)
        return named if trained else named.with_(named_parameter=True)

    def _stated(self, annotation: Optional[cst.Annotation]) -> Optional[Facts]:
        return annotation_facts(annotation, self.imports, self.evaluator.module_classes, self.index.type_aliases)

    def _decorated_grad_mode(self, node: cst.FunctionDef) -> bool:
        for decorator in node.decorators:
            expression = decorator.decorator
            if isinstance(expression, cst.Call):
                if not self._grad_mode_after(expression, True):  # `@torch.no_grad()`, `@set_grad_enabled(False)`
                    return False
            elif self.imports.qualified(expression) in api.NO_GRAD_CONTEXTS:
                return False
        return True

    def _visit_ClassDef(self, node: cst.ClassDef) -> bool:
        for decorator in node.decorators:
            self._walk(decorator)
        for base in node.bases:
            self._walk(base)
        info = self._class_info(node)
        (self.evaluator.module_classes if info.is_module else self.evaluator.plain_classes).add(info.name)
        outer_frame, outer_reachable = self.frame, self.reachable
        self.frame = Frame(env={}, globals={**outer_frame.globals, **outer_frame.env},
                           grad_enabled=outer_frame.grad_enabled, cls=info)
        self.evaluator.invalidate()
        self.ancestors.append(node.body)
        # `__init__` first, wherever it stands: it sets what `self.x` holds for every other method
        # (findings are sorted by position, so the order of the walk shows nowhere else).
        statements = list(node.body.body) if isinstance(node.body, cst.IndentedBlock) else None
        if statements is not None:
            statements.sort(key=lambda statement: not (isinstance(statement, cst.FunctionDef)
                                                        and statement.name.value == "__init__"))
            for statement in statements:
                self._walk(statement)
        self.ancestors.pop()
        if statements is None:
            self._walk(node.body)
        self.frame, self.reachable = outer_frame, outer_reachable
        self.evaluator.invalidate()
        return False

    def _step_hooks(self, cls: ClassInfo, node: cst.FunctionDef):
        """The framework entry (step_hooks.TABLE) whose loop calls this method once per step, if any: a per-step
        method of a framework base the class derives from, or a method such a method calls on `self` every time."""
        if cls.node is None:
            return None
        cache = self.__dict__.setdefault("_class_hooks", {})  # (a summary's walker shares no cache)
        found = cache.get(id(cls.node))
        if found is None:
            bases = step_hooks.class_hooks(
                cls.node, lambda base: self.imports.qualified(base) or self._own_qualified(base),
                lambda name: self.calls.classes_by_name.get(name),
                lambda name: (lambda summary: summary.bases if summary is not None else ())(self.project.class_(name)))
            if not bases and cls.is_module and self._is_lightning(cls):  # an import the map cannot resolve
                bases = step_hooks.TABLE[:1]
            every_step = {}
            for hooks in bases:
                for method in self._methods_here_and_above(cls.node):
                    if method.name.value in hooks.methods:
                        every_step.setdefault(method.name.value, hooks)
                        for called in step_hooks.called_every_step(method):
                            every_step.setdefault(called, hooks)
            found = cache[id(cls.node)] = every_step
        return found.get(node.name.value)

    def _methods_here_and_above(self, cls: cst.ClassDef):
        """The methods of a class and of its base classes of this file."""
        pending, seen = [cls], set()
        while pending:
            current = pending.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            yield from (f.node for f in self.index.methods.get(id(current), {}).values())
            pending.extend(c for c in (self.calls.classes_by_name.get(dotted_name(b.value) or "") for b in current.bases)
                           if c is not None)

    def _own_qualified(self, base: cst.BaseExpression) -> Optional[str]:
        """A class of this module by its qualified name (`fastai.callbacks.hooks.HookCallback` in that module)."""
        name = dotted_name(base)
        if name in self.calls.classes_by_name and self.project.module:
            return f"{self.project.module}.{name}"
        return None

    def _framework_values(self, hooks, node: cst.FunctionDef) -> None:
        """Bind what the framework passes a per-step method (its placed tensors) and what it takes back (the loss)."""
        for name in step_hooks.step_parameters(hooks, node):
            if self.frame.env.get(name, UNKNOWN).tensor is not NO:
                self.frame.env[name] = step_hooks.step_value(hooks, node)
        star = step_hooks.star_parameter(hooks, node)
        if star is not None:
            self.frame.env[star] = step_hooks.step_arguments(hooks, node)
        if node.name.value in hooks.returns_loss:
            function = self.index.functions.get(id(node))
            for key in function.returned if function is not None else ():
                self.index.add(key, step_hooks.returned_loss(node))
        self.evaluator.invalidate()

    def _is_lightning(self, cls: ClassInfo) -> bool:
        return cls.node is not None and any(
            (self.imports.qualified(arg.value) or dotted_name(arg.value) or "").endswith("LightningModule")
            for arg in cls.node.bases)

    def _class_info(self, node: cst.ClassDef) -> ClassInfo:
        info = self._class_infos.get(id(node))
        if info is None:
            is_module = self._is_module_class(node)
            info = self._class_infos[id(node)] = ClassInfo(node.name.value, is_module, node=node)
        return info

    def _is_module_class(self, node: cst.ClassDef) -> bool:
        """An nn.Module subclass: a module base, or (bases from elsewhere, like `ModelMixin`) a `forward` method."""
        bases = [arg.value for arg in node.bases if arg.keyword is None]
        if any(self._is_module_base(base) for base in bases):
            return True
        if any((self.imports.qualified(base) or "").startswith("torch.autograd.") for base in bases):
            return False  # a custom autograd Function: its `forward(ctx, ...)` is not a module's
        if self.imports.imports_framework_with_data or self.imports.imports_other_array_framework:
            return False  # chainer's Chain and paddle's Layer have a `forward` too
        return bool(bases) and self.index.method(node, "forward") is not None and not all(
            dotted_name(base) == "object" for base in bases)

    def _is_lightning_class(self, node: cst.ClassDef) -> bool:
        """A LightningModule subclass (directly, or through a class of this file that is one): Lightning's Trainer,
        not the code, moves it to the accelerator, so its code never shows a `.to(device)` and must be device-agnostic."""
        for arg in node.bases:
            if arg.keyword is not None:
                continue
            if (self.imports.qualified(arg.value) or dotted_name(arg.value) or "").endswith("LightningModule"):
                return True  # as `_is_lightning` tells the framework's step methods
            local = self.calls.classes_by_name.get(dotted_name(arg.value) or "")
            if local is not None and local is not node and id(local) in self.evaluator.trainer_placed:
                return True
        return False

    def _summary_is_module(self, summary, depth: int) -> bool:
        """Is a class of another module an nn.Module? Its summary was made without its own bases' summaries
        (`CascadeRoIHead(BaseRoIHead)`, with `BaseRoIHead(BaseModule)` in a third module), so follow them."""
        if summary.is_module:
            return True
        for base in summary.bases if depth < 3 else ():
            if base.startswith("torch.nn.") or base.rsplit(".", 1)[-1].endswith(api.MODULE_BASE_SUFFIXES):
                return True
            parent = self.project.class_(base) if is_project_name(base) else None
            if parent is not None and self._summary_is_module(parent, depth + 1):
                return True
        return False

    def _is_module_base(self, base: cst.BaseExpression) -> bool:
        qualified = self.imports.qualified(base) or ""
        if qualified.startswith("torch.nn.") or qualified.endswith("LightningModule"):
            return True
        external = self.project.class_(qualified) if qualified else None
        if external is not None:  # a class of another module of the project (`from .base import Net`)
            return self._summary_is_module(external, depth=0)
        dotted = dotted_name(base) or ""
        return dotted in self.evaluator.module_classes or (bool(dotted) and dotted.endswith(api.MODULE_BASE_SUFFIXES))

    def _visit_Lambda(self, node: cst.Lambda) -> bool:
        self._walk(node.params)
        outer = self.frame
        env = dict(outer.env)
        params = [*node.params.posonly_params, *node.params.params, *node.params.kwonly_params]
        for param in params:
            env[param.name.value] = unknown_named(param.name.value)
        mapped = self._mapped_over(node)
        if mapped is not None and params:  # `map(lambda t: t.item(), tensors)`: runs now, once per element
            env[params[0].name.value] = element_of(self.facts(mapped))
        self.frame = replace(outer, env=env)
        self.evaluator.invalidate()
        self._control.append(_BRANCH if mapped is not None else _FUNCTION)
        self._walk(node.body)
        self._control.pop()
        self.frame = outer
        self.evaluator.invalidate()
        return False

    def _mapped_over(self, node: cst.Lambda) -> Optional[cst.BaseExpression]:
        """The iterable a `map(lambda ..., iterable)` applies this lambda to, if that is where it stands."""
        arg, call = (self.ancestors[-2], self.ancestors[-3]) if len(self.ancestors) >= 3 else (None, None)
        if (isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and call.func.value == "map"
                and len(call.args) == 2 and call.args[0] is arg and "map" not in self.frame.env):
            return call.args[1].value
        return None

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
        # `if (i + 1) % n_critic == 0:` around a backward/optimizer step is a training step (a GAN critic
        # schedule, gradient accumulation), not a logging guard: what runs inside still runs every step.
        kind = guard_kind(node.test)
        periodic = kind == "logging" or kind == "schedule" and not performs_step(node.body) or is_first_time_guard(node)
        self._control.append(_PERIODIC if periodic else _BRANCH)
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
            self._bind(node.target, element, node)
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
                self._bind(item.asname.name, UNKNOWN.with_(module=NO), item)
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
        if qualified in api.SET_GRAD_ENABLED and context.args:
            flag = context.args[0].value
            if isinstance(flag, cst.Name) and flag.value in ("True", "False"):
                return flag.value == "True"
            return True  # unknown: grad may be on, so the grad check may run
        if not (qualified or "").startswith("torch.") and api.names_no_grad_context(dotted_name(context.func)):
            return False  # the project's own `settings.INFERENCE_MODE()` (surya): what it enters is not known
        return mode

    # -- statements that change facts -------------------------------------------------------
    def _leave_Assign(self, node: cst.Assign) -> None:
        value = self.facts(node.value)
        for target in node.targets:
            self._bind(target.target, value, node)
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
                why = Evidence(SET_BY, target) if grad.possible else None
                self._bind(target.value, owner.with_(grad=grad, grad_why=why))

    def _leave_AnnAssign(self, node: cst.AnnAssign) -> None:
        stated = self._stated(node.annotation)
        if node.value is not None:
            self._bind(node.target, annotated(self.facts(node.value), stated), node)
        elif stated is not None and self.frame.cls is not None and isinstance(node.target, cst.Name) and (
                len(self.ancestors) >= 4 and isinstance(self.ancestors[-4], cst.ClassDef)):
            # `encoder: nn.Module` in a class body: what instances' `self.encoder` holds
            self.frame.cls.attributes.setdefault(node.target.value, stated)

    def _leave_AugAssign(self, node: cst.AugAssign) -> None:
        current, incoming = self.facts(node.target), self.facts(node.value)
        if current.items is not None:
            updated = container_of(current.items.join(element_of(incoming)))
        else:
            updated = combine([current, incoming], self.frame.grad_enabled)
        self._bind(node.target, updated, node)

    def _leave_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind(node.target, self.facts(node.value), node)

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
        if qualified in api.SET_GRAD_ENABLED and call.args:
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
        elif method in ("to", "cuda", "cpu") and current.module.possible:  # `model.to(device)` moves it in place
            self._bind(receiver, self.evaluator.facts(call, self.frame))

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

    def _leave_Return(self, node: cst.Return) -> None:
        if self._returned is not None and self.reachable and node.value is not None and not (
                isinstance(node.value, cst.Name) and node.value.value == "None"):
            self._returned.append(self.facts(node.value))  # `return None` never weakens what a helper returns
        self.reachable = False

    def _leave_Raise(self, node) -> None:
        self.reachable = False

    def _leave_Continue(self, node) -> None:
        if self._loop_exits:
            self._loop_exits[-1][0].append(self._state())
        self.reachable = False

    def _leave_Break(self, node) -> None:
        if self._loop_exits:
            self._loop_exits[-1][1].append(self._state())
        self.reachable = False


_FUNCTION, _PERIODIC, _BRANCH = object(), object(), object()  # control-stack markers
MAX_CONTEXT_DEPTH = 2  # a step loop's helper, and the helper's helper (`fit_batch` → `check_gradients`)
# Methods a training framework calls once per batch (PyTorch Lightning's hooks).


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


def _host_literal(default: Optional[cst.BaseExpression]) -> bool:
    """A parameter default that names the host device: `"cpu"`, `'cpu'`."""
    return isinstance(default, cst.SimpleString) and default.value.strip("rbuRBU").strip("\"'") == "cpu"
