"""Room for deeply nested code: Python allows 200 nested brackets and sums of ~3,000 terms.

* The walker, the analysis and libcst's code generation recurse once per nesting level, which exhausts
  the default limit of 1,000 frames. The usual file never comes near it, so the fast path is a plain
  call, and only a RecursionError retries in a thread with a 512 MiB stack and a limit of 100,000 frames
  (`with_deep_recursion`). That thread lives as long as the process and serves every such call.
* libcst's native parser recurses on the C stack and crashes the process (a segmentation fault, no
  exception) near 7,000 levels on a thread's usual 8 MiB. `parse_module` parses files longer than
  any such nesting could be in a 512 MiB thread, and files too long even for that are first parsed by
  Python's own parser, which raises RecursionError where it refuses the nesting (CPython compiles
  at most ~3,000 levels, so nothing it runs is refused).
"""
from __future__ import annotations

import ast
import os
import queue
import sys
import threading
from typing import Callable, Dict, TypeVar

import libcst as cst

T = TypeVar("T")

_STACK_BYTES = 512 * 2 ** 20
_DEEP_LIMIT = 100_000
_lock = threading.RLock()  # the recursion limit is per interpreter: one deep run at a time
# Each nesting level takes at least one character (`-`, `~`), so a file this short cannot nest deeper
# than libcst survives on an 8 MiB stack (it crashed near 7,000 levels), nor a file under the second
# bound deeper than it survives on 512 MiB (64 times more).
_DIRECT_PARSE_CHARS = 5_000
_BIG_STACK_PARSE_CHARS = 300_000


def parse_module(source: str, ast_parses: bool = False) -> cst.Module:
    """libcst's parse that never crashes the process on deep nesting (RecursionError instead).

    `ast_parses`: the caller has seen Python's parser accept `source`, so its nesting is within
    what libcst survives in a 512 MiB thread and the check by `ast` is not repeated.
    """
    if len(source) <= _DIRECT_PARSE_CHARS:
        return cst.parse_module(source)
    return in_big_stack(_guarded_parse, source, ast_parses)


def _guarded_parse(source: str, ast_parses: bool) -> cst.Module:
    if len(source) > _BIG_STACK_PARSE_CHARS and not ast_parses:
        try:
            ast.parse(source)
        except (SyntaxError, ValueError):
            pass  # libcst reports syntax errors itself, in its own words
        except (RecursionError, MemoryError):  # "too many nested parentheses", "source too complex"
            raise RecursionError("nested more deeply than Python's own parser accepts") from None
    return cst.parse_module(source)


def in_big_stack(function: Callable[..., T], *args, recursion_limit: int = 0) -> T:
    """`function(*args)` in a thread with a 512 MiB stack (and at least `recursion_limit` frames)."""
    worker = _worker()
    if threading.current_thread() is worker.thread:
        return _run(function, args, recursion_limit)
    return worker.call(function, args, recursion_limit)


def _run(function: Callable[..., T], args: tuple, recursion_limit: int) -> T:
    if not recursion_limit:
        return function(*args)
    with _lock:
        previous = sys.getrecursionlimit()
        sys.setrecursionlimit(max(previous, recursion_limit))
        try:
            return function(*args)
        finally:
            sys.setrecursionlimit(previous)


class _BigStackWorker:
    """One long-lived thread with a big stack that runs such calls for every other thread, one at a time.

    A new thread per call would fault its stack pages in again each time libcst's parser recursed into
    them: 0.75 s of system time per 300 files of the benchmark corpus."""

    def __init__(self) -> None:
        self.requests: "queue.SimpleQueue" = queue.SimpleQueue()
        previous_size = threading.stack_size(_STACK_BYTES)
        try:
            self.thread = threading.Thread(target=self._serve, name="tensorlint-deep", daemon=True)
            self.thread.start()
        finally:
            threading.stack_size(previous_size)

    def call(self, function: Callable[..., T], args: tuple, recursion_limit: int) -> T:
        outcome: dict = {}
        done = threading.Event()
        self.requests.put((function, args, recursion_limit, outcome, done))
        done.wait()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    def _serve(self) -> None:
        while True:
            function, args, recursion_limit, outcome, done = self.requests.get()
            try:
                outcome["value"] = _run(function, args, recursion_limit)
            except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
                outcome["error"] = error
            del function, args, outcome  # hold nothing of the last file (its tree) while waiting
            done.set()


_workers: Dict[int, _BigStackWorker] = {}  # by process: a forked child has none of its parent's threads
_workers_lock = threading.Lock()


def _worker() -> _BigStackWorker:
    pid = os.getpid()
    worker = _workers.get(pid)
    if worker is None:
        with _workers_lock:
            worker = _workers.get(pid)
            if worker is None:
                _workers.clear()
                worker = _workers[pid] = _BigStackWorker()
    return worker


def with_deep_recursion(function: Callable[..., T], *args) -> T:
    try:
        return function(*args)
    except RecursionError:
        return in_big_stack(function, *args, recursion_limit=_DEEP_LIMIT)
