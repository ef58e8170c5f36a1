"""Confine the verifier's worker once torch is loaded: no network, no new processes, no writes outside its
temporary folder, a memory limit, a file-size limit.

The snippets come from the user's own code and are run on purpose, so this guards against accidents
(a snippet that saves a file, downloads weights, spawns a shell, or allocates far more than a test
needs), not against code written to escape: Python's audit hooks see every file, socket and process
operation made through Python (including NumPy's and torch's Python layers), but not native code
that calls the C library directly.

Limits (Linux and macOS; on other systems only the audit hook applies):

* memory: the address space may grow by `memory_bytes` beyond what the worker holds when confined
  (`RLIMIT_AS`), so an allocation past it raises MemoryError in the snippet. Not applied with a real
  CUDA device, whose driver reserves address space far beyond the memory it uses; there the parent
  watches the worker's resident memory instead (`runner.py`) and restarts it past the same limit.
* files: opening for writing, creating, removing, renaming, linking or changing the mode of anything
  outside `directory` raises PermissionError; no file may grow past 64 MiB (`RLIMIT_FSIZE`).
* network: creating a non-local socket, connecting, binding, sending and name lookups raise
  PermissionError.
* processes: `subprocess`, `os.system`, `os.exec*`, `os.spawn*`, `os.posix_spawn`, `os.fork` raise
  PermissionError.
"""
from __future__ import annotations

import os
import socket
import sys
from typing import Optional, Tuple

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

DEFAULT_MEMORY_BYTES = 2 * 1024 ** 3
MAX_FILE_BYTES = 64 * 1024 ** 2

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_PATH_EVENTS = {  # event -> positions of the path arguments it changes
    "os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.rename": (0, 1), "os.link": (0, 1),
    "os.symlink": (1,), "os.chmod": (0,), "os.chown": (0,), "os.utime": (0,), "os.truncate": (0,),
    "os.chflags": (0,), "os.lchflags": (0,), "os.mkfifo": (0,), "os.mknod": (0,), "os.setxattr": (0,),
    "os.removexattr": (0,), "shutil.rmtree": (0,), "shutil.copyfile": (1,), "shutil.copytree": (1,),
    "shutil.move": (0, 1), "shutil.make_archive": (0,),
}
_PROCESS_EVENTS = frozenset({"subprocess.Popen", "os.system", "os.exec", "os.spawn", "os.posix_spawn",
                             "os.fork", "os.forkpty", "pty.spawn", "os.startfile"})
_NETWORK_EVENTS = frozenset({"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg",
                             "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
                             "socket.gethostbyname_ex", "socket.getnameinfo", "urllib.Request",
                             "http.client.connect", "ftplib.connect", "smtplib.connect"})
_LOCAL_FAMILIES = frozenset({getattr(socket, "AF_UNIX", -1)})


class SandboxViolation(PermissionError):
    """Something the verifier's snippets may not do."""


def confine(directory: str, memory_bytes: Optional[int] = DEFAULT_MEMORY_BYTES, limit_address_space: bool = True) -> None:
    """Apply the limits to this process, for good (an audit hook cannot be removed)."""
    root = os.path.realpath(directory)
    if resource is not None:
        _lower_limit(resource.RLIMIT_FSIZE, MAX_FILE_BYTES)
        _lower_limit(resource.RLIMIT_CORE, 0)
        if memory_bytes is not None and limit_address_space:
            _lower_limit(resource.RLIMIT_AS, address_space_in_use() + memory_bytes)
    sys.addaudithook(_guard(root))


def address_space_in_use() -> int:
    """This process's virtual memory size in bytes (0 where it cannot be read)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def resident_bytes(pid: int) -> int:
    """Resident memory of process `pid` in bytes (0 where it cannot be read: not Linux, or it exited)."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _lower_limit(kind: int, value: int) -> None:
    soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    if soft == resource.RLIM_INFINITY or value < soft:
        try:
            resource.setrlimit(kind, (value, hard))
        except (ValueError, OSError):  # a platform that refuses this limit: the audit hook still applies
            pass


def _guard(root: str):
    def inside(path: object) -> bool:
        if isinstance(path, int):
            return True  # an already open descriptor: it was opened under these rules or before them
        try:
            text = os.fsdecode(path)  # type: ignore[arg-type]
        except TypeError:
            return False
        if text in (os.devnull, "/dev/stdout", "/dev/stderr"):
            return True
        full = os.path.realpath(text)
        return full == root or full.startswith(root + os.sep)

    def hook(event: str, args: Tuple) -> None:
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, 0))[:3]
            writes = bool((flags or 0) & _WRITE_FLAGS) or any(c in (mode or "") for c in "wax+")
            if writes and path is not None and not inside(path):
                raise SandboxViolation(f"the verifier's sandbox does not write outside its folder: {path!r}")
        elif event in _PATH_EVENTS:
            for position in _PATH_EVENTS[event]:
                if position < len(args) and not inside(args[position]):
                    raise SandboxViolation(f"the verifier's sandbox does not change {args[position]!r} ({event})")
        elif event in _PROCESS_EVENTS:
            raise SandboxViolation(f"the verifier's sandbox starts no processes ({event})")
        elif event in _NETWORK_EVENTS:
            raise SandboxViolation(f"the verifier's sandbox has no network ({event})")
        elif event == "socket.__new__" and len(args) > 1 and args[1] not in _LOCAL_FAMILIES:
            raise SandboxViolation("the verifier's sandbox has no network (socket)")
    return hook
