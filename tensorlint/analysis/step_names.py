"""What a step loop looks like by its names alone: one definition for the libcst analysis (analysis/loops.py)
and for the prescreen, which reads Python's `ast` (analysis/ast_scan.py, rules/sync/prescreen.py).

Names split into lower-case tokens at underscores, digits and camel-case humps (`trainLoader_2` → `train`,
`loader`). A loader-like name or a progress bar makes a `for` loop one over data; `range` one over a count.
"""
from __future__ import annotations

import functools
import re
from typing import List, Optional, Set

_TOKENS = re.compile(r"[_\d]+|(?<=[a-z])(?=[A-Z])")
_LOADER_TOKENS = frozenset({"loader", "dataloader", "loaders", "batches", "iterator", "dl", "dataset", "set"})
PROGRESS_BARS = frozenset({"tqdm", "track", "progress_bar"})  # (`trange` counts)
# Words in a method name that make it drive steps even in an nn.Module (`generate`, `sample_batch`).
STEP_DRIVING_WORDS = ("generate", "sample", "decode", "rollout", "search", "train", "fit", "evaluate", "predict")


def name_tokens(name: str) -> List[str]:
    """`trainLoader_2` → `["train", "loader"]`."""
    return [t.lower() for t in _TOKENS.split(name) if t]


@functools.lru_cache(maxsize=65536)
def is_loader_name(name: str) -> bool:
    """`train_loader`, `valDataset`, `batches`: a name with a loader token (`loader`, `dataset`, `dl`, ...)."""
    return not _LOADER_TOKENS.isdisjoint(name_tokens(name))


def walks_layers(function_name: str, in_module_class: bool) -> bool:
    """Do model calls in the loops of a function of this name walk a model's layers rather than step it:
    `forward`, and the methods of an nn.Module that do not drive steps (`generate`, `fit`: STEP_DRIVING_WORDS)?"""
    return function_name == "forward" or (
        in_module_class and not any(word in function_name.lower() for word in STEP_DRIVING_WORDS))


def is_step_evidence(name: str) -> bool:
    """A callee name that may step a model or optimizer: `backward`, `manual_backward`, `step`, `*_step`,
    `zero_grad`. More than `loops.is_step_call` accepts (any receiver): a necessary condition of it."""
    return "backward" in name or name.endswith("step") or name == "zero_grad"


def iteration_kind(names: Set[str]) -> Optional[str]:
    """What a `for` over an expression mentioning exactly these names may iterate: "data" (a loader-like name
    or a progress bar: every iteration is a step, as `loops.iterates_data` would say), "count" (`range`: steps
    when the body calls a model, as `loops.iterates_steps`), or None. A necessary condition of those two."""
    if any(is_loader_name(name) for name in names) or not names.isdisjoint(PROGRESS_BARS):
        return "data"
    return "count" if "range" in names else None
