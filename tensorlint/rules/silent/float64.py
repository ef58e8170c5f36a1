"""TL501: a float64 tensor made from a NumPy array reaches a module whose parameters are float32, and its
`.float()` fix where the tensor is made. What the values are is judged by analysis/numpy_dtypes.py."""
from __future__ import annotations

from typing import Dict, Optional, Set, Tuple

import libcst as cst

from tensorlint.analysis.facts import YES, Evidence
from tensorlint.analysis.numpy_dtypes import (WEIGHTED_FUNCTIONS, changes_default_dtype, float64_from_array,
                                              has_default_parameters)
from tensorlint.analysis.scope import call_bindings_and_loads, calls_directly_in
from tensorlint.analysis.walk import descendants
from tensorlint.core.diagnostics import Fix, Safety
from tensorlint.rules.base import FamilyChecker
from tensorlint.rules.silent.rules import Float64IntoFloat32Module

LINEAR_ERROR = "RuntimeError: mat1 and mat2 must have the same dtype, but got Double and Float"
CONV_ERROR = "RuntimeError: Input type (double) and bias type (float) should be the same"
NO_BIAS_LINEAR_ERROR = "RuntimeError: expected m1 and m2 to have the same dtype, but got: double != float"
NO_BIAS_CONV_ERROR = "RuntimeError: expected scalar type Double but found Float"


class Float64Checker(FamilyChecker):
    rules = (Float64IntoFloat32Module,)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._silent = changes_default_dtype(self.context.source)
        self._calls_in: Dict[int, Set[int]] = {}
        self._bindings: Dict[int, Tuple[Dict[int, str], Dict[str, int]]] = {}

    def visit_Call(self, node: cst.Call) -> None:
        if self._silent or not self.wants(Float64IntoFloat32Module) or self.semantic.current_call_site() is not None:
            return
        positional = [arg.value for arg in node.args if arg.keyword is None and not arg.star]
        if not positional:
            return
        module_why = self._float32_parameters(node, positional)
        if module_why is None:
            return
        tensor_why = float64_from_array(self.semantic.facts(positional[0]))
        if tensor_why is None or not self._in_this_scope(tensor_why.node):
            return
        made = tensor_why.node
        functional = (self.semantic.qualified(node.func) or "").startswith("torch.nn.functional.")
        owner = "the weight's layer" if functional else "the module"
        message = (f"float64 tensor from NumPy into a float32 module: `{self._short(made)}` makes a float64 tensor "
                   f"(its array {tensor_why.cause.describe(self.context)}) that reaches `{self._short(node.func)}(...)` "
                   f"(line {self.context.span(node)[0]}), and {owner} {module_why.describe(self.context)}: append "
                   f"`.float()` where it is made (raises \"{self._error(module_why, node, positional)}\")")
        end = self.context.end_with_parentheses(made)
        edit = self.context.edit(end, end, ".float()")
        fix = None
        if edit is not None:
            safety = Safety.SAFE if self._only_use(made, positional[0]) else Safety.UNSAFE
            fix = Fix("Append `.float()` where the tensor is made", (edit,), safety)
        self.report(Float64IntoFloat32Module, made, message, fix)

    def _float32_parameters(self, node: cst.Call, positional) -> Optional[Evidence]:
        """What shows that the called module (or the weight of `F.linear`/`F.conv*`) is float32."""
        qualified = self.semantic.qualified(node.func) or ""
        if qualified.startswith("torch.nn.functional.") and qualified.rsplit(".", 1)[-1] in WEIGHTED_FUNCTIONS:
            weight = next((arg.value for arg in node.args if arg.keyword is not None and arg.keyword.value == "weight"),
                          positional[1] if len(positional) > 1 else None)
            facts = self.semantic.facts(weight) if weight is not None else None
            return facts.dtype_why if facts is not None and facts.tensor is YES and has_default_parameters(facts) \
                else None
        if qualified:
            return None
        callee = self.semantic.facts(node.func)
        if callee.module is YES and not callee.guessed and has_default_parameters(callee):
            return callee.dtype_why
        return None

    def _only_use(self, made: cst.Call, argument: cst.BaseExpression) -> bool:
        """Is the module call the tensor's only use (made in its argument, or bound to a name read only there)?
        Then the fix changes nothing but the call that raised; other uses would see float32 values."""
        if any(node is made for node in descendants(argument)):
            return True
        scope = self._scope()
        bound, loads = self._bindings.get(id(scope)) or self._bindings.setdefault(id(scope), call_bindings_and_loads(scope))
        name = bound.get(id(made))
        return name is not None and loads.get(name, 0) == 1 and any(
            isinstance(node, cst.Name) and node.value == name for node in descendants(argument))

    def _scope(self) -> cst.CSTNode:
        return next((a for a in reversed(self.semantic.ancestors) if isinstance(a, (cst.FunctionDef, cst.Lambda))),
                    self.context.module)

    def _in_this_scope(self, made: Optional[cst.CSTNode]) -> bool:
        """Is the tensor made in the function (or module body) the call is in, not in another one?"""
        if not isinstance(made, cst.Call):
            return False
        scope = self._scope()
        calls = self._calls_in.get(id(scope))
        if calls is None:
            calls = self._calls_in[id(scope)] = calls_directly_in(scope)
        return id(made) in calls

    def _short(self, node: cst.CSTNode) -> str:
        short = self.context.one_line(node, 50)
        if short is None and isinstance(node, cst.Call):
            short = (self.context.one_line(node.func, 40) or "...") + "(...)"
        return short or "..."

    def _error(self, module_why: Evidence, call: cst.Call, positional) -> str:
        """The error torch raises for this layer kind (checked on torch 2.13)."""
        qualified = self.semantic.qualified(call.func) or ""
        if qualified.startswith("torch.nn.functional."):  # the call's own bias decides
            biased = len(positional) > 2 or any(arg.keyword is not None and arg.keyword.value == "bias"
                                                for arg in call.args)
            if "conv" in qualified:
                return CONV_ERROR if biased else NO_BIAS_CONV_ERROR
            return LINEAR_ERROR if biased else NO_BIAS_LINEAR_ERROR
        layer = module_why.node
        while isinstance(layer, cst.Call) and (self.semantic.qualified(layer.func) or "").endswith(".Sequential") \
                and layer.args:
            layer = layer.args[0].value
        kind = (self.semantic.qualified(layer.func) or "") if isinstance(layer, cst.Call) else ""
        no_bias = isinstance(layer, cst.Call) and any(
            arg.keyword is not None and arg.keyword.value == "bias" and isinstance(arg.value, cst.Name)
            and arg.value.value == "False" for arg in layer.args)
        if "Conv" in kind:
            return NO_BIAS_CONV_ERROR if no_bias else CONV_ERROR
        return NO_BIAS_LINEAR_ERROR if no_bias else LINEAR_ERROR
