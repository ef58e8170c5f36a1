"""tensorlint against TorchFix, flake8 and the parse floors, on a corpus of real PyTorch projects.

    python benchmarks/run.py                  # everything, one run (about 47 minutes on 2 cores)
    python benchmarks/run.py --only floors,tensorlint
    python benchmarks/run.py --only tensorlint,flake8 --baseline /tmp/tl-bd664a6 --baseline-label bd664a6

Builds the corpus (benchmarks/corpus.py), makes two virtual environments of its own
(`benchmarks/.venv-torchfix`: TorchFix with its libcst; `benchmarks/.venv-flake8`: bare flake8 with the
same flake8, pyflakes and pycodestyle as this environment, without tensorlint's plugin), then times
every tool as a child process: wall time, CPU time (user + system, children included) and peak RSS of
the largest process (`os.wait4`). Writes `benchmarks/.results/results.json` and prints the table that
docs/performance.md shows. `-jN` below is N processes; N = the cores this process may use.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Dict, List, Optional

import corpus

HERE = Path(__file__).resolve().parent
RESULTS = HERE / ".results"
TORCHFIX_VENV = HERE / ".venv-torchfix"
FLAKE8_VENV = HERE / ".venv-flake8"
# TorchFix 0.7.0 needs libcst < 1.6; installed without dependencies so that nothing pulls in torch.
TORCHFIX_PACKAGES = ("TorchFix==0.7.0", "libcst==1.5.1", "PyYAML==6.0.2", "flake8==7.1.1", "pyflakes==3.2.0",
                     "pycodestyle==2.12.1", "mccabe==0.7.0")
GROUPS = ("floors", "tensorlint", "fix", "scaling", "files", "flake8", "torchfix", "prescreen")
SETS = ("all", "half", "quarter", "sixteenth")
FINDING = re.compile(r":\d+:\d+: (TL\d{3}) ")


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def measure(name: str, subset: str, command: List[str], env: Optional[Dict[str, str]] = None) -> dict:
    """Run `command`; its wall time, CPU time and the peak RSS of its largest process."""
    RESULTS.mkdir(exist_ok=True)
    out_path = RESULTS / (re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + ".out")
    with open(out_path, "wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    result = {"name": name, "set": subset, "command": " ".join(command), "wall_s": round(wall, 2),
              "cpu_s": round(usage.ru_utime + usage.ru_stime, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
              "exit": process.returncode, "output": str(out_path)}
    print(f"  {name:34} {wall:8.2f} s wall {result['cpu_s']:8.2f} s cpu {result['peak_rss_mb']:7.1f} MB"
          f"  exit {process.returncode}", flush=True)
    return result


def venv(path: Path, packages: List[str]) -> Path:
    """A virtual environment with exactly `packages` (installed once, without dependencies)."""
    marker = path / "installed.txt"
    wanted = "\n".join(packages)
    if not (marker.is_file() and marker.read_text() == wanted):
        shutil.rmtree(path, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(path / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--no-deps", *packages], check=True)
        marker.write_text(wanted)
    return path / "bin"


def corpus_size(directory: Path) -> dict:
    files = corpus.python_files(directory)
    return {"files": len(files), "lines": sum(f.read_bytes().count(b"\n") for f in files),
            "bytes": sum(f.stat().st_size for f in files)}


def findings(result: dict) -> Counter:
    text = Path(result["output"]).read_text(errors="replace")
    return Counter(FINDING.findall(text))


def tensorlint(name: str, subset: str, directory: Path, jobs: int, cache: Optional[Path],
               prescreen: bool = True, per_file: bool = False, baseline: Optional[Path] = None) -> dict:
    """`tensorlint check`: a project run (the default), each file alone (`per_file`), or the check of another
    tensorlint tree (`baseline`, imported instead of this one; its own default, whatever that was)."""
    command = [sys.executable, "-m", "tensorlint", "check", "-j", str(jobs), str(directory)]
    if per_file:
        command.insert(4, "--no-project")
    env = with_tree(baseline)
    env["TENSORLINT_PRESCREEN"] = "1" if prescreen else "0"
    if cache is None:
        command.insert(4, "--no-cache")
    else:
        env["TENSORLINT_CACHE_DIR"] = str(cache)
    return measure(name, subset, command, env)


def with_tree(baseline: Optional[Path]) -> Dict[str, str]:
    """The environment of a child that imports tensorlint from `baseline` (flake8 finds the plugin by its
    entry point, which names the module, so the same path change reaches flake8 too)."""
    env = dict(os.environ)
    if baseline is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(baseline), env.get("PYTHONPATH", "")]))
    return env


def warm(name: str, subset: str, directory: Path, jobs: int, cache: Path) -> dict:
    """A run that finds every result cached. If the run before it stored entries under another fingerprint
    (tensorlint's source was edited meanwhile, as in a working tree others are editing), this one stores
    new entries: then it was cold after all, and the next one is measured instead."""
    for _ in range(3):
        before = entries(cache)
        result = tensorlint(name, subset, directory, jobs, cache)
        if entries(cache) == before:
            return result
        print(f"  ({name} stored new entries: tensorlint changed since the cold run; measuring again)", flush=True)
    return result


def entries(cache: Path) -> int:
    return sum(1 for _ in cache.glob("v2/*/*.json"))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated groups of {GROUPS}")
    parser.add_argument("--flake8-set", default="half", choices=SETS,
                        help="corpus subset for the flake8 pair (default: half, to fit the run in ~20 minutes)")
    parser.add_argument("--torchfix-set", default="sixteenth", choices=SETS,
                        help="corpus subset for TorchFix and the tensorlint run it is compared with (default: "
                             "sixteenth: TorchFix needs over 8 minutes for a quarter on 2 cores)")
    parser.add_argument("--table", action="store_true",
                        help="print the tables of the last run again (from benchmarks/.results/results.json)")
    parser.add_argument("--set", default="all", choices=SETS,
                        help="corpus subset for the main runs (default: all; the others are for trying the script)")
    parser.add_argument("--baseline", type=Path, metavar="TREE",
                        help="another tensorlint source tree (e.g. `git archive REV | tar -x -C TREE`) whose check and "
                             "flake8 plugin are timed beside this one's, for the targets stated against an earlier "
                             "version")
    parser.add_argument("--baseline-label", default="the baseline", help="what to call the baseline in the tables")
    args = parser.parse_args(argv)
    if args.baseline is not None and not (args.baseline / "tensorlint" / "__init__.py").is_file():
        parser.error(f"--baseline {args.baseline}: no tensorlint package there")
    if args.table:
        print(table(json.loads((RESULTS / "results.json").read_text())))
        return 0
    groups = set(args.only.split(","))
    jobs = cores()
    print("building the corpus", flush=True)
    sets = corpus.build()
    sizes = {name: corpus_size(path) for name, path in sets.items()}
    main_set = args.set
    everything = sets[main_set]
    runs: Dict[str, dict] = {}
    report = {"machine": machine(), "jobs": jobs, "sizes": sizes, "runs": runs, "set": main_set,
              "projects": [p.requirement for p in corpus.PROJECTS],
              "baseline": args.baseline_label if args.baseline is not None else None}
    cache_root = Path(tempfile.mkdtemp(prefix="tensorlint-bench-cache-"))
    python = sys.executable
    floors = str(HERE / "floors.py")
    try:
        if "floors" in groups:
            print("floors (one process)", flush=True)
            for mode, label in (("read", "read+regex floor"), ("ast", "ast.parse floor"),
                                ("prescreen", "ast.parse + prescreen floor"), ("libcst", "libcst parse floor")):
                runs[label] = measure(label, main_set, [python, floors, mode, str(everything)])
        if "tensorlint" in groups:
            print("tensorlint check", flush=True)
            for count in sorted({1, jobs}):
                cache = cache_root / f"j{count}"
                name = f"tensorlint -j{count} cold"
                runs[name] = tensorlint(name, main_set, everything, count, cache)
                runs[f"tensorlint -j{count} warm"] = warm(f"tensorlint -j{count} warm", main_set, everything,
                                                         count, cache)
            name = f"tensorlint -j{jobs} no cache"
            runs[name] = tensorlint(name, main_set, everything, jobs, None)
            name = f"tensorlint -j{jobs} no cache, no prescreen"
            runs[name] = tensorlint(name, main_set, everything, jobs, None, prescreen=False)
            for count in sorted({1, jobs}):
                name = f"tensorlint -j{count} no cache, --no-project"
                runs[name] = tensorlint(name, main_set, everything, count, None, per_file=True)
                if args.baseline is not None:
                    name = f"baseline -j{count} cold"
                    runs[name] = tensorlint(name, main_set, everything, count, cache_root / f"baseline-j{count}",
                                            baseline=args.baseline)
            report["findings"] = dict(sorted(findings(runs[f"tensorlint -j{jobs} cold"]).items()))
        if "fix" in groups:
            # `fix` goes one file at a time (each with the summaries of what it imports) and writes no cache;
            # `--diff` leaves the corpus as it is
            print("tensorlint fix --diff --unsafe-fixes", flush=True)
            for label, tree in (("tensorlint", None), ("baseline", args.baseline)):
                if label == "baseline" and tree is None:
                    continue
                name = f"{label} fix -j{jobs}"
                runs[name] = measure(name, main_set, [python, "-m", "tensorlint", "fix", "--diff", "--unsafe-fixes",
                                                      "-j", str(jobs), str(everything)], with_tree(tree))
        if "scaling" in groups:
            print(f"scaling (tensorlint -j{jobs}, no cache)", flush=True)
            for subset in ("quarter", "half"):
                if subset != main_set:
                    name = f"tensorlint -j{jobs} {subset}"
                    runs[name] = tensorlint(name, subset, sets[subset], jobs, None)
        if "files" in groups:
            print("per-file times", flush=True)
            result = measure("per-file times", main_set, [python, floors, "files", str(everything)])
            result.update(json.loads(Path(result["output"]).read_text().splitlines()[-1]))
            runs["per-file times"] = result
        if "flake8" in groups:
            print(f"flake8 on the {args.flake8_set} set", flush=True)
            bare = venv(FLAKE8_VENV, [f"{name}=={metadata.version(name)}"
                                      for name in ("flake8", "pyflakes", "pycodestyle", "mccabe")])
            target = str(sets[args.flake8_set])
            runs["flake8 bare"] = measure("flake8 bare", args.flake8_set,
                                          [str(bare / "flake8"), "--isolated", "-j", str(jobs), target])
            flake8_tl = [python, "-m", "flake8", "--isolated", "--select", "TL", "-j", str(jobs), target]
            # The plugin caches imported modules' summaries in the cache directory: an empty one, so it runs cold.
            env = with_tree(None)
            env["TENSORLINT_CACHE_DIR"] = str(cache_root / "flake8")
            runs["flake8 --select TL"] = measure("flake8 --select TL", args.flake8_set, flake8_tl, env)
            if args.baseline is not None:
                env = with_tree(args.baseline)
                env["TENSORLINT_CACHE_DIR"] = str(cache_root / "flake8-baseline")
                runs["flake8 --select TL, baseline"] = measure("flake8 --select TL, baseline", args.flake8_set,
                                                               flake8_tl, env)
            report["flake8_set"] = args.flake8_set
        if "torchfix" in groups:
            print(f"TorchFix on the {args.torchfix_set} set", flush=True)
            bin_ = venv(TORCHFIX_VENV, list(TORCHFIX_PACKAGES))
            target = sets[args.torchfix_set]
            runs["torchfix"] = measure("torchfix", args.torchfix_set,
                                       [str(bin_ / "torchfix"), "--jobs", str(jobs), str(target)])
            name = f"tensorlint -j{jobs} {args.torchfix_set}" if args.torchfix_set != main_set \
                else f"tensorlint -j{jobs} no cache"
            if name not in runs:
                runs[name] = tensorlint(name, args.torchfix_set, target, jobs, None)
            report["torchfix_set"] = args.torchfix_set
        if "prescreen" in groups:
            print("findings with and without the prescreen, file by file (prescreen_check.py)", flush=True)
            results = RESULTS / "prescreen.json"
            runs["prescreen check"] = measure("prescreen check", main_set, [
                python, str(HERE / "prescreen_check.py"), str(everything), "-j", str(jobs), "--results", str(results)])
            report["prescreen"] = json.loads(results.read_text())
    finally:
        shutil.rmtree(cache_root, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    print()
    print(table(report))
    return 0


def machine() -> dict:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu or platform.processor(), "cores": cores(), "python": platform.python_version(),
            "platform": platform.platform(),
            "versions": {name: metadata.version(name) for name in ("tensorlint", "libcst", "flake8")}}


def table(report: dict) -> str:
    sizes, runs, jobs, main_set = report["sizes"], report["runs"], report["jobs"], report["set"]
    floor = runs.get("libcst parse floor", {}).get("wall_s")
    torchfix = runs.get("torchfix")
    rows = ["| run | set | files | lines | wall s | CPU s | lines/s | peak RSS MB | ÷ libcst parse | TorchFix ÷ |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, run in runs.items():
        if name in ("per-file times", "prescreen check"):
            continue
        size, wall = sizes[run["set"]], run["wall_s"]
        versus_floor = f"{wall / floor:.2f}" if floor and run["set"] == main_set else ""
        versus_torchfix = f"{torchfix['wall_s'] / wall:.1f}×" if run is torchfix_pair(report) else ""
        rows.append(f"| {name} | {run['set']} | {size['files']:,} | {size['lines']:,} | {wall:.2f} | "
                    f"{run['cpu_s']:.2f} | {size['lines'] / wall:,.0f} | {run['peak_rss_mb']:.0f} | "
                    f"{versus_floor} | {versus_torchfix} |")
    notes = []
    if "flake8 bare" in runs and "flake8 --select TL" in runs:
        bare, with_tl = runs["flake8 bare"]["wall_s"], runs["flake8 --select TL"]["wall_s"]
        notes.append(f"flake8 --select TL adds {100 * (with_tl / bare - 1):.0f} % to bare flake8 "
                     f"({with_tl:.2f} s vs {bare:.2f} s wall, {runs['flake8 bare']['set']} set)")
    scaling = [(sizes[run["set"]]["lines"], run["wall_s"]) for name, run in runs.items()
               if name.startswith(f"tensorlint -j{jobs} ") and "prescreen" not in name and "--no-project" not in name
               and ("no cache" in name or run["set"] != main_set)]
    if len(scaling) >= 2:
        notes.append(f"scaling (tensorlint -j{jobs}, no cache): " + ", ".join(
            f"{lines:,} lines {wall:.2f} s ({lines / wall:,.0f} lines/s)" for lines, wall in sorted(scaling)))
    files = runs.get("per-file times")
    if files:
        slowest = files["slowest"][0]
        notes.append(f"slowest file: {slowest['path']} ({slowest['lines']:,} lines) {slowest['seconds']:.2f} s; "
                     f"files over 2 s: {files['over_2s']}")
    if report.get("findings"):
        notes.append("findings per rule: " + ", ".join(f"{code} {count}" for code, count in report["findings"].items()))
    sections = rows + [""] + [f"- {note}" for note in notes]
    if report.get("prescreen"):
        sections += ["", passing_table(report["prescreen"])]
    return "\n".join(sections + ["", targets_table(report)])


def passing_table(prescreen: dict) -> str:
    """How many files and lines each family's condition lets through (the libcst parse sees "any")."""
    files, lines = prescreen["files"], prescreen["lines"]
    rows = ["| prescreen passes | files | share | lines | share |", "|---|---:|---:|---:|---:|"]
    for family, (count, family_lines) in prescreen["passing"].items():
        rows.append(f"| {family} | {count:,} | {100 * count / files:.1f} % | {family_lines:,} | "
                    f"{100 * family_lines / lines:.1f} % |")
    return "\n".join(rows)


def targets_table(report: dict) -> str:
    """Every target of the performance issue, as a ratio measured in this run, and whether it is met."""
    runs, jobs, main_set = report["runs"], report["jobs"], report["set"]
    rows = ["| target | measured in this run | verdict |", "|---|---|---|"]

    def row(target: str, measured: str, met: Optional[bool]) -> None:
        verdict = "no target" if met is None else "met" if met else "**missed**"
        rows.append(f"| {target} | {measured} | {verdict} |")

    floor, single = runs.get("libcst parse floor"), runs.get("tensorlint -j1 cold")
    if floor and single:
        wall, cpu = single["wall_s"] / floor["wall_s"], single["cpu_s"] / floor["cpu_s"]
        row("`check -j1` ≤ 0.5× the libcst parse of every file", f"{wall:.2f}× wall, {cpu:.2f}× CPU ({main_set})",
            wall <= 0.5)
    # Issue 19's ceiling: the default check (a project run) against the per-file check of the baseline tree, both
    # cold into an empty cache; or, when no baseline was timed, without a cache against this tree's `--no-project`.
    for count in sorted({1, jobs}):
        default, reference, label = (runs.get(f"tensorlint -j{count} cold"), runs.get(f"baseline -j{count} cold"),
                                     report.get("baseline"))
        if reference is None:
            default, reference, label = (runs.get(f"tensorlint -j{count} no cache"),
                                         runs.get(f"tensorlint -j{count} no cache, --no-project"), "`--no-project`")
        if default and reference:
            wall, cpu = default["wall_s"] / reference["wall_s"], default["cpu_s"] / reference["cpu_s"]
            row(f"cold default check ≤ 1.3× the per-file check of {label} (-j{count})",
                f"{wall:.2f}× wall, {cpu:.2f}× CPU ({main_set})", cpu <= 1.3)
    torchfix, paired = runs.get("torchfix"), torchfix_pair(report)
    if torchfix and paired:
        ratio, cpu = torchfix["wall_s"] / paired["wall_s"], torchfix["cpu_s"] / paired["cpu_s"]
        row("≥ 30× faster than TorchFix on the same files",
            f"{ratio:.1f}× wall, {cpu:.1f}× CPU ({torchfix['set']} set, -j{jobs})", ratio >= 30)
    if "flake8 bare" in runs and "flake8 --select TL" in runs:
        bare, with_tl = runs["flake8 bare"], runs["flake8 --select TL"]
        added, cpu = with_tl["wall_s"] / bare["wall_s"] - 1, with_tl["cpu_s"] / bare["cpu_s"] - 1
        row("`flake8 --select TL` adds ≤ 50 % to bare flake8",
            f"+{100 * added:.0f} % wall, +{100 * cpu:.0f} % CPU ({bare['set']} set)", added <= 0.5)
    if "flake8 --select TL" in runs and "flake8 --select TL, baseline" in runs:
        now, before = runs["flake8 --select TL"], runs["flake8 --select TL, baseline"]
        wall, cpu = now["wall_s"] / before["wall_s"], now["cpu_s"] / before["cpu_s"]
        row(f"`flake8 --select TL` costs no more than with {report.get('baseline')}",
            f"{wall:.2f}× wall, {cpu:.2f}× CPU ({now['set']} set)", cpu <= 1.0)
    warm = runs.get(f"tensorlint -j{jobs} warm")
    if warm:
        where = "the full corpus" if main_set == "all" else f"the {main_set} set (the target is for the full corpus)"
        row(f"warm cache rerun ≤ 1 s on the full corpus at -j{jobs}", f"{warm['wall_s']:.2f} s on {where}",
            warm["wall_s"] <= 1 and main_set == "all")
    measured = [run for name, run in runs.items() if name.startswith("tensorlint")]
    if measured:
        peak = max(run["peak_rss_mb"] for run in measured)
        row("peak RSS ≤ 300 MB per worker", f"{peak:.0f} MB (largest process of any tensorlint run)", peak <= 300)
    same = identical_findings(report)
    if same is not None:
        row("findings identical to the run without the prescreen", same[1], same[0])
    return "\n".join(rows)


def torchfix_pair(report: dict) -> Optional[dict]:
    """The tensorlint run TorchFix is compared with: -jN, no cache, on TorchFix's set (as `main` runs it)."""
    runs, jobs = report["runs"], report["jobs"]
    torchfix = runs.get("torchfix")
    if torchfix is None:
        return None
    if torchfix["set"] == report["set"]:
        return runs.get(f"tensorlint -j{jobs} no cache")
    return runs.get(f"tensorlint -j{jobs} {torchfix['set']}")


def identical_findings(report: dict):
    """(identical?, how it was measured) from the CLI runs with and without the prescreen and prescreen_check.py."""
    runs, jobs = report["runs"], report["jobs"]
    evidence, identical = [], True
    with_it, without = runs.get(f"tensorlint -j{jobs} no cache"), runs.get(f"tensorlint -j{jobs} no cache, no prescreen")
    if with_it and without:
        lines = [sorted(line for line in Path(run["output"]).read_text(errors="replace").splitlines()
                        if FINDING.search(line)) for run in (with_it, without)]
        identical = identical and lines[0] == lines[1]
        evidence.append(f"CLI output {'identical' if lines[0] == lines[1] else 'differs'} ({len(lines[1]):,} findings)")
    checked = report.get("prescreen")
    if checked:
        identical = identical and not checked["differences"]
        evidence.append(f"prescreen_check.py: {len(checked['differences'])} of {checked['files']:,} files differ "
                        f"(every code, {checked['findings']:,} findings, step-loop audit included)")
    return (identical, "; ".join(evidence)) if evidence else None


if __name__ == "__main__":
    sys.exit(main())
