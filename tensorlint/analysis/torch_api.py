"""What we know about the torch API, as data: which calls make tensors, which results are integers, ..."""
from __future__ import annotations

import re

from tensorlint.analysis.dtypes import ALIASES, TORCH_DTYPES

FACTORIES = frozenset({
    "zeros", "ones", "empty", "full", "rand", "randn", "randint", "randperm", "arange", "range",
    "linspace", "logspace", "eye", "empty_strided", "tensor", "as_tensor", "asarray", "from_numpy",
    "frombuffer", "scalar_tensor", "complex", "polar", "tril_indices", "triu_indices",
    "Tensor", "FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "LongTensor",
    "IntTensor", "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor",
    "hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window",
})
LIKE_FACTORIES = frozenset({
    "zeros_like", "ones_like", "empty_like", "full_like", "rand_like", "randn_like", "randint_like",
})

# Results that never require grad (integer or boolean valued), as functions and as methods.
INTEGER_OPS = frozenset({
    "argmax", "argmin", "argsort", "argwhere", "nonzero", "eq", "ne", "gt", "ge", "lt", "le",
    "greater", "greater_equal", "less", "less_equal", "not_equal", "isnan", "isinf", "isfinite",
    "isneginf", "isposinf", "isclose", "isin", "isreal", "logical_and", "logical_or", "logical_not",
    "logical_xor", "bucketize", "searchsorted", "count_nonzero", "bincount", "long", "int", "bool",
    "byte", "char", "short", "signbit",
})

# Methods of a tensor whose result is not a tensor.
NON_TENSOR_METHODS = frozenset({
    "item", "tolist", "numpy", "size", "dim", "ndimension", "numel", "nelement", "element_size",
    "stride", "storage_offset", "data_ptr", "is_contiguous", "is_floating_point", "is_complex",
    "is_signed", "get_device", "__len__", "equal", "untyped_storage", "storage", "backward",
    "register_hook", "is_pinned", "is_shared", "type", "tobytes", "__array__",
})

# Attributes of a tensor that are not tensors.
NON_TENSOR_ATTRIBUTES = frozenset({
    "shape", "dtype", "device", "ndim", "is_cuda", "is_leaf", "requires_grad", "grad_fn",
    "layout", "is_sparse", "is_quantized", "is_meta", "is_mps", "names", "itemsize", "nbytes",
})
# Attributes of a tensor that are tensors derived from it.
DERIVED_ATTRIBUTES = frozenset({"T", "mT", "H", "mH", "real", "imag"})
# Fields of a transformers `ModelOutput`, what a model call returns: no tensor has these attributes, so a value
# the analysis takes for a model's output tensor that the code reads one of is that output. The hidden states
# are what the layers computed, in the model's dtype; the scores are computed from them, but some heads upcast
# them (`LlamaForCausalLM` returned `logits.float()` in transformers 4.36-4.44), so they keep no dtype.
MODEL_OUTPUT_STATES = frozenset({"last_hidden_state", "pooler_output", "encoder_last_hidden_state", "image_embeds",
                                 "text_embeds"})
MODEL_OUTPUT_STATE_TUPLES = frozenset({"hidden_states", "encoder_hidden_states", "decoder_hidden_states"})
MODEL_OUTPUT_SCORES = frozenset({"logits", "start_logits", "end_logits", "logits_per_image", "logits_per_text"})

# Methods that return a (values, indices) pair when given a dimension.
VALUES_INDICES_METHODS = frozenset({"max", "min", "sort", "topk", "kthvalue", "mode", "median", "cummax", "cummin", "aminmax"})

# Module methods that return the module itself.
MODULE_RETURNING_METHODS = frozenset({
    "to", "cuda", "cpu", "eval", "train", "half", "float", "double", "bfloat16", "requires_grad_",
    "apply", "share_memory", "to_empty", "xpu", "mps",
})

# top-level `torch.X` functions whose result is not a tensor.
TORCH_NON_TENSOR_FUNCTIONS = frozenset({
    "device", "dtype", "Size", "finfo", "iinfo", "manual_seed", "seed", "initial_seed",
    "set_default_dtype", "set_default_device", "get_default_dtype", "get_default_device",
    "set_grad_enabled", "no_grad", "enable_grad", "inference_mode", "is_tensor", "is_storage",
    "is_floating_point", "is_complex", "is_grad_enabled", "is_inference_mode_enabled", "numel",
    "save", "use_deterministic_algorithms", "set_printoptions", "set_num_threads", "get_num_threads",
    "set_num_interop_threads", "equal", "allclose", "autocast", "Generator", "typename",
    "set_float32_matmul_precision", "get_rng_state", "set_rng_state", "is_nonzero", "set_anomaly_enabled",
})
# Namespaces under torch whose calls do not produce fresh tensors we can reason about.
TORCH_OPAQUE_NAMESPACES = ("torch.cuda.", "torch.backends.", "torch.distributed.", "torch.optim.",
                           "torch.utils.", "torch.autograd.", "torch.onnx.", "torch.profiler.",
                           "torch.multiprocessing.", "torch.testing.", "torch.amp.", "torch.mps.")
MODULE_FACTORIES = ("torchvision.models.", "timm.create_model")  # built on the host
MODULE_LOADERS = ("torch.hub.load", "torch.jit.load")  # `map_location` may put it anywhere
MODULE_WRAPPERS = frozenset({"torch.compile", "torch.jit.script", "torch.jit.trace", "torch.nn.DataParallel",
                             "torch.nn.parallel.DistributedDataParallel"})
# Wrappers that scatter to the accelerators (evidence of a device); the others keep where the module is.
DEVICE_WRAPPERS = frozenset({"torch.nn.DataParallel", "torch.nn.parallel.DistributedDataParallel"})

DTYPE_NAMES = TORCH_DTYPES | frozenset(ALIASES)   # `torch.<name>` of a dtype: canonical names and aliases
ACCELERATOR_PREFIXES = ("cuda", "mps", "xpu", "hpu", "npu", "xla", "meta", "privateuseone", "mtia", "ipu")

def names_no_grad_context(name) -> bool:
    """`settings.INFERENCE_MODE()`, `self.no_grad_context()`: a context of the project's own whose name says it turns
    grad off. Its code is not seen, so grad may well be off inside: not evidence enough to report grad there."""
    last = (name or "").rsplit(".", 1)[-1].lower()
    return "inference_mode" in last or "no_grad" in last


NO_GRAD_CONTEXTS = frozenset({"torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad",
                              "torch.autograd.inference_mode", "torch.autograd.grad_mode.no_grad",
                              "torch.autograd.grad_mode.inference_mode"})
GRAD_ON_CONTEXTS = frozenset({"torch.enable_grad", "torch.autograd.enable_grad", "torch.autograd.grad_mode.enable_grad"})
# Lightning's Trainer: `predict` runs the steps under inference mode and moves every prediction to the CPU
# (lightning 2.6 `_PredictionLoop`: `move_data_to_device(predictions, torch.device("cpu"))`).
LIGHTNING_TRAINERS = frozenset({
    f"{package}.{path}Trainer" for package in ("pytorch_lightning", "lightning.pytorch", "lightning")
    for path in ("", "trainer.", "trainer.trainer.")
})
# `set_grad_enabled(flag)`: a context manager and a plain call; torch 2.13 exports the one class under these names.
SET_GRAD_ENABLED = frozenset({"torch.set_grad_enabled", "torch.autograd.set_grad_enabled",
                              "torch.autograd.grad_mode.set_grad_enabled"})

MODULE_BASE_SUFFIXES = ("Module", "LightningModule", "Sequential", "ModuleList", "ModuleDict", "PreTrainedModel")

_MODEL_TOKENS = frozenset({
    "model", "models", "net", "network", "encoder", "decoder", "backbone", "classifier", "generator",
    "discriminator", "critic", "actor", "policy", "head", "module", "layer", "mlp", "fc", "conv",
    "block", "transformer", "unet", "vae", "autoencoder", "embedding", "embedder", "proj", "projector",
    "projection", "attn", "attention", "lstm", "gru", "rnn", "cnn", "linear", "criterion", "teacher",
    "student", "predictor", "regressor", "qnet", "dqn", "bert", "gpt", "resnet", "vit", "llm", "lm",
    "denoiser", "discrim", "gen", "disc", "featurizer", "extractor", "tower",
})
_MODEL_NAMES = frozenset({"loss_fn", "lossfn", "loss_func", "loss_function", "loss_module", "f_theta"})
_TOKEN_SPLIT = re.compile(r"[_\d]+|(?<=[a-z])(?=[A-Z])")


# Tokens that name a whole model, never a part that other libraries also call so (`df.head()`).
_STRONG_MODEL_TOKENS = frozenset({
    "model", "net", "network", "encoder", "decoder", "backbone", "classifier", "generator",
    "discriminator", "critic", "actor", "policy", "transformer", "unet", "vae", "autoencoder",
    "teacher", "student", "qnet", "dqn", "resnet", "denoiser", "criterion",
})


# (`get_model()`, `build_model()` return a model: those keep their model name)
_PREDICATE_PREFIXES = frozenset({"is", "has", "should", "can", "needs", "uses", "supports", "num", "n", "print",
                                 "count", "log"})


def looks_like_model(name: str, strict: bool = False) -> bool:
    """`model`, `policy_net`, `self.encoder`, `conv1`: a name people give to nn.Modules."""
    lowered = name.lower()
    if lowered in _MODEL_NAMES:
        return True
    # a trailing single letter is a role, not a kind: `netG`, `model_D`
    tokens = [t for t in _TOKEN_SPLIT.split(name) if t]
    if tokens and tokens[0].lower() in _PREDICATE_PREFIXES:  # `is_fsdp_managed_module(...)` answers a question
        return False
    if len(tokens) > 1 and len(tokens[-1]) == 1:
        tokens.pop()
    return bool(tokens) and tokens[-1].lower() in (_STRONG_MODEL_TOKENS if strict else _MODEL_TOKENS)


def looks_like_loss(name: str) -> bool:
    """`criterion`, `partition_criterion`, `self.criterion`: the name torch code gives its loss modules. Such a
    name says "a module" but not "parameters": torch's losses have none of their own, so the result requires
    grad only when what it is given does, and a callable so named may as well score a dataset. (`loss_fn` is
    not here: it names whole objectives as often, closures over a model's parameters, pyro's `loss_fn`.)"""
    last = name.rsplit(".", 1)[-1]
    tokens = [t for t in _TOKEN_SPLIT.split(last) if t]
    return bool(tokens) and tokens[-1].lower() == "criterion"


def accelerator_of_device_string(text: str):
    """'cpu' → False, 'cuda:0'/'mps' → True, anything else → None (unknown)."""
    lowered = text.strip().lower()
    if lowered.startswith("cpu"):
        return False
    if lowered.startswith(ACCELERATOR_PREFIXES):
        return True
    return None


_DATASET_TOKENS = frozenset({"dataset", "datasets", "set", "ds", "data", "loader", "dataloader", "trainset", "testset", "valset"})


def looks_like_dataset(dotted: str) -> bool:
    """`train_set`, `dataset`, `self.train_ds`: objects whose `.data` is a host tensor, not a tensor's `.data`."""
    last = dotted.rsplit(".", 1)[-1]
    tokens = [t for t in _TOKEN_SPLIT.split(last) if t]
    return bool(tokens) and tokens[-1].lower() in _DATASET_TOKENS


_OTHER_FRAMEWORK_TOKENS = frozenset({"tf", "keras", "flax", "jax", "jnp", "tfds", "paddle", "mx", "ort", "onnx", "tvm"})


def looks_like_other_framework(name: str) -> bool:
    """`tf_model`, `jax_params`, `flax_state`: a name that says its value is not a torch object."""
    return any(t.lower() in _OTHER_FRAMEWORK_TOKENS for t in _TOKEN_SPLIT.split(name) if t)

# Tensor methods that keep device and grad facts (a copy, a view, a dtype change), even on a value
# only known to *maybe* be a tensor: the chain `x.detach().cpu().clone()` stays detached and on the host.
FACT_PRESERVING_METHODS = frozenset({
    "clone", "contiguous", "float", "double", "half", "bfloat16", "view", "view_as", "reshape", "reshape_as",
    "flatten", "squeeze", "unsqueeze", "permute", "transpose", "t", "expand", "expand_as", "narrow", "select",
    "softmax", "log_softmax", "sigmoid", "tanh", "relu", "abs", "exp", "log", "sum", "mean", "max", "min",
})

# Methods only a torch tensor has (NumPy arrays, lists, pandas and modules have none of them): calling one
# proves the receiver is a tensor, and its result is one. (`.cuda()`/`.float()` are modules' too, `.clone()`
# a yacs config's, `.reshape()`/`.squeeze()`/`.sum()` NumPy's: they are not here.)
TENSOR_ONLY_METHODS = frozenset({
    "detach", "detach_", "contiguous", "permute", "unsqueeze", "unsqueeze_", "softmax", "log_softmax", "sigmoid",
    "view_as", "expand_as", "type_as", "reshape_as", "masked_fill", "masked_fill_", "index_select", "new_zeros",
    "new_ones", "new_empty", "new_full", "new_tensor", "numel", "element_size", "is_contiguous", "dim",
    "retain_grad", "register_hook", "data_ptr", "pin_memory", "is_pinned", "size",
})
# What these return is a tensor whatever the receiver was thought to be (`.clone()` is not evidence about
# the receiver, a yacs config has it too, but nobody converts a config's clone).
TENSOR_RESULT_METHODS = TENSOR_ONLY_METHODS | {"clone"}

# `torch.nn` modules without parameters or buffers: they compute where their inputs are, so one built on the
# host and never moved (`criterion = nn.CrossEntropyLoss()`) says nothing about its output's device, and
# `nn.Softmax(dim=1)(x)` is a function of `x`.
STATELESS_MODULES = frozenset({
    "Softmax", "LogSoftmax", "Softmax2d", "Softmin", "Sigmoid", "LogSigmoid", "Tanh", "ReLU", "ReLU6", "LeakyReLU",
    "GELU", "ELU", "SELU", "CELU", "SiLU", "Mish", "Softplus", "Softsign", "Hardtanh", "Hardswish", "Hardsigmoid",
    "Tanhshrink", "Threshold", "GLU", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "Identity",
    "Flatten", "Unflatten", "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d", "Upsample", "PixelShuffle", "PixelUnshuffle", "CosineSimilarity", "PairwiseDistance",
    "L1Loss", "MSELoss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "SmoothL1Loss", "HuberLoss",
    "KLDivLoss", "MarginRankingLoss", "HingeEmbeddingLoss", "CosineEmbeddingLoss", "TripletMarginLoss",
    "MultiLabelSoftMarginLoss", "SoftMarginLoss", "PoissonNLLLoss", "GaussianNLLLoss", "CTCLoss",
    "MultiMarginLoss", "MultiLabelMarginLoss",
})
