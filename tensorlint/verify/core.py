"""The verifier's API: verify a file's fixes, or fix a file applying only fixes that verify.

Needs no torch in this process: the evaluation happens in worker subprocesses
(:mod:`tensorlint.verify.runner`). ``Verifier`` keeps its workers and a cache of verdicts (by the
job's content: the same snippet in two files, or in two fix passes, is evaluated once) until
``close()``.
"""
from __future__ import annotations

import atexit
import json
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence

from tensorlint.api import check_source, resolve_settings
from tensorlint.core.diagnostics import Diagnostic, Fix
from tensorlint.core.fixer import FixResult, fix_to_fixpoint
from tensorlint.core.settings import Settings
from tensorlint.verify.runner import DEFAULT_TIMEOUT, WorkerPool
from tensorlint.verify.sandbox import DEFAULT_MEMORY_BYTES
from tensorlint.verify.snippets import Case, cases_for_source, probes_for_source

UNSAFE_SKIP = "unsafe fix: pass --unsafe-fixes to verify it"
VERDICTS = ("PASS", "FAIL", "SKIPPED")
MEASURED = "MEASURED"   # the verdict of a probe (a TL4 finding without a fix): its syncs were measured


@dataclass
class FixVerdict:
    """The verdict on one fix (one or more diagnostics sharing it)."""
    path: str
    line: int                     # 1-based
    col: int                      # 1-based, as flake8 prints it
    codes: List[str]
    title: str
    safety: str
    verdict: str                  # PASS, FAIL, SKIPPED
    reason: Optional[str] = None  # why it FAILed / was SKIPPED
    error: Optional[str] = None   # a per-fix error (bad snippet, timeout, crash): the fix is SKIPPED
    kind: str = ""                # expression, statement, loop, numpy
    how: str = ""                 # how the snippet was evaluated
    original: str = ""
    fixed: str = ""
    grad_enabled: List[bool] = field(default_factory=list)
    bindings: Optional[Dict[str, int]] = None
    failures: List[dict] = field(default_factory=list)
    limitations: List[dict] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    syncs: Optional[dict] = None
    graphs_retained: Optional[dict] = None
    numpy: Optional[dict] = None
    look_alikes: Optional[dict] = None   # receivers assumed to be tensors, bound to non-tensors too
    diagnostics: List[Diagnostic] = field(default_factory=list, repr=False, compare=False)
    fix: Optional[Fix] = field(default=None, repr=False, compare=False)

    @property
    def is_probe(self) -> bool:
        return self.kind == "probe"

    @property
    def limited(self) -> bool:
        return bool(self.bindings and self.bindings.get("limitation"))

    def to_json(self) -> Dict[str, Any]:
        return {
            "path": self.path, "line": self.line, "col": self.col, "codes": self.codes, "title": self.title,
            "safety": self.safety, "verdict": self.verdict, "reason": self.reason, "error": self.error,
            "snippet": {"kind": self.kind, "how": self.how, "original": self.original, "fixed": self.fixed,
                        "grad_enabled": self.grad_enabled},
            "bindings": self.bindings, "failures": self.failures, "limitations": self.limitations,
            "notes": self.notes, "syncs": self.syncs, "graphs_retained": self.graphs_retained, "numpy": self.numpy,
            "look_alikes": self.look_alikes,
        }


def verdict_from(case: Case, result: Optional[dict], verdict: Optional[str] = None,
                 reason: Optional[str] = None) -> FixVerdict:
    first = case.first
    evaluated = (result or {}).get("evaluated") or (case.candidates[0].__dict__ if case.candidates else {})
    found = FixVerdict(
        path=case.path, line=first.line, col=first.col + 1, codes=case.codes,
        title=case.fix.title if case.fix is not None else first.message,
        safety=case.fix.safety.value if case.fix is not None else "",
        verdict=verdict or (result or {}).get("verdict", "SKIPPED"),
        reason=reason if reason is not None else (result or {}).get("reason"),
        error=(result or {}).get("error"), kind=case.kind, how=evaluated.get("how", ""),
        original=evaluated.get("original", ""), fixed=evaluated.get("fixed", ""), grad_enabled=case.grad_modes,
        diagnostics=list(case.diagnostics), fix=case.fix)
    if result:
        found.bindings = result.get("counts")
        found.failures = result.get("failures") or []
        found.limitations = result.get("limitations") or []
        found.syncs = result.get("syncs")
        found.graphs_retained = result.get("graphs_retained")
        found.numpy = result.get("numpy")
        found.look_alikes = result.get("look_alikes")
        found.notes = list(case.notes) + list(result.get("notes") or [])
    else:
        found.notes = list(case.notes)
    return found


@dataclass
class VerifiedFixResult(FixResult):
    """`FixResult` of `fix --verify`: only fixes that PASSed were applied.

    `verdicts`: every fix verified on the way (all passes); `rejected`: the fixes left unapplied
    because they did not PASS (their diagnostics are in `remaining`).
    """
    verdicts: List[FixVerdict] = field(default_factory=list)
    rejected: List[FixVerdict] = field(default_factory=list)


class Verifier:
    """Verifies fixes in worker subprocesses. `with Verifier() as v: v.verify_source(text, path)`."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, workers: Optional[int] = None, device: str = "auto",
                 unsafe_fixes: bool = False, strict_bfloat16: bool = False, iterations: int = 3,
                 memory_bytes: int = DEFAULT_MEMORY_BYTES, look_alikes: str = "unproven") -> None:
        self.pool = WorkerPool(workers, timeout, device, memory_bytes)
        self.look_alikes = look_alikes  # "unproven": unsafe fixes and Fix.assumes; "all": every fix
        self.unsafe_fixes = unsafe_fixes
        self.strict_bfloat16 = strict_bfloat16
        self.iterations = iterations
        self._cache: Dict[str, dict] = {}

    def __enter__(self) -> "Verifier":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.pool.close()

    def info(self) -> Dict[str, str]:
        """Versions and mode of the workers ("cuda": real GPU, "emulated": EmulatedCudaTensor)."""
        return self.pool.info()

    @property
    def started(self) -> bool:
        return bool(self.pool._hello)

    # -- verifying ----------------------------------------------------------------------------------
    def verify_cases(self, cases: Sequence[Case], unsafe_fixes: Optional[bool] = None,
                     strict_bfloat16: Optional[bool] = None, timeout: Optional[float] = None,
                     look_alikes: Optional[str] = None) -> List[FixVerdict]:
        """One verdict per case, in order. The options default to the Verifier's own."""
        unsafe = self.unsafe_fixes if unsafe_fixes is None else unsafe_fixes
        every_fix = (look_alikes or self.look_alikes) == "all"
        strict = self.strict_bfloat16 if strict_bfloat16 is None else strict_bfloat16
        verdicts: List[Optional[FixVerdict]] = [None] * len(cases)
        jobs: List[dict] = []
        keys: List[str] = []
        waiting: Dict[str, List[int]] = {}
        for index, case in enumerate(cases):
            if case.problem:
                verdicts[index] = verdict_from(case, None, "SKIPPED", case.problem)
                continue
            if case.fix is not None and not case.fix.is_safe and not unsafe:
                verdicts[index] = verdict_from(case, None, "SKIPPED", UNSAFE_SKIP)
                continue
            job = case.job(self.iterations, strict)
            if every_fix and case.fix is not None:
                job["unproven"] = True   # distrust the rule's proof: look-alikes for every fix
            key = json.dumps(job, sort_keys=True)
            if key in self._cache:
                verdicts[index] = verdict_from(case, self._cache[key])
                continue
            if key not in waiting:
                waiting[key] = []
                jobs.append(job)
                keys.append(key)
            waiting[key].append(index)
        if jobs:
            for key, result in zip(keys, self.pool.run(jobs, timeout=timeout)):
                if not (result.get("error") or "").startswith("timed out"):
                    self._cache[key] = result
                else:
                    waiting_result = result
                    for index in waiting[key]:
                        verdicts[index] = verdict_from(cases[index], waiting_result)
        for key, indexes in waiting.items():
            for index in indexes:
                if verdicts[index] is None:
                    verdicts[index] = verdict_from(cases[index], self._cache[key])
        return [v for v in verdicts if v is not None]

    def cases(self, source: str, path: Optional[str] = None, select: Optional[Iterable[str]] = None,
              ignore: Optional[Iterable[str]] = None, settings: Optional[Settings] = None,
              probes: bool = False) -> List[Case]:
        """The fixes `check_source` offers for `source`, as verification cases (raises SyntaxError).

        With `probes`, also one probe per TL4 diagnostic without a fix (its host syncs are measured).
        """
        settings = resolve_settings(path, settings)
        diagnostics = check_source(source, path, select, ignore, settings=settings)
        found = cases_for_source(source, path or "<string>", diagnostics, settings.numpy_min)
        if probes:
            found += probes_for_source(source, path or "<string>", diagnostics)
        return found

    def verify_source(self, source: str, path: Optional[str] = None, select: Optional[Iterable[str]] = None,
                      ignore: Optional[Iterable[str]] = None, settings: Optional[Settings] = None) -> List[FixVerdict]:
        return self.verify_cases(self.cases(source, path, select, ignore, settings))

    def verify_diagnostics(self, source: str, diagnostics: Sequence[Diagnostic], path: str = "<string>",
                           settings: Optional[Settings] = None, **options: Any) -> List[FixVerdict]:
        """Verify the fixes of given diagnostics (they need not come from a rule: a test may build them).

        `options` are those of `verify_cases` (unsafe_fixes, strict_bfloat16, timeout).
        """
        settings = resolve_settings(None if path == "<string>" else path, settings)
        return self.verify_cases(cases_for_source(source, path, diagnostics, settings.numpy_min), **options)

    # -- fixing --------------------------------------------------------------------------------------
    def fix_source(self, source: str, path: Optional[str] = None, select: Optional[Iterable[str]] = None,
                   ignore: Optional[Iterable[str]] = None, unsafe_fixes: bool = False,
                   settings: Optional[Settings] = None) -> VerifiedFixResult:
        """`fix_source` that applies only fixes that PASS, pass after pass until nothing more applies.

        Raises libcst.ParserSyntaxError / SyntaxError for a file that does not parse and FixError
        when applied fixes produce invalid code or change code outside their edits (nothing is written).
        """
        settings = resolve_settings(path, settings)
        passes: List[List[FixVerdict]] = []   # each pass's verdicts, the last pass's last

        def diagnose(text: str) -> List[Diagnostic]:
            return check_source(text, path, select, ignore, settings=settings)

        def passing(text: str, usable: List[Diagnostic]) -> List[Fix]:
            cases = cases_for_source(text, path or "<string>", usable, settings.numpy_min) if usable else []
            passes.append(self.verify_cases(cases, unsafe_fixes=unsafe_fixes))
            return [v.fix for v in passes[-1] if v.verdict == "PASS" and v.fix is not None]

        fixed = fix_to_fixpoint(source, diagnose, unsafe_fixes, choose=passing)
        applied = {id(d) for d in fixed.fixed}  # a retried deep run verifies anew: match this run's diagnostics
        return VerifiedFixResult(
            fixed.source, fixed.fixed, fixed.remaining,
            verdicts=[v for verdicts in passes for v in verdicts if any(id(d) in applied for d in v.diagnostics)],
            rejected=[v for v in passes[-1] if v.verdict != "PASS"])


# -- one shared verifier for callers that fix file after file (`tensorlint fix --verify`) ------------
_shared: Optional[Verifier] = None
_shared_options: Optional[tuple] = None


def shared_verifier(timeout: float = DEFAULT_TIMEOUT, workers: Optional[int] = None, device: str = "auto",
                    strict_bfloat16: bool = False) -> Verifier:
    """A process-wide Verifier (closed at exit), so its workers start once for a whole run."""
    global _shared, _shared_options
    options = (timeout, workers, device, strict_bfloat16)
    if _shared is None or _shared_options != options:
        if _shared is not None:
            _shared.close()
        _shared = Verifier(timeout=timeout, workers=workers, device=device, strict_bfloat16=strict_bfloat16)
        _shared_options = options
    return _shared


@atexit.register
def _close_shared() -> None:
    if _shared is not None:
        _shared.close()
