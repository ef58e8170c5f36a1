"""What `run.py` measures in a child process of its own (so each gets its own time and peak RSS).

    python benchmarks/floors.py read   DIR   # read every file and run one regex over it
    python benchmarks/floors.py ast    DIR   # ast.parse every file
    python benchmarks/floors.py libcst DIR   # libcst.parse_module every file (one process)
    python benchmarks/floors.py prescreen DIR   # ast.parse every file and run the prescreen on its tree
    python benchmarks/floors.py files  DIR   # check each file through the CLI's own path, timing each one

Each prints one JSON object on stdout.
"""
from __future__ import annotations

import ast
import json
import multiprocessing
import re
import sys
import time
from pathlib import Path

from corpus import python_files

TRIGGER = re.compile(r"numpy|torch|\.data\b")


def read_floor(files):
    matched = 0
    for path in files:
        matched += bool(TRIGGER.search(path.read_bytes().decode("utf-8", "replace")))
    return {"matched": matched}


def ast_floor(files):
    failed = 0
    for path in files:
        try:
            ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            failed += 1
    return {"failed": failed}


def libcst_floor(files):
    import libcst as cst
    failed = 0
    for path in files:
        try:
            cst.parse_module(path.read_bytes().decode("utf-8"))
        except (cst.ParserSyntaxError, UnicodeDecodeError):
            failed += 1
    return {"failed": failed}


def prescreen_floor(files):
    """What the prescreen costs before any libcst parse, and how many files it sends on."""
    from tensorlint.rules import prescreen
    passing = failed = 0
    for path in files:
        tree = prescreen.parse(path.read_bytes().decode("utf-8", "replace"))
        if tree is None:
            failed += 1
        else:
            passing += len(prescreen.families_without_candidates(tree)) < len(prescreen.FAMILIES)
    return {"passing": passing, "failed": failed}


def _time_one(path):
    from tensorlint.run.check import CheckJob, check_file
    job = CheckJob(None, None, None, None, None, None)
    start = time.perf_counter()
    result = check_file(job, str(path))
    return str(path), time.perf_counter() - start, sorted(d.code for d in result.diagnostics), result.error


def file_timings(files):
    """Every file checked as `tensorlint check --no-cache` checks it; the slowest and the findings per rule."""
    with multiprocessing.get_context("fork").Pool() as pool:
        results = pool.map(_time_one, files, chunksize=4)
    per_rule = {}
    for _, _, codes, _ in results:
        for code in codes:
            per_rule[code] = per_rule.get(code, 0) + 1
    slowest = sorted(results, key=lambda r: r[1], reverse=True)[:5]
    return {"slowest": [{"path": p, "seconds": round(s, 3), "lines": Path(p).read_bytes().count(b"\n")}
                        for p, s, _, _ in slowest],
            "over_2s": sum(1 for r in results if r[1] > 2), "errors": sum(1 for r in results if r[3]),
            "per_rule": dict(sorted(per_rule.items()))}


MODES = {"read": read_floor, "ast": ast_floor, "libcst": libcst_floor, "prescreen": prescreen_floor,
         "files": file_timings}


def main(argv):
    mode, directory = argv
    files = python_files(Path(directory))
    print(json.dumps(MODES[mode](files)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
