"""`tensorlint check --watch`: check, then check again whatever changes, until Ctrl-C (exit 0).

The standard library has no portable change notification, so the tree is polled. After each run
the process sleeps; then the files are found again (new and deleted ones too) and stat-ed, and only
a file whose modification time, size or inode changed is checked again; the others keep their
results. A change to a file that decides settings (`pyproject.toml`, `setup.cfg`, `setup.py`,
`requirements.txt`, `.gitignore`) in a checked folder or above forgets the cached configuration and
checks everything again. The sleep is at least INTERVAL and at least POLL_SHARE times what the last
poll took, so on a very large tree an idle watch stays under a tenth of one core.
"""
from __future__ import annotations

import os
import time
from time import sleep  # looked up at each call, so tests can replace it
from typing import Callable, Dict, Generic, Iterable, List, Optional, Sequence, Tuple, TypeVar

INTERVAL = 0.5      # seconds between polls, at least
POLL_SHARE = 9      # sleep at least this many times as long as a poll took
SETTINGS_FILES = ("pyproject.toml", "setup.cfg", "setup.py", "requirements.txt", ".gitignore")

Result = TypeVar("Result")
Stamp = Optional[Tuple[int, int, int]]


def stamp(path: str) -> Stamp:
    """What tells a change: modification time, size and inode (a save that replaces the file); None: absent."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size, info.st_ino


def settings_files(paths: Iterable[str]) -> List[str]:
    """The SETTINGS_FILES of every folder holding one of `paths` (or named by one), and of the folders above."""
    folders = set()
    for path in paths:
        folder = os.path.abspath(path)
        if not os.path.isdir(folder):
            folder = os.path.dirname(folder)
        while folder not in folders:
            folders.add(folder)
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
    return sorted(os.path.join(folder, name) for folder in folders for name in SETTINGS_FILES)


class Watcher(Generic[Result]):
    """The loop, with what it does injected: the CLI finds, checks and prints.

    `find()` gives the files to check and results that need no check (a folder that cannot be
    listed); `check(files)` yields one result per file, in order; `show(extra, results)` prints one
    run; `forget_settings()` drops cached configuration.
    """

    def __init__(self, roots: Sequence[str], find: Callable[[], Tuple[List[str], list]],
                 check: Callable[[Sequence[str]], Iterable[Result]], show: Callable[[list, List[Result]], None],
                 forget_settings: Callable[[], None]) -> None:
        self.roots = list(roots)
        self.find, self.check, self.show, self.forget_settings = find, check, show, forget_settings
        self.results: Dict[str, Result] = {}
        self.stamps: Dict[str, Stamp] = {}
        self.files: List[str] = []
        self.extra: list = []
        self.settings: Dict[str, Stamp] = {}
        self.poll_seconds = 0.0  # what finding and stat-ing the files took last time

    def run(self) -> int:
        """Watch until Ctrl-C; returns the exit status, 0."""
        try:
            self.settings = self._settings_stamps()
            self.poll(first=True)
            while True:
                sleep(max(INTERVAL, POLL_SHARE * self.poll_seconds))
                self.poll()
        except KeyboardInterrupt:
            return 0

    def poll(self, first: bool = False) -> bool:
        """Find and stat the files; check the changed ones and show the run. True when something changed."""
        started = time.monotonic()
        settings = self._settings_stamps()
        if settings != self.settings:
            self.settings = settings
            self.forget_settings()
            self.results.clear()
        files, extra = self.find()
        stamps = {path: stamp(path) for path in files}  # before checking: a save meanwhile is seen next time
        self.poll_seconds = time.monotonic() - started
        changed = [path for path in files if path not in self.results or stamps[path] != self.stamps.get(path)]
        removed = [path for path in self.results if path not in stamps]
        self.stamps = stamps
        if not (first or changed or removed or files != self.files or extra != self.extra):
            return False
        for path in removed:
            del self.results[path]
        self.results.update(zip(changed, self.check(changed)))
        self.files, self.extra = files, extra
        self.show(extra, [self.results[path] for path in files])
        return True

    def _settings_stamps(self) -> Dict[str, Stamp]:
        return {path: stamp(path) for path in settings_files(self.roots + self.files)}
