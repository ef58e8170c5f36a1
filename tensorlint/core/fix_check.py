"""How the verifier checks a rule's fix, declared by the rule and read by the verifier as plain data.

Each rule says it once (`Rule.fix_check`); `python -m tensorlint.rules.docs` writes the table into
`tensorlint/core/codes.py` (`FIX_CHECKS`), so the verifier reads what a fix is for without importing a rule.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple


@dataclass(frozen=True)
class FixCheck:
    # What the verifier runs: the rewritten "expression", a "conversion" (that expression, and where it is the
    # argument of an implicit conversion, also the enclosing NumPy call and `np.asarray(...)` around it), the
    # whole "statement" (a TL202 write wrapped in `torch.no_grad()`), a "numpy" name resolved across versions,
    # or the step "loop" around a TL4 finding, or the "aliasing" loop around a TL503 finding (the buffer's creation,
    # its refills, the sharing construction and the keeping, run on real NumPy/torch: verify/aliasing_snippet.py).
    snippet: str = "expression"
    # (exception class name, message regex) the unfixed code raises on the bindings the rule is about: a fix
    # whose original does not raise one of these on any binding is not shown to fix that hazard.
    raises: Tuple[Tuple[str, str], ...] = ()
    # For a "loop": what a step costs that the fix saves, "sync" (host syncs) or "graph" (retained graphs).
    measures: str = "sync"
    # The dtypes (torch's names) the rule proves the flagged tensors have, so the verifier binds them to
    # tensors of those dtypes only (TL104's `.float()` is right for bfloat16, not for a float64 tensor);
    # empty: any dtype the binding matrix has.
    dtypes: Tuple[str, ...] = ()
    # The fix copies on purpose, so that the result stops sharing memory with its inputs (TL504's `.copy()` of a
    # parameter's NumPy view): the fixed value must equal the original and share memory with none of the inputs,
    # where the original may share some.
    unshares: bool = False
