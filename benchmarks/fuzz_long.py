"""The long fuzz run: check and fix thousands of generated programs; count crashes and refused fixes.

    python benchmarks/fuzz_long.py [--programs 10000] [--minutes 10] [--jobs N] [--seed 0]

Programs come from `tests/core/test_fuzz.py`: mostly its torch-flavoured generator (seeded, so any program
can be regenerated from its seed), and a share from hypothesmith (Python's grammar, and libcst's node
types), each with torch/NumPy imports prepended so that every rule family runs. For each program:
`test_fuzz.exercise`: check it (a libcst ParserSyntaxError is allowed), fix it with --unsafe-fixes
(each pass goes through the AST safety check), parse the result, fix it again (must change nothing).
It stops at --programs or --minutes, whichever comes first, and prints counts; the failing programs
are written to benchmarks/.results/fuzz/. Results go to docs/reliability.md.
"""
from __future__ import annotations

import argparse
import collections
import multiprocessing
import os
import random
import re
import sys
import time
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Tuple


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "core"))

import test_fuzz  # noqa: E402  (the generator and the property live with the CI fuzz test)
from tensorlint.core.fixer import FixError  # noqa: E402

RESULTS = ROOT / "benchmarks" / ".results" / "fuzz"
HYPOTHESMITH_SHARE = 0.1  # of the programs, from each of from_grammar() and from_node()


def classify(source: str) -> Tuple[str, str]:
    """(outcome, detail): clean, found, fixed, syntax (libcst cannot read it), refused, wrong, crash."""
    try:
        return test_fuzz.exercise(source), ""
    except FixError as error:
        return "refused", _reason(str(error), source)
    except AssertionError as error:
        return "wrong", str(error).splitlines()[0] if str(error) else "assertion"
    except Exception as error:  # noqa: BLE001 - counting crashes is the point
        return "crash", f"{type(error).__name__}: {str(error)[:200]}"


def _reason(message: str, source: str) -> str:
    """What refused the fix and which rules' fixes were applied, without positions, to count causes."""
    codes = ",".join(sorted(set(re.findall(r"TL\d{3}", message))))
    kind = re.match(r"(fix produced invalid code \((?:parser|tokenizer) error|refused: [a-z ]+)", message)
    what = kind.group(1).replace(" (", ": ") if kind else message[:60]
    return f"{what} [{codes}]"


def _torch_chunk(seeds: List[int]) -> List[Tuple[int, str, str]]:
    return [(seed, *classify(test_fuzz.torch_program(random.Random(seed)))) for seed in seeds]


def run_torch(first_seed: int, count: int, deadline: float, jobs: int, tally, failures) -> int:
    end = first_seed + count
    chunks = [list(range(start, min(start + 50, end))) for start in range(first_seed, end, 50)]
    done = 0
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        for results in pool.imap_unordered(_torch_chunk, chunks):
            for seed, outcome, detail in results:
                done += 1
                _count(tally, failures, outcome, detail, f"torch seed {seed}",
                       lambda seed=seed: test_fuzz.torch_program(random.Random(seed)))
            if time.monotonic() > deadline:
                pool.terminate()
                break
    return done


class _OutOfTime(Exception):
    pass


def run_hypothesmith(name: str, count: int, deadline: float, tally, failures) -> int:
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings

    strategy = getattr(test_fuzz.hypothesmith, name)()
    done = [0]

    @settings(max_examples=count, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
              verbosity=Verbosity.quiet, suppress_health_check=list(HealthCheck))
    @given(source=strategy)
    def each(source: str) -> None:
        if time.monotonic() > deadline:
            raise _OutOfTime  # generation only (no shrinking), so this ends the run at once
        program = test_fuzz.PRELUDE + source
        outcome, detail = classify(program)
        done[0] += 1
        _count(tally, failures, outcome, detail, f"{name} #{done[0]}", lambda: program)

    try:
        each()
    except _OutOfTime:
        pass
    return done[0]


def _count(tally: Dict[str, collections.Counter], failures: List[Tuple[str, str, str]], outcome: str,
           detail: str, origin: str, source) -> None:
    tally["outcome"][outcome] += 1
    if outcome in ("refused", "crash", "wrong"):
        tally[outcome][detail] += 1
        if tally[outcome][detail] <= 3:
            failures.append((origin, f"{outcome}: {detail}", source()))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=10_000)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--seed", type=int, default=0, help="first seed of the torch generator")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", SyntaxWarning)  # hypothesmith compiles odd but valid programs

    started = time.monotonic()
    deadline = started + args.minutes * 60
    tally: Dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    failures: List[Tuple[str, str, str]] = []
    share = int(args.programs * HYPOTHESMITH_SHARE)
    # hypothesmith first, each with a fair part of the time; the torch generator gets the rest
    counts = {}
    for name in ("from_grammar", "from_node"):
        part = time.monotonic() + args.minutes * 60 * HYPOTHESMITH_SHARE
        counts[name] = run_hypothesmith(name, share, min(part, deadline), tally, failures)
    counts["torch_program"] = run_torch(args.seed, args.programs - sum(counts.values()), deadline, args.jobs,
                                        tally, failures)
    elapsed = time.monotonic() - started

    total = sum(counts.values())
    print(f"programs: {total} in {elapsed:.0f} s ({', '.join(f'{name} {n}' for name, n in counts.items())})")
    for outcome in ("clean", "found", "fixed", "syntax", "refused", "wrong", "crash"):
        print(f"  {outcome:15} {tally['outcome'][outcome]}")
    for outcome in ("refused", "wrong", "crash"):
        for detail, number in tally[outcome].most_common():
            print(f"  {outcome} x{number}: {detail}")
    if failures:
        RESULTS.mkdir(parents=True, exist_ok=True)
        for index, (origin, why, source) in enumerate(failures):
            (RESULTS / f"{index:03d}.py").write_text(f"# {origin}\n# {why}\n{source}", encoding="utf-8",
                                                     newline="")
        print(f"failing programs: {RESULTS}/")
    return 1 if tally["outcome"]["crash"] or tally["outcome"]["wrong"] else 0


if __name__ == "__main__":
    sys.exit(main())
