"""Runnable training loops for tests/verify/test_emulation.py (a helper module, not a rule fixture).

A tiny ``torch.nn.Linear(4, 2)`` is moved to emulated CUDA (parameters included, through
``emulate_module``) and trained with SGD on emulated batches, so every host sync the loop body
performs is counted by ``tensorlint.verify.sync_count.count_syncs``. The loops are written as in a
real project (model, optimizer, batches and device as arguments, ``x.to(device)`` each step; on
emulated CUDA that is a no-op, as on a real GPU); each hazard has the rewrite its TL401 message
suggests next to it, and the lines the rule flags end in ``# TL401``.

``train_*``/``print_*`` build a fresh run and call the loop. Runs with the same ``steps`` and
``seed`` see the same batches and initial weights, so they train identically and their losses
can be compared.
"""
from typing import Callable, List, Tuple

import torch
import torch.nn.functional as F

from tensorlint.verify.emulation import emulate_module, to_emulated_cuda

Run = Tuple[torch.nn.Module, torch.optim.Optimizer, List[tuple], torch.device]


def make_run(steps: int, seed: int = 0) -> Run:
    """Model, optimizer, ``steps`` batches and the device, all on emulated CUDA (no sync here)."""
    torch.manual_seed(seed)
    model = emulate_module(torch.nn.Linear(4, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    generator = torch.Generator().manual_seed(seed)
    batches = [(to_emulated_cuda(torch.randn(8, 4, generator=generator)),
                to_emulated_cuda(torch.randn(8, 2, generator=generator))) for _ in range(steps)]
    return model, optimizer, batches, torch.device("cuda")


# -- the loops ----------------------------------------------------------------------------------
def item_every_step(model, optimizer, batches, device) -> float:
    """The hazard: ``running += loss.item()`` waits for the device every step."""
    running = 0.0
    for x, y in batches:
        loss = F.mse_loss(model(x.to(device)), y.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        running += loss.item()  # TL401
    return running


def device_accumulator(model, optimizer, batches, device) -> float:
    """The rewrite: accumulate on the device, convert once after the loop."""
    running = 0.0
    for x, y in batches:
        loss = F.mse_loss(model(x.to(device)), y.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        running += loss.detach()
    return running.item()


def format_every_step(model, optimizer, batches, device, log: Callable[[str], None] = print) -> None:
    """The hazard: formatting the loss in an f-string every step."""
    for step, (x, y) in enumerate(batches):
        loss = F.mse_loss(model(x.to(device)), y.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        log(f"step {step}: loss {loss:.4f}")  # TL401


def format_guarded(model, optimizer, batches, device, log: Callable[[str], None] = print,
                   log_every: int = 10) -> None:
    """The rewrite: format only under a logging guard."""
    for step, (x, y) in enumerate(batches):
        loss = F.mse_loss(model(x.to(device)), y.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % log_every == 0:
            log(f"step {step}: loss {loss:.4f}")


# -- one fresh run each -------------------------------------------------------------------------
def train_item_every_step(steps: int, seed: int = 0) -> float:
    return item_every_step(*make_run(steps, seed))


def train_device_accumulator(steps: int, seed: int = 0) -> float:
    return device_accumulator(*make_run(steps, seed))


def print_every_step(steps: int, log: Callable[[str], None] = print, seed: int = 0) -> None:
    format_every_step(*make_run(steps, seed), log=log)


def print_guarded(steps: int, log: Callable[[str], None] = print, log_every: int = 10, seed: int = 0) -> None:
    format_guarded(*make_run(steps, seed), log=log, log_every=log_every)
