"""Counting host<->device synchronisations: what the emulated CUDA tensor (and the worker, for
``torch.cuda.synchronize`` on a real GPU) records, and the counters that read it.

Which operations are counted, under which kind, is listed in :mod:`tensorlint.verify.emulation`.
Counters are process-global -- a sync in any thread is recorded in every :class:`SyncCounter` that is
active (entered and not yet exited), each starting from zero when entered; nested ``count_syncs()``
blocks all see the inner events. Only the "inside a counted call" suppression depth is per thread.
"""
from __future__ import annotations

import threading
from collections import Counter
from contextlib import contextmanager
from typing import Any, Iterator, List


class SyncCounter:
    """Counts the host<->device synchronisations recorded while it is active.

    ``total`` is the number of syncs, ``by_kind`` a :class:`collections.Counter` by kind
    (``"item"``, ``"cpu"``, ``"bool"``, ``"format"``, ``"repr"``, ...) and ``events`` the kinds in
    the order they happened. Use it through :func:`count_syncs`.
    """

    def __init__(self) -> None:
        self.by_kind: Counter = Counter()
        self.events: List[str] = []

    @property
    def total(self) -> int:
        return len(self.events)

    def per_step(self, steps: int) -> float:
        return self.total / steps

    def reset(self) -> None:
        with _lock:
            self.by_kind.clear()
            self.events.clear()

    def _add(self, kind: str) -> None:
        self.by_kind[kind] += 1
        self.events.append(kind)

    def __enter__(self) -> "SyncCounter":
        with _lock:
            _active.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        with _lock:
            if self in _active:
                _active.remove(self)

    def __repr__(self) -> str:
        return f"SyncCounter(total={self.total}, by_kind={dict(self.by_kind)})"


_lock = threading.Lock()
_active: List[SyncCounter] = []
_local = threading.local()


def count_syncs() -> SyncCounter:
    """``with count_syncs() as counter: ...`` then ``counter.total`` / ``counter.by_kind``.

    Each counter starts at zero when entered and records every sync from any thread until exited.
    """
    return SyncCounter()


def _depth() -> int:
    return getattr(_local, "depth", 0)


def record(kind: str) -> None:
    if _depth():
        return
    with _lock:
        for counter in _active:
            counter._add(kind)


@contextmanager
def blocking(kind: str) -> Iterator[None]:
    """Run a blocking operation: nested counted operations are suppressed; counts once on success."""
    _local.depth = _depth() + 1
    try:
        yield
    finally:
        _local.depth -= 1
    record(kind)


def emulated_synchronize(device: Any = None) -> None:
    """Stand-in for ``torch.cuda.synchronize``: records one sync of kind ``"synchronize"``."""
    record("synchronize")
