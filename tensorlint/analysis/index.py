"""One light pass over a module, before the flow walk: where its functions are, and *use-based evidence*.

A value's provenance usually comes from where it was made, but real code hides that behind unknown calls
(`loss = crit(out, y)`). What the code later does with the value tells as much: only a tensor has
`.backward()`, `.detach()`, `.requires_grad`, `.grad`, `.is_cuda`. Such a use is evidence about the
*binding* the name had at that point, so it holds for the binding's whole live range, before the use as
well as after it. The walker (semantic.py) applies it where it binds the name; it only strengthens what
is unknown (a value known not to be a tensor, or known not to require grad, keeps its facts).

Bindings are told apart in source order: a use belongs to the latest binding of the name above it in the
same function (a loop-carried use belongs to the binding before the loop, as at the loop's first step).
Evidence also crosses same-file calls: `def step(loss): loss.backward()` makes the caller's argument a
tensor that requires grad, as if the caller had called `.backward()` itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Set, Tuple

import libcst as cst

from tensorlint.analysis.facts import MAYBE, NO, YES, Evidence, Facts
from tensorlint.analysis.imports import dotted_name
from tensorlint.analysis.loops import innermost_iterable, is_step_call, iterates_steps
from tensorlint.analysis.scope import functions_defined_once
from tensorlint.analysis.torch_api import TENSOR_ONLY_METHODS
from tensorlint.analysis.walk import children

# (id of what binds the name: its statement, or the function for a parameter; the name or dotted path)
BindingKey = Tuple[int, str]

# What a use proves: the value is a tensor, and (for backward) one that requires grad.
A_TENSOR = Facts(tensor=YES, grad=MAYBE, device=MAYBE)
A_GRAD_TENSOR = Facts(tensor=YES, grad=YES, device=MAYBE,
                      grad_why=Evidence("is used as a tensor that requires grad (`.grad`, `retain_grad()`, a hook)"))
A_BACKWARD = Facts(tensor=YES, grad=YES, device=MAYBE, grad_why=Evidence("is back-propagated (`.backward()`)"))
# `.numpy()` is no proof: result wrappers and other libraries' tensors have it too.
A_NUMPY_USE = Facts(tensor=YES, grad=MAYBE, device=MAYBE, guessed=True)
A_BACKWARD_ITEMS = Facts(tensor=NO, grad=NO, device=NO, items=A_BACKWARD)
# (`requires_grad_()` and `.cuda()` are not evidence: modules have them too.)
_EVIDENT_METHODS = {**{name: A_TENSOR for name in TENSOR_ONLY_METHODS},
                    "retain_grad": A_GRAD_TENSOR, "register_hook": A_GRAD_TENSOR}
_EVIDENT_ATTRIBUTES = {"requires_grad": A_TENSOR, "is_cuda": A_TENSOR, "grad_fn": A_TENSOR, "is_leaf": A_TENSOR,
                       "grad": A_GRAD_TENSOR}
# Objects whose `.backward(loss)` takes the loss as argument: `accelerator.backward(loss)`, `fabric.backward(loss)`.
_BACKWARD_DRIVERS = frozenset({"accelerator", "fabric", "engine", "model_engine", "deepspeed", "autograd", "strategy",
                               "trainer", "precision", "amp"})
# `(loss / accumulation).backward()`, `loss.mean().backward()`, `scaler.scale(loss).backward()`: the name is the tensor.
_SCALING_OPERATORS = (cst.Divide, cst.Multiply)
_REDUCTIONS = frozenset({"mean", "sum", "float", "double", "squeeze"})
_SCALE_CALLS = frozenset({"scale", "scale_loss"})
_OWN_SCOPES = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp, cst.Lambda)


@dataclass
class FunctionIndex:
    node: cst.FunctionDef = field(repr=False)
    params: Tuple[str, ...]
    # Its own body calls `.backward()` or steps an optimizer, once per call (not in a loop of its own: a
    # function that loops over steps itself, `train(epochs)`, is not one step of its caller's loop).
    performs_step: bool = False
    returns_value: bool = False
    is_generator: bool = False
    raises: bool = False           # `raise NotImplementedError`: without a value return, an abstract method
    # The bindings it returns (`return loss`, `return {"loss": loss}`): a framework may back-propagate them.
    returned: List[BindingKey] = field(default_factory=list)
    # Calls by plain name with Name arguments: (callee, {argument position or keyword: binding key}).
    calls: List[Tuple[str, Dict[object, BindingKey]]] = field(default_factory=list)
    # Functions it calls once per call (`helper(...)`, `self.method(...)`, outside loops of its own): a
    # function whose helper does the step does the step too. (name, called on `self`)
    once_calls: List[Tuple[str, bool]] = field(default_factory=list)
    # Names it trains (a module's `.train()`, `.zero_grad()`, its `.parameters()` handed to an optimizer or a
    # clipper), or "" when its body back-propagates (`.backward()`, loops included): evidence that a model it is
    # given has parameters that require grad, which the parameter's name alone is not.
    trains: Set[str] = field(default_factory=set)
    # The methods of its class, for a method (so that `self.train_step(...)` can be resolved).
    class_methods: Optional[Dict[str, "FunctionIndex"]] = field(default=None, repr=False)


class FileIndex:
    """Functions, methods and use-based evidence of one module."""

    def __init__(self, module: cst.Module, numpy_is_torch: bool = True, uses_prove_torch: bool = True) -> None:
        self.functions: Dict[int, FunctionIndex] = {}          # by id of the FunctionDef
        self.module_functions: Dict[str, FunctionIndex] = {}   # defined at module level
        self.methods: Dict[int, Dict[str, FunctionIndex]] = {}  # by id of the ClassDef
        self.evidence: Dict[BindingKey, Facts] = {}
        # Bindings that reach one use together (`if a: loss = f() else: loss = g()` then `loss.backward()`):
        # evidence about one is evidence about each (the use would fail on a path where it was not a tensor).
        self.joined: Dict[BindingKey, Set[BindingKey]] = {}
        # Names bound to a loader (`pbar = tqdm(train_loader)`), and the loops iterating over one of them.
        self.loader_bindings: Set[BindingKey] = set()
        self.loader_loops: Set[int] = set()
        # `backwards = partial(loss_backwards, fp16)`: (id of the enclosing function or 0, name) → (callee name,
        # positional arguments bound, keywords bound).
        self.partials: Dict[Tuple[int, str], Tuple[str, int, Tuple[str, ...]]] = {}
        # Module-level type aliases: `NamedParameter = Tuple[str, torch.Tensor]`.
        self.type_aliases: Dict[str, cst.BaseExpression] = {}
        # `loss = cls_loss + 0.5 * reg_loss`: the bindings summed into a binding; `.item()` receivers; and
        # the bindings `.backward()` is called on. A term of a backpropagated sum that also has `.item()`
        # called on it is a tensor in the graph (a Python number has no `.item()`).
        self.sum_terms: Dict[BindingKey, List[BindingKey]] = {}
        self.item_uses: Set[BindingKey] = set()
        self.backward_keys: Set[BindingKey] = set()
        self._module = module
        self._defined_once: Optional[FrozenSet[str]] = None  # computed when first asked (most files never are)
        _Scanner(self, numpy_is_torch, uses_prove_torch).scan(module)
        self._evidence_through_sums()
        self._evidence_through_calls()
        self._steps_through_calls()

    def defined_once(self, name: str) -> bool:
        """Whether `name` is a module-level function the file binds in no other way (analysis/scope.py)."""
        if self._defined_once is None:
            self._defined_once = functions_defined_once(self._module)
        return name in self._defined_once

    def method(self, cls: Optional[cst.ClassDef], name: str) -> Optional[FunctionIndex]:
        return self.methods.get(id(cls), {}).get(name) if cls is not None else None

    def add(self, key: Optional[BindingKey], facts: Facts) -> bool:
        """Record evidence about a binding and every binding joined with it; True when it says more than was known."""
        if key is None:
            return False
        changed, pending, seen = False, [key], {key}
        while pending:
            current = pending.pop()
            changed = self._add_one(current, facts) or changed
            for other in self.joined.get(current, ()):
                if other not in seen:
                    seen.add(other)
                    pending.append(other)
        return changed

    def _add_one(self, key: BindingKey, facts: Facts) -> bool:
        known = self.evidence.get(key)
        stronger = facts if known is None else Facts(tensor=max(known.tensor, facts.tensor),
                                                     grad=max(known.grad, facts.grad), device=MAYBE,
                                                     items=known.items or facts.items,
                                                     grad_why=known.grad_why or facts.grad_why,
                                                     guessed=known.guessed and facts.guessed)
        self.evidence[key] = stronger
        return stronger != known

    def _evidence_through_sums(self) -> None:
        pending, seen = list(self.backward_keys), set(self.backward_keys)
        while pending:
            for term in self.sum_terms.get(pending.pop(), ()):
                if term in seen:
                    continue
                seen.add(term)
                pending.append(term)
                if term in self.item_uses:
                    self.add(term, A_BACKWARD)

    def _steps_through_calls(self) -> None:
        """`def train_step(b): loss = compute(b); self._backward(loss)` does the step through its helper."""
        changed = True
        while changed:
            changed = False
            for function in self.functions.values():
                if function.performs_step:
                    continue
                for name, on_self in function.once_calls:
                    table = function.class_methods if on_self else self.module_functions
                    callee = table.get(name) if table is not None else None
                    if callee is not None and callee is not function and callee.performs_step:
                        function.performs_step = changed = True
                        break

    def _evidence_through_calls(self) -> None:
        """A same-file call's Name arguments get the evidence the callee has about its parameters (a second
        round reaches the caller of a caller)."""
        for _ in range(2):
            changed = False
            for function in self.functions.values():
                for callee_name, arguments in function.calls:
                    callee = self.module_functions.get(callee_name)
                    if callee is None:
                        continue
                    for slot, key in arguments.items():
                        param = callee.params[slot] if isinstance(slot, int) and slot < len(callee.params) else slot
                        found = self.evidence.get((id(callee.node), param)) if isinstance(param, str) else None
                        if found is not None:
                            changed = self.add(key, found) or changed
            if not changed:
                return


_TRAINING_METHODS = frozenset({"train", "zero_grad"})


def _note_training(node: cst.Call, trains: Set[str]) -> None:
    """`model.train()`, `model.zero_grad()`, `Adam(model.parameters())`, `loss.backward()`: what they train."""
    func = node.func
    if isinstance(func, cst.Attribute):
        if func.attr.value in ("backward", "manual_backward"):
            trains.add("")
        elif func.attr.value in _TRAINING_METHODS and not node.args and dotted_name(func.value):
            trains.add(dotted_name(func.value))  # (`model.train(False)` is `.eval()`: arguments are left out)
    for arg in node.args:
        value = arg.value
        if (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and not value.args
                and value.func.attr.value in ("parameters", "named_parameters") and dotted_name(value.func.value)):
            trains.add(dotted_name(value.func.value))


def apply_evidence(value: Facts, evidence: Optional[Facts]) -> Facts:
    """Strengthen what is unknown about a value with what its uses prove; known facts stay."""
    if evidence is not None and evidence.items is not None and value.items is not None:
        # `losses[-1].backward()`, `out["loss"].backward()`: what the container holds
        return value.with_(items=apply_evidence(value.items, evidence.items))
    if evidence is None or value.tensor is NO or value.items is not None or value.module is YES:
        return value
    # a tensor-only use (`.detach()`) proves a torch tensor; a `.numpy()` use proves nothing of the kind
    guessed = evidence.guessed and (value.guessed or value.tensor is not YES)
    if value.grad is not MAYBE:
        return value.with_(tensor=YES, module=NO, guessed=guessed)
    return value.with_(tensor=YES, grad=evidence.grad, module=NO, grad_why=value.grad_why or evidence.grad_why,
                       guessed=guessed)


class _Scope:
    """The bindings in force, in source order, in one function, class body or module."""

    def __init__(self, function: Optional[FunctionIndex] = None, methods: Optional[Dict[str, FunctionIndex]] = None):
        self.function = function
        self.methods = methods  # set for a class body
        self.current: Dict[str, BindingKey] = {}
        self.loop_depth = 0

    def bind(self, name: str, owner: cst.CSTNode) -> None:
        self.current[name] = (id(owner), name)


class _Scanner:
    def __init__(self, index: FileIndex, numpy_is_torch: bool, uses_prove_torch: bool = True) -> None:
        self.index = index
        self.numpy_is_torch = numpy_is_torch
        # chainer's Variable has `.backward()`, `.grad`, `.data` and `requires_grad` too: in a file that imports
        # it, a use shows a tensor-like value, not a torch tensor
        self.uses_prove_torch = uses_prove_torch
        self.scopes: List[_Scope] = []
        self.dispatch_depth = 0  # inside an arm of `if isinstance(x, ...)` / `if output_type == "pt"`

    def evidence(self, key: Optional[BindingKey], facts: Facts) -> None:
        """A use inside one arm of a type or format dispatch proves nothing about the value in the other arms
        (`if output_type == "pt": video.cpu()` says nothing of the frames of a PIL `video`)."""
        if self.dispatch_depth:
            return
        if not self.uses_prove_torch:
            facts = facts.with_(guessed=True, items=facts.items.with_(guessed=True) if facts.items else None)
        self.index.add(key, facts)

    def scan(self, module: cst.Module) -> None:
        self.scopes.append(_Scope())
        for statement in module.body:
            self.node(statement)
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if (isinstance(small, cst.Assign) and len(small.targets) == 1
                            and isinstance(small.targets[0].target, cst.Name) and _is_type_expression(small.value)):
                        self.index.type_aliases[small.targets[0].target.value] = small.value

    def node(self, node: cst.CSTNode) -> None:
        kind = type(node)
        if kind is cst.FunctionDef:
            self.function(node)
        elif kind is cst.ClassDef:
            self.class_def(node)
        elif kind is cst.Assign:
            self.node(node.value)
            terms = [self.key_of(term) for term in _sum_terms(node.value)]
            for target in node.targets:
                self.targets(target.target, node)
                if terms and isinstance(target.target, cst.Name):
                    self.index.sum_terms[(id(node), target.target.value)] = [t for t in terms if t is not None]
                if isinstance(node.value, cst.Call) and iterates_steps(node.value):
                    self.index.loader_bindings.update(self.key_of(t) for t in _names_of(target.target))
                if isinstance(target.target, cst.Name) and _is_partial(node.value):
                    function = self.scopes[-1].function
                    call = node.value
                    bound = tuple(a.keyword.value for a in call.args[1:] if a.keyword is not None)
                    self.index.partials[(id(function.node) if function else 0, target.target.value)] = (
                        call.args[0].value.value, sum(1 for a in call.args[1:] if a.keyword is None), bound)
        elif kind is cst.AnnAssign or kind is cst.AugAssign or kind is cst.NamedExpr:
            if node.value is not None:
                self.node(node.value)
            terms = []
            if kind is cst.AugAssign and isinstance(node.operator, (cst.AddAssign, cst.SubtractAssign)):
                terms = [self.key_of(node.target)] + [self.key_of(term) for term in _sum_terms(node.value)]
            self.targets(node.target, node)
            if terms and isinstance(node.target, cst.Name):
                self.index.sum_terms[(id(node), node.target.value)] = [t for t in terms if t is not None]
        elif kind is cst.For:
            self.node(node.iter)
            if self.key_of(innermost_iterable(node.iter)) in self.index.loader_bindings:
                self.index.loader_loops.add(id(node))
            self.targets(node.target, node)
            self.scopes[-1].loop_depth += 1
            self.node(node.body)
            self.scopes[-1].loop_depth -= 1
            if node.orelse is not None:
                self.node(node.orelse)
        elif kind is cst.While:
            self.node(node.test)
            self.scopes[-1].loop_depth += 1
            self.node(node.body)
            self.scopes[-1].loop_depth -= 1
            if node.orelse is not None:
                self.node(node.orelse)
        elif kind is cst.If:
            self.node(node.test)
            dispatch = is_dispatch(node.test)
            self.dispatch_depth += dispatch
            scope = self.scopes[-1]
            before = dict(scope.current)
            self.node(node.body)
            after_body = scope.current
            if node.orelse is not None:
                scope.current = dict(before)  # the other arm starts from the bindings before the `if`
                self.node(node.orelse)
            self.dispatch_depth -= dispatch
            self.join(after_body)
        elif kind is cst.WithItem:
            self.node(node.item)
            if node.asname is not None:
                self.targets(node.asname.name, node)
        elif kind not in _OWN_SCOPES:  # names inside a comprehension or lambda are not the function's
            if kind is cst.Call:
                self.call(node)
            elif kind is cst.Attribute:
                found = _EVIDENT_ATTRIBUTES.get(node.attr.value)
                if found is not None:
                    self.evidence(self.key_of(node.value), found)
            elif kind is cst.Return and node.value is not None and self.scopes[-1].function is not None:
                self.scopes[-1].function.returns_value = True
                value = node.value
                if isinstance(value, cst.Dict):
                    value = next((e.value for e in value.elements if isinstance(e, cst.DictElement)
                                  and isinstance(e.key, cst.SimpleString) and e.key.value[1:-1] == "loss"), None)
                key = self.key_of(value) if isinstance(value, cst.Name) else None
                if key is not None:
                    self.scopes[-1].function.returned.append(key)
            elif kind is cst.Yield and self.scopes[-1].function is not None:
                self.scopes[-1].function.is_generator = True
            elif kind is cst.Raise and self.scopes[-1].function is not None:
                self.scopes[-1].function.raises = True
            for child in children(node):
                self.node(child)

    # -- scopes ---------------------------------------------------------------------------------
    def function(self, node: cst.FunctionDef) -> None:
        for decorator in node.decorators:
            self.node(decorator)
        params = node.params
        ordered = [*params.posonly_params, *params.params, *params.kwonly_params]
        entry = FunctionIndex(node, tuple(p.name.value for p in ordered))
        self.index.functions[id(node)] = entry
        outer = self.scopes[-1]
        if outer.methods is not None:
            outer.methods.setdefault(node.name.value, entry)
            entry.class_methods = outer.methods
        elif len(self.scopes) == 1:
            self.index.module_functions.setdefault(node.name.value, entry)
        for param in ordered:
            if param.default is not None:
                self.node(param.default)
        scope = _Scope(entry)
        for param in [*ordered, params.star_arg, params.star_kwarg]:
            if isinstance(param, cst.Param):
                scope.bind(param.name.value, node)
        self.scopes.append(scope)
        self.node(node.body)
        self.scopes.pop()
        outer.bind(node.name.value, node)

    def class_def(self, node: cst.ClassDef) -> None:
        for decorator in node.decorators:
            self.node(decorator)
        for base in node.bases:
            self.node(base)
        methods: Dict[str, FunctionIndex] = {}
        self.index.methods[id(node)] = methods
        self.scopes.append(_Scope(methods=methods))
        self.node(node.body)
        self.scopes.pop()
        self.scopes[-1].bind(node.name.value, node)

    def targets(self, target: cst.BaseExpression, owner: cst.CSTNode) -> None:
        for name in bound_names(target):
            self.scopes[-1].bind(name, owner)
        if not isinstance(target, cst.Name):
            self.node(target)  # `a[i] = v`, `self.x = v`: they read `a`, `i`, `self`

    # -- uses that are evidence -----------------------------------------------------------------
    def join(self, other_arm: Dict[str, BindingKey]) -> None:
        """After two arms: a name bound differently in them has two bindings reaching what follows."""
        current = self.scopes[-1].current
        for name, key in other_arm.items():
            mine = current.get(name)
            if mine is None:
                current[name] = key
            elif mine != key:
                self.index.joined.setdefault(mine, set()).add(key)
                self.index.joined.setdefault(key, set()).add(mine)

    def key_of(self, expression: cst.BaseExpression) -> Optional[BindingKey]:
        path = dotted_name(expression)
        if path is None or path in ("self", "cls"):  # `self.grad` is an attribute of the object, not a tensor's
            return None
        return self.scopes[-1].current.get(path)

    def call(self, node: cst.Call) -> None:
        func = node.func
        function = self.scopes[-1].function
        if function is not None and self.scopes[-1].loop_depth == 0:
            if is_step_call(node):
                function.performs_step = True
            elif isinstance(func, cst.Name):
                function.once_calls.append((func.value, False))
            elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
                function.once_calls.append((func.attr.value, True))
        if function is not None:
            _note_training(node, function.trains)
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method in ("backward", "manual_backward"):
                driver = method == "manual_backward" or drives_backward(func.value)
                receiver = (node.args[0].value if node.args else None) if driver else func.value
                receiver = _evident_receiver(receiver) if receiver is not None else None
                key = self.key_of(receiver) if receiver is not None else None
                if key is not None:
                    self.evidence(key, A_BACKWARD)
                    self.index.backward_keys.add(key)
                elif isinstance(receiver, cst.Subscript):  # `losses[-1].backward()`, `out["loss"].backward()`
                    self.evidence(self.key_of(receiver.value), A_BACKWARD_ITEMS)
            elif method in _EVIDENT_METHODS:
                self.evidence(self.key_of(func.value), _EVIDENT_METHODS[method])
            elif method == "numpy" and self.numpy_is_torch:
                self.evidence(self.key_of(func.value), A_NUMPY_USE)
            elif method == "item" and not node.args:
                key = self.key_of(func.value)
                if key is not None:
                    self.index.item_uses.add(key)
        elif isinstance(func, cst.Name) and function is not None:
            arguments: Dict[object, BindingKey] = {}
            for position, arg in enumerate(node.args):
                key = self.key_of(arg.value) if isinstance(arg.value, cst.Name) and not arg.star else None
                if key is not None:
                    arguments[arg.keyword.value if arg.keyword is not None else position] = key
            if arguments:
                function.calls.append((func.value, arguments))


def is_dispatch(test: cst.BaseExpression) -> bool:
    """`isinstance(x, T)`, `is_torch_tensor(x)`, `hasattr(x, "a")`, `kind == "pt"`, `fmt in ("np", "pt")`, and
    those under `not`/`and`/`or`: a test that picks an arm by what a value is."""
    if isinstance(test, cst.UnaryOperation):
        return is_dispatch(test.expression)
    if isinstance(test, cst.BooleanOperation):
        return is_dispatch(test.left) or is_dispatch(test.right)
    if isinstance(test, cst.Call):
        name = (dotted_name(test.func) or "").rsplit(".", 1)[-1]
        return name in ("isinstance", "hasattr", "callable") or (name.startswith("is_") and name != "is_available")
    if isinstance(test, cst.Comparison):
        return any(isinstance(c.comparator, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString))
                   or isinstance(c.comparator, (cst.Tuple, cst.List, cst.Set)) and any(
                       isinstance(e.value, cst.SimpleString) for e in c.comparator.elements)
                   for c in test.comparisons)
    return False


def _is_partial(value: cst.BaseExpression) -> bool:
    return (isinstance(value, cst.Call) and dotted_name(value.func) in ("partial", "functools.partial")
            and bool(value.args) and isinstance(value.args[0].value, cst.Name) and not any(a.star for a in value.args))


_GENERICS = frozenset({"Tuple", "List", "Dict", "Optional", "Union", "Sequence", "Iterable", "Iterator", "Mapping"})


def _is_type_expression(value: cst.BaseExpression) -> bool:
    """`Tuple[str, torch.Tensor]`, `Optional[Tensor]`, `Tensor | None`: what a type alias is assigned."""
    if isinstance(value, cst.Subscript):
        return (dotted_name(value.value) or "").rsplit(".", 1)[-1] in _GENERICS
    return isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.BitOr) and (
        _is_type_expression(value.left) or _is_type_expression(value.right))


def drives_backward(owner: cst.BaseExpression) -> bool:
    """`accelerator`, `fabric`, `model_engine`: objects whose `.backward(loss)` backpropagates its argument."""
    name = (dotted_name(owner) or "").rsplit(".", 1)[-1].lower()
    return name in _BACKWARD_DRIVERS or name.endswith("accelerator")


def _evident_receiver(expression: cst.BaseExpression) -> cst.BaseExpression:
    """The name a `.backward()` proves things about: `loss` in `(loss / n)`, `loss.mean()`, `scaler.scale(loss)`."""
    while True:
        if isinstance(expression, cst.BinaryOperation) and isinstance(expression.operator, _SCALING_OPERATORS):
            expression = expression.left
        elif isinstance(expression, cst.Call) and isinstance(expression.func, cst.Attribute) and (
                expression.func.attr.value in _REDUCTIONS and not expression.args):
            expression = expression.func.value
        elif isinstance(expression, cst.Call) and isinstance(expression.func, cst.Attribute) and (
                expression.func.attr.value in _SCALE_CALLS and expression.args):
            expression = expression.args[0].value
        else:
            return expression


def _sum_terms(value: cst.BaseExpression) -> List[cst.Name]:
    """The names added up in `a + w * b - c` (each product's names too); [] for anything else."""
    if isinstance(value, cst.UnaryOperation) and isinstance(value.operator, cst.Minus):
        return _sum_terms(value.expression)
    if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, (cst.Add, cst.Subtract, cst.Multiply,
                                                                              cst.Divide)):
        return _sum_terms(value.left) + _sum_terms(value.right)
    return [value] if isinstance(value, cst.Name) else []


def _names_of(target: cst.BaseExpression) -> List[cst.BaseExpression]:
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for element in target.elements for name in _names_of(element.value)]
    return [target] if isinstance(target, (cst.Name, cst.Attribute)) else []


def bound_names(target: cst.BaseExpression) -> List[str]:
    """Names and dotted paths a target binds: `a`, `self.x`, each of `a, (b, *c)`."""
    if isinstance(target, (cst.Name, cst.Attribute)):
        path = dotted_name(target)
        return [path] if path is not None else []
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for element in target.elements for name in bound_names(element.value)]
    if isinstance(target, cst.StarredElement):
        return bound_names(target.value)
    return []
