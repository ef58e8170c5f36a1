"""Emulate CUDA tensors on a CPU-only machine and count host<->device synchronisations.

An :class:`EmulatedCudaTensor` is an ordinary CPU tensor (a ``torch.Tensor`` subclass using
``__torch_function__``; a ``__torch_dispatch__`` subclass cannot be used because ``.numpy()`` and
``.tolist()`` refuse those) that behaves, as far as tensorlint's rules care, like a tensor on
``cuda:0``:

* ``t.device == torch.device("cuda", 0)``, ``t.is_cuda`` is True, ``t.is_cpu`` False,
  ``t.get_device() == 0``, ``t.type()`` is ``"torch.cuda.FloatTensor"``, ``repr(t)`` is
  ``tensor([...], device='cuda:0')``;
* ``t.numpy()``, ``np.asarray(t)`` (``Tensor.__array__``) and every NumPy function given ``t``
  raise exactly the real CUDA ``TypeError`` (:data:`CUDA_NUMPY_MESSAGE`), and the device check
  comes before the requires-grad check, as in ``tensor_numpy.cpp``; ``t.numpy(force=True)``
  returns a copy and counts a sync;
* ``t.cpu()``, ``t.to("cpu")``, ``t.to(torch.device("cpu"))``, ``t.to(plain_cpu_tensor)`` and
  ``t.type("torch.FloatTensor")`` return a plain ``torch.Tensor`` **copy** (never sharing memory),
  recorded in autograd as ``ToCopyBackward0`` like a real device-to-host copy, so gradients flow
  back; ``t.cuda()`` / ``t.to("cuda")`` return ``t`` itself (or a converted emulated tensor);
* results of torch functions and methods on emulated inputs are emulated (recursively through
  tuples and lists); the result objects are the real results re-classed in place, so ``grad_fn``,
  ``is_leaf`` and object identity are exactly what plain PyTorch gives (``(e * 2).grad_fn`` is
  ``MulBackward0``, not the ``AliasBackward0`` that ``as_subclass`` would add);
* ``.grad`` of an emulated tensor is emulated too, and ``p.grad is p.grad`` holds;
* ``copy.deepcopy`` (of a tensor or a module holding emulated parameters) gives emulated copies;
* optimizers (SGD, Adam, ...) and ``clip_grad_norm_`` run without counted syncs, as on a GPU:
  importing this module wraps ``torch._C._group_tensors_by_device_and_dtype`` (whose C++ reads
  the real device) so that emulated tensors are grouped under ``cuda:0``; for other tensors the
  wrapper returns the original result unchanged;
* every blocking operation is recorded in the active ``sync_count.SyncCounter`` (see
  ``sync_count.count_syncs``).

Counted (kind in parentheses), one count per call -- nested counted operations that the
implementation performs inside a counted call (``repr`` formats through ``masked_select`` and
``.item()``) are not counted again:

``.item()`` (item), ``bool(t)``/``if t:`` (bool), ``float(t)`` (float), ``int(t)`` (int),
``operator.index(t)``/``range(t)`` (index), ``complex(t)`` (complex), f-strings/``format()``
(format), ``.tolist()`` (tolist), ``repr``/``str``/``print`` (repr), ``.cpu()``/``.to("cpu")``/
``.type("torch.FloatTensor")`` (cpu), ``.numpy(force=True)`` (numpy), ``torch.equal`` (equal),
``torch.allclose`` (allclose), ``torch.is_nonzero`` (is_nonzero), ``x in t`` (contains),
``nonzero`` (nonzero), ``argwhere`` (argwhere), one-argument ``torch.where`` (where), indexing
with an emulated boolean/uint8 mask ``t[mask]`` (mask_index), ``t[mask] = tensor_value``
(mask_assign; ``t[mask] = scalar`` is a ``masked_fill`` on CUDA and is not counted),
``masked_select`` (masked_select), ``unique`` (unique), ``unique_consecutive``
(unique_consecutive), ``bincount`` (bincount), ``repeat_interleave`` with tensor repeats and no
``output_size`` (repeat_interleave), and ``sync_count.emulated_synchronize`` (synchronize) -- patch it in
for ``torch.cuda.synchronize``, which is not a tensor operation.

Not counted: ``.detach()``, ``.clone()``, ``.float()``, arithmetic, reductions, ``.to("cuda")``,
``.to(dtype)``, ``backward()``, optimizer steps, ``.to("cpu", non_blocking=True)`` (on CUDA that is
an asynchronous copy into pinned memory, not a sync), ``np.asarray(t)``/``.numpy()`` (they raise
before copying).

What differs from real CUDA (precisely):

* The data lives in CPU memory: ``data_ptr()``, ``untyped_storage().device``, ``is_pinned()`` and
  ``torch.cuda.*`` queries are the CPU ones; nothing is asynchronous, so counts are of operations
  that *would* block, not measured waits. ``torch.cuda.synchronize`` is untouched (patch in
  ``sync_count.emulated_synchronize``); ``torch.cuda.is_available()`` stays False; factory calls such as
  ``torch.zeros(3, device="cuda")`` still fail on a CPU-only build -- only calls that receive an
  emulated tensor are intercepted (there ``device="cuda"`` is mapped to an emulated result and
  ``device="cpu"`` to a plain one).
* Mixing an emulated tensor with a plain CPU tensor of one or more dimensions in one operation
  does **not** raise by default (real CUDA raises "Expected all tensors to be on the same device");
  inside ``with emulated_tensor.strict_devices():`` it raises a ``RuntimeError`` with that text (0-dim CPU tensors
  stay allowed, as on CUDA; copies, ``to``, indexing and assignment are exempt). The real message
  also names the argument and kernel; ours does not.
* Only ``cuda:0`` exists: ``.to("cuda:1")`` raises ``RuntimeError`` (a one-GPU machine raises
  "invalid device ordinal").
* Syncs performed *inside* one torch function that is implemented in Python (some
  ``torch.nn.functional`` paths call ``.item()`` internally) are not seen: the function's body runs
  with the subclass disabled. Only the listed operations are counted; others that sync on real
  CUDA (``torch.save``, ``torch.histc`` with default bounds, ...) are not.
* :func:`to_emulated_cuda` copies by default (``copy=False`` shares storage with the input). A
  requires-grad leaf becomes a new requires-grad leaf (``is_leaf`` True, ``grad_fn`` None, its own
  ``.grad``: like a tensor created on the GPU or a parameter after ``model.cuda()``); a non-leaf
  keeps its autograd history behind one ``ToCopyBackward0`` node (``AliasBackward0`` with
  ``copy=False``), exactly what ``t.cuda()`` records, so gradients flow back to the original graph.
* ``copy.deepcopy`` copies each tensor on its own: two emulated views of one storage, deep-copied
  together, no longer share memory (the real one keeps that sharing). ``torch.save`` of an emulated
  tensor works; ``torch.load`` gives plain CPU tensors (``map_location`` is not emulated).
* ``repr`` temporarily re-classes the tensor to a private subclass named ``tensor`` so the output
  reads ``tensor(..., device='cuda:0')``; ``type(t)`` seen from another thread during that call is
  that private subclass (still an ``EmulatedCudaTensor``).
* Parameters: :func:`emulate_module` re-classes each parameter in place (identity kept, as
  ``module.cuda()`` keeps it, so an optimizer built before still works); the parameter becomes an
  ``EmulatedCudaTensor`` marked as a parameter (``isinstance(p, nn.Parameter)`` is True -- the
  mechanism PyTorch has for custom-tensor parameters) but ``type(p)`` is no longer
  ``nn.Parameter``. :func:`to_emulated_cuda` on an ``nn.Parameter`` returns a new such parameter.
  The optimizers' foreach/fused fast paths are skipped for these (they accept only plain tensor
  types), which changes nothing numerically. ``module.cpu()`` turns them back into plain
  ``nn.Parameter`` objects (counting one copy per parameter and gradient, as on CUDA).
* A plain ``nn.Parameter`` (or another ``__torch_function__`` subclass) that comes *before* an
  emulated tensor in an operation's arguments handles the call itself and returns a plain result:
  emulate the module, not only its inputs.

The modules: :mod:`tensorlint.verify.emulated_tensor` (the subclass and what each operation does),
:mod:`tensorlint.verify.sync_count` (the counters, process-global: see there), and this one (making
tensors and modules emulated, and the torch internal that reads the real device).
"""
from __future__ import annotations

import torch

from tensorlint.verify.emulated_tensor import CUDA_DEVICE, EmulatedCudaTensor, match_class

_DisableSubclass = torch._C.DisableTorchFunctionSubclass


# -- creating emulated tensors ------------------------------------------------------------------
def to_emulated_cuda(t: torch.Tensor, *, copy: bool = True) -> EmulatedCudaTensor:
    """Return ``t`` as if it lived on ``cuda:0`` (an :class:`EmulatedCudaTensor`).

    ``copy=True`` (default) copies the data, like ``t.cuda()``; ``copy=False`` shares it. A tensor
    that is not part of a graph (a leaf, requiring grad or not) gives a leaf with the same
    ``requires_grad``; a non-leaf keeps its history behind ``ToCopyBackward0`` (``copy=True``) or
    ``AliasBackward0`` (``copy=False``). An ``nn.Parameter`` gives an emulated parameter. An
    already emulated tensor is returned unchanged.
    """
    if isinstance(t, EmulatedCudaTensor):
        return t
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"to_emulated_cuda expects a torch.Tensor, got {type(t).__name__}")
    if t.device.type != "cpu":
        raise ValueError(f"to_emulated_cuda expects a CPU tensor, got one on {t.device}")
    is_param = isinstance(t, torch.nn.Parameter)
    with _DisableSubclass():
        if t.grad_fn is not None:  # keep the history, as t.cuda() would
            out = torch.Tensor.to(t, copy=True) if copy else torch.Tensor.as_subclass(t, torch.Tensor)
        else:
            out = torch.Tensor.detach(t)
            if copy:
                out = out.clone(memory_format=torch.preserve_format)
            out.requires_grad_(t.requires_grad)
    if type(out) is not torch.Tensor:
        raise TypeError(f"cannot emulate a {type(t).__name__}: expected a plain tensor or nn.Parameter")
    out.__class__ = EmulatedCudaTensor
    if is_param:
        out = torch.nn.Parameter(out, requires_grad=t.requires_grad)
    return out


def _move_data(tensor: torch.Tensor, value: torch.Tensor) -> None:
    with _DisableSubclass():  # nn.Parameter disables __torch_function__, so set and re-class here
        tensor.data = value
    match_class(tensor, value)


def emulate_module(module: torch.nn.Module) -> torch.nn.Module:
    """Move ``module``'s parameters and buffers to emulated CUDA in place, like ``module.cuda()``.

    As ``module.cuda()`` does, each parameter and buffer keeps its identity (its ``.data`` is
    replaced by an emulated copy and the object re-classed), so an optimizer built before still
    holds the same tensors and tied parameters stay tied; parameters stay leaves that require grad
    and ``isinstance(p, nn.Parameter)`` holds. Existing ``.grad`` tensors are moved too.
    ``module.cpu()`` afterwards moves everything back to plain CPU tensors (counting the copies).
    """
    for tensor in list(module.parameters()) + list(module.buffers()):
        if isinstance(tensor, EmulatedCudaTensor):
            continue
        with _DisableSubclass():
            data = torch.Tensor.detach(tensor)
        _move_data(tensor, to_emulated_cuda(data))
        grad = tensor.grad
        if grad is not None and not isinstance(grad, EmulatedCudaTensor):
            _move_data(grad, to_emulated_cuda(grad.detach()))
    return module


# -- torch internals that read the real device ----------------------------------------------------
_real_group_tensors_by_device_and_dtype = torch._C._group_tensors_by_device_and_dtype


def _group_tensors_by_device_and_dtype(tensorlistlist, with_indices=False):
    """``torch._C._group_tensors_by_device_and_dtype`` that files emulated tensors under ``cuda:0``.

    The C++ function reads the real (CPU) device, so ``clip_grad_norm_`` and the optimizers' foreach
    helpers would otherwise call ``.to("cpu")`` on emulated tensors and count syncs that a real GPU
    never does. Emulated and plain CPU tensors of one group are split into two groups, as on CUDA.
    Without emulated tensors the result is the original function's, unchanged.
    """
    grouped = _real_group_tensors_by_device_and_dtype(tensorlistlist, with_indices)
    if not tensorlistlist or not any(isinstance(t, EmulatedCudaTensor) for t in tensorlistlist[0]):
        return grouped
    result = {}
    for (device, dtype), (lists, indices) in grouped.items():
        flags = [isinstance(t, EmulatedCudaTensor) for t in lists[0]]
        if device.type != "cpu" or not any(flags):
            result[(device, dtype)] = (lists, indices)
            continue
        for on_device, key in ((False, device), (True, CUDA_DEVICE)):
            positions = [i for i, flag in enumerate(flags) if flag == on_device]
            if positions:
                result[(key, dtype)] = ([[tensors[i] for i in positions] for tensors in lists],
                                        [indices[i] for i in positions] if indices else indices)
    return result


torch._C._group_tensors_by_device_and_dtype = _group_tensors_by_device_and_dtype
