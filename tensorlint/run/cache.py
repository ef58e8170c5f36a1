"""Check results cached by what decides them, so an unchanged file costs a read and a hash.

The key is a SHA-256 over the file's text, the settings (NumPy/torch range), the enabled codes and a
fingerprint of the tool: tensorlint's version and the source of the modules a check runs (an editable
install that changed gives new keys), and the versions of Python, libcst and flake8 (their parsers
and `noqa` syntax decide results too). Nothing else decides a result, so an entry is never stale:
a changed input is a different key. The path is not part of the key (the settings already say
what the path means), so identical files share an entry.

Entries live under the cache directory (`$TENSORLINT_CACHE_DIR`, else `.tensorlint_cache/` in the
project root of the current directory, else in the current directory) as
`v2/<2 hex>/<62 hex>.json`, one file per key, each written to a temporary file and renamed into
place: concurrent workers and runs never see half an entry, and two writers of one key write the
same bytes. An unreadable or corrupt entry is a miss. A cache that cannot be written is skipped
silently: it only ever saves time. Only `check` caches results; `fix` always re-checks. Module
summaries (`summaries.summarize_file`) live here too, which flake8 and the editor also use for the
modules a file imports (`fix` writes no cache: its summaries are kept in memory for the run), and whole project runs (`run_replay.py`: keyed by the run's options, valid
while a snapshot of what the run read holds).
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any, FrozenSet, List, Optional, Tuple, Union

from tensorlint import __version__
from tensorlint.core.diagnostics import Diagnostic, Edit, Fix, Safety
from tensorlint.config.targets import find_project_root
from tensorlint.core.settings import Settings

ENVIRONMENT_VARIABLE = "TENSORLINT_CACHE_DIR"
DIRECTORY_NAME = ".tensorlint_cache"
LAYOUT = "v2"

_fingerprint: Optional[str] = None


def default_directory() -> Path:
    configured = os.environ.get(ENVIRONMENT_VARIABLE)
    if configured:
        return Path(configured)
    return (find_project_root(os.getcwd()) or Path(os.getcwd())) / DIRECTORY_NAME


def tool_fingerprint() -> str:
    """tensorlint's version and source, and the versions of what shapes its results."""
    global _fingerprint
    if _fingerprint is None:
        digest = hashlib.sha256()
        versions = (__version__, sys.version, platform.python_implementation(),
                    _version("libcst"), _version("flake8"))
        digest.update(repr(versions).encode())
        # The source of every tensorlint module a check may run, named by the package's files rather than by
        # what is loaded: the CLI imports the engine, rules and analysis only when a file misses the cache,
        # so what is loaded when the key is first needed says nothing. Editing any of it in an editable
        # install gives new keys; the verifier and the editor server, which a check never runs, do not.
        for source in _checked_sources():
            digest.update(os.path.relpath(source, _PACKAGE).encode() + b"\0")
            with open(source, "rb") as handle:
                digest.update(handle.read() + b"\0")
        _fingerprint = digest.hexdigest()
    return _fingerprint


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_NOT_CHECKING = ("verify", "lsp")  # a check never runs these


def _checked_sources() -> List[str]:
    found = []
    for folder, dirs, files in os.walk(_PACKAGE):
        dirs[:] = sorted(d for d in dirs if d not in _NOT_CHECKING and d != "__pycache__")
        found.extend(os.path.join(folder, name) for name in files
                     if name.endswith(".py") and not (folder == _PACKAGE and name in _NOT_CHECKING))
    return sorted(found)


def _version(distribution: str) -> str:
    from importlib import metadata  # ~10 ms: only a check that reads or writes the cache needs it
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "?"


def cache_key(text: str, settings: Settings, codes: FrozenSet[str], context: str = "") -> str:
    """`context`: what else decides the result (a project run's module name and what the project told it)."""
    digest = hashlib.sha256()
    digest.update(tool_fingerprint().encode())
    digest.update(context.encode("utf-8", "surrogatepass") + b"\0")
    digest.update(repr((settings.numpy_min, settings.torch_min, settings.numpy_source, sorted(codes))).encode())
    digest.update(b"\0")
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


class Cache:
    """One cache directory. `load` / `store` never raise: a failing cache is a slower run, not a broken one."""

    def __init__(self, directory: Union[str, "os.PathLike[str]"]) -> None:
        self.directory = Path(directory)
        self._root = self.directory / LAYOUT
        self._root_text = str(self._root)  # a warm run looks up every file: no pathlib on that path
        self._ready = False

    def _path(self, key: str) -> str:
        return os.path.join(self._root_text, key[:2], key[2:] + ".json")

    def load(self, key: str) -> Optional[List[Diagnostic]]:
        entry = self.load_entry(key)
        return None if entry is None else entry[0]

    def load_entry(self, key: str) -> Optional[Tuple[List[Diagnostic], Any]]:
        """The diagnostics stored under `key` and what else was stored with them (a project run's records)."""
        try:
            with open(self._path(key), "rb") as handle:
                entry = json.loads(handle.read())
            if not isinstance(entry, dict) or not isinstance(entry.get("d"), list):
                return None
            return decode_diagnostics(entry["d"]), entry.get("x")
        except (OSError, ValueError, TypeError, KeyError, IndexError):
            return None

    def store(self, key: str, diagnostics: List[Diagnostic], extra: Any = None) -> None:
        path = self._path(key)
        try:
            self._prepare()
            os.makedirs(os.path.dirname(path), exist_ok=True)
            data = json.dumps({"d": encode_diagnostics(diagnostics), "x": extra}, separators=(",", ":")).encode()
            handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
            try:
                with os.fdopen(handle, "wb") as stream:
                    stream.write(data)
                os.replace(temporary, path)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError:
            pass

    def make_directory(self) -> None:
        """Create the cache folder now, not at the first store (a project run's snapshot is taken after it
        exists: creating it changes the modification time of the folder that holds it)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass

    def _prepare(self) -> None:
        """Create the directory, marked so that git and backup tools leave it alone."""
        if self._ready:
            return
        self._root.mkdir(parents=True, exist_ok=True)
        for name, content in ((".gitignore", "# created by tensorlint\n*\n"),
                              ("CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n"
                                               "# tensorlint's result cache; safe to delete.\n")):
            marker = self.directory / name
            if not marker.exists():
                marker.write_text(content)
        self._ready = True


def _encode(diagnostic: Diagnostic) -> list:
    fix = diagnostic.fix
    encoded_fix = None if fix is None else [fix.title, fix.safety.value, [[e.start, e.end, e.text] for e in fix.edits],
                                            list(fix.assumes)]
    return [diagnostic.line, diagnostic.col, diagnostic.code, diagnostic.message, diagnostic.end_line,
            diagnostic.end_col, diagnostic.start_offset, diagnostic.end_offset, encoded_fix]


def _decode(entry: list) -> Diagnostic:
    line, col, code, message, end_line, end_col, start_offset, end_offset, encoded_fix = entry
    fix = None
    if encoded_fix is not None:
        title, safety, edits, assumes = encoded_fix
        fix = Fix(title, tuple(Edit(start, end, text) for start, end, text in edits), Safety(safety), tuple(assumes))
    return Diagnostic(line=line, col=col, code=code, message=message, end_line=end_line, end_col=end_col,
                      start_offset=start_offset, end_offset=end_offset, fix=fix)


def encode_diagnostics(diagnostics: List[Diagnostic]) -> list:
    return [_encode(d) for d in diagnostics]


def decode_diagnostics(entries: list) -> List[Diagnostic]:
    return [_decode(entry) for entry in entries]


__all__ = ["Cache", "DIRECTORY_NAME", "ENVIRONMENT_VARIABLE", "cache_key", "decode_diagnostics", "default_directory",
           "encode_diagnostics", "tool_fingerprint"]
