"""The worker's verifier of removed NumPy names (TL3): the original snippet with the name as each NumPy
version range meant it (:mod:`tensorlint.verify.numpy_facts`), the fixed one with the installed NumPy,
both run on sample values; and every name the fix introduces must exist in the project's lowest NumPy.
"""
from __future__ import annotations

import ast
from collections import Counter
from typing import Any, Callable, Dict, List, Sequence, Tuple

import numpy as np

from tensorlint.verify.compare import difference
from tensorlint.verify.evaluation import MAX_REPORTED, bind_spec, job_result, run_snippet, snippet_builtins
from tensorlint.verify.numpy_facts import INTRODUCED, MEANINGS, describe_range, meanings_for, resolve
from tensorlint.verify.plan import name_spec, wrap


class _NumpyView:
    """The `numpy` module as some NumPy version had it: `overrides` win, everything else is the installed one."""

    def __init__(self, overrides: Dict[str, Any], hidden: Sequence[str] = ()) -> None:
        self.__dict__["_overrides"] = overrides
        self.__dict__["_hidden"] = set(hidden)

    def __getattr__(self, name: str) -> Any:
        if name in self._overrides:
            return self._overrides[name]
        if name in self._hidden:
            raise AttributeError(f"module 'numpy' has no attribute '{name}' (installed NumPy {np.__version__})")
        return getattr(np, name)

    def __repr__(self) -> str:
        return "<module 'numpy' (verifier view)>"


SAMPLES: List[Tuple[str, Callable[[], Any]]] = [
    ("int64 array (2, 3)", lambda: np.arange(6, dtype=np.int64).reshape(2, 3) - 2),
    ("float32 array (2, 3)", lambda: (np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5) / 2),
    ("float64 array with nan", lambda: np.array([0.5, -1.5, np.nan, 2.0])),
    ("bool array (2, 3)", lambda: np.array([[True, False, True], [False, False, True]])),
    ("complex128 array", lambda: np.array([1 + 2j, -0.5j])),
    ("0-d float64 array", lambda: np.array(1.25)),
    ("size-1 int64 array", lambda: np.array([7])),
    ("empty float64 array", lambda: np.zeros(0)),
    ("nested list", lambda: [[1, 2], [3, 4]]),
    ("True", lambda: True),
    ("int 3", lambda: 3),
    ("float 2.5", lambda: 2.5),
    ("np.True_", lambda: np.True_),
    ("np.float32(1.5)", lambda: np.float32(1.5)),
]


class NumpyVerifier:
    """Verifies a removed NumPy name's fix: the old name as each NumPy version meant it, the new one as installed."""

    def __init__(self, emit: Callable[[dict], None]) -> None:
        self.emit = emit

    def verify(self, job: dict) -> dict:
        name = job["legacy_name"]
        numpy_min = tuple(job["numpy_min"]) if job.get("numpy_min") else None
        info: Dict[str, Any] = {"installed": np.__version__, "name": name, "ranges": []}
        meanings = meanings_for(name, numpy_min)
        if not meanings:
            return job_result("SKIPPED", reason=f"no facts about `numpy.{name}` in the verifier's table", numpy=info)
        candidates = job["candidates"]
        missing = self._missing_replacements(candidates[0], job["imports"], numpy_min, name)
        if missing:
            return job_result("FAIL", reason=missing, numpy=info, evaluated=candidates[0])
        verdicts = []
        failures: List[dict] = []
        evaluated = candidates[0]
        for span, meaning in meanings:
            entry = {"range": describe_range(span), "meaning": meaning}
            try:
                legacy_value = resolve(meaning)
            except Exception as error:  # noqa: BLE001
                entry.update(verdict="SKIPPED", why=f"cannot resolve {meaning}: {error}")
                info["ranges"].append(entry)
                verdicts.append("SKIPPED")
                continue
            chosen = None
            for candidate in candidates:
                outcome = self._compare(job, candidate, name, legacy_value, entry["range"])
                chosen = (candidate, outcome)
                if outcome["verdict"] == "PASS":
                    break
            candidate, outcome = chosen
            if outcome["verdict"] == "FAIL" and "FAIL" not in verdicts:
                evaluated = candidate   # show the snippet that failed first
            entry.update(verdict=outcome["verdict"], how=candidate["how"], why=outcome.get("why"),
                         samples=outcome.get("samples"))
            failures.extend(outcome.get("failures", []))
            info["ranges"].append(entry)
            verdicts.append(outcome["verdict"])
        if "FAIL" in verdicts:
            first = next(r for r in info["ranges"] if r["verdict"] == "FAIL")
            reason = f"on {first['range']} `np.{name}` meant {first['meaning']}: {first['why']}"
            return job_result("FAIL", reason=reason, numpy=info, failures=failures[:MAX_REPORTED], evaluated=evaluated)
        if "PASS" in verdicts:
            return job_result("PASS", numpy=info, evaluated=evaluated)
        return job_result("SKIPPED", reason="no sample could be compared", numpy=info, evaluated=evaluated)

    def _missing_replacements(self, candidate: dict, imports: Dict[str, List[str]], numpy_min, name: str) -> str:
        code, _ = wrap(candidate["fixed"], candidate["mode"])
        try:
            tree = ast.parse(code, mode=candidate["mode"])
        except SyntaxError as error:
            return f"the fixed snippet does not parse: {error.msg}"
        paths = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                parts = []
                current = node
                while isinstance(current, ast.Attribute):
                    parts.append(current.attr)
                    current = current.value
                if isinstance(current, ast.Name) and name_spec(current.id, imports) == ["module", "numpy"]:
                    paths.append(".".join(reversed(parts)))
            elif isinstance(node, ast.ImportFrom) and node.module == "numpy" and not node.level:
                paths.extend(alias.name for alias in node.names)
        for path in sorted(set(paths)):
            obj: Any = np
            for part in path.split("."):
                if part == name and path.split(".")[0] == name:
                    break  # the old name left in place is judged by evaluation
                try:
                    obj = getattr(obj, part)
                except AttributeError:
                    return f"`numpy.{path}` does not exist in the installed NumPy {np.__version__}"
            for prefix, version in INTRODUCED.items():
                if (path == prefix or path.startswith(prefix + ".")) and (numpy_min is None or numpy_min < version):
                    supported = ".".join(map(str, numpy_min)) if numpy_min else "1.x (no minimum declared)"
                    return (f"`numpy.{path}` needs NumPy >= {'.'.join(map(str, version))}, "
                            f"but the project supports NumPy {supported}")
        return ""

    def _compare(self, job: dict, candidate: dict, name: str, legacy_value: Any, range_text: str) -> dict:
        mode = candidate["mode"]
        code_original, _ = wrap(candidate["original"], mode)
        code_fixed, _ = wrap(candidate["fixed"], mode)
        try:
            compiled = (compile(code_original, "<original>", mode), compile(code_fixed, "<fixed>", mode))
        except SyntaxError as error:
            return {"verdict": "FAIL" if error.filename == "<fixed>" else "SKIPPED",
                    "why": f"does not compile: {error.msg}"}
        trees = [ast.parse(code_original, mode=mode), ast.parse(code_fixed, mode=mode)]
        others = _other_legacy(trees, name)
        legacy = _NumpyView({name: legacy_value, **others})
        installed = _NumpyView(others, hidden=[name])
        free: List[str] = []
        for tree in trees:
            local = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            for node in ast.walk(tree):
                if isinstance(node, ast.Name) and node.id not in local and node.id not in free:
                    spec = name_spec(node.id, job["imports"])
                    if spec is None:
                        free.append(node.id)
                    elif spec[0] in ("foreign", "ambiguous"):
                        return {"verdict": "SKIPPED", "why": f"`{node.id}` cannot be bound"}
        assigned = sorted({a.asname or a.name for t in trees for n in ast.walk(t) if isinstance(n, ast.ImportFrom)
                           for a in n.names})
        tally = Counter()
        failures = []
        for label, values in _sample_sets(free):
            outcomes = []
            for side, code, view in (("original", compiled[0], legacy), ("fixed", compiled[1], installed)):
                self.emit({"progress": side, "binding": label, "original_ok": outcomes[0].ok if outcomes else None})
                namespace: Dict[str, Any] = {"__builtins__": snippet_builtins(view),
                                             "__name__": "__tensorlint_verify__"}
                for spec_name in {n.id for t in trees for n in ast.walk(t) if isinstance(n, ast.Name)}:
                    spec = name_spec(spec_name, job["imports"])
                    if spec is not None and spec_name not in free:
                        try:
                            namespace[spec_name] = bind_spec(spec, view)
                        except AttributeError:
                            pass  # `from numpy import old` bound lazily: the name is judged where it is used
                namespace.update(values)
                outcome = run_snippet(code, namespace, True, mode)
                if outcome.ok and mode == "exec":
                    outcome.value = {n: namespace.get(n, "<unassigned>") for n in assigned}
                outcomes.append(outcome)
            original, fixed = outcomes
            if original.ok and fixed.ok:
                why = difference(original.value, fixed.value)
                if why is None:
                    tally["same"] += 1
                    continue
            elif original.ok:
                why = f"the fixed snippet raises {fixed.error}"
            else:
                tally["not_compared"] += 1
                continue
            tally["fail"] += 1
            if len(failures) < MAX_REPORTED:
                failures.append({"binding": f"{range_text}, {label}", "why": why, "original": original.text(),
                                 "fixed": fixed.text()})
        samples = dict(tally)
        if tally["fail"]:
            return {"verdict": "FAIL", "why": f"{failures[0]['why']} ({failures[0]['binding']}: original "
                                              f"{failures[0]['original']}, fixed {failures[0]['fixed']})",
                    "failures": failures, "samples": samples}
        if tally["same"]:
            return {"verdict": "PASS", "samples": samples}
        return {"verdict": "SKIPPED", "why": "no sample could be compared", "samples": samples}


def _other_legacy(trees, name: str) -> Dict[str, Any]:
    """Other removed names in the snippet keep their last meaning (their own fixes are judged apart)."""
    found = {}
    for tree in trees:
        for node in ast.walk(tree):
            attr = node.attr if isinstance(node, ast.Attribute) else None
            names = [attr] if attr else []
            if isinstance(node, ast.ImportFrom):
                names = [a.name for a in node.names]
            for other in names:
                if other and other != name and other in MEANINGS and not hasattr(np, other):
                    try:
                        found[other] = resolve(MEANINGS[other][-1][1])
                    except Exception:  # noqa: BLE001
                        pass
    return found


def _sample_sets(free: List[str]):
    if not free:
        yield "no free names", {}
        return
    if len(free) == 1:
        for label, make in SAMPLES:
            yield f"{free[0]} = {label}", {free[0]: make()}
        return
    if len(free) == 2:
        for label_a, make_a in SAMPLES:
            for label_b, make_b in SAMPLES:
                yield f"{free[0]} = {label_a}, {free[1]} = {label_b}", {free[0]: make_a(), free[1]: make_b()}
        return
    for shift in range(2):
        for index in range(len(SAMPLES)):
            picks = {n: SAMPLES[(index + shift * k) % len(SAMPLES)] for k, n in enumerate(free)}
            yield ", ".join(f"{n} = {p[0]}" for n, p in picks.items()), {n: p[1]() for n, p in picks.items()}
