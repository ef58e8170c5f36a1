"""The binding matrix: real tensors of every kind, device and dtype a snippet's tensors may be.

Kinds: a requires-grad leaf, a non-leaf with a ``grad_fn`` (``leaf * 1``: ``MulBackward0``), a tensor
without grad, an ``nn.Parameter``. Devices: the CPU and the accelerator (real CUDA when
``torch.cuda.is_available()``, else :mod:`tensorlint.verify.emulation`). Dtypes: float32, float64,
float16, bfloat16, int64, bool, complex64. Combinations torch forbids are left out (an integer or
bool tensor cannot require grad, so it is never a requires-grad leaf or a non-leaf; its
``nn.Parameter`` has ``requires_grad=False``). 4 x 2 x 7 - 8 = 48 cells.

Values are deterministic (a seeded generator per placeholder), shape ``(2, 3)`` so that
``argmax(1)``, ``.T`` and ``softmax(-1)`` mean what they mean in real code; operands outside the
flagged span are also tried as a 0-dim tensor and as the numbers 0.5 and 2. Where no binding of
shape ``(2, 3)`` can be compared (``p.data.copy_(torch.zeros(2))``), shape ``(2,)`` and then 0-dim
tensors are tried.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional

import torch

from tensorlint.verify.emulation import to_emulated_cuda

DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.bool, torch.complex64)
KINDS = ("leaf", "nonleaf", "nograd", "param")
KIND_NAMES = {"leaf": "requires-grad leaf", "nonleaf": "non-leaf with grad_fn", "nograd": "no-grad tensor",
              "param": "nn.Parameter"}
OPERANDS = ("tensor", "0-dim tensor", "0.5", "2")
SHAPE = (2, 3)
SHAPES = ((2, 3), (2,), ())   # later shapes only where no binding of the earlier one could be compared


def can_require_grad(dtype: torch.dtype) -> bool:
    return dtype.is_floating_point or dtype.is_complex


@dataclass(frozen=True)
class Cell:
    device: str        # "cpu" or "cuda"
    dtype: torch.dtype
    kind: str

    def label(self, accelerator: str) -> str:
        device = self.device if self.device == "cpu" else accelerator
        return f"{device} {str(self.dtype).replace('torch.', '')} {KIND_NAMES[self.kind]}"


def cells(devices=("cpu", "cuda"), dtypes=DTYPES, kinds=KINDS) -> List[Cell]:
    found = []
    for device in devices:
        for dtype in dtypes:
            for kind in kinds:
                if kind in ("leaf", "nonleaf") and not can_require_grad(dtype):
                    continue
                found.append(Cell(device, dtype, kind))
    return found


class Factory:
    """Makes the tensors of a cell on the CPU, on real CUDA, or on emulated CUDA."""

    def __init__(self, real_cuda: bool) -> None:
        self.real_cuda = real_cuda
        self.accelerator = "cuda" if real_cuda else "cuda(emulated)"

    def base(self, dtype: torch.dtype, seed: int, shape=SHAPE) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        if dtype.is_complex:
            real = torch.randn(shape, generator=generator)
            imag = torch.randn(shape, generator=generator)
            return torch.complex(real, imag).to(dtype)
        if dtype == torch.bool:
            return torch.randn(shape, generator=generator) > 0
        if not dtype.is_floating_point:
            return torch.randint(-3, 4, shape, generator=generator, dtype=dtype)
        return torch.randn(shape, generator=generator).to(dtype)

    def to_device(self, tensor: torch.Tensor) -> torch.Tensor:
        if self.real_cuda:
            if isinstance(tensor, torch.nn.Parameter):
                return torch.nn.Parameter(tensor.detach().cuda(), requires_grad=tensor.requires_grad)
            return tensor.cuda()
        return to_emulated_cuda(tensor)

    def make(self, cell: Cell, seed: int, shape=SHAPE) -> torch.Tensor:
        base = self.base(cell.dtype, seed, shape)
        if cell.kind == "param":
            param = torch.nn.Parameter(base, requires_grad=can_require_grad(cell.dtype))
            return self.to_device(param) if cell.device == "cuda" else param
        if cell.device == "cuda":
            base = self.to_device(base)
        if cell.kind == "leaf":
            return base.requires_grad_()
        if cell.kind == "nonleaf":
            return base.requires_grad_() * 1
        return base

    def operand(self, cell: Cell, choice: str, seed: int, shape=SHAPE) -> Any:
        if choice == "tensor":
            return self.make(Cell(cell.device, cell.dtype, "nograd"), seed, shape)
        if choice == "0-dim tensor":
            return self.make(Cell(cell.device, cell.dtype, "nograd"), seed, shape=())
        return 0.5 if choice == "0.5" else 2


def seed_for(index: int, iteration: int = 0) -> int:
    return 1000 + 97 * index + 7919 * iteration


def describe(cell: Cell, accelerator: str, operand: Optional[str], grad_enabled: bool, grad_modes: int) -> str:
    text = cell.label(accelerator)
    if operand is not None:
        text += f", operands {operand}"
    if grad_modes > 1:
        text += ", grad on" if grad_enabled else ", grad off"
    return text
