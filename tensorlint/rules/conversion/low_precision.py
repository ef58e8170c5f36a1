"""TL104: a conversion to NumPy of a tensor the analysis shows is bfloat16 or float8, and its `.float()` fix."""
from __future__ import annotations

from typing import Optional, Tuple

import libcst as cst

from tensorlint.analysis.dtypes import NUMPY_REJECTS_FLOATING
from tensorlint.core.context import SourceContext
from tensorlint.core.diagnostics import Fix, Safety

# Expressions `.float()` can follow without parentheses (`x`, `x.y`, `f(x)`, `x[0]`).
_ATOMS = (cst.Name, cst.Attribute, cst.Call, cst.Subscript)


def scalar_type(dtype: str) -> str:
    """torch's name for the dtype in its error message: "BFloat16", "Float8_e4m3fn"."""
    return "BFloat16" if dtype == "bfloat16" else dtype[:1].upper() + dtype[1:]


def low_precision_finding(site, context: SourceContext, semantic, subject: str) -> Optional[Tuple[str, Optional[Fix]]]:
    """(message, fix) when the converted tensor's dtype, shown by the code, is one NumPy cannot hold."""
    facts = site.facts
    if facts.dtype not in NUMPY_REJECTS_FLOATING or facts.dtype_why is None:
        return None
    error = f'TypeError: Got unsupported ScalarType {scalar_type(facts.dtype)}'
    evidence = f"{subject} {facts.dtype_why.describe(context)}"
    if site.explicit:
        message = (f"`.numpy()` on a {facts.dtype} tensor, which NumPy cannot hold ({evidence}): insert "
                   f"`.float()` first (raises \"{error}\")")
    else:
        message = (f"{site.sink} converts a {facts.dtype} tensor, which NumPy cannot hold ({evidence}): pass "
                   f"`.float()` (raises \"{error}\")")
    return message, _float_fix(site, context, semantic)


def _float_fix(site, context: SourceContext, semantic) -> Optional[Fix]:
    converted = site.converted
    if converted is None or site.delegating:
        return None  # tensors inside a collection, or `np.mean(t)` (NumPy calls the tensor's own method)
    if isinstance(converted, _ATOMS) or converted.lpar:
        end = context.end_with_parentheses(converted)
        edits = (context.edit(end, end, ".float()"),)
    else:
        edits = (context.edit(context.start_of(converted), context.start_of(converted), "("),
                 context.edit(context.end_of(converted), context.end_of(converted), ").float()"))
    if any(edit is None for edit in edits):
        return None
    proven = semantic.proves_torch_tensor(site.facts) and not site.through_call
    return Fix("Insert `.float()` before the conversion", edits, Safety.SAFE if proven else Safety.UNSAFE)
