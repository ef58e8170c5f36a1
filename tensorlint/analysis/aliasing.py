"""Memory NumPy and torch share: a NumPy buffer refilled in place in a loop while tensors made from it are kept.

`torch.from_numpy(a)`, `torch.as_tensor(a)` and `torch.asarray(a)` (no dtype, no other device, no
`copy=True`) return a tensor over `a`'s memory (checked on torch 2.13 / NumPy 2.4). So do the views of that
tensor: `.view`, `.reshape`, `.unsqueeze`, `.permute`, `.detach`, `.contiguous`, `.cpu()` and `.to("cpu")` of a
CPU tensor, basic indexing. When the loop that makes the tensor also refills `a` in place (`a[:] = read()`,
`np.copyto(a, x)`, `f.readinto(a)`, `a *= s`, `np.add(x, y, out=a)`, `a.fill(v)`), a tensor kept past its
iteration changes with every later refill: all of them end up holding the last values.

The evidence, all in one function (or at module level), all required; anything else is silent:
- `a` is a NumPy array made outside the loop: every binding of `a` in the scope is a NumPy factory call
  (`np.empty/zeros/ones/full(_like)`, `np.array`, `np.arange`, `np.copy`, `np.ndarray`), none inside the loop;
- the loop refills `a` in place (one of the writes above, directly in its body, nested functions aside);
- the sharing construction is in the loop's body, on `a` itself;
- the tensor (or a view of it, alone or inside a tuple/list display) is kept past the iteration: appended or
  inserted into, or stored by subscript in, a list or dict the code shows is one (`[]`, `{}`, `list()`,
  `dict()`, `defaultdict(...)`, `OrderedDict()`) and does not make anew inside the loop; directly, or through
  a name the loop body binds once to it.
A yielded tensor is not counted: whether it is kept is the consumer's choice (`for t in gen: model(t)` is
right), which this function cannot see. Neither is one stored in a plain name or attribute (the last one
kept holds the last values, rightly).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import libcst as cst

from tensorlint.analysis.following import basic_index
from tensorlint.analysis.imports import dotted_name
from tensorlint.analysis.scope import names_bound_by
from tensorlint.analysis.walk import walk

Qualify = Callable[[cst.BaseExpression], Optional[str]]

SHARING_CONSTRUCTORS = frozenset({"torch.from_numpy", "torch.as_tensor", "torch.asarray"})
_SHARING_NAMES = frozenset(name.rsplit(".", 1)[1] for name in SHARING_CONSTRUCTORS)
# NumPy functions that return a new ndarray (never the argument itself, never another type).
NUMPY_FACTORIES = frozenset(f"numpy.{name}" for name in (
    "empty", "zeros", "ones", "full", "empty_like", "zeros_like", "ones_like", "full_like", "array", "arange",
    "copy", "ndarray"))
# Tensor methods whose result shares the receiver's memory (of a CPU tensor: `.cpu()` returns it).
VIEW_METHODS = frozenset({
    "view", "view_as", "reshape", "reshape_as", "unsqueeze", "squeeze", "flatten", "unflatten", "permute",
    "transpose", "t", "narrow", "expand", "expand_as", "detach", "contiguous", "cpu", "movedim", "swapaxes",
    "swapdims", "select", "as_strided",
})
# In-place writes into the array given as the first argument.
_READ_INTO = frozenset({"readinto", "readinto1", "recv_into", "recvfrom_into"})
_COLLECTION_CALLS = frozenset({"list", "dict", "collections.defaultdict", "collections.OrderedDict",
                               "collections.deque"})
_NESTED = (cst.FunctionDef, cst.ClassDef, cst.Lambda)
_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
_LOOPS = (cst.For, cst.While)


@dataclass(frozen=True)
class KeptSharedTensor:
    """Why a sharing construction is TL503's hazard: the buffer, where it was made, refilled and kept."""
    buffer: str
    created: cst.Call            # the NumPy factory call that made the buffer
    refill: cst.CSTNode          # the statement or call that refills it in place
    refill_shown: str            # how a message shows the refill: "`buf[:] = ...`"
    kept: cst.CSTNode            # the call or statement that keeps the tensor
    kept_shown: str              # "`batch.append(...)`"
    loop: cst.CSTNode = None     # the loop the three happen in


def kept_shared_tensor(call: cst.Call, ancestors: Sequence[cst.CSTNode], qualified: Qualify,
                       cache: Optional[dict] = None) -> Optional[KeptSharedTensor]:
    """TL503's evidence for `call` (the last of `ancestors`, which run from the module down), else None."""
    buffer = shared_buffer(call, qualified)
    if buffer is None:
        return None
    cache = {} if cache is None else cache
    scope_index = max(i for i, node in enumerate(ancestors) if isinstance(node, (cst.Module, cst.FunctionDef)))
    scope = ancestors[scope_index]
    path = list(ancestors[scope_index + 1:])
    if any(isinstance(node, _NESTED + _COMPREHENSIONS) for node in path):
        return None
    bindings = _scope(scope, cache).get(buffer.value)
    if not bindings:
        return None
    created = [_numpy_factory(value, qualified) for value in bindings]
    if any(made is None for made in created):
        return None
    for depth in range(len(path) - 1, -1, -1):
        loop = path[depth]
        if not (isinstance(loop, _LOOPS) and depth + 1 < len(path) and path[depth + 1] is loop.body):
            continue
        body = _body(loop, cache, qualified)
        if buffer.value in body.bound or buffer.value not in body.refills:
            continue
        kept = _kept(call, path[depth + 1:], body, scope, ancestors[:scope_index + 1], cache, qualified)
        if kept is None:
            continue
        refill, refill_shown = body.refills[buffer.value][0]
        return KeptSharedTensor(buffer.value, created[0], refill, refill_shown, kept[0], kept[1], loop)
    return None


def shared_buffer(call: cst.Call, qualified: Qualify) -> Optional[cst.Name]:
    """`a` when `call` is `torch.from_numpy(a)`, or `torch.as_tensor(a)` / `torch.asarray(a)` asked for no copy
    (no dtype, no device but "cpu", `copy` absent or False), `a` a plain name."""
    func = call.func
    spelled = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
    if not call.args or spelled not in _SHARING_NAMES and not isinstance(func, cst.Name):
        return None  # (cheap before the import map: most calls are no sharing construction)
    name = qualified(func)
    if name not in SHARING_CONSTRUCTORS:
        return None
    first, rest = call.args[0], call.args[1:]
    if first.keyword is not None or first.star or not isinstance(first.value, cst.Name):
        return None
    for arg in rest:
        keyword = arg.keyword.value if arg.keyword is not None else None
        if name == "torch.from_numpy" or keyword is None:
            return None
        if keyword == "device" and _is_cpu(arg.value):
            continue
        if keyword == "copy" and name == "torch.asarray" and isinstance(arg.value, cst.Name) and \
                arg.value.value in ("False", "None"):
            continue
        return None
    return first.value


def _is_cpu(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.SimpleString) and node.evaluated_value == "cpu"


def _numpy_factory(value: Optional[cst.BaseExpression], qualified: Qualify) -> Optional[cst.Call]:
    if isinstance(value, cst.Call) and qualified(value.func) in NUMPY_FACTORIES:
        return value
    return None


# -- what a scope binds --------------------------------------------------------------------------
def _scope(scope: cst.CSTNode, cache: dict) -> Dict[str, List[Optional[cst.BaseExpression]]]:
    """Each name the scope binds (nested functions and classes aside) -> the values bound to it: the value
    of a plain `name = value`, None for any other binding (a parameter, a `for` target, `global`, ...)."""
    key = ("scope", id(scope))
    found = cache.get(key)
    if found is not None:
        return found
    found = {}
    if isinstance(scope, cst.FunctionDef):
        params = scope.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params, params.star_arg,
                      params.star_kwarg):
            if isinstance(param, cst.Param):
                found.setdefault(param.name.value, []).append(None)

    class Bindings(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            found.setdefault(node.name.value, []).append(None)
            _declared(node, found)  # `global a`/`nonlocal a` in a nested function may rebind it
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            found.setdefault(node.name.value, []).append(None)
            _declared(node, found)
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def visit_Assign(self, node: cst.Assign) -> None:
            for target in node.targets:
                value = node.value if len(node.targets) == 1 and isinstance(target.target, cst.Name) else None
                for name in names_bound_by(target):
                    found.setdefault(name, []).append(value)

        def on_visit(self, node: cst.CSTNode) -> bool:
            if not isinstance(node, (cst.Assign, cst.AssignTarget, cst.AugAssign)):
                for name in names_bound_by(node):  # `a += x` refills an array: not a binding of another value
                    found.setdefault(name, []).append(None)
            if isinstance(node, cst.Nonlocal):
                for item in node.names:
                    found.setdefault(item.name.value, []).append(None)
            return super().on_visit(node)

    visitor = Bindings()
    for statement in scope.body if isinstance(scope, cst.Module) else (scope.body,):
        walk(statement, visitor)
    cache[key] = found
    return found


def _declared(node: cst.CSTNode, found: Dict[str, list]) -> None:
    class Declarations(cst.CSTVisitor):
        def visit_Global(self, statement: cst.Global) -> None:
            for item in statement.names:
                found.setdefault(item.name.value, []).append(None)

        visit_Nonlocal = visit_Global

    walk(node, Declarations())


# -- what a loop body does -------------------------------------------------------------------------
@dataclass
class _Body:
    bound: Dict[str, int]                                          # name -> bindings in the body
    refills: Dict[str, List[Tuple[cst.CSTNode, str]]]              # array name -> in-place writes
    keeps: List[Tuple[cst.CSTNode, cst.BaseExpression, cst.BaseExpression, str]]  # (at, owner, value, shown)
    assigned: Dict[str, cst.BaseExpression]                        # name -> value of `name = value`


def _body(loop: cst.CSTNode, cache: dict, qualified: Qualify) -> _Body:
    key = ("body", id(loop))
    found = cache.get(key)
    if found is not None:
        return found
    body = _Body({}, {}, [], {})

    def refill(name: Optional[str], node: cst.CSTNode, shown: str) -> None:
        if name is not None and "." not in name:
            body.refills.setdefault(name, []).append((node, shown))

    class Collector(cst.CSTVisitor):
        def visit_FunctionDef(self, node) -> bool:
            for name in names_bound_by(node):
                body.bound[name] = body.bound.get(name, 0) + 1
            return False

        visit_ClassDef = visit_FunctionDef

        def visit_Lambda(self, node) -> bool:
            return False

        def on_visit(self, node: cst.CSTNode) -> bool:
            if not isinstance(node, (cst.AugAssign, cst.CompFor)):
                for name in names_bound_by(node):
                    body.bound[name] = body.bound.get(name, 0) + 1
            return super().on_visit(node)

        def visit_Assign(self, node: cst.Assign) -> None:
            for target in node.targets:
                if isinstance(target.target, cst.Attribute) and dotted_name(target.target) is not None:
                    body.bound[dotted_name(target.target)] = body.bound.get(dotted_name(target.target), 0) + 1
                if isinstance(target.target, cst.Subscript):
                    name = dotted_name(target.target.value)
                    refill(name, node, f"`{_code(target.target)} = ...`")
                    body.keeps.append((node, target.target.value, node.value, f"`{name}[...] = ...`"))
            if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
                body.assigned[node.targets[0].target.value] = node.value

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            target = node.target.value if isinstance(node.target, cst.Subscript) else node.target
            name = dotted_name(target)
            operator = node.operator.__class__.__name__
            refill(name, node, f"`{_code(node.target)} {_AUGMENTED.get(operator, '?=')} ...`")

        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            callee = qualified(func) or ""
            positional = [arg for arg in node.args if arg.keyword is None and not arg.star]
            if callee == "numpy.copyto" and positional:
                refill(dotted_name(positional[0].value), node, f"`{_code(func)}({_code(positional[0].value)}, ...)`")
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value == "out" and callee.startswith("numpy."):
                    refill(dotted_name(arg.value), node, f"`{_code(func)}(..., out={_code(arg.value)})`")
            if not isinstance(func, cst.Attribute):
                return
            method = func.attr.value
            if method in _READ_INTO and positional:
                refill(dotted_name(positional[0].value), node, f"`{_code(func)}({_code(positional[0].value)})`")
            elif method == "fill" and len(node.args) == 1:
                refill(dotted_name(func.value), node, f"`{_code(func)}(...)`")

        def visit_Expr(self, node: cst.Expr) -> None:
            call = node.value
            if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)) or not call.args:
                return
            method, owner = call.func.attr.value, call.func.value
            if method == "append" and len(call.args) == 1 or method == "insert" and len(call.args) == 2:
                body.keeps.append((call, owner, call.args[-1].value, f"`{_code(owner)}.{method}(...)`"))

    walk(loop.body, Collector())
    cache[key] = body
    return body


_AUGMENTED = {"AddAssign": "+=", "SubtractAssign": "-=", "MultiplyAssign": "*=", "DivideAssign": "/=",
              "FloorDivideAssign": "//=", "ModuloAssign": "%=", "PowerAssign": "**=", "MatrixMultiplyAssign": "@=",
              "LeftShiftAssign": "<<=", "RightShiftAssign": ">>=", "BitAndAssign": "&=", "BitOrAssign": "|=",
              "BitXorAssign": "^="}


def _code(node: cst.CSTNode) -> str:
    code = " ".join(cst.Module(body=[]).code_for_node(node).split())
    return code if len(code) <= 40 else code[:37] + "..."


# -- is the tensor kept past the iteration? --------------------------------------------------------
def _kept(call: cst.Call, path: Sequence[cst.CSTNode], body: _Body, scope: cst.CSTNode,
          outer: Sequence[cst.CSTNode], cache: dict, qualified: Qualify) -> Optional[Tuple[cst.CSTNode, str]]:
    """(where, how shown) the loop keeps the tensor `call` makes, climbing `path` (loop body down to `call`)."""
    top = _climb(call, path)
    for at, owner, value, shown in body.keeps:
        if any(stored is top for stored in _stored(value)) and _collection(owner, body, scope, outer, cache,
                                                                          qualified):
            return at, shown
    index = _index_of(top, path)
    assign = path[index - 1] if index > 0 else None
    if not isinstance(assign, cst.Assign) or assign.value is not top or len(assign.targets) != 1:
        return None
    target = assign.targets[0].target
    if not isinstance(target, cst.Name) or body.bound.get(target.value) != 1:
        return None
    for at, owner, value, shown in body.keeps:
        if any(isinstance(stored, cst.Name) and stored.value == target.value for stored in _stored(value)) and \
                _collection(owner, body, scope, outer, cache, qualified):
            return at, shown
    return None


def _climb(node: cst.CSTNode, path: Sequence[cst.CSTNode]) -> cst.CSTNode:
    """The outermost view of `node` along `path`: `torch.from_numpy(a).unsqueeze(0)[..., :3]`."""
    index = _index_of(node, path)
    while index >= 2:
        parent, grandparent = path[index - 1], path[index - 2]
        if isinstance(parent, cst.Attribute) and parent.value is node and isinstance(grandparent, cst.Call) and \
                grandparent.func is parent and _keeps_memory(grandparent):
            node, index = grandparent, index - 2
        elif isinstance(parent, cst.Subscript) and parent.value is node and basic_index(parent):
            node, index = parent, index - 1
        else:
            break
    return node


def _index_of(node: cst.CSTNode, path: Sequence[cst.CSTNode]) -> int:
    for index in range(len(path) - 1, -1, -1):
        if path[index] is node:
            return index
    return -1


def _keeps_memory(call: cst.Call) -> bool:
    """A method call on a CPU tensor that returns a tensor over the same memory (`.to("cpu")` included)."""
    method = call.func.attr.value
    if method in VIEW_METHODS:
        return True
    if method != "to" or len(call.args) != 1:
        return False
    arg = call.args[0]
    return (arg.keyword is None or arg.keyword.value == "device") and _is_cpu(arg.value)


def _stored(value: cst.BaseExpression) -> List[cst.BaseExpression]:
    """What a keeping site stores: the value, or each element of a tuple/list display (nested), each as the
    tensor its views come from when it is a name (`t.unsqueeze(0)` stores `t`'s memory)."""
    if isinstance(value, (cst.Tuple, cst.List)):
        return [stored for element in value.elements if not isinstance(element, cst.StarredElement)
                for stored in _stored(element.value)]
    found = [value]
    base = value
    while True:
        if isinstance(base, cst.Call) and isinstance(base.func, cst.Attribute) and _keeps_memory(base):
            base = base.func.value
        elif isinstance(base, cst.Subscript) and basic_index(base):
            base = base.value
        else:
            break
        if isinstance(base, cst.Name):
            found.append(base)
    return found


def _collection(owner: cst.BaseExpression, body: _Body, scope: cst.CSTNode, outer: Sequence[cst.CSTNode],
                cache: dict, qualified: Qualify) -> bool:
    """Is `owner` a list or dict the code shows is one, made outside the loop (not anew in its body)?"""
    path = dotted_name(owner)
    if path is None or path in body.bound:
        return False
    if "." not in path:
        values = _scope(scope, cache).get(path)
        return bool(values) and all(_makes_collection(value, qualified) for value in values)
    root, _, attribute = path.partition(".")
    if root != "self" or "." in attribute or path in body.bound:
        return False
    cls = next((node for node in reversed(outer) if isinstance(node, cst.ClassDef)), None)
    if cls is None:
        return False
    values = _attributes(cls, cache).get(attribute)
    return bool(values) and all(_makes_collection(value, qualified) for value in values)


def _makes_collection(value: Optional[cst.BaseExpression], qualified: Qualify) -> bool:
    if isinstance(value, (cst.List, cst.Dict)):
        return True
    return isinstance(value, cst.Call) and (qualified(value.func) in _COLLECTION_CALLS or
                                            dotted_name(value.func) in ("list", "dict"))


def _attributes(cls: cst.ClassDef, cache: dict) -> Dict[str, List[Optional[cst.BaseExpression]]]:
    """`self.<attr>` -> the values the class's methods assign to it (None: any other store)."""
    key = ("class", id(cls))
    found = cache.get(key)
    if found is not None:
        return found
    found = {}

    class Stores(cst.CSTVisitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            for path in _self_paths(node.target):
                found.setdefault(path, []).append(None)

        def visit_Assign(self, node: cst.Assign) -> None:
            if len(node.targets) == 1 and _self_attribute(node.targets[0].target):
                found.setdefault(node.targets[0].target.attr.value, []).append(node.value)
                return
            for target in node.targets:
                for path in _self_paths(target.target):
                    found.setdefault(path, []).append(None)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            for path in _self_paths(node.target):
                found.setdefault(path, []).append(None)

        visit_AnnAssign = visit_AugAssign

    class Guarded(Stores):
        def visit_Assign(self, node: cst.Assign) -> bool:
            Stores.visit_Assign(self, node)
            return False  # its targets are counted already

    walk(cls.body, Guarded())
    cache[key] = found
    return found


def _self_attribute(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self"


def _self_paths(target: cst.BaseExpression) -> List[str]:
    if _self_attribute(target):
        return [target.attr.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [path for element in target.elements for path in _self_paths(element.value)]
    if isinstance(target, cst.StarredElement):
        return _self_paths(target.value)
    return []
