"""Finds conversions to NumPy (`.numpy()` and implicit ones) and judges them by provenance."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterator, List, Optional, Tuple

import libcst as cst

from tensorlint.analysis import Facts, YES, dotted_name
from tensorlint.analysis.crossmodule import latent_sites
from tensorlint.analysis.sinks import PLOT_FUNCTIONS, STRUCTURAL_KEYWORDS, converts_to_numpy
from tensorlint.analysis.torch_api import DTYPE_NAMES
from tensorlint.core.diagnostics import Edit, Fix, Safety, changes_nothing
from tensorlint.rules.base import FamilyChecker
from tensorlint.rules.conversion.low_precision import low_precision_finding
from tensorlint.rules.conversion.rules import (RULES, NoncanonicalNumpyChain, NumpyOfLowPrecisionFloat,
                                               NumpyOfUnknownProvenance, NumpyWithoutCpu, NumpyWithoutDetach)
from tensorlint.rules.data.rules import DataRead

GRAD_ERROR = "RuntimeError: Can't call numpy() on Tensor that requires grad"
DEVICE_ERROR = "TypeError: can't convert cuda:0 device type tensor to numpy"
CANONICAL = ".detach().cpu()"

# Reductions that call the argument's own method (`np.mean(t)` is `t.mean(axis=None, ...)`): given a
# tensor directly they raise TypeError whatever its grad or device, so the fix must pass an ndarray.
DELEGATING_REDUCTIONS = frozenset({"sum", "mean", "max", "min", "amax", "amin", "prod", "std", "var", "any", "all"})
_DEVICE_LINKS = ("cpu", "to_cpu")


@dataclass(frozen=True)
class Site:
    """One value converted to NumPy."""
    report_node: cst.CSTNode
    converted: Optional[cst.BaseExpression]  # the expression to rewrite; None: no local rewrite exists
    facts: Facts
    sink: str                                 # "`.numpy()`" or "`np.vstack()`"
    explicit: bool
    delegating: bool = False                  # `np.mean(t)`: NumPy calls `t.mean(axis=...)` (TypeError)
    through_call: bool = False                # converted by the called function: a fix at the call is unsafe


class ConversionChecker(FamilyChecker):
    rules = RULES

    def visit_Call(self, node: cst.Call) -> None:
        for site in self._sites(node):
            self._judge(site)
        for argument, facts, sink in latent_sites(self.semantic, node):  # a helper of another module converts it
            self._judge(Site(argument, argument, facts, sink, explicit=False, through_call=True))

    # -- finding conversion sites -----------------------------------------------------------
    def _sites(self, node: cst.Call) -> Iterator[Site]:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "numpy":
            if self.semantic.imports.numpy_method_is_not_torch or not _plain_numpy_call(node):
                return
            facts = self.semantic.facts(func.value)
            if facts.tensor.possible:
                yield Site(node, func.value, facts, "`.numpy()`", explicit=True)
            return
        sink = self._sink_name(node)
        if sink is None:
            return
        qualified = self.semantic.qualified(node.func) or ""
        delegating = qualified.startswith("numpy.") and qualified.count(".") == 1 \
            and qualified.rsplit(".", 1)[-1] in DELEGATING_REDUCTIONS
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value in STRUCTURAL_KEYWORDS:
                continue
            if arg.star:
                facts = self.semantic.facts(arg.value)
                content = facts.tensor_content() if facts.items is not None else None
                if content is not None:
                    yield Site(arg.value, None, content, sink, explicit=False)
                continue
            for site in self._sites_in(arg.value, sink):
                # only a tensor passed directly reaches the method; list elements go through np.asarray
                yield replace(site, delegating=True) if delegating and site.converted is arg.value else site

    def _sites_in(self, expression: cst.BaseExpression, sink: str) -> Iterator[Site]:
        facts = self.semantic.facts(expression)
        if facts.tensor is YES:
            yield Site(expression, expression, facts, sink, explicit=False)
        elif isinstance(expression, (cst.List, cst.Tuple, cst.Set)):
            for element in expression.elements:
                if isinstance(element, cst.StarredElement):
                    content = self.semantic.facts(element.value).tensor_content()
                    if content is not None and content is not self.semantic.facts(element.value):
                        yield Site(element, None, content, sink, explicit=False)
                else:
                    yield from self._sites_in(element.value, sink)
        elif isinstance(expression, (cst.ListComp, cst.GeneratorExp, cst.SetComp)):
            if facts.items is not None and facts.items.tensor is YES:
                yield Site(expression.elt, expression.elt, facts.items, sink, explicit=False)
        else:
            content = facts.tensor_content()
            if content is not None:
                yield Site(expression, None, content, sink, explicit=False)

    def _sink_name(self, node: cst.Call) -> Optional[str]:
        qualified = self.semantic.qualified(node.func)
        shown = dotted_name(node.func)
        if qualified is not None:
            return f"`{shown or qualified}()`" if converts_to_numpy(qualified) else None
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in PLOT_FUNCTIONS:
            root = node.func.value
            while isinstance(root, (cst.Subscript, cst.Attribute)):
                root = root.value
            if isinstance(root, cst.Name) and root.value.startswith("ax"):
                return f"`{self.context.code(node.func)}()`" if shown is None else f"`{shown}()`"
        return None

    # -- judging a site ---------------------------------------------------------------------
    def _judge(self, site: Site) -> None:
        if self.wants(NumpyOfLowPrecisionFloat) and not isinstance(self.semantic.current_call_site(), str) \
                and not self.semantic.ruled_out_by_call():
            finding = low_precision_finding(site, self.context, self.semantic, self._subject(site))
            if finding is not None:
                self.report(NumpyOfLowPrecisionFloat, site.report_node, *finding)
        facts = site.facts
        if facts.tensor is YES and facts.device.possible and facts.device_why is None:
            beside = self.semantic.peer_host_move(site.converted if site.converted is not None else site.report_node)
            if beside is not None:  # the function's author moves another of its input tensors to the host
                facts = facts.with_(device_why=beside)
                site = replace(site, facts=facts)
        grad_possible = facts.grad.possible and self.semantic.grad_enabled
        device_possible = facts.device.possible
        # Manifest: the value is a tensor and something in the code shows it requires grad / is on an accelerator.
        grad_hazard = grad_possible and facts.tensor is YES and facts.grad_why is not None
        device_hazard = device_possible and facts.tensor is YES and facts.device_why is not None
        cuts_gradients = grad_possible and (self.semantic.in_module_forward or self._flows_into_torch(site.report_node))
        data = self._data_accesses(site.converted) if site.converted is not None else []
        if data and DataRead.code in self.context.codes and self._legacy_data(data[0]):
            # `x.data.numpy()`, `out.data[0].numpy()`: the `.data` read (TL201), whose fix is the canonical chain;
            # a device crash of the same conversion is reported under its own code beside it, with the same fix
            fix = self._canonical_fix(site, force_unsafe=cuts_gradients)
            message = _data_chain_message(self.context.code(data[0]), site)
            self.context.claim(data, handover=(message, fix))
            if device_hazard and self.wants(NumpyWithoutCpu):
                self.report(NumpyWithoutCpu, site.report_node, self._device_message(site), fix)
            return
        if (grad_hazard or device_hazard) and isinstance(self.semantic.current_call_site(), str):
            return  # a call from another module: reported at that call (`latent_sites`), not here
        if (grad_hazard or device_hazard) and self.semantic.ruled_out_by_call():
            return  # the call's flag (or its default) rules out this branch: `if ret_np:` with `ret_np=False`
        if grad_hazard or device_hazard:
            fix = self._canonical_fix(site, force_unsafe=cuts_gradients or site.through_call)
            caveat = ""
            if cuts_gradients:
                caveat = ("; in forward(), `.detach()` cuts gradients: check that is intended"
                          if self.semantic.in_module_forward else
                          "; the result flows back into torch, so `.detach()` cuts gradients: check that is intended")
            reported = False
            if grad_hazard and self.wants(NumpyWithoutDetach):
                self.report(NumpyWithoutDetach, site.report_node, self._grad_message(site) + caveat, fix)
                reported = True
            if device_hazard and self.wants(NumpyWithoutCpu):
                self.report(NumpyWithoutCpu, site.report_node, self._device_message(site) + caveat, fix)
                reported = True
            if reported:
                self.context.claim(data)  # one finding for the conversion and its `.data`, one canonical fix
            return
        if (grad_possible or device_possible) and (site.explicit or facts.tensor is YES) and self.wants(NumpyOfUnknownProvenance):
            # nothing shows a hazard, nothing rules it out: the house style rule (off by default) asks for the chain
            fix = self._canonical_fix(site, force_unsafe=True)
            self.report(NumpyOfUnknownProvenance, site.report_node, _unproven_message(site), fix)
            self.context.claim(data)
            return
        if site.converted is None or not self.wants(NoncanonicalNumpyChain):
            return
        _, links, _ = self._peel(site.converted)
        problem = _chain_problem(links)
        if problem is not None:
            shown = "".join(_LINK_TEXT[link] for link in links) + (".numpy()" if site.explicit else "")
            self.report(NoncanonicalNumpyChain, site.report_node,
                        f"non-canonical conversion chain `{shown}`: {problem}; use "
                        f"`{CANONICAL}{'.numpy()' if site.explicit else ''}`",
                        self._canonical_fix(site, force_unsafe=False))
            self.context.claim(data)

    def _subject(self, site: Site) -> str:
        shown = self.context.one_line(site.converted if site.converted is not None else site.report_node, 40)
        return f"`{shown}`" if shown is not None else "the value"

    def _grad_message(self, site: Site) -> str:
        return _grad_message(site, self._evidence(site, site.facts.grad_why))

    def _device_message(self, site: Site) -> str:
        return _device_message(site, self._evidence(site, site.facts.device_why))

    def _evidence(self, site: Site, why) -> str:
        """`out` comes from `model(x)` (line 12); "it" when the evidence is the converted expression itself."""
        subject = self._subject(site)
        if why.node is not None and f"`{self.context.one_line(why.node)}`" == subject:
            subject = "it"
        return f"{subject} {why.describe(self.context)}"

    def _legacy_data(self, data: cst.Attribute) -> bool:
        """Is this the tensor's own `.data` (a known tensor, or a plain name: `x.data.numpy()` is the legacy
        idiom), rather than a field of some object (`self.data`, `decoder.get_all_samples().data`)?"""
        receiver = data.value
        if self.semantic.facts(receiver).tensor is YES:
            return True
        if isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Attribute):  # `x.cpu().data`
            return _link_of(receiver) is not None or receiver.func.attr.value in _VIEW_METHODS
        return isinstance(receiver, cst.Name) and receiver.value not in ("self", "cls")

    def _data_accesses(self, expression: cst.BaseExpression) -> List[cst.Attribute]:
        """The tensor `.data` reads whose value the conversion converts: links of its chain, and those behind
        views and subscripts (`out.data[0]`, `x.data.view(-1)`)."""
        found: List[cst.Attribute] = []
        node = expression
        while True:
            if isinstance(node, cst.Attribute) and node.attr.value == "data":
                if not self.semantic.may_be_tensor_data(node):
                    return found
                found.append(node)
                node = node.value
            elif isinstance(node, cst.Subscript):
                node = node.value
            elif isinstance(node, cst.Attribute) and node.attr.value in _VIEW_ATTRIBUTES:
                node = node.value
            elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and (
                    node.func.attr.value in _VIEW_METHODS or _link_of(node) is not None):
                node = node.func.value
            else:
                return found

    def _flows_into_torch(self, node: cst.CSTNode) -> bool:
        """Is the converted value an argument of a torch call in the same statement?"""
        for ancestor in reversed(self.semantic.ancestors):
            if isinstance(ancestor, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
                return False
            if ancestor is not node and isinstance(ancestor, cst.Call):
                qualified = self.semantic.qualified(ancestor.func) or ""
                if qualified.startswith("torch."):
                    return True
        return False

    # -- the fix ----------------------------------------------------------------------------
    def _peel(self, expression: cst.BaseExpression) -> Tuple[cst.BaseExpression, List[str], bool]:
        """Split `x.data.cpu().detach()` into base `x` and links [data, cpu, detach] (evaluation order).

        `.data` is peeled only off values that may be tensors and do not look like datasets;
        the third result says whether a peeled `.data` sat on a value not known to be a tensor.
        """
        links: List[str] = []
        uncertain = False
        while True:
            link = _link_of(expression)
            if link is None or expression.lpar:  # `(t.data).cpu()`: a parenthesised link stays in the base
                break
            if link == "data":
                if not self.semantic.may_be_tensor_data(expression):
                    break
                uncertain = uncertain or self.semantic.facts(expression.value).tensor is not YES
            links.append(link)
            expression = expression.value if link == "data" else expression.func.value
        links.reverse()
        return expression, links, uncertain

    def _canonical_fix(self, site: Site, force_unsafe: bool) -> Optional[Fix]:
        converted = site.converted
        if converted is None:
            return None
        base, links, uncertain = self._peel(converted)
        if _is_conjugate_view(base):
            return None  # `x.conj().detach().cpu().numpy()` still raises: it needs `.resolve_conj()`
        context = self.context
        chain = CANONICAL + ".numpy()" if site.delegating else CANONICAL
        # `out.data[0]` → `out[0].detach().cpu()`: a `.data` behind a view goes; the chain at the end replaces it
        behind = self._data_accesses(base)
        drops = [context.edit(context.end_with_parentheses(node.value), context.end_of(node), "") for node in behind]
        uncertain = uncertain or any(self.semantic.facts(node.value).tensor is not YES for node in behind)
        # `x.cpu().squeeze()`, `x.detach()[0]`: links behind views stay where they are; the fix adds only
        # what the value lacks, so no chain ends up with a second `.detach()` or `.cpu()`
        tail, inner = _links_behind(base, context)
        drops += inner
        if site.delegating:
            tail += ".numpy()"
        if behind and site.explicit and converted is base:
            # the rewritten value differs from the original (a host copy of a view), so the edit spans the
            # whole conversion: what the fix changes is then the array `.numpy()` returns, as for the others
            edits = [context.edit(context.end_with_parentheses(base), context.end_of(site.report_node),
                                  tail + ".numpy()")]
        elif converted is not base:  # links to replace: `x.cpu().detach()` → `x.detach().cpu()`
            edits = [context.edit(context.end_with_parentheses(base), context.end_of(converted), tail)]
        elif not tail:
            edits = []
        elif isinstance(base, _NEEDS_NO_PARENS):
            edits = [context.edit(context.end_of(base), context.end_of(base), tail)]
        elif base.lpar and site.explicit:  # `(a + b).numpy()`: the call's span covers the parentheses
            end = context.end_with_parentheses(base)
            edits = [context.edit(end, end, tail)]
        else:  # `np.asarray(a + b)`: wrap, inside the value's own parentheses if it has any
            edits = [context.edit(context.start_of(base), context.start_of(base), "("),
                     context.edit(context.end_of(base), context.end_of(base), ")" + tail)]
        edits = drops + edits
        if any(edit is None for edit in edits) or changes_nothing(context.source, edits):
            return None
        # A safe fix relies on nothing unproven: the receiver is a torch tensor (from a torch source, in a file that
        # imports torch, outside another framework's branch); `.detach()` on a look-alike (`Results.cpu()`) raises.
        adds_link = not ("detach" in links and any(link in _DEVICE_LINKS for link in links))
        proven = not uncertain and (not adds_link or self.semantic.proves_torch_tensor(site.facts))
        safety = Safety.UNSAFE if force_unsafe or not proven else Safety.SAFE
        title = f"Use `{CANONICAL}.numpy()`" if site.explicit else f"Pass `{chain}` to {site.sink}"
        assumes: Tuple[str, ...] = ()
        if not proven:
            title += f" (assumes {self._subject(site)} is a torch tensor)"
            assumes = (" ".join(self.context.code(base).split()),)
        return Fix(title, tuple(edits), safety, assumes)


# What keeps a tensor's values (a view, a copy, a dtype change): a `.data` behind it still feeds the conversion.
_VIEW_METHODS = frozenset({"view", "view_as", "reshape", "reshape_as", "squeeze", "unsqueeze", "permute", "transpose",
                           "t", "flatten", "contiguous", "clone", "float", "double", "half", "long", "int", "bool",
                           "expand", "expand_as", "narrow", "select", "flip"})
_VIEW_ATTRIBUTES = frozenset({"T", "mT", "real"})
_NEEDS_NO_PARENS = (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.List, cst.Tuple)
_LINK_TEXT = {"detach": ".detach()", "cpu": ".cpu()", "to_cpu": '.to("cpu")', "data": ".data"}


# Tensor methods whose result stays on the receiver's device and, given only literal arguments (`dim=0`,
# `keepdim=True`), has autograd history only through the receiver: a link behind them still holds.
_KEEPS_PLACE = frozenset({"sum", "mean", "max", "min", "amax", "amin", "prod", "std", "var", "norm", "abs", "exp",
                          "log", "sqrt", "sigmoid", "tanh", "relu", "softmax", "log_softmax", "argmax", "argmin",
                          "round", "clamp", "clip", "neg", "cumsum", "to_dense"})


def _links_behind(base: cst.BaseExpression, context) -> Tuple[str, List[Optional[Edit]]]:
    """The links to append after `base`, and edits to the links it already has behind views and subscripts.

    `x.cpu().squeeze()` gets `.detach()` before its `.cpu()` and nothing at the end; `x.detach()[0]` gets
    `.cpu()` at the end. A second `.detach()` or plain `.cpu()` behind the first is dropped: it changes
    nothing (`.cpu()` of a host tensor returns it) and is the duplicated link TL103 names.
    """
    detaches: List[cst.Call] = []
    moves: List[cst.Call] = []
    order: List[cst.Call] = []  # the links, last evaluated first
    node = base
    while True:
        if isinstance(node, cst.Subscript) or (isinstance(node, cst.Attribute)
                                               and node.attr.value in _VIEW_ATTRIBUTES):
            node = node.value
            continue
        if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)):
            break
        link, name = _link_of(node), node.func.attr.value
        if link == "detach":
            detaches.append(node)
        elif link in _DEVICE_LINKS or _moves_to_host(node):
            moves.append(node)
        elif not (name in _VIEW_METHODS or (name in _KEEPS_PLACE or _is_dtype_move(node)) and _literal_args(node)):
            break
        if link is not None or node in moves:
            order.append(node)
        node = node.func.value
    if not order:
        return CANONICAL, []
    kept = [moves[-1]] if moves else []
    first_detach = detaches[-1] if detaches else None
    edits: List[Optional[Edit]] = []
    if moves and (first_detach is None or order.index(first_detach) < order.index(moves[-1])):
        # no `.detach()` before the first move: insert one there (`x.detach().cpu().squeeze()`)
        end = context.end_with_parentheses(moves[-1].func.value)
        edits.append(context.edit(end, end, ".detach()"))
    elif first_detach is not None:
        kept.append(first_detach)
    for link in order:
        if link not in kept and _link_of(link) is not None:  # `.to("cpu", dtype)` also converts: it stays
            edits.append(context.edit(context.end_with_parentheses(link.func.value), context.end_of(link), ""))
    return ("" if moves else ".cpu()"), edits


def _moves_to_host(call: cst.Call) -> bool:
    """`.to("cpu", non_blocking=True)`, `.to(device="cpu", dtype=d)`: a copy to the host with more to it."""
    if not (isinstance(call.func, cst.Attribute) and call.func.attr.value == "to" and call.args):
        return False
    device = next((arg for arg in call.args if arg.keyword is not None and arg.keyword.value == "device"),
                  call.args[0] if call.args[0].keyword is None else None)
    return device is not None and _names_cpu(device)


def _is_dtype_move(call: cst.Call) -> bool:
    """`.to(torch.float32)`: a dtype change that stays on the device."""
    return (isinstance(call.func, cst.Attribute) and call.func.attr.value == "to" and len(call.args) == 1
            and call.args[0].keyword is None and (dotted_name(call.args[0].value) or "").startswith("torch.")
            and dotted_name(call.args[0].value).rsplit(".", 1)[-1] in DTYPE_NAMES)


def _literal_args(call: cst.Call) -> bool:
    """Only numbers, strings, True/False/None and torch dtypes: no argument can bring autograd history."""
    def literal(value: cst.BaseExpression) -> bool:
        if isinstance(value, (cst.Integer, cst.Float, cst.SimpleString)):
            return True
        if isinstance(value, cst.Name):
            return value.value in ("True", "False", "None")
        if isinstance(value, cst.UnaryOperation):
            return literal(value.expression)
        if isinstance(value, (cst.Tuple, cst.List)):
            return all(not isinstance(e, cst.StarredElement) and literal(e.value) for e in value.elements)
        name = dotted_name(value) or ""
        return name.startswith("torch.") and name.rsplit(".", 1)[-1] in DTYPE_NAMES
    return all(not arg.star and literal(arg.value) for arg in call.args)


def _is_conjugate_view(expression: cst.BaseExpression) -> bool:
    """`x.conj()`, `x.conj().imag`: NumPy refuses the conjugate/negative bit even after detach and cpu."""
    while isinstance(expression, cst.Attribute) and expression.attr.value in ("imag", "real", "T", "mT"):
        expression = expression.value
    return (isinstance(expression, cst.Call) and isinstance(expression.func, cst.Attribute)
            and expression.func.attr.value in ("conj", "conj_physical_") and not expression.args)


def _link_of(expression: cst.BaseExpression) -> Optional[str]:
    """Which conversion link ends this expression: detach, cpu, to_cpu, data, or None."""
    if isinstance(expression, cst.Attribute) and expression.attr.value == "data":
        return "data"
    if not (isinstance(expression, cst.Call) and isinstance(expression.func, cst.Attribute)):
        return None
    name = expression.func.attr.value
    if name in ("detach", "cpu") and not expression.args:
        return name
    if name == "to" and len(expression.args) == 1 and _names_cpu(expression.args[0]):
        return "to_cpu"
    return None


def _names_cpu(arg: cst.Arg) -> bool:
    if arg.keyword is not None and arg.keyword.value != "device":
        return False
    value = arg.value
    if isinstance(value, cst.Call) and len(value.args) == 1 and dotted_name(value.func) in ("torch.device", "device"):
        value = value.args[0].value
    return isinstance(value, cst.SimpleString) and value.evaluated_value == "cpu"


def _chain_problem(links: List[str]) -> Optional[str]:
    if "data" in links:
        return "`.data` is unsafe legacy (it hides in-place changes from autograd)"
    if "detach" in links:
        first_device = next((i for i, link in enumerate(links) if link in _DEVICE_LINKS), None)
        if first_device is not None and first_device < links.index("detach"):
            return "moving before detaching records a differentiable copy"
    device_links = [link for link in links if link in _DEVICE_LINKS]
    if links.count("detach") > 1 or len(device_links) > 1:
        return "duplicated links"
    return None


def _plain_numpy_call(node: cst.Call) -> bool:
    """`.numpy()` with no arguments or `force=False`; any other `force=` is a deliberate choice."""
    for arg in node.args:
        if arg.keyword is None or arg.keyword.value != "force":
            return False
        if not (isinstance(arg.value, cst.Name) and arg.value.value == "False"):
            return False
    return True


def _data_chain_message(data: str, site: Site) -> str:
    chain = f"{CANONICAL}.numpy()" if site.explicit or site.delegating else CANONICAL
    return (f"`{data}` reads through unsafe legacy `.data` to convert to NumPy: drop `.data` and end the "
            f"chain with `{chain}` (autograd then sees later in-place changes)")


def _unproven_message(site: Site) -> str:
    chain = f"{CANONICAL}.numpy()" if site.explicit or site.delegating else CANONICAL
    return (f"{site.sink} of a value whose provenance is unknown: use the canonical `{chain}` (house style; "
            f"nothing here shows it requires grad or is on an accelerator)")


def _delegation_message(site: Site, hazard: str) -> str:
    method = site.sink.strip("`()").rsplit(".", 1)[-1]
    return (f"{site.sink} calls the tensor's own `.{method}(axis=...)`, which raises TypeError (and the tensor "
            f"{hazard}): pass `{CANONICAL}.numpy()`")


def _grad_message(site: Site, evidence: str) -> str:
    return _hazard_message(site, evidence, "may require grad", ".detach()", GRAD_ERROR)


def _device_message(site: Site, evidence: str) -> str:
    return _hazard_message(site, evidence, "may be on an accelerator", ".cpu()", DEVICE_ERROR)


def _hazard_message(site: Site, evidence: str, hazard: str, link: str, error: str) -> str:
    if site.delegating:
        return _delegation_message(site, f"{hazard}: {evidence}")
    if site.explicit:
        return f"`.numpy()` on a tensor that {hazard} ({evidence}): insert `{link}` first (raises \"{error}\")"
    return f"{site.sink} converts a tensor that {hazard} to NumPy ({evidence}): {_remedy(site)} (raises \"{error}\")"


def _remedy(site: Site) -> str:
    if site.converted is None:
        return f"apply `{CANONICAL}` to each tensor where the collection is built"
    return f"pass `{CANONICAL}`"
