"""What the project modules a file imports tell a check of that file alone (flake8, the editor, `check FILE`).

A project run (`project_run.py`) lets every module it is given answer the others. A file checked alone still
sees its imports: its project modules are found on disk from the file's own package (the chain of
directories holding `__init__.py` above it) and, for a script outside any package, from its directory. Each
module the file imports from is summarised from its text (never imported), cached by content like every
summary, and the check runs once with those answers. What it cannot see alone: callers in other files
(*incoming calls*), which only a project run has.

The map of a project's modules is a directory listing, kept per process for `LISTING_SECONDS` (an editor
sees new files after that) and bounded by `MAX_LISTED_FILES`.
"""
from __future__ import annotations

import ast
import os
import time
from typing import Dict, Iterable, Optional, Tuple

from tensorlint.analysis.crossmodule import ProjectContext
from tensorlint.run.cache import default_directory
from tensorlint.run.modules import import_statements, module_places, project_imports
from tensorlint.run.summaries import Resolver, decode_context

MAX_LISTED_FILES = 20000
LISTING_SECONDS = 30.0
_SKIPPED_DIRECTORIES = frozenset({"__pycache__", "node_modules", "site-packages", "build", "dist"})

_listings: Dict[str, Tuple[float, Dict[str, Tuple[str, bool]]]] = {}


def context_for_file(path: str, tree: Optional[ast.Module], cache_directory: Optional[str]
                     ) -> Optional[ProjectContext]:
    """The answers the project gives `path` about what it imports, or None when it imports nothing of the
    project that says anything (or `path` is not a Python file on disk)."""
    if tree is None or not path.endswith(".py") or not os.path.isfile(path):
        return None
    place = module_places([path]).get(path)
    if place is None:
        return None
    module, is_package = place
    names = project_imports(tree, module, is_package) + _plain_imports(tree)
    if not names:
        return None
    modules = project_modules(root_of(os.path.abspath(path), module, is_package))
    resolver = Resolver(modules, cache_directory, _serially, 1)
    resolver.prepare(names)
    context = resolver.context_for(names, [])
    return None if context is None else decode_context(module, is_package, context)


_DEFAULT = "default"


def context_or_none(path: str, tree: Optional[ast.Module], cache_directory: Optional[str] = _DEFAULT
                    ) -> Optional[ProjectContext]:
    """`context_for_file`, with the default cache directory unless told (None: summaries are not cached, as for
    `fix`, which writes nothing but the files it fixes): evidence from other modules only ever adds, so a
    failure to gather it (an unreadable module) leaves the file alone."""
    if cache_directory is _DEFAULT:
        cache_directory = str(default_directory())
    try:
        return context_for_file(path, tree, cache_directory)
    except Exception:  # noqa: BLE001
        return None


def project_modules(root: str) -> Dict[str, Tuple[str, bool]]:
    """dotted module name → (path, is a package `__init__`) for the Python files under `root`."""
    now = time.monotonic()
    listed = _listings.get(root)
    if listed is not None and now - listed[0] < LISTING_SECONDS:
        return listed[1]
    paths = []
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories
                                   if not d.startswith(".") and d not in _SKIPPED_DIRECTORIES)
        paths.extend(os.path.join(directory, name) for name in sorted(files) if name.endswith(".py"))
        if len(paths) > MAX_LISTED_FILES:
            break
    claimed: Dict[str, int] = {}
    places = module_places(paths)
    for module, _ in places.values():
        claimed[module] = claimed.get(module, 0) + 1
    # two files claiming one module (scripts of one name in two folders) answer nothing, as in a project run
    modules = {module: (path, package) for path, (module, package) in places.items() if claimed[module] == 1}
    _listings[root] = (now, modules)
    return modules


def root_of(path: str, module: str, is_package: bool) -> str:
    """The directory the file's top-level package (or the script itself) sits in: where its absolute imports
    of the project start."""
    depth = module.count(".") + (1 if is_package else 0)
    root = os.path.dirname(path)
    for _ in range(depth):
        root = os.path.dirname(root)
    return root


def _plain_imports(tree: ast.Module) -> list:
    """`import pkg.utils` lets the file call `pkg.utils.to_np`: every name the module defines is an answer.
    Modules outside the project are not in its map and answer nothing."""
    return sorted({"*" + alias.name for node in import_statements(tree, ast.Import) for alias in node.names})


def _serially(job, items: Iterable, jobs: int):
    return (job.run(item) for item in items)


__all__ = ["context_for_file", "context_or_none", "project_modules", "root_of"]
