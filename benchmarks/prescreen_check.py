"""Proof that the `ast` prescreen keeps every finding: check files with and without it, compare.

    python benchmarks/prescreen_check.py                 # the whole benchmark corpus (~8 min of CPU)
    python benchmarks/prescreen_check.py DIR_OR_FILE ... [-j N]

Every code is enabled, with the default settings (NumPy 1.x still supported, so TL301 sees the most).
For each file the libcst tree is parsed once and linted twice: with the prescreen, and with
`prescreen=False` (every family on every file). The findings (positions, messages, fixes) must be
equal. A file libcst cannot parse must fail the same way with the prescreen, unless the prescreen
ruled out every family: then it is never parsed, as the CLI's own syntax check (Python's parser,
which accepted it) intends; such files are counted, not failed.

A second, stronger audit: every loop the analysis classifies as a step loop in a file that imports
torch (through `Semantic.loop_info`) must be in a file where the prescreen keeps TL4, finding or not.

Prints how many files and lines each family lets through, and every difference; writes
`benchmarks/.results/prescreen.json`; exits 1 on any difference. `tests/core/test_prescreen.py` runs the
same comparison on fixtures, rule cases and fuzz programs, and calls this on the corpus when it exists.
"""
from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import sys
import tokenize
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import libcst as cst  # noqa: E402

from corpus import SOURCES, python_files  # noqa: E402
from tensorlint.rules import prescreen  # noqa: E402
from tensorlint.analysis import semantic  # noqa: E402
from tensorlint.core.deep import parse_module  # noqa: E402
from tensorlint.core.engine import lint  # noqa: E402
from tensorlint.core.positions import NodePositions  # noqa: E402
from tensorlint.rules import ALL_RULES  # noqa: E402
from tensorlint.core.settings import DEFAULT  # noqa: E402

ALL_CODES = frozenset(rule.code for rule in ALL_RULES)
RESULTS = HERE / ".results" / "prescreen.json"


@dataclass
class Comparison:
    """One file: what the prescreen kept, and every way the two runs differ (empty: identical)."""
    kept: Sequence[str]                  # families the prescreen lets through ("TL1", ...); all when ast fails
    ast_parses: bool
    findings: int                        # without the prescreen
    differences: List[str] = field(default_factory=list)
    skipped_unparsable: bool = False     # libcst cannot parse it; the prescreen ruled everything out


def compare(source: str) -> Comparison:
    """Check `source` with and without the prescreen; describe any difference."""
    tree = prescreen.parse(source)
    excluded = prescreen.families_without_candidates(tree) if tree is not None else frozenset()
    kept = [family for family in prescreen.FAMILIES if family not in excluded]
    try:
        module = parse_module(source)
    except (cst.ParserSyntaxError, RecursionError):
        module = None  # both runs parse for themselves, and should fail alike
    with step_loops_recorded() as step_loops:
        full = _outcome(source, module, prescreen=False)
    screened = _outcome(source, module, prescreen=True)
    result = Comparison(kept, tree is not None, len(full) if isinstance(full, list) else 0)
    if isinstance(full, str) and screened == [] and not kept:
        result.skipped_unparsable = True
    elif full != screened:
        result.differences.append(_describe(full, screened))
    if step_loops and "TL4" in excluded:
        line = NodePositions(module).span(step_loops[0])[0] if module is not None else 0
        result.differences.append(f"line {line}: the analysis found a step loop, the prescreen ruled TL4 out")
    return result


def _outcome(source: str, module: Optional[cst.Module], prescreen: bool):
    """The diagnostics, or a string naming the error."""
    try:
        return lint(source, ALL_CODES, module, DEFAULT, prescreen=prescreen)
    except (cst.ParserSyntaxError, RecursionError) as error:
        return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"


def _describe(full, screened) -> str:
    if isinstance(full, str) or isinstance(screened, str):
        return f"without the prescreen: {full if isinstance(full, str) else len(full)} findings; " \
               f"with it: {screened if isinstance(screened, str) else len(screened)} findings"
    lost = [d for d in full if d not in screened]
    gained = [d for d in screened if d not in full]
    shown = "; ".join(f"{'lost' if d in lost else 'gained'} {d.line}:{d.col + 1} {d.code}" for d in (lost + gained)[:5])
    return f"{len(lost)} findings lost, {len(gained)} gained: {shown}"


@contextmanager
def step_loops_recorded() -> Iterator[List[cst.CSTNode]]:
    """The loops `Semantic.loop_info` calls step loops while torch is imported, during the block.

    If the analysis no longer has `loop_info`, nothing is recorded and only findings are compared."""
    found: List[cst.CSTNode] = []
    original = getattr(semantic.Semantic, "loop_info", None)
    if original is None:
        yield found
        return

    def loop_info(self, node):
        info = original(self, node)
        if getattr(info, "is_step", False) and getattr(getattr(self, "imports", None), "imports_torch", True):
            found.append(node)
        return info

    semantic.Semantic.loop_info = loop_info
    try:
        yield found
    finally:
        semantic.Semantic.loop_info = original


def read(path: Path) -> str:
    """The file's text as tensorlint reads it (coding cookie or BOM honoured, newlines kept)."""
    raw = path.read_bytes()
    encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    return raw.decode(encoding, errors="replace")  # "utf-8-sig" drops the BOM


def _compare_file(path: str):
    source = read(Path(path))
    return path, source.count("\n"), compare(source)


def check(paths: Sequence[Path], jobs: int) -> dict:
    """Compare every file; the per-family shares and every difference."""
    names = [str(p) for p in paths]
    passing: Dict[str, List[int]] = {family: [0, 0] for family in (*prescreen.FAMILIES, "any")}
    report = {"files": 0, "lines": 0, "findings": 0, "ast_failures": 0, "skipped_unparsable": 0,
              "passing": passing, "differences": {}}
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        for path, lines, result in pool.imap(_compare_file, names, chunksize=4):
            report["files"] += 1
            report["lines"] += lines
            report["findings"] += result.findings
            report["ast_failures"] += not result.ast_parses
            report["skipped_unparsable"] += result.skipped_unparsable
            for family in (*result.kept, *(["any"] if result.kept else [])):
                passing[family][0] += 1
                passing[family][1] += lines
            if result.differences:
                report["differences"][path] = result.differences
                print(f"{path}: " + " | ".join(result.differences), flush=True)
    return report


def summary(report: dict) -> str:
    files, lines = report["files"], report["lines"]
    rows = [f"{report['files']:,} files, {lines:,} lines, {report['findings']:,} findings without the prescreen; "
            f"{len(report['differences'])} files differ; ast failed on {report['ast_failures']}; "
            f"{report['skipped_unparsable']} unparsable by libcst and ruled out", "",
            "| family | files passing | share | lines passing | share |", "|---|---:|---:|---:|---:|"]
    for family, (count, family_lines) in report["passing"].items():
        rows.append(f"| {family} | {count:,} | {100 * count / max(files, 1):.1f} % | {family_lines:,} | "
                    f"{100 * family_lines / max(lines, 1):.1f} % |")
    return "\n".join(rows)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[SOURCES], help="files or directories (default: the corpus)")
    parser.add_argument("-j", "--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write the JSON report")
    args = parser.parse_args(argv)
    files = [f for p in args.paths for f in (python_files(p) if p.is_dir() else [p])]
    if not files:
        print(f"no Python files under {', '.join(map(str, args.paths))} (build the corpus: python benchmarks/corpus.py)")
        return 2
    report = check(files, args.jobs)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(report, indent=2) + "\n")
    print(summary(report))
    return 1 if report["differences"] else 0


if __name__ == "__main__":
    sys.exit(main())
