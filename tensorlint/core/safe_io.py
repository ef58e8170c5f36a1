"""Read and write Python source files without losing anything: encoding, BOM, newlines, mode, newer edits.

`read_source_file` decodes as Python does (PEP 263 coding declaration, UTF-8 BOM) and keeps the text
exactly as on disk otherwise (no newline translation), with a snapshot of the file. `write_source_file`
writes a temporary file in the same folder and renames it over the original, so a crash leaves the
old file or the new one; it refuses (FileChangedError) if the file changed since it was read.
Every error is a SourceError whose message is one line starting with the path.
"""
from __future__ import annotations

import codecs
import contextlib
import difflib
import functools
import hashlib
import io
import os
import re
import stat
import tempfile
import tokenize
from dataclasses import dataclass
from typing import List, Optional, Tuple

from tensorlint.core.diagnostics import physical_lines

_NEWLINE = re.compile(r"\r\n|\r|\n")
_FINAL_NEWLINE = re.compile(r"(?:\r\n|\r|\n)\Z")
_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.ASCII)
_READ_ATTEMPTS = 3


class SourceError(Exception):
    """A file that cannot be read, decoded or written: the message is one line starting with the path.

    `line` and `column` (1-based; 0 when unknown) say where, `reason` what, so the CLI can report a
    file it could not read as a diagnostic (TL001) at that place.
    """

    def __init__(self, path: str, reason: str, line: int = 0, column: int = 0) -> None:
        self.path, self.reason, self.line, self.column = path, reason, line, column
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}:{column}: {reason}" if line and column else f"{where}: {reason}")

    def __reduce__(self):  # the default would call __init__ with the message alone
        return type(self), (self.path, self.reason, self.line, self.column)


class UnparsableSourceError(SourceError):
    """The bytes decode but cannot be Python source (a null byte): a syntax error (TL002), not a read error."""


class FileChangedError(SourceError):
    """The file changed on disk after it was read (an editor saved it): it was not overwritten."""


@dataclass(frozen=True)
class Snapshot:
    """What the file was when read: compared again before writing."""
    mtime_ns: int
    size: int
    inode: int
    device: int
    sha256: str


@dataclass(frozen=True)
class SourceFile:
    path: str                # as given, shown in messages
    text: str                # decoded; BOM removed; newlines exactly as in the file
    encoding: str = "utf-8"  # Python codec name
    bom: bool = False
    newline: str = "\n"      # the most common line break ("\n" when there is none)
    mixed_newlines: bool = False
    real_path: Optional[str] = None       # the file a symbolic link points to, written in its place
    snapshot: Optional[Snapshot] = None   # None: not read from a file (stdin)

    @property
    def ends_with_newline(self) -> bool:
        return self.text.endswith(("\n", "\r"))


# -- reading -----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)
def _real_directory(absolute: str) -> str:
    return os.path.realpath(absolute)


def real_path(path: str) -> str:
    """`os.path.realpath(path)`, resolving each directory once per process: a run over thousands of files
    in a few hundred directories would otherwise `lstat` every component of every path. A directory
    re-linked while the process runs (an editor session) gives a stale answer until `clear_cache()`; a
    write compares it with a fresh `realpath` first (`_unchanged`), so that can only refuse a
    write, never misdirect one."""
    absolute = os.path.abspath(path)
    if ".." in path or os.path.islink(absolute):  # `link/..` is not what `abspath` makes of it
        return os.path.realpath(path)
    head, name = os.path.split(absolute)
    return os.path.join(_real_directory(head), name)


def clear_cache() -> None:
    _real_directory.cache_clear()


def read_source_file(path: str) -> SourceFile:
    """Read and decode `path` as Python would. Raises SourceError (one line)."""
    for _ in range(_READ_ATTEMPTS):
        data, info = _read_bytes(path)
        if info is not None:
            break
    else:
        raise SourceError(path, "cannot read: the file kept changing while being read")
    text, encoding, bom = decode_source(data, path)
    newline, mixed = newline_style(text)
    snapshot = Snapshot(info.st_mtime_ns, info.st_size, info.st_ino, info.st_dev, hashlib.sha256(data).hexdigest())
    return SourceFile(path, text, encoding, bom, newline, mixed, real_path(path), snapshot)


def _read_bytes(path: str) -> Tuple[bytes, Optional[os.stat_result]]:
    """The file's bytes and its stat, or (data, None) when it changed while being read."""
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise SourceError(path, "cannot read: is a directory")
        if not stat.S_ISREG(info.st_mode):  # a FIFO or a device could block or never end
            raise SourceError(path, "cannot read: not a regular file")
        # O_NONBLOCK: a FIFO swapped in after the check still cannot block the open
        with open(path, "rb", opener=lambda name, flags: os.open(name, flags | getattr(os, "O_NONBLOCK", 0))) \
                as handle:
            before = os.fstat(handle.fileno())
            data = handle.read()
            after = os.fstat(handle.fileno())
    except OSError as error:
        raise SourceError(path, f"cannot read: {error.strerror or error}") from None
    if not stat.S_ISREG(after.st_mode):
        raise SourceError(path, "cannot read: not a regular file")
    unchanged = (before.st_mtime_ns, before.st_size) == (after.st_mtime_ns, after.st_size) == \
        (after.st_mtime_ns, len(data))
    return data, after if unchanged else None


def decode_source(data: bytes, path: str) -> Tuple[str, str, bool]:
    """(text, encoding, bom) of a file's bytes, decoded as Python decodes source. Raises SourceError."""
    for bom_bytes, name in ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
                            (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16")):
        if data.startswith(bom_bytes):
            raise SourceError(path, f"cannot read: {name} text (Python source is UTF-8 or declares "
                                    f"an ASCII-compatible encoding)")
    nul = data.find(b"\x00")
    if nul >= 0:
        line, column = _position(data, nul, "utf-8")
        raise UnparsableSourceError(path, "cannot parse: source contains a null byte (a binary file?)", line, column)
    encoding = _declared_encoding(data, path)
    bom = data.startswith(codecs.BOM_UTF8)
    body = data[len(codecs.BOM_UTF8):] if bom else data
    try:
        return body.decode(encoding), encoding, bom
    except UnicodeDecodeError as error:
        line, column = _position(body, error.start, encoding)
        shown = "UTF-8" if encoding == "utf-8" else encoding
        raise SourceError(path, f"not valid {shown} ({error.reason})", line, column) from None


def _declared_encoding(data: bytes, path: str) -> str:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        message = str(error.msg if hasattr(error, "msg") else error)
        if message.startswith("invalid or missing encoding declaration"):
            return "utf-8"  # no declaration and bytes that are not UTF-8: decoding says where
        line = next((number for number, text in enumerate(data.splitlines()[:2], start=1) if _COOKIE.match(text)), 1)
        if message.startswith("unknown encoding"):
            name = message.split(":", 1)[1].strip()
            raise SourceError(path, f"cannot read: unknown encoding {name!r} in the coding declaration", line) \
                from None
        raise SourceError(path, "cannot read: a UTF-8 BOM but a different coding declaration", line) from None
    encoding = codecs.lookup(encoding).name
    if encoding == "utf-8-sig":
        return "utf-8"
    if "#\n".encode(encoding) != b"#\n":
        raise SourceError(path, f"cannot read: the declared encoding {encoding!r} is not ASCII-compatible", 1)
    return encoding


def _position(data: bytes, index: int, encoding: str) -> Tuple[int, int]:
    """1-based line and column (in characters) of byte `index`."""
    before = data[:index]
    line = before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n") + 1
    start = max(before.rfind(b"\n"), before.rfind(b"\r")) + 1
    return line, len(before[start:].decode(encoding, "replace")) + 1


def newline_style(text: str) -> Tuple[str, bool]:
    """(the most common line break, whether there are several kinds); "\\n" when there is none."""
    if "\r" not in text:  # nearly every file: one fast scan instead of three counts
        return "\n", False
    crlf = text.count("\r\n")
    counts = {"\n": text.count("\n") - crlf, "\r\n": crlf, "\r": text.count("\r") - crlf}
    present = [kind for kind, count in counts.items() if count]
    if not present:
        return "\n", False
    return max(present, key=lambda kind: counts[kind]), len(present) > 1


# -- writing -----------------------------------------------------------------------------------
def encode_source(source: SourceFile, text: str) -> bytes:
    """`text` as the file's bytes: its encoding and BOM, its line breaks line by line, its final newline."""
    text = match_newlines(source, text)
    try:
        data = text.encode(source.encoding)
    except UnicodeEncodeError as error:
        line = text.count("\n", 0, error.start) + 1
        raise SourceError(source.path, f"cannot write: {text[error.start]!r} cannot be encoded "
                                       f"as {source.encoding}", line) from None
    return (codecs.BOM_UTF8 if source.bom else b"") + data


def match_newlines(source: SourceFile, text: str) -> str:
    """`text` with the line breaks of `source`: each kept line keeps its own, new lines get the most common.

    Fixes edit within lines and add whole lines, so lines are matched by content (difflib);
    a line split in two keeps its break on the second part. Line breaks never change what code means.
    """
    if source.mixed_newlines:
        text = _match_line_by_line(source, text)
    elif any(kind != source.newline for kind in _NEWLINE.findall(text)):
        text = _NEWLINE.sub(source.newline, text)
    if source.text and not source.ends_with_newline:
        text = _FINAL_NEWLINE.sub("", text)
    elif source.ends_with_newline and text and not text.endswith(("\n", "\r")):
        text += source.newline
    return text


def _match_line_by_line(source: SourceFile, text: str) -> str:
    old, new = physical_lines(source.text), physical_lines(text)
    old_bodies = [line.rstrip("\r\n") for line in old]
    new_bodies = [line.rstrip("\r\n") for line in new]
    endings: List[str] = [source.newline] * len(new)
    matcher = difflib.SequenceMatcher(None, old_bodies, new_bodies)
    for tag, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        if tag in ("equal", "replace"):
            # paired from the end: a line split in two keeps its break on the second part
            pairs = min(old_end - old_start, new_end - new_start)
            for offset in range(1, pairs + 1):
                endings[new_end - offset] = old[old_end - offset][len(old_bodies[old_end - offset]):]
    return "".join(body + (ending if line != body else "")
                   for body, ending, line in zip(new_bodies, endings, new))


def write_source_file(source: SourceFile, new_text: str) -> None:
    """Replace the file read as `source` with `new_text`, atomically. Raises SourceError, FileChangedError.

    The bytes go to a temporary file beside the target (the file a symbolic link points to), which
    takes the original's mode (and owner, where allowed) and is renamed over it; the temporary file is
    removed on any failure. The file is compared with its snapshot just before the rename.
    """
    if source.snapshot is None or source.real_path is None:
        raise ValueError("write_source_file needs a SourceFile from read_source_file")
    data = encode_source(source, new_text)
    target = source.real_path
    path = source.path
    try:
        info = _unchanged(source)
        if not os.access(target, os.W_OK):
            raise SourceError(path, "cannot write: the file is read-only")
        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(target),
                                             prefix=f".{os.path.basename(target)}.", suffix=".tensorlint")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temporary, stat.S_IMODE(info.st_mode))
            if hasattr(os, "chown") and (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()):
                with contextlib.suppress(OSError):
                    os.chown(temporary, info.st_uid, info.st_gid)
            _unchanged(source)  # again, right before the rename: an editor may have saved meanwhile
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        _sync_directory(os.path.dirname(target))
    except SourceError:
        raise
    except OSError as error:
        raise SourceError(path, f"cannot write: {error.strerror or error}") from None


def _unchanged(source: SourceFile) -> os.stat_result:
    """The target's stat, or FileChangedError if it is no longer what was read."""
    path, snapshot = source.path, source.snapshot
    assert snapshot is not None
    if os.path.realpath(path) != source.real_path:
        raise FileChangedError(path, "changed on disk since it was read (it now points elsewhere); not written")
    try:
        info = os.stat(source.real_path)
        # A new size settles it; otherwise the content decides, as mtimes can be coarser than two
        # quick saves and a `touch` or a same-content save changes nothing that was read.
        changed = info.st_size != snapshot.size or _digest(source.real_path) != snapshot.sha256
    except FileNotFoundError:
        raise FileChangedError(path, "changed on disk since it was read (it was deleted); not written") from None
    if changed:
        raise FileChangedError(path, "changed on disk since it was read; not written (run tensorlint again)")
    return info


def _digest(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _sync_directory(directory: str) -> None:
    """Make the rename durable (best effort: not every system can open a folder)."""
    with contextlib.suppress(OSError, AttributeError):
        descriptor = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
