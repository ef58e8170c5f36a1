"""Room for deeply nested code: Python allows 200 nested brackets and sums of ~3,000 terms.

* The walker, the analysis and libcst's code generation recurse once per nesting level, which exhausts
  the default limit of 1,000 frames. The usual file never comes near it, so the fast path is a plain
  call, and only a RecursionError retries in a thread with a 512 MiB stack and a limit of 100,000 frames
  (`with_deep_recursion`).
* libcst's native parser recurses on the C stack and crashes the process (a segmentation fault, no
  exception) near 7,000 levels on a thread's usual 8 MiB. `parse_module` parses files longer than
  any such nesting could be in a 512 MiB thread, and files too long even for that are first parsed by
  Python's own parser, which raises RecursionError where it refuses the nesting (CPython compiles
  at most ~3,000 levels, so nothing it runs is refused).
"""
from __future__ import annotations

import ast
import sys
import threading
from typing import Callable, TypeVar

import libcst as cst

T = TypeVar("T")

_STACK_BYTES = 512 * 2 ** 20
_DEEP_LIMIT = 100_000
_lock = threading.Lock()  # the recursion limit is per interpreter: one deep run at a time
# Each nesting level takes at least one character (`-`, `~`), so a file this short cannot nest deeper
# than libcst survives on an 8 MiB stack (it crashed near 7,000 levels), nor a file under the second
# bound deeper than it survives on 512 MiB (64 times more).
_DIRECT_PARSE_CHARS = 5_000
_BIG_STACK_PARSE_CHARS = 300_000


def parse_module(source: str) -> cst.Module:
    """libcst's parse that never crashes the process on deep nesting (RecursionError instead)."""
    if len(source) <= _DIRECT_PARSE_CHARS:
        return cst.parse_module(source)
    return in_big_stack(_guarded_parse, source)


def _guarded_parse(source: str) -> cst.Module:
    if len(source) > _BIG_STACK_PARSE_CHARS:
        try:
            ast.parse(source)
        except (SyntaxError, ValueError):
            pass  # libcst reports syntax errors itself, in its own words
        except (RecursionError, MemoryError):  # "too many nested parentheses", "source too complex"
            raise RecursionError("nested more deeply than Python's own parser accepts") from None
    return cst.parse_module(source)


def in_big_stack(function: Callable[..., T], *args, recursion_limit: int = 0) -> T:
    """`function(*args)` in a thread with a 512 MiB stack (and at least `recursion_limit` frames)."""
    outcome: dict = {}

    def run() -> None:
        try:
            if recursion_limit:
                with _lock:
                    previous = sys.getrecursionlimit()
                    sys.setrecursionlimit(max(previous, recursion_limit))
                    try:
                        outcome["value"] = function(*args)
                    finally:
                        sys.setrecursionlimit(previous)
            else:
                outcome["value"] = function(*args)
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            outcome["error"] = error

    previous_size = threading.stack_size(_STACK_BYTES)
    try:
        thread = threading.Thread(target=run, name="tensorlint-deep")
        thread.start()
    finally:
        threading.stack_size(previous_size)
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def with_deep_recursion(function: Callable[..., T], *args) -> T:
    try:
        return function(*args)
    except RecursionError:
        return in_big_stack(function, *args, recursion_limit=_DEEP_LIMIT)
