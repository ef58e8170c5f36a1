"""Where a file sits in its project: its dotted module name from its path, and the names its import statements
take from the project (read from its `ast`)."""
from __future__ import annotations

import ast
import os
from typing import Dict, Iterable, Iterator, List, Optional, Set, Tuple

from tensorlint.analysis.crossmodule import ProjectContext, is_project_name


def module_places(paths: Iterable[str]) -> Dict[str, Tuple[str, bool]]:
    """path → (dotted module name, is a package `__init__`), for the Python files among `paths`."""
    packages: Dict[str, Optional[str]] = {}   # directory → its dotted package name, None outside packages

    def package_of(directory: str) -> Optional[str]:
        if directory not in packages:
            if os.path.isfile(os.path.join(directory, "__init__.py")):
                parent = os.path.dirname(directory)
                outer = package_of(parent) if parent != directory else None
                name = os.path.basename(directory)
                packages[directory] = f"{outer}.{name}" if outer else name
            else:
                packages[directory] = None
        return packages[directory]

    places = {}
    for path in paths:
        if not path.endswith(".py"):
            continue
        absolute = os.path.abspath(path)
        package = package_of(os.path.dirname(absolute))
        stem = os.path.basename(absolute)[:-3]
        if stem == "__init__":
            if package:
                places[path] = (package, True)
        elif stem.isidentifier():
            places[path] = (f"{package}.{stem}" if package else stem, False)
    return places


def project_imports(tree: ast.Module, module: str, is_package: bool) -> List[str]:
    """The project names a file imports (qualified), and `*module` for its star imports."""
    place = ProjectContext(module=module, is_package=is_package)
    found: Set[str] = set()
    for node in import_statements(tree, ast.ImportFrom):
        base = place.absolute(node.level, node.module) if node.level else node.module
        if not base or not is_project_name(base):
            continue
        for alias in node.names:
            found.add("*" + base if alias.name == "*" else f"{base}.{alias.name}")
    return sorted(found)


_BLOCKS = (ast.stmt, ast.excepthandler, ast.match_case)


def import_statements(tree: ast.Module, kind) -> Iterator:
    """The `kind` import statements of a tree, wherever they sit. An import is a statement, and statements
    only hold statements through blocks (bodies, handlers, match cases), so expressions are not entered:
    `ast.walk` spent most of its time in them."""
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, kind):
            yield node
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        else:
            pending.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, _BLOCKS))


def imported_names(tree: ast.Module, module: str, is_package: bool) -> List[str]:
    """Every dotted name the file's import statements name, of the project or not: `a.b` for `import a.b`,
    `pkg.m.x` for `from .m import x` in pkg, `pkg.m` for `from .m import *`."""
    place = ProjectContext(module=module, is_package=is_package)
    found: Set[str] = set()
    for node in import_statements(tree, (ast.Import, ast.ImportFrom)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
            continue
        base = place.absolute(node.level, node.module) if node.level else node.module
        if base:
            found.update(base if alias.name == "*" else f"{base}.{alias.name}" for alias in node.names)
    return sorted(found)

