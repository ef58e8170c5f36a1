"""Which paths `.gitignore` files and `[tool.tensorlint] exclude` leave out, decided as git decides, and the glob
translation `per-file-ignores` shares.

Each pattern applies below its own folder (its *base*); the last pattern that matches a path decides, files of
patterns read shallow first. A path inside an ignored folder is ignored whatever a `!` pattern says about it.
Matching is per level, as git's: a pattern decides about the path it matches, never about that path's
descendants (their folder does), so `doc/**` with `!doc/keep.py` keeps `doc/keep.py`. (`pathspec` matches a
pattern against every descendant too, and differs from git there: see tests/config/test_config.py.)
Paths are tuples of parts (`path_parts`), compared and cached without splitting strings again.
"""
from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

GITIGNORE = ".gitignore"


def _class(pattern: str, start: int) -> Tuple[Optional[str], int]:
    """A `[...]` character class at pattern[start] as a regex (never matching `/`), and the index after it."""
    index = start + 1
    negate = index < len(pattern) and pattern[index] in "!^"
    if negate:
        index += 1
    items: List[str] = []
    first = True
    while index < len(pattern) and (pattern[index] != "]" or first):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            index += 1
            char = pattern[index]
        if char == "-" and items and not first and index + 1 < len(pattern) and pattern[index + 1] != "]":
            items.append("-")
        else:
            items.append(re.escape(char) if char != "-" else r"\-")
        first = False
        index += 1
    if index >= len(pattern):
        return None, start + 1  # no closing `]`: a literal `[`
    body = "".join(items)
    return (f"(?!/)[^{body}]" if negate else f"(?!/)[{body}]"), index + 1


def glob_regex(pattern: str, star_crosses_slash: bool) -> str:
    """Translate a glob to a regex over `/`-separated relative paths.

    `**/` at the start or between slashes matches any number of directories (also none) and a
    trailing `/**` everything below. `*` and `?` stop at `/` in gitignore patterns; with
    `star_crosses_slash` (flake8's and ruff's per-file-ignores) they do not.
    """
    star = ".*" if star_crosses_slash else "[^/]*"
    one = "." if star_crosses_slash else "[^/]"
    out: List[str] = []
    index, length = 0, len(pattern)
    while index < length:
        char = pattern[index]
        if char == "*":
            run = index
            while run < length and pattern[run] == "*":
                run += 1
            stars = run - index
            at_start = index == 0 or pattern[index - 1] == "/"
            if stars == 2 and at_start and run == length:
                out.append(".*")                      # `a/**`, or `**` alone
            elif stars == 2 and at_start and pattern[run] == "/":
                out.append("(?:.*/)?")                # `**/a`, `a/**/b`
                run += 1
            else:
                out.append(star)                      # other runs of `*` are one `*`
            index = run
            continue
        if char == "?":
            out.append(one)
        elif char == "[":
            regex, index = _class(pattern, index)
            out.append(regex if regex is not None else re.escape("["))
            continue
        elif char == "\\" and index + 1 < length:
            index += 1
            out.append(re.escape(pattern[index]))
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


@dataclass(frozen=True)
class IgnorePattern:
    """One gitignore line (or one `exclude` entry), relative to the folder `base` (a tuple of parts)."""
    text: str
    base: Tuple[str, ...]
    regex: "re.Pattern[str]"
    negated: bool
    dir_only: bool
    anchored: bool   # matched against the path from `base`; otherwise against the last component

    def matches(self, parts: Tuple[str, ...], is_dir: bool) -> bool:
        if self.dir_only and not is_dir:
            return False
        if len(parts) <= len(self.base) or parts[:len(self.base)] != self.base:
            return False
        relative = parts[len(self.base):]
        return bool(self.regex.fullmatch("/".join(relative) if self.anchored else relative[-1]))


def ignore_pattern(line: str, base: Tuple[str, ...]) -> Optional[IgnorePattern]:
    """A gitignore line as a pattern; None for blank lines and comments."""
    text = line.rstrip("\r\n")
    # trailing spaces are dropped unless escaped with a backslash
    stripped = text.rstrip(" ")
    if stripped.endswith("\\") and len(stripped) < len(text):
        stripped += " "
    text = stripped
    if not text or text.startswith("#"):
        return None
    negated = text.startswith("!")
    if negated:
        text = text[1:]
    elif text.startswith(("\\!", "\\#")):
        text = text[1:]
    dir_only = text.endswith("/") and not text.endswith("\\/")
    body = text.rstrip("/") if dir_only else text
    if not body:
        return None
    anchored = "/" in body
    body = body.lstrip("/") if body.startswith("/") else body
    if not body:
        return None
    regex = re.compile(glob_regex(body, star_crosses_slash=False), re.DOTALL)
    return IgnorePattern(line.strip(), base, regex, negated, dir_only, anchored)


def decision(patterns: Sequence[IgnorePattern], parts: Tuple[str, ...], is_dir: bool) -> Optional[bool]:
    """True ignored, False re-included by a `!` pattern, None no pattern matches: the last match wins."""
    for pattern in reversed(patterns):
        if pattern.matches(parts, is_dir):
            return not pattern.negated
    return None



def path_parts(path: str) -> Tuple[str, ...]:
    """`/a/b/c` -> ("/", "a", "b", "c"); on Windows the drive is the first part."""
    drive, rest = os.path.splitdrive(path)
    pieces = [piece for piece in re.split(r"[\\/]+", rest) if piece]
    return (drive + os.sep,) + tuple(pieces)


def _join(parts: Tuple[str, ...]) -> str:
    return os.path.join(*parts)


@functools.lru_cache(maxsize=None)
def _git_root(directory: Tuple[str, ...]) -> Optional[Tuple[str, ...]]:
    """The work tree holding `directory`: the nearest folder at or above it with a `.git` entry."""
    if os.path.exists(os.path.join(_join(directory), ".git")):
        return directory
    return None if len(directory) == 1 else _git_root(directory[:-1])


@functools.lru_cache(maxsize=None)
def _ignore_file(path: str, base: Tuple[str, ...]) -> Tuple[IgnorePattern, ...]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return ()
    return tuple(p for p in (ignore_pattern(line, base) for line in lines) if p is not None)


@functools.lru_cache(maxsize=None)
def _patterns_in(directory: Tuple[str, ...], start: Tuple[str, ...], git: bool) -> Tuple[IgnorePattern, ...]:
    """Every gitignore pattern that applies inside `directory`: from `start` (the work tree or the
    config folder) down, `.git/info/exclude` first, then each folder's `.gitignore`, shallow first."""
    if directory == start:
        found: Tuple[IgnorePattern, ...] = ()
        if git:
            found += _ignore_file(os.path.join(_join(start), ".git", "info", "exclude"), start)
        return found + _ignore_file(os.path.join(_join(start), GITIGNORE), start)
    return (_patterns_in(directory[:-1], start, git)
            + _ignore_file(os.path.join(_join(directory), GITIGNORE), directory))


def gitignored(parts: Tuple[str, ...], is_dir: bool, config_root: Optional[str]) -> bool:
    """Does git ignore `parts`? Outside a git work tree, the `.gitignore` files from the config
    folder down are read all the same (a source archive has them too); without either, nothing is."""
    parent = parts[:-1]
    start = _git_root(parent)
    git = start is not None
    if start is None:
        if config_root is None:
            return False
        start = path_parts(config_root)
        if parent[:len(start)] != start:
            return False
    if git and parts[-1] == ".git" and len(parts) == len(start) + 1:
        return True
    # A file in an ignored folder is ignored, whatever a `!` pattern says about the file.
    if _folder_ignored(parent, start, git):
        return True
    return bool(decision(_patterns_in(parent, start, git), parts, is_dir))


@functools.lru_cache(maxsize=4096)
def _folder_ignored(folder: Tuple[str, ...], start: Tuple[str, ...], git: bool) -> bool:
    """Is `folder`, or a folder between `start` and it, ignored? Cached: files share their folders."""
    if len(folder) <= len(start):
        return False
    return (_folder_ignored(folder[:-1], start, git)
            or bool(decision(_patterns_in(folder[:-1], start, git), folder, True)))


def clear_cache() -> None:
    _git_root.cache_clear()
    _ignore_file.cache_clear()
    _patterns_in.cache_clear()
    _folder_ignored.cache_clear()
