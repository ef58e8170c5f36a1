"""The one progress display of `check`, `fix` and `verify`: a one-line bar with the files done, the total
and the time elapsed, drawn on a terminal's stderr only (never in logs, pipes or with --quiet).

A library (`rich`, `tqdm`) would be a new dependency and one more import on every run, for one line of
output that must also give way to the findings printed while it runs (`clear`); this does it in a few lines.
"""
from __future__ import annotations

import os
import shutil
import time
from typing import Iterable, Iterator, Optional, TextIO, TypeVar

_REDRAW_EVERY = 0.1  # seconds: a bar redrawn for each of 40,000 small files would cost more than the files
T = TypeVar("T")


class Progress:
    """`[#####.....]  412/1031 files, 3.2 s` on `stream`, erased before any other output and at the end."""

    def __init__(self, total: int, stream: TextIO, enabled: Optional[bool] = None, label: str = "files") -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.label = label
        self._automatic = enabled is None
        self.enabled = (total > 1 and is_terminal(stream)) if enabled is None else enabled
        self._shown = False
        self._last_draw = 0.0
        self._start = time.monotonic()

    def set_total(self, total: int) -> None:
        """The number of files, once they are found (a bar for one file is not drawn)."""
        self.total = total
        if self._automatic:
            self.enabled = total > 1 and is_terminal(self.stream)

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self.enabled and (time.monotonic() - self._last_draw >= _REDRAW_EVERY or self.done >= self.total):
            self._draw()

    def track(self, items: Iterable[T]) -> Iterator[T]:
        """Each of `items`, counted as done once the caller has handled it; the bar is erased at the end."""
        try:
            for item in items:
                yield item
                self.advance()
        finally:
            self.clear()

    def clear(self) -> None:
        """Erase the bar so that a line of output can be printed; the next `advance` draws it again."""
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False

    def _draw(self) -> None:
        width = max(10, min(40, shutil.get_terminal_size((80, 20)).columns - 40))
        filled = width * min(self.done, self.total) // max(self.total, 1)
        elapsed = time.monotonic() - self._start
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done:>{len(str(self.total))}}"
                          f"/{self.total} {self.label}, {elapsed:.1f} s\x1b[K")
        self.stream.flush()
        self._shown = True
        self._last_draw = time.monotonic()


def is_terminal(stream: TextIO) -> bool:
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
