"""A project run replayed whole when nothing it read has changed: the warm rerun of a large tree.

Each file's result is already cached by its text (`cache.py`), but a project run that finds every entry
still reads every file for its imports, looks up 5,000 entries through the worker pool and decodes what
each module told the others: seconds on a large tree. So a finished project run is stored as one entry
too, with a snapshot of what it read, and the next run with the same options replays it when the snapshot
still holds.

The snapshot, taken before the run reads anything:
- every checked file and every project module beside them that answers questions (`_modules_on_disk`),
  by size, modification time and SHA-256 of the bytes;
- every folder above them, by modification time: a configuration or requirements file created, removed or
  renamed there changes it;
- the configuration and requirements files present in those folders (`pyproject.toml`, `setup.cfg`,
  `setup.py`, `requirements*.txt`, `requirements/*.txt`), as the files.

A file holds when its size and modification time are unchanged and it was last modified well before the
snapshot; otherwise its bytes are hashed again and compared ("racy" files, as git treats them: a file
rewritten within the clock's granularity keeps its time). The files found this time must be the same list,
in the same order; which files are found is worked out again on every run (it is cheap, and `.gitignore`
and `exclude` decide it). The entry's key holds the tool's fingerprint, the job's options, the working
directory, `TENSORLINT_*` variables and `--config`'s choice (not `-j`: the results do not depend on it).
Anything unreadable, or any difference, and the run goes on as usual; a run that did not finish, or that
met a file it could not read or parse, stores nothing.

Known limit, shared with git, make and ruff's cache: a file rewritten with the same size and given back an
old modification time (`touch -r`, `rsync -t` of a different file) is trusted unchanged.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat as stat_module
import time
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple

from tensorlint.config.reader import chosen_config
from tensorlint.core.codes import FILE_CODES
from tensorlint.core.diagnostics import Diagnostic
from tensorlint.run.cache import Cache, decode_diagnostics, encode_diagnostics, tool_fingerprint

REPLAY_CONTEXT = "replay-1"
CONFIG_FILES = ("pyproject.toml", "setup.cfg", "setup.py")
REQUIREMENTS_FOLDER = "requirements"
RACY_NS = 3_000_000_000   # files modified this close to the snapshot are hashed again however they stat

FileMark = Tuple[str, int, int, str]   # path, size, modification time (ns), SHA-256


@dataclass(frozen=True)
class Snapshot:
    files: Tuple[FileMark, ...]
    folders: Tuple[Tuple[str, int], ...]
    taken_ns: int

    def holds(self) -> bool:
        for folder, modified in self.folders:
            try:
                if os.stat(folder).st_mtime_ns != modified:
                    return False
            except OSError:
                return False
        return all(_holds(mark, self.taken_ns) for mark in self.files)

    def encode(self) -> list:
        return [[list(mark) for mark in self.files], [list(folder) for folder in self.folders], self.taken_ns]

    @classmethod
    def decode(cls, data) -> "Snapshot":
        files, folders, taken = data
        return cls(tuple((str(p), int(s), int(m), str(h)) for p, s, m, h in files),
                   tuple((str(p), int(m)) for p, m in folders), int(taken))


def take_snapshot(files: Sequence[str], answering: Iterable[str]) -> Optional[Snapshot]:
    """The snapshot of a run over `files` with the project modules `answering`; None when one is unreadable."""
    taken = time.time_ns()
    paths = list(dict.fromkeys([*files, *answering]))
    folders = _folders_above(paths)
    configs, config_folders = _config_files(folders)
    marks: List[FileMark] = []
    try:
        folder_marks = tuple((folder, os.stat(folder).st_mtime_ns) for folder in [*folders, *config_folders])
        for path in [*paths, *configs]:
            mark = _mark(path)
            if mark is None:
                return None
            marks.append(mark)
    except OSError:
        return None
    return Snapshot(tuple(marks), folder_marks, taken)


def run_key(job, files: Sequence[str]) -> str:
    """What, beside the snapshot, decides a run's results."""
    chosen = chosen_config()
    digest = hashlib.sha256()
    environment = sorted((k, v) for k, v in os.environ.items() if k.startswith("TENSORLINT_"))
    digest.update(json.dumps([REPLAY_CONTEXT, tool_fingerprint(), type(job).__name__, repr(job), os.getcwd(),
                              environment, chosen.path if chosen else None, list(files)]).encode(
                                  "utf-8", "surrogatepass"))
    return digest.hexdigest()


def load(cache: Cache, key: str) -> Optional[list]:
    """The stored results (path, diagnostics, error) of the run under `key`, when its snapshot still holds."""
    entry = cache.load_entry(key)
    if entry is None or not isinstance(entry[1], dict):
        return None
    try:
        snapshot = Snapshot.decode(entry[1]["snapshot"])
        if not snapshot.holds():
            return None
        return [(str(path), decode_diagnostics(diagnostics), error)
                for path, diagnostics, error in entry[1]["results"]]
    except (KeyError, TypeError, ValueError):
        return None


def store(cache: Cache, key: str, snapshot: Snapshot, results: Sequence) -> None:
    """Store a finished run, unless a file could not be read or parsed, or is a notebook: as in the per-file
    cache, such a file is read again next time."""
    if any(r.error is not None or any(type(d) is not Diagnostic or d.code in FILE_CODES for d in r.diagnostics)
           for r in results):
        return
    cache.store(key, [], {"snapshot": snapshot.encode(),
                          "results": [[r.path, encode_diagnostics(r.diagnostics), r.error] for r in results]})


def _mark(path: str) -> Optional[FileMark]:
    try:
        if not stat_module.S_ISREG(os.stat(path).st_mode):
            return None   # a FIFO named `x.py` would block the read: no snapshot, its own check reports it
        with open(path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            data = handle.read()
    except OSError:
        return None
    return path, stat.st_size, stat.st_mtime_ns, hashlib.sha256(data).hexdigest()


def _holds(mark: FileMark, taken_ns: int) -> bool:
    path, size, modified, digest = mark
    try:
        stat = os.stat(path)
    except OSError:
        return False
    if stat.st_size != size:
        return False
    if stat.st_mtime_ns == modified and modified < taken_ns - RACY_NS:
        return True
    current = _mark(path)
    return current is not None and current[3] == digest


def _folders_above(paths: Sequence[str]) -> List[str]:
    found = {}
    for path in paths:
        folder = os.path.dirname(os.path.abspath(path))
        while folder not in found:
            found[folder] = None
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
    return sorted(found)


def _config_files(folders: Sequence[str]) -> Tuple[List[str], List[str]]:
    """The configuration and requirements files in `folders` (what `project.py` and `config.py` read), and the
    `requirements/` folders among them."""
    found: List[str] = []
    more_folders: List[str] = []
    for folder in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in sorted(names):
            path = os.path.join(folder, name)
            if name in CONFIG_FILES or (name.startswith("requirements") and name.endswith(".txt")):
                if os.path.isfile(path):
                    found.append(path)
            elif name == REQUIREMENTS_FOLDER and os.path.isdir(path):
                more_folders.append(path)
                found.extend(os.path.join(path, n) for n in sorted(os.listdir(path))
                             if n.endswith(".txt") and os.path.isfile(os.path.join(path, n)))
    return found, more_folders
