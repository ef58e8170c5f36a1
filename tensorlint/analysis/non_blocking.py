"""Non-blocking device-to-host copies, and the first host read of what they fill before a synchronisation.

`y = x.to("cpu", non_blocking=True)` (also `device="cpu"`, `torch.device("cpu")`, a name bound to one) and
`dst.copy_(x, non_blocking=True)` into a host tensor `dst` may return before the data has arrived from the
accelerator: the host tensor is filled by a DMA still in flight. (`Tensor.cpu()` takes no `non_blocking` on
torch 2.13.) Reading it on the host before a synchronisation reads stale values.

The evidence (`host_copy`): the target is shown to be the host (`denotes_accelerator` is NO), `non_blocking=True`
is written, and the source is a value that may be a tensor and is not shown to be on the host already (on the
host the copy is a no-op and nothing is in flight). Where the source's device is not shown either, the code
around the copy must show that it works with an accelerator (`accelerator_context`: a pinned buffer, a
`torch.cuda.*` call, `.cuda()`, a `"cuda"` device in the function or its class): `non_blocking=True` alone only
says what the author expected, and a helper called with host tensors copies nothing (sample-factory's
`_build_pack_info_from_dones`).

The read (`first_host_read`): from the copy on, in source order through the rest of the enclosing function
(or module), following the names the copy is bound to and their views (`.numpy()`, `np.asarray`, indexing,
`.view()`, `.detach()`), the first use that reads the values on the host: `.item()`, `.tolist()`, reductions and
arithmetic, `float(y)`, `print(y)`, an f-string, a NumPy or torch function, a test (`if y:`), an index-put
into a host tensor (`buf[i] = y`), `pickle`/`torch.save`. Only shapes and dtypes, views, passing the value on
(`return y`, `out.append(y)`, an unknown function) read nothing here. Anything that may synchronise ends the
search without a finding: a `.synchronize()` (device, stream, event), an event `.query()`, a call whose name
says it syncs or waits (`self.wait_for_copy()`), and a blocking `.item()`/`.tolist()`/`.cpu()`/`.to(<host>)`
of another value (it waits for the stream the copy was queued on, when that is the current one). `torch.split`,
`torch.chunk` and the other view functions read nothing either. So does leaving the
function, a nested function or a rebinding of the name. Statements are read in source order: a sync on one
branch of an `if` counts for the code after it, and a loop's next iteration is not followed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Optional, Sequence, Set

import libcst as cst

from tensorlint.analysis.facts import NO, YES, Evidence, Facts
from tensorlint.analysis.following import Header, first_use, following_units, nodes_of, parents_of, statement_index
from tensorlint.analysis.imports import dotted_name
from tensorlint.analysis.walk import descendants

FactsOf = Callable[[cst.BaseExpression], Facts]
QualifiedOf = Callable[[cst.BaseExpression], Optional[str]]

# Tensor (and ndarray) methods that read the values on the host.
READ_METHODS = frozenset({
    "item", "tolist", "sum", "mean", "max", "min", "argmax", "argmin", "amax", "amin", "any", "all", "nonzero",
    "std", "var", "prod", "cumsum", "sort", "argsort", "topk", "unique", "clone", "copy", "eq", "ne", "gt", "ge",
    "lt", "le", "abs", "float", "double", "long", "int", "half", "bool", "norm", "equal", "allclose", "isnan",
    "isinf", "round", "astype", "tobytes", "__float__", "__int__", "__bool__", "__index__", "count_nonzero",
    "median", "mode", "bincount", "histc", "dot", "matmul", "add", "sub", "mul", "div",
})
# Methods that give a view (or the same memory) of the value, and nothing read yet.
VIEW_METHODS = frozenset({
    "numpy", "view", "view_as", "detach", "t", "permute", "transpose", "squeeze", "unsqueeze", "narrow", "select",
    "expand", "expand_as", "unbind", "split", "chunk", "cpu", "as_strided", "unfold", "movedim", "swapaxes",
    "__array__",
})
# Attributes that are views of the value; every other attribute (`.shape`, `.dtype`) reads no data.
VIEW_ATTRIBUTES = frozenset({"T", "mT", "H", "mH", "real", "imag", "data"})
# (`list(y)`, `tuple(y)` only split it into views of its rows.)
READ_BUILTINS = frozenset({"float", "int", "bool", "complex", "print", "str", "repr", "format", "sum", "max", "min",
                           "sorted", "abs", "round", "any", "all"})
_NUMPY_VIEWS = frozenset({"numpy.asarray", "numpy.asanyarray"})
_NUMPY_METADATA = frozenset({"numpy.shape", "numpy.ndim", "numpy.size", "numpy.result_type"})
_TORCH_VIEWS = frozenset({"torch.from_numpy", "torch.as_tensor", "torch.asarray", "torch.split", "torch.chunk",
                          "torch.unbind", "torch.narrow", "torch.tensor_split", "torch.hsplit", "torch.vsplit",
                          "torch.dsplit", "torch.select", "torch.squeeze", "torch.unsqueeze", "torch.permute",
                          "torch.transpose", "torch.t", "torch.movedim", "torch.swapaxes", "torch.detach"})
_TORCH_METADATA = frozenset({"torch.is_tensor", "torch.numel", "torch.is_floating_point", "torch.is_complex"})
_SERIALIZERS = frozenset({"pickle.dump", "pickle.dumps", "json.dump", "json.dumps", "torch.save"})
# What may synchronise the host with the copy's stream (see the module docstring).
_BLOCKING_METHODS = frozenset({"item", "tolist", "cpu"})
_SYNC_WORDS = ("sync", "wait")


@dataclass(frozen=True)
class HostCopy:
    """A non-blocking copy to the host: the call, what it copies, and the names its result is first bound to."""
    call: cst.Call
    source: cst.BaseExpression
    source_why: Optional[Evidence]   # what shows the source is on an accelerator (None: not shown)
    into: Optional[cst.BaseExpression] = None  # `dst` of `dst.copy_(x, non_blocking=True)`
    # when the source's device is not shown: what shows the code around the copy works with an accelerator
    around: Optional[Evidence] = None


@dataclass(frozen=True)
class HostRead:
    node: cst.CSTNode   # the expression that reads
    read: str           # how it reads, in words ("`.item()`")
    value: str          # the name read ("y"), or "" when the copy's own result is read directly


def host_copy(call: cst.Call, facts_of: FactsOf, ancestors: Sequence[cst.CSTNode] = (),
              qualified_of: Optional[QualifiedOf] = None) -> Optional[HostCopy]:
    """`x.to(<host>, non_blocking=True)` or `dst.copy_(x, non_blocking=True)` into a host tensor, from a source not
    shown to be on the host; None otherwise. `ancestors` (the walker's path to the call) name the enclosing
    function, whose parameters are no proof of the host."""
    func = call.func
    if not isinstance(func, cst.Attribute) or func.attr.value not in ("to", "copy_"):
        return None
    if func.attr.value == "to":
        if not _keyword_true(call, "non_blocking") or not _targets_host(call, facts_of, _parameter_names(ancestors)):
            return None
        source, into = func.value, None
    else:
        positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
        blocking = _keyword_true(call, "non_blocking") or (len(positional) > 1 and _is_true(positional[1].value))
        if not positional or not blocking:
            return None
        destination = facts_of(func.value)
        if destination.tensor is not YES or destination.device is not NO:
            return None
        source, into = positional[0].value, func.value
    facts = facts_of(source)
    if facts.tensor is NO or facts.module is YES or facts.device is NO or facts.items is not None:
        return None
    if facts.device_evidenced:
        return HostCopy(call, source, facts.device_why, into)
    around = accelerator_context(ancestors, qualified_of)
    return HostCopy(call, source, None, into, around) if around is not None else None


def accelerator_context(ancestors: Sequence[cst.CSTNode], qualified_of: Optional[QualifiedOf]) -> Optional[Evidence]:
    """What shows that the code around a copy works with an accelerator, when its source's device is not shown:
    in the enclosing function, or the class around it, host memory pinned for transfers (`pin_memory=True`,
    `.pin_memory()`), a `torch.cuda.*` call, `.cuda()` or a `"cuda"` device. A helper that only moves what it
    is given (`lengths.to("cpu", non_blocking=True)` of a parameter, called with host tensors) shows none."""
    scopes = [node for node in ancestors if isinstance(node, (cst.FunctionDef, cst.ClassDef))]
    for scope in reversed(scopes[-2:]):
        for node in descendants(scope):
            if isinstance(node, cst.Arg) and node.keyword is not None and node.keyword.value == "pin_memory" \
                    and _is_true(node.value):
                return Evidence("`pin_memory=True`{line}", node)
            if isinstance(node, cst.Call):
                func = node.func
                if isinstance(func, cst.Attribute) and func.attr.value in ("cuda", "pin_memory"):
                    return Evidence(_WORKS_WITH, node)
                qualified = qualified_of(func) if qualified_of is not None else None
                if (qualified or "").startswith("torch.cuda."):
                    return Evidence(_WORKS_WITH, node)
            if isinstance(node, cst.SimpleString) and node.evaluated_value in ("cuda",) or \
                    isinstance(node, cst.SimpleString) and str(node.evaluated_value).startswith("cuda:"):
                return Evidence(_WORKS_WITH, node)
    return None


_WORKS_WITH = "`{code}`{line}"


def first_host_read(copy: HostCopy, ancestors: Sequence[cst.CSTNode], facts_of: FactsOf,
                    qualified: QualifiedOf) -> Optional[HostRead]:
    """The first read on the host of what `copy` fills, before anything that may synchronise (module docstring).
    `ancestors` is the path from the module to the copy's call (the walker's)."""
    index = statement_index(ancestors)
    if index is None:
        return None
    reader = _Reader(facts_of, qualified)
    statement = ancestors[index]
    parents = parents_of(statement)
    aliases: Set[str] = set()
    if copy.into is not None:
        root = _root_name(copy.into)
        if root is None:
            return None
        aliases.add(root)
    else:
        use = reader.use(copy.call, parents)
        if isinstance(use, HostRead):
            return use
        aliases |= use
    if not aliases:
        return None
    for unit in following_units(ancestors, index):
        found = reader.scan(unit, aliases)
        if found is not None:
            return found if isinstance(found, HostRead) else None
        if not aliases:
            return None
    return None


class _Reader:
    def __init__(self, facts_of: FactsOf, qualified: QualifiedOf) -> None:
        self.facts_of = facts_of
        self.qualified = qualified

    def scan(self, unit: cst.CSTNode, aliases: Set[str]):
        """A HostRead, True when the unit may synchronise (the search ends), None to go on; updates `aliases`."""
        if any(isinstance(node, cst.Call) and self._syncs(node, aliases) for node in nodes_of(unit)):
            return True
        return first_use(unit, aliases, self.use)

    def use(self, node: cst.BaseExpression, parents: Dict[int, cst.CSTNode], name: str = ""):
        """How the code uses `node`, a value the copy fills: a HostRead, or the names it is bound to (a set)."""
        current = node
        while True:
            parent = parents.get(id(current))
            if isinstance(parent, cst.Attribute) and parent.value is current:
                call = parents.get(id(parent))
                attr = parent.attr.value
                if isinstance(call, cst.Call) and call.func is parent:
                    if attr in READ_METHODS:
                        return HostRead(call, f"`.{attr}()`", name)
                    if attr in VIEW_METHODS or attr == "to" and _only_host_or_keywords(call, self.facts_of):
                        current = call
                        continue
                    return set()
                if attr in VIEW_ATTRIBUTES:
                    current = parent
                    continue
                return set()
            if isinstance(parent, cst.Subscript) and parent.value is current:
                current = parent
                continue
            if isinstance(parent, cst.Arg):
                call = parents.get(id(parent))
                if not isinstance(call, cst.Call) or parent.value is not current:
                    return set()
                if parent.keyword is not None and parent.keyword.value == "out":
                    return set()
                kind = self._call_kind(call)
                if kind == "read":
                    return HostRead(call, f"`{_callee_text(call)}(...)`", name)
                if kind == "view" and parent.keyword is None:
                    current = call
                    continue
                return set()
            if isinstance(parent, (cst.Element, cst.List, cst.Tuple)):
                container = parent if not isinstance(parent, cst.Element) else parents.get(id(parent))
                holder = parents.get(id(container))
                call = parents.get(id(holder)) if isinstance(holder, cst.Arg) else None
                if isinstance(call, cst.Call) and self._call_kind(call) == "read" and _callee_root(call, self.qualified):
                    return HostRead(call, f"`{_callee_text(call)}(...)`", name)
                return set()
            if isinstance(parent, (cst.BinaryOperation, cst.UnaryOperation, cst.BooleanOperation)):
                return HostRead(parent, "arithmetic on it" if not isinstance(parent, cst.BooleanOperation)
                                else "a truth test", name)
            if isinstance(parent, cst.ComparisonTarget) or isinstance(parent, cst.Comparison):
                comparison = parent if isinstance(parent, cst.Comparison) else parents.get(id(parent))
                if isinstance(comparison, cst.Comparison) and not any(
                        isinstance(t.operator, (cst.Is, cst.IsNot, cst.In, cst.NotIn)) for t in comparison.comparisons):
                    return HostRead(comparison, "a comparison", name)
                return set()
            if isinstance(parent, (cst.Assert, cst.IfExp)) and parent.test is current or \
                    isinstance(parent, Header) and parent.test:
                return HostRead(current, "a truth test", name)
            if isinstance(parent, cst.FormattedStringExpression):
                return HostRead(current, "string formatting", name)
            if isinstance(parent, cst.AugAssign) and parent.target is current:
                return HostRead(parent, "an in-place operation", name)
            if isinstance(parent, (cst.Assign, cst.AnnAssign)) and parent.value is current:
                targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
                for target in targets:
                    if isinstance(target, cst.Subscript) and self._host_tensor(target.value):
                        return HostRead(current, f"the index-put into the host tensor `{_text(target.value)}`", name)
                return {found for target in targets for found in [dotted_name(target)] if found}
            return set()

    def _call_kind(self, call: cst.Call) -> str:
        """"read", "view" (the result is the same memory) or "" (unknown: nothing known to be read here)."""
        qualified = self.qualified(call.func) or ""
        if isinstance(call.func, cst.Name) and not qualified:
            return "read" if call.func.value in READ_BUILTINS else ""
        if qualified in _NUMPY_VIEWS:
            return "view" if not any(a.keyword is not None and a.keyword.value == "dtype" for a in call.args) else "read"
        if qualified in _TORCH_VIEWS:
            return "view"
        if qualified in _NUMPY_METADATA or qualified in _TORCH_METADATA:
            return ""
        if qualified in _SERIALIZERS:
            return "read"
        if qualified.startswith(("numpy.", "torch.")) and not qualified.startswith(("torch.cuda.", "torch.distributed.")):
            return "read"
        return ""

    def _host_tensor(self, node: cst.BaseExpression) -> bool:
        facts = self.facts_of(node)
        return facts.tensor is YES and facts.device is NO and facts.items is None

    def _syncs(self, call: cst.Call, aliases: Set[str]) -> bool:
        func = call.func
        name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        lowered = name.lower()
        if any(word in lowered for word in _SYNC_WORDS) or name == "query":
            return True
        blocking_copy = name == "to" and not _keyword_true(call, "non_blocking") and _targets_host(call, self.facts_of)
        if isinstance(func, cst.Attribute) and (name in _BLOCKING_METHODS or blocking_copy):
            # of another value (not `y.sum().item()`): it waits for the stream the copy was queued on
            return not any(isinstance(node, (cst.Name, cst.Attribute)) and dotted_name(node) in aliases
                           for node in nodes_of(func.value))
        return False


def _root_name(node: cst.BaseExpression) -> Optional[str]:
    """`buf` of `buf[:n]`, `buf.view(-1)[0]`: the name whose memory the expression is."""
    while True:
        if isinstance(node, cst.Subscript):
            node = node.value
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in VIEW_METHODS:
            node = node.func.value
        else:
            return dotted_name(node)


def _only_host_or_keywords(call: cst.Call, facts_of: FactsOf) -> bool:
    """`.to("cpu")` of a host tensor returns it: still the same memory."""
    positional = [arg.value for arg in call.args if arg.keyword is None]
    device = [arg.value for arg in call.args if arg.keyword is not None and arg.keyword.value == "device"]
    targets = positional + device
    return len(targets) == 1 and facts_of(targets[0]).denotes_accelerator is NO and len(call.args) == len(targets)


def _parameter_names(ancestors: Sequence[cst.CSTNode]) -> frozenset:
    function = next((node for node in reversed(ancestors) if isinstance(node, cst.FunctionDef)), None)
    if function is None:
        return frozenset()
    params = function.params
    return frozenset(p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params))


def _targets_host(call: cst.Call, facts_of: FactsOf, parameters: frozenset = frozenset()) -> bool:
    devices = [arg.value for arg in call.args if arg.keyword is not None and arg.keyword.value == "device"]
    if not devices:
        devices = [arg.value for arg in call.args if arg.keyword is None and not arg.star][:1]
    # An attribute (`self.device`) is set elsewhere, often from a parameter whose default is "cpu" while the callers
    # pass an accelerator (then the copy goes to the device, and nothing is read stale): not proof of the host.
    # A parameter is "cpu" by its default only: a caller may pass the accelerator, as for an attribute.
    return len(devices) == 1 and not isinstance(devices[0], cst.Attribute) \
        and not (isinstance(devices[0], cst.Name) and devices[0].value in parameters) \
        and facts_of(devices[0]).denotes_accelerator is NO


def _keyword_true(call: cst.Call, keyword: str) -> bool:
    return any(arg.keyword is not None and arg.keyword.value == keyword and _is_true(arg.value) for arg in call.args)


def _is_true(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"


def _callee_text(call: cst.Call) -> str:
    return dotted_name(call.func) or "..."


def _callee_root(call: cst.Call, qualified: QualifiedOf) -> bool:
    return bool(qualified(call.func))


def _text(node: cst.CSTNode) -> str:
    return dotted_name(node) or cst.Module([]).code_for_node(node)


__all__ = ["HostCopy", "HostRead", "READ_METHODS", "VIEW_METHODS", "first_host_read", "host_copy"]
