"""What a condition tells about the values it tests: `t.requires_grad`, `t.is_cuda`, `isinstance(t, torch.Tensor)`."""
from __future__ import annotations

from dataclasses import replace
from typing import Dict

import libcst as cst

from tensorlint.analysis.facts import CHECKED_BY, MAYBE, NO, NOT_TENSOR, YES, Evidence, Facts
from tensorlint.analysis.frame import Frame, store
from tensorlint.analysis.imports import dotted_name


def refined_frame(evaluator, frame: Frame, test: cst.BaseExpression, truth: bool) -> Frame:
    changes = refinements(evaluator, frame, test, truth)
    if not changes:
        return frame
    env = dict(frame.env)
    store(env, changes)
    return replace(frame, env=env)


def refinements(evaluator, frame: Frame, test: cst.BaseExpression, truth: bool) -> Dict[str, Facts]:
    """What a condition being `truth` tells us: `t.requires_grad`, `t.is_cuda`, `isinstance(t, torch.Tensor)`."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return refinements(evaluator, frame, test.expression, not truth)
    if isinstance(test, cst.BooleanOperation):
        both = isinstance(test.operator, cst.And) == truth
        if not both:
            return {}
        merged = refinements(evaluator, frame, test.left, truth)
        # the right operand is judged knowing the left one: `not t.requires_grad and not t.is_cuda`
        after_left = replace(frame, env={**frame.env, **merged}) if merged else frame
        merged.update(refinements(evaluator.fresh(), after_left, test.right, truth))
        return merged
    fact = YES if truth else NO
    if not truth and _is_device_flag(test, evaluator, frame):
        # `out.cpu().numpy() if self.cuda else out.numpy()`: with the flag off nothing was moved to the accelerator,
        # nor was what a caller passes (`use_cuda = is_available(); if use_cuda: x = x.cpu(); return x`)
        return {name: facts.with_(device=NO) for name, facts in frame.env.items()
                if facts.tensor.possible and not name.endswith(".") and (
                    facts.device is MAYBE or (facts.device_why is not None and facts.device_why.from_caller))}
    if isinstance(test, cst.Attribute) and test.attr.value in ("requires_grad", "is_cuda"):
        path = dotted_name(test.value)
        if path is None:
            return {}
        current = evaluator.facts(test.value, frame)
        checked = Evidence(CHECKED_BY, test) if truth else None
        if test.attr.value == "requires_grad":
            return {path: current.with_(grad=fact, grad_why=checked)}
        return {path: current.with_(device=fact, device_why=checked)}
    if isinstance(test, cst.Call) and len(test.args) >= 1:
        qualified = evaluator.imports.qualified(test.func) or (test.func.value if isinstance(test.func, cst.Name) else "")
        path = dotted_name(test.args[0].value)
        if path is None:
            return {}
        helper = qualified.rsplit(".", 1)[-1]  # `is_torch_tensor(x)` as transformers/diffusers write it
        checks_tensor = qualified == "torch.is_tensor" or helper == "is_torch_tensor" or (
            qualified == "isinstance" and len(test.args) == 2
            and evaluator.imports.qualified(test.args[1].value) in ("torch.Tensor", "torch.nn.Parameter"))
        # `is_tensor(x)` (any framework's tensor) false, `is_numpy_array(x)` true: not a torch tensor
        if (helper == "is_tensor" and qualified != "torch.is_tensor" and not truth) or (
                helper in _ARRAY_CHECKS and truth):
            return {path: NOT_TENSOR}
        if checks_tensor:
            current = evaluator.facts(test.args[0].value, frame)
            if current.tensor is NO:  # it was thought not to be (an annotation said so): nothing else is known
                current = Facts(tensor=YES)
            return {path: current.with_(tensor=YES, module=NO) if truth else NOT_TENSOR}
        # `isinstance(x, np.ndarray)`, `isinstance(x, (list, tuple))`: true, it is not a tensor
        if qualified == "isinstance" and len(test.args) == 2 and truth and _names_other_types(evaluator, test.args[1].value):
            return {path: NOT_TENSOR}
        # `hasattr(x, "detach")` false: every tensor has it, so `x` is not one
        if qualified == "hasattr" and len(test.args) == 2 and not truth and _string_value(test.args[1].value) in _TENSOR_ATTRIBUTES:
            return {path: NOT_TENSOR}
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        return _device_type_refinement(evaluator, frame, test, truth)
    return {}


def _device_type_refinement(evaluator, frame, test: cst.Comparison, truth: bool) -> Dict[str, Facts]:
    """`t.device.type == "cpu"` / `!= "cuda"`."""
    left, comparison = test.left, test.comparisons[0]
    if not (isinstance(left, cst.Attribute) and left.attr.value == "type"
            and isinstance(left.value, cst.Attribute) and left.value.attr.value == "device"):
        return {}
    text = _string_value(comparison.comparator)
    if text is None:
        return {}
    if isinstance(comparison.operator, cst.NotEqual):
        truth = not truth
    elif not isinstance(comparison.operator, cst.Equal):
        return {}
    path = dotted_name(left.value.value)
    names_cpu = text == "cpu"
    if path is None or (not truth and not names_cpu):
        return {}
    current = evaluator.facts(left.value.value, frame)
    return {path: current.with_(device=(NO if names_cpu else YES) if truth else YES)}


_DEVICE_FLAG_TOKENS = frozenset({"cuda", "gpu"})


def _is_device_flag(test: cst.BaseExpression, evaluator, frame: Frame) -> bool:
    """`self.cuda`, `use_cuda`, `args.gpu`, `on_gpu`: a flag saying whether to use the accelerator (not a
    tensor's own `is_cuda`, not a call)."""
    path = dotted_name(test)
    if path is None or path.endswith(".is_cuda") or evaluator.facts(test, frame).tensor is YES:
        return False
    last = path.rsplit(".", 1)[-1].lower()
    return bool(set(last.replace("-", "_").split("_")) & _DEVICE_FLAG_TOKENS)


_TENSOR_ATTRIBUTES = frozenset({"detach", "numpy", "cpu", "requires_grad", "grad", "is_cuda", "device", "dim", "item"})
_OTHER_TYPES = frozenset({"numpy.ndarray", "numpy.generic", "numpy.number", "list", "tuple", "dict", "int", "float",
                          "str", "bool", "bytes", "PIL.Image.Image"})


_ARRAY_CHECKS = frozenset({"is_numpy_array", "is_ndarray", "is_pil_image", "is_tf_tensor", "is_jax_tensor"})


def _names_other_types(evaluator, types: cst.BaseExpression) -> bool:
    """`np.ndarray`, `(list, tuple)`: types no torch tensor is an instance of."""
    members = [e.value for e in types.elements] if isinstance(types, cst.Tuple) else [types]
    names = [evaluator.imports.qualified(m) or dotted_name(m) for m in members]
    return bool(names) and all(name in _OTHER_TYPES for name in names)


def _string_value(node):
    from tensorlint.analysis.evaluate import _string_value as string_value
    return string_value(node)


# -- branches a call rules out ---------------------------------------------------------------------------------
def call_rules_out(call: cst.Call, function: cst.FunctionDef, ancestors) -> bool:
    """In `function` walked for `call` (`ancestors` the walk's path to the current node): is the node under an
    `if flag:` (or `else`) branch that the call's literal argument for the parameter `flag`, or the parameter's
    literal default where the call passes none, rules out? (`self._grad(utility=x)` does not reach
    `if ret_np: return g.cpu().numpy()` when `ret_np=False` is the default.) The rule latent conversions of other
    modules follow (crossmodule.guards_reached); a parameter the body assigns again is no flag of the call's."""
    from tensorlint.analysis.crossmodule import guards_reached, literal_defaults
    name = function.name.value
    func = call.func
    if not (isinstance(func, cst.Name) and func.value == name
            or isinstance(func, cst.Attribute) and func.attr.value == name):
        return False   # called under another name (a `partial`): its arguments bind differently
    declared = function.params
    params = [p.name.value for p in (*declared.posonly_params, *declared.params, *declared.kwonly_params)]
    if isinstance(func, cst.Attribute):
        if params[:1] not in (["self"], ["cls"]):
            return False
        params = params[1:]
    guards = [(param, truth) for param, truth in branch_guards(function, ancestors) if param in params]
    guards = [(param, truth) for param, truth in guards if not _assigns(function, param)]
    return bool(guards) and not guards_reached(guards, call, tuple(params), dict(literal_defaults(function)))


def literal_flags(call: cst.Call) -> tuple:
    """The truth of each literal argument of `call`, by position or keyword: calls that differ in these may
    reach different branches of their callee (`call_rules_out`)."""
    from tensorlint.analysis.crossmodule import _literal_truth
    return tuple((arg.keyword.value if arg.keyword is not None else i, truth) for i, arg in enumerate(call.args)
                 for truth in [_literal_truth(arg.value)] if truth is not None)


def branch_guards(function: cst.FunctionDef, ancestors):
    """(name, truth) of the `if name:` / `if not name:` tests between `function` and the end of `ancestors`."""
    path = list(ancestors)
    start = next((i for i, node in enumerate(path) if node is function), None)
    if start is None:
        return []
    found = []
    for parent, child in zip(path[start + 1:], path[start + 2:]):
        if isinstance(parent, cst.If) and child is not parent.test:
            found += _name_test(parent.test, child is parent.body)
        elif isinstance(parent, cst.IndentedBlock) and child in parent.body:
            # `if not as_np: return t` before it: reached only with the other truth
            for earlier in parent.body[:parent.body.index(child)]:
                if isinstance(earlier, cst.If) and earlier.orelse is None and _leaves(earlier.body):
                    found += _name_test(earlier.test, False)
    return found


def _name_test(test: cst.BaseExpression, truth: bool):
    while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        test, truth = test.expression, not truth
    return [(test.value, truth)] if isinstance(test, cst.Name) else []


def _leaves(block: cst.BaseSuite) -> bool:
    """Does the block end the function (its last statement a `return` or `raise`)?"""
    last = block.body[-1] if isinstance(block, cst.IndentedBlock) and block.body else None
    return (isinstance(last, cst.SimpleStatementLine) and bool(last.body)
            and isinstance(last.body[-1], (cst.Return, cst.Raise)))


def _assigns(function: cst.FunctionDef, name: str) -> bool:
    """Does the body bind `name` again (`=`, `+=`, `for`, `with ... as`, `:=`)?"""
    from tensorlint.analysis.index import bound_names
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            self._targets(*(t.target for t in node.targets))

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            self._targets(node.target)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            self._targets(node.target)

        def visit_For(self, node: cst.For) -> None:
            self._targets(node.target)

        def visit_AsName(self, node: cst.AsName) -> None:
            self._targets(node.name)

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            self._targets(node.target)

        def _targets(self, *targets) -> None:
            nonlocal found
            found = found or any(name in bound_names(target) for target in targets)

    function.body.visit(Finder())
    return found
