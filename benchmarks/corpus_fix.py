"""Check and fix the whole benchmark corpus through the CLI, then check what the fixes wrote.

    python benchmarks/corpus_fix.py            # after benchmarks/run.py (or corpus.py) built the corpus

1. `tensorlint check --no-cache` over the corpus: counts findings and error lines by kind.
2. A copy of the corpus, `tensorlint fix --unsafe-fixes` over it (every fix tensorlint has), counting
   fixed and remaining problems, refused fixes (`cannot fix`, with their reasons) and crashes
   (`internal error`).
3. Every file the fix changed must compile with this Python, and differ from the original only where
   a fix applies (checked by the fixer's own AST comparison; here independently: same number of
   top-level statements, and the fixed file's `ast.dump` differs from the original's).
4. `tensorlint fix` again over the fixed copy: it must change nothing (idempotence, checked).

Prints one JSON summary (also written to benchmarks/.results/corpus_fix.json).
"""
from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / ".corpus" / "src"
RESULTS = HERE / ".results"
ERROR = re.compile(r"^tensorlint: error: (?P<path>[^:]+)(?::\d+:\d+)?: (?P<kind>cannot parse|cannot fix|internal error"
                   r"|not valid UTF-8|cannot check|[a-z ]+?)(?::|$)")
FINDING = re.compile(r":\d+:\d+: (TL\d{3}) ")
SUMMARY = re.compile(r"^Fixed (\d+) problems? in (\d+) files?")


def run(command, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd)


def errors(stderr: str) -> Counter:
    kinds = Counter()
    for line in stderr.splitlines():
        match = ERROR.match(line)
        kinds[match.group("kind") if match else "other: " + line[:80]] += 1
    return kinds


def python_files(root: Path):
    return sorted(p for p in root.rglob("*.py") if ".git" not in p.parts)


def main() -> int:
    if not SOURCE.is_dir():
        print("no corpus: run `python benchmarks/corpus.py` or `python benchmarks/run.py` first", file=sys.stderr)
        return 2
    jobs = str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    summary: dict = {"files": len(python_files(SOURCE))}
    checked = run([sys.executable, "-m", "tensorlint", "check", "--no-cache", "-j", jobs, str(SOURCE)])
    summary["check"] = {"exit": checked.returncode, "findings": dict(Counter(FINDING.findall(checked.stdout))),
                        "errors": dict(errors(checked.stderr))}
    work = Path(tempfile.mkdtemp(prefix="tensorlint-corpus-fix-"))
    try:
        copy = work / "src"
        shutil.copytree(SOURCE, copy)
        (copy / ".git").mkdir()  # a work tree of its own: this repository's .gitignore does not apply
        originals = {p.relative_to(copy): p.read_bytes() for p in python_files(copy)}
        fixed = run([sys.executable, "-m", "tensorlint", "fix", "--unsafe-fixes", "-j", jobs, str(copy)])
        last = fixed.stdout.strip().splitlines()[-1] if fixed.stdout.strip() else ""
        match = SUMMARY.match(last)
        refused = Counter(line.split("cannot fix: ", 1)[1][:120] for line in fixed.stderr.splitlines()
                          if "cannot fix: " in line)
        changed = [p for p, data in originals.items() if (copy / p).read_bytes() != data]
        not_compiling, same_tree = [], []
        for relative in changed:
            before, after = originals[relative].decode("utf-8", "replace"), (copy / relative).read_text("utf-8")
            try:
                tree = ast.parse(after)
                compile(after, str(relative), "exec", dont_inherit=True)
            except (SyntaxError, ValueError) as error:
                not_compiling.append(f"{relative}: {error}")
                continue
            if ast.dump(tree) == ast.dump(ast.parse(before)):
                same_tree.append(str(relative))  # a change the AST cannot see: only whitespace/comments moved
        again = run([sys.executable, "-m", "tensorlint", "fix", "--unsafe-fixes", "-j", jobs, str(copy)])
        again_last = again.stdout.strip().splitlines()[-1] if again.stdout.strip() else ""
        summary["fix"] = {
            "exit": fixed.returncode, "summary": last,
            "fixed": int(match.group(1)) if match else 0, "files_changed": len(changed),
            "remaining": dict(Counter(FINDING.findall(fixed.stdout))),
            "errors": dict(errors(fixed.stderr)), "refused": dict(refused.most_common()),
            "changed_files_not_compiling": not_compiling, "changed_files_with_identical_ast": same_tree,
            "second_run": again_last, "second_run_errors": dict(errors(again.stderr)),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(summary, indent=2)
    (RESULTS / "corpus_fix.json").write_text(text + "\n")
    print(text)
    crashes = summary["check"]["errors"].get("internal error", 0) + summary["fix"]["errors"].get("internal error", 0)
    bad = crashes or summary["fix"]["changed_files_not_compiling"] or not summary["fix"]["second_run"].startswith(
        ("Fixed 0 problems", "All checks passed!"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
