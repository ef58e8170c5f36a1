"""What a condition tells about the values it tests: `t.requires_grad`, `t.is_cuda`, `isinstance(t, torch.Tensor)`."""
from __future__ import annotations

from dataclasses import replace
from typing import Dict

import libcst as cst

from .facts import NO, NOT_TENSOR, YES, Facts
from .frame import Frame, store
from .imports import dotted_name


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
    if isinstance(test, cst.Attribute) and test.attr.value in ("requires_grad", "is_cuda"):
        path = dotted_name(test.value)
        if path is None:
            return {}
        current = evaluator.facts(test.value, frame)
        if test.attr.value == "requires_grad":
            return {path: current.with_(grad=fact)}
        return {path: current.with_(device=fact)}
    if isinstance(test, cst.Call) and len(test.args) >= 1:
        qualified = evaluator.imports.qualified(test.func) or (test.func.value if isinstance(test.func, cst.Name) else "")
        path = dotted_name(test.args[0].value)
        if path is None:
            return {}
        checks_tensor = qualified == "torch.is_tensor" or (
            qualified == "isinstance" and len(test.args) == 2
            and evaluator.imports.qualified(test.args[1].value) in ("torch.Tensor", "torch.nn.Parameter"))
        if checks_tensor:
            current = evaluator.facts(test.args[0].value, frame)
            return {path: current.with_(tensor=YES) if truth else NOT_TENSOR}
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


def _string_value(node):
    from .evaluate import _string_value as string_value
    return string_value(node)
