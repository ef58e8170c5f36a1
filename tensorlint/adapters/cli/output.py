"""How findings are written: `text`, `concise`, `json`, `sarif`, `github`, and `--statistics`.

Every writer takes the stream to write to and the findings as a sequence of `(path, Diagnostic)`
pairs, written in the order given (the CLI sorts them: by path as found, then by position). Writers
that show source lines or place fix edits also take `sources`, the text of each file by the same
path (for `tensorlint fix`, the text after fixing). Nothing here reads files, the environment or
the clock, so the output is a pure function of the arguments (`should_color` aside, which looks at
the stream and the environment and is the caller's to use).

Positions: `Diagnostic.line` is 1-based and `Diagnostic.col` 0-based in characters (code points);
every format prints columns 1-based, and end columns point just past the flagged span (exclusive),
as ruff and SARIF do. See docs/integrations.md for the JSON schema.
"""
from __future__ import annotations

import json
import os
import posixpath
import unicodedata
from collections import Counter
from typing import IO, Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import quote

from tensorlint import __version__
from tensorlint.core.diagnostics import Diagnostic, Fix
from tensorlint.core.line_index import LineIndex
from tensorlint.core.codes import FILE_CODES, RULES as RULE_TABLE

__all__ = ["FORMATS", "HOMEPAGE", "Item", "level", "rule_url", "should_color", "write", "write_text", "write_concise",
           "write_json", "write_sarif", "write_github", "github_path", "to_json", "to_sarif", "statistics",
           "statistics_data", "write_statistics"]

FORMATS = ("text", "concise", "json", "sarif", "github")
# The project's home and rule documentation, for JSON `url` and SARIF `informationUri` / `helpUri`.
HOMEPAGE = "https://github.com/tensorlint/tensorlint"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
TAB_WIDTH = 4

Item = Tuple[str, Diagnostic]


def rule_url(code: str) -> str:
    """The documentation page of a rule (docs/rules/<CODE>.md in the repository)."""
    return f"{HOMEPAGE}/blob/main/docs/rules/{code}.md"


_UNCHECKED_CODES = FILE_CODES
_NAMES = {code: name for code, name, _ in RULE_TABLE}


def level(code: str) -> str:
    """`error` for a file that could not be checked (TL001, TL002), `warning` for a finding in one."""
    return "error" if code in _UNCHECKED_CODES else "warning"


def _rule_name(code: str) -> str:
    return _NAMES.get(code, "")


# ---------------------------------------------------------------- colour

RESET = "\x1b[0m"
BOLD = "\x1b[1m"
RED = "\x1b[31m"
YELLOW = "\x1b[33m"
BLUE = "\x1b[34m"
CYAN = "\x1b[36m"


def should_color(stream: IO[str], environ: Optional[Mapping[str, str]] = None) -> bool:
    """Colour when `stream` is a terminal, unless `NO_COLOR` is set to anything non-empty
    (no-color.org) or `TERM=dumb`; `FORCE_COLOR` (non-empty) forces it, `NO_COLOR` winning."""
    environ = os.environ if environ is None else environ
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    if environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except (ValueError, OSError):  # a closed or detached stream
        return False


class _Paint:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, *styles: str) -> str:
        if not self.color or not text:
            return text
        return "".join(styles) + text + RESET


# ---------------------------------------------------------------- positions

class _Lines(LineIndex):
    """A file's lines, and character offsets as the JSON formats place them: (1-based row, 1-based column),
    on the last line at most."""

    __slots__ = ()

    def line_text(self, row: int) -> Optional[str]:
        if 1 <= row <= len(self.lines):
            return self.lines[row - 1].rstrip("\r\n")
        return None

    def json_position(self, offset: int) -> Dict[str, int]:
        row = min(max(self.row(offset), 0), max(len(self.lines) - 1, 0))
        return {"row": row + 1, "column": offset - self.starts[row] + 1}


def _lines_for(sources: Optional[Mapping[str, str]], cache: Dict[str, Optional[_Lines]], path: str) -> Optional[_Lines]:
    if path not in cache:
        source = sources.get(path) if sources is not None else None
        cache[path] = _Lines(source) if source is not None else None
    return cache[path]


def _end(diagnostic: Diagnostic) -> Tuple[int, int]:
    """(end row, 0-based end column); a diagnostic without an end ends where it starts."""
    if diagnostic.end_line:
        return diagnostic.end_line, diagnostic.end_col
    return diagnostic.line, diagnostic.col


# ---------------------------------------------------------------- concise and text

def write_concise(stream: IO[str], items: Iterable[Item]) -> None:
    """`path:line:col: CODE message`, one per line (columns 1-based): the CLI's long-standing format."""
    for path, diagnostic in items:
        stream.write(diagnostic.format(path) + "\n")


def _width(text: str) -> int:
    """Terminal columns of `text`: wide East Asian characters take two, combining marks none."""
    total = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total


def _help(fix: Fix) -> str:
    if fix.is_safe:
        return fix.title
    return f"{fix.title} (unsafe fix: applied only with `--unsafe-fixes`)"


def write_text(stream: IO[str], items: Iterable[Item], sources: Optional[Mapping[str, str]] = None,
               color: bool = False) -> None:
    """ruff's full format: the concise line, the source line with `^` under the flagged span
    (a span over several lines is underlined to the end of its first line), and `= help:` with
    the fix title when there is a fix. A blank line follows each finding. Without the file's
    text in `sources` the source line is left out."""
    paint = _Paint(color)
    cache: Dict[str, Optional[_Lines]] = {}
    for path, diagnostic in items:
        stream.write(f"{paint(path, BOLD)}:{diagnostic.line}:{diagnostic.col + 1}: "
                     f"{paint(diagnostic.code, BOLD, RED)} {diagnostic.message}\n")
        lines = _lines_for(sources, cache, path)
        text = lines.line_text(diagnostic.line) if lines is not None else None
        number = str(diagnostic.line)
        gutter = " " * (len(number) + 1)
        bar = paint("|", BOLD, BLUE)
        if text is not None:
            end_line, end_col = _end(diagnostic)
            end = end_col if end_line == diagnostic.line else len(text.rstrip())
            end = max(min(end, len(text)), diagnostic.col)
            shown = text.expandtabs(TAB_WIDTH)
            start_width = _width(text[:diagnostic.col].expandtabs(TAB_WIDTH))
            carets = max(_width(text[:end].expandtabs(TAB_WIDTH)) - start_width, 1)
            stream.write(f"{gutter}{bar}\n")
            stream.write(f"{paint(number, BOLD, BLUE)} {bar}{' ' + shown if shown else ''}\n")
            stream.write(f"{gutter}{bar} {' ' * start_width}{paint('^' * carets + ' ' + diagnostic.code, BOLD, RED)}\n")
            stream.write(f"{gutter}{bar}\n")
        if diagnostic.fix is not None:
            label = paint("= help:", BOLD, CYAN) if diagnostic.fix.is_safe else paint("= help:", BOLD, YELLOW)
            stream.write(f"{gutter}{label} {_help(diagnostic.fix)}\n")
        stream.write("\n")


# ---------------------------------------------------------------- json

def _fix_json(fix: Fix, lines: Optional[_Lines], path: str) -> Dict[str, Any]:
    if lines is None:
        raise ValueError(f"{path}: its source text is needed to place the fix edits")
    return {
        "title": fix.title,
        "applicability": fix.safety.value,
        "edits": [{"content": edit.text, "location": lines.json_position(edit.start),
                   "end_location": lines.json_position(edit.end)} for edit in sorted(fix.edits)],
    }


def to_json(items: Iterable[Item], sources: Optional[Mapping[str, str]] = None) -> List[Dict[str, Any]]:
    """The JSON document as Python objects (see `write_json`)."""
    cache: Dict[str, Optional[_Lines]] = {}
    found = []
    for path, diagnostic in items:
        end_line, end_col = _end(diagnostic)
        fix = diagnostic.fix
        found.append({
            "code": diagnostic.code,
            "name": _rule_name(diagnostic.code),
            "message": diagnostic.message,
            "filename": path,
            "location": {"row": diagnostic.line, "column": diagnostic.col + 1},
            "end_location": {"row": end_line, "column": end_col + 1},
            "fix": _fix_json(fix, _lines_for(sources, cache, path), path) if fix is not None else None,
            "url": rule_url(diagnostic.code),
        })
    return found


def write_json(stream: IO[str], items: Iterable[Item], sources: Optional[Mapping[str, str]] = None) -> None:
    """A JSON array, one object per finding (docs/integrations.md has the schema). `sources` must
    hold the text of every file with a fixable finding (edits are stored as character offsets).
    Raises ValueError when one is missing."""
    stream.write(json.dumps(to_json(items, sources), indent=2) + "\n")


# ---------------------------------------------------------------- sarif

def _artifact_location(path: str, root: Optional[str]) -> Dict[str, str]:
    """A relative `uri` (forward slashes, percent-encoded) against %SRCROOT%, the working
    directory or `root`; a `file:` URI for a file outside it."""
    base = os.path.abspath(root if root is not None else os.curdir)
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute, base)
    except ValueError:  # another drive (Windows)
        relative = None
    if relative is None or relative == os.pardir or relative.startswith(os.pardir + os.sep):
        drive, rest = os.path.splitdrive(absolute)
        uri_path = (("/" + drive) if drive else "") + rest.replace(os.sep, "/")
        return {"uri": "file://" + quote(uri_path, safe="/:")}
    relative = posixpath.normpath(relative.replace(os.sep, "/"))
    return {"uri": quote(relative, safe="/"), "uriBaseId": SRCROOT}


def _region(start: Dict[str, int], end: Dict[str, int]) -> Dict[str, int]:
    return {"startLine": start["row"], "startColumn": start["column"],
            "endLine": end["row"], "endColumn": end["column"]}


def _sarif_rule(rule) -> Dict[str, Any]:
    documentation = rule.documentation()
    descriptor: Dict[str, Any] = {"id": rule.code, "name": rule.name, "shortDescription": {"text": rule.summary}}
    if documentation:
        descriptor["help"] = {"text": documentation, "markdown": documentation}
    descriptor["helpUri"] = rule_url(rule.code)
    descriptor["defaultConfiguration"] = {"level": level(rule.code), "enabled": bool(rule.default_enabled)}
    descriptor["properties"] = {"fixable": rule.fixable}
    return descriptor


def to_sarif(items: Iterable[Item], sources: Optional[Mapping[str, str]] = None,
             root: Optional[str] = None) -> Dict[str, Any]:
    """The SARIF 2.1.0 log as Python objects (see `write_sarif`)."""
    from tensorlint.rules import ALL_RULES  # the rules' documentation: only SARIF carries it
    rules = sorted(ALL_RULES, key=lambda rule: rule.code)
    index = {rule.code: position for position, rule in enumerate(rules)}
    cache: Dict[str, Optional[_Lines]] = {}
    results = []
    for path, diagnostic in items:
        location = _artifact_location(path, root)
        end_line, end_col = _end(diagnostic)
        result: Dict[str, Any] = {"ruleId": diagnostic.code}
        if diagnostic.code in index:
            result["ruleIndex"] = index[diagnostic.code]
        result["level"] = level(diagnostic.code)
        result["message"] = {"text": diagnostic.message}
        result["locations"] = [{"physicalLocation": {
            "artifactLocation": location,
            "region": _region({"row": diagnostic.line, "column": diagnostic.col + 1},
                              {"row": end_line, "column": end_col + 1}),
        }}]
        lines = _lines_for(sources, cache, path)
        fix = diagnostic.fix
        if fix is not None and lines is not None:
            result["fixes"] = [{
                "description": {"text": fix.title},
                "artifactChanges": [{"artifactLocation": dict(location), "replacements": [
                    {"deletedRegion": _region(lines.json_position(edit.start), lines.json_position(edit.end)),
                     "insertedContent": {"text": edit.text}} for edit in sorted(fix.edits)]}],
                "properties": {"applicability": fix.safety.value},
            }]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "tensorlint",
                "version": __version__,
                "informationUri": HOMEPAGE,
                "rules": [_sarif_rule(rule) for rule in rules],
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


def write_sarif(stream: IO[str], items: Iterable[Item], sources: Optional[Mapping[str, str]] = None,
                root: Optional[str] = None) -> None:
    """A SARIF 2.1.0 log for GitHub code scanning: one run, every rule described, one result per
    finding (level `warning`), paths relative to `root` (default: the working directory, which
    should be the repository root). Fixes are included for files whose text is in `sources`."""
    stream.write(json.dumps(to_sarif(items, sources, root), indent=2) + "\n")


# ---------------------------------------------------------------- github

def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_path(path: str, root: Optional[str] = None) -> str:
    """`path` as GitHub matches it to the files of a commit: relative to `root` (the repository root;
    default: the working directory), with forward slashes and no `./` or `..` (`./src/../src/x.py` is
    `src/x.py`). A file outside `root` keeps its absolute path (GitHub shows it in the log only)."""
    absolute = os.path.abspath(path)
    base = os.path.abspath(root if root is not None else os.curdir)
    try:
        relative = os.path.relpath(absolute, base)
    except ValueError:  # another drive (Windows)
        relative = None
    if relative is None or relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return absolute.replace(os.sep, "/")
    return relative.replace(os.sep, "/")


def write_github(stream: IO[str], items: Iterable[Item], root: Optional[str] = None) -> None:
    """GitHub Actions workflow commands: one `::warning ...::message` annotation per finding
    (`::error` for a file that could not be checked), the file relative to `root` (`github_path`),
    escaped as GitHub's toolkit does (`%`, CR and LF everywhere; also `:` and `,` in properties)."""
    for path, diagnostic in items:
        end_line, end_col = _end(diagnostic)
        properties = [("file", github_path(path, root)), ("line", str(diagnostic.line)),
                      ("col", str(diagnostic.col + 1)), ("endLine", str(end_line)),
                      ("endColumn", str(end_col + 1)), ("title", diagnostic.code)]
        joined = ",".join(f"{name}={_escape_property(value)}" for name, value in properties)
        stream.write(f"::{level(diagnostic.code)} {joined}::{_escape_data(diagnostic.message)}\n")


# ---------------------------------------------------------------- all formats

def write(output_format: str, stream: IO[str], items: Sequence[Item], sources: Optional[Mapping[str, str]] = None,
          color: bool = False, root: Optional[str] = None) -> None:
    """Write `items` in one of FORMATS; `root` is what SARIF and GitHub paths are relative to (default: the
    working directory). Raises ValueError for an unknown format."""
    if output_format == "text":
        write_text(stream, items, sources, color=color)
    elif output_format == "concise":
        write_concise(stream, items)
    elif output_format == "json":
        write_json(stream, items, sources)
    elif output_format == "sarif":
        write_sarif(stream, items, sources, root=root)
    elif output_format == "github":
        write_github(stream, items, root=root)
    else:
        raise ValueError(f"unknown output format {output_format!r} (one of: {', '.join(FORMATS)})")


# ---------------------------------------------------------------- statistics

def statistics_data(diagnostics: Iterable[Diagnostic]) -> List[Dict[str, Any]]:
    """Per code: {code, name, count, fixable (safe fixes), unsafe_fixable}; most frequent first."""
    counts: Counter = Counter()
    safe: Counter = Counter()
    unsafe: Counter = Counter()
    for diagnostic in diagnostics:
        counts[diagnostic.code] += 1
        if diagnostic.fix is not None:
            (safe if diagnostic.fix.is_safe else unsafe)[diagnostic.code] += 1
    return [{"code": code, "name": _rule_name(code), "count": count, "fixable": safe[code],
             "unsafe_fixable": unsafe[code]}
            for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def _fixable_note(row: Dict[str, Any]) -> str:
    safe, unsafe = row["fixable"], row["unsafe_fixable"]
    if safe and unsafe:
        return f"({safe} fixable, {unsafe} more with --unsafe-fixes)"
    if safe:
        return f"({safe} fixable)"
    if unsafe:
        return f"({unsafe} fixable with --unsafe-fixes)"
    return ""


def statistics(diagnostics: Iterable[Diagnostic]) -> str:
    """One line per code, most frequent first, as ruff's `--statistics`:

        3  TL101  [*] numpy-without-detach  (2 fixable, 1 more with --unsafe-fixes)
        1  TL401  [ ] per-step-scalar-sync

    `[*]`: some of these have a safe fix. Empty string when there are no diagnostics.
    """
    rows = statistics_data(diagnostics)
    if not rows:
        return ""
    count_width = max(len(str(row["count"])) for row in rows)
    code_width = max(len(row["code"]) for row in rows)
    name_width = max(len(row["name"]) for row in rows)
    lines = []
    for row in rows:
        mark = "[*]" if row["fixable"] else "[ ]"
        note = _fixable_note(row)
        line = f"{row['count']:>{count_width}}  {row['code']:<{code_width}}  {mark} "
        line += f"{row['name']:<{name_width}}  {note}" if note else row["name"]
        lines.append(line.rstrip() + "\n")
    return "".join(lines)


def write_statistics(stream: IO[str], diagnostics: Iterable[Diagnostic], as_json: bool = False) -> None:
    """`statistics(...)`, or with `as_json` the `statistics_data` list as a JSON array."""
    if as_json:
        stream.write(json.dumps(statistics_data(diagnostics), indent=2) + "\n")
    else:
        stream.write(statistics(diagnostics))
