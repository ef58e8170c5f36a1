"""How long `tensorlint` takes to start: `--version`, and a `check` of one file the cache answers.

    python benchmarks/startup.py [--runs N] [--json]

Each command runs N times (default 30) as a child process, timed by wall clock from spawn to exit and by
the CPU time (user + system) the child used; the table gives medians and the fastest wall time, in
milliseconds. The bare interpreter (`python -c pass`) is measured the same way, so the cost of tensorlint
itself is the difference; on a busy machine the CPU column is the steadier one. The one file is written
to a temporary folder with its own result cache, checked once to warm the cache, then timed; a cold
check (`--no-cache`) is shown for comparison. tensorlint runs from the repository this script sits in
(its folder is put first on PYTHONPATH), with its bytecode cached in the temporary folder
(PYTHONPYCACHEPREFIX) as an installed package has it, even where PYTHONDONTWRITEBYTECODE is set.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]
HAZARD = "import torch\n\n\ndef predict(model, x):\n    return model(x).numpy()\n"


def timed(command: Sequence[str], env: Dict[str, str], cwd: str, runs: int) -> List[Tuple[float, float]]:
    """(wall seconds, CPU seconds) of each of `runs` runs of `command` (stdout and stderr discarded)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        child = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, _, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = 0  # reaped by wait4 above
        times.append((wall, usage.ru_utime + usage.ru_stime))
    return times


def measure(runs: int) -> Dict[str, Dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="tensorlint-startup-") as folder:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               "TENSORLINT_CACHE_DIR": os.path.join(folder, "cache"),
               "PYTHONPYCACHEPREFIX": os.path.join(folder, "bytecode")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        Path(folder, "predict.py").write_text(HAZARD, encoding="utf-8")
        python = [sys.executable]
        check = python + ["-m", "tensorlint", "check", "predict.py"]
        for warm in (check, check + ["--no-cache"]):  # the result cache, and every module's bytecode
            subprocess.run(warm, env=env, cwd=folder, capture_output=True, check=False)
        commands = {
            "python -c pass": python + ["-c", "pass"],
            "tensorlint --version": python + ["-m", "tensorlint", "--version"],
            "tensorlint check predict.py (warm cache)": check,
            "tensorlint check predict.py --no-cache": check + ["--no-cache"],
        }
        results = {}
        for name, command in commands.items():
            times = timed(command, env, folder, runs)
            walls, cpus = [wall for wall, _ in times], [cpu for _, cpu in times]
            results[name] = {"median_ms": 1000 * statistics.median(walls), "min_ms": 1000 * min(walls),
                             "cpu_median_ms": 1000 * statistics.median(cpus)}
        return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="runs per command (default 30)")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args(argv)
    results = measure(args.runs)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    base = results["python -c pass"]
    print(f"{args.runs} runs each, {sys.executable} ({sys.version.split()[0]}), load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print("| Command | wall, median | wall, fastest | CPU, median | wall over `python -c pass` | "
          "CPU over `python -c pass` |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, row in results.items():
        print(f"| `{name}` | {row['median_ms']:.0f} ms | {row['min_ms']:.0f} ms | {row['cpu_median_ms']:.0f} ms | "
              f"{row['median_ms'] - base['median_ms']:+.0f} ms | {row['cpu_median_ms'] - base['cpu_median_ms']:+.0f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
