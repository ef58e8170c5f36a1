"""The NumPy/torch range a file's project supports, read from the nearest project metadata.

`settings_for(path)` walks up from `path` to the nearest directory holding `pyproject.toml`,
`setup.cfg`, `setup.py`, `requirements*.txt` or `requirements/*.txt`, and reads there, merged:

* `pyproject.toml` `[tool.tensorlint] target-numpy` / `target-torch` (explicit; wins over the rest),
* `[project] dependencies`, `[project.optional-dependencies]` (all extras), `[dependency-groups]`,
* Poetry `[tool.poetry.dependencies]`, `[tool.poetry.dev-dependencies]`, `[tool.poetry.group.*.dependencies]`,
* `setup.cfg` `[options] install_requires` and `[options.extras_require]`,
* `setup.py` literal `install_requires=[...]` / `extras_require={...}`,
* `requirements*.txt` and `requirements/*.txt`.

The lowest supported version is the lowest lower bound over every requirement on the package;
a requirement without a lower bound (`numpy`, `numpy<2`) makes it unknown (None).
Results are cached per directory; `clear_cache()` forgets them.
"""
from __future__ import annotations

import ast
import configparser
import functools
import os
import re
from pathlib import Path
from typing import Any, Iterable, Iterator, List, Optional, Tuple, Type, Union

try:
    import tomllib as _toml
except ImportError:  # Python < 3.11
    import tomli as _toml  # type: ignore[no-redef]

from tensorlint.core.safe_io import clear_cache as clear_real_paths, real_path
from tensorlint.core.settings import Settings, Version, parse_version

__all__ = ["ProjectConfigError", "settings_for", "find_project_root", "clear_cache"]

PYPROJECT = "pyproject.toml"
SETUP_CFG = "setup.cfg"
SETUP_PY = "setup.py"
REQUIREMENTS_DIR = "requirements"


class ProjectConfigError(ValueError):
    """Project metadata that cannot be read: a one-line message naming the file and the key."""


# ---------------------------------------------------------------- requirement specifiers

# `name [extras] specifiers ; markers` (PEP 508, minus direct references, which carry no version).
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_REQUIREMENT = re.compile(
    rf"^\s*(?P<name>{_NAME})\s*(?:\[[^\]]*\])?\s*(?P<spec>\([^)]*\)|[^;@]*?)\s*(?:;.*)?$", re.DOTALL)
_CLAUSE = re.compile(r"^\s*(?P<op>~=|===|==|!=|<=|>=|<|>)\s*(?P<version>[0-9A-Za-z*][^\s,;()]*)\s*$")
# Leading release numbers of a version: "1!2.0rc1" -> "2.0", "1.24.*" -> "1.24".
_RELEASE = re.compile(r"^(?:\d+!)?(\d+(?:\.\d+)*)")
# Poetry clauses: "^1.24", "~1.24", "~=1.24", ">=2", "==2.0", "=2.0", "2.0", "2.*", "*".
_POETRY_CLAUSE = re.compile(r"^(?P<op>\^|~=|~|===|==|=|!=|<=|>=|<|>)?\s*(?P<version>\S+)$")

_LOWER_OPS = frozenset({"~=", "===", "==", ">=", ">", "^", "~", "=", ""})

# One requirement's lower bound: None when it has none. A requirement is (bound, source text).
Bound = Optional[Version]


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _release(version: str) -> Bound:
    """The release part of a version string as a tuple, or None if it does not start with one."""
    match = _RELEASE.match(version.strip())
    return parse_version(match.group(1)) if match else None


def _max_bound(bounds: Iterable[Bound]) -> Bound:
    present = [b for b in bounds if b is not None]
    return max(present) if present else None


def parse_requirement(text: str) -> Optional[Tuple[str, Bound]]:
    """`numpy>=1.21,<2 ; python_version>"3.8"` -> ("numpy", (1, 21)); None for text we cannot read.

    The lower bound of one requirement is the highest of its `>=`, `>`, `==`, `~=` clauses;
    `<`, `<=`, `!=` give none.
    """
    if "@" in text.split(";", 1)[0]:
        return None  # direct reference (`pkg @ https://...`): no version to read
    match = _REQUIREMENT.match(text)
    if not match:
        return None
    spec = match.group("spec").strip()
    if spec.startswith("("):
        spec = spec[1:-1]
    bounds: List[Bound] = []
    if spec:
        for clause in spec.split(","):
            clause_match = _CLAUSE.match(clause)
            if not clause_match:
                return None
            op, version = clause_match.group("op"), clause_match.group("version")
            if op != "===" and not _RELEASE.match(version):
                return None  # not a version: not a requirement we can read
            if op in _LOWER_OPS:
                bounds.append(_release(version))
    return _normalize(match.group("name")), _max_bound(bounds)


def _poetry_bound(constraint: str) -> Tuple[bool, Bound]:
    """(readable, lower bound) of a Poetry constraint: "^1.24" -> (1, 24); ">=1.2,<2 || ^3" -> (1, 2)."""
    alternatives: List[Bound] = []
    for alternative in constraint.split("||"):
        bounds: List[Bound] = []
        for clause in re.split(r"\s*,\s*|\s+(?![\d*])", alternative.strip()):
            if not clause or clause == "*":
                continue
            match = _POETRY_CLAUSE.match(clause)
            if not match:
                return False, None
            version = match.group("version")
            if not _RELEASE.match(version):
                return False, None
            if (match.group("op") or "") in _LOWER_OPS:
                bounds.append(_release(version))
        alternatives.append(_max_bound(bounds))
    if any(bound is None for bound in alternatives):
        return True, None
    return True, min(alternatives)  # type: ignore[type-var]


# ---------------------------------------------------------------- metadata readers

Requirement = Tuple[str, Bound, str]  # (normalized name, lower bound, source text for messages)


def _pep508(strings: Any, where: str) -> Iterator[Requirement]:
    if not isinstance(strings, list):
        return
    for text in strings:
        if isinstance(text, str):
            parsed = parse_requirement(text)
            if parsed:
                yield parsed[0], parsed[1], f"{where}: {text.split(';', 1)[0].strip()}"


def _poetry_table(table: Any, where: str) -> Iterator[Requirement]:
    if not isinstance(table, dict):
        return
    for name, value in table.items():
        if not isinstance(name, str) or _normalize(name) == "python":
            continue
        for entry in value if isinstance(value, list) else [value]:
            constraint = entry.get("version") if isinstance(entry, dict) else entry
            if not isinstance(constraint, str):
                continue  # git / path / url dependency: no version
            readable, bound = _poetry_bound(constraint)
            if readable:
                yield _normalize(name), bound, f'{where}: {name} = "{constraint}"'


def read_toml(path: Union[str, Path], shown: str, error: Type[ProjectConfigError] = ProjectConfigError) -> dict:
    """The TOML file at `path` (not to be modified: it is shared); `error` (one line starting with `shown`) when it
    cannot be read or parsed. A `pyproject.toml` is read by `[tool.tensorlint]`'s reader and for the project's
    requirements: it is parsed once for both while it stays the same file."""
    try:
        stat = os.stat(path)
        data, problem = _parsed_toml(os.fspath(path), stat.st_mtime_ns, stat.st_size)
    except OSError as failure:
        problem = f"cannot read: {failure.strerror or failure}"
    if problem is not None:
        raise error(f"{shown}: {problem}")
    return data


@functools.lru_cache(maxsize=64)
def _parsed_toml(path: str, mtime_ns: int, size: int) -> Tuple[dict, Optional[str]]:
    """(the TOML, None), or ({}, what is wrong with it); keyed by the file's time and size as well."""
    try:
        with open(path, "rb") as handle:
            return _toml.loads(handle.read().decode("utf-8")), None
    except (_toml.TOMLDecodeError, UnicodeDecodeError) as problem:
        message = str(problem).splitlines()[0] if str(problem) else type(problem).__name__
        return {}, f"invalid TOML: {message}"
    except OSError as problem:
        return {}, f"cannot read: {problem.strerror or problem}"


def target_version(value: Any) -> Version:
    """A `target-numpy` / `target-torch` value; ValueError saying what is wrong with it."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f'expected a version string like "2.0", got {value!r}')
    try:
        return parse_version(str(value))
    except ValueError:
        raise ValueError(f"not a version: {str(value)!r}") from None


def _pyproject_requirements(data: dict) -> Iterator[Requirement]:
    project = data.get("project")
    if isinstance(project, dict):
        yield from _pep508(project.get("dependencies"), PYPROJECT)
        extras = project.get("optional-dependencies")
        if isinstance(extras, dict):
            for group in extras.values():
                yield from _pep508(group, PYPROJECT)
    groups = data.get("dependency-groups")  # PEP 735
    if isinstance(groups, dict):
        for group in groups.values():
            yield from _pep508(group, PYPROJECT)
    tool = data.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    if isinstance(poetry, dict):
        yield from _poetry_table(poetry.get("dependencies"), PYPROJECT)
        yield from _poetry_table(poetry.get("dev-dependencies"), PYPROJECT)
        poetry_groups = poetry.get("group")
        if isinstance(poetry_groups, dict):
            for group in poetry_groups.values():
                if isinstance(group, dict):
                    yield from _poetry_table(group.get("dependencies"), PYPROJECT)


def _explicit_targets(data: dict, path: Path) -> Tuple[Optional[Tuple[Version, str]], Optional[Version]]:
    """[tool.tensorlint] target-numpy / target-torch: ((version, source) or None, version or None)."""
    tool = data.get("tool")
    config = tool.get("tensorlint") if isinstance(tool, dict) else None
    if config is None:
        return None, None
    if not isinstance(config, dict):
        raise ProjectConfigError(f"{path}: [tool.tensorlint]: expected a table, got {config!r}")
    found: List[Optional[Version]] = []
    for key in ("target-numpy", "target-torch"):
        value = config.get(key)
        if value is None:
            found.append(None)
            continue
        try:
            found.append(target_version(value))
        except ValueError as problem:
            raise ProjectConfigError(f"{path}: [tool.tensorlint] {key}: {problem}") from None
    numpy = config.get("target-numpy")
    numpy_target = (found[0], f'[tool.tensorlint] target-numpy = "{numpy}"') if found[0] is not None else None
    return numpy_target, found[1]


def _logical_lines(text: str) -> Iterator[str]:
    """Lines with `\\` continuations joined."""
    pending = ""
    for line in text.splitlines():
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield pending + line
        pending = ""
    if pending:
        yield pending


def _strip_comment(line: str) -> str:
    # In requirement files a comment starts at `#` at the line start or after whitespace.
    return re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip()


def _requirement_lines(lines: Iterable[str], where: str) -> Iterator[Requirement]:
    for raw in lines:
        line = _strip_comment(raw)
        if not line or line.startswith("-") or "://" in line:
            continue  # options (-r, -c, -e, --index-url ...), URLs, local paths
        line = re.split(r"\s+--?[A-Za-z]", line, maxsplit=1)[0]  # per-line options: --hash=...
        parsed = parse_requirement(line)
        if parsed:
            yield parsed[0], parsed[1], f"{where}: {line.split(';', 1)[0].strip()}"


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _setup_cfg_requirements(path: Path) -> Iterator[Requirement]:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(_read_text(path), source=str(path))
    except configparser.Error as error:
        message = str(error).splitlines()[0]
        raise ProjectConfigError(f"{path}: cannot parse: {message}") from None
    values: List[str] = []
    if parser.has_option("options", "install_requires"):
        values.append(parser.get("options", "install_requires"))
    if parser.has_option("options", "extras_require"):  # rare inline form
        values.append(parser.get("options", "extras_require"))
    if parser.has_section("options.extras_require"):
        values.extend(value for _, value in parser.items("options.extras_require"))
    for value in values:
        if value.lstrip().startswith("file:"):
            continue
        yield from _requirement_lines(value.splitlines(), SETUP_CFG)  # one requirement per line


def _setup_py_requirements(path: Path) -> Iterator[Requirement]:
    """String literals in `install_requires=[...]` / `extras_require={...: [...]}` of any call."""
    try:
        tree = ast.parse(_read_text(path), filename=str(path))
    except (SyntaxError, ValueError, RecursionError):
        return
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            lists: List[ast.AST] = []
            if keyword.arg == "install_requires":
                lists.append(keyword.value)
            elif keyword.arg == "extras_require" and isinstance(keyword.value, ast.Dict):
                lists.extend(keyword.value.values)
            for value in lists:
                if isinstance(value, (ast.List, ast.Tuple)):
                    strings = [e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
                    yield from _pep508(strings, SETUP_PY)


def _requirements_files(directory: Path) -> List[Path]:
    """`requirements*.txt` in `directory`, then `requirements/*.txt`, each sorted by name."""
    found: List[Path] = []
    try:
        with os.scandir(directory) as entries:
            found = sorted(Path(e.path) for e in entries
                           if e.name.startswith("requirements") and e.name.endswith(".txt") and e.is_file())
    except OSError:
        pass
    subdirectory = directory / REQUIREMENTS_DIR
    try:
        with os.scandir(subdirectory) as entries:
            found += sorted(Path(e.path) for e in entries if e.name.endswith(".txt") and e.is_file())
    except OSError:
        pass
    return found


# ---------------------------------------------------------------- the project root and its settings

def _is_project_root(directory: Path) -> bool:
    return (any((directory / name).is_file() for name in (PYPROJECT, SETUP_CFG, SETUP_PY))
            or bool(_requirements_files(directory)))


@functools.lru_cache(maxsize=None)
def _root_for_directory(directory: str) -> Optional[Path]:
    """Keyed by the resolved directory's text: a run asks once per file, and most share a directory."""
    if _is_project_root(Path(directory)):
        return Path(directory)
    parent = os.path.dirname(directory)
    return None if parent == directory else _root_for_directory(parent)


def find_project_root(path: Union[str, "os.PathLike[str]"]) -> Optional[Path]:
    """The nearest directory at or above `path` (a file or directory) that holds project metadata."""
    resolved = real_path(os.fspath(path))
    return _root_for_directory(resolved if os.path.isdir(resolved) else os.path.dirname(resolved))


def _lowest(requirements: List[Requirement], package: str) -> Tuple[Bound, str]:
    """The lowest lower bound over the requirements on `package`, with its source; (None, "") if none."""
    relevant = [(bound, source) for name, bound, source in requirements if name == package]
    if not relevant:
        return None, ""
    for bound, source in relevant:
        if bound is None:
            return None, source
    return min(relevant, key=lambda item: item[0])  # type: ignore[arg-type,return-value]


def _project_settings(root: Path) -> Settings:
    requirements: List[Requirement] = []
    numpy_target: Optional[Tuple[Version, str]] = None
    torch_target: Optional[Version] = None
    pyproject = root / PYPROJECT
    if pyproject.is_file():
        data = read_toml(pyproject, str(pyproject))
        numpy_target, torch_target = _explicit_targets(data, pyproject)
        requirements.extend(_pyproject_requirements(data))
    if (root / SETUP_CFG).is_file():
        requirements.extend(_setup_cfg_requirements(root / SETUP_CFG))
    if (root / SETUP_PY).is_file():
        requirements.extend(_setup_py_requirements(root / SETUP_PY))
    for path in _requirements_files(root):
        where = path.relative_to(root).as_posix()
        requirements.extend(_requirement_lines(_logical_lines(_read_text(path)), where))
    numpy_min, numpy_source = numpy_target if numpy_target else _lowest(requirements, "numpy")
    torch_min = torch_target if torch_target else _lowest(requirements, "torch")[0]
    return Settings(numpy_min=numpy_min, torch_min=torch_min, numpy_source=numpy_source)


@functools.lru_cache(maxsize=None)
def _cached_project_settings(root: Path) -> Union[Settings, ProjectConfigError]:
    # Errors are cached too: a broken pyproject.toml is read once, not once per file.
    try:
        return _project_settings(root)
    except ProjectConfigError as error:
        return error


def _explicit(value: Optional[str], option: str) -> Optional[Version]:
    if value is None:
        return None
    try:
        return target_version(value)
    except ValueError as problem:
        raise ProjectConfigError(f"{option}: {problem}") from None


def settings_for(path: Union[str, "os.PathLike[str]"], target_numpy: Optional[str] = None,
                 target_torch: Optional[str] = None) -> Settings:
    """Settings for the file or directory at `path`.

    `target_numpy` / `target_torch` ("2.0") win over everything; otherwise the nearest project
    metadata decides (see the module docstring), and `Settings()` when there is none.
    Raises ProjectConfigError for unreadable metadata or a bad version.
    """
    numpy_explicit = _explicit(target_numpy, "--target-numpy")
    torch_explicit = _explicit(target_torch, "--target-torch")
    if numpy_explicit is not None and torch_explicit is not None:
        return Settings(numpy_min=numpy_explicit, torch_min=torch_explicit, numpy_source="--target-numpy")
    root = find_project_root(path)
    if root is None:
        found = Settings()
    else:
        cached = _cached_project_settings(root)
        if isinstance(cached, ProjectConfigError):
            raise ProjectConfigError(str(cached))
        found = cached
    return Settings(
        numpy_min=numpy_explicit if numpy_explicit is not None else found.numpy_min,
        torch_min=torch_explicit if torch_explicit is not None else found.torch_min,
        numpy_source="--target-numpy" if numpy_explicit is not None else found.numpy_source,
    )


def clear_cache() -> None:
    """Forget cached project roots and settings (for long-running processes whose files change)."""
    _root_for_directory.cache_clear()
    _cached_project_settings.cache_clear()
    _parsed_toml.cache_clear()
    clear_real_paths()
