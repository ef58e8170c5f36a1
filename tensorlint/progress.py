"""A one-line progress bar for long runs, drawn on a terminal's stderr only (never in logs or pipes)."""
from __future__ import annotations

import os
import shutil
import time
from typing import Optional, TextIO

_REDRAW_EVERY = 0.1  # seconds: a bar redrawn for each of 40,000 small files would cost more than the files


class Progress:
    """`[#####.....]  412/1031 files` on `stream`, erased before any other output and at the end."""

    def __init__(self, total: int, stream: TextIO, enabled: Optional[bool] = None, label: str = "files") -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.label = label
        self.enabled = (total > 1 and _is_terminal(stream)) if enabled is None else enabled
        self._shown = False
        self._last_draw = 0.0

    def advance(self) -> None:
        self.done += 1
        if self.enabled and (time.monotonic() - self._last_draw >= _REDRAW_EVERY or self.done == self.total):
            self._draw()

    def clear(self) -> None:
        """Erase the bar so that a line of output can be printed; the next `advance` draws it again."""
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False

    def _draw(self) -> None:
        width = max(10, min(40, shutil.get_terminal_size((80, 20)).columns - 30))
        filled = width * self.done // max(self.total, 1)
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done:>{len(str(self.total))}}"
                          f"/{self.total} {self.label}\x1b[K")
        self.stream.flush()
        self._shown = True
        self._last_draw = time.monotonic()


def _is_terminal(stream: TextIO) -> bool:
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
