"""Fix-safety audit: `tensorlint fix` (safe, then --unsafe-fixes) over pinned sdists nobody here wrote.

    python benchmarks/fix_audit.py run                      # the mechanical checks, printed
    python benchmarks/fix_audit.py run --record             # also write fix_audit/applied.json and a new sample
    python benchmarks/fix_audit.py report [--add-new]       # a new run against the judged sample
    PYTHONPATH=/path/to/checkout python benchmarks/fix_audit.py report --tensorlint "python -m tensorlint"

The sdists (PACKAGES below; not the benchmark corpus's) are fetched by pip, hash-checked and extracted
to `fix_audit/.src/` with the helpers of realworld/run.py. For each sdist and each mode (safe fixes only,
then every fix) a fresh copy under `fix_audit/.work/` is fixed in place, the tool run from inside the
copy so that `PYTHONPATH=<checkout> python -m tensorlint` picks that checkout. Checked per mode:
every changed file parses; the bytes written are exactly the original with the fixes' own edits applied
(the edits come from `check --format json` before fixing, applied here independently, pass after pass
as the fixer does, so encodings, newlines and every byte outside the edits are proven kept); file modes
are kept and no file appears or disappears; a second `fix` changes nothing.

Every applied fix is listed (`run --record` writes the list to fix_audit/applied.json) and a seeded,
stratified sample of them goes to fix_audit/sample.toml with empty `verdict`/`reason` for a reviewer:
CORRECT (the fix is right on the values the code sees), HARMFUL (it breaks a path that worked),
POINTLESS (it changes nothing that could fail). `report` says which judged fixes are still applied
(and whether their safety or edit changed), which vanished and which applied fixes are new.

Exit status: 0; 1 when a mechanical check fails or (report) a fix judged HARMFUL is still applied as
safe; 2 when a download, the tool or the sample file fails.
"""
from __future__ import annotations

import argparse
import ast
import collections
import difflib
import importlib.util
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tokenize
import tomllib
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
AUDIT = HERE / "fix_audit"
WORK = AUDIT / ".work"
SAMPLE = AUDIT / "sample.toml"
APPLIED = AUDIT / "applied.json"
MAX_PASSES = 10

_spec = importlib.util.spec_from_file_location("realworld_run", HERE / "realworld" / "run.py")
realworld = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(realworld)
# realworld's download/extract write to its own module-level folders; this audit keeps its sdists apart
# (realworld/.src is also what tests/core/test_prescreen.py walks)
realworld.SDISTS, realworld.SOURCES = AUDIT / ".sdists", AUDIT / ".src"
Fail = realworld.Fail


def _sdist(package: str, version: str, sdist: str, sha256: str):
    return realworld.Sdist(package, version, sdist, sha256, ())


PACKAGES = (
    # own classes with .cpu()/.numpy()/.to() but no .detach(): Results, Boxes, Keypoints, Masks, Probs
    _sdist("ultralytics", "8.3.40", "ultralytics-8.3.40.tar.gz",
           "bcf1a6a7232fbf84fee46ee3fc5948b4a6add82207db669e4ada7c051d1a8a7d"),
    # a dataset library whose own `Tensor` has .numpy() only
    _sdist("deeplake", "3.9.0", "deeplake-3.9.0.tar.gz",
           "84cb12c449fb477c71e8bf9a831e480e8948694c222efc37340f5b377753e59c"),
    # ordinary PyTorch packages with training, inference and plotting code
    _sdist("avalanche-lib", "0.5.0", "avalanche-lib-0.5.0.tar.gz",
           "66235d850cc5f2f279b3eea9514280caaf0e9d63a357e8051b7b7fe0e82e08a2"),
    _sdist("captum", "0.7.0", "captum-0.7.0.tar.gz",
           "7ca87d0dc67b3b7589a730b970b9536172a5468e0e31bf8657fdd73abc568a33"),
    _sdist("pyro-ppl", "1.9.1", "pyro_ppl-1.9.1.tar.gz",
           "5e1596de276c038a3f77d2580a90d0a97126e0104900444a088eee620bb0d65e"),
    _sdist("torchgeo", "0.5.2", "torchgeo-0.5.2.tar.gz",
           "b23df51fe53ebe66c8d555484605a5618985f3680b70275f99ce8665e7203560"),
    _sdist("gpytorch", "1.11", "gpytorch-1.11.tar.gz",
           "72fbb72b8965e37e7bd53c5f17d08747a404d048e80ec9d9983dee51685d2760"),
)
MODES = ("safe", "unsafe")
VERDICTS = ("CORRECT", "HARMFUL", "POINTLESS")
FIELDS = ("package", "path", "line", "column", "codes", "safety", "passes", "title", "verdict", "reason", "hunk")


class Applied(NamedTuple):
    """One fix as applied: the codes that offered it (one fix can answer TL101 and TL102 at once)."""
    package: str
    path: str
    line: int       # of the finding, in the text the fix was applied to (the original unless pass > 1)
    column: int
    codes: str      # "TL101+TL102"
    safety: str
    passes: int
    title: str
    hunk: str

    @property
    def key(self) -> str:
        return f"{self.package}:{self.path}:{self.line}:{self.column}:{self.codes}"


# ---------------------------------------------------------------- text and edits

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def decode(data: bytes) -> Tuple[str, str]:
    """The text (newlines as written, a BOM dropped) and the encoding Python reads the file with."""
    encoding, _ = tokenize.detect_encoding(iter(data.splitlines(keepends=True)).__next__)
    return data.decode(encoding), encoding


def lines_of(text: str) -> List[str]:
    return _LINE.findall(text)


def edits_of(finding: dict, text: str) -> Tuple[Tuple[int, int, str], ...]:
    """A finding's fix as (start, end, text) offsets into `text` (rows and columns are 1-based characters)."""
    starts, offset = [], 0
    for line in lines_of(text):
        starts.append(offset)
        offset += len(line)
    starts.append(offset)

    def at(location: dict) -> int:
        return starts[min(location["row"], len(starts)) - 1] + location["column"] - 1
    return tuple(sorted((at(e["location"]), at(e["end_location"]), e["content"]) for e in finding["fix"]["edits"]))


def _overlap(a: Tuple[int, int, str], b: Tuple[int, int, str]) -> bool:
    if a == b:
        return False  # one edit shared by two fixes (an import line) is applied once
    if a[0] == a[1] and b[0] == b[1]:
        return a[0] == b[0]
    return a[0] < b[1] and b[0] < a[1] or (a[0] == a[1] and b[0] < a[0] < b[1]) \
        or (b[0] == b[1] and a[0] < b[0] < a[1])


def apply(text: str, edits: Sequence[Tuple[int, int, str]]) -> str:
    pieces, position = [], 0
    for start, end, new in sorted(set(edits), key=lambda e: (e[0], e[1])):
        pieces += [text[position:start], new]
        position = end
    return "".join(pieces) + text[position:]


def one_pass(text: str, findings: List[dict], mode: str) -> List[Tuple[Tuple, List[dict]]]:
    """The fixes one pass of the fixer applies: in report order, each unless it overlaps one taken before
    or puts back the text that is there. Returns (edits, the findings offering them) per fix."""
    chosen: Dict[Tuple, List[dict]] = {}
    taken: List[Tuple[int, int, str]] = []
    for finding in findings:
        fix = finding.get("fix")
        if not fix or (mode == "safe" and fix["applicability"] != "safe"):
            continue
        edits = edits_of(finding, text)
        if edits in chosen:
            chosen[edits].append(finding)
            continue
        if all(text[s:e] == new for s, e, new in edits) or any(_overlap(a, b) for a in edits for b in taken):
            continue
        chosen[edits] = [finding]
        taken.extend(edits)
    return list(chosen.items())


def hunk(before: str, after: str) -> str:
    old = [line.rstrip("\r\n") for line in lines_of(before)]
    new = [line.rstrip("\r\n") for line in lines_of(after)]
    diff = list(difflib.unified_diff(old, new, n=3, lineterm=""))
    return "\n".join(diff[2:])


# ---------------------------------------------------------------- running the tool

def tool_run(tool: List[str], args: List[str], cwd: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(tool + args, capture_output=True, text=True, cwd=cwd)
    except OSError as e:
        raise Fail(f"cannot run {shlex.join(tool)}: {e}")


def check_json(tool: List[str], root: Path, paths: Sequence[str], jobs: Optional[int]) -> Dict[str, List[dict]]:
    """Findings per relative path (report order) of `check --format json` run inside root."""
    args = ["check", "--no-cache", "--format", "json", *paths] + (["-j", str(jobs)] if jobs else [])
    done = tool_run(tool, args, root)
    try:
        findings = json.loads(done.stdout)
    except json.JSONDecodeError:
        findings = None
    if not isinstance(findings, list) or done.returncode not in (0, 1, 2):
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise Fail(f"check in {root} exited {done.returncode}: {tail}")
    out: Dict[str, List[dict]] = collections.defaultdict(list)
    for finding in findings:
        name = Path(finding["filename"])
        out[Path(os.path.relpath(name if name.is_absolute() else root / name, root)).as_posix()].append(finding)
    return out


def snapshot(root: Path) -> Dict[str, Tuple[bytes, int]]:
    """Every file under root (its .git excepted): bytes and mode."""
    files = {}
    for path in root.rglob("*"):
        if path.is_file() and ".git" not in path.relative_to(root).parts:
            files[path.relative_to(root).as_posix()] = (path.read_bytes(), path.stat().st_mode)
    return files


def fresh_copy(source: Path, target: Path) -> Path:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    (target / ".git").mkdir()  # a work tree of its own: this repository ignores .work/
    return target


# ---------------------------------------------------------------- one sdist, one mode

def audit_mode(tool, name: str, source: Path, mode: str, proposed: Dict[str, List[dict]], jobs) -> dict:
    copy = fresh_copy(source, WORK / mode / name)
    before = snapshot(copy)
    flag = "--no-unsafe-fixes" if mode == "safe" else "--unsafe-fixes"
    first = tool_run(tool, ["fix", flag, "."] + (["-j", str(jobs)] if jobs else []), copy)
    after = snapshot(copy)
    problems: Dict[str, List[str]] = collections.defaultdict(list)
    if first.returncode == 2:
        problems["tool"].append(first.stderr.strip().splitlines()[-1:][0] if first.stderr.strip() else "exit 2")
    refused = [line for line in first.stderr.splitlines() if "cannot fix" in line]
    if set(before) != set(after):
        problems["files added or removed"] += sorted(set(before) ^ set(after))
    problems["mode changed"] += [p for p in before if p in after and before[p][1] != after[p][1]]
    changed = sorted(p for p in before if p in after and before[p][0] != after[p][0])
    applied: List[Applied] = []
    recon = WORK / "recon" / name
    for path in changed:
        if not path.endswith(".py"):
            problems["non-Python file changed"].append(path)
            continue
        old_text, encoding = decode(before[path][0])
        try:
            new_text = after[path][0].decode(encoding)
            if after[path][0].startswith(b"\xef\xbb\xbf") != before[path][0].startswith(b"\xef\xbb\xbf"):
                raise UnicodeError("BOM added or dropped")
            ast.parse(new_text.lstrip("\ufeff"), path)
        except (UnicodeError, SyntaxError, ValueError) as e:
            problems["does not parse or decode"].append(f"{path}: {e}")
            continue
        text, findings, passes = old_text, proposed.get(path, []), 0
        while text != new_text and passes < MAX_PASSES:
            passes += 1
            fixes = one_pass(text, findings, mode)
            if not fixes:
                break
            fixed = apply(text, [e for edits, _ in fixes for e in edits])
            for edits, offering in fixes:
                applied.append(Applied(name, path, offering[0]["location"]["row"], offering[0]["location"]["column"],
                                       "+".join(sorted({f["code"] for f in offering})),
                                       offering[0]["fix"]["applicability"], passes, offering[0]["fix"]["title"],
                                       hunk(text, apply(text, edits))))
            text = fixed
            if text != new_text:  # the fixer's next pass: diagnose what this pass wrote
                target = recon / path
                if not target.exists():
                    fresh_copy(source, recon)
                target.write_bytes(text.encode(encoding))
                findings = check_json(tool, recon, [path], None).get(path, [])
        if text != new_text:
            problems["bytes differ from the fixes' edits"].append(path)
    again = tool_run(tool, ["fix", flag, "."] + (["-j", str(jobs)] if jobs else []), copy)
    problems["not idempotent"] += sorted(p for p, (data, _) in snapshot(copy).items() if after[p][0] != data)
    return {"changed": len(changed), "applied": [a._asdict() for a in applied], "refused": refused,
            "summary": (first.stdout.strip().splitlines() or [""])[-1],
            "second_run": (again.stdout.strip().splitlines() or [""])[-1],
            "problems": {k: v for k, v in problems.items() if v}}


def audit(tool: List[str], only: Sequence[str], jobs: Optional[int]) -> dict:
    result = {"tool": shlex.join(tool), "packages": {}}
    for sdist in PACKAGES:
        if only and sdist.package not in only:
            continue
        source = realworld.extract(sdist, realworld.download(sdist))
        print(f"{sdist.name}: checking", file=sys.stderr)
        proposed = check_json(tool, fresh_copy(source, WORK / "check" / sdist.name), ["."], jobs)
        offered = collections.Counter(f"{f['code']} {f['fix']['applicability']}"
                                      for fs in proposed.values() for f in fs if f.get("fix"))
        entry = {"files": sum(1 for _ in source.rglob("*.py")), "findings": sum(map(len, proposed.values())),
                 "fixes_offered": dict(offered)}
        for mode in MODES:
            print(f"{sdist.name}: fix ({mode})", file=sys.stderr)
            entry[mode] = audit_mode(tool, sdist.name, source, mode, proposed, jobs)
        result["packages"][sdist.name] = entry
    return result


# ---------------------------------------------------------------- summary, sample, report

def population(result: dict) -> List[Applied]:
    """Every applied fix once: the safe run's fixes, and the unsafe run's fixes that are unsafe."""
    out = []
    for entry in result["packages"].values():
        out += [Applied(**a) for a in entry["safe"]["applied"]]
        out += [Applied(**a) for a in entry["unsafe"]["applied"] if a["safety"] == "unsafe"]
    return sorted(out)


def summarize(result: dict) -> bool:
    bad = False
    print(f"tool: {result['tool']}")
    print(f"{'sdist':24} {'files':>5} {'findings':>8}  {'mode':6} {'changed':>7} {'fixes':>5}  checks")
    for name, entry in result["packages"].items():
        for mode in MODES:
            run = entry[mode]
            problems = "; ".join(f"{k}: {len(v)}" for k, v in run["problems"].items()) or "ok"
            bad |= bool(run["problems"])
            print(f"{name:24} {entry['files']:5} {entry['findings']:8}  {mode:6} {run['changed']:7} "
                  f"{len(run['applied']):5}  {problems}; refused {len(run['refused'])}; "
                  f"second run: {run['second_run']}")
    print("\napplied fixes by code and safety (each mode's run)")
    for mode in MODES:
        counts = collections.Counter((a["codes"], a["safety"]) for e in result["packages"].values()
                                     for a in e[mode]["applied"])
        print(f"  {mode}: " + ", ".join(f"{c} {s} {n}" for (c, s), n in sorted(counts.items())))
    return bool(bad)


def choose(fixes: List[Applied], size: int, seed: int) -> List[Applied]:
    """A seeded sample: up to 4 per (codes, safety) and 3 per (package, safety) first, then random fixes,
    at most a quarter of the sample from one package."""
    rng = random.Random(seed)
    order = list(fixes)
    rng.shuffle(order)
    chosen: List[Applied] = []
    per_code, per_package = collections.Counter(), collections.Counter()
    for fix in order:
        if per_code[fix.codes, fix.safety] < 4 or per_package[fix.package, fix.safety] < 3:
            chosen.append(fix)
            per_code[fix.codes, fix.safety] += 1
            per_package[fix.package, fix.safety] += 1
    cap, total = collections.Counter(a.package for a in chosen), len(chosen)
    for fix in order:
        if total >= size:
            break
        if fix not in chosen and cap[fix.package] < size // 4:
            chosen.append(fix)
            cap[fix.package] += 1
            total += 1
    return sorted(chosen)


def _toml_string(text: str) -> str:
    """A literal string (multi-line for a hunk) where TOML allows one, so code reads as written; else escaped."""
    if "'''" in text or re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text):
        return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")  # JSON's escapes are TOML's
    if "\n" in text:
        return "'''\n" + text + "'''"
    return "'" + text + "'" if "'" not in text else json.dumps(text, ensure_ascii=False)


def write_sample(entries: List[dict], path: Path) -> None:
    """sample.toml: one [[fix]] table per applied fix, in a fixed field order."""
    out = ["# Applied fixes for review: verdict is CORRECT, HARMFUL or POINTLESS, reason one line.",
           "# Written by benchmarks/fix_audit.py; judge by reading the code and its callers.", ""]
    for e in entries:
        out.append("[[fix]]")
        for field in FIELDS:
            value = e.get(field, "")
            out.append(f"{field} = {value}" if isinstance(value, int) else f"{field} = {_toml_string(str(value))}")
        out.append("")
    path.write_text("\n".join(out), encoding="utf-8")


def read_sample(path: Path) -> List[dict]:
    try:
        entries = tomllib.loads(path.read_text(encoding="utf-8")).get("fix", [])
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise Fail(f"{path.name}: {e}")
    for i, e in enumerate(entries, 1):
        if e.get("verdict", "") not in ("",) + VERDICTS:
            raise Fail(f"{path.name} fix {i}: verdict must be one of {', '.join(VERDICTS)} or empty")
    return entries


def _key(e: dict) -> str:
    return f"{e['package']}:{e['path']}:{e['line']}:{e['column']}:{e['codes']}"


def report(result: dict, add_new: bool) -> int:
    judged = read_sample(SAMPLE)
    known = set(json.loads(APPLIED.read_text())["applied"]) if APPLIED.is_file() else set()
    now = {a.key: a for a in population(result)}
    judged_all, ran = judged, set(result["packages"])
    judged = [e for e in judged if e["package"] in ran]  # --only: the other packages were not run
    harmful_safe, counts = [], collections.Counter()
    print("\njudged fixes now")
    for e in judged:
        fix = now.get(_key(e))
        if fix is None:
            status = "vanished"
        elif fix.safety != e["safety"]:
            status = f"now {fix.safety}"
        elif fix.hunk != e["hunk"]:
            status = "edit changed"
        else:
            status = "still applied"
        counts[e.get("verdict") or "unjudged", e["safety"], status] += 1
        if e.get("verdict") == "HARMFUL" and fix is not None and fix.safety == "safe":
            harmful_safe.append(f"{_key(e)}  ({status})")
        if e.get("verdict") in ("HARMFUL", "POINTLESS") or status != "still applied":
            print(f"  {e.get('verdict') or '-':9} {e['safety']:6} -> {status:13} {_key(e)}")
    print("\ncounts (verdict, safety judged, status now)")
    for (verdict, safety, status), n in sorted(counts.items()):
        print(f"  {verdict:9} {safety:6} {status:13} {n}")
    sampled = {_key(e) for e in judged}
    new = [a for k, a in sorted(now.items()) if k not in sampled and k not in known]
    print(f"\nnew applied fixes, not judged and not applied in the recorded run: {len(new)}")
    for a in new:
        print(f"  {a.safety:6} {a.key}")
    if add_new and new:
        write_sample(judged_all + [dict(a._asdict(), verdict="", reason="") for a in new], SAMPLE)
        print(f"added {len(new)} to {SAMPLE.relative_to(HERE.parent)}")
    print(f"\nfixes judged HARMFUL still applied as safe: {len(harmful_safe)}")
    for line in harmful_safe:
        print(f"  {line}")
    return 1 if harmful_safe else 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=("run", "report"))
    ap.add_argument("--tensorlint", metavar="CMD", help='the tensorlint to run (default: tensorlint on PATH)')
    ap.add_argument("-j", "--jobs", type=int, help="passed to tensorlint -j")
    ap.add_argument("--only", action="append", default=[], metavar="PKG", help="only this package; repeatable")
    ap.add_argument("--record", action="store_true", help="run: write applied.json and a new sample.toml")
    ap.add_argument("--force", action="store_true", help="run --record: overwrite a sample with verdicts")
    ap.add_argument("--size", type=int, default=90, help="sample size (default 90)")
    ap.add_argument("--seed", type=int, default=20, help="sample seed (default 20)")
    ap.add_argument("--add-new", action="store_true", help="report: append new applied fixes to the sample")
    ap.add_argument("--json", metavar="FILE", help="also write the whole run as JSON")
    args = ap.parse_args(argv)
    tool = shlex.split(args.tensorlint) if args.tensorlint else realworld.default_tool()
    try:
        if args.command == "report" and not SAMPLE.is_file():
            raise Fail(f"no {SAMPLE.relative_to(HERE.parent)}: run `fix_audit.py run --record` first")
        result = audit(tool, args.only, args.jobs)
        bad = summarize(result)
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        if args.command == "report":
            return max(report(result, args.add_new), int(bad))
        if args.record:
            if SAMPLE.is_file() and any(e.get("verdict") for e in read_sample(SAMPLE)) and not args.force:
                raise Fail(f"{SAMPLE.name} holds verdicts: pass --force to replace it")
            fixes = population(result)
            APPLIED.write_text(json.dumps({"tool": result["tool"], "applied": [a.key for a in fixes]},
                                          indent=0) + "\n")
            write_sample([dict(a._asdict(), verdict="", reason="") for a in choose(fixes, args.size, args.seed)],
                         SAMPLE)
            print(f"wrote {APPLIED.name} ({len(fixes)} fixes) and {SAMPLE.name}")
    except Fail as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return int(bad)


if __name__ == "__main__":
    sys.exit(main())
