"""Step loops (a body that runs once per training/evaluation/generation step) and periodic guards.

A loop is a *step loop* only on evidence: its own body (not nested functions, not nested loops,
which are judged on their own) calls `.backward()` or an optimizer/scaler `.step(...)`, or calls a
same-file/project helper that does; or it calls a model over the batches of a data loader (`for x
in loader`, `tqdm(train_loader)`, any progress bar but a count); or it calls a model in a
`range(...)`/`while` loop (generation). A method of the same object that calls its model once per call
(`self.batch_loss(batch)`) is a model call (Semantic.loop_info).
A call counts as a model call when its callee (or, over batches, a name it is given or its receiver:
`fast_adapt(model, batch)`, `model.loss(batch)`) may be a module and is not named like a layer
(`linear = F.linear` in a loop over experts, `self.proj(h)`, `block(x)`): those walk a model's
parts, they do not step it. An epoch loop that calls `train(...)` is not one, nor a loop over constants
written in the code (`for name in ["a.xyz", "b.xyz"]`: a few cases, `fixed_cases`). A *periodic guard*
is an `if` whose body runs only some steps: a modulo test (`step % N == 0`), a test naming
logging/interval/last-step knobs, or an equality with a literal (`i == 0`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, List, Optional

import libcst as cst

from tensorlint.analysis.imports import dotted_name
from tensorlint.analysis.step_names import PROGRESS_BARS, is_loader_name, name_tokens
from tensorlint.analysis.torch_api import TORCH_NON_TENSOR_FUNCTIONS, TORCH_OPAQUE_NAMESPACES
from tensorlint.analysis.walk import walk

_OPTIMIZER_TOKENS = frozenset({"optim", "optimizer", "optimiser", "opt", "scaler", "optimizers", "optim_g", "optim_d"})
_GUARD_TOKENS = frozenset({
    "log", "logging", "every", "interval", "freq", "frequency", "period", "periodic", "last", "verbose",
    "print", "display", "report", "debug", "eval", "evaluate", "validate", "validation", "save",
    "checkpoint", "ckpt", "first", "final", "should", "summary", "visualize", "vis", "plot",
})
_TIMING_CALLS = frozenset({"perf_counter", "perf_counter_ns", "time", "time_ns", "monotonic", "monotonic_ns",
                           "process_time", "elapsed_time"})
# The last name token of a callee that calls a part of a model, not a model (a loop over layers or experts).
_LAYER_TOKENS = frozenset({
    "linear", "layer", "layers", "fc", "conv", "proj", "projection", "attn", "attention", "block", "blocks", "head",
    "heads", "embedding", "embed", "mlp", "expert", "experts", "lstm", "gru", "rnn", "cell", "norm", "ffn", "dense",
    "gate", "router", "bmm", "matmul", "einsum",
})
_ITERATION_WRAPPERS = frozenset({"enumerate", "tqdm", "trange", "iter", "zip", "islice", "cycle", "track", "progress",
                                 "progress_bar"})


@dataclass(frozen=True)
class LoopInfo:
    node: cst.CSTNode = field(repr=False)
    is_step: bool
    is_timing: bool
    # A training loop (it does a backward/optimizer step) or a loop over a data loader, as opposed to a
    # generation/simulation loop over `range`/`while`: only there do kept graphs pile up unused (generation
    # runs under `no_grad` in practice, which a caller may set where this file cannot see it).
    trains_or_reads_data: bool = False
    # A framework's per-step method (analysis/step_hooks.py) whose framework places the step's values on the
    # accelerator: its placement is evidence of a sync's cost there.
    placed_by: str = ""
    # A loop over data that does no training step (inference, evaluation, export): what it computes each
    # step is its output, so a host copy its iteration writes out is needed there (see rules/sync/syntax.py, `written_out`).
    inference_only: bool = False


class _Evidence(cst.CSTVisitor):
    """What a loop body does directly: steps an optimizer, calls backward, reads a clock, calls things."""

    def __init__(self) -> None:
        super().__init__()
        self.steps = False
        self.timing = False
        self.calls: List[cst.Call] = []

    def visit_FunctionDef(self, node) -> bool:
        return False

    visit_ClassDef = visit_Lambda = visit_For = visit_While = visit_FunctionDef

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)
        if is_step_call(node):
            self.steps = True
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _TIMING_CALLS and (
                dotted_name(func.value) in ("time", "timeit") or func.attr.value == "elapsed_time"):
            self.timing = True


def is_step_call(node: cst.Call) -> bool:
    """`loss.backward()`, `accelerator.backward(loss)`, `self.manual_backward(loss)`, `optimizer.step()`,
    `scaler.step(opt)`: a call that does a training step's work."""
    func = node.func
    if not isinstance(func, cst.Attribute):
        return False
    name = func.attr.value
    if name in ("backward", "manual_backward"):
        return True
    owner = dotted_name(func.value) or ""
    return name == "step" and bool(set(name_tokens(owner.rsplit(".", 1)[-1])) & _OPTIMIZER_TOKENS)


def classify_loop(node: cst.CSTNode, calls_a_model: Callable[[cst.Call], bool], model_calls_count: bool = True,
                  calls_a_step_helper: Callable[[cst.Call], bool] = lambda call: False,
                  iterates_a_loader: bool = False, fixed: bool = False) -> LoopInfo:
    """`calls_a_model`: may the callee of a call be a module? (only calls not named like a layer are asked)
    `calls_a_step_helper`: does a call run a helper that does the step (`self.training_step(b)`)?
    `iterates_a_loader`: is the iterable a name bound to a loader (`pbar = tqdm(loader)`)?
    `fixed`: does the loop iterate over constants written in the code (`fixed_cases`)?"""
    evidence = _Evidence()
    if isinstance(node, cst.While):
        walk(node.test, evidence)
    walk(node.body, evidence)
    if fixed:  # a handful of cases written in the code, not steps
        return LoopInfo(node, False, evidence.timing)
    if evidence.steps or any(calls_a_step_helper(call) for call in evidence.calls):
        return LoopInfo(node, True, evidence.timing, trains_or_reads_data=True)
    if not model_calls_count:  # (inside a module's own methods a loop calling submodules walks layers, not steps)
        return LoopInfo(node, False, evidence.timing)
    over_data = isinstance(node, cst.For) and (iterates_a_loader or iterates_data(node.iter))
    # over batches, a helper given the model runs it (`fast_adapt(model, batch)`); over a count, it is an
    # epoch loop calling `train(model, ...)`
    candidates = evidence.calls + _model_arguments(evidence.calls) if over_data else evidence.calls
    if not any(not calls_a_layer(call) and calls_a_model(call) for call in candidates):
        return LoopInfo(node, False, evidence.timing)
    if over_data:
        return LoopInfo(node, True, evidence.timing, trains_or_reads_data=True, inference_only=True)
    per_step_iteration = isinstance(node, cst.While) or (isinstance(node, cst.For) and iterates_steps(node.iter))
    return LoopInfo(node, per_step_iteration, evidence.timing, inference_only=per_step_iteration)


def fixed_cases(iterable: cst.BaseExpression, scope: cst.CSTNode) -> bool:
    """`for file in ["small.xyz", "1hz5.xyz"]`, or over a name that `scope` binds only to such a display and
    never changes: the loop runs the few cases its code spells out (a test over fixture files, a sweep
    over two learning rates), so one of its iterations is not a step of a long loop."""
    inner = innermost_iterable(iterable)
    if isinstance(inner, (cst.List, cst.Tuple, cst.Set)):
        return _constants(inner)
    if not isinstance(inner, cst.Name):
        return False
    name, bound, other = inner.value, [], False

    class Finder(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            nonlocal other
            for target in node.targets:
                if isinstance(target.target, cst.Name) and target.target.value == name:
                    bound.append(node.value)
                elif name in _names(target.target):
                    other = True

        def visit_AugAssign(self, node) -> None:  # (and `x: T = ...`, `for x in ...`)
            nonlocal other
            other = other or name in _names(node.target)

        visit_AnnAssign = visit_For = visit_AugAssign

        def visit_AsName(self, node: cst.AsName) -> None:
            nonlocal other
            other = other or name in _names(node.name)

        def visit_Call(self, node: cst.Call) -> None:  # `files.append(...)`: more cases than the display
            nonlocal other
            other = other or isinstance(node.func, cst.Attribute) and dotted_name(node.func.value) == name

        def visit_Param(self, node: cst.Param) -> None:  # (a parameter's value is the caller's)
            nonlocal other
            other = other or node.name.value == name

        def visit_Global(self, node) -> None:
            nonlocal other
            other = True

        visit_Nonlocal = visit_Global

    walk(scope, Finder())
    return bool(bound) and not other and all(isinstance(v, (cst.List, cst.Tuple, cst.Set)) and _constants(v)
                                             for v in bound)


def _constants(display: cst.BaseExpression) -> bool:
    """A display of literals (strings, numbers, `None`/`True`/`False`, nested displays of them)."""
    if isinstance(display, (cst.List, cst.Tuple, cst.Set)):
        return bool(display.elements) and all(not isinstance(e, cst.StarredElement) and _constants(e.value)
                                              for e in display.elements)
    if isinstance(display, cst.UnaryOperation) and isinstance(display.operator, cst.Minus):
        display = display.expression
    if isinstance(display, cst.Name):
        return display.value in ("None", "True", "False")
    return isinstance(display, (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float, cst.Imaginary))


def _names(target: cst.CSTNode) -> set:
    found = set()

    class Finder(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            found.add(node.value)

    walk(target, Finder())
    return found


def _model_arguments(calls: List[cst.Call]) -> List[cst.Call]:
    """`fast_adapt(model, batch)`, `self.forward_labels_and_loss(batch)` in a model's own method: a helper
    given the model (as an argument or as its receiver) runs it. Each such name as a call of it, so that
    `calls_a_model` judges it as it judges a callee."""
    given = [arg.value for call in calls for arg in call.args if not arg.star]
    given += [call.func.value for call in calls if isinstance(call.func, cst.Attribute)]
    return [cst.Call(func=value) for value in given if isinstance(value, (cst.Name, cst.Attribute))]


def calls_a_layer(call: cst.Call) -> bool:
    """`linear(x, w)`, `self.proj(h)`, `block(x)`, `self.layers[i](x)`: a part of a model, not a model."""
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value == "forward":
        func = func.value
    while isinstance(func, cst.Subscript):
        func = func.value
    name = dotted_name(func)
    if name is None:
        return False
    tokens = name_tokens(name.rsplit(".", 1)[-1])
    if len(tokens) > 1 and len(tokens[-1]) == 1:  # `netG`, `layer_i`: a trailing letter is a role
        tokens.pop()
    return bool(tokens) and tokens[-1] in _LAYER_TOKENS


def iterates_steps(iterable: cst.BaseExpression) -> bool:
    """Data (`iterates_data`) or a count of steps: `range(max_new_tokens)`."""
    inner = innermost_iterable(iterable)
    if isinstance(inner, cst.Call) and (dotted_name(inner.func) or "").rsplit(".", 1)[-1] == "range":
        return True
    return iterates_data(iterable)


def iterates_data(iterable: cst.BaseExpression) -> bool:
    """Batches of a data loader: `loader`, `enumerate(train_loader)`, `tqdm(dataloader)`, `DataLoader(...)`,
    `self.get_iterator(dataset)`, `enumerate(pbar := tqdm(loader))`; or anything shown with a progress bar
    (`Tqdm.tqdm(val_generator)`) other than a count (`tqdm(range(n))`): a loop someone watches advance is the
    long one, over the data. Each iteration is a step."""
    if _progress_bar_over_items(iterable):
        return True
    inner = innermost_iterable(iterable)
    if isinstance(inner, cst.Call):
        last = (dotted_name(inner.func) or "").rsplit(".", 1)[-1]
        return last.endswith("DataLoader") or is_loader_name(last)
    name = dotted_name(inner)
    return bool(name) and is_loader_name(name.rsplit(".", 1)[-1])


def _progress_bar_over_items(iterable: cst.BaseExpression) -> bool:
    shown = False
    while True:
        if isinstance(iterable, cst.NamedExpr):
            iterable = iterable.value
        elif isinstance(iterable, cst.Call) and iterable.args and (
                (dotted_name(iterable.func) or "").rsplit(".", 1)[-1] in _ITERATION_WRAPPERS):
            shown = shown or (dotted_name(iterable.func) or "").rsplit(".", 1)[-1] in PROGRESS_BARS
            iterable = iterable.args[0].value
        else:
            counted = isinstance(iterable, (cst.Integer, cst.Call)) and (
                isinstance(iterable, cst.Integer) or (dotted_name(iterable.func) or "").rsplit(".", 1)[-1] == "range")
            return shown and not counted


def innermost_iterable(iterable: cst.BaseExpression) -> cst.BaseExpression:
    """What `enumerate(tqdm(x))`, `zip(x, y)`, `(pbar := tqdm(x))` iterate over: `x`."""
    while True:
        if isinstance(iterable, cst.NamedExpr):
            iterable = iterable.value
        elif isinstance(iterable, cst.Call) and iterable.args and (
                (dotted_name(iterable.func) or "").rsplit(".", 1)[-1] in _ITERATION_WRAPPERS):
            iterable = iterable.args[0].value
        else:
            return iterable


def callees_once(function: cst.FunctionDef) -> List[cst.BaseExpression]:
    """What a function calls once per call: the callees of its calls outside loops of its own, comprehensions
    and nested functions (`self.model` in `def batch_loss(self, batch): return self.model(**batch)["loss"]`)."""
    found: List[cst.BaseExpression] = []

    class Finder(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            found.append(node.func)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is function

        visit_ClassDef = visit_Lambda = visit_For = visit_While = visit_ListComp = visit_GeneratorExp = visit_FunctionDef

    function.visit(Finder())
    return found


def performs_step(body: cst.CSTNode) -> bool:
    """Does this block itself call `.backward()` or step an optimizer (nested loops and functions aside)?"""
    evidence = _Evidence()
    walk(body, evidence)
    return evidence.steps


def is_first_time_guard(node: cst.If) -> bool:
    """`if initial_loss is None: initial_loss = ...`: the body runs until it sets the name, so once."""
    test = node.test
    if not (isinstance(test, cst.Comparison) and len(test.comparisons) == 1
            and isinstance(test.comparisons[0].operator, cst.Is)
            and isinstance(test.comparisons[0].comparator, cst.Name) and test.comparisons[0].comparator.value == "None"):
        return False
    name = dotted_name(test.left)
    if name is None or not isinstance(node.body, cst.IndentedBlock):
        return False
    for line in node.body.body:
        for small in getattr(line, "body", ()) if isinstance(line, cst.SimpleStatementLine) else ():
            if isinstance(small, cst.Assign) and any(dotted_name(t.target) == name for t in small.targets):
                return True
    return False


def guard_kind(test: cst.BaseExpression):
    """"logging" for a test that names logging/interval/last-step knobs (`step % log_every == 0`,
    `self.should_log()`), "schedule" for a bare arithmetic test (`(i + 1) % n_critic == 0`, `i == 0`), else None.
    A schedule whose body does the training step is the step itself (a GAN critic schedule, gradient
    accumulation); a logging guard stays a logging guard whatever its body does."""
    named = arithmetic = False

    class Finder(cst.CSTVisitor):
        def visit_Modulo(self, node) -> None:
            nonlocal arithmetic
            arithmetic = True

        def visit_Name(self, node: cst.Name) -> None:
            nonlocal named
            named = named or bool(set(name_tokens(node.value)) & _GUARD_TOKENS)

        def visit_Comparison(self, node: cst.Comparison) -> None:
            nonlocal arithmetic
            for target in node.comparisons:
                if isinstance(target.operator, cst.Equal) and (
                        isinstance(target.comparator, cst.Integer) or isinstance(node.left, cst.Integer)):
                    arithmetic = True

    walk(test, Finder())
    return "logging" if named else "schedule" if arithmetic else None


def is_mask(index: cst.BaseExpression) -> bool:
    """`x > 0`, `~done`, `(a > 0) & (b < 1)`, `m.bool()`: an index that selects by a boolean tensor."""
    if isinstance(index, cst.Comparison):
        return not any(isinstance(c.operator, (cst.Is, cst.IsNot, cst.In, cst.NotIn)) for c in index.comparisons)
    if isinstance(index, cst.UnaryOperation) and isinstance(index.operator, cst.BitInvert):
        return True
    if isinstance(index, cst.BinaryOperation) and isinstance(index.operator, (cst.BitAnd, cst.BitOr)):
        return is_mask(index.left) or is_mask(index.right)
    return isinstance(index, cst.Call) and isinstance(index.func, cst.Attribute) and index.func.attr.value == "bool"


# -- helpers that wait for the device on every call ------------------------------------------------------
# Methods whose result shape depends on the data: the host waits for the values (FACTS.md §5).
DATA_DEPENDENT = frozenset({"nonzero", "masked_select", "unique", "unique_consecutive", "argwhere"})


def syncs_every_call(function: cst.FunctionDef, calls_a_syncing_helper: Callable[[cst.Call], bool] = lambda call: False,
                     outside_torch: Callable[[cst.BaseExpression], bool] = lambda func: False,
                     makes_tensor: Callable[[cst.BaseExpression], bool] = lambda func: False) -> bool:
    """Does every call of `function` wait for the device, whatever its caller does: `labels.unique()`,
    `torch.nonzero(m)`, boolean-mask indexing (`data[labels == c]`), a check that stops the run on a tensor
    computed from a parameter (`if torch.isnan(loss): raise ...`: the host must have the value before the
    call can return), or a call of a helper that does, in code that runs on each call (not under an `if`,
    in a loop body, an `except` or a nested function; an `if` test itself runs on each call)?
    Such a helper called each step makes one more sync of that step cost nothing (learn2learn's
    `fast_adapt` → `partition_task`, recbole's `_check_nan`). `outside_torch(func)`: is the callee a
    function of another library (`np.unique`, which works on host arrays)? `makes_tensor(func)`: does a
    call of `func` return a tensor (`torch.isnan`)?"""
    found = False
    params = {p.name.value for p in (*function.params.posonly_params, *function.params.params,
                                     *function.params.kwonly_params)} - {"self", "cls"}  # (the caller's values)

    class Finder(cst.CSTVisitor):
        def visit_If(self, node: cst.If) -> bool:
            nonlocal found
            node.test.visit(self)
            if _raises(node) and any(_tensor_of(operand, params, makes_tensor) for operand in _truth_operands(node.test)):
                found = True
            return False

        def visit_While(self, node: cst.While) -> bool:
            node.test.visit(self)
            return False

        def visit_For(self, node: cst.For) -> bool:
            node.iter.visit(self)
            return False

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is function

        def visit_ExceptHandler(self, node) -> bool:
            return False

        visit_ClassDef = visit_Lambda = visit_ExceptStarHandler = visit_ExceptHandler

        def visit_IfExp(self, node: cst.IfExp) -> bool:
            node.test.visit(self)
            return False

        def visit_BooleanOperation(self, node: cst.BooleanOperation) -> bool:
            node.left.visit(self)  # the right operand may not run
            return False

        def visit_Call(self, node: cst.Call) -> None:
            nonlocal found
            func = node.func
            name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(
                func, cst.Name) else None
            if name in DATA_DEPENDENT and not outside_torch(func) or calls_a_syncing_helper(node):
                found = True

        def visit_Subscript(self, node: cst.Subscript) -> None:
            nonlocal found
            if any(isinstance(e.slice, cst.Index) and is_mask(e.slice.value) for e in node.slice):
                found = True

        def visit_Assert(self, node) -> bool:
            return False  # `python -O` drops asserts

        def visit_AssignTarget(self, node) -> bool:
            return False  # `x[mask] = 0` writes through the mask (a masked fill), it reads nothing back

        def visit_ListComp(self, node) -> bool:
            return False  # its body runs once per element, maybe never

        visit_Raise = visit_Assert
        visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_ListComp

    function.visit(Finder())
    return found


def makes_a_tensor(qualified: str) -> bool:
    """`torch.isnan`, `torch.nn.functional.mse_loss`: a torch function whose result is a tensor (as evaluate.py)."""
    if qualified.startswith(TORCH_OPAQUE_NAMESPACES):
        return False
    if qualified.count(".") == 1:
        return qualified.startswith("torch.") and qualified[6:] not in TORCH_NON_TENSOR_FUNCTIONS
    return qualified.startswith(("torch.nn.functional.", "torch.linalg.", "torch.fft.", "torch.special."))


def _raises(node: cst.If) -> bool:
    """`if cond: raise ...`: the body stops the run (a check, kept on purpose, that cannot stay on the device)."""
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else (node.body,)
    return any(isinstance(small, cst.Raise) for line in body
               if isinstance(line, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) for small in line.body)


def _truth_operands(test: cst.BaseExpression):
    """The operands whose truth an `if` takes, through `not`; of `a and b`, only `a` runs on every call."""
    while True:
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            test = test.expression
        elif isinstance(test, cst.BooleanOperation):
            test = test.left
        else:
            yield test
            return


def _tensor_of(operand: cst.BaseExpression, params: set, makes_tensor: Callable[[cst.BaseExpression], bool]) -> bool:
    """`torch.isnan(loss)`, `torch.isfinite(loss).all()`: a tensor made by torch from a parameter."""
    if isinstance(operand, cst.Call) and isinstance(operand.func, cst.Attribute) and not operand.args \
            and operand.func.attr.value in ("any", "all"):
        operand = operand.func.value
    if not (isinstance(operand, cst.Call) and makes_tensor(operand.func)):
        return False
    found = False

    class Reads(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            nonlocal found
            found = found or node.value in params

    for arg in operand.args:
        arg.value.visit(Reads())
    return found


def function_syncs(function, module_functions: dict, qualified: Callable[[cst.BaseExpression], Optional[str]],
                   summary_of: Callable[[str], object], cache: dict) -> bool:
    """`syncs_every_call` of an indexed function (a FunctionIndex), following the helpers it calls: same-file
    functions by name, its class's methods through `self.`, and other modules' functions through their
    summaries (`summary_of(qualified)`, whose `syncs_every_call` says it)."""
    key = id(function.node)
    if key in cache:
        return cache[key]
    cache[key] = False  # a recursive call proves nothing

    def calls_a_syncing_helper(call: cst.Call) -> bool:
        func = call.func
        if isinstance(func, cst.Name) and func.value in module_functions:
            return function_syncs(module_functions[func.value], module_functions, qualified, summary_of, cache)
        if isinstance(func, cst.Attribute) and dotted_name(func.value) == "self" and function.class_methods:
            method = function.class_methods.get(func.attr.value)
            return method is not None and function_syncs(method, module_functions, qualified, summary_of, cache)
        name = qualified(func)
        return name is not None and bool(getattr(summary_of(name), "syncs_every_call", False))

    def outside_torch(func: cst.BaseExpression) -> bool:
        name = qualified(func)
        return name is not None and name.split(".", 1)[0] != "torch"

    def makes_tensor(func: cst.BaseExpression) -> bool:
        name = qualified(func)
        return name is not None and makes_a_tensor(name)

    cache[key] = syncs_every_call(function.node, calls_a_syncing_helper, outside_torch, makes_tensor)
    return cache[key]
