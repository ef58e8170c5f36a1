"""What the code shows of a NumPy array's dtype, of a tensor made from it, and of a module's parameters' dtype.

Checked on NumPy 2.4.6 / torch 2.13 (FACTS.md, "float64 into a float32 module"):
- float64 by default: `np.zeros/ones/empty/eye/identity`, `np.random.rand/randn/random/uniform/normal/...`,
  `np.linspace`, `np.loadtxt/genfromtxt`, `np.full(s, 0.5)`, `np.arange(0.0, ...)` and `np.array([0.5, 1])`
  (a float literal among the elements); `np.full(s, 1)`, `np.arange(3)`, `np.array([1, 2])` are int64.
- arithmetic (NEP 50, NumPy 2): a float64 array with a number or an array of a real dtype stays float64; a
  float32 array with a Python number stays float32; an integer array with a Python float, or divided (`/`) by
  anything real, is float64 (`img / 255.0`).
- `torch.from_numpy(a)`, `torch.as_tensor(a)`, `torch.asarray(a)`, `torch.tensor(a)` keep `a`'s dtype unless
  given `dtype=`; `torch.FloatTensor(a)`/`torch.Tensor(a)` are float32.
- `nn.Linear`, `nn.Conv*d`, `nn.ConvTranspose*d` (and a `nn.Sequential` that starts with one) have float32
  parameters unless built with `dtype=`, converted, or `torch.set_default_dtype` changed the default.

A NumPy array is a value that is not a tensor (`Facts.tensor` NO) with a `Facts.dtype`: the array facts reuse
`Facts.dtype`/`dtype_why` (NumPy's names for the floating and integer dtypes are torch's canonical names). Only
what the code shows is known: `np.load`, files, other libraries, parameters, a `dtype=` chosen at run time
give no dtype, and joining paths that disagree forgets it (unknown is silent).
"""
from __future__ import annotations

from typing import Optional, Sequence

import libcst as cst

from tensorlint.analysis.facts import NO, NOT_TENSOR, Evidence, Facts
from tensorlint.analysis.imports import ImportMap, dotted_name
from tensorlint.analysis.literals import string_value

# How the evidence reads (`{code}`: its node's code, `{line}`: " (line N)").
ARRAY_MADE = "is {dtype}: made by `{{code}}`{{line}}"
ARRAY_COMPUTED = "is {dtype}: computed by `{{code}}`{{line}}"
MADE_FROM_ARRAY = "is made from a NumPy array by `{code}`{line}"
DEFAULT_PARAMETERS = "has float32 parameters, built by `{code}`{line}"

# NumPy functions whose result is a float64 array unless given `dtype=`.
FLOAT64_FACTORIES = frozenset({
    "zeros", "ones", "empty", "eye", "identity", "linspace", "logspace", "geomspace", "loadtxt", "genfromtxt",
    "random.rand", "random.randn",
})
# NumPy's random samplers: a float64 array when given a size (keyword, or the positional at this index), a
# Python float without one (`torch.tensor(np.random.uniform(0, 1))` is float32).
SIZED_SAMPLERS = {
    "random.random": 0, "random.random_sample": 0, "random.ranf": 0, "random.sample": 0,
    "random.standard_normal": 0, "random.standard_exponential": 0, "random.exponential": 1,
    "random.uniform": 2, "random.normal": 2, "random.laplace": 2, "random.lognormal": 2, "random.beta": 2,
    "random.gamma": 2,
}
# NumPy functions whose result has the dtype of their (first) array argument.
KEEPS_ARRAY_DTYPE = frozenset({
    "array", "asarray", "ascontiguousarray", "copy", "reshape", "squeeze", "expand_dims", "transpose", "flip",
    "fliplr", "flipud", "atleast_1d", "atleast_2d", "atleast_3d", "moveaxis", "swapaxes", "ravel", "clip",
    "zeros_like", "ones_like", "empty_like", "full_like", "abs", "negative",
})
# NumPy functions that join a list of arrays: the dtype they share, if all are known alike.
JOINS = frozenset({"stack", "vstack", "hstack", "concatenate", "column_stack", "dstack", "row_stack"})
# Array methods (and `.T`) whose result keeps the array's dtype.
ARRAY_KEEPS = frozenset({
    "copy", "reshape", "squeeze", "transpose", "flatten", "ravel", "swapaxes", "clip", "view", "T",
    "__getitem__", "repeat",
})
# Array reductions that keep a floating array's dtype.
ARRAY_FLOATING_KEEPS = frozenset({"mean", "sum", "std", "var", "max", "min", "cumsum", "prod"})
# NumPy and builtin names of dtypes, by the canonical name.
_NUMPY_DTYPES = {
    "float64": "float64", "double": "float64", "float_": "float64", "float32": "float32", "single": "float32",
    "float16": "float16", "half": "float16", "int64": "int64", "int32": "int32", "int16": "int16", "int8": "int8",
    "uint8": "uint8", "uint16": "uint16", "uint32": "uint32", "uint64": "uint64", "bool_": "bool",
    "complex64": "complex64", "complex128": "complex128", "longlong": "int64", "intp": "int64",
}
_STRING_DTYPES = dict(_NUMPY_DTYPES, f8="float64", f4="float32", f2="float16", d="float64", f="float32",
                      i8="int64", i4="int32", u1="uint8", bool="bool", float="float64", int="int64")
_BUILTIN_DTYPES = {"float": "float64", "int": "int64", "bool": "bool", "complex": "complex128"}
# torch.nn layers whose input must have their parameters' dtype (float32 unless built or converted otherwise).
FLOAT32_LAYERS = frozenset({"Linear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d",
                            "ConvTranspose2d", "ConvTranspose3d"})
# Parameter-free torch.nn layers whose output has their input's dtype (a Sequential may start with them).
PASSES_DTYPE = frozenset({"Flatten", "Unflatten", "Dropout", "Identity", "ReLU", "Tanh", "Sigmoid", "LeakyReLU",
                          "GELU", "ELU", "SiLU"})
# torch.nn.functional calls of an input and a weight that must share a dtype.
WEIGHTED_FUNCTIONS = frozenset({"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                                "conv_transpose2d", "conv_transpose3d"})


def is_array(facts: Facts) -> bool:
    """A NumPy array (or scalar) whose dtype the code shows."""
    return facts.tensor is NO and facts.module is NO and facts.dtype is not None and facts.dtype_why is not None


def _array(dtype: Optional[str], why: Optional[Evidence]) -> Facts:
    return NOT_TENSOR if dtype is None or why is None else NOT_TENSOR.with_(dtype=dtype, dtype_why=why)


def numpy_dtype_named(node: Optional[cst.BaseExpression], imports: ImportMap) -> Optional[str]:
    """`np.float32`, `"float32"`, `float`, `torch.float32`-free: the canonical dtype a `dtype=` names, or None."""
    if node is None:
        return None
    if isinstance(node, cst.SimpleString):
        return _STRING_DTYPES.get((string_value(node) or "").lstrip("<>=|"))
    if isinstance(node, cst.Name) and node.value in _BUILTIN_DTYPES and node.value not in imports.names:
        return _BUILTIN_DTYPES[node.value]
    qualified = imports.qualified(node) or ""
    if qualified.startswith("numpy.") and qualified.count(".") == 1:
        return _NUMPY_DTYPES.get(qualified[len("numpy."):])
    return None


def _keyword(node: cst.Call, name: str) -> Optional[cst.BaseExpression]:
    return next((arg.value for arg in node.args if arg.keyword is not None and arg.keyword.value == name), None)


def _positional(node: cst.Call) -> Sequence[cst.BaseExpression]:
    return [arg.value for arg in node.args if arg.keyword is None and not arg.star]


def _literal_kind(node: cst.BaseExpression) -> Optional[str]:
    """"float" or "int" for a number literal (`0.5`, `-1`, `1e-3`), else None."""
    while isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        node = node.expression
    if isinstance(node, cst.Float):
        return "float"
    if isinstance(node, cst.Integer):
        return "int"
    return None


def _display_kind(node: cst.BaseExpression) -> Optional[str]:
    """The dtype `np.array` gives a (nested) list or tuple of number literals: "float64" with a float among
    them, "int64" with integers only; None for anything else (a name, a call, an empty display)."""
    kinds = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, (cst.List, cst.Tuple)):
            if not item.elements or any(isinstance(e, cst.StarredElement) for e in item.elements):
                return None
            stack.extend(e.value for e in item.elements)
            continue
        kind = _literal_kind(item)
        if kind is None:
            return None
        kinds.add(kind)
    if not kinds:
        return None
    return "float64" if "float" in kinds else "int64"


def numpy_call(qualified: str, node: cst.Call, facts_of, imports: ImportMap) -> Facts:
    """Facts of the result of the NumPy function `qualified` ("numpy.zeros"): an array of the dtype the code
    shows, or plain NOT_TENSOR. `facts_of(expression)` gives an argument's facts."""
    name = qualified[len("numpy."):]
    made = lambda dtype: _array(dtype, Evidence(ARRAY_MADE.format(dtype=dtype), node))  # noqa: E731
    dtype_argument = _keyword(node, "dtype")
    if dtype_argument is not None:  # `np.zeros(3, dtype=np.float32)`, `np.asarray(x, dtype=float)`
        return made(numpy_dtype_named(dtype_argument, imports))
    if name in ("float64", "float32", "float16", "double", "single") and node.args:  # NumPy scalars of that type
        return made(_NUMPY_DTYPES[name])
    positional = _positional(node)
    if name in FLOAT64_FACTORIES and positional:  # `np.random.rand()` is a Python float
        return made("float64")
    if name in SIZED_SAMPLERS and (_keyword(node, "size") is not None or len(positional) > SIZED_SAMPLERS[name]):
        return made("float64")
    if name == "full" and len(positional) >= 2:
        kind = _literal_kind(positional[1])
        return made({"float": "float64", "int": "int64"}.get(kind or ""))
    if name == "arange" and positional:
        kinds = {_literal_kind(arg) for arg in positional}
        if None in kinds:
            return NOT_TENSOR
        return made("float64" if "float" in kinds else "int64")
    if name in ("array", "asarray") and positional:
        shown = _display_kind(positional[0])
        if shown is not None:
            return made(shown)
    if name in KEEPS_ARRAY_DTYPE and positional:
        source = facts_of(positional[0])
        if is_array(source):
            return _array(source.dtype, source.dtype_why)
        return NOT_TENSOR
    if name in JOINS and positional:
        parts = positional[0]
        if isinstance(parts, (cst.List, cst.Tuple)) and parts.elements:
            elements = [facts_of(e.value) for e in parts.elements if not isinstance(e, cst.StarredElement)]
            if len(elements) == len(parts.elements) and all(is_array(e) for e in elements) and len(
                    {e.dtype for e in elements}) == 1:
                return _array(elements[0].dtype, elements[0].dtype_why)
    return NOT_TENSOR


def array_method(name: str, node: cst.Call, receiver: Facts, imports: ImportMap) -> Facts:
    """`a.astype(np.float32)`, `a.reshape(...)`: the array the method returns, of the dtype the code shows."""
    if name == "astype":
        positional = _positional(node)
        named = numpy_dtype_named(positional[0] if positional else _keyword(node, "dtype"), imports)
        return _array(named, Evidence(ARRAY_COMPUTED.format(dtype=named), node) if named else None)
    if _keyword(node, "dtype") is not None:
        return NOT_TENSOR
    if name in ARRAY_KEEPS or name in ARRAY_FLOATING_KEEPS and receiver.dtype.startswith("float"):
        return _array(receiver.dtype, receiver.dtype_why)
    return NOT_TENSOR


def kept_by_subscript(base: Facts) -> Facts:
    """`a[i]`, `a[:, 0]`: an element or a view of an array keeps its dtype."""
    return _array(base.dtype, base.dtype_why)


def array_arithmetic(node: cst.BinaryOperation, left: Facts, right: Facts) -> Optional[Facts]:
    """The array a binary operation between an array of known dtype and a number literal or another such array
    gives (NumPy 2's promotion, NEP 50), or None when this module does not say (the caller's answer stands)."""
    if not (is_array(left) or is_array(right)):
        return None
    operands = []
    for facts, expression in ((left, node.left), (right, node.right)):
        kind = _literal_kind(expression)
        if kind is not None:
            operands.append(("python", kind, None))
        elif is_array(facts):
            operands.append(("array", facts.dtype, facts.dtype_why))
        else:
            return NOT_TENSOR  # a name of unknown kind or dtype: nothing shown
    arrays = [(dtype, why) for kind, dtype, why in operands if kind == "array"]
    dtypes = {dtype for dtype, _ in arrays}
    if any(d.startswith(("complex", "float16")) for d in dtypes):
        return NOT_TENSOR
    divides = isinstance(node.operator, cst.Divide)
    if "float64" in dtypes:
        return _array("float64", next(why for dtype, why in arrays if dtype == "float64"))
    if len(arrays) == 2:
        return NOT_TENSOR  # float32 with an integer array may widen (int32, int64) or not (int8, int16)
    (dtype, why), = arrays
    python = next(kind for origin, kind, _ in operands if origin == "python")
    if dtype == "float32":
        return _array("float32", why)  # a Python number does not widen a float32 array (NEP 50)
    if divides or python == "float" and isinstance(node.operator, (cst.Add, cst.Subtract, cst.Multiply)):
        # an integer or boolean array divided, or combined with a Python float: float64 (`img / 255.0`)
        return _array("float64", Evidence(ARRAY_COMPUTED.format(dtype="float64"), node, why))
    return NOT_TENSOR


def tensor_from_array(node: cst.Call, source: Optional[Facts]) -> Optional[Facts]:
    """The dtype and evidence a tensor made from an array by `torch.from_numpy/as_tensor/asarray/tensor`
    (`node`, without `dtype=`) has: the array's, or None when the array's dtype is not shown."""
    if source is None or not is_array(source) or _keyword(node, "dtype") is not None:
        return None
    return Facts(dtype=source.dtype, dtype_why=Evidence(MADE_FROM_ARRAY, node, source.dtype_why))


def layer_parameters(name: str, node: cst.Call, imports: ImportMap) -> Optional[Evidence]:
    """The evidence that the torch.nn module `name` built by `node` has float32 parameters (default dtype), or
    None (another layer kind, a `dtype=`/`device=` argument, a Sequential that does not start with such a layer)."""
    if _keyword(node, "dtype") is not None:
        return None
    if name in FLOAT32_LAYERS:
        return Evidence(DEFAULT_PARAMETERS, node)
    if name == "Sequential":
        positional = _positional(node)
        if len(positional) != len(node.args):
            return None
        for layer in positional:  # the first layer with parameters, after parameter-free ones that keep the dtype
            qualified = (imports.qualified(layer.func) or "") if isinstance(layer, cst.Call) else ""
            if not qualified.startswith("torch.nn.") or qualified.count(".") != 2:
                return None
            kind = qualified.rsplit(".", 1)[-1]
            if kind not in PASSES_DTYPE:
                inner = layer_parameters(kind, layer, imports)
                return Evidence(DEFAULT_PARAMETERS, node) if inner is not None else None
    return None


def has_default_parameters(facts: Facts) -> bool:
    """A module (or a parameter of one) whose float32 dtype is torch's default, shown by how it was built."""
    return facts.dtype == "float32" and facts.dtype_why is not None and facts.dtype_why.template is DEFAULT_PARAMETERS


def float64_from_array(facts: Facts) -> Optional[Evidence]:
    """The evidence (`torch.from_numpy(a)`, its cause the array's dtype) of a float64 tensor made from a NumPy
    array, kept on the way (moves, views, arithmetic with numbers), or None."""
    why = facts.dtype_why
    if facts.dtype != "float64" or why is None or why.template is not MADE_FROM_ARRAY or facts.tensor is NO:
        return None
    return why


def class_parameters(cls: cst.ClassDef, imports: ImportMap) -> Optional[Evidence]:
    """The evidence that an instance of this nn.Module class takes float32 input: its `forward` first uses its
    input by calling a layer `self.<name>` that `__init__` builds with float32 parameters (`self.fc(x)`, also
    through a `.view`/`.reshape`/`.flatten` of the input); None when anything else may come first (a cast, an
    embedding, a branch)."""
    methods = {stmt.name.value: stmt for stmt in cls.body.body if isinstance(stmt, cst.FunctionDef)}
    init, forward = methods.get("__init__"), methods.get("forward")
    if init is None or forward is None or len(forward.params.params) < 2 or not all(
            isinstance(method.body, cst.IndentedBlock) for method in (init, forward)):
        return None
    layers = {}
    for statement in init.body.body:
        for small in statement.body if isinstance(statement, cst.SimpleStatementLine) else ():
            if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.value, cst.Call):
                target = dotted_name(small.targets[0].target) or ""
                qualified = imports.qualified(small.value.func) or ""
                if target.startswith("self.") and target.count(".") == 1 and qualified.startswith("torch.nn.") \
                        and qualified.count(".") == 2:
                    found = layer_parameters(qualified.rsplit(".", 1)[-1], small.value, imports)
                    if found is not None:
                        layers[target] = found
    if not layers:
        return None
    argument = forward.params.params[1].name.value
    first = _first_use(forward, argument)
    if first is None:
        return None
    callee = dotted_name(first.func) or ""
    return layers.get(callee)


_SHAPE_METHODS = frozenset({"view", "reshape", "flatten", "squeeze", "unsqueeze", "contiguous"})


def _first_use(function: cst.FunctionDef, argument: str) -> Optional[cst.Call]:
    """The call `self.layer(x)` (or of `x.view(...)`) that is the first statement of `function` reading
    `argument`, when it is a plain statement (an assignment or a return) at the top of the body; else None."""
    for statement in function.body.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                value = getattr(small, "value", None)
                if not isinstance(small, (cst.Assign, cst.Return, cst.Expr)) or value is None:
                    if _reads(small, argument):
                        return None
                    continue
                if not _reads(value, argument):
                    if isinstance(small, cst.Assign) and any(_reads(t.target, argument) for t in small.targets):
                        return None  # the argument is rebound before it is used
                    continue
                if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(
                        small.targets[0].target, cst.Name) and small.targets[0].target.value == argument \
                        and isinstance(value, cst.Call) and _is_argument_reshaped(value, argument):
                    continue  # `x = x.view(-1, 784)`: the same values, the same dtype
                call = _innermost_layer_call(value, argument)
                return call
            continue
        if isinstance(statement, (cst.If, cst.For, cst.While, cst.With, cst.Try)) and _reads(statement, argument):
            return None
    return None


def _innermost_layer_call(value: cst.BaseExpression, argument: str) -> Optional[cst.Call]:
    """`self.fc(x)`, `self.fc(x.view(n, -1))` reading `argument` directly; None for anything else."""
    # descend through the outer calls of the expression to the one whose argument is (a reshape of) `x`
    node = value
    while isinstance(node, cst.Call):
        positional = _positional(node)
        if len(positional) == 1 and isinstance(node.func, cst.Attribute) and dotted_name(node.func) \
                and dotted_name(node.func).startswith("self.") and _is_argument_reshaped(positional[0], argument):
            return node
        if len(positional) != 1:
            return None
        node = positional[0]
    return None


def _is_argument_reshaped(node: cst.BaseExpression, argument: str) -> bool:
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in _SHAPE_METHODS:
        node = node.func.value
    return isinstance(node, cst.Name) and node.value == argument


def _reads(node: cst.CSTNode, name: str) -> bool:
    found = []

    class _Finder(cst.CSTVisitor):
        def visit_Name(self, inner: cst.Name) -> None:
            if inner.value == name:
                found.append(inner)

    node.visit(_Finder())
    return bool(found)


def changes_default_dtype(source: str) -> bool:
    """Does the file mention `torch.set_default_dtype`/`set_default_tensor_type`? Then a module's parameters
    may be float64 by default: nothing is said of them."""
    return "set_default_dtype" in source or "set_default_tensor_type" in source
