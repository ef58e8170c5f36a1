"""Methods a training framework calls once per step: step code without a loop in sight.

A framework runs its own loop and calls back into the user's class for every batch: Lightning's
`training_step`, a torchbearer metric's `process`, a fastai callback's `on_batch_end`, an ignite
metric's `update`. A method of a class that provably derives from such a base (its import says so,
or a class of this file or of the project that does) is one step of that loop, exactly like the
body of a `for batch in loader:` loop. The table below is the only framework knowledge; each entry
cites the framework's documentation of when the method runs.

`places`: the framework itself moves the model and each batch to the accelerator (the user's code
is written device-agnostic and shows no `.to(device)`). In one of its per-step methods, values the
framework placed are evidence that a host sync costs a device round trip every step: the framework
that calls the method is the one that placed them, on the configuration the code is written for.
Lightning says so itself ("Things to avoid: don't call `.item()` anywhere in your code", Speed up
model training). `step_values`: the parameters (by position after `self`, or by name) that the
framework fills with the step's tensors (the batch, the outputs, a module's activations).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, FrozenSet, Iterable, Optional, Tuple

import libcst as cst

from tensorlint.analysis.facts import MAYBE, NO, YES, Evidence, Facts
from tensorlint.analysis.imports import dotted_name
from tensorlint.analysis.walk import walk

# `{code}` is the method's name.
RETURNED_AS_LOSS = "is returned by `{code}`{line}, whose result the framework back-propagates"
FILLED_BY_FRAMEWORK = "comes from the step's tensors, which {framework} places on the accelerator and passes `{{code}}`{{line}}"


@dataclass(frozen=True)
class StepHooks:
    framework: str
    packages: Tuple[str, ...]          # top-level packages that define the bases
    bases: FrozenSet[str]              # class names of the bases, under those packages
    methods: FrozenSet[str]            # called once per step (batch)
    places: bool                       # the framework moves the model and batches to the accelerator
    positions: Tuple[Tuple[str, Tuple[int, ...]], ...] = ()   # method → positions after `self` of step values
    names: FrozenSet[str] = frozenset()                       # parameters named so are step values
    star_values: bool = False                                 # `*args` holds step values
    # Methods whose returned value the framework back-propagates (the loss): a tensor that requires grad.
    returns_loss: FrozenSet[str] = frozenset()

    def step_positions(self, method: str) -> Tuple[int, ...]:
        return next((p for m, p in self.positions if m == method), ())


_LIGHTNING_PACKAGES = ("pytorch_lightning", "lightning")
# LightningModule hooks (https://lightning.ai/docs/pytorch/stable/common/lightning_module.html, "Hooks": the
# pseudocode of `fit` calls these inside `for batch_idx, batch in enumerate(train_dataloader())`), and the
# same per-batch hooks of a Callback (https://lightning.ai/docs/pytorch/stable/extensions/callbacks.html).
_LIGHTNING_BATCH_HOOKS = frozenset({
    "on_train_batch_start", "on_train_batch_end", "on_validation_batch_start", "on_validation_batch_end",
    "on_test_batch_start", "on_test_batch_end", "on_predict_batch_start", "on_predict_batch_end",
    "on_before_backward", "on_after_backward", "on_before_optimizer_step", "on_before_zero_grad",
})
_LIGHTNING_STEPS = frozenset({"training_step", "validation_step", "test_step", "predict_step",
                              "training_step_end", "validation_step_end", "test_step_end"})

TABLE: Tuple[StepHooks, ...] = (
    StepHooks("Lightning", _LIGHTNING_PACKAGES, frozenset({"LightningModule"}), _LIGHTNING_STEPS | _LIGHTNING_BATCH_HOOKS,
              places=True, returns_loss=frozenset({"training_step"}),  # "Return: the loss tensor" (automatic optimization)
              # `training_step(batch, batch_idx)`; `on_train_batch_end(outputs, batch, batch_idx)`
              positions=tuple((m, (0,)) for m in _LIGHTNING_STEPS)
              + tuple((m, (0, 1) if m.endswith("_end") else (0,)) for m in _LIGHTNING_BATCH_HOOKS if "batch" in m)),
    StepHooks("Lightning", _LIGHTNING_PACKAGES, frozenset({"Callback"}), _LIGHTNING_BATCH_HOOKS, places=True,
              # `on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)`
              positions=tuple((m, (2, 3) if m.endswith("_end") else (2,)) for m in _LIGHTNING_BATCH_HOOKS if "batch" in m)),
    # torchbearer (https://torchbearer.readthedocs.io/en/latest/code/metrics.html): `Metric.process(*args)` "process
    # the state and update the metric for one iteration"; AdvancedMetric splits it into `process_train` /
    # `process_validate`. Callbacks (https://torchbearer.readthedocs.io/en/latest/code/callbacks.html): the
    # `on_step_*`, `on_sample*`, `on_forward*`, `on_criterion*`, `on_backward` events of each batch. A Trial
    # moves the model and every batch to its device (`Trial.to`, `load_batch_standard`).
    StepHooks("torchbearer", ("torchbearer",), frozenset({"Metric", "AdvancedMetric"}),
              frozenset({"process", "process_train", "process_validate"}), places=True, star_values=True,
              positions=tuple((m, (0,)) for m in ("process", "process_train", "process_validate"))),
    StepHooks("torchbearer", ("torchbearer",), frozenset({"Callback"}),
              frozenset({"on_sample", "on_forward", "on_criterion", "on_backward", "on_step_training",
                         "on_sample_validation", "on_forward_validation", "on_criterion_validation",
                         "on_step_validation"}), places=True),
    # fastai v1 (https://fastai1.fast.ai/callback.html): `on_batch_begin`, `on_loss_begin`, `on_backward_begin`,
    # `on_backward_end`, `on_step_end`, `on_batch_end` run for every batch, given `last_output`, `last_target`, ...;
    # a `HookCallback`'s `hook(m, i, o)` is a forward hook on the learner's modules
    # (https://fastai1.fast.ai/callbacks.hooks.html). fastai 2 (https://docs.fast.ai/callback.core.html):
    # `before_batch`, `after_pred`, `after_loss`, `before_backward`, `after_backward`, `before_step`,
    # `after_step`, `after_batch`. The Learner puts the model and the batches on `defaults.device`.
    StepHooks("fastai", ("fastai",), frozenset({"Callback", "LearnerCallback", "HookCallback"}),
              frozenset({"on_batch_begin", "on_loss_begin", "on_backward_begin", "on_backward_end", "on_step_end",
                         "on_batch_end", "before_batch", "after_pred", "after_loss", "before_backward",
                         "after_backward", "before_step", "after_step", "after_batch"}), places=True,
              # (not `last_loss`: `on_batch_end` is given the loss `loss_batch` already moved to the host)
              names=frozenset({"last_output", "last_target", "last_input"})),
    StepHooks("fastai", ("fastai",), frozenset({"HookCallback"}), frozenset({"hook"}), places=True,
              positions=(("hook", (1, 2)),)),   # `hook(m, i, o)`: the module's input and output
    # ignite (https://pytorch.org/ignite/metrics.html): a Metric's `update(output)` runs on every
    # ITERATION_COMPLETED. The engine does not move anything itself (`prepare_batch` moves only when the
    # trainer is given a device), so the code must show the device.
    StepHooks("ignite", ("ignite",), frozenset({"Metric"}), frozenset({"update"}), places=False),
    # Hugging Face (https://huggingface.co/docs/transformers/main_classes/callback): `on_step_begin`,
    # `on_substep_end`, `on_step_end` run for every (sub)step of `Trainer.train`.
    StepHooks("transformers", ("transformers",), frozenset({"TrainerCallback"}),
              frozenset({"on_step_begin", "on_substep_end", "on_step_end", "on_pre_optimizer_step",
                         "on_optimizer_step"}), places=True),
)

# Every per-step method name (the prescreen lets a file with one through to TL4).
STEP_METHOD_NAMES: FrozenSet[str] = frozenset(m for hooks in TABLE for m in hooks.methods)


def hooks_of_base(qualified: str) -> Tuple[StepHooks, ...]:
    """The table entries a base class is (`pytorch_lightning.core.module.LightningModule`: Lightning's)."""
    top, _, _ = qualified.partition(".")
    name = qualified.rpartition(".")[2]
    return tuple(h for h in TABLE if top in h.packages and name in h.bases and "." in qualified)


def class_hooks(cls: cst.ClassDef, qualified: Callable[[cst.BaseExpression], Optional[str]],
                local: Callable[[str], Optional[cst.ClassDef]],
                summary_bases: Callable[[str], Iterable[str]]) -> Tuple[StepHooks, ...]:
    """The framework bases a class derives from: through its own bases (`qualified` resolves a base as the file
    imports it, or names a class of this file), classes of this file (`local`), and classes of other modules of
    the project (`summary_bases`: the qualified bases of a project class, empty when it is not one)."""
    found, seen = [], set()
    pending = [base.value for base in cls.bases if base.keyword is None]
    names = []
    while pending:
        base = pending.pop()
        own = local(dotted_name(base) or "")
        if own is not None and own is not cls and id(own) not in seen:
            seen.add(id(own))
            pending.extend(b.value for b in own.bases if b.keyword is None)
        name = qualified(base)
        if name:
            names.append(name)
    depth = 0
    while names and depth < 4:
        more = []
        for name in names:
            if name in seen:
                continue
            seen.add(name)
            found.extend(h for h in hooks_of_base(name) if h not in found)
            more.extend(summary_bases(name))
        names, depth = more, depth + 1
    return tuple(found)


def called_every_step(method: cst.FunctionDef) -> FrozenSet[str]:
    """`self.m(...)` calls a per-step method makes every time it runs (not under an `if`, a loop or a `try`):
    `RunningMetric.process_train` calls `self._process_train(*args)`, so a subclass's override runs every step."""
    found = set()

    class Finder(cst.CSTVisitor):
        def visit_FunctionDef(self, node) -> bool:
            return node is method

        visit_If = visit_For = visit_While = visit_Try = visit_Lambda = visit_ClassDef = \
            lambda self, node: False

        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
                found.add(func.attr.value)

    walk(method, Finder())
    return frozenset(found)


def step_value(hooks: StepHooks, method: cst.FunctionDef) -> Facts:
    """What the framework passes a per-step method: the step's tensors (or containers of them), placed. The
    framework's contract, not a torch source, says they are tensors (`guessed`: no fix may rely on it); what
    they hold (`batch[0]`, `state[BATCH]`, a step counter among tensors) may be anything."""
    why = Evidence(FILLED_BY_FRAMEWORK.format(framework=hooks.framework), method.name, by_framework=True)
    inner = Facts(tensor=MAYBE, grad=MAYBE, device=MAYBE, device_why=why)
    return Facts(tensor=YES, grad=MAYBE, device=MAYBE, device_why=why, guessed=True, items=inner)


def step_arguments(hooks: StepHooks, method: cst.FunctionDef) -> Facts:
    """`*args` of a per-step method: a tuple of step values (`data = args[0]`)."""
    return Facts(tensor=NO, grad=NO, device=NO, items=step_value(hooks, method))


def step_parameters(hooks: StepHooks, method: cst.FunctionDef) -> Tuple[str, ...]:
    """The names of the method's parameters that the framework fills with the step's tensors."""
    params = method.params
    ordered = [p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)]
    after_self = ordered[1:] if ordered[:1] == ["self"] else ordered
    chosen = [after_self[i] for i in hooks.step_positions(method.name.value) if i < len(after_self)]
    chosen += [name for name in after_self if name in hooks.names]
    return tuple(dict.fromkeys(chosen))


def star_parameter(hooks: StepHooks, method: cst.FunctionDef) -> Optional[str]:
    """`args` of `def process(self, *args)`, when the framework passes the step's values there."""
    star = method.params.star_arg
    return star.name.value if hooks.star_values and isinstance(star, cst.Param) else None


def returned_loss(method: cst.FunctionDef) -> Facts:
    """What a method whose result the framework back-propagates proves about the value it returns."""
    return Facts(tensor=YES, grad=YES, device=MAYBE, grad_why=Evidence(RETURNED_AS_LOSS, method.name))
