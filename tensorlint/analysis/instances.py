"""What a method of a project class returns, called on an instance the code built from that class.

`self.model = DecoderNetwork(...)` in `__init__`, then `self.model.get_theta(X)` in another method: the walker
knows `self.model` is an instance of `DecoderNetwork` (`Facts.instance_of`), so the call is the class's
`get_theta`, and what it returns is evidence like any other (`F.softmax(...)` of a submodule's output is a
tensor, computed where its input is). Without this the call is unknown and a `.numpy()` on its result guesses.

- A class of the same file: its method is walked with the caller's argument facts (as `self.m(x)` is).
- A class of another module of the project: its summary's return facts, with the grad or device evidence of
  an argument the return is computed from (the summary's *passes*). The argument need only *may* be a tensor
  there: the summary already shows the result is one, computed from it (`X = X.cuda()` under `if use_cuda:`
  leaves `X` a tensor on one path only).

A method the class does not define (nothing in the project says what it returns) leaves the call unknown.

*Calling* an instance (`model(x)`, `resize.forward(x, y)`) runs the class's `__call__` when a class of the
project on its bases defines one, else its `forward` (`instance_call_returns`). Without this, the output of a
module call is guessed to require grad (its parameters do). Where the class's code shows what comes back,
that replaces the guess: an element passed straight through from an argument has the argument's facts, a
value computed from the arguments by parameter-free torch ops has their grad facts, and a value computed by
a submodule or from a parameter that requires grad requires grad. Where its code cannot say (an abstract
`forward`, a return of an unknown call, a class defined outside the project) the guess stands.

A class whose `__init__` freezes every parameter (frozen.py) gives outputs that require grad only where the
call's arguments do, whatever its `forward` computes with its (frozen) parameters (`frozen_output`).
"""
from __future__ import annotations

from typing import Optional

import libcst as cst

from tensorlint.analysis.calls import Callee
from tensorlint.analysis.crossmodule import DEVICE, GRAD, UNINFORMATIVE, bind_arguments, returns_at
from tensorlint.analysis.facts import COMES_FROM, MAYBE, NO, NOTHING, YES, Evidence, Facts
from tensorlint.analysis.frozen import freezes_every_parameter
from tensorlint.analysis.walk import walk


def instance_method_returns(evaluator, class_name: str, name: str, node: cst.Call, frame) -> Optional[Facts]:
    """What `obj.name(...)` returns for `obj` an instance of `class_name` (see `Facts.instance_of`); None when
    the class's code does not say (the method is not found, or the call's arguments cannot be bound)."""
    calls = evaluator.calls
    if calls is None:
        return None
    facts_of = lambda value: evaluator.facts(value, frame)  # noqa: E731 - the evaluator's view in this frame
    if class_name.startswith(":"):
        cls_node = calls.classes_by_name.get(class_name[1:])
        found = calls._method(cls_node, name, depth=0) if cls_node is not None else None
        if found is None:
            return None
        function, owner = found
        callee = Callee(function, calls.class_info(owner), is_method=True)
        arguments = calls.arguments(callee, node, facts_of)
        if arguments is None:
            return None
        return _placed_by_arguments(evaluator, calls.returns(callee, arguments, frame.grad_enabled), node, frame)
    project = evaluator.imports.project
    summary = project.class_(class_name) if project is not None else None
    method = calls._summary_method(summary, name, depth=0) if summary is not None else None
    if method is None or method.returns == UNINFORMATIVE and not method.passes:
        return None
    result = returns_at(method, node)  # (what a call leaving its `None` defaults gets)
    if result.tensor is NO:
        return result  # `-> np.ndarray`, a NumPy result: what it was given does not make it a tensor
    passed = bind_arguments(method.params, node)
    for param, fact in method.passes:
        argument = passed.get(param)
        if argument is None:
            continue
        given = facts_of(argument)
        given = given.tensor_content() or given
        if not given.tensor.possible:
            continue
        if fact == GRAD and given.grad_evidenced:
            result = result.with_(tensor=YES, grad=max(result.grad, given.grad), grad_why=given.grad_why)
        elif fact == DEVICE and given.device_evidenced:
            result = result.with_(tensor=YES, device=max(result.device, given.device), device_why=given.device_why)
    return _placed_by_arguments(evaluator, result, node, frame) if result != UNINFORMATIVE else None


def _placed_by_arguments(evaluator, result: Facts, node: cst.Call, frame) -> Facts:
    """What the method says, at least as much as an unknown call says: a result that may be on a device, with
    nothing in the method showing where, is (if a tensor) on the device of the tensors it was given
    (`adversary.generate(data.to(device))`, whose body moves them to where its model is)."""
    if not result.device.possible or result.device_why is not None:
        return result
    cause = evaluator.argument_evidence(node, frame, "device")
    return result if cause is None else result.with_(device_why=Evidence(COMES_FROM, node, cause))


def instance_call_returns(evaluator, class_name: str, method: Optional[str], node: cst.Call, frame) -> Optional[Facts]:
    """What calling an instance of `class_name` gives, by `__call__` or `forward` (or `method`, for an explicit
    `obj.forward(x)`); None when the class defines neither. Parts it cannot say stay unknown (`filled_by_guess`)."""
    calls = evaluator.calls
    if calls is None:
        return None
    name = method or ("__call__" if _found(evaluator, class_name, "__call__") is not None else "forward")
    found = _found(evaluator, class_name, name)
    if found is None:
        return None
    facts_of = lambda value: evaluator.facts(value, frame)  # noqa: E731 - the evaluator's view in this frame
    if isinstance(found, Callee):
        arguments = calls.arguments(found, node, facts_of)
        if arguments is None:
            return None
        # an argument with no grad evidence is marked, so that what the method hands back from it is told
        # apart from what it cannot say (`return x, y`: `y` is the caller's, with the caller's facts)
        result = calls.returns(found, {p: _marked(f) for p, f in arguments.items()}, frame.grad_enabled)
        if _stores_items(found.function.node):
            result = _unseen_items(result)  # `out[name] = layer(x)`: entries the walk does not follow
    else:
        result = found.returns
        if result.tensor is not NO:
            given = {param: _content(facts_of(argument))
                     for param, argument in bind_arguments(found.params, node).items()}
            result = found.returns_given(given)
            kept = [given[param].grad for param, fact in found.passes if fact == GRAD and param in given]
            if kept and max(kept) is NO and _unknown(result):
                # `return x * 2`: the context-free return knows nothing of `x`, but the result keeps `x`'s grad
                result = result.with_(grad=NO)
    return _placed_by_arguments(evaluator, result, node, frame)


def filled_by_guess(shown: Facts, guess: Facts, whole: bool = True) -> Facts:
    """What the method shows, or the module guess where its code says nothing: for the whole return (an
    unknown call's result), and for a container it returns empty as far as the walk saw (a dict filled by
    `d[k] = v`, which the walk does not follow), and for a tensor it returns whose grad its code cannot say.
    Another element of a tuple, list or dict it builds has what the code shows of it (a value of unknown kind
    from an outside library's call: no evidence either way)."""
    if shown.items is not None or shown.parts is not None:
        items = shown.items
        if items is not None:
            items = guess if items.tensor is NO and items.parts == () else filled_by_guess(items, guess, False)
        parts = tuple(filled_by_guess(p, guess, False) for p in shown.parts) if shown.parts else shown.parts
        return shown.with_(items=items, parts=parts)
    if shown.grad_why is _ARGUMENT or (shown.grad_why is not None and shown.grad_why.cause is _ARGUMENT):
        return shown.with_(grad_why=None)  # the caller's own value, as unknown to it as before the call
    if whole and _unknown(shown) or _unknown_tensor(shown):
        return guess
    return shown


def _unknown_tensor(facts: Facts) -> bool:
    """A tensor whose grad the method's code cannot say (`-> List[Tensor]` alone): the module made it, as far
    as anything shows, so the guess stands for it. A value not known to be a tensor (a label handed on, an
    outside library's result) is not claimed to be the module's output."""
    return facts.tensor is YES and facts.grad is MAYBE and facts.grad_why is None


def _stores_items(function: cst.FunctionDef) -> bool:
    """Does the method store into a container by subscript (`d[k] = v`)? The walk keeps no track of that."""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            nonlocal found
            found = found or isinstance(node.target, cst.Subscript)

    walk(function.body, Finder())
    return found


def _unseen_items(result: Facts) -> Facts:
    """The containers of `result`, as if seen empty: `filled_by_guess` gives them the module guess."""
    if result.items is not None:
        return result.with_(items=NOTHING)
    if result.parts:
        return result.with_(parts=tuple(_unseen_items(p) for p in result.parts))
    return result


# What marks an argument without grad evidence during the walk of the called method.
_ARGUMENT = Evidence("is the caller's argument", from_caller=True)


def _marked(facts: Facts) -> Facts:
    if facts.items is not None or facts.parts is not None:
        return facts.with_(items=_marked(facts.items) if facts.items is not None else None,
                           parts=tuple(_marked(p) for p in facts.parts) if facts.parts else facts.parts)
    if facts.tensor.possible and facts.grad is MAYBE and facts.grad_why is None:
        return facts.with_(grad_why=_ARGUMENT)
    return facts


def method_of(evaluator, class_name: str, name: str):
    """The method `name` of the project class `class_name` (qualified, or a class of this file by its name),
    its own or a base's: its FunctionDef for a class of this file, else its summary; None when neither."""
    calls = evaluator.calls
    if calls is None:
        return None
    local = calls.classes_by_name.get(class_name)
    found = _found(evaluator, ":" + class_name if local is not None else class_name, name)
    return found.function.node if isinstance(found, Callee) else found


def _found(evaluator, class_name: str, name: str):
    """The class's own method `name` (a `Callee` of this file) or a project base's (a summary); None if neither."""
    calls = evaluator.calls
    if class_name.startswith(":"):
        cls_node = calls.classes_by_name.get(class_name[1:])
        if cls_node is None:
            return None
        found = calls._method(cls_node, name, depth=0)
        if found is not None:
            function, owner = found
            return Callee(function, calls.class_info(owner), is_method=True)
        return calls.external_method(calls.class_info(cls_node), name)
    project = evaluator.imports.project
    summary = project.class_(class_name) if project is not None else None
    return calls._summary_method(summary, name, depth=0) if summary is not None else None


def _content(facts: Facts) -> Facts:
    """A tensor argument, as a summary's passes read it (a tensor only *maybe* there counts: see above)."""
    content = facts.tensor_content() or facts
    return content.with_(tensor=YES) if content.tensor is MAYBE else content


def _unknown(result: Facts) -> bool:
    """Nothing shown: a value that may be anything, with no evidence and no known structure (the method's own
    `x`, unknown to the caller too, is unknown here as well: the guess stands for it, as before)."""
    return (result.tensor is MAYBE and result.grad is MAYBE and result.grad_why is None and result.items is None
            and result.parts is None and result.module is not YES)


def frozen_output(evaluator, class_name: str, result: Facts, node: cst.Call, frame) -> Facts:
    """`result` of calling an instance, with the grad facts of the call's arguments where the class freezes
    every parameter (`for p in self.parameters(): p.requires_grad = False` in `__init__`)."""
    if not _is_frozen(evaluator, class_name):
        return result
    grad, why = NO, None
    for arg in node.args:
        given = evaluator.facts(arg.value, frame)
        given = given.tensor_content() or given
        if given.tensor.possible and given.grad > grad:
            grad = given.grad
        if why is None and given.tensor.possible and given.grad_evidenced:
            why = given.grad_why
    return _regrad(result, grad, why)


def _is_frozen(evaluator, class_name: str) -> bool:
    calls = evaluator.calls
    if calls is None:
        return False
    if class_name.startswith(":"):
        cls_node = calls.classes_by_name.get(class_name[1:])
        found = calls._method(cls_node, "__init__", depth=0) if cls_node is not None else None
        return found is not None and freezes_every_parameter(found[0].node)
    project = evaluator.imports.project
    summary = project.class_(class_name) if project is not None else None
    return summary is not None and summary.frozen


def _regrad(result: Facts, grad, why) -> Facts:
    if result.items is not None or result.parts is not None:
        return result.with_(items=_regrad(result.items, grad, why) if result.items is not None else None,
                            parts=tuple(_regrad(p, grad, why) for p in result.parts) if result.parts else result.parts)
    if not result.tensor.possible or result.grad is NO:
        return result
    return result.with_(grad=min(result.grad, grad) if why is None else grad, grad_why=why)
