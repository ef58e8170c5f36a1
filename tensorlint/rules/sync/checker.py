"""Finds host syncs and graph retention that run every step of a step loop (as the shared analysis sees them).

A finding needs evidence twice: of the loop being a step loop (analysis/loops.py) and of the value
being on an accelerator (or, for TL404, requiring grad); the message names the value's evidence.
A sync is not reported where the same iteration already synchronises unavoidably (a loop that leaves
on a device value, a generation loop deciding on one, boolean-mask indexing, a round trip through
NumPy back to the device: rules/sync/flow.py): one more sync there costs nothing. Reports are held per
step loop until the module is walked, because that sync may come later in the iteration.
"""
from __future__ import annotations

import builtins
from typing import Dict, List, Optional, Set, Tuple, Type

import libcst as cst

from tensorlint.analysis import NO, YES, Facts, dotted_name
from tensorlint.analysis.annotations import annotated_class, attribute_annotation, states_numpy
from tensorlint.analysis.crossmodule import is_project_name
from tensorlint.analysis.facts import MOVED_BY, Evidence
from tensorlint.analysis.instances import method_of
from tensorlint.analysis.loops import DATA_DEPENDENT, function_syncs, is_mask
from tensorlint.analysis.retention import names_in as read_names
from tensorlint.core.diagnostics import Fix
from tensorlint.rules.base import FamilyChecker, Rule
from tensorlint.analysis.host_copy import names_in, returned, returns_host_copy, to_cpu
from tensorlint.analysis.sinks import STRUCTURAL_KEYWORDS, converts_to_numpy
from tensorlint.rules.sync.rules import RULES, GraphRetention, PerStepHostCopy, PerStepScalarSync, PerStepSynchronize
from tensorlint.rules.sync.flow import (host_to_host, in_eval_window, item_loop, leaves_torch, of_loop_target,
                                        returns_to_device, switches_mode)
from tensorlint.rules.sync.evidence import (FEEDS_LOSS_OF_MOVED_MODEL, REQUIRES_GRAD_PLACED_BY,
                                            REQUIRES_GRAD_WITH_MOVED_MODEL, because, shown_code)
from tensorlint.rules.sync.retention import accumulations, detach_fix
from tensorlint.rules.sync.syntax import (exits_loop, forced, in_exit_test, keeps_model, names_tested_in,
                                          off_normal_path, statement_and_function, truth_tested, value_names,
                                          writers_in, written_out)

_SCALAR_BUILTINS = frozenset({"float", "int", "bool"})
ACCUMULATE = "accumulate on the device and convert once, after the loop or under a logging guard"
_NOT_VALUES = frozenset({"self", "cls"})


class SyncChecker(FamilyChecker):
    rules = RULES

    def __init__(self, context, semantic, enabled) -> None:
        super().__init__(context, semantic, enabled)
        # Per step loop (id of its node): findings held back, and whether the iteration syncs anyway.
        self._held: Dict[int, List[Tuple[Type[Rule], cst.CSTNode, str, object]]] = {}
        self._synced: Set[int] = set()
        self._tested: Dict[int, Set[str]] = {}
        self._writers: Dict[int, Set[str]] = {}
        self._syncing: Dict[int, bool] = {}  # by id of a FunctionDef: does each call of it sync?
        self._switching: Dict[int, bool] = {}  # by id of a loop body: does it switch a model's mode?
        self._declared: Dict[Tuple[int, str], Optional[str]] = {}  # by class and attribute: its declared class
        self._host_copy_methods: Dict[int, bool] = {}  # by id of a method of this file: returns a host copy?

    def _active(self) -> bool:
        return self.semantic.imports.imports_torch and self.semantic.step_loop() is not None

    def _on_device(self, expression: cst.BaseExpression, maybe_tensor: bool = False) -> Optional[Facts]:
        facts = self.semantic.facts(expression)
        # a sync costs only where the value may be on an accelerator and something in the code shows it
        if not (facts.tensor is YES or maybe_tensor and facts.tensor.possible) or not facts.device.possible:
            return None
        if facts.device_shown_by_code:
            return facts
        loop = self.semantic.step_loop()
        placed_by = loop.placed_by if loop is not None else ""
        if placed_by and facts.device_evidenced:
            # in a framework's per-step method, the framework's own placement (analysis/step_hooks.py): the
            # message names it, the link no line of the code shows
            root = facts.device_why
            while root.cause is not None and not root.by_framework:
                root = root.cause
            return facts.with_(device_why=root)
        why = self._trained_on_moved_model(expression, facts)
        if why is None and placed_by and facts.grad_evidenced:
            why = Evidence(REQUIRES_GRAD_PLACED_BY.format(framework=placed_by), self.semantic.functions[-1].node.name)
        return facts.with_(device_why=why) if why is not None else None

    def _trained_on_moved_model(self, expression: cst.BaseExpression, facts: Facts) -> Optional[Evidence]:
        """In a method of a class that moved its own model or state to a device (`self.policy =
        self.policy.to(self.device)`), a tensor computed from what requires grad, or from what feeds the loss
        this method backpropagates, is on that device: one autograd graph cannot mix devices, and the class
        trains what it moved. (The loss itself may come from elsewhere: `self.compute_objectives(out, batch)`.)"""
        cls = self.semantic.frame.cls
        if cls is None:
            return None
        moved = next((f.device_why for f in cls.attributes.values() if f.device_evidenced
                      and f.device_why.template == MOVED_BY and f.device_why.node is not None), None)
        if moved is None:
            return None
        if facts.grad_evidenced or any(self.semantic.facts(part).grad_evidenced for part in value_names(expression)):
            return Evidence(REQUIRES_GRAD_WITH_MOVED_MODEL, moved.node)
        fed = any(self.semantic.feeds_backward(name) for name in read_names(expression) - _NOT_VALUES)
        return Evidence(FEEDS_LOSS_OF_MOVED_MODEL, moved.node) if fed else None

    # -- TL401 / TL402 / TL403 ------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        if not self._active():
            return
        func = node.func
        if self._calls_syncing_helper(node):
            self._syncs_anyway()
        self._host_round_trip(node)
        if converts_to_numpy(self.semantic.qualified(func) or ""):
            self._implicit_conversions(node)
        if isinstance(func, cst.Attribute):
            name, receiver = func.attr.value, func.value
            if name in ("item", "tolist") and not node.args:
                facts = self._on_device(receiver)
                if facts is not None:
                    self._sync(PerStepScalarSync, node,
                               f"`{self._shown(receiver, f'.{name}()')}` waits for the accelerator "
                               f"every step ({self._because(receiver, facts)}): {ACCUMULATE}")
            elif name == "cpu" and not node.args or name == "to" and to_cpu(node):
                facts = self._on_device(receiver)
                if facts is None:
                    self._round_trip_of_tensor(receiver, node)
                else:
                    shown = self._shown(receiver, ".cpu()" if name == "cpu" else '.to("cpu")')
                    self._sync(PerStepHostCopy, node, f"`{shown}` copies to the host every step "
                               f"({self._because(receiver, facts)}): collect on the device (`torch.cat` the list) "
                               "and move once after the loop")
            elif name == "numpy" and forced(node):
                facts = self._on_device(receiver)
                if facts is not None:
                    self._sync(PerStepHostCopy, node, f"`.numpy(force=True)` copies to the host every step "
                               f"({self._because(receiver, facts)}): collect on the device and convert once after "
                               "the loop")
            elif name == "numpy" and not node.args:
                self._conversion(receiver, node)
            elif name in DATA_DEPENDENT and self._on_device(receiver):
                self._syncs_anyway()
            elif self.semantic.qualified(func) == "torch.cuda.synchronize":
                if not self.semantic.step_loop().is_timing:
                    self._sync(PerStepSynchronize, node,
                               "`torch.cuda.synchronize()` every step stalls the pipeline: drop it "
                               "(keep it only in timing code, next to the clock reads)")
            elif (self.semantic.qualified(func) or "").rsplit(".", 1)[-1] in DATA_DEPENDENT and node.args and (
                    self._on_device(node.args[0].value)):
                self._syncs_anyway()  # `torch.nonzero(mask)`
        elif isinstance(func, cst.Name) and self._is_builtin(func.value):
            positional = [a.value for a in node.args if a.keyword is None]
            if func.value in _SCALAR_BUILTINS and len(positional) == 1:
                facts = self._on_device(positional[0])
                if facts is not None:
                    self._sync(PerStepScalarSync, node, f"`{func.value}(tensor)` waits for the accelerator every step "
                               f"({self._because(positional[0], facts)}): {ACCUMULATE}")
            elif func.value == "print":
                shown = next(((value, facts) for value in positional
                              for facts in (self._on_device(value),) if facts is not None), None)
                if shown is not None:
                    self._sync(PerStepHostCopy, node, f"`print(tensor)` copies to the host every step "
                               f"({self._because(*shown)}): print under a logging guard (`if step % log_every == 0:`)")

    def visit_FormattedStringExpression(self, node: cst.FormattedStringExpression) -> None:
        if not self._active():
            return
        facts = self._on_device(node.expression)
        if facts is not None:
            self._sync(PerStepScalarSync, node,
                       "formatting a tensor in an f-string waits for the accelerator every step "
                       f"({self._because(node.expression, facts)}): format under a logging guard, or {ACCUMULATE}")

    def visit_If(self, node: cst.If) -> None:
        if not self._active():
            return
        loop = self.semantic.step_loop()
        decides = not loop.trains_or_reads_data or exits_loop(node) or keeps_model(node)
        if decides and not off_normal_path(self.semantic.ancestors) and any(
                self._on_device(value) for value in (*names_in(node.test), *truth_tested(node.test))):
            # a generation loop deciding on a device value, or any step loop leaving on one
            # (`if next_token == eos: break`, `if done.item() > 0: break`): the step must wait for it
            self._syncs_anyway()
            return
        for tested in truth_tested(node.test):  # `if t:`, `if not torch.isnan(t):`, `if a and t:`
            facts = self._on_device(tested)
            if facts is not None:
                self._sync(PerStepScalarSync, tested,
                           "a tensor as an `if` condition waits for the accelerator every step "
                           f"({self._because(tested, facts)}): keep the decision on the device (`torch.where`) or "
                           "check it under a logging guard", decision=True)

    def visit_While(self, node: cst.While) -> None:
        if not self.semantic.imports.imports_torch:
            return
        own = self.semantic.loop_info(node)
        outer = self.semantic.step_loop()
        facts = self._on_device(node.test) if own.is_step or outer is not None else None
        if facts is None:
            return
        if own.is_step and not own.trains_or_reads_data:  # `while not done:` of a generation loop: its decision
            self._synced.add(id(node))
            self._held.pop(id(node), None)
        else:
            self._sync(PerStepScalarSync, node.test,
                       "a tensor as a `while` condition waits for the accelerator every step "
                       f"({self._because(node.test, facts)}): test it every N steps instead",
                       loop=own if own.is_step else outer)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        """`x[mask]`: a boolean mask gives a shape that depends on the data, so the host waits for it."""
        if self._active() and any(isinstance(e.slice, cst.Index) and is_mask(e.slice.value) for e in node.slice) \
                and self._on_device(node.value) and self.semantic.store_of(node) is None:
            self._syncs_anyway()

    def leave_Module(self, node: cst.Module) -> None:
        for loop, held in self._held.items():
            if loop not in self._synced:
                for rule, site, message, call in held:
                    self._emit(rule, site, message, call)
        self._held.clear()

    # -- TL404 ----------------------------------------------------------------------------------
    def _accumulation(self, node: cst.CSTNode) -> None:
        """`total += loss`, `total = total + loss`, `losses.append(loss)`: kept graphs pile up unless detached."""
        for site in accumulations(node):
            facts = self._retains_graph(site.value, site.accumulator)
            if facts is not None:
                self._report(GraphRetention, site.at,
                             f"{site.shown(self._code)} keeps every step's autograd graph alive "
                             f"({self._because(site.value, facts, facts.grad_why)}): {site.verb} `.detach()`ed values",
                             detach_fix(self.context, site.value) if site.fixable else None)

    visit_AugAssign = visit_Assign = visit_Expr = _accumulation

    def _retains_graph(self, value: cst.BaseExpression, accumulator: cst.BaseExpression) -> Optional[Facts]:
        """The value's facts when adding it to `accumulator` keeps its graph alive across steps."""
        if not self._active() or not self.semantic.grad_enabled or not self.semantic.step_loop().trains_or_reads_data:
            return None
        facts = self.semantic.facts(value)
        # a graph is kept only by a tensor that requires grad, and something in the code must show it does
        if facts.tensor is not YES or not facts.grad_evidenced:
            return None
        name = dotted_name(accumulator)
        # kept for a later backward, the graph is the point; made anew each step, nothing accumulates
        kept = name is not None and not self.semantic.feeds_backward(name) and self.semantic.outlives_step(accumulator)
        return facts if kept else None

    # -- helpers --------------------------------------------------------------------------------
    def _conversion(self, value: cst.BaseExpression, node: cst.CSTNode) -> None:
        """A conversion to NumPy of a device tensor: a crash (TL102) that, once its fix adds `.cpu()`, copies to the
        host every step. Reported up front, at the same place, so the fix never creates a finding."""
        facts = self._on_device(value)
        if facts is not None:
            self._sync(PerStepHostCopy, node,
                       f"converting `{self._shown(value, '')}` to NumPy copies it to the host every "
                       f"step once it runs ({self._because(value, facts)}): collect on the device and convert once "
                       "after the loop")

    def _implicit_conversions(self, call: cst.Call) -> None:
        """The tensors `np.concatenate([a, b])`, `roc_auc_score(y, p)`, `plt.plot(t)` convert."""
        for arg in call.args:
            if arg.star or arg.keyword is not None and arg.keyword.value in STRUCTURAL_KEYWORDS:
                continue
            values = [arg.value]
            if isinstance(arg.value, (cst.List, cst.Tuple)):
                values = [e.value for e in arg.value.elements if not isinstance(e, cst.StarredElement)]
            for value in values:
                self._conversion(value, value)

    def _sync(self, rule: Type[Rule], node: cst.CSTNode, message: str, loop=None, decision: bool = False) -> None:
        """Hold a sync finding until the step loop is walked: the iteration may sync unavoidably elsewhere."""
        if not self.wants(rule) or off_normal_path(self.semantic.ancestors):
            return
        loop = loop or self.semantic.step_loop()
        key = id(loop.node)
        ancestors = self.semantic.ancestors
        if in_exit_test(ancestors) or not loop.trains_or_reads_data and (decision or self._in_condition(loop)):
            # a generation loop that decides on the value (`if next_token == eos: break`) must wait for it
            self._synced.add(key)
            self._held.pop(key, None)
            return
        per_value = rule in (PerStepScalarSync, PerStepHostCopy) and not decision
        if per_value and loop.inference_only and self._written_out(node, loop):
            return
        if per_value and (
                self._needed_on_host(node, loop) or self._function_output(node, loop)):
            return
        if key not in self._synced:
            call = self.context.call_site() if self.context.call_site is not None else None
            self._held.setdefault(key, []).append((rule, node, message, call))

    def _needed_on_host(self, node: cst.CSTNode, loop) -> bool:
        """Does the host value `node` makes go back to the device later in the same iteration (a round trip,
        flow.returns_to_device)? Then the step cannot go on without it: the copy is not the hazard, and the
        iteration syncs on it anyway. Each enclosing step loop is asked (the copy may sit in an inner loop whose
        results the outer iteration sends back: `counts += out.cpu().numpy()` per ablation, then the counts)."""
        ancestors = self.semantic.ancestors
        statement, function = statement_and_function(ancestors)
        if statement is None or off_normal_path(ancestors) or not leaves_torch(ancestors, node):
            return False
        return self._sent_back(node, statement, function, loop, lambda body: True)

    def _sent_back(self, node: cst.CSTNode, statement, function, loop, also, first=None) -> bool:
        """Mark each enclosing iteration whose `body` sends the host value `node` makes back to the device (and
        for which `also(body)` holds) as synced anyway; did any? (`first(body)`: a cheaper test asked before.)"""
        semantic = self.semantic
        # (every enclosing loop: marking one that is not a step loop changes nothing)
        loops = [a for a in semantic.ancestors if isinstance(a, (cst.For, cst.While))]
        bodies = [(id(a), a.body) for a in loops]
        if not any(a is loop.node for a in loops) and function is not None:  # a helper walked for its caller's step
            bodies.append((id(loop.node), function.body))
        found = False
        for key, body in bodies:
            if (first is None or first(body)) and returns_to_device(body, node, statement) and also(body):
                self._synced.add(key)
                self._held.pop(key, None)
                found = True
        return found

    def _host_round_trip(self, call: cst.Call) -> None:
        """A call that takes host data and gives back host data made by device work, sent back to the device
        later in the iteration: the step waits for the device in it. Device work is shown by the callee's code
        (`_returns_host_copy`) or by the step switching its model to eval mode around the call
        (flow.in_eval_window)."""
        semantic = self.semantic
        facts = [semantic.facts(arg.value) for arg in call.args if not arg.star]
        if not any(f.tensor is NO for f in facts) or any(f.tensor is YES for f in facts):
            return  # (the host path of `loss_gradient(x)` is taken for NumPy `x`)
        statement, function = statement_and_function(self.semantic.ancestors)
        if statement is None or off_normal_path(self.semantic.ancestors):
            return
        typed = self._returns_host_copy(call)
        if not typed and (semantic.qualified(call.func) or "").split(".", 1)[0] in ("torch", "numpy"):
            return
        self._sent_back(call, statement, function, semantic.step_loop(),
                        lambda body: typed or in_eval_window(body, statement), None if typed else self._switches)

    def _switches(self, body: cst.CSTNode) -> bool:
        found = self._switching.get(id(body))
        if found is None:
            found = self._switching[id(body)] = switches_mode(body)
        return found

    def _returns_host_copy(self, call: cst.Call) -> bool:
        """Is `call` `self.<attribute>.<method>(...)`, the attribute declared to be a class of the project
        (analysis/annotations.attribute_annotation) whose method returns a host copy of a tensor
        (analysis/host_copy.returns_host_copy; a class of another module: its summary's `returns_host_copy`)?"""
        func, semantic = call.func, self.semantic
        cls = semantic.frame.cls
        if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Attribute) and isinstance(
                func.value.value, cst.Name) and func.value.value.value == "self") or cls is None or cls.node is None:
            return False
        key = (id(cls.node), func.value.attr.value)
        if key not in self._declared:
            self._declared[key] = annotated_class(self._declaration(cls.node, key[1], 0), semantic.imports)
        declared = self._declared[key]
        if declared is None or not is_project_name(declared):
            return False
        method = method_of(semantic.evaluator, declared, func.attr.value)
        if isinstance(method, cst.FunctionDef):  # a class of this file: read once per method
            if id(method) not in self._host_copy_methods:
                self._host_copy_methods[id(method)] = returns_host_copy(method)
            return self._host_copy_methods[id(method)]
        return bool(getattr(method, "returns_host_copy", False))

    def _round_trip_of_tensor(self, value: cst.BaseExpression, node: cst.CSTNode) -> None:
        """A tensor that may be on the device, copied to the host and sent back: the iteration syncs on it."""
        facts = self.semantic.facts(value)  # (`.cpu()` itself says tensor: NumPy arrays have none)
        if of_loop_target(value, self.semantic.ancestors):
            return  # the loop's own batch, maybe still on the host (`aug(x.cpu().numpy())` then moved): no sync shown
        if facts.tensor.possible and facts.device.possible and not off_normal_path(self.semantic.ancestors):
            self._needed_on_host(node, self.semantic.step_loop())

    def _function_output(self, node: cst.CSTNode, loop) -> bool:
        """Is the host value `node` makes the result of the function it is in, by that function's stated NumPy
        return type, and either converted item by item (a loop over one output's items: ragged detections,
        per-image gradients) or in a helper that takes and returns NumPy (flow.host_to_host)?"""
        statement, function = statement_and_function(self.semantic.ancestors)
        if statement is None or function is None or not states_numpy(function.returns, self.semantic.imports) \
                or not returned(function, node, statement):
            return False
        ancestors = self.semantic.ancestors
        if item_loop(ancestors, function, loop.node) is not None:
            return True
        called_by_step = loop.node is function or not any(a is loop.node for a in ancestors)
        if host_to_host(function, self.semantic.imports) and called_by_step:
            self._syncs_anyway()  # every call of it is a round trip: the step that calls it waits anyway
            return True
        return False

    def _written_out(self, node: cst.CSTNode, loop) -> bool:
        """In a loop that does no training step, is the host value `node` makes written out (to a file or a
        writer) later in the same iteration? Then the host needs it every step: it is the loop's output."""
        ancestors = self.semantic.ancestors
        statement = next((a for a in reversed(ancestors) if isinstance(a, cst.BaseSmallStatement)), None)
        if statement is None or not any(a is loop.node for a in ancestors):
            return False
        scope = next((a for a in reversed(ancestors) if isinstance(a, cst.FunctionDef)), self.semantic.module)
        writers = self._writers.get(id(scope))
        if writers is None:
            writers = self._writers[id(scope)] = writers_in(scope)
        return written_out(loop.node.body, node, statement, writers)

    def _calls_syncing_helper(self, call: cst.Call) -> bool:
        """Is `call` a helper that waits for the device on every call (`labels.unique()`, mask indexing: see
        `syncs_every_call`), given a tensor shown to be on the device? Then this step syncs in it anyway.
        (A value that may be a tensor will do: the helper syncs on it with tensor operations, `torch.isnan(x)`.)"""
        if not any(self._on_device(arg.value, maybe_tensor=True) for arg in call.args if not arg.star):
            return False
        semantic = self.semantic
        callee = semantic.calls.resolve(call.func, semantic.frame, lambda name: semantic.evaluator.lookup(
            name, semantic.frame))
        if callee is None:
            name = semantic.qualified(call.func)
            summary = semantic.project.function(name) if name and is_project_name(name) else None
            return bool(getattr(summary, "syncs_every_call", False))
        return function_syncs(callee.function, semantic.index.module_functions, semantic.qualified,
                              lambda name: semantic.project.function(name) if is_project_name(name) else None,
                              self._syncing)

    def _declaration(self, cls: cst.ClassDef, attribute: str, depth: int) -> Optional[cst.Annotation]:
        """The class's declaration of `self.<attribute>`, or that of a base class of the same file."""
        found = attribute_annotation(cls, attribute)
        for base in cls.bases if found is None and depth < 3 and self.semantic.calls is not None else ():
            parent = self.semantic.calls.classes_by_name.get(dotted_name(base.value) or "")
            found = self._declaration(parent, attribute, depth + 1) if parent is not None else None
            if found is not None:
                break
        return found

    def _syncs_anyway(self) -> None:
        """The current iteration waits for the device whatever the code does about its other syncs."""
        if not off_normal_path(self.semantic.ancestors):
            key = id(self.semantic.step_loop().node)
            self._synced.add(key)
            self._held.pop(key, None)

    def _emit(self, rule: Type[Rule], node: cst.CSTNode, message: str, call) -> None:
        saved = self.context.call_site
        self.context.call_site = lambda: call
        try:
            self.report(rule, node, message)
        finally:
            self.context.call_site = saved

    def _in_condition(self, loop) -> bool:
        """Is the node being visited part of an `if`/`while` test, assigned to a name that one tests
        (`py = token.item()` ... `if py == eos: break`), or yielded to a consumer of each token?"""
        ancestors = self.semantic.ancestors
        for index in range(len(ancestors) - 2, 0, -1):
            ancestor, child = ancestors[index], ancestors[index + 1]
            if isinstance(ancestor, cst.Yield):  # `yield token.item()`: a consumer takes each token as it comes
                return True
            if isinstance(ancestor, (cst.If, cst.While, cst.IfExp)):
                if child is ancestor.test:
                    return True
                if not isinstance(ancestor, cst.IfExp):
                    return False
            elif isinstance(ancestor, cst.Assign):
                targets = [t.target for t in ancestor.targets]
                return all(isinstance(t, cst.Name) for t in targets) and any(
                    t.value in self._tested_names(loop) for t in targets)
            elif isinstance(ancestor, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
                return False
        return False

    def _tested_names(self, loop) -> Set[str]:
        """Names read by the `if`/`while` tests of the step loop's body and of the helper being walked."""
        scopes = [loop.node] + [a for a in self.semantic.ancestors if isinstance(a, cst.FunctionDef)][-1:]
        names: Set[str] = set()
        for scope in scopes:
            found = self._tested.get(id(scope))
            if found is None:
                found = self._tested[id(scope)] = names_tested_in(scope)
            names |= found
        return names

    def _because(self, value: cst.BaseExpression, facts: Facts, why: Optional[Evidence] = None) -> str:
        return because(self.context, value, facts, why)

    def _shown(self, receiver: cst.BaseExpression, suffix: str) -> str:
        return shown_code(self.context, receiver, suffix)

    def _report(self, rule: Type[Rule], node: cst.CSTNode, message: str, fix: Optional[Fix] = None) -> None:
        if self.wants(rule) and not off_normal_path(self.semantic.ancestors):
            self.report(rule, node, message, fix)

    def _is_builtin(self, name: str) -> bool:
        frame = self.semantic.frame
        return hasattr(builtins, name) and name not in frame.env and name not in frame.globals \
            and name not in self.semantic.imports.names

    def _code(self, node: cst.CSTNode) -> str:
        return self.context.code(node)
