"""What a condition tells about the values it tests: `t.requires_grad`, `t.is_cuda`, `isinstance(t, torch.Tensor)`."""
from __future__ import annotations

from dataclasses import replace
from typing import Dict, Optional

import libcst as cst

from tensorlint.analysis.facts import CHECKED_BY, MAYBE, NO, NOT_TENSOR, YES, Evidence, Facts
from tensorlint.analysis.frame import Frame, store
from tensorlint.analysis.imports import dotted_name
from tensorlint.analysis.literals import string_value


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
        if qualified == "hasattr" and len(test.args) == 2 and not truth and string_value(test.args[1].value) in _TENSOR_ATTRIBUTES:
            return {path: NOT_TENSOR}
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        named = _other_framework_type_test(test)
        if named is not None and truth:
            return {named: NOT_TENSOR}
        return _device_type_refinement(evaluator, frame, test, truth)
    return {}


def _other_framework_type_test(test: cst.Comparison) -> Optional[str]:
    """`x` of `"chainer" in str(type(x))` (also `repr(type(x))`, `type(x).__module__`, `type(x).__name__`) when the
    word names another framework: true, `x` is no torch tensor (a torch type's name holds none of them)."""
    comparison = test.comparisons[0]
    word = string_value(test.left)
    if not isinstance(comparison.operator, cst.In) or word not in _OTHER_FRAMEWORK_WORDS:
        return None
    subject = comparison.comparator
    if isinstance(subject, cst.Call) and dotted_name(subject.func) in ("str", "repr") and len(subject.args) == 1:
        subject = subject.args[0].value
    elif isinstance(subject, cst.Attribute) and subject.attr.value in ("__module__", "__name__", "__qualname__"):
        subject = subject.value
    else:
        return None
    if not (isinstance(subject, cst.Call) and dotted_name(subject.func) == "type" and len(subject.args) == 1):
        return None
    return dotted_name(subject.args[0].value)


def _device_type_refinement(evaluator, frame, test: cst.Comparison, truth: bool) -> Dict[str, Facts]:
    """`t.device.type == "cpu"` / `!= "cuda"`."""
    left, comparison = test.left, test.comparisons[0]
    if not (isinstance(left, cst.Attribute) and left.attr.value == "type"
            and isinstance(left.value, cst.Attribute) and left.value.attr.value == "device"):
        return {}
    text = string_value(comparison.comparator)
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

# Lower-case names of other array frameworks as they appear in their types' module paths.
_OTHER_FRAMEWORK_WORDS = frozenset({"chainer", "mxnet", "tensorflow", "jax", "jaxlib", "cupy", "paddle", "caffe2",
                                    "theano", "numpy", "pandas", "oneflow", "mindspore"})
