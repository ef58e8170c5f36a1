"""Time `tensorlint check` against the libcst parse floor over a directory of real code.

    python benchmarks/bench_check.py PATH [PATH...]

Reports files, lines, the parse floor (libcst parse of every file), the full check, and how many
files the textual pre-check skipped. Run by hand; numbers go to docs/performance.md.
"""
from __future__ import annotations

import pathlib
import sys
import time
import tracemalloc

import libcst as cst

from tensorlint.engine import enabled_codes, lint
from tensorlint.rules import FAMILIES


def python_files(paths):
    for path in map(pathlib.Path, paths):
        yield from (sorted(path.rglob("*.py")) if path.is_dir() else [path])


def main(argv):
    sources = []
    for file in python_files(argv):
        try:
            sources.append(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
    lines = sum(s.count("\n") for s in sources)
    codes = enabled_codes()

    start = time.perf_counter()
    parsed = 0
    for source in sources:
        try:
            cst.parse_module(source)
            parsed += 1
        except cst.ParserSyntaxError:
            pass
    parse_floor = time.perf_counter() - start

    triggers = [t for family in FAMILIES for t in family.triggers]
    candidates = sum(1 for s in sources if any(t in s for t in triggers))

    def check_all():
        found = 0
        for source in sources:
            try:
                found += len(lint(source, codes))
            except cst.ParserSyntaxError:
                pass
        return found

    start = time.perf_counter()
    findings = check_all()
    check = time.perf_counter() - start
    tracemalloc.start()
    check_all()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    print(f"files            {len(sources)} ({candidates} pass the textual pre-check)")
    print(f"lines            {lines}")
    print(f"parse floor      {parse_floor:.2f} s  ({lines / parse_floor:,.0f} lines/s, every file parsed)")
    print(f"check            {check:.2f} s  ({lines / check:,.0f} lines/s), {findings} diagnostics")
    print(f"check/parse      {check / parse_floor:.2f}x")
    print(f"peak traced mem  {peak / 2**20:.1f} MiB (tracemalloc, second run)")


if __name__ == "__main__":
    main(sys.argv[1:] or ["."])
