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
re-walk with its own arguments, which only same-file calls get.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Tuple

from .facts import NO, UNKNOWN, Evidence, Facts, Tri

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
@dataclass(frozen=True)
class FunctionSummary:
    params: Tuple[str, ...]
    returns: Facts = UNINFORMATIVE
    evidence: Tuple[Tuple[str, Facts], ...] = ()   # what its body proves about a parameter (`loss.backward()`)
    performs_step: bool = False                    # one training step per call

    @property
    def informative(self) -> bool:
        return self.returns != UNINFORMATIVE or bool(self.evidence) or self.performs_step

    def encode(self):
        return [list(self.params), encode_facts(self.returns), [[p, encode_facts(f)] for p, f in self.evidence],
                self.performs_step]

    @classmethod
    def decode(cls, data) -> "FunctionSummary":
        params, returns, evidence, step = data
        return cls(tuple(params), decode_facts(returns), tuple((p, decode_facts(f)) for p, f in evidence), step)


@dataclass(frozen=True)
class ClassSummary:
    is_module: bool
    bases: Tuple[str, ...] = ()                                  # qualified names, as its module resolves them
    methods: Dict[str, FunctionSummary] = field(default_factory=dict)
    step_methods: FrozenSet[str] = frozenset()                   # `self.m(...)` called from one of its step loops

    @property
    def informative(self) -> bool:
        return self.is_module or bool(self.step_methods) or any(m.informative for m in self.methods.values())

    def encode(self):
        return [self.is_module, list(self.bases), {n: m.encode() for n, m in self.methods.items()},
                sorted(self.step_methods)]

    @classmethod
    def decode(cls, data) -> "ClassSummary":
        is_module, bases, methods, steps = data
        return cls(is_module, tuple(bases), {n: FunctionSummary.decode(m) for n, m in methods.items()},
                   frozenset(steps))


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

    def encode(self):
        return [self.callee, [[k, encode_facts(f)] for k, f in self.arguments], self.in_step_loop,
                self.grad_enabled, self.line, self.text]

    @classmethod
    def decode(cls, data) -> "OutgoingCall":
        callee, arguments, step, grad, line, text = data
        return cls(callee, tuple((k, decode_facts(f)) for k, f in arguments), step, grad, line, text)


@dataclass(frozen=True)
class IncomingCall:
    """An outgoing call of another file, as the callee's file sees it."""
    function: str                                 # local name: `to_np`, or `Class.method`
    arguments: Tuple[Tuple[str, Facts], ...]
    in_step_loop: bool
    grad_enabled: bool
    where: str                                    # "train.py:42"
    text: str

    def encode(self):
        return [self.function, [[k, encode_facts(f)] for k, f in self.arguments], self.in_step_loop,
                self.grad_enabled, self.where, self.text]

    @classmethod
    def decode(cls, data) -> "IncomingCall":
        function, arguments, step, grad, where, text = data
        return cls(function, tuple((k, decode_facts(f)) for k, f in arguments), step, grad, where, text)


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
    # (libcst module, Semantic) of the file once its check ran: its own summary reuses the parse and the index
    analysed: Optional[tuple] = None

    def families_beyond_prescreen(self) -> set:
        """Families this context can give findings that the one-file prescreen does not foresee."""
        steps = (any(c.step_methods for c in self.classes.values()) or any(c.in_step_loop for c in self.incoming)
                 or any(f.performs_step for f in self.functions.values()))
        return {"TL4"} if steps else set()

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


def is_project_name(qualified: str) -> bool:
    return bool(qualified) and qualified.split(".", 1)[0] not in THIRD_PARTY_ROOTS


__all__ = ["ClassSummary", "FunctionSummary", "IncomingCall", "ModuleSummary", "OutgoingCall", "ProjectContext",
           "decode_facts", "encode_facts", "is_project_name"]
