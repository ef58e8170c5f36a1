"""Device evidence from the author's own habit in one function (bugs as deviant behaviour, Engler et al.).

A function that converts one of its input tensors with `.cpu()` first says, in its author's words, that the
tensors it is given may live on an accelerator: nothing in the function moved that value there, so the only
reason for the `.cpu()` is where the caller's tensors are. Another tensor derived from the same inputs and
converted without `.cpu()` in the same function is then inconsistent with it, and on an accelerator it raises.

This module finds, syntactically, which local names of a function hold values derived from its parameters
(through assignments, `for` targets and `with ... as`; see `InputFlow`), and the *host moves* of such values:
`v.cpu()` or `v.to("cpu")` whose receiver is derived from the parameters and was not itself moved to a device in
the function (a value the function sent to the device explains its own `.cpu()` and says nothing of the inputs). The walker
asks it only about proven torch tensors whose device nothing else shows (semantic.py, `peer_host_move`).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Set

import libcst as cst

from tensorlint.analysis.index import bound_names, is_dispatch
from tensorlint.analysis.walk import children

_NESTED_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)
_DEVICE_MOVES = frozenset({"cuda", "to"})


def _names_read(expression: cst.CSTNode) -> Set[str]:
    """The plain names an expression reads (`a.b[c](d=e)` reads a, c and e; attribute and keyword names are
    not reads)."""
    found: Set[str] = set()
    pending = [expression]
    while pending:
        node = pending.pop()
        if isinstance(node, cst.Name):
            found.add(node.value)
        elif isinstance(node, cst.Attribute):
            pending.append(node.value)
        elif isinstance(node, cst.Arg):
            pending.append(node.value)
        elif not isinstance(node, _NESTED_SCOPES):
            pending.extend(children(node))
    return found


def _is_host_move(call: cst.Call) -> bool:
    """`v.cpu()`, `v.to("cpu")`, `v.to(device="cpu")`."""
    func = call.func
    if not isinstance(func, cst.Attribute):
        return False
    if func.attr.value == "cpu":
        return not call.args
    if func.attr.value == "to" and len(call.args) == 1:
        value = call.args[0].value
        return isinstance(value, cst.SimpleString) and value.value.strip("'\"").lower() == "cpu"
    return False


def _moves_to_device(call: cst.Call) -> bool:
    """`.cuda()`, `.to(...)` to anything but the CPU."""
    return (isinstance(call.func, cst.Attribute) and call.func.attr.value in _DEVICE_MOVES
            and not _is_host_move(call))


def _contains(expression: cst.CSTNode, is_kind) -> bool:
    """Does the expression hold a call of this kind (outside nested functions)?"""
    pending = [expression]
    while pending:
        node = pending.pop()
        if isinstance(node, cst.Call) and is_kind(node):
            return True
        if not isinstance(node, _NESTED_SCOPES):
            pending.extend(children(node))
    return False


class InputFlow:
    """Which names of one function hold tensors derived from its parameters, and its host moves of such values.

    Derived means computed from a parameter by operators, subscripts, attributes and methods called *on* a derived
    value (`orientations[:, j]`, `pos.mean(dim=1)`, `node_property.items()`); the result of any other call
    (`text2speech(**batch)`, `self.model(x)`, `helper(x)`) is not: what a callee returns may live anywhere. A name
    bound from a value moved to the host (`i, j = edge_index.to("cpu")`) is on the host, whatever it came from.
    """

    def __init__(self, function: cst.FunctionDef) -> None:
        params = function.params
        ordered = [*params.posonly_params, *params.params, *params.kwonly_params]
        self.inputs: Set[str] = {p.name.value for p in ordered if p.name.value not in ("self", "cls")}
        self._bindings: List[tuple] = []   # (names bound, the expression they come from)
        self._calls: List[cst.Call] = []
        # id of each node → id of the innermost arm of a type dispatch (`if isinstance(x, torch.Tensor):`) it is
        # in: a move in one arm says nothing of the values another arm converts (a float there)
        self._arm_of: Dict[int, int] = {}
        self._arm = 0
        self._scan(function.body)
        self.derived: Set[str] = set(self.inputs)
        self.moved: Set[str] = set()     # locals sent to a device by the function itself
        self.hosted: Set[str] = set()    # locals moved to the host by the function itself
        changed = True
        while changed:
            changed = False
            for names, source in self._bindings:
                read = _names_read(source)
                for kind, holds in ((self.derived, self.derives(source)),
                                    (self.moved, bool(read & self.moved) or _contains(source, _moves_to_device)),
                                    (self.hosted, bool(read & self.hosted) or _contains(source, _is_host_move))):
                    if holds and not names <= kind:
                        kind |= names
                        changed = True
        self.host_moves: List[cst.Call] = [call for call in self._calls if self._counts_as_host_move(call)]

    def derives(self, expression: cst.CSTNode) -> bool:
        """Is the expression's value computed from the parameters (see the class)?"""
        if isinstance(expression, cst.Name):
            return expression.value in self.derived
        if isinstance(expression, (cst.Attribute, cst.Subscript)):
            return self.derives(expression.value)
        if isinstance(expression, cst.Call):
            return isinstance(expression.func, cst.Attribute) and self.derives(expression.func.value)
        if isinstance(expression, cst.BinaryOperation):
            return self.derives(expression.left) or self.derives(expression.right)
        if isinstance(expression, cst.UnaryOperation):
            return self.derives(expression.expression)
        if isinstance(expression, cst.IfExp):
            return self.derives(expression.body) or self.derives(expression.orelse)
        if isinstance(expression, (cst.Tuple, cst.List)):
            return any(self.derives(element.value) for element in expression.elements)
        return False

    def peer_of(self, expression: cst.CSTNode) -> Optional[cst.Call]:
        """A host move in the function of another value derived from the parameters (not one inside `expression`,
        nor of a name `expression` reads: moving `x` elsewhere says nothing new about `x`), if `expression` is
        derived from the parameters and not from a value moved to the host or to a device."""
        read = _names_read(expression)
        if (not self.derives(expression) or read & (self.hosted | self.moved)
                or _contains(expression, _is_host_move) or _contains(expression, _moves_to_device)):
            return None
        inside = _node_ids(expression)
        arm = self._arm_of.get(id(expression), 0)
        for call in self.host_moves:
            if id(call) in inside or _names_read(call.func.value) & self.derived & read:
                continue
            if self._arm_of.get(id(call), 0) in (0, arm):
                return call
        return None

    def _counts_as_host_move(self, call: cst.Call) -> bool:
        if not _is_host_move(call):
            return False
        receiver = call.func.value
        read = _names_read(receiver)
        return (self.derives(receiver) and not read & (self.moved | self.hosted)
                and not _contains(receiver, _moves_to_device) and not _contains(receiver, _is_host_move))

    def _bind(self, target: cst.BaseExpression, source: cst.BaseExpression) -> None:
        names = {name for name in bound_names(target) if "." not in name}  # locals only: `self.x` is no local
        if names:
            self._bindings.append((frozenset(names), source))

    def _scan(self, node: cst.CSTNode) -> None:
        if isinstance(node, _NESTED_SCOPES):
            return
        if self._arm:
            self._arm_of[id(node)] = self._arm
        if isinstance(node, cst.If) and is_dispatch(node.test):
            self._scan(node.test)
            outer = self._arm
            for arm in (node.body, node.orelse):
                if arm is not None:
                    self._arm = id(arm)
                    self._scan(arm)
            self._arm = outer
            return
        if isinstance(node, cst.Assign):
            for target in node.targets:
                self._bind(target.target, node.value)
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign)) and node.value is not None:
            self._bind(node.target, node.value)
        elif isinstance(node, (cst.For, cst.CompFor)):
            self._bind(node.target, node.iter)
        elif isinstance(node, cst.WithItem) and node.asname is not None:
            self._bind(node.asname.name, node.item)
        elif isinstance(node, cst.Call):
            self._calls.append(node)
        for child in children(node):
            self._scan(child)


def _node_ids(expression: cst.CSTNode) -> Set[int]:
    found: Set[int] = set()
    pending = [expression]
    while pending:
        node = pending.pop()
        found.add(id(node))
        pending.extend(children(node))
    return found


class _Uses(cst.CSTVisitor):
    """How each name of a module is used: called (`f(x)`, or handed with its arguments to an executor,
    `pool.submit(f, x)`, which calls `f(x)`), or otherwise (passed, stored, exported by `__all__`)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Dict[str, int] = {}
        self.other: Dict[str, int] = {}
        self._called: Set[int] = set()
        self._not_uses: Set[int] = set()   # names that bind or label rather than read: `def f`, `x.f`, `f=`

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Name):
            self._called.add(id(func))
        elif isinstance(func, cst.Attribute) and func.attr.value == "submit" and node.args \
                and node.args[0].keyword is None and not node.args[0].star and isinstance(node.args[0].value, cst.Name):
            self._called.add(id(node.args[0].value))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._not_uses.add(id(node.name))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._not_uses.add(id(node.name))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._not_uses.add(id(node.attr))

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self._not_uses.add(id(node.keyword))

    def visit_Param(self, node: cst.Param) -> None:
        self._not_uses.add(id(node.name))

    def visit_Name(self, node: cst.Name) -> None:
        if id(node) in self._called:
            self.calls[node.value] = self.calls.get(node.value, 0) + 1
        elif id(node) not in self._not_uses:
            self.other[node.value] = self.other.get(node.value, 0) + 1

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        # a string of `__all__` exports the name: other modules may call it (approximated by any string that is
        # exactly the name, which only makes the function's callers count as out of view more often)
        text = node.value.strip("'\"")
        if text.isidentifier():
            self.other[text] = self.other.get(text, 0) + 1


class PeerIndex:
    """`InputFlow` of each function, made when first asked."""

    def __init__(self) -> None:
        self._flows: Dict[int, InputFlow] = {}
        self._uses: Optional[_Uses] = None

    def callers_in_view(self, module: cst.Module, function: cst.FunctionDef) -> bool:
        """Does the module show every caller of `function`: a function of the module's top level that the
        module calls, and uses in no other way? Peer evidence stands in for callers out of view; where they are
        all in view, what they pass decides (a same-file call is walked again with its arguments; a caller in
        another module is judged at its call, by the function's summary). demucs's `eval_track` has `.cpu()`
        for one use of its inputs, and its one caller moves them to the host first."""
        if function not in module.body:
            return False
        if self._uses is None:
            self._uses = _Uses()
            module.visit(self._uses)
        name = function.name.value
        return self._uses.calls.get(name, 0) > 0 and not self._uses.other.get(name, 0)

    def flow(self, function: cst.FunctionDef) -> InputFlow:
        found = self._flows.get(id(function))
        if found is None:
            found = self._flows[id(function)] = InputFlow(function)
        return found
