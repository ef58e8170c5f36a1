"""The provenance lattice: three tri-state facts about a value, joined across paths.

A value is described by what we know of it: is it a torch tensor, may it require
grad, may it live on an accelerator. Each fact is NO / MAYBE / YES; joining two
paths that disagree gives MAYBE. Containers (lists, tuples, comprehensions) carry
the join of their elements' facts so that `np.vstack(list_of_tensors)` can be judged.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Iterable, Optional, Tuple

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a check answered from the cache decodes facts without loading libcst
    import libcst as cst


class Tri(enum.IntEnum):
    NO = 0
    MAYBE = 1
    YES = 2

    def join(self, other: "Tri") -> "Tri":
        return self if self is other else Tri.MAYBE

    @property
    def possible(self) -> bool:
        """True when the fact may hold (MAYBE or YES)."""
        return self is not Tri.NO


NO, MAYBE, YES = Tri.NO, Tri.MAYBE, Tri.YES


# How a piece of evidence reads, `{code}` being its node's code and `{line}` " (line N)" where lines are known.
COMES_FROM = "comes from `{code}`{line}"
CREATED_BY = "is created by `{code}`{line}"
MOVED_BY = "was moved by `{code}`{line}"
WRAPPED_BY = "is wrapped by `{code}`{line}"
MARKED_BY = "is marked by `{code}`{line}"
CHECKED_BY = "is checked by `{code}`{line}"
SET_BY = "has `{code}` set{line}"
CONVERTED_BY = "is converted by `{code}`{line}"
# `{code}` is another conversion's `.cpu()` in the same function, on a value derived from the same parameters.
MOVED_BESIDE = "is converted where `{code}`{line} moves another tensor of the same inputs to the host"
# `{code}` names the class: the Trainer moves a LightningModule (its parameters, outputs and batches) to the accelerator.
PLACED_BY_TRAINER = "belongs to `{code}`{line}, a LightningModule, which the Trainer places on the accelerator"


@dataclass(frozen=True, eq=False)
class Evidence:
    """Why a fact may hold: the code that shows it (`out` *comes from `model(x)` (line 12)*).

    A fact that is MAYBE or YES *with* evidence is a manifest hazard; without evidence it is a guess
    (a parameter of unknown provenance), which the default rules stay silent on. `template` (one of the
    constants above, or plain words when there is no node) reads `node`; `cause` is the evidence of what
    the node was made from (a model output's device evidence is the model's move).
    """
    template: str
    node: Optional[cst.CSTNode] = None
    cause: Optional["Evidence"] = None
    # A framework outside the code (Lightning's Trainer) places the value, rather than a line of it: enough to
    # show a conversion may crash, not to show what a sync costs where the framework syncs anyway.
    by_framework: bool = False
    # A fact a caller would bring (a summary's probe of an argument), not one a line of this function shows.
    from_caller: bool = False

    @property
    def shown_by_code(self) -> bool:
        """Does a line of the code (not a framework's placement) show it, through every cause?"""
        return not self.by_framework and (self.cause is None or self.cause.shown_by_code)

    def describe(self, context=None) -> str:
        """The evidence in words. `context` (a SourceContext) gives line numbers; without it they are left out."""
        text = self.template
        if self.node is not None:
            code = context.code(self.node) if context is not None else _code_for(self.node)
            code = " ".join(code.split())
            if len(code) > 50:
                code = code[:47] + "..."
            line = f" (line {context.span(self.node)[0]})" if context is not None else ""
            text = text.format(code=code, line=line)
        if self.cause is not None:
            text += ", " + self.cause.describe(context)
        return text


@dataclass(frozen=True)
class Facts:
    tensor: Tri = MAYBE
    grad: Tri = MAYBE
    device: Tri = MAYBE
    # Is the value an nn.Module (so calling it produces a model output)?
    module: Tri = NO
    # Join of the elements' facts when the value is a known list/tuple/set/generator.
    items: Optional["Facts"] = None
    # Per-position facts when the value is a tuple of known length (zip, enumerate, named_parameters).
    parts: Optional[Tuple["Facts", ...]] = None
    # When the value is a device specification ("cpu", torch.device("cuda"), t.device):
    # whether it names an accelerator.
    denotes_accelerator: Optional[Tri] = None
    # What shows that `grad` / `device` may hold (None: nothing does; a MAYBE without evidence is a guess).
    grad_why: Optional[Evidence] = None
    device_why: Optional[Evidence] = None
    # Tensor-ness (or module-ness) inferred from names or duck typing (`net(x)`, `.unsqueeze()` on an unknown
    # value, `m.weight`), not proven by a torch source: a fix relying on it is not safe.
    guessed: bool = False
    # The class the value is an instance of, when the code constructed it from a class of the project
    # (`self.model = DecoderNetwork(...)`): its methods' summaries then say what `self.model.get_theta(x)`
    # returns. A qualified name ("pkg.nets.DecoderNetwork"), or ":Name" for a class of the same file.
    # It stays in one file: it is not part of a summary's encoding.
    instance_of: Optional[str] = None
    # A module known only by the name of a parameter of the function being walked (`def features(o, model)`): a
    # module for kind and device, but its name is no evidence that its parameters require grad (what a caller
    # passes is, walked in its place). Like `instance_of`, it stays in one file.
    named_parameter: bool = False
    # The tensor's dtype ("bfloat16", torch's canonical name) where the code shows it on every path, and what
    # shows it (analysis/dtypes.py says which steps keep it); of a module, its parameters' dtype.
    dtype: Optional[str] = None
    dtype_why: Optional[Evidence] = None

    @property
    def grad_evidenced(self) -> bool:
        """May require grad, and something in the code shows it."""
        return self.grad.possible and self.grad_why is not None

    @property
    def device_evidenced(self) -> bool:
        """May be on an accelerator, and something in the code shows it."""
        return self.device.possible and self.device_why is not None

    @property
    def device_shown_by_code(self) -> bool:
        """May be on an accelerator, and a line of the code shows it (not only a framework's placement)."""
        return self.device_evidenced and self.device_why.shown_by_code

    def with_(self, **changes) -> "Facts":
        return replace(self, **changes)

    def join(self, other: "Facts") -> "Facts":
        if self == other or other is NOTHING:
            return self
        if self is NOTHING:
            return other
        return Facts(
            tensor=self.tensor.join(other.tensor),
            grad=self.grad.join(other.grad),
            device=self.device.join(other.device),
            module=self.module.join(other.module),
            items=_join_optional(self.items, other.items),
            parts=_join_parts(self.parts, other.parts),
            denotes_accelerator=_join_tri_optional(self.denotes_accelerator, other.denotes_accelerator),
            grad_why=_join_why(self.grad, self.grad_why, other.grad, other.grad_why),
            device_why=_join_why(self.device, self.device_why, other.device, other.device_why),
            guessed=self.guessed or other.guessed,
            instance_of=self.instance_of if self.instance_of == other.instance_of else None,
            named_parameter=self.named_parameter and other.named_parameter,
            dtype=self.dtype if self.dtype == other.dtype else None,
            dtype_why=self.dtype_why if self.dtype == other.dtype else None,
        )

    @property
    def holds_tensors(self) -> bool:
        """A container whose elements are known torch tensors (possibly nested, or a position of its tuples:
        `named_parameters()` yields `(name, parameter)` pairs)."""
        inner = self.items
        while inner is not None:
            if inner.tensor is YES or any(part.tensor is YES or part.holds_tensors for part in inner.parts or ()):
                return True
            inner = inner.items
        return False

    def tensor_content(self) -> Optional["Facts"]:
        """The facts of the tensors this value is or holds, if it is known to be/hold tensors."""
        if self.tensor is YES:
            return self
        inner = self.items
        while inner is not None:
            if inner.tensor is YES:
                return inner
            inner = inner.items
        return None


def _join_why(a: Tri, a_why: Optional[Evidence], b: Tri, b_why: Optional[Evidence]) -> Optional[Evidence]:
    """Evidence survives a join: a path on which the fact holds, with evidence, makes the joined fact manifest."""
    if a_why is not None and a.possible:
        return a_why
    if b_why is not None and b.possible:
        return b_why
    return None


def _join_optional(a: Optional[Facts], b: Optional[Facts]) -> Optional[Facts]:
    if a is None or b is None:
        return None
    return a.join(b)


def _join_parts(a, b):
    if a is None or b is None or len(a) != len(b):
        return None
    return tuple(x.join(y) for x, y in zip(a, b))


def _join_tri_optional(a: Optional[Tri], b: Optional[Tri]) -> Optional[Tri]:
    if a is None or b is None:
        return None
    return a.join(b)


def join_all(facts: Iterable[Facts]) -> Optional[Facts]:
    result: Optional[Facts] = None
    for f in facts:
        result = f if result is None else result.join(f)
    return result


# The element facts of an empty container: the identity of join.
NOTHING = Facts(tensor=NO, grad=NO, device=NO, parts=())
UNKNOWN = Facts()
NOT_TENSOR = Facts(tensor=NO, grad=NO, device=NO)
MODULE = Facts(tensor=NO, grad=NO, device=MAYBE, module=YES)  # a module's `device`: where its parameters are
BUILT_MODULE = MODULE.with_(device=NO)  # just constructed (`nn.Linear(...)`, `Net()`): on the host until moved
IS_PARAMETER = Evidence("is a parameter")
PARAMETER = Facts(tensor=YES, grad=YES, device=MAYBE, grad_why=IS_PARAMETER)
BUFFER = Facts(tensor=YES, grad=NO, device=MAYBE)
MODEL_OUTPUT = Facts(tensor=YES, grad=MAYBE, device=MAYBE)
HOST_TENSOR = Facts(tensor=YES, grad=NO, device=NO)


def container_of(items: Optional[Facts], parts: Optional[Tuple[Facts, ...]] = None) -> Facts:
    return Facts(tensor=NO, grad=NO, device=NO, items=items, parts=parts)


def device_spec(accelerator: Tri) -> Facts:
    return NOT_TENSOR.with_(denotes_accelerator=accelerator)


def _code_for(node) -> str:
    import libcst as cst
    return cst.Module([]).code_for_node(node)
