"""Facts of an expression, given the facts of the names it reads (the frame).

Pure: it never changes the frame. The walker (semantic.py) owns flow: it decides
which frame is in force at each point and binds names as statements execute.
"""
from __future__ import annotations

import builtins
from dataclasses import replace
from typing import Dict, Iterable, Optional, Set, Tuple

import libcst as cst

from tensorlint.analysis import torch_api as api
from tensorlint.analysis.facts import (
    BUFFER, BUILT_MODULE, HOST_TENSOR, MAYBE, MODEL_OUTPUT, MODULE, NO, NOT_TENSOR, NOTHING, PARAMETER,
    UNKNOWN, YES, Evidence, Facts, Tri, container_of, device_spec, join_all,
    COMES_FROM, CONVERTED_BY, CREATED_BY, MARKED_BY, MOVED_BY, WRAPPED_BY,
)
from tensorlint.analysis.crossmodule import bound_facts
from tensorlint.analysis.dtypes import CONVERSION_METHODS, KEEPS_DTYPE, KEEPS_FLOATING_DTYPE, is_floating, torch_dtype_named
from tensorlint.analysis.instances import filled_by_guess, frozen_output, instance_call_returns, instance_method_returns
from tensorlint.analysis.frame import Frame, forget, store
from tensorlint.analysis.imports import ImportMap, dotted_name
from tensorlint.analysis.literals import string_value
from tensorlint.analysis.numpy_dtypes import (array_arithmetic, array_method, class_parameters, has_default_parameters,
                                              is_array, kept_by_subscript, layer_parameters, numpy_call,
                                              tensor_from_array)
from tensorlint.analysis.refine import refined_frame
from tensorlint.analysis.tensor_methods import TENSOR_ATTRIBUTES

_BUILTIN_NAMES = frozenset(dir(builtins))
_ELEMENT_PRESERVING_BUILTINS = frozenset({"list", "tuple", "sorted", "reversed", "iter", "set", "frozenset", "tqdm", "trange"})


class Evaluator:
    def __init__(self, imports: ImportMap) -> None:
        self.imports = imports
        self.module_classes: Set[str] = set()
        self.plain_classes: Set[str] = set()
        self.default_device_may_be_accelerator = False
        self.calls = None  # SameFileCalls: what functions of this file return (set by the walker)
        # id of a class node → the evidence that a framework places its instances on the accelerator (LightningModule)
        self.trainer_placed: Dict[int, Evidence] = {}
        self._cache: Dict[int, Facts] = {}
        self._class_dtypes: Dict[int, Optional[Evidence]] = {}  # id of a module class → its float32 evidence

    def invalidate(self) -> None:
        self._cache.clear()

    # -- entry point -------------------------------------------------------------------------
    def facts(self, node: cst.BaseExpression, frame: Frame) -> Facts:
        key = id(node)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._facts(node, frame)
            self._cache[key] = cached
        return cached

    def _facts(self, node, frame: Frame) -> Facts:
        method = getattr(self, "_eval_" + type(node).__name__, None)
        if method is None:
            return UNKNOWN
        return method(node, frame)

    # -- names and attributes ---------------------------------------------------------------
    def lookup(self, name: str, frame: Frame) -> Facts:
        if name in frame.env:
            return frame.env[name]
        if name in frame.globals:
            return frame.globals[name]
        if name in self.imports.names:
            return NOT_TENSOR
        if name in self.module_classes or name in self.plain_classes:
            return NOT_TENSOR
        if name == "self" and frame.cls is not None:
            return MODULE.with_(device_why=self.placement(frame)) if frame.cls.is_module else UNKNOWN
        if name in _BUILTIN_NAMES:
            return NOT_TENSOR
        return unknown_named(name)

    def placement(self, frame: Frame) -> Optional[Evidence]:
        """What places the enclosing class's instances on an accelerator without a `.to()` in the code (the
        Lightning Trainer), if anything."""
        node = frame.cls.node if frame.cls is not None else None
        return self.trainer_placed.get(id(node)) if node is not None else None

    def _eval_Name(self, node: cst.Name, frame):
        if node.value in ("True", "False", "None"):
            return NOT_TENSOR
        return self.lookup(node.value, frame)

    def _eval_Attribute(self, node: cst.Attribute, frame):
        path = dotted_name(node)
        if path is not None:
            if path in frame.env:
                return frame.env[path]
            if path in frame.globals:
                return frame.globals[path]
            if self.imports.qualified(node) is not None:
                return NOT_TENSOR
        attr = node.attr.value
        if path is not None and path.startswith("self.") and path.count(".") == 1 and frame.cls is not None:
            known = frame.cls.attributes.get(attr)
            if known is not None:
                if known == UNKNOWN and api.looks_like_model(attr, strict=True):
                    return known.with_(module=MAYBE)  # `self.policy = self.policy_class(...)`: the name still says it
                # nn.Module.to(device) moves parameters, buffers and submodules: their device is never settled.
                moved = frame.cls.is_module and (known.tensor.possible or known.module.possible)
                if not moved:
                    return known
                return known.with_(device=MAYBE, device_why=known.device_why or self.placement(frame))
        receiver = self.facts(node.value, frame)
        if attr == "device" and receiver.tensor.possible:
            if isinstance(node.value, cst.Name) and node.value.value == "self":
                return device_spec(receiver.device)  # a trainer's or model's configured device, not a tensor's
            # the spec keeps the tensor's own device fact and evidence: `device=x.device` follows `x`
            return device_spec(receiver.device).with_(device=receiver.device, device_why=receiver.device_why)
        if attr in api.NON_TENSOR_ATTRIBUTES:
            return NOT_TENSOR
        # `.weight`/`.bias` of a module, or of a value of unknown kind (`def init(m): m.weight...`)
        if attr in ("weight", "bias") and (receiver.module.possible or receiver.tensor is MAYBE):
            owner_module = receiver if receiver.module is YES else self._enclosing_module(node.value, frame)
            if owner_module is not None:  # `model.fc2.weight`: where `model` is
                parameter = PARAMETER.with_(device_why=owner_module.device_why)
                if receiver.module is YES and has_default_parameters(receiver):  # `nn.Linear(2, 3).weight`
                    return parameter.with_(dtype=receiver.dtype, dtype_why=receiver.dtype_why)
                return parameter
            # `model.fc.weight`: a part of something named as a whole model is a parameter (a guess, with evidence);
            # `v.weight` of something unknown may as well be a number
            owner = dotted_name(node.value) or ""
            if any(api.looks_like_model(part, strict=True) for part in owner.split(".")):
                return PARAMETER.with_(guessed=True)
            return PARAMETER.with_(grad=MAYBE, grad_why=None, guessed=True)
        if receiver.tensor is NO and receiver.module is NO:
            return kept_by_subscript(receiver) if attr == "T" and is_array(receiver) else NOT_TENSOR
        if attr in ("data", "targets") and api.looks_like_dataset(dotted_name(node.value) or ""):
            # torchvision-style datasets keep their samples as host tensors without grad.
            return Facts(tensor=MAYBE, grad=NO, device=NO)
        if attr == "grad" and receiver.tensor.possible:
            return Facts(tensor=YES, grad=NO, device=receiver.device, device_why=receiver.device_why,
                         guessed=receiver.guessed)
        if attr == "data" and receiver.tensor.possible:
            return receiver.with_(grad=NO, module=NO, items=None, parts=None)
        if attr in api.DERIVED_ATTRIBUTES and receiver.tensor is YES:
            derived = self._derived(receiver, frame)
            return derived.with_(dtype=None, dtype_why=None) if attr in ("real", "imag") else derived
        if receiver.tensor is YES and receiver.module is not YES:
            field = self._model_output_field(attr, receiver, frame)
            if field is not None:
                return field
        return unknown_named(attr)

    def _model_output_field(self, attr: str, output: Facts, frame) -> Optional[Facts]:
        """`model(**batch).last_hidden_state`: a field of what the model returned, computed where and how it was
        (its grad and device; the model's dtype for hidden states, none for scores a head may upcast)."""
        field = self._derived(output, frame)
        if attr in api.MODEL_OUTPUT_STATES:
            return field
        if attr in api.MODEL_OUTPUT_STATE_TUPLES:  # one tensor per layer
            return container_of(field)
        if attr in api.MODEL_OUTPUT_SCORES:
            return field.with_(dtype=None, dtype_why=None)
        return None

    def _enclosing_module(self, node: cst.BaseExpression, frame) -> Optional[Facts]:
        """`model` in `model.fc2`, `model.encoder.layer`: the nearest known module the attribute path starts from."""
        while isinstance(node, cst.Attribute):
            node = node.value
            facts = self.facts(node, frame)
            if facts.module is YES:
                return facts
        return None

    # -- literals and displays --------------------------------------------------------------
    def _literal(self, node, frame):
        return NOT_TENSOR

    _eval_Integer = _eval_Float = _eval_Imaginary = _eval_Ellipsis = _eval_Lambda = _literal
    _eval_ConcatenatedString = _literal

    def _eval_Dict(self, node: cst.Dict, frame):
        """`{"loss": loss, "pred": out}`: a container of its values (what `d[k]`, `d.values()` give)."""
        values = []
        for element in node.elements:
            if isinstance(element, cst.StarredDictElement):
                return UNKNOWN.with_(module=NO)
            values.append(self.facts(element.value, frame))
        return container_of(join_all(values) or NOTHING)

    def _eval_DictComp(self, node: cst.DictComp, frame):
        inner = self.comprehension_frame(node.for_in, frame)
        return container_of(self.fresh().facts(node.value, inner))

    def _eval_SimpleString(self, node: cst.SimpleString, frame):
        accelerator = api.accelerator_of_device_string(string_value(node) or "")
        if accelerator is None:
            return NOT_TENSOR
        return device_spec(YES if accelerator else NO)

    def _eval_FormattedString(self, node: cst.FormattedString, frame):
        head = node.parts[0] if node.parts else None
        if isinstance(head, cst.FormattedStringText):
            accelerator = api.accelerator_of_device_string(head.value)
            if accelerator is not None:
                return device_spec(YES if accelerator else NO)
        return NOT_TENSOR

    def _display(self, node, frame):
        element_facts = []
        for element in node.elements:
            value = self.facts(element.value, frame)
            if isinstance(element, cst.StarredElement):
                value = element_of(value)
            element_facts.append(value)
        items = join_all(element_facts) or NOTHING
        parts = tuple(element_facts) if isinstance(node, cst.Tuple) and not any(
            isinstance(e, cst.StarredElement) for e in node.elements) else None
        return container_of(items, parts)

    _eval_List = _eval_Tuple = _eval_Set = _display

    def _comprehension(self, node, frame):
        inner = self.comprehension_frame(node.for_in, frame)
        return container_of(self.fresh().facts(node.elt, inner))

    _eval_ListComp = _eval_SetComp = _eval_GeneratorExp = _comprehension

    def comprehension_frame(self, for_in: cst.CompFor, frame: Frame) -> Frame:
        """The frame in force inside a comprehension's element: each `for` target bound."""
        env = dict(frame.env)
        clause = for_in
        while clause is not None:
            inner = replace(frame, env=env)
            bind_target(clause.target, element_of(self.fresh().facts(clause.iter, inner)), env)
            clause = clause.inner_for_in
        return replace(frame, env=env)

    def fresh(self) -> "Evaluator":
        """A twin with an empty cache, for evaluating in another frame."""
        twin = Evaluator.__new__(Evaluator)
        twin.__dict__.update(self.__dict__)
        twin._cache = {}
        return twin

    # -- operators --------------------------------------------------------------------------
    def _eval_BinaryOperation(self, node: cst.BinaryOperation, frame):
        left, right = self.facts(node.left, frame), self.facts(node.right, frame)
        if left.items is not None or right.items is not None:
            if isinstance(node.operator, (cst.Add, cst.Multiply)):
                return container_of(_join_items(left, right))
        if left.tensor is NO and right.tensor is NO:  # NumPy arrays and numbers (`img / 255.0`)
            shown = array_arithmetic(node, left, right)
            if shown is not None:
                return shown
        return combine([left, right], frame.grad_enabled)

    def _eval_UnaryOperation(self, node: cst.UnaryOperation, frame):
        if isinstance(node.operator, cst.Not):
            return NOT_TENSOR
        return combine([self.facts(node.expression, frame)], frame.grad_enabled)

    def _eval_Comparison(self, node: cst.Comparison, frame):
        if any(isinstance(t.operator, (cst.Is, cst.IsNot, cst.In, cst.NotIn)) for t in node.comparisons):
            return NOT_TENSOR
        operands = [self.facts(node.left, frame)] + [self.facts(t.comparator, frame) for t in node.comparisons]
        return combine(operands, frame.grad_enabled, integer=True)

    def _eval_BooleanOperation(self, node: cst.BooleanOperation, frame):
        return self.facts(node.left, frame).join(self.facts(node.right, frame))

    def _eval_IfExp(self, node: cst.IfExp, frame):
        fresh = self.fresh()
        body = fresh.facts(node.body, refined_frame(self, frame, node.test, True))
        orelse = self.fresh().facts(node.orelse, refined_frame(self, frame, node.test, False))
        return body.join(orelse)

    def _eval_NamedExpr(self, node: cst.NamedExpr, frame):
        return self.facts(node.value, frame)

    def _eval_Subscript(self, node: cst.Subscript, frame):
        base = self.facts(node.value, frame)
        index = node.slice[0].slice if len(node.slice) == 1 else None
        is_slice = isinstance(index, cst.Slice)
        if base.parts is not None and isinstance(index, cst.Index) and isinstance(index.value, cst.Integer):
            position = int(index.value.value, 0)
            if position < len(base.parts):
                return base.parts[position]
        if base.items is not None:
            return base if is_slice else base.items
        if base.tensor is YES:
            return self._derived(base, frame)
        if base.module.possible and not is_slice:
            # only the containers (`nn.ModuleList`, `nn.Sequential`, `nn.ModuleDict`) of the modules index: an item
            # is one of the modules they hold, built and placed with them (`self.heads[i](x)` is a model call);
            # of a container that may be one (`self.mask_head`, set by a base class elsewhere), it may be a module
            return base.with_(items=None, parts=None, instance_of=None)
        if base.tensor is NO and base.module is NO:
            return kept_by_subscript(base) if is_array(base) else NOT_TENSOR
        if base.module is NO and base.denotes_accelerator is None:
            # maybe a tensor: if it is one, an element or slice keeps what is known (`indices[j]` needs no grad)
            return self._derived(base, frame)
        return UNKNOWN

    # -- calls ------------------------------------------------------------------------------
    def _eval_Call(self, node: cst.Call, frame):
        result = self._call(node, frame)
        if not frame.grad_enabled and result.grad is MAYBE and result.items is None:
            # what a call computes under no_grad does not require grad (only a stored tensor handed back
            # unchanged would, and converting that inside the block is fine anyway)
            return result.with_(grad=NO)
        return result

    def _call(self, node: cst.Call, frame):
        func = node.func
        qualified = self.imports.qualified(func)
        if qualified is not None:
            return self._call_qualified(qualified, node, frame)
        if self.calls is not None:
            callee = self.calls.resolve(func, frame, lambda name: self.lookup(name, frame))
            if callee is not None:
                arguments = self.calls.arguments(callee, node, lambda value: self.facts(value, frame))
                if arguments is not None:
                    return self.calls.returns(callee, arguments, frame.grad_enabled)
            elif isinstance(func, cst.Attribute) and dotted_name(func.value) == "self":
                inherited = self.calls.external_method(frame.cls, func.attr.value)
                if inherited is not None:  # `self.unwrap_to_tensors(...)` of a base class in another module
                    return inherited.returns_given(bound_facts(inherited, node, lambda value: self.facts(value, frame)))
        if isinstance(func, cst.Name):
            name = func.value
            if name in frame.env or name in frame.globals:
                return self._call_value(self.lookup(name, frame), node, frame)
            if name in self.module_classes:
                return self._built_from_class(name)
            if name in self.plain_classes:
                return UNKNOWN.with_(module=NO, instance_of=":" + name)
            if name in _BUILTIN_NAMES or name in ("tqdm", "trange"):
                return self._call_builtin(name, node, frame)
            if name[:1].isupper():
                # calling a class constructs an object (perhaps a module), it does not run a model
                return UNKNOWN.with_(module=MAYBE if api.looks_like_model(name) else NO)
            return self._call_value(self.lookup(name, frame), node, frame)
        if isinstance(func, cst.Attribute):
            return self._call_method(func, node, frame)
        if isinstance(func, cst.Call) and self._stateless_module(func):  # `nn.Softmax(dim=-1)(x)`: a function of x
            return combine([self.facts(a.value, frame) for a in node.args if a.keyword is None], frame.grad_enabled)
        return self._call_value(self.facts(func, frame), node, frame)

    def _built_from_class(self, name: str) -> Facts:
        """An instance of the file's nn.Module class `name`, with float32 parameters where its code shows that
        its input goes first into a float32 layer (analysis/numpy_dtypes.py)."""
        built = BUILT_MODULE.with_(instance_of=":" + name)
        cls = self.calls.classes_by_name.get(name) if self.calls is not None else None
        if cls is None:
            return built
        if id(cls) not in self._class_dtypes:
            self._class_dtypes[id(cls)] = class_parameters(cls, self.imports)
        shown = self._class_dtypes[id(cls)]
        return built if shown is None else built.with_(dtype="float32", dtype_why=shown)

    def _stateless_module(self, constructor: cst.Call) -> bool:
        qualified = self.imports.qualified(constructor.func) or ""
        return (qualified.startswith("torch.nn.") and qualified.rsplit(".", 1)[-1] in api.STATELESS_MODULES
                and _weightless(constructor))

    def _call_value(self, callee: Facts, node: cst.Call, frame, method: Optional[str] = None):
        if callee.module.possible:
            output = self.model_output(callee, node, frame)
            if callee.instance_of is not None:
                # an instance of a project class: its `__call__`/`forward` shows what comes back, not the guess
                shown = instance_call_returns(self, callee.instance_of, method, node, frame)
                output = output if shown is None else _placed_like(filled_by_guess(shown, output), output)
                return frozen_output(self, callee.instance_of, output, node, frame)
            return output
        return self._unknown_result(node, frame)

    def _unknown_result(self, node: cst.Call, frame) -> Facts:
        """An unknown call's result: nothing is known, but if it turns out to be a tensor (a use proves it:
        `loss.backward()`), one computed from device tensors (`criterion(out, y.to(device))`) is on the device."""
        cause = self.argument_evidence(node, frame, "device")
        if cause is None:
            return UNKNOWN.with_(module=NO)
        return UNKNOWN.with_(module=NO, device_why=Evidence(COMES_FROM, node, cause))

    def model_output(self, callee: Facts, node: cst.CSTNode, frame) -> Facts:
        """What calling a module gives: a tensor that requires grad in grad mode (its parameters do), where the
        module is. A module known only by its name (`net(x)`) proves nothing in a file that never imports torch."""
        guessed = callee.module is not YES or callee.guessed
        output = MODEL_OUTPUT.with_(guessed=guessed)
        if is_floating(callee.dtype) and callee.instance_of is None and not has_default_parameters(callee):
            # a module converted to a floating dtype computes in it (`.logits` of a bfloat16 model are bfloat16)
            output = output.with_(dtype=callee.dtype, dtype_why=Evidence(COMES_FROM, node, callee.dtype_why))
        if not frame.grad_enabled:
            output = output.with_(grad=NO)
        elif self.imports.imports_torch and (_names_a_model(node, frame) or _built_here(callee)):
            # a module is evidence of grad (its parameters require it) when it was built or moved here, or when
            # its name says "a whole model" (`model`, `net`, `encoder`): not "some module" (`self.module: nn.Module`
            # wrapping a parameter-free transform), and not the name of a parameter (what callers pass decides)
            if not callee.named_parameter or _built_here(callee):
                output = output.with_(grad_why=Evidence(COMES_FROM, node))
            if not _built_here(callee) and isinstance(node, cst.Call) and _names_a_loss(node):
                # a criterion (`criterion(out, y)`) has no parameters to show: what it is given decides (an output
                # that requires grad, or a model it runs)
                cause = self.argument_evidence(node, frame, "grad")
                if cause is not None or not any(self.facts(a.value, frame).module.possible for a in node.args):
                    output = output.with_(grad_why=Evidence(COMES_FROM, node, cause) if cause is not None else None)
        # a module built here and never moved computes on the host (inputs elsewhere would raise)
        if callee.device is NO:
            return output.with_(device=NO)
        if guessed and not self.imports.imports_torch:
            return output  # `net(x)` in a file that never imports torch: nothing says it is a torch model
        # a module computes where its parameters are, and so where its inputs are (anything else raises)
        cause = callee.device_why
        if cause is None or not cause.shown_by_code:  # a move in the code says more than a framework's placement
            cause = (self.argument_evidence(node, frame, "device") if isinstance(node, cst.Call) else None) or cause
        if cause is not None:
            return output.with_(device_why=Evidence(COMES_FROM, node, cause))
        return output

    def argument_evidence(self, node: cst.Call, frame, kind: str) -> Optional[Evidence]:
        """The `kind` ("grad" or "device") evidence of the first argument that has some: `criterion(model(x), y)`
        requires grad, `model(x.to(device))` computes on the device."""
        for arg in node.args:
            value = self.facts(arg.value, frame)
            content = value.tensor_content() or value
            if getattr(content, f"{kind}_evidenced"):
                return getattr(content, f"{kind}_why")
        return None

    def _call_builtin(self, name: str, node: cst.Call, frame):
        args = [self.facts(a.value, frame) for a in node.args if not a.keyword]
        if name in _ELEMENT_PRESERVING_BUILTINS and args:
            return container_of(element_of(args[0]))
        if name == "enumerate" and args:
            return container_of(container_of(None, (NOT_TENSOR, element_of(args[0]))))
        if name == "zip" and args:
            return container_of(container_of(None, tuple(element_of(a) for a in args)))
        if name == "range":
            return container_of(NOT_TENSOR)
        if name == "dict" and not args:  # `dict(mask_pred=mask_pred)`: a container of its values
            values = [self.facts(a.value, frame) for a in node.args if a.keyword is not None]
            return container_of(join_all(values) or NOTHING)
        if name in ("sum", "max", "min", "next") and args:
            return element_of(args[0]) if args[0].items is not None else UNKNOWN
        if name == "abs" and args:
            return args[0]
        return NOT_TENSOR

    def _call_qualified(self, qualified: str, node: cst.Call, frame):
        head, _, rest = qualified.partition(".")
        if head == "numpy":
            return numpy_call(qualified, node, lambda value: self.facts(value, frame), self.imports)
        if head in ("tensorflow", "jax", "cupy", "pandas", "sklearn", "scipy", "matplotlib", "PIL", "math"):
            return NOT_TENSOR
        if qualified in api.DEVICE_WRAPPERS:  # DataParallel and friends scatter to the accelerators
            return MODULE.with_(device_why=Evidence(WRAPPED_BY, node.func))
        if qualified in api.MODULE_WRAPPERS:  # `torch.compile(model)`: the same module, where it was
            wrapped = self._positional(node, 0, frame)
            return wrapped.with_(module=YES) if wrapped is not None and wrapped.module.possible else MODULE
        if qualified.startswith(api.MODULE_LOADERS):
            return MODULE  # a load that may map to a device (or not: `map_location` decides)
        if qualified.startswith(api.MODULE_FACTORIES):
            return BUILT_MODULE
        if qualified in api.LIGHTNING_TRAINERS:
            return UNKNOWN.with_(module=NO, instance_of=qualified)
        if head == "torch":
            return self._call_torch(qualified, node, frame)
        if qualified.endswith(".from_pretrained") and "Model" in qualified:
            return self._loaded_model(node)
        if qualified in ("tqdm.tqdm", "tqdm.auto.tqdm", "tqdm.notebook.tqdm"):
            return self._call_builtin("tqdm", node, frame)
        project = self.imports.project
        if project is not None:  # a function or class of another module of the project
            cls = project.class_(qualified)
            if cls is not None:
                if cls.is_module and not project.holds_state(qualified):
                    # no parameters of its own: its output requires grad only if its input does, and it computes
                    # where its input is; what it is called with decides (so no evidence of its own)
                    return MODULE.with_(guessed=True, instance_of=qualified)
                return (BUILT_MODULE if cls.is_module else UNKNOWN.with_(module=NO)).with_(instance_of=qualified)
            function = project.function(qualified)
            if function is not None:  # with the evidence of an argument its result is computed from
                return function.returns_given(bound_facts(function, node, lambda value: self.facts(value, frame)))
        return UNKNOWN.with_(module=MAYBE if api.looks_like_model(qualified.rsplit(".", 1)[-1]) else NO)

    def _call_torch(self, qualified: str, node: cst.Call, frame):
        name = qualified.rsplit(".", 1)[-1]
        if qualified in ("torch.nn.Parameter", "torch.nn.parameter.Parameter"):
            grad = _keyword_tri(node, "requires_grad", default=YES)
            data = self._positional(node, 0, frame)
            placed = data is not None and data.tensor.possible
            return PARAMETER.with_(grad=grad, grad_why=Evidence(CREATED_BY, node.func),
                                   device=data.device if placed else NO, device_why=data.device_why if placed else None)
        if qualified.startswith("torch.nn.") and not qualified.startswith("torch.nn.functional.") and name[:1].isupper():
            if name in api.STATELESS_MODULES and _weightless(node):
                return MODULE
            layer = layer_parameters(name, node, self.imports)
            return BUILT_MODULE if layer is None else BUILT_MODULE.with_(dtype="float32", dtype_why=layer)
        if qualified.startswith("torch.nn.init."):  # initialisers return their tensor; fans and gains are numbers
            if name.startswith(("_calculate", "calculate_")):
                return NOT_TENSOR
            return self._positional(node, 0, frame) or UNKNOWN
        if qualified in ("torch.load", "torch.jit.load"):
            return Facts(tensor=MAYBE, grad=NO, device=MAYBE)
        if qualified == "torch.device":
            return device_spec(self.accelerator(node.args[0].value, frame) if node.args else MAYBE)
        if qualified.startswith("torch.utils.data.") and name.endswith("DataLoader"):
            return container_of(UNKNOWN)
        if qualified == "torch.autograd.grad":  # gradients, which require grad only with create_graph=True
            create_graph = _keyword_tri(node, "create_graph", default=NO)
            # each gradient lives on its input's device (checked on the meta device: grads follow the inputs)
            inputs = _keyword(node, "inputs")
            placed = self.facts(inputs, frame) if inputs is not None else self._positional(node, 1, frame)
            placed = placed.tensor_content() if placed is not None else None
            return container_of(Facts(tensor=YES, grad=create_graph, device=placed.device if placed else MAYBE,
                                      grad_why=Evidence(COMES_FROM, node),
                                      device_why=placed.device_why if placed else None))
        if qualified.startswith(api.TORCH_OPAQUE_NAMESPACES):
            return UNKNOWN.with_(module=NO)
        if qualified.count(".") == 1 and (name in api.FACTORIES or name in api.LIKE_FACTORIES):
            return self._factory(name, node, frame)
        if qualified.count(".") == 1 and name in api.TORCH_NON_TENSOR_FUNCTIONS:
            return NOT_TENSOR
        if qualified.count(".") == 1 or qualified.startswith(("torch.nn.functional.", "torch.linalg.", "torch.fft.", "torch.special.")):
            if name in api.VALUES_INDICES_METHODS and self._has_dim_argument(node, 1, frame):
                values = self._op_result(node, frame, skip_first=False)
                return container_of(None, (values, values.with_(grad=NO)))
            return self._op_result(node, frame, integer=name in api.INTEGER_OPS)
        return UNKNOWN.with_(module=NO)

    def _factory(self, name: str, node: cst.Call, frame):
        made_here = Evidence(CREATED_BY, node)
        grad = _keyword_tri(node, "requires_grad", default=NO)
        grad_why = made_here if grad.possible else None
        device_arg = _keyword(node, "device")
        followed = self._device_of_tensor(device_arg, frame) if device_arg is not None else None
        if followed is not None:
            device = followed[0]
        elif device_arg is not None:
            device = self.accelerator(device_arg, frame)
        elif name.startswith(("cuda",)) or self.default_device_may_be_accelerator:
            device = MAYBE
        else:
            device = NO
        device_why = followed[1] if followed is not None else made_here if device.possible else None
        source = self._positional(node, 0, frame)
        if name == "from_numpy":
            from_array = tensor_from_array(node, source)
            return HOST_TENSOR if from_array is None else HOST_TENSOR.with_(dtype=from_array.dtype,
                                                                             dtype_why=from_array.dtype_why)
        dtype = self._dtype_keyword(node, "dtype")
        dtype_why = made_here if dtype is not None else None
        if name in api.LIKE_FACTORIES:
            if device_arg is None:
                placed = source is not None and source.tensor.possible
                device = source.device if placed else MAYBE
                device_why = source.device_why if placed else None
            if dtype is None and source is not None and _keyword(node, "dtype") is None:
                dtype, dtype_why = source.dtype, source.dtype_why
            return Facts(tensor=YES, grad=grad, device=device, grad_why=grad_why, device_why=device_why, dtype=dtype,
                         dtype_why=dtype_why)
        if name in ("as_tensor", "asarray", "tensor") and source is not None:
            content = source.tensor_content() or (source if source.tensor is not NO else None)
            if content is not None:
                if device_arg is None:
                    device, device_why = content.device, content.device_why
                if name != "tensor" and _keyword(node, "requires_grad") is None:
                    grad, grad_why = content.grad, content.grad_why
                if _keyword(node, "dtype") is None and content.tensor is YES:
                    dtype, dtype_why = content.dtype, content.dtype_why
            from_array = tensor_from_array(node, source)
            if from_array is not None:  # `torch.tensor(a)` of a NumPy array keeps its dtype
                dtype, dtype_why = from_array.dtype, from_array.dtype_why
        return Facts(tensor=YES, grad=grad, device=device, grad_why=grad_why, device_why=device_why, dtype=dtype,
                     dtype_why=dtype_why)

    def _op_result(self, node: cst.Call, frame, integer: bool = False, skip_first: bool = False) -> Facts:
        operands = []
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value in ("dim", "dtype", "axis", "keepdim", "out"):
                continue
            value = self.facts(arg.value, frame)
            operands.append(value.tensor_content() or value)
        result = combine(operands, frame.grad_enabled, integer=integer)
        if result.tensor is NO:  # only non-tensor operands (`torch.arange(n)`-like): a fresh host tensor
            return Facts(tensor=YES, grad=NO, device=NO)
        named = self._dtype_keyword(node, "dtype")
        if named is not None:
            result = result.with_(dtype=named, dtype_why=Evidence(CONVERTED_BY, node))
        elif _keyword(node, "dtype") is not None:
            result = result.with_(dtype=None, dtype_why=None)
        return result.with_(tensor=YES)  # a torch function returns a tensor whatever its arguments were

    def _call_method(self, func: cst.Attribute, node: cst.Call, frame):
        name = func.attr.value
        receiver = self.facts(func.value, frame)
        callee = self.facts(func, frame)
        # `self.encoder(x)`, `trainer.model(x)`: a submodule, or a model kept on an object.
        # A pandas `df.head()` is neither: weak model names only count on a module receiver.
        if callee.module is YES or (callee.module is MAYBE and (
                receiver.module.possible or api.looks_like_model(name, strict=True))):
            return self._call_value(callee, node, frame)
        # a module's parameters and buffers are where the module is (on the host, when it was built here)
        placed = NO if receiver.module is YES and receiver.device is NO else MAYBE
        placed_why = receiver.device_why if placed is MAYBE and receiver.module.possible else None
        guessed = receiver.module is not YES
        parameter = PARAMETER.with_(device=placed, device_why=placed_why, guessed=guessed)
        buffer = BUFFER.with_(device=placed, device_why=placed_why, guessed=guessed)
        if name == "parameters":
            return container_of(parameter)
        if name == "named_parameters":
            return container_of(container_of(None, (NOT_TENSOR, parameter)))
        if name == "buffers":
            return container_of(buffer)
        if name == "named_buffers":
            return container_of(container_of(None, (NOT_TENSOR, buffer)))
        if name in ("modules", "children"):
            return container_of(MODULE)
        if name in ("named_modules", "named_children"):
            return container_of(container_of(None, (NOT_TENSOR, MODULE)))
        if name in ("forward", "__call__") and receiver.module.possible:
            return self._call_value(receiver, node, frame, method=name)
        if receiver.instance_of in api.LIGHTNING_TRAINERS and name == "predict":
            return UNKNOWN.with_(module=NO, grad=NO, device=NO)  # host copies, made under inference mode
        if receiver.instance_of is not None and name not in _MODULE_API:
            returned = instance_method_returns(self, receiver.instance_of, name, node, frame)
            if returned is not None:  # `self.model.get_theta(x)` of `self.model = DecoderNetwork(...)`
                return returned
        if name == "from_pretrained":
            dotted = dotted_name(func.value) or ""
            return self._loaded_model(node) if "Model" in dotted else UNKNOWN.with_(module=NO)
        if receiver.items is not None and name in ("pop", "__getitem__", "get", "setdefault"):
            return receiver.items
        if receiver.items is not None and name == "values":
            return container_of(receiver.items)
        if receiver.items is not None and name == "items":
            return container_of(container_of(None, (NOT_TENSOR, receiver.items)))
        if receiver.tensor is NO:
            if receiver.module is YES:
                if name in ("to", "cuda", "cpu"):  # `model.to(device)` moves the parameters (and returns the module)
                    moved = self._tensor_method(name, receiver, node, frame)
                    return self._with_method_dtype(receiver.with_(device=moved.device, device_why=moved.device_why),
                                                   name, receiver, node, frame)
                if name in api.MODULE_RETURNING_METHODS:
                    return self._with_method_dtype(receiver, name, receiver, node, frame)
                # another method of the module (`self.reparameterize(mu, std)`): unknown, but if it is a tensor, one
                # computed from device tensors is on the device, as for any unknown call
                return self._unknown_result(node, frame)
            if receiver.items is not None and name == "copy":
                return receiver
            return array_method(name, node, receiver, self.imports) if is_array(receiver) else NOT_TENSOR
        if name == "state_dict" and receiver.module.possible and not _keyword(node, "keep_vars"):
            # detached copies of the parameters and buffers, where the module is
            known = receiver.module is YES
            return container_of(Facts(tensor=YES, grad=NO, device=receiver.device if known else MAYBE,
                                      device_why=receiver.device_why if known else None, guessed=not known))
        if name == "sample":  # `distribution.sample()` is not differentiable (rsample is); tensors have no `sample`
            return UNKNOWN.with_(grad=NO, module=NO)
        result = self._with_method_dtype(self._tensor_method(name, receiver, node, frame), name, receiver, node,
                                         frame)
        if receiver.module.possible and name in api.MODULE_RETURNING_METHODS:
            return result.with_(module=receiver.module)
        return result

    def _tensor_method(self, name: str, receiver: Facts, node: cst.Call, frame) -> Facts:
        tensor_like = receiver.with_(module=NO, items=None, parts=None, denotes_accelerator=None, instance_of=None)
        if name == "detach" or name == "detach_":
            return tensor_like.with_(grad=NO)
        if name == "cpu":
            return tensor_like.with_(device=NO)
        if name == "cuda":
            return _moved(receiver, tensor_like.with_(device=YES, device_why=Evidence(MOVED_BY, node)))
        if name == "to":
            target = self._to_target(node, frame)
            derived = self._derived(tensor_like, frame)
            if target is None:
                return derived
            device, why = target
            return _moved(receiver, derived.with_(device=device, device_why=why if device.possible else None))
        if name.startswith("new_") and name[4:] in ("zeros", "ones", "empty", "full", "tensor", "empty_strided"):
            grad = _keyword_tri(node, "requires_grad", default=NO)
            followed = self._device_of_tensor(_keyword(node, "device"), frame) if _keyword(node, "device") else None
            if followed is not None:
                device, device_why = followed
            elif _keyword(node, "device") is not None:
                device = self.accelerator(_keyword(node, "device"), frame)
                device_why = Evidence(CREATED_BY, node) if device.possible else None
            else:
                device, device_why = receiver.device, receiver.device_why
            return Facts(tensor=YES if receiver.tensor is YES else MAYBE, grad=grad, device=device,
                         device_why=device_why, guessed=receiver.guessed)
        if name == "requires_grad_":
            grad = _positional_tri(node, 0, "requires_grad", default=YES)
            return tensor_like.with_(grad=grad, grad_why=Evidence(MARKED_BY, node)
                                     if grad.possible else None)
        if name == "type" and node.args:  # `x.type(torch.int32)` converts; `x.type()` names the type
            return self._derived(tensor_like, frame)
        if name in api.NON_TENSOR_METHODS:
            return NOT_TENSOR
        if receiver.tensor is not YES and name not in api.INTEGER_OPS:
            # `x.detach().cpu().clone()`: a tensor method keeps what is known, whatever `x` is
            if name in api.TENSOR_RESULT_METHODS and receiver.tensor is MAYBE:
                # only a tensor has `.unsqueeze()` (of the arrays we know; other frameworks' may): a guess
                return self._derived(tensor_like.with_(tensor=YES, guessed=True), frame)
            if name in api.FACT_PRESERVING_METHODS and receiver.tensor is MAYBE:
                return self._derived(tensor_like, frame)
            return self._unknown_result(node, frame)  # `helper.compute(out, y.to(device))`
        if name not in TENSOR_ATTRIBUTES:
            # `hypothesis.asdict()`, `output.to_tuple()`: torch.Tensor has no such method, so the receiver is some
            # other object (a result wrapper, a tensor subclass) and what it returns is not known
            return self._unknown_result(node, frame)
        if name in api.INTEGER_OPS:
            return tensor_like.with_(grad=NO)
        if name in api.VALUES_INDICES_METHODS and self._has_dim_argument(node, 0, frame):
            values = self._derived(tensor_like, frame)
            return container_of(None, (values, values.with_(grad=NO)))
        operands = [tensor_like] + [self.facts(a.value, frame) for a in node.args if a.keyword is None]
        return combine(operands, frame.grad_enabled)

    def _with_method_dtype(self, result: Facts, name: str, receiver: Facts, node: cst.Call, frame) -> Facts:
        """`result` of `receiver.name(...)` with the dtype the code shows it has (analysis/dtypes.py), or none."""
        named = self._dtype_keyword(node, "dtype")
        if named is None and name in ("to", "type", "view"):
            named = next((found for arg in node.args if arg.keyword is None
                          for found in [torch_dtype_named(self.imports.qualified(arg.value))] if found), None)
        if named is None and name in CONVERSION_METHODS and not node.args:
            named = CONVERSION_METHODS[name]
        if named is not None:
            return result.with_(dtype=named, dtype_why=Evidence(CONVERTED_BY, node))
        if name == "to" and not all(self._names_a_device(arg.value, frame) for arg in node.args if arg.keyword is None):
            other = self._positional(node, 0, frame)  # `.to(other)`: the other tensor's dtype (`.to(*args)`: none)
            if other is None or other.tensor is not YES:
                return result.with_(dtype=None, dtype_why=None)
            return result.with_(dtype=other.dtype, dtype_why=other.dtype_why)
        if name in KEEPS_DTYPE or name in ("to", "view") or name in KEEPS_FLOATING_DTYPE and is_floating(receiver.dtype):
            return result.with_(dtype=receiver.dtype, dtype_why=receiver.dtype_why)
        return result.with_(dtype=None, dtype_why=None)

    def _loaded_model(self, node: cst.Call) -> Facts:
        """`AutoModel.from_pretrained(..., torch_dtype=torch.bfloat16)`: a module, in the dtype it was loaded as."""
        loaded_as = self._dtype_keyword(node, "torch_dtype") or self._dtype_keyword(node, "dtype")
        return MODULE.with_(dtype=loaded_as, dtype_why=Evidence(CREATED_BY, node)) if loaded_as else MODULE

    def _names_a_device(self, node: cst.BaseExpression, frame) -> bool:
        """`"cuda"`, `0`, `torch.device(...)`, `self.device`, `device`: a device, not a tensor whose dtype `.to` takes."""
        if isinstance(node, (cst.SimpleString, cst.Integer)) or self.facts(node, frame).denotes_accelerator is not None:
            return True
        name = dotted_name(node)
        return name is not None and "device" in name.rsplit(".", 1)[-1].lower()

    def _dtype_keyword(self, node: cst.Call, keyword: str) -> Optional[str]:
        value = _keyword(node, keyword)
        return torch_dtype_named(self.imports.qualified(value)) if value is not None else None

    def _to_target(self, node: cst.Call, frame) -> Optional[Tuple[Tri, Optional[Evidence]]]:
        """Accelerator-ness of `.to(...)`'s target device and its evidence; None when only the dtype changes."""
        target = None
        moved = Evidence(MOVED_BY, node)
        for arg in node.args:
            if arg.keyword is not None:
                if arg.keyword.value == "device":
                    target = self._device_of_tensor(arg.value, frame) or (self.accelerator(arg.value, frame), moved)
                continue
            if _is_dtype(arg.value, self.imports):
                continue
            value = self.facts(arg.value, frame)
            if value.tensor is YES:
                return value.device, value.device_why
            target = self._device_of_tensor(arg.value, frame) or (self.accelerator(arg.value, frame), moved)
        return target

    def _device_of_tensor(self, node: cst.BaseExpression, frame) -> Optional[Tuple[Tri, Optional[Evidence]]]:
        """`device=mask.device`, `.to(x.device)` (also through `device = x.device`): the new tensor goes where that
        tensor is, so it has that tensor's device facts and evidence (none for a parameter of unknown provenance),
        not an evidence of its own; None when the device expression is not a tensor's `.device`."""
        spec = self.facts(node, frame)
        if spec.tensor is not NO or spec.denotes_accelerator is None or not spec.device.possible:
            return None   # a device named in the code (`"cuda"`, `torch.device(...)`), or not a device at all
        return spec.denotes_accelerator, spec.device_why

    def accelerator(self, node: cst.BaseExpression, frame) -> Tri:
        """Does this device expression name an accelerator?"""
        if isinstance(node, cst.Integer):
            return YES
        if isinstance(node, cst.Name) and node.value == "None":  # `device=None`: the default device
            return MAYBE if self.default_device_may_be_accelerator else NO
        value = self.facts(node, frame)
        return value.denotes_accelerator if value.denotes_accelerator is not None else MAYBE

    def _derived(self, base: Facts, frame) -> Facts:
        plain = base.with_(module=NO, items=None, parts=None, denotes_accelerator=None, instance_of=None)
        return plain if frame.grad_enabled else plain.with_(grad=NO)

    def _has_dim_argument(self, node: cst.Call, positional_index: int, frame) -> bool:
        """`torch.max(x, 1)`, `x.topk(k=3)`: a (values, indices) pair; `torch.max(a, b)` of two tensors is not."""
        if _keyword(node, "dim") is not None or _keyword(node, "k") is not None:
            return True
        name = node.func.attr.value if isinstance(node.func, cst.Attribute) else ""
        if name in _ALWAYS_PAIRS:
            return True
        positional = [a for a in node.args if a.keyword is None]
        # a dim is an int: a value that may be a tensor (`torch.min(loss_1, loss_2)`) makes it elementwise
        return len(positional) > positional_index and self.facts(positional[positional_index].value, frame).tensor is NO

    def _positional(self, node: cst.Call, index: int, frame) -> Optional[Facts]:
        positional = [a for a in node.args if a.keyword is None and not a.star]
        return self.facts(positional[index].value, frame) if index < len(positional) else None


def _moved(receiver: Facts, moved: Facts) -> Facts:
    """What `.cuda()`/`.to(device)` gives: a value sent to an accelerator is a tensor (modules are handled before);
    of an unknown receiver (`batch.to(device)`) that is a guess, since look-alikes have `.to()` too."""
    if moved.device.possible and receiver.tensor is MAYBE and receiver.module is NO:
        return moved.with_(tensor=YES, guessed=True)
    return moved


def _placed_like(shown: Facts, output: Facts) -> Facts:
    """What a project class's code shows its call returns, placed where the module is: a tensor it computes
    without a device of its own in the code is where the caller's code put the module (`model.to(device)`),
    or on the host for a module built here and never moved."""
    if not output.device_evidenced and output.device is not NO:
        return shown
    if shown.items is not None or shown.parts is not None:
        return shown.with_(items=_placed_like(shown.items, output) if shown.items is not None else None,
                           parts=tuple(_placed_like(p, output) for p in shown.parts) if shown.parts else shown.parts)
    if not shown.tensor.possible or not shown.device.possible or shown.device_evidenced:
        return shown
    if output.device is NO:
        return shown.with_(device=NO, device_why=None)
    return shown.with_(device=max(shown.device, output.device), device_why=output.device_why)


def _built_here(callee: Facts) -> bool:
    """A module constructed in this code (on the host until moved) or moved by it: its kind is known."""
    return callee.module is YES and not callee.guessed and (callee.device is NO or callee.device_why is not None)


def _names_a_model(node: cst.CSTNode, frame: Frame) -> bool:
    """Is the called thing named like a whole model (`model(x)`, `self.net(x)`, `policy_net(x)`), or, inside an
    `nn.Module`, like a submodule (`self.fc(x)`, `mask_head = self.mask_head[i]; mask_head(x)`)?"""
    func = node.func if isinstance(node, cst.Call) else node
    if isinstance(func, cst.Attribute) and func.attr.value in ("forward", "__call__"):
        func = func.value
    name = dotted_name(func)
    if name is None:
        return False
    last = name.rsplit(".", 1)[-1]
    if frame.cls is not None and frame.cls.is_module:  # inside an nn.Module, `mask_head(x)` is a submodule's call
        return api.looks_like_model(last)
    return api.looks_like_model(last, strict=True)


def _names_a_loss(node: cst.CSTNode) -> bool:
    func = node.func if isinstance(node, cst.Call) else node
    name = dotted_name(func)
    return name is not None and api.looks_like_loss(name)


def _weightless(constructor: cst.Call) -> bool:
    """A loss built with `weight=`/`pos_weight=` holds a tensor (and moves with `.to()`): not stateless."""
    return not any(a.keyword is not None and a.keyword.value in ("weight", "pos_weight") for a in constructor.args)


# What nn.Module itself defines: a project class's own method of that name is not looked up for these.
_MODULE_API = frozenset({"parameters", "named_parameters", "buffers", "named_buffers", "modules", "children",
                         "named_modules", "named_children", "state_dict", "load_state_dict", "zero_grad",
                         "register_forward_hook", "register_backward_hook", "register_buffer",
                         "register_parameter"}) | api.MODULE_RETURNING_METHODS

_ALWAYS_PAIRS = frozenset({"sort", "topk", "kthvalue", "aminmax", "cummax", "cummin"})  # (values, indices) always


# -- helpers shared with the walker ----------------------------------------------------------
def unknown_named(name: str) -> Facts:
    """Facts of a value we know nothing about but its name."""
    if api.looks_like_other_framework(name):
        return NOT_TENSOR
    return UNKNOWN.with_(module=MAYBE) if api.looks_like_model(name) else UNKNOWN


def element_of(value: Facts) -> Facts:
    """Facts of what iterating over the value yields."""
    if value.items is not None:
        return value.items
    if value.tensor is YES:
        return value.with_(items=None, parts=None)
    if value.tensor is NO and value.module is NO and value.denotes_accelerator is not None:
        return NOT_TENSOR
    return UNKNOWN


def combine(operands: Iterable[Facts], grad_enabled: bool, integer: bool = False) -> Facts:
    """Result of a tensor operation on the operands.

    When some operand is known to be a tensor, operands of unknown kind are taken to be
    scalars (`x * scale`): they do not make the result require grad or move it.
    """
    operands = list(operands)
    known = [f for f in operands if f.tensor is YES]
    basis = known or [f for f in operands if f.tensor is MAYBE]
    if not basis:
        return NOT_TENSOR
    grad = NO if integer or not grad_enabled else max(f.grad for f in basis)
    device = max(f.device for f in basis)
    grad_why = next((f.grad_why for f in basis if f.grad_evidenced), None) if grad.possible else None
    device_why = next((f.device_why for f in basis if f.device_shown_by_code), None) or next(
        (f.device_why for f in basis if f.device_evidenced), None)
    # a floating dtype survives numbers (`out * 0.5`), not another tensor of unknown dtype (promotion may widen it)
    dtypes = {f.dtype for f in known}
    dtype = next(iter(dtypes)) if len(dtypes) == 1 and not integer and len(known) + sum(
        f.tensor is NO for f in operands) == len(operands) else None
    dtype = dtype if is_floating(dtype) else None
    dtype_why = next((f.dtype_why for f in known), None) if dtype is not None else None
    return Facts(tensor=YES if known else MAYBE, grad=grad, device=device, grad_why=grad_why, device_why=device_why,
                 guessed=any(f.guessed for f in known), dtype=dtype, dtype_why=dtype_why)


def bind_target(target: cst.BaseExpression, value: Facts, env: Dict[str, Facts]) -> None:
    """Bind an assignment/loop target to the facts of the value assigned to it."""
    if isinstance(target, cst.Name):
        forget(env, target.value)
        env[target.value] = value
    elif isinstance(target, cst.Attribute):
        path = dotted_name(target)
        if path is not None:
            forget(env, path)
            store(env, {path: value})
    elif isinstance(target, (cst.Tuple, cst.List)):
        elements = target.elements
        for position, element in enumerate(elements):
            if isinstance(element, cst.StarredElement):
                bind_target(element.value, container_of(element_of(value)), env)
            elif value.parts is not None and len(value.parts) == len(elements):
                bind_target(element.value, value.parts[position], env)
            else:
                bind_target(element.value, element_of(value), env)
    elif isinstance(target, cst.StarredElement):
        bind_target(target.value, container_of(element_of(value)), env)


def _keyword(node: cst.Call, name: str) -> Optional[cst.BaseExpression]:
    for arg in node.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def _keyword_tri(node: cst.Call, name: str, default: Tri) -> Tri:
    value = _keyword(node, name)
    return default if value is None else _literal_bool(value)


def _positional_tri(node: cst.Call, index: int, name: str, default: Tri) -> Tri:
    value = _keyword(node, name)
    positional = [a for a in node.args if a.keyword is None]
    if value is None and index < len(positional):
        value = positional[index].value
    return default if value is None else _literal_bool(value)


def _literal_bool(value) -> Tri:
    if isinstance(value, cst.Name) and value.value in ("True", "False"):
        return YES if value.value == "True" else NO
    return MAYBE




def _is_dtype(node: cst.BaseExpression, imports: ImportMap) -> bool:
    qualified = imports.qualified(node)
    if qualified is not None and qualified.startswith("torch.") and qualified.rsplit(".", 1)[-1] in api.DTYPE_NAMES:
        return True
    if isinstance(node, cst.Attribute) and node.attr.value == "dtype":
        return True
    dotted = dotted_name(node)
    return dotted is not None and "dtype" in dotted.rsplit(".", 1)[-1].lower()


def _join_items(left: Facts, right: Facts) -> Facts:
    items = [f.items if f.items is not None else UNKNOWN for f in (left, right)]
    return items[0].join(items[1])
