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
        )

    @property
    def holds_tensors(self) -> bool:
        """A container whose elements are known torch tensors (possibly nested)."""
        inner = self.items
        while inner is not None:
            if inner.tensor is YES:
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
PARAMETER = Facts(tensor=YES, grad=YES, device=MAYBE)
BUFFER = Facts(tensor=YES, grad=NO, device=MAYBE)
MODEL_OUTPUT = Facts(tensor=YES, grad=MAYBE, device=MAYBE)
HOST_TENSOR = Facts(tensor=YES, grad=NO, device=NO)


def container_of(items: Optional[Facts], parts: Optional[Tuple[Facts, ...]] = None) -> Facts:
    return Facts(tensor=NO, grad=NO, device=NO, items=items, parts=parts)


def device_spec(accelerator: Tri) -> Facts:
    return NOT_TENSOR.with_(denotes_accelerator=accelerator)
