"""Are findings and fixes byte-identical between two versions of tensorlint? (the proof a refactor changed nothing)

    python benchmarks/identity.py snapshot DIR [--tensorlint CMD] [--trees corpus,realworld,precision]
    python benchmarks/identity.py compare DIR_BEFORE DIR_AFTER

`snapshot` runs, on each tree, `check --select TL` (every rule, opt-in ones included, as JSON) and
`fix --diff --unsafe-fixes --select TL` (every fix as a unified diff), both with `--no-cache`, and stores the
outputs. Run it with the old version on PYTHONPATH (`git archive REV | tar -x -C /tmp/old`, then
`--tensorlint "env PYTHONPATH=/tmp/old python -m tensorlint"`) and again with the new one; `compare` prints
the number of differing lines per output and exits 1 when any differ.
"""
from __future__ import annotations

import argparse
import difflib
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TREES = {"corpus": HERE / ".corpus" / "src", "corpus16": HERE / ".corpus" / "sets" / "sixteenth",
         "realworld": HERE / "realworld" / ".src",
         "precision": HERE / "precision" / ".src"}
RUNS = {"check.json": ["check", "--select", "TL", "--no-cache", "-q", "--exit-zero", "--format", "json"],
        "fix.diff": ["fix", "--diff", "--unsafe-fixes", "--select", "TL", "-q"]}  # `fix` never reads the cache


def snapshot(out: Path, tensorlint: str, trees: list, runs: list, jobs: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for tree in trees:
        root = TREES[tree]
        if not root.is_dir():
            sys.exit(f"identity: {root} is missing: build it first (see benchmarks/README.md)")
        for name in runs:
            arguments = RUNS[name]
            started = time.monotonic()
            # Relative paths from the tree's root, so that two snapshots name files alike.
            done = subprocess.run(shlex.split(tensorlint) + arguments + ["-j", str(jobs), "."], cwd=root,
                                  capture_output=True, text=True)
            (out / f"{tree}.{name}").write_text(done.stdout)
            (out / f"{tree}.{name}.stderr").write_text(done.stderr)
            print(f"{tree} {name}: exit {done.returncode}, {len(done.stdout.splitlines())} lines, "
                  f"{time.monotonic() - started:.0f} s", flush=True)


def compare(before: Path, after: Path) -> int:
    differing = 0
    for old in sorted(before.glob("*.*")):
        if old.name.endswith(".stderr"):
            continue
        new = after / old.name
        if not new.exists():
            print(f"{old.name}: missing in {after}")
            differing += 1
            continue
        changed = [line for line in difflib.unified_diff(old.read_text().splitlines(), new.read_text().splitlines(),
                                                         lineterm="", n=0)
                   if line[:1] in "+-" and not line.startswith(("+++", "---"))]
        print(f"{old.name}: {len(old.read_text().splitlines())} lines, {len(changed)} differing")
        differing += len(changed)
    print(f"total differing lines: {differing}")
    return 1 if differing else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    take = commands.add_parser("snapshot")
    take.add_argument("out", type=Path)
    take.add_argument("--tensorlint", default="python -m tensorlint")
    take.add_argument("--trees", default="corpus,realworld,precision")
    take.add_argument("--runs", default=",".join(RUNS))
    take.add_argument("-j", "--jobs", type=int, default=2)
    both = commands.add_parser("compare")
    both.add_argument("before", type=Path)
    both.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "snapshot":
        snapshot(args.out, args.tensorlint, args.trees.split(","), args.runs.split(","), args.jobs)
        return 0
    return compare(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
