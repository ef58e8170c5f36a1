"""Which files a command checks: explicit files whatever their suffix, `*.py` and `*.ipynb` under directories."""
from __future__ import annotations

import os
from typing import Callable, Iterator, List, Sequence, Tuple

from tensorlint.config.reader import ConfigError, load_config
from tensorlint.run.check import FileJob, FileResult, unreadable_directory
from tensorlint.run.inputs import STDIN

EXCLUDED_DIRS = frozenset({"__pycache__", ".git", ".venv", "venv", "node_modules", "build", "dist",
                           ".tox", ".eggs", "site-packages"})


def python_files(paths: Sequence[str], error: Callable[[str], None],
                 unreadable: Callable[[str, str], None]) -> Iterator[str]:
    """Explicit files whatever their suffix; `*.py` and `*.ipynb` under directories, skipping excluded and hidden
    ones.

    A directory that cannot be listed goes to `unreadable(path, reason)`: it is a finding (TL001).
    A path that does not exist (a usage error) and a broken configuration go to `error(message)`.
    """
    for path in dict.fromkeys(paths):
        if path == STDIN or os.path.isfile(path):
            yield path
        elif os.path.isdir(path):
            walk_errors: List[OSError] = []
            for root, dirs, files in os.walk(path, onerror=walk_errors.append):
                try:
                    config = load_config(root)  # `exclude` and .gitignore of [tool.tensorlint]
                except ConfigError as broken:
                    error(str(broken))
                    dirs[:] = []
                    continue
                dirs[:] = sorted(d for d in dirs if d not in EXCLUDED_DIRS and not d.startswith(".")
                                 and not config.is_excluded(os.path.join(root, d), is_dir=True))
                yield from (os.path.join(root, name) for name in sorted(files) if name.endswith((".py", ".ipynb"))
                            and not config.is_excluded(os.path.join(root, name), is_dir=False))
            for walk_error in walk_errors:
                unreadable(walk_error.filename, f"cannot read directory: {walk_error.strerror}")
        else:
            error(f"{path}: no such file or directory")


def find_files(job: FileJob, paths: Sequence[str], error: Callable[[str], None]
               ) -> Tuple[List[str], List[FileResult]]:
    """The files under `paths`, and a TL001 result for each directory that cannot be listed."""
    listing: List[FileResult] = []
    files = list(python_files(paths, error, lambda path, reason: listing.append(
        unreadable_directory(job, path, reason))))
    return files, listing

