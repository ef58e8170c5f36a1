"""Run verification jobs in worker subprocesses, each job under a timeout.

A :class:`WorkerPool` starts up to ``workers`` processes (``python -m tensorlint.verify.worker``, in
an empty temporary directory so nothing of the user's can be imported by accident) and keeps them
for the next job: importing torch costs seconds, a job milliseconds. A job that runs past its
timeout gets its worker killed (and a fresh one started for the next job); the worker's progress
lines say which side was running, so a fixed snippet that hangs where the original finished is a
FAIL, and an original that hangs is a per-fix error. A worker that dies (a crash in native code)
is the same: that job's error, and the run goes on.

Each worker confines itself once torch is loaded (:mod:`tensorlint.verify.sandbox`): no network, no
processes, no writes outside its temporary directory, and at most ``memory_bytes`` more memory; this
side also watches the worker's resident memory and restarts a worker that exceeds that limit (the
only memory limit with a real CUDA device).
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

from tensorlint.verify.sandbox import DEFAULT_MEMORY_BYTES, resident_bytes

DEFAULT_TIMEOUT = 20.0
_MEMORY_POLL = 0.2  # seconds between two looks at a running worker's resident memory
STARTUP_TIMEOUT = 180.0
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class VerifierUnavailable(Exception):
    """The worker cannot start (torch or NumPy missing, no GPU with --device cuda): an environment error."""


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


class _Worker:
    def __init__(self, device: str, memory_bytes: int = DEFAULT_MEMORY_BYTES) -> None:
        self.device = device
        self.memory_bytes = memory_bytes
        self.resident_limit = 0  # bytes; set once the worker has started
        self.process: Optional[subprocess.Popen] = None
        self.lines: "queue.Queue[Optional[str]]" = queue.Queue()
        self.hello: Dict[str, str] = {}
        self._directory: Optional[tempfile.TemporaryDirectory] = None
        self._stderr = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = STARTUP_TIMEOUT) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="tensorlint-verify-")
        env = dict(os.environ)
        env["TENSORLINT_VERIFY_DEVICE"] = self.device
        env["TENSORLINT_VERIFY_MEMORY_BYTES"] = str(self.memory_bytes)
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # the sandbox refuses writes outside its folder anyway
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p)
        env.setdefault("PYTHONIOENCODING", "utf-8")
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        self.lines = queue.Queue()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tensorlint.verify.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, cwd=self._directory.name, env=env, text=True, encoding="utf-8", bufsize=1)
        threading.Thread(target=self._read, args=(self.process, self.lines), daemon=True).start()
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(remaining, 0.01)) if remaining > 0 else None
            except queue.Empty:
                line = None
            if line is None:
                why = "did not start in time" if self.alive else "exited"
                self.stop()
                raise VerifierUnavailable(f"the verifier's worker {why}: {self._stderr_tail()}")
            message = json.loads(line)
            if "fatal" in message:
                self.stop()
                raise VerifierUnavailable(message["fatal"])
            if "hello" in message:
                self.hello = message["hello"]
                self.resident_limit = resident_bytes(self.process.pid) + self.memory_bytes
                return

    @staticmethod
    def _read(process: subprocess.Popen, lines: "queue.Queue[Optional[str]]") -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        try:
            self._stderr.seek(0)
            text = self._stderr.read().strip().splitlines()
        except (OSError, ValueError):
            return ""
        return text[-1] if text else "(no message)"

    def run(self, job_id: int, job: dict, timeout: float) -> dict:
        assert self.process is not None and self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps({"id": job_id, "job": job}) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            self.stop()
            return _error(f"the verifier's worker died before the job started ({self._stderr_tail()})")
        deadline = time.monotonic() + timeout
        progress: dict = {}
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=min(remaining, _MEMORY_POLL)) if remaining > 0 else ""
            except queue.Empty:
                if self._over_memory():
                    self.stop()
                    return _error(f"used more than {self.memory_bytes / 2 ** 20:.0f} MiB of memory beyond its "
                                  f"start{_where(progress)} (the worker was restarted)")
                if time.monotonic() < deadline:
                    continue
                line = ""
            if line == "":
                self.stop()
                return _timed_out(progress, timeout)
            if line is None:
                tail = self._stderr_tail()
                self.stop()
                return _error(f"the verifier's worker died while evaluating"
                              f"{_where(progress)} ({tail})")
            message = json.loads(line)
            if message.get("id") != job_id:
                continue
            if "result" in message:
                return message["result"]
            progress = message

    def _over_memory(self) -> bool:
        return self.process is not None and 0 < self.resident_limit < resident_bytes(self.process.pid)

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
            for stream in (self.process.stdin, self.process.stdout):
                try:
                    if stream:
                        stream.close()
                except OSError:
                    pass
        self.process = None
        if self._directory is not None:
            self._directory.cleanup()
            self._directory = None


def _where(progress: dict) -> str:
    if not progress:
        return ""
    return f" the {progress.get('progress')} snippet on binding `{progress.get('binding')}`"


def _error(message: str) -> dict:
    return {"verdict": "SKIPPED", "reason": None, "error": message}


def _timed_out(progress: dict, timeout: float) -> dict:
    if progress.get("progress") == "fixed" and progress.get("original_ok"):
        return {"verdict": "FAIL", "error": None, "failures": [{
            "binding": progress.get("binding"), "why": f"the fixed snippet did not finish within {timeout:g} s",
            "original": "finished", "fixed": "timed out"}],
            "reason": f"the fixed snippet did not finish within {timeout:g} s where the original did "
                      f"(binding `{progress.get('binding')}`)"}
    return _error(f"timed out after {timeout:g} s:{_where(progress) or ' before the first binding'} did not "
                  f"finish (the worker was restarted)")


class WorkerPool:
    """Worker subprocesses shared by every job of a run; use as a context manager or call close()."""

    def __init__(self, workers: Optional[int] = None, timeout: float = DEFAULT_TIMEOUT, device: str = "auto",
                 memory_bytes: int = DEFAULT_MEMORY_BYTES) -> None:
        self.size = workers or default_workers()
        self.timeout = timeout
        self.device = device
        self.memory_bytes = memory_bytes
        self._idle: List[_Worker] = []
        self._lock = threading.Lock()
        self._hello: Dict[str, str] = {}
        self._next_id = 0

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _worker(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive:
                    return worker
        worker = _Worker(self.device, self.memory_bytes)
        worker.start()
        with self._lock:
            self._hello = self._hello or worker.hello
        return worker

    def _release(self, worker: _Worker) -> None:
        if worker.alive:
            with self._lock:
                self._idle.append(worker)

    def info(self) -> Dict[str, str]:
        """The workers' versions and mode ("cuda" or "emulated"); starts a worker if none ran yet."""
        if not self._hello:
            self._release(self._worker())
        return dict(self._hello)

    def run(self, jobs: List[dict], on_result: Optional[Callable[[int, dict], None]] = None,
            timeout: Optional[float] = None) -> List[dict]:
        """Results in the order of `jobs` (each under `timeout`, default the pool's). Raises VerifierUnavailable
        if no worker can start."""
        limit = timeout if timeout is not None else self.timeout
        results: List[Optional[dict]] = [None] * len(jobs)
        pending: "queue.Queue[int]" = queue.Queue()
        for index in range(len(jobs)):
            pending.put(index)
        failures: List[BaseException] = []

        def serve() -> None:
            worker: Optional[_Worker] = None
            try:
                while True:
                    try:
                        index = pending.get_nowait()
                    except queue.Empty:
                        return
                    if worker is None or not worker.alive:
                        worker = self._worker()
                    with self._lock:
                        self._next_id += 1
                        job_id = self._next_id
                    results[index] = worker.run(job_id, jobs[index], limit)
                    if on_result is not None:
                        on_result(index, results[index])
            except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
                failures.append(error)
            finally:
                if worker is not None:
                    self._release(worker)

        threads = [threading.Thread(target=serve, daemon=True) for _ in range(min(self.size, len(jobs)))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures and any(r is None for r in results):
            raise failures[0]
        return [r if r is not None else _error("not run") for r in results]

    def close(self) -> None:
        with self._lock:
            workers, self._idle = self._idle, []
        for worker in workers:
            worker.stop()
