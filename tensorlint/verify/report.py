"""The verifier's output: one line per fix and a summary table (text), or one JSON document.

The JSON document (``--format json``) is stable; docs/verifier.md describes every field. Its
``format_version`` changes only when a field changes meaning or goes away.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Dict, List, Optional, Sequence, TextIO

from tensorlint import __version__
from tensorlint.verify.core import MEASURED, VERDICTS, FixVerdict

FORMAT_VERSION = 1


def mode_text(info: Dict[str, str]) -> str:
    if not info:
        return "not started (no fix to verify)"
    if info.get("mode") == "cuda":
        return f"real CUDA ({info.get('device', 'GPU')})"
    return "emulated CUDA (EmulatedCudaTensor on the CPU; no GPU)"


def summary(verdicts: Sequence[FixVerdict]) -> Dict[str, Any]:
    verdicts = [v for v in verdicts if not v.is_probe]
    by_code: Dict[str, Counter] = {}
    for verdict in verdicts:
        for code in verdict.codes:
            by_code.setdefault(code, Counter())[verdict.verdict] += 1
    totals = Counter(v.verdict for v in verdicts)
    return {
        "fixes": len(verdicts),
        **{name: totals.get(name, 0) for name in VERDICTS},
        "by_code": {code: {name: counts.get(name, 0) for name in VERDICTS} for code, counts in sorted(by_code.items())},
        "with_limitations": sum(1 for v in verdicts if v.limited),
        "errors": sum(1 for v in verdicts if v.error),
    }


def to_json(verdicts: Sequence[FixVerdict], info: Dict[str, str], options: Dict[str, Any],
            errors: Sequence[str]) -> Dict[str, Any]:
    return {
        "format": "tensorlint-verify",
        "format_version": FORMAT_VERSION,
        "environment": {"tensorlint": __version__, "torch": info.get("torch"), "numpy": info.get("numpy"),
                        "python": info.get("python"), "mode": info.get("mode"), "device": info.get("device")},
        "options": options,
        "fixes": [v.to_json() for v in verdicts if not v.is_probe],
        "probes": [_probe_json(v) for v in verdicts if v.is_probe],
        "summary": summary(verdicts),
        "errors": list(errors),
    }


def _probe_json(verdict: FixVerdict) -> Dict[str, Any]:
    return {"path": verdict.path, "line": verdict.line, "col": verdict.col, "codes": verdict.codes,
            "message": verdict.title, "verdict": verdict.verdict, "reason": verdict.reason, "error": verdict.error,
            "snippet": {"how": verdict.how, "expression": verdict.original, "grad_enabled": verdict.grad_enabled},
            "syncs": verdict.syncs}


def _probe_text(verdict: FixVerdict) -> str:
    where = f"{verdict.path}:{verdict.line}:{verdict.col}: {','.join(verdict.codes)}"
    if verdict.verdict != MEASURED or not verdict.syncs:
        return f"{where} not measured: {verdict.error or verdict.reason}"
    syncs = verdict.syncs
    kinds = ", ".join(f"{kind} {count:g}" for kind, count in sorted(syncs.get("kinds", {}).items()))
    return (f"{where} {syncs['per_iteration']:g} host sync(s) per iteration" + (f" ({kinds})" if kinds else "")
            + f" in `{_one_line(verdict.original)}` (no automatic fix)")


def _counts_text(verdict: FixVerdict) -> str:
    counts = verdict.bindings or {}
    if not counts:
        return ""
    parts = [f"{counts.get('bindings', 0)} bindings"]
    for key, label in (("same", "same result"), ("error_removed", "error removed"),
                       ("other_error_removed", "other error removed"), ("not_compared", "not compared"),
                       ("fail", "failed"), ("limitation", "bfloat16 limitation")):
        if counts.get(key):
            parts.append(f"{counts[key]} {label}")
    return "; ".join(parts)


def _detail(verdict: FixVerdict) -> str:
    bits = []
    if verdict.verdict != "PASS":
        bits.append(verdict.error or verdict.reason or "")
    counts = _counts_text(verdict)
    if counts:
        bits.append(counts)
    if verdict.look_alikes:
        found = verdict.look_alikes
        receivers = ", ".join(f"`{key}`" for key in found["receivers"])
        bits.append(f"look-alikes for {receivers}: {found['bindings']} tried, {found['same']} same, "
                    f"{found['not_compared']} not compared, {found['fail']} failed")
    if verdict.syncs is not None:
        bits.append(f"host syncs per iteration {verdict.syncs['before']:g} -> {verdict.syncs['after']:g}")
    if verdict.graphs_retained is not None:
        graphs = verdict.graphs_retained
        bits.append(f"graphs kept after {graphs['iterations']} iterations {graphs['before']} -> {graphs['after']}")
    if verdict.numpy is not None and verdict.numpy.get("ranges"):
        ranges = "; ".join(f"{r['range']}: {r['verdict']}" + (f" ({r['how']})" if r.get("how") else "")
                           for r in verdict.numpy["ranges"])
        bits.append(f"NumPy {verdict.numpy['installed']} installed; {ranges}")
    return " | ".join(b for b in bits if b)


def write_text(out: TextIO, verdicts: Sequence[FixVerdict], info: Dict[str, str], errors: Sequence[str],
               verbose: bool = False) -> None:
    names = (("torch", "torch"), ("NumPy", "numpy"), ("Python", "python"))
    versions = ", ".join(f"{name} {info[key]}" for name, key in names if info.get(key))
    print(f"tensorlint verify: accelerator {mode_text(info)}" + (f"; {versions}" if versions else ""), file=out)
    probes = [v for v in verdicts if v.is_probe]
    verdicts = [v for v in verdicts if not v.is_probe]
    for verdict in verdicts:
        line = f"{verdict.path}:{verdict.line}:{verdict.col}: {','.join(verdict.codes)} {verdict.verdict}" \
               f" {verdict.title}"
        detail = _detail(verdict)
        print(line + (f" -- {detail}" if detail else ""), file=out)
        if verdict.verdict == "FAIL" or verbose:
            if verdict.original or verdict.fixed:
                print(f"    snippet ({verdict.how or verdict.kind}): {_one_line(verdict.original)}"
                      f"  ->  {_one_line(verdict.fixed)}", file=out)
            for failure in verdict.failures[:3]:
                print(f"    binding: {failure['binding']}: {failure['why']}", file=out)
                print(f"        original: {failure['original']}", file=out)
                print(f"        fixed:    {failure['fixed']}", file=out)
        if verbose:
            for note in verdict.notes:
                print(f"    note: {note}", file=out)
    if probes:
        print("\nTL4 findings without a fix, host syncs measured on the flagged expression:", file=out)
        for probe in probes:
            print(_probe_text(probe), file=out)
    _table(out, verdicts)
    limited = [v for v in verdicts if v.limited and v.verdict == "PASS"]
    if limited:
        print(f"bfloat16: {len(limited)} passing fix(es) still cannot convert a bfloat16 tensor to NumPy "
              "(`.detach().cpu()` is not enough, `.float()` is needed: a documented limitation; "
              "--strict-bfloat16 makes it a FAIL).", file=out)
    for error in errors:
        print(f"error: {error}", file=out)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _table(out: TextIO, verdicts: Sequence[FixVerdict]) -> None:
    data = summary(verdicts)
    rows = [("CODE", "FIXES", "PASS", "FAIL", "SKIPPED")]
    for code, counts in data["by_code"].items():
        rows.append((code, str(sum(counts.values())), str(counts["PASS"]), str(counts["FAIL"]), str(counts["SKIPPED"])))
    rows.append(("total", str(data["fixes"]), str(data["PASS"]), str(data["FAIL"]), str(data["SKIPPED"])))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    print("", file=out)
    for row in rows:
        print("  ".join([row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:])]),
              file=out)
    if data["fixes"] != sum(sum(c.values()) for c in data["by_code"].values()):
        print("(a fix shared by several codes is counted once per code; the total counts it once)", file=out)


def options_json(args: Any) -> Dict[str, Any]:
    return {"timeout": args.timeout, "unsafe_fixes": bool(args.unsafe_fixes),
            "strict_bfloat16": bool(getattr(args, "strict_bfloat16", False)),
            "iterations": getattr(args, "iterations", 3), "select": args.select, "ignore": args.ignore,
            "device": getattr(args, "device", "auto"), "look_alikes": getattr(args, "look_alikes", "unproven")}


def first_error(verdicts: Sequence[FixVerdict]) -> Optional[str]:
    for verdict in verdicts:
        if verdict.error:
            return verdict.error
    return None


def failing(verdicts: Sequence[FixVerdict]) -> List[FixVerdict]:
    return [v for v in verdicts if v.verdict == "FAIL"]
