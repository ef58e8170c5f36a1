"""Where a host copy's value goes next: back to the device (a round trip), or out as the function's result.

Both answer one question of the TL4 checker: is this host copy the hazard, or is it work the step cannot
drop? Names carry the copy's value forward in the order statements run (assignments from it, `+=` into a
name, `for` targets over it, containers it is stored in or appended to).
"""
from __future__ import annotations

from typing import Optional, Set

import libcst as cst

from tensorlint.analysis.annotations import names_tensor, states_numpy
from tensorlint.analysis.imports import ImportMap, dotted_name
from tensorlint.analysis.walk import walk
from tensorlint.analysis.host_copy import bound_targets, calls_in, carries, in_order, names_in, reads, spread

def _to_device(call: cst.Call) -> bool:
    """`.cuda()`, `.to(device)`, `.to(self.device)`: a move that is not to the host."""
    func = call.func
    if not isinstance(func, cst.Attribute):
        return False
    if func.attr.value == "cuda":
        return True
    if func.attr.value != "to" or not call.args:
        return False
    first = call.args[0]
    if first.keyword is not None and first.keyword.value != "device":
        return False
    return not (isinstance(first.value, cst.SimpleString) and first.value.evaluated_value == "cpu") and not (
        isinstance(first.value, cst.Attribute) and first.value.attr.value in ("float32", "float64", "float16",
                                                                              "int64", "int32", "long", "bool"))


def _moved_names(event: cst.CSTNode) -> Set[str]:
    """Names an assignment binds to a device move: `o = torch.from_numpy(o).to(self.device)`."""
    if isinstance(event, cst.Assign) and isinstance(event.value, cst.Call) and _to_device(event.value):
        return bound_targets(event)
    return set()


def returns_to_device(body: cst.CSTNode, copy: cst.CSTNode, statement: cst.CSTNode) -> bool:
    """Does the host value `copy` makes (in `statement`, a small statement of the iteration `body`) go back to
    the device later in the same iteration: moved there (`torch.from_numpy(adv).to(device)`), or combined
    with a value the iteration moved there (`accuracy += (top_class == o_batch).sum()`)? Then the step needs
    the copy on the host to go on: a device-to-host-to-device round trip."""
    tainted: Set[str] = set()
    device: Set[str] = set()
    started = False
    for event in in_order(body):
        if event is statement:
            started = True
            spread(event, tainted, copy)
            device |= _moved_names(event)
            continue
        if started:
            for call in calls_in(event):
                if _to_device(call) and carries(call.func.value, tainted, None):
                    return True
            if device and _mixes(event, tainted, device):
                return True
            spread(event, tainted, None)
        device |= _moved_names(event)
    return False


def _mixes(event: cst.CSTNode, tainted: Set[str], device: Set[str]) -> bool:
    """Does an operation of `event` take one operand from the host value and one from the device names?"""
    found = False

    class Operations(cst.CSTVisitor):
        def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
            check(node.left, node.right)

        def visit_Comparison(self, node: cst.Comparison) -> None:
            for target in node.comparisons:
                check(node.left, target.comparator)

        def visit_FunctionDef(self, node) -> bool:
            return False

    def check(left: cst.BaseExpression, right: cst.BaseExpression) -> None:
        nonlocal found
        for one, other in ((left, right), (right, left)):
            if reads(one, tainted) and reads(other, device):
                found = True

    if not isinstance(event, cst.For):
        walk(event, Operations())
    return found


def host_to_host(function: cst.FunctionDef, imports: ImportMap) -> bool:
    """A function that takes NumPy arrays and returns NumPy arrays by its stated signature: whatever device
    work it does inside, every call is a host round trip (its callers hold, and want back, host data)."""
    params = [p for p in (*function.params.posonly_params, *function.params.params) if p.name.value not in
              ("self", "cls")]
    return states_numpy(function.returns, imports) and bool(params) and states_numpy(params[0].annotation, imports) \
        and not any(names_tensor(p.annotation, imports) for p in params)


def item_loop(ancestors, function: cst.FunctionDef, step_node: cst.CSTNode) -> Optional[cst.For]:
    """The innermost `for` loop over the items of a value (not a count) between the node being visited and
    `function`, when it is not the step loop itself: a conversion of one output's items, one by one."""
    for ancestor in reversed(ancestors):
        if ancestor is function or ancestor is step_node:
            return None
        if isinstance(ancestor, cst.For):
            inner = ancestor.iter
            counted = isinstance(inner, cst.Call) and (dotted_name(inner.func) or "").rsplit(".", 1)[-1] in (
                "range", "trange")
            return None if counted else ancestor
    return None


def leaves_torch(ancestors, node: cst.CSTNode) -> bool:
    """Does the copy `node` (the last of `ancestors` or one of them) end as NumPy or Python values
    (`x.cpu().detach().numpy()`, `.item()`, `.tolist()`)? Only then is the host work on it something the
    device cannot do: `torch.multinomial(probs.cpu(), 1)` sent back could run on the device as it is."""
    index = next((i for i in range(len(ancestors) - 1, -1, -1) if ancestors[i] is node), None)
    if index is None:
        return False
    current = node
    while True:
        if isinstance(current, cst.Call) and isinstance(current.func, cst.Attribute) and (
                current.func.attr.value in ("numpy", "tolist", "item")):
            return True
        if index < 2 or not (isinstance(ancestors[index - 1], cst.Attribute) and ancestors[index - 1].value is current
                             and isinstance(ancestors[index - 2], cst.Call)):
            return False
        current, index = ancestors[index - 2], index - 2


def of_loop_target(value: cst.BaseExpression, ancestors) -> bool:
    """Is `value` read from a name an enclosing `for` binds (`x.detach()`, `batch["x"]` of `for x, batch in
    ...`): the loop's own items, which may still be on the host?"""
    root = value
    while isinstance(root, (cst.Attribute, cst.Subscript)) or isinstance(root, cst.Call) and isinstance(
            root.func, cst.Attribute):
        root = root.func.value if isinstance(root, cst.Call) else root.value
    return isinstance(root, cst.Name) and any(
        root.value == n.value for a in ancestors if isinstance(a, cst.For) for n in names_in(a.target))


def _switch(event: cst.CSTNode) -> Optional[tuple]:
    """(the model's code, True/False) for `m.train()`, `m.train(True)`, `m.train(mode=False)`, `m.eval()`."""
    value = event.value if isinstance(event, cst.Expr) else None
    if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)):
        return None
    name, args = value.func.attr.value, value.args
    if name == "eval" and not args:
        mode = False
    elif name == "train" and (not args or len(args) == 1 and isinstance(args[0].value, cst.Name)
                              and args[0].value.value in ("True", "False")):
        mode = not args or args[0].value.value == "True"
    else:
        return None
    return cst.Module([]).code_for_node(value.func.value), mode


def _calls_model(event: cst.CSTNode, model: str) -> bool:
    """Does `event` call the model itself (`m(x)`, `m.forward(x)`)?"""
    for call in calls_in(event):
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value == "forward":
            func = func.value
        if cst.Module([]).code_for_node(func) == model:
            return True
    return False


def switches_mode(body: cst.CSTNode) -> bool:
    """Does the iteration `body` switch a model to eval mode (`m.eval()`, `m.train(False)`)?"""
    return any(switch is not None and not switch[1] for switch in map(_switch, in_order(body)))


def in_eval_window(body: cst.CSTNode, statement: cst.CSTNode) -> bool:
    """Is `statement` (a small statement of the iteration `body`) run while the iteration has switched the
    model it trains to eval mode: `m.eval()` or `m.train(False)` before it, `m.train()` or `m.train(True)`
    after it, `m` not called in between and called after (the step trains it)? The switch is made for the
    model to run in between, so a call there that is not the model itself runs it (an attack, an
    estimator's `predict`): when that call takes and gives host data, the model's output came to the host."""
    events = in_order(body)
    index = next((i for i, event in enumerate(events) if event is statement), None)
    if index is None:
        return False
    model, called = None, False
    for event in events[:index]:
        switch = _switch(event)
        if switch is not None and not switch[1]:
            model, called = switch[0], False
        elif switch is not None and switch[0] == model:
            model = None
        elif model is not None and _calls_model(event, model):
            called = True
    if model is None or called:
        return False
    for at in range(index, len(events)):
        switch = _switch(events[at])
        if switch == (model, True):
            return any(_calls_model(event, model) for event in events[at + 1:])
        if _calls_model(events[at], model):
            return False
    return False
