"""The worker pool: one job run over many paths, by up to `jobs` processes, results in the order of the paths."""
from __future__ import annotations

import os
import signal
import sys
from typing import Iterator, Optional, Sequence

from tensorlint.config.reader import chosen_config, use_config_file
from tensorlint.run.cache import tool_fingerprint
from tensorlint.run.inputs import STDIN

_WORKER_JOB = None  # the job of this worker process


def _start_worker(job, config_file: Optional[str]) -> None:
    global _WORKER_JOB
    _WORKER_JOB = job
    if config_file is not None:  # --config: a spawned worker starts without the parent's choice
        use_config_file(config_file)
    # Ctrl-C is the parent's to handle (it stops the pool); a worker would print a traceback each.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_in_worker(path: str):
    return _WORKER_JOB.run(path)


def run_files(job, paths: Sequence[str], jobs: int) -> Iterator:
    """`job.run(path)` for each path, in the order of `paths`, computed by up to `jobs` processes."""
    jobs = min(jobs, len(paths))
    if jobs <= 1 or STDIN in paths:  # stdin belongs to this process
        yield from (job.run(path) for path in paths)
        return
    if getattr(job, "cache_directory", None) is not None:
        tool_fingerprint()  # computed once here, inherited by forked workers
    # Small chunks keep both workers busy to the end; big ones save round trips on many small files.
    chunksize = max(1, min(16, len(paths) // (jobs * 16)))
    import multiprocessing  # ~10 ms of start-up a one-file or cached run does without
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    chosen = chosen_config()
    with context.Pool(jobs, initializer=_start_worker, initargs=(job, chosen.path if chosen else None)) as pool:
        yield from pool.imap(_run_in_worker, paths, chunksize)


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may use
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1

