"""Type annotations as evidence: `x: torch.Tensor`, `-> Tensor`, `Optional[Tensor]`, `List[Tensor]`, `nn.Module`.

An annotation is the author's word about a value. It is used where nothing better is known: a parameter,
an annotated assignment of an unknown call, a helper's return, a class-level attribute. `None` in a union
(`Optional[T]`, `T | None`) is left out: a value that may be None is converted only when it is not.
Unknown names give no facts (None), never a guess.
"""
from __future__ import annotations

from typing import Dict, Optional

import libcst as cst

from tensorlint.analysis.facts import MAYBE, MODULE, NO, NOT_TENSOR, PARAMETER, YES, Facts, container_of, join_all
from tensorlint.analysis.imports import ImportMap, dotted_name
from tensorlint.analysis.walk import walk

_TENSOR_TYPES = frozenset({"torch.Tensor", "torch.FloatTensor", "torch.LongTensor", "torch.DoubleTensor",
                           "torch.HalfTensor", "torch.BoolTensor", "torch.IntTensor", "torch.ByteTensor",
                           "torch.cuda.FloatTensor", "torch.nn.parameter.Buffer", "torch.nn.Buffer"})
_PARAMETER_TYPES = frozenset({"torch.nn.Parameter", "torch.nn.parameter.Parameter"})
_MODULE_TYPES = frozenset({"torch.nn.Module", "torch.nn.modules.module.Module", "torch.nn.Sequential",
                           "torch.nn.ModuleList", "torch.nn.ModuleDict"})
_NOT_TENSOR_TYPES = frozenset({
    "int", "float", "str", "bool", "bytes", "complex", "set", "frozenset", "type",
    "numpy.ndarray", "numpy.typing.NDArray", "numpy.number", "numpy.generic",
    "numpy.float32", "numpy.float64", "numpy.int64", "numpy.int32", "numpy.bool_", "PIL.Image.Image",
    "typing.Set", "typing.Callable", "collections.abc.Callable", "Set", "Callable",
    "torch.device", "torch.dtype", "torch.Size", "torch.Generator", "pathlib.Path", "Path",
})
# `List[Tensor]` holds tensors; a bare `list` says nothing about what it holds.
_SEQUENCES = frozenset({"list", "List", "typing.List", "Sequence", "typing.Sequence", "collections.abc.Sequence",
                        "Iterable", "typing.Iterable", "collections.abc.Iterable", "Iterator", "typing.Iterator",
                        "tuple", "Tuple", "typing.Tuple"})
_TUPLES = frozenset({"tuple", "Tuple", "typing.Tuple"})
# `Dict[str, Tensor]`: what subscripting gives (iterating gives keys, which are never converted).
_MAPPINGS = frozenset({"dict", "Dict", "typing.Dict", "Mapping", "typing.Mapping", "collections.abc.Mapping"})
_UNIONS = frozenset({"Optional", "typing.Optional", "Union", "typing.Union"})


class _Context:
    def __init__(self, imports: ImportMap, module_classes, aliases) -> None:
        self.imports = imports
        self.module_classes = module_classes
        self.aliases = aliases


def annotation_facts(annotation: Optional[cst.Annotation], imports: ImportMap, module_classes=frozenset(),
                     aliases: Optional[Dict[str, cst.BaseExpression]] = None) -> Optional[Facts]:
    """Facts an annotation states, or None when it states nothing we understand. `aliases`: the module's
    type aliases (`NamedParameter = Tuple[str, torch.Tensor]`)."""
    if annotation is None:
        return None
    return _facts(annotation.annotation, _Context(imports, module_classes, aliases or {}), depth=0)


def _facts(node: cst.BaseExpression, context: _Context, depth: int) -> Optional[Facts]:
    if depth > 4:
        return None
    imports, module_classes = context.imports, context.module_classes
    if isinstance(node, cst.SimpleString):  # "torch.Tensor": a forward reference
        try:
            text = node.evaluated_value
            parsed = cst.parse_expression(text) if isinstance(text, str) else None
        except Exception:  # noqa: BLE001 - not an expression: says nothing
            return None
        return _facts(parsed, context, depth + 1) if parsed is not None else None
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):  # `Tensor | None`
        return _union([node.left, node.right], context, depth)
    if isinstance(node, cst.Subscript):
        name = _name(node.value, imports)
        arguments = [element.slice.value for element in node.slice if isinstance(element.slice, cst.Index)]
        if name in _UNIONS:
            return _union(arguments, context, depth)
        if name in _SEQUENCES or name in _MAPPINGS:
            if name in _MAPPINGS:
                arguments = arguments[1:]
            items = [_facts(a, context, depth + 1) for a in arguments if not _is_ellipsis(a)]
            if not items or any(item is None for item in items):
                return None
            fixed_tuple = name in _TUPLES and not any(_is_ellipsis(a) for a in arguments)
            return container_of(join_all(items), tuple(items) if fixed_tuple else None)
        return NOT_TENSOR if name in _NOT_TENSOR_TYPES else None
    name = _name(node, imports)
    if name is None:
        return None
    if name in context.aliases:
        return _facts(context.aliases[name], context, depth + 1)
    if name in ("None",):
        return NOT_TENSOR
    if name in _PARAMETER_TYPES:
        return PARAMETER
    if name in _TENSOR_TYPES:
        return Facts(tensor=YES)
    if name in _MODULE_TYPES or name in module_classes:
        return MODULE
    if name in _NOT_TENSOR_TYPES:
        return NOT_TENSOR
    return None


def _union(members, context: _Context, depth) -> Optional[Facts]:
    facts = []
    for member in members:
        if _name(member, context.imports) == "None":
            continue
        found = _facts(member, context, depth + 1)
        if found is None:
            return None
        facts.append(found)
    return join_all(facts)


def _name(node: cst.BaseExpression, imports: ImportMap) -> Optional[str]:
    if isinstance(node, cst.Name) and node.value == "None":
        return "None"
    return imports.qualified(node) or dotted_name(node)


def _is_ellipsis(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Ellipsis)


def annotated(value: Facts, stated: Optional[Facts]) -> Facts:
    """A value's facts with its annotation's word on what is unknown: `x: Tensor = f()` is a tensor,
    `x: np.ndarray = f()` is not. What is known (a tensor, a non-tensor, a container, a module) stays."""
    if stated is None or value.tensor is not MAYBE or value.items is not None or value.module is YES:
        return value
    if stated.tensor is YES:
        return value.with_(tensor=YES, grad=stated.grad if value.grad is MAYBE else value.grad, module=NO)
    return stated


_NUMPY_TYPES = frozenset({"numpy.ndarray", "numpy.typing.NDArray"})


def states_numpy(annotation: Optional[cst.Annotation], imports: ImportMap) -> bool:
    """`-> np.ndarray`, `-> tuple[np.ndarray, np.ndarray]`, `-> list[dict[str, np.ndarray]]`, `x: "np.ndarray"`:
    an annotation that names NumPy arrays and states that nothing in it is a tensor."""
    facts = annotation_facts(annotation, imports)
    while facts is not None and facts.tensor is NO:
        if facts.items is None:
            return _names_any(annotation.annotation, imports, _NUMPY_TYPES, 0)
        facts = facts.items
    return False


def _names_any(node: cst.BaseExpression, imports: ImportMap, wanted, depth: int) -> bool:
    if depth > 4:
        return False
    if isinstance(node, cst.SimpleString):
        parsed = _parsed(node)
        return parsed is not None and _names_any(parsed, imports, wanted, depth + 1)
    if isinstance(node, cst.BinaryOperation):
        return any(_names_any(side, imports, wanted, depth + 1) for side in (node.left, node.right))
    if isinstance(node, cst.Subscript):
        return _name(node.value, imports) in wanted or any(
            _names_any(e.slice.value, imports, wanted, depth + 1) for e in node.slice if isinstance(e.slice, cst.Index))
    return _name(node, imports) in wanted


def _parsed(node: cst.SimpleString) -> Optional[cst.BaseExpression]:
    try:
        text = node.evaluated_value
        return cst.parse_expression(text) if isinstance(text, str) else None
    except Exception:  # noqa: BLE001 - not an expression: says nothing
        return None


def annotated_class(annotation: Optional[cst.Annotation], imports: ImportMap) -> Optional[str]:
    """The qualified name of the one class an annotation names (`PyTorchClassifier`, `"PyTorchClassifier"`,
    `Optional[PyTorchClassifier]`, `PyTorchClassifier | None`); None for anything else (a union of classes, a
    container, a name nothing imports or defines)."""
    if annotation is None:
        return None
    node: Optional[cst.BaseExpression] = annotation.annotation
    for _ in range(4):
        if isinstance(node, cst.SimpleString):
            node = _parsed(node)
        elif isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
            node = _one_of([node.left, node.right], imports)
        elif isinstance(node, cst.Subscript) and _name(node.value, imports) in _UNIONS:
            node = _one_of([e.slice.value for e in node.slice if isinstance(e.slice, cst.Index)], imports)
        else:
            break
    if node is None or isinstance(node, (cst.Subscript, cst.BinaryOperation, cst.SimpleString)):
        return None
    name = _name(node, imports)
    return None if name is None or name == "None" else name


def _one_of(members, imports: ImportMap) -> Optional[cst.BaseExpression]:
    rest = [m for m in members if _name(m, imports) != "None"]
    return rest[0] if len(rest) == 1 else None


def attribute_annotation(cls: cst.ClassDef, attribute: str) -> Optional[cst.Annotation]:
    """What the class declares `self.<attribute>` to be: `<attribute>: T` in its body, `self.<attribute>: T` in
    one of its methods, or the annotation of the `__init__` parameter it assigns there (`self.<attribute> =
    classifier`). The first declaration found; None when it declares none."""
    init = None
    for statement in cls.body.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) \
                        and small.target.value == attribute:
                    return small.annotation
        elif isinstance(statement, cst.FunctionDef):
            found = _declared_in(statement, attribute)
            if found is not None:
                return found
            if statement.name.value == "__init__":
                init = statement
    return _parameter_assigned(init, attribute) if init is not None else None


def _declared_in(function: cst.FunctionDef, attribute: str) -> Optional[cst.Annotation]:
    found = []

    class Finder(cst.CSTVisitor):
        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            if _is_self_attribute(node.target, attribute) and not found:
                found.append(node.annotation)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is function

        visit_ClassDef = visit_Lambda = visit_FunctionDef

    walk(function, Finder())
    return found[0] if found else None


def _parameter_assigned(init: cst.FunctionDef, attribute: str) -> Optional[cst.Annotation]:
    params = {p.name.value: p.annotation for p in (*init.params.posonly_params, *init.params.params,
                                                   *init.params.kwonly_params)}
    for statement in init.body.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign) and isinstance(small.value, cst.Name) and any(
                        _is_self_attribute(t.target, attribute) for t in small.targets):
                    return params.get(small.value.value)
    return None


def _is_self_attribute(target: cst.BaseExpression, attribute: str) -> bool:
    return isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) \
        and target.value.value == "self" and target.attr.value == attribute


def names_tensor(annotation: Optional[cst.Annotation], imports: ImportMap) -> bool:
    """Does the annotation name a tensor type anywhere in it (`np.ndarray | torch.Tensor`, `List["Tensor"]`)?"""
    return annotation is not None and _names_any(annotation.annotation, imports, _TENSOR_TYPES | _PARAMETER_TYPES, 0)
