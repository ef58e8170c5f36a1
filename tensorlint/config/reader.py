"""`[tool.tensorlint]` in `pyproject.toml`: which rules run on which files, and which files are skipped.

`load_config(path)` walks up from `path` (a file or a directory) and reads the **nearest
`pyproject.toml` that has a `[tool.tensorlint]` table**, as ruff does with `[tool.ruff]`: a
`pyproject.toml` without the table (a nested package's, say) is passed over and the walk goes on.
Without any, the defaults apply (`Config()`).

Keys (see docs/configuration.md):

    select, ignore, extend-select   lists of codes or prefixes ("TL1"), as on the command line
    per-file-ignores                {glob: [codes]}, globs relative to the config file's folder
    exclude                         gitignore-style patterns, relative to the config file's folder
    respect-gitignore               bool, default true: skip what `.gitignore` ignores
    unsafe-fixes                    bool, default false
    target-numpy, target-torch      version strings; validated here, applied by `tensorlint.config.targets`

Any unknown key or bad value raises `ConfigError`, one line naming the file and the key. Paths are
taken as written (`os.path.abspath`, symbolic links not followed). Results are cached per
directory; `clear_cache()` forgets them.
"""
from __future__ import annotations

import difflib
import functools
import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Tuple, Union

from tensorlint.config.ignore import (IgnorePattern, clear_cache as clear_ignore_cache, decision, gitignored, glob_regex,
                                      ignore_pattern, path_parts)
from tensorlint.config.selection import Codes, layered_codes, longest_match, names_a_rule, normalized_prefix
from tensorlint.config.targets import ProjectConfigError, read_toml, target_version

__all__ = ["Config", "ConfigError", "KEYS", "load_config", "find_config_file", "clear_cache", "read_config_file",
           "use_config_file", "chosen_config"]

PYPROJECT = "pyproject.toml"
KEYS = ("select", "ignore", "extend-select", "per-file-ignores", "exclude", "respect-gitignore",
        "unsafe-fixes", "target-numpy", "target-torch")

PathLike = Union[str, "os.PathLike[str]"]


class ConfigError(ProjectConfigError):
    """A `[tool.tensorlint]` problem: one line naming the file and the key.

    A ValueError (through ProjectConfigError), so code that already reports project metadata
    errors reports these too.
    """


# ---------------------------------------------------------------- per-file-ignores

@dataclass(frozen=True)
class _PerFileIgnore:
    pattern: str
    negated: bool
    absolute: "re.Pattern[str]"          # against the path relative to the config folder
    basename: Optional["re.Pattern[str]"]  # against the file name, for patterns without `/`
    codes: Codes

    def applies(self, relative: Optional[str], name: str) -> bool:
        matched = ((relative is not None and bool(self.absolute.fullmatch(relative)))
                   or (self.basename is not None and bool(self.basename.fullmatch(name))))
        return matched != self.negated


def _per_file_ignore(pattern: str, codes: Codes) -> _PerFileIgnore:
    negated = pattern.startswith("!")
    body = pattern[1:] if negated else pattern
    body = body[2:] if body.startswith("./") else body
    body = body.lstrip("/")
    if body.endswith("/"):
        body += "**"  # `tests/`: everything below the folder
    regex = re.compile(glob_regex(body, star_crosses_slash=True), re.DOTALL)
    return _PerFileIgnore(pattern, negated, regex, regex if "/" not in body else None, codes)


def _tuple(codes: Optional[Iterable[str]]) -> Optional[Codes]:
    if codes is None:
        return None
    return tuple(code.strip().upper() for code in codes if code.strip())


# ---------------------------------------------------------------- the configuration

@dataclass(frozen=True)
class Config:
    """What `[tool.tensorlint]` says; `Config()` is the configuration of a project without one."""
    path: Optional[str] = None            # the pyproject.toml it came from (absolute)
    select: Optional[Codes] = None        # None: the default rules
    ignore: Codes = ()
    extend_select: Codes = ()
    per_file_ignores: Tuple[Tuple[str, Codes], ...] = ()
    exclude: Tuple[str, ...] = ()
    respect_gitignore: bool = True
    unsafe_fixes: Optional[bool] = None   # None: not set (false)
    target_numpy: Optional[str] = None
    target_torch: Optional[str] = None
    _per_file: Tuple[_PerFileIgnore, ...] = field(default=(), init=False, repr=False, compare=False)
    _exclude: Tuple[IgnorePattern, ...] = field(default=(), init=False, repr=False, compare=False)
    _excluded_folders: Dict[Tuple[str, ...], bool] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        base = path_parts(self.root) if self.root else ()
        object.__setattr__(self, "_per_file", tuple(_per_file_ignore(p, c) for p, c in self.per_file_ignores))
        object.__setattr__(self, "_exclude", tuple(
            p for p in (ignore_pattern(text, base) for text in self.exclude) if p is not None))

    @property
    def root(self) -> Optional[str]:
        """The folder of the config file: `per-file-ignores` and `exclude` are relative to it."""
        return os.path.dirname(self.path) if self.path else None

    # -- rules ---------------------------------------------------------------------------------
    def codes_for(self, file_path: Optional[PathLike] = None, cli_select: Optional[Iterable[str]] = None,
                  cli_ignore: Optional[Iterable[str]] = None,
                  cli_extend_select: Optional[Iterable[str]] = None) -> FrozenSet[str]:
        """The codes to check in `file_path`.

        Layered as ruff does: the defaults, then this file's select / extend-select / ignore, then
        the command line's (`--select` replaces everything before it, config included;
        `--extend-select` and `--ignore` adjust it), then `per-file-ignores` for this file. Within
        one layer a longer prefix wins (`select = ["TL101"]`, `ignore = ["TL1"]` keeps TL101).
        `file_path` None (stdin without a name) skips per-file-ignores. An empty result means
        nothing to check: do not pass it on as `select` (an empty select means the defaults).
        """
        codes = layered_codes(self.select, self.extend_select, self.ignore, _tuple(cli_select) or None,
                        _tuple(cli_extend_select) or (), _tuple(cli_ignore) or ())
        if file_path is None or not self._per_file:
            return codes
        ignored = self.per_file_ignored(file_path)
        if not ignored:
            return codes
        return frozenset(code for code in codes if not longest_match(code, ignored))

    def per_file_ignored(self, file_path: PathLike) -> Codes:
        """The code prefixes `per-file-ignores` removes for `file_path`."""
        absolute = os.path.abspath(file_path)
        relative = None
        if self.root is not None:
            candidate = os.path.relpath(absolute, self.root)
            if candidate != os.curdir and not _outside(candidate):
                relative = candidate.replace(os.sep, "/")
        name = os.path.basename(absolute)
        found: List[str] = []
        for entry in self._per_file:
            if entry.applies(relative, name):
                found.extend(entry.codes)
        return tuple(found)

    def resolve_unsafe_fixes(self, cli: Optional[bool] = None) -> bool:
        """`--unsafe-fixes` / `--no-unsafe-fixes` (True / False) win; otherwise `unsafe-fixes`, default false."""
        if cli is not None:
            return cli
        return bool(self.unsafe_fixes)

    # -- files ---------------------------------------------------------------------------------
    def is_excluded(self, path: PathLike, *, is_dir: Optional[bool] = None, explicit: bool = False) -> bool:
        """Should `path` (a file, or a directory while walking) be skipped?

        `exclude` applies always. `.gitignore` (when `respect-gitignore`) applies to what is found
        by walking directories, not to a file named on the command line (`explicit=True`), as ruff
        does: naming an ignored file checks it. Inside an excluded or ignored directory everything
        is. `is_dir` saves a stat when the caller knows.
        """
        absolute = os.path.abspath(path)
        if is_dir is None:
            is_dir = os.path.isdir(absolute)
        parts = path_parts(absolute)
        if self._exclude and self._excluded(parts, is_dir):
            return True
        if self.respect_gitignore and not explicit:
            return gitignored(parts, is_dir, self.root)
        return False

    def _excluded(self, parts: Tuple[str, ...], is_dir: bool) -> bool:
        base = len(self._exclude[0].base)
        folder = parts[:-1]
        if len(folder) > base:
            known = self._excluded_folders.get(folder)
            if known is None:
                known = self._excluded(folder, True)
                self._excluded_folders[folder] = known
            if known:
                return True
        return bool(decision(self._exclude, parts, is_dir))


# ---------------------------------------------------------------- reading pyproject.toml

def _outside(relative: str) -> bool:
    return relative == os.pardir or relative.startswith(os.pardir + os.sep)


def _shown(path: str) -> str:
    """The path as messages show it: relative to the working directory when inside it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path
    return path if _outside(relative) else relative


class _Reader:
    def __init__(self, path: str, table: Dict[str, Any], section: str = "[tool.tensorlint]") -> None:
        self.path = path
        self.table = table
        self.section = section  # where the keys are: "[tool.tensorlint]", or "" in a tensorlint-only file

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{_shown(self.path)}: {self.section + ' ' if self.section else ''}{key}: {message}")

    def codes(self, key: str, value: Any) -> Codes:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            return self._bad(key, value, "a list of codes")
        found = []
        for item in value:
            prefix = normalized_prefix(item)
            if not names_a_rule(prefix):
                raise self.error(key, f"no rule code starts with {item!r} (`tensorlint rules` lists them)")
            found.append(prefix)
        return tuple(found)

    def patterns(self, key: str, value: Any) -> Tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
            return self._bad(key, value, "a list of glob patterns")
        return tuple(value)

    def boolean(self, key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            return self._bad(key, value, "true or false")
        return value

    def version(self, key: str, value: Any) -> str:
        try:
            target_version(value)
        except ValueError as problem:
            raise self.error(key, str(problem)) from None
        return str(value)

    def per_file_ignores(self, key: str, value: Any) -> Tuple[Tuple[str, Codes], ...]:
        if not isinstance(value, dict):
            return self._bad(key, value, 'a table of glob = ["CODE", ...]')
        entries = []
        for pattern, codes in value.items():
            if not pattern.strip() or pattern.strip() == "!":
                raise self.error(key, f"empty glob pattern {pattern!r}")
            entries.append((pattern, self.codes(f'{key}."{pattern}"', codes)))
        return tuple(entries)

    def _bad(self, key: str, value: Any, expected: str) -> Any:
        raise self.error(key, f"expected {expected}, got {value!r}")

    def config(self) -> Config:
        unknown = [key for key in self.table if key not in KEYS]
        if unknown:
            key = unknown[0]
            close = difflib.get_close_matches(key, KEYS, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(KEYS)})"
            raise ConfigError(f"{_shown(self.path)}: {self.section or 'config'}: unknown key {key!r}{hint}")
        table = self.table
        values: Dict[str, Any] = {"path": self.path}
        if "select" in table:
            values["select"] = self.codes("select", table["select"])
        for key, attribute in (("ignore", "ignore"), ("extend-select", "extend_select")):
            if key in table:
                values[attribute] = self.codes(key, table[key])
        if "per-file-ignores" in table:
            values["per_file_ignores"] = self.per_file_ignores("per-file-ignores", table["per-file-ignores"])
        if "exclude" in table:
            values["exclude"] = self.patterns("exclude", table["exclude"])
        for key, attribute in (("respect-gitignore", "respect_gitignore"), ("unsafe-fixes", "unsafe_fixes")):
            if key in table:
                values[attribute] = self.boolean(key, table[key])
        for key, attribute in (("target-numpy", "target_numpy"), ("target-torch", "target_torch")):
            if key in table:
                values[attribute] = self.version(key, table[key])
        return Config(**values)


def _read_toml(path: str) -> Dict[str, Any]:
    return read_toml(path, _shown(path), ConfigError)


def _read_table(path: str) -> Optional[Dict[str, Any]]:
    """The `[tool.tensorlint]` table of a pyproject.toml, None when it has none."""
    data = _read_toml(path)
    tool = data.get("tool")
    if not isinstance(tool, dict) or "tensorlint" not in tool:
        return None
    table = tool["tensorlint"]
    if not isinstance(table, dict):
        raise ConfigError(f"{_shown(path)}: [tool.tensorlint]: expected a table, got {table!r}")
    return table


@functools.lru_cache(maxsize=None)
def _config_for_directory(directory: str) -> Union[Config, ConfigError]:
    # Errors are cached too: a broken pyproject.toml is read once, not once per file.
    candidate = os.path.join(directory, PYPROJECT)
    if os.path.isfile(candidate):
        try:
            table = _read_table(candidate)
            if table is not None:
                return _Reader(candidate, table).config()
        except ConfigError as error:
            return error
    parent = os.path.dirname(directory)
    return Config() if parent == directory else _config_for_directory(parent)


def _start_directory(path: PathLike) -> str:
    absolute = os.path.abspath(path)
    return absolute if os.path.isdir(absolute) else os.path.dirname(absolute)


# `--config PATH`: one configuration for every path of the run, instead of the nearest one.
_chosen: Optional[Config] = None


def read_config_file(path: PathLike) -> Config:
    """The configuration in the file at `path`: a `pyproject.toml`'s `[tool.tensorlint]` table, or any other
    TOML file holding the same keys at its top level (`tensorlint.toml`). Raises ConfigError."""
    absolute = os.path.abspath(path)
    if not os.path.isfile(absolute):
        raise ConfigError(f"{os.fspath(path)}: no such configuration file")
    if os.path.basename(absolute) == PYPROJECT:
        table = _read_table(absolute)
        if table is None:
            raise ConfigError(f"{_shown(absolute)}: has no [tool.tensorlint] table")
        return _Reader(absolute, table).config()
    return _Reader(absolute, _read_toml(absolute), section="").config()


def use_config_file(path: Optional[PathLike]) -> None:
    """Make `load_config` return the configuration in `path` for every path (None: find the nearest again).
    Raises ConfigError."""
    global _chosen
    _chosen = read_config_file(path) if path is not None else None


def chosen_config() -> Optional[Config]:
    """The configuration `use_config_file` chose, None when each path finds its own."""
    return _chosen


def load_config(path: PathLike = os.curdir) -> Config:
    """The configuration for the file or directory at `path` (see the module docstring), or the one
    `use_config_file` chose.

    Raises ConfigError (a ValueError) for unreadable TOML, an unknown key or a bad value.
    """
    if _chosen is not None:
        return _chosen
    found = _config_for_directory(_start_directory(path))
    if isinstance(found, ConfigError):
        raise ConfigError(str(found))
    return found


def find_config_file(path: PathLike = os.curdir) -> Optional[str]:
    """The pyproject.toml whose `[tool.tensorlint]` applies to `path`, or None."""
    return load_config(path).path


def clear_cache() -> None:
    """Forget cached configurations and .gitignore files (for long-running processes: the editor)."""
    _config_for_directory.cache_clear()
    clear_ignore_cache()
    layered_codes.cache_clear()
