"""NumPy views of a model's own tensors, and the first in-place write through one (TL504).

`model.fc.weight.detach().numpy()` shares memory with the parameter: `.detach()`, `.data`, `.numpy()` and
`np.asarray(t)` copy nothing, nor do basic indexing, `.T`, `.t()`, `.view()`, `.squeeze()`, `.transpose()`
and `.permute()`. `.cpu()` (and `.to("cpu")`, `.numpy(force=True)`) returns the same tensor when it already is
on the host, and a copy from an accelerator; `.numpy()` without it raises on an accelerator, so a view made
without it shares memory wherever the code runs at all.

The evidence (`parameter_view`): the expression is such a chain ending in NumPy (`.numpy()`, `np.asarray(t)` with
no `dtype=`), from a root that is
  - a parameter: the analysis's parameter facts (`Facts.grad_why is IS_PARAMETER`: `.weight`/`.bias` of a known
    module or of something named as a whole model, an element of `model.parameters()`/`named_parameters()`), on
    the parameter itself (`m.weight`, `m.bias`, a name bound once to one, the loop variable of `m.parameters()` /
    `m.named_parameters()`): a value computed from a parameter keeps that grad evidence but not its memory; or
  - a tensor of a module's `state_dict()` (its parameters and buffers, detached but the same memory):
    `m.state_dict()[k]`, or `sd[k]` / a loop variable over `sd.values()`/`sd.items()` where `sd` is bound, once in
    the function, to `m.state_dict()` of a value that may be a module;
and, when the chain holds a `.cpu()`, the root is shown to be on the host (a module built here and never moved).

The write (`first_write`): from the view on, in source order through the rest of the function
(analysis/following.py), following the names the view is bound to (and views of them: basic indexing, `.T`),
the first in-place write: an augmented assignment (`w *= 2`), an item or slice assignment (`w[0] = 0`), an
in-place method (`w.fill(0)`, `w.sort()`, `w.put(...)`), `out=w`, or a NumPy function that writes its first
argument (`np.copyto(w, ...)`, `np.random.shuffle(w)`). A rebinding ends the search for that name; `.copy()`,
`np.array(...)`, `.astype(...)` and arithmetic make new arrays and are not followed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Optional, Sequence, Set

import libcst as cst

from tensorlint.analysis.facts import IS_PARAMETER, NO, YES, Facts
from tensorlint.analysis.following import (basic_index, first_use, following_units, nodes_under, parents_of,
                                          statement_index)
from tensorlint.analysis.imports import dotted_name

FactsOf = Callable[[cst.BaseExpression], Facts]
QualifiedOf = Callable[[cst.BaseExpression], Optional[str]]

# Tensor methods and attributes whose result is the same memory.
_TENSOR_VIEW_METHODS = frozenset({"detach", "view", "view_as", "t", "squeeze", "unsqueeze", "transpose", "permute",
                                  "requires_grad_"})
_TENSOR_VIEW_ATTRIBUTES = frozenset({"data", "T", "mT"})
_HOST_MOVES = frozenset({"cpu"})
# NumPy methods and attributes whose result is the same memory (`.view()` without a dtype, or with one: a
# reinterpretation of the same bytes).
_ARRAY_VIEW_METHODS = frozenset({"view", "transpose", "squeeze", "swapaxes"})
_ARRAY_VIEW_ATTRIBUTES = frozenset({"T"})
WRITE_METHODS = frozenset({"fill", "sort", "put", "itemset", "partition", "setfield"})
_NUMPY_WRITERS = frozenset({"numpy.copyto", "numpy.put", "numpy.place", "numpy.putmask", "numpy.fill_diagonal",
                            "numpy.random.shuffle"})
_NUMPY_VIEWS = frozenset({"numpy.asarray", "numpy.asanyarray"})


@dataclass(frozen=True)
class ParameterView:
    """A NumPy view of a model's tensor: the call that makes the array, the root tensor and what shows it."""
    view: cst.Call                  # the `.numpy()` or `np.asarray(...)` call
    root: cst.BaseExpression        # the parameter or `state_dict()` tensor
    kind: str                       # "parameter" or "`state_dict()` tensor"
    through_cpu: bool               # a `.cpu()` in the chain (the root is shown to be on the host)


@dataclass(frozen=True)
class ViewWrite:
    node: cst.CSTNode   # the write
    value: str          # the name written through ("" for the view expression itself)


def parameter_view(call: cst.Call, facts_of: FactsOf, qualified: QualifiedOf,
                   ancestors: Sequence[cst.CSTNode]) -> Optional[ParameterView]:
    """The evidence that `call` (`.numpy()` or `np.asarray(t)`) is a NumPy view of a model's tensor (module
    docstring); None when it is not shown."""
    tensor = _converted(call, qualified)
    if tensor is None:
        return None
    through_cpu = isinstance(call.func, cst.Attribute) and any(
        arg.keyword is not None and arg.keyword.value == "force" for arg in call.args)
    node = tensor
    while True:
        if isinstance(node, cst.Subscript) and basic_index(node):
            node = node.value
        elif isinstance(node, cst.Attribute) and node.attr.value in _TENSOR_VIEW_ATTRIBUTES:
            node = node.value
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            method = node.func.attr.value
            if method in _TENSOR_VIEW_METHODS and not (method == "view" and _dtype_view(node, qualified)):
                node = node.func.value
            elif method in _HOST_MOVES and not node.args or method == "to" and _to_host(node, facts_of):
                through_cpu = True
                node = node.func.value
            else:
                break
        else:
            break
    facts = facts_of(node)
    if facts.tensor is YES and facts.grad_why is IS_PARAMETER and _names_a_parameter(node, ancestors):
        kind, on_host = "parameter", not through_cpu or _on_host(node, facts, facts_of)
    else:
        module = _state_dict_item(node, facts_of, ancestors)
        if module is None:
            return None
        owner = facts_of(module)
        kind, on_host = "`state_dict()` tensor", not through_cpu or owner.module is YES and owner.device is NO
    if not on_host:
        return None
    return ParameterView(call, node, kind, through_cpu)


def first_write(view: ParameterView, ancestors: Sequence[cst.CSTNode], qualified: QualifiedOf) -> Optional[ViewWrite]:
    """The first in-place write through the view, in the rest of the function (module docstring)."""
    index = statement_index(ancestors)
    if index is None:
        return None
    statement = ancestors[index]
    writer = _Writer(qualified)
    use = writer.use(view.view, parents_of(statement))
    if isinstance(use, ViewWrite):
        return use
    aliases: Set[str] = set(use)
    for unit in following_units(ancestors, index):
        if not aliases:
            return None
        found = first_use(unit, aliases, writer.use)
        if found is not None:
            return found
    return None


class _Writer:
    def __init__(self, qualified: QualifiedOf) -> None:
        self.qualified = qualified

    def use(self, node: cst.BaseExpression, parents: Dict[int, cst.CSTNode], name: str = ""):
        """A ViewWrite, or the names the view is bound to (a set)."""
        current = node
        while True:
            parent = parents.get(id(current))
            if isinstance(parent, cst.Subscript) and parent.value is current:
                holder = parents.get(id(parent))
                if isinstance(holder, (cst.AssignTarget, cst.AugAssign)) and holder.target is parent:
                    return ViewWrite(holder if isinstance(holder, cst.AugAssign) else parents.get(id(holder)), name)
                if not basic_index(parent):
                    return set()
                current = parent
                continue
            if isinstance(parent, cst.Attribute) and parent.value is current:
                call = parents.get(id(parent))
                attr = parent.attr.value
                if isinstance(call, cst.Call) and call.func is parent:
                    if attr in WRITE_METHODS:
                        return ViewWrite(call, name)
                    if attr in _ARRAY_VIEW_METHODS:
                        current = call
                        continue
                    return set()
                if attr in _ARRAY_VIEW_ATTRIBUTES:
                    current = parent
                    continue
                return set()
            if isinstance(parent, cst.Arg):
                call = parents.get(id(parent))
                if not isinstance(call, cst.Call) or parent.value is not current:
                    return set()
                if parent.keyword is not None and parent.keyword.value == "out":
                    return ViewWrite(call, name)
                positional = [arg for arg in call.args if arg.keyword is None]
                if positional and positional[0] is parent and (self.qualified(call.func) or "") in _NUMPY_WRITERS:
                    return ViewWrite(call, name)
                return set()
            if isinstance(parent, cst.AugAssign) and parent.target is current:
                return ViewWrite(parent, name)
            if isinstance(parent, (cst.Assign, cst.AnnAssign)) and parent.value is current:
                targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
                return {found for target in targets for found in [dotted_name(target)] if found}
            return set()


_PARAMETER_ATTRIBUTES = frozenset({"weight", "bias"})
_PARAMETER_ITERATORS = {"parameters": 0, "named_parameters": 1}


def _names_a_parameter(node: cst.BaseExpression, ancestors: Sequence[cst.CSTNode]) -> bool:
    """Is `node` the parameter itself, not something computed from one (which the facts still call a parameter's
    grad): `m.weight`, `m.bias`, a name bound once to one, or the loop variable of `m.parameters()` /
    `m.named_parameters()`?"""
    if isinstance(node, cst.Attribute):
        return node.attr.value in _PARAMETER_ATTRIBUTES
    if not isinstance(node, cst.Name):
        return False
    scope = _scope(ancestors)
    assigned = _assigned(scope, node.value)
    if len(assigned) != 1:
        return False
    if assigned[0] is not None:
        return isinstance(assigned[0], cst.Attribute) and assigned[0].attr.value in _PARAMETER_ATTRIBUTES
    loops = [n for n in nodes_under(scope) if isinstance(n, (cst.For, cst.CompFor)) and _binds(n.target, node.value)]
    if len(loops) != 1:
        return False
    iterable, target = loops[0].iter, loops[0].target
    if not (isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Attribute)):
        return False
    position = _PARAMETER_ITERATORS.get(iterable.func.attr.value)
    if position == 0:
        return isinstance(target, cst.Name)
    return (position == 1 and isinstance(target, (cst.Tuple, cst.List)) and len(target.elements) == 2
            and isinstance(target.elements[1].value, cst.Name) and target.elements[1].value.value == node.value)


def _on_host(node: cst.BaseExpression, facts: Facts, facts_of: FactsOf) -> bool:
    """Is the root shown to be on the host: its own facts, or for `model.fc.weight` the nearest known module on its
    path (built here and never moved)?"""
    if facts.device is NO:
        return True
    while isinstance(node, (cst.Attribute, cst.Subscript)):
        node = node.value
        owner = facts_of(node)
        if owner.module is YES:
            return owner.device is NO
    return False


def _converted(call: cst.Call, qualified: QualifiedOf) -> Optional[cst.BaseExpression]:
    """The tensor `call` makes a NumPy array of without a copy: `t` of `t.numpy()`, `np.asarray(t)`."""
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value == "numpy":
        if any(arg.keyword is None or arg.keyword.value != "force" for arg in call.args):
            return None
        return func.value
    if (qualified(func) or "") in _NUMPY_VIEWS and len(call.args) == 1 and call.args[0].keyword is None \
            and not call.args[0].star:
        return call.args[0].value
    return None


def _dtype_view(call: cst.Call, qualified: QualifiedOf) -> bool:
    """`t.view(torch.int32)`: a reinterpretation, still the same memory; but say no to anything not a shape."""
    return any(isinstance(arg.value, cst.Attribute) and (qualified(arg.value) or "").startswith("torch.")
               for arg in call.args)


def _to_host(call: cst.Call, facts_of: FactsOf) -> bool:
    """`.to("cpu")`, `.to(device="cpu")`: and nothing else (a dtype converts, `copy=True` copies)."""
    if len(call.args) != 1:
        return False
    arg = call.args[0]
    if arg.keyword is not None and arg.keyword.value != "device":
        return False
    return facts_of(arg.value).denotes_accelerator is NO


def _state_dict_item(node: cst.BaseExpression, facts_of: FactsOf,
                     ancestors: Sequence[cst.CSTNode]) -> Optional[cst.BaseExpression]:
    """`m` when `node` is `m.state_dict()[k]`, `sd[k]` or `v` of `for k, v in sd.items()` / `for v in sd.values()`,
    `sd` bound once in the function to `m.state_dict()` of a value that may be a module."""
    if isinstance(node, cst.Subscript):
        return _state_dict_of(node.value, facts_of, ancestors)
    if not isinstance(node, cst.Name):
        return None
    scope = _scope(ancestors)
    loops = [n for n in nodes_under(scope) if isinstance(n, (cst.For, cst.CompFor)) and _binds(n.target, node.value)]
    if len(loops) != 1 or len(_assigned(scope, node.value)) != 1:  # bound by that loop only
        return None
    loop = loops[0]
    iterable = loop.iter
    if not (isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Attribute) and not iterable.args):
        return None
    method = iterable.func.attr.value
    if method == "values":
        value_target = isinstance(loop.target, cst.Name)
    elif method == "items":
        target = loop.target
        value_target = (isinstance(target, (cst.Tuple, cst.List)) and len(target.elements) == 2
                        and isinstance(target.elements[1].value, cst.Name) and target.elements[1].value.value == node.value)
    else:
        return None
    return _state_dict_of(iterable.func.value, facts_of, ancestors) if value_target else None


def _state_dict_of(node: cst.BaseExpression, facts_of: FactsOf,
                   ancestors: Sequence[cst.CSTNode]) -> Optional[cst.BaseExpression]:
    """`m` when `node` is `m.state_dict()` (or a name bound once to it) and `m` may be a module."""
    if isinstance(node, cst.Call):
        func = node.func
        if (isinstance(func, cst.Attribute) and func.attr.value == "state_dict" and not node.args
                and facts_of(func.value).module.possible):
            return func.value
        return None
    if isinstance(node, cst.Name):
        assigned = _assigned(_scope(ancestors), node.value)
        if len(assigned) == 1 and assigned[0] is not None:
            return _state_dict_of(assigned[0], facts_of, ancestors)
    return None


def _scope(ancestors: Sequence[cst.CSTNode]) -> cst.CSTNode:
    return next((node for node in reversed(ancestors) if isinstance(node, (cst.FunctionDef, cst.Module))), ancestors[0])


def _assigned(scope: cst.CSTNode, name: str) -> list:
    """The values `name` is bound to in the scope (None for a binding that is not a plain assignment)."""
    found = []
    for node in nodes_under(scope):
        if isinstance(node, cst.Assign):
            for target in node.targets:
                if _binds(target.target, name):
                    found.append(node.value if isinstance(target.target, cst.Name) else None)
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign, cst.NamedExpr)) and _binds(node.target, name):
            found.append(getattr(node, "value", None) if isinstance(node, cst.AnnAssign) else None)
        elif isinstance(node, (cst.For, cst.CompFor, cst.WithItem)) and _binds(
                node.target if not isinstance(node, cst.WithItem) else getattr(node.asname, "name", None), name):
            found.append(None)
    return found


def _binds(target: Optional[cst.CSTNode], name: str) -> bool:
    if isinstance(target, cst.Name):
        return target.value == name
    if isinstance(target, (cst.Tuple, cst.List)):
        return any(_binds(element.value, name) for element in target.elements)
    if isinstance(target, cst.StarredElement):
        return _binds(target.value, name)
    return False


__all__ = ["ParameterView", "ViewWrite", "WRITE_METHODS", "first_write", "parameter_view"]
