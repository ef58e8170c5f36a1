"""What modules of one project tell each other: summaries of their functions and classes, and calls between them.

A check of one file sees `from .utils import to_np` and nothing of `to_np`. Across a project run
(`tensorlint check DIR`), each file is first checked alone; its analysis records what it could not resolve
(*queries*: an imported function it called, a base class from another module, a star import) and the calls
it made into other modules with something specific (*outgoing calls*: a tensor that requires grad, a
model, or from a step loop). The queried modules are then *summarised* (what each function returns, what
it proves about its parameters, whether it does a training step; for classes also whether they are
nn.Modules and which of their methods a step loop calls), and the files whose queries got an answer that
says more than "unknown", or that receive outgoing calls, are checked again with a `ProjectContext`.

Everything here is plain data that survives JSON, so the result cache can keep it (`project_run.py`).
Summaries are context-free (the callee's parameters unknown): a caller sees a helper's return facts, not a
re-walk with its own arguments, which only same-file calls get. Two parts of a summary are about its
parameters: the *latent conversions* (a parameter reaches `np.asarray` without `.detach()`/`.cpu()`), which
the conversion checker judges at the caller's argument (`latent_sites`: the finding is in the caller's file),
and *passes* (the returned tensor keeps an argument's grad or device), which `returns_given` applies.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Callable, Dict, FrozenSet, List, Optional, Tuple

from tensorlint.analysis.facts import MAYBE, NO, UNKNOWN, YES, Evidence, Facts, Tri
from tensorlint.analysis.literals import literal_truth

# Modules that are never part of a checked project: their names are not queried.
# (Which names are the project's is the project run's to decide, from the files it checks; these never are.)
THIRD_PARTY_ROOTS = frozenset({
    "torch", "numpy", "scipy", "sklearn", "matplotlib", "pandas", "PIL", "cv2", "math", "os", "sys", "re",
    "typing", "collections", "functools", "itertools", "logging", "json", "time", "random", "pathlib",
    "tqdm", "torchvision", "torchaudio", "einops", "tensorflow", "jax", "abc", "dataclasses", "copy",
    "warnings", "inspect", "argparse", "contextlib", "enum", "types", "pickle", "shutil", "glob", "subprocess",
    "threading", "multiprocessing", "io", "string", "textwrap", "operator", "numbers", "h5py", "yaml", "six",
})
UNINFORMATIVE = UNKNOWN.with_(module=NO)


# -- facts as JSON ------------------------------------------------------------------------------------
def encode_facts(facts: Optional[Facts]):
    if facts is None:
        return None
    return [int(facts.tensor), int(facts.grad), int(facts.device), int(facts.module), encode_facts(facts.items),
            None if facts.parts is None else [encode_facts(p) for p in facts.parts],
            None if facts.denotes_accelerator is None else int(facts.denotes_accelerator),
            _encode_why(facts.grad_why), _encode_why(facts.device_why), facts.guessed]


def decode_facts(data) -> Optional[Facts]:
    if data is None:
        return None
    tensor, grad, device, module, items, parts, accelerator, grad_why, device_why, guessed = data
    return Facts(Tri(tensor), Tri(grad), Tri(device), Tri(module), decode_facts(items),
                 None if parts is None else tuple(decode_facts(p) for p in parts),
                 None if accelerator is None else Tri(accelerator),
                 _decode_why(grad_why), _decode_why(device_why), bool(guessed))


def _encode_why(why: Optional[Evidence]) -> Optional[str]:
    """Evidence crosses modules as words (its nodes and lines belong to the other module's tree)."""
    if why is None:
        return None
    text = why.describe()
    return text if text.endswith(" in another module") else text + " in another module"


def _decode_why(text: Optional[str]) -> Optional[Evidence]:
    return None if text is None else Evidence(text)  # words only: nothing is formatted without a node


# -- summaries ---------------------------------------------------------------------------------------
GRAD, DEVICE = "grad", "device"   # the two hazards of a conversion: a caller's evidence of either makes it manifest
# (a `passes` fact) the return comes from calling the parameter, a model known by its name only: it requires grad
# when the caller's argument is a model its code shows (docs/provenance.md, "A model passed in as a parameter")
MODEL = "model"


@dataclass(frozen=True)
class LatentConversion:
    """A parameter that reaches a conversion to NumPy in the function (or a same-file helper it calls) without
    `.detach()` (`needs` "grad") or without `.cpu()` (`needs` "device"): latent until a caller passes a tensor
    with evidence of that hazard, and reported at that call (`def to_np(t): return np.asarray(t)`)."""
    param: str
    needs: str
    where: str      # the conversion's place: "pkg/utils.py:3" (the module's path inside its package root)
    sink: str       # "`np.asarray()`", "`.numpy()`"
    # (param, truth): the conversion sits under `if param:` (True) or its `else`/`if not param:` (False);
    # a call whose argument or default for `param` has the other truth value does not reach it
    guards: Tuple[Tuple[str, bool], ...] = ()

    def encode(self):
        return [self.param, self.needs, self.where, self.sink, [list(g) for g in self.guards]]

    def reached_by(self, call, params: Tuple[str, ...], defaults: Dict[str, bool]) -> bool:
        return guards_reached(self.guards, call, params, defaults)


def guards_reached(guards, call, params: Tuple[str, ...], defaults: Dict[str, bool]) -> bool:
    """Does `call` reach code under these `if param:` guards, (param, truth) each? Not when its literal argument
    for a guard's parameter, or the parameter's literal default where it passes none, has the other truth value
    (`to_np(x)` does not reach `if ret_np: return g.numpy()` with `ret_np=False` its default)."""
    return flags_reach(guards, call_flags(call), params, defaults)


def literal_defaults(function) -> Tuple[Tuple[str, bool], ...]:
    """(param, truth) of a function node's literal defaults (`sparse=False`, `device=None`)."""
    params = function.params
    found = []
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        truth = literal_truth(param.default) if param.default is not None else None
        if truth is not None:
            found.append((param.name.value, truth))
    return tuple(found)


def none_defaults(function) -> Tuple[str, ...]:
    """The parameters of a function node whose default is `None`."""
    params = function.params
    return tuple(param.name.value for param in (*params.posonly_params, *params.params, *params.kwonly_params)
                 if type(param.default).__name__ == "Name" and param.default.value == "None")


@dataclass(frozen=True)
class FunctionSummary:
    params: Tuple[str, ...]
    returns: Facts = UNINFORMATIVE
    evidence: Tuple[Tuple[str, Facts], ...] = ()   # what its body proves about a parameter (`loss.backward()`)
    performs_step: bool = False                    # one training step per call
    conversions: Tuple[LatentConversion, ...] = ()
    # (param, GRAD/DEVICE): the returned tensor is computed from the parameter and keeps that fact of it
    # (`def scale(x): return x * 2` returns a tensor on the device when given one there)
    passes: Tuple[Tuple[str, str], ...] = ()
    defaults: Tuple[Tuple[str, bool], ...] = ()   # truth of the literal defaults (`sparse=False`) guards read
    syncs_every_call: bool = False                # waits for the device on each call (`labels.unique()`)
    # What a call that leaves these `None`-default parameters out (or passes `None`) gets back, where that says
    # less than `returns` (`def mel(audio, device=None): if device is not None: audio = audio.to(device)`)
    unpassed: Tuple[str, ...] = ()
    returns_unpassed: Optional[Facts] = None
    returns_host_copy: bool = False  # returns `.cpu().numpy()` of a tensor it computes (analysis/host_copy.py)

    @property
    def informative(self) -> bool:
        return (self.returns != UNINFORMATIVE or bool(self.evidence) or self.performs_step or bool(self.conversions)
                or bool(self.passes) or self.syncs_every_call or self.returns_host_copy)

    def returns_given(self, arguments: Dict[str, Facts]) -> Facts:
        """What a call returns given its arguments' facts (by parameter name): the context-free return facts,
        with the grad or device evidence of an argument the return is computed from."""
        result = self.returns
        if self.unpassed and not any(param in arguments for param in self.unpassed):
            result = self.returns_unpassed  # (`bound_facts` leaves out the `None`s a call passes)
        for param, fact in self.passes:
            given = arguments.get(param)
            if fact == MODEL and given is not None and given.module.possible and not given.named_parameter:
                why = Evidence(f"comes from a call of the argument `{param}` in another module")
                result = result.with_(tensor=YES, grad=max(result.grad, MAYBE), grad_why=why)
                continue
            if given is None or given.tensor is not YES:
                continue
            if fact == GRAD and given.grad_evidenced:
                result = result.with_(tensor=YES, grad=max(result.grad, given.grad), grad_why=given.grad_why)
            elif fact == DEVICE and given.device_evidenced:
                result = result.with_(tensor=YES, device=max(result.device, given.device), device_why=given.device_why)
        return result

    def encode(self):
        """As JSON data; shared, not to be changed (a project run encodes a summary into the cache key of every
        file that imports it, so it is built once)."""
        return self._encoded

    @cached_property
    def _encoded(self):
        return [list(self.params), encode_facts(self.returns), [[p, encode_facts(f)] for p, f in self.evidence],
                self.performs_step, [c.encode() for c in self.conversions], [list(p) for p in self.passes],
                [list(d) for d in self.defaults], self.syncs_every_call, list(self.unpassed),
                encode_facts(self.returns_unpassed), self.returns_host_copy]

    @classmethod
    def decode(cls, data) -> "FunctionSummary":
        params, returns, evidence, step, conversions, passes, defaults, syncs, unpassed, returns_unpassed, host = data
        return cls(tuple(params), decode_facts(returns), tuple((p, decode_facts(f)) for p, f in evidence), step,
                   tuple(LatentConversion(*c[:4], tuple((g, bool(t)) for g, t in c[4])) for c in conversions),
                   tuple((p, f) for p, f in passes), tuple((p, bool(t)) for p, t in defaults), bool(syncs),
                   tuple(unpassed), decode_facts(returns_unpassed), bool(host))


@dataclass(frozen=True)
class ClassSummary:
    is_module: bool
    bases: Tuple[str, ...] = ()                                  # qualified names, as its module resolves them
    methods: Dict[str, FunctionSummary] = field(default_factory=dict)
    step_methods: FrozenSet[str] = frozenset()                   # `self.m(...)` called from one of its step loops
    # Its own code may give it parameters: a method sets `self.x = <a call>` (a layer, a Parameter, a submodule)
    # or registers one, or a base outside the project other than nn.Module brings them. False: a module whose
    # output requires grad only when its input does (`CosineAttention()`), unless a project base says otherwise.
    holds_state: bool = True
    frozen: bool = False   # its `__init__` ends with a freeze of every parameter (frozen.py)

    @property
    def informative(self) -> bool:
        return self.is_module or bool(self.step_methods) or any(m.informative for m in self.methods.values())

    def encode(self):
        """As JSON data; shared, not to be changed (built once, as a function summary's)."""
        return self._encoded

    @cached_property
    def _encoded(self):
        return [self.is_module, list(self.bases), {n: m.encode() for n, m in self.methods.items()},
                sorted(self.step_methods), self.holds_state, self.frozen]

    @classmethod
    def decode(cls, data) -> "ClassSummary":
        is_module, bases, methods, steps, holds_state, frozen = data
        return cls(is_module, tuple(bases), {n: FunctionSummary.decode(m) for n, m in methods.items()},
                   frozenset(steps), bool(holds_state), bool(frozen))


@dataclass
class ModuleSummary:
    names: Dict[str, str] = field(default_factory=dict)          # imported names: local → qualified
    functions: Dict[str, FunctionSummary] = field(default_factory=dict)
    classes: Dict[str, ClassSummary] = field(default_factory=dict)

    def encode(self):
        return {"n": self.names, "f": {k: v.encode() for k, v in self.functions.items()},
                "c": {k: v.encode() for k, v in self.classes.items()}}

    @classmethod
    def decode(cls, data) -> "ModuleSummary":
        return cls(dict(data["n"]), {k: FunctionSummary.decode(v) for k, v in data["f"].items()},
                   {k: ClassSummary.decode(v) for k, v in data["c"].items()})

    def exports(self, module: str) -> Dict[str, str]:
        """What `from module import *` binds: its imports and its own functions and classes."""
        names = {local: qualified for local, qualified in self.names.items() if not local.startswith("_")}
        for own in (*self.functions, *self.classes):
            if not own.startswith("_"):
                names[own] = f"{module}.{own}"
        return names


# -- calls between modules ---------------------------------------------------------------------------
@dataclass(frozen=True)
class OutgoingCall:
    """A call into another module with something specific: `to_np(model(x))`, `train_step(batch)` per step."""
    callee: str                                   # qualified name of the function
    arguments: Tuple[Tuple[str, Facts], ...]      # by position ("0", "1") or keyword
    in_step_loop: bool
    grad_enabled: bool
    line: int
    text: str                                     # the call as written, shortened
    flags: CallFlags = ()                         # what each argument is, for the branches it rules out

    def encode(self):
        return [self.callee, [[k, encode_facts(f)] for k, f in self.arguments], self.in_step_loop,
                self.grad_enabled, self.line, self.text, _encode_flags(self.flags)]

    @classmethod
    def decode(cls, data) -> "OutgoingCall":
        callee, arguments, step, grad, line, text, flags = data
        return cls(callee, tuple((k, decode_facts(f)) for k, f in arguments), step, grad, line, text,
                   _decode_flags(flags))


# `call_flags`: each argument of a call by keyword or position ("0"), with the truth of a literal passed
# (None: not a literal); None for the whole when `*args`/`**kwargs` make the binding unknowable.
CallFlags = Optional[Tuple[Tuple[str, Optional[bool]], ...]]


def call_flags(call) -> CallFlags:
    if any(arg.star for arg in call.args):
        return None
    return tuple((arg.keyword.value if arg.keyword is not None else str(i), literal_truth(arg.value))
                 for i, arg in enumerate(call.args))


def flags_reach(guards, flags: CallFlags, params: Tuple[str, ...], defaults: Dict[str, bool]) -> bool:
    """Does a call with these `flags` reach code under these `if param:` guards ((param, truth) each)? As
    `guards_reached`, for a call known by its flags (one another module makes)."""
    if flags is None:
        return True  # `f(*args)`: which parameters it passes is not known
    passed = {params[int(key)] if key.isdigit() and int(key) < len(params) else key: truth for key, truth in flags}
    for param, truth in guards:
        value = passed[param] if param in passed else defaults.get(param)
        if value is not None and value != truth:
            return False
    return True


def _encode_flags(flags: CallFlags):
    return None if flags is None else [[key, truth] for key, truth in flags]


def _decode_flags(data) -> CallFlags:
    return None if data is None else tuple((key, truth) for key, truth in data)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def call_line(source: str, module, node, fallback: Callable[[object], int]) -> int:
    """The line of an outgoing call, as `fallback` (the positions pass) gives it, without that pass when the
    call's text occurs once in `source`: libcst gives each node's text back exactly, so a text found once is
    found where the node is. The positions pass costs a code generation of the whole file; most files with
    calls out have no finding that needs it. A repeated text (`to_np(x)` twice) falls back."""
    text = module.code_for_node(node)
    found = source.find(text)
    if found < 0 or source.find(text, found + 1) >= 0:
        return fallback(node)
    # the call's span starts after its own parentheses, where its callee begins
    start = found + sum(len(module.code_for_node(paren)) for paren in getattr(node, "lpar", ()))
    return 1 + len(_LINE_BREAK.findall(source, 0, start))


@dataclass(frozen=True)
class IncomingCall:
    """An outgoing call of another file, as the callee's file sees it."""
    function: str                                 # local name: `to_np`, or `Class.method`
    arguments: Tuple[Tuple[str, Facts], ...]
    in_step_loop: bool
    grad_enabled: bool
    where: str                                    # "train.py:42"
    text: str
    flags: CallFlags = ()

    def encode(self):
        return [self.function, [[k, encode_facts(f)] for k, f in self.arguments], self.in_step_loop,
                self.grad_enabled, self.where, self.text, _encode_flags(self.flags)]

    @classmethod
    def decode(cls, data) -> "IncomingCall":
        function, arguments, step, grad, where, text, flags = data
        return cls(function, tuple((k, decode_facts(f)) for k, f in arguments), step, grad, where, text,
                   _decode_flags(flags))


@dataclass
class ProjectContext:
    """What a file's check knows of the rest of its project."""
    module: str = ""                  # this file's dotted module name ("" when unknown)
    is_package: bool = False          # an `__init__.py`: relative imports start at the module itself
    functions: Dict[str, FunctionSummary] = field(default_factory=dict)   # by qualified name
    classes: Dict[str, ClassSummary] = field(default_factory=dict)
    stars: Dict[str, Dict[str, str]] = field(default_factory=dict)        # module → what `*` binds
    incoming: List[IncomingCall] = field(default_factory=list)
    # What the check asked for and could not answer, and the calls it made out (filled by the analysis).
    queries: set = field(default_factory=set)
    outgoing: Dict[int, OutgoingCall] = field(default_factory=dict)   # by id of the call node, during the walk
    calls_out: List[OutgoingCall] = field(default_factory=list)        # after it, with lines and text
    walked: bool = False                                               # some family ran on the file
    # Walk the file for its calls out even where no family runs on it (a project run's callers of a walked
    # module: their calls into it are evidence there, whatever the prescreen and the selection say of the caller)
    walk_for_calls: bool = False
    screened_out: Optional[FrozenSet[str]] = None                     # families its prescreen ruled out
    # (libcst module, Semantic) of the file once its check ran: its own summary reuses the parse and the index
    analysed: Optional[tuple] = None
    # NumPy names some module of the project assigns back at run time (`np.float = np.float_`, a project run only)
    restored_numpy_names: frozenset = frozenset()

    def families_beyond_prescreen(self) -> set:
        """Families this context can give findings that the one-file prescreen does not foresee."""
        steps = (any(c.step_methods for c in self.classes.values()) or any(c.in_step_loop for c in self.incoming)
                 or any(f.performs_step for f in self.functions.values()))
        # `to_np(model(x))` with `to_np` converting elsewhere: the finding sits at the call, which the
        # prescreen (looking for `.numpy()`, `np.*`, plots in this file) cannot foresee
        converts = any(f.conversions for f in self.functions.values())
        return ({"TL4"} if steps else set()) | ({"TL1"} if converts else set())

    @property
    def package(self) -> str:
        if self.is_package:
            return self.module
        return self.module.rpartition(".")[0]

    def absolute(self, level: int, module: Optional[str]) -> Optional[str]:
        """`from ..core import x` in pkg/sub/m.py → `pkg.core`."""
        if not self.module:
            return None
        parts = self.package.split(".") if self.package else []
        if level - 1 > len(parts):
            return None
        base = parts[:len(parts) - (level - 1)]
        return ".".join(base + ([module] if module else [])) or None

    def function(self, qualified: str) -> Optional[FunctionSummary]:
        found = self.functions.get(qualified)
        if found is None and is_project_name(qualified):
            self.queries.add(qualified)
        return found

    def class_(self, qualified: str) -> Optional[ClassSummary]:
        found = self.classes.get(qualified)
        if found is None and is_project_name(qualified):
            self.queries.add(qualified)
        return found

    def holds_state(self, qualified: str, depth: int = 0) -> bool:
        """May instances of this project class hold parameters (so that their output requires grad)? Unknown
        bases count as holding them."""
        summary = self.classes.get(qualified)
        if summary is None or summary.holds_state or depth > 3:
            return True
        return any(self.holds_state(base, depth + 1) for base in summary.bases if is_project_name(base))

    def star(self, module: str) -> Optional[Dict[str, str]]:
        found = self.stars.get(module)
        if found is None and is_project_name(module):
            self.queries.add("*" + module)
        return found

    def encode_context(self):
        """The answers and incoming calls, as JSON: a file's second check is cached under them."""
        return {"f": {k: v.encode() for k, v in sorted(self.functions.items())},
                "c": {k: v.encode() for k, v in sorted(self.classes.items())},
                "s": {k: sorted(v.items()) for k, v in sorted(self.stars.items())},
                "i": [call.encode() for call in self.incoming]}


def bind_arguments(params: Tuple[str, ...], call) -> Dict[str, object]:
    """The argument expression a call passes for each of `params` (a summary's, `self` excluded); empty when
    `*args`/`**kwargs` make the binding unknowable."""
    bound: Dict[str, object] = {}
    position = 0
    for arg in call.args:
        if arg.star:
            return {}
        if arg.keyword is not None:
            if arg.keyword.value in params:
                bound[arg.keyword.value] = arg.value
        elif position < len(params):
            bound[params[position]] = arg.value
            position += 1
    return bound


def bound_facts(summary: FunctionSummary, call, facts_of) -> Dict[str, Facts]:
    """The facts of the arguments a call passes, by the summary's parameter names (those `passes` reads, and
    the `unpassed` ones it passes other than as a literal `None`)."""
    if not summary.passes and not summary.unpassed:
        return {}
    wanted = {param for param, _ in summary.passes}
    bound = bind_arguments(summary.params, call)
    # (a literal `None` passes no evidence, and is what leaving an `unpassed` parameter out passes)
    bound = {param: node for param, node in bound.items() if not (type(node).__name__ == "Name" and node.value == "None")}
    found = {param: facts_of(node) for param, node in bound.items() if param in wanted}
    for param in summary.unpassed:
        if param in bound:
            found.setdefault(param, UNKNOWN)
    if summary.unpassed and any(arg.star for arg in call.args):
        found.setdefault(summary.unpassed[0], UNKNOWN)  # `f(*args)` may pass any of them
    return found


def returns_at(summary: FunctionSummary, call) -> Facts:
    """The context-free facts `summary` returns to `call` (see `FunctionSummary.unpassed`)."""
    if summary.unpassed and not bound_facts(replace(summary, passes=()), call, lambda node: UNKNOWN):
        return summary.returns_unpassed
    return summary.returns


def latent_sites(semantic, call) -> List[Tuple[object, Facts, str]]:
    """The arguments of `call` that a function of another module of the project converts to NumPy, each with
    its facts cut down to the hazards the function leaves in place, and the conversion named
    ("`to_np()` (through `np.asarray()` at pkg/utils.py:3)"). The conversion checker judges them as it
    judges `np.asarray(out)`: a finding needs the caller's evidence."""
    func = call.func
    qualified = semantic.imports.qualified(func)
    summary = None
    if qualified is not None and is_project_name(qualified):
        summary = semantic.project.functions.get(qualified)
    elif qualified is None and getattr(func, "attr", None) is not None and getattr(func.value, "value", None) == "self":
        if semantic.calls.resolve(func, semantic.frame, lambda name: semantic.evaluator.lookup(name, semantic.frame)) \
                is None:  # `self.to_np(out)` of a base class in another module
            summary = semantic.calls.external_method(semantic.frame.cls, func.attr.value)
    if summary is None or not summary.conversions:
        return []
    arguments = bind_arguments(summary.params, call)
    defaults = dict(summary.defaults)
    reached: Dict[int, Tuple[object, set, List[LatentConversion]]] = {}
    for conversion in summary.conversions:
        node = arguments.get(conversion.param)
        if node is not None and conversion.reached_by(call, summary.params, defaults):
            entry = reached.setdefault(id(node), (node, set(), []))
            entry[1].add(conversion.needs)
            entry[2].append(conversion)
    sites = []
    for node, needs, conversions in reached.values():
        facts = semantic.facts(node)
        content = facts if facts.tensor is YES else facts.tensor_content()
        if content is None:
            continue
        content = content.with_(grad_why=content.grad_why if GRAD in needs else None,
                                device_why=content.device_why if DEVICE in needs else None)
        first = conversions[0]
        name = getattr(func, "attr", func)
        shown = getattr(name, "value", None) or "the call"
        sites.append((node, content, f"`{shown}()` (through {first.sink} at {first.where})"))
    return sites


def is_project_name(qualified: str) -> bool:
    return bool(qualified) and qualified.split(".", 1)[0] not in THIRD_PARTY_ROOTS


__all__ = ["ClassSummary", "DEVICE", "FunctionSummary", "GRAD", "IncomingCall", "LatentConversion", "ModuleSummary",
           "OutgoingCall", "ProjectContext", "bind_arguments", "call_line", "decode_facts", "encode_facts", "is_project_name",
           "bound_facts", "guards_reached", "latent_sites", "literal_defaults", "none_defaults", "returns_at"]
