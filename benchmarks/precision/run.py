"""The precision benchmark: judged tensorlint findings on outside PyPI sdists, per family.

    python benchmarks/precision/run.py sample --label "$(git rev-parse HEAD)"   # once: draw the sample
    python benchmarks/precision/run.py validate                                 # check the judging files
    python benchmarks/precision/run.py report [--json FILE] [--add-new [N]]     # after a change
    PYTHONPATH=/tmp/tl-baseline python benchmarks/precision/run.py report --tensorlint "python -m tensorlint"

The sdists are listed in `packages.toml` (version and sha256 pinned). Download, hash check and
extraction are realworld/run.py's (into this folder's git-ignored `.sdists/` and `.src/`). Each tree is
checked with `tensorlint check <tree> --format json --no-cache`, run from inside the tree.

`sample` records every finding of the run in `baseline.json` (locations only) and draws, per family, a
seeded sample into `judged/<family>.toml`, one entry per finding with `verdict = ""` and `reason = ""`
for a judge to fill (TRUE or FALSE and a one-line reason, judged by reading the code; see README.md).
The draw ranks each finding by a hash of the seed and the finding's own identity (package, path, code,
the text of its line), so it does not depend on the order of the run or on the other findings.

`report` reruns tensorlint and reports, per family, the findings now, the judged findings still
reported (precision = TRUE / (TRUE + FALSE) over those), the judged findings gone (TRUE gone is lost
recall, FALSE gone a fixed false positive) and the findings that are neither judged nor in the
baseline (new, listed; `--add-new` appends them to the judging files with empty verdicts).

Exit status: 0 (it is a report), 2 when a download, an extraction, a judging file or the tool fails.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
PACKAGES = HERE / "packages.toml"
JUDGED = HERE / "judged"
BASELINE = HERE / "baseline.json"
SEED = "tensorlint-precision-1"
SAMPLE_SIZES = {"TL1": 55, "TL2": 35, "TL3": 25, "TL4": 40}   # or all of a family if fewer
TOLERANCE = 3          # lines a finding may move and still be the judged one
VERDICTS = ("TRUE", "FALSE")


def _realworld():
    """realworld/run.py, loaded as a private module instance whose cache folders are this folder's."""
    spec = importlib.util.spec_from_file_location("realworld_run", HERE.parent / "realworld" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.SDISTS = HERE / ".sdists"
    module.SOURCES = HERE / ".src"
    return module


rw = _realworld()
Fail = rw.Fail
FAMILIES = rw.FAMILIES


class Finding(NamedTuple):
    package: str
    version: str
    path: str
    line: int
    col: int
    code: str
    message: str
    text_hash: str    # of the stripped source line: lets a match survive edits that move lines

    @property
    def family(self) -> str:
        return family_of(self.code)

    def where(self) -> str:
        return f"{self.package}-{self.version}:{self.path}:{self.line}"


class Entry(NamedTuple):
    """One judged (or to-be-judged) finding of a judging file."""
    finding: Finding
    origin: str
    verdict: str
    reason: str


def family_of(code: str) -> str:
    return next((fam for fam, codes in FAMILIES.items() if code in codes), "")


# ---------------------------------------------------------------- sdists and the tool

def load_packages(only: Sequence[str] = ()) -> list:
    try:
        data = tomllib.loads(PACKAGES.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise Fail(f"{PACKAGES.name}: {e}")
    sdists = []
    for i, raw in enumerate(data.get("sdist", []), 1):
        if not all(isinstance(raw.get(k), str) for k in ("package", "version", "sdist", "sha256")):
            raise Fail(f"{PACKAGES.name} sdist {i}: package, version, sdist and sha256 are required strings")
        sdists.append(rw.Sdist(raw["package"], raw["version"], raw["sdist"], raw["sha256"], ()))
    if only:
        unknown = set(only) - {s.package for s in sdists} - {s.name for s in sdists}
        if unknown:
            raise Fail(f"--only: not in {PACKAGES.name}: {', '.join(sorted(unknown))}")
        sdists = [s for s in sdists if s.package in only or s.name in only]
    if not sdists:
        raise Fail(f"{PACKAGES.name}: no [[sdist]] entries")
    return sdists


def prepare(sdists: list) -> Dict[str, Path]:
    roots = {s.name: rw.extract(s, rw.download(s)) for s in sdists}
    rw.own_work_tree()
    return roots


def line_hash(root: Path, path: str, line: int, cache: dict) -> str:
    if path not in cache:
        try:
            cache[path] = (root / path).read_bytes().split(b"\n")
        except OSError:
            cache[path] = []
    lines = cache[path]
    text = lines[line - 1].strip() if 0 < line <= len(lines) else b""
    return hashlib.sha256(text).hexdigest()[:12]


def run_tool(tool: List[str], sdist, root: Path, jobs: Optional[int]) -> Tuple[List[Finding], float, str]:
    """The scored findings of one tree (realworld's run_tool, keeping column and message)."""
    cmd = tool + ["check", str(root), "--format", "json", "--no-cache"] + (["-j", str(jobs)] if jobs else [])
    start = time.monotonic()
    try:
        # inside the tree, so that `python -m tensorlint` takes the package from PYTHONPATH
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=root)
    except OSError as e:
        raise Fail(f"cannot run {shlex.join(tool)}: {e}")
    seconds = time.monotonic() - start
    try:
        raw = json.loads(done.stdout)
        ok = isinstance(raw, list) and all(
            isinstance(d, dict) and {"code", "filename", "location", "message"} <= d.keys() for d in raw)
    except json.JSONDecodeError:
        ok = False
    if not ok or done.returncode not in (0, 1, 2) or (done.returncode == 2 and not raw):
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise Fail(f"{shlex.join(cmd)} exited {done.returncode}: {tail}")
    warning = ""
    if done.returncode == 2:   # a file could not be read or parsed; the others were checked
        warning = "; ".join(done.stderr.strip().splitlines()[:5]).replace(str(root) + os.sep, "")
    findings, cache = [], {}
    for d in raw:
        if not family_of(d["code"]):
            continue   # TL103 (style), TL002 (parse errors) and opt-in codes are not scored
        name = Path(d["filename"])
        rel = Path(os.path.relpath(name if name.is_absolute() else root / name, root)).as_posix()
        line, col = int(d["location"]["row"]), int(d["location"]["column"])
        findings.append(Finding(sdist.package, sdist.version, rel, line, col, d["code"], d["message"],
                                line_hash(root, rel, line, cache)))
    return findings, seconds, warning


def run_all(tool: List[str], sdists: list, jobs: Optional[int]) -> Tuple[List[Finding], float, List[str]]:
    roots = prepare(sdists)
    findings, seconds, warnings = [], 0.0, []
    for sdist in sdists:
        found, took, warning = run_tool(tool, sdist, roots[sdist.name], jobs)
        findings += found
        seconds += took
        if warning:
            warnings.append(f"{sdist.name}: {warning}")
    return sorted(findings), seconds, warnings


# ---------------------------------------------------------------- sampling

def ranked(findings: Iterable[Finding]) -> List[Finding]:
    """The findings in the order of a seeded hash of their identity (not of their line number)."""
    seen = collections.Counter()
    keyed = []
    for f in sorted(findings, key=lambda f: (f.package, f.path, f.line, f.col, f.code)):
        ident = (f.package, f.path, f.code, f.text_hash)
        seen[ident] += 1   # the n-th finding of one code on identical lines of one file
        digest = hashlib.sha256("|".join((SEED,) + ident + (str(seen[ident]),)).encode()).hexdigest()
        keyed.append((digest, f))
    return [f for _, f in sorted(keyed)]


def draw(findings: Iterable[Finding], sizes: Dict[str, int]) -> Dict[str, List[Finding]]:
    by_family = collections.defaultdict(list)
    for f in findings:
        by_family[f.family].append(f)
    return {fam: sorted(ranked(by_family[fam])[:sizes.get(fam, 0)]) for fam in FAMILIES}


# ---------------------------------------------------------------- judging files

def _s(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)   # a JSON string is a valid TOML basic string


def entry_toml(f: Finding, origin: str) -> str:
    return (f"\n[[finding]]\npackage = {_s(f.package)}\nversion = {_s(f.version)}\npath = {_s(f.path)}\n"
            f"line = {f.line}\ncol = {f.col}\ncode = {_s(f.code)}\nmessage = {_s(f.message)}\n"
            f"text_hash = {_s(f.text_hash)}\norigin = {_s(origin)}\nverdict = \"\"\nreason = \"\"\n")


def judged_path(family: str) -> Path:
    return JUDGED / f"{family}.toml"


def write_judging_file(family: str, findings: List[Finding], label: str) -> None:
    head = (f"# {family} judging file ({', '.join(sorted(FAMILIES[family]))}); see ../README.md for the protocol.\n"
            f"# Drawn by run.py sample (seed {SEED!r}) on {label or 'an unlabelled run'}.\n"
            f"# Fill verdict with \"TRUE\" or \"FALSE\" and reason with one line, by reading the code and its\n"
            f"# callers in ../.src/<package>-<version>/<path>, never by the message.\n"
            f"family = {_s(family)}\n")
    text = head + "".join(entry_toml(f, "sample") for f in findings)
    judged_path(family).write_text(text, encoding="utf-8")


def load_judged() -> Dict[str, List[Entry]]:
    """Every judging file, validated: known codes of its family, verdict TRUE/FALSE with a reason or empty."""
    out = {}
    for family in FAMILIES:
        path = judged_path(family)
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise Fail(f"{path.name}: {e}")
        entries, keys = [], set()
        for i, raw in enumerate(data.get("finding", []), 1):
            where = f"{path.name} finding {i}"
            try:
                f = Finding(str(raw["package"]), str(raw["version"]), str(raw["path"]), int(raw["line"]),
                            int(raw["col"]), str(raw["code"]), str(raw["message"]), str(raw["text_hash"]))
                entry = Entry(f, str(raw.get("origin", "")), str(raw["verdict"]).strip(),
                              str(raw["reason"]).strip())
            except (KeyError, TypeError, ValueError) as e:
                raise Fail(f"{where}: bad or missing field ({e})")
            if f.family != family:
                raise Fail(f"{where}: {f.code} is not a {family} code")
            if entry.verdict not in VERDICTS + ("",):
                raise Fail(f"{where} ({f.where()}): verdict must be TRUE, FALSE or empty, not {entry.verdict!r}")
            if "\n" in entry.reason:
                raise Fail(f"{where} ({f.where()}): the reason must be one line")
            if entry.verdict and not entry.reason:
                raise Fail(f"{where} ({f.where()}): a {entry.verdict} verdict needs a one-line reason")
            key = (f.package, f.version, f.path, f.line, f.col, f.code)
            if key in keys:
                raise Fail(f"{where}: the same finding is listed twice ({f.where()} {f.code})")
            keys.add(key)
            entries.append(entry)
        out[family] = entries
    return out


# ---------------------------------------------------------------- matching

def match(wanted: Sequence[Finding], found: Sequence[Finding]) -> Dict[int, int]:
    """One-to-one map from indexes of `wanted` to indexes of `found` for the same package, file and
    code: the same place first, then the same line, then the same line text, then within TOLERANCE lines;
    the nearest line (then column) wins, so two findings of one code on one line keep their own verdicts, and
    when only one of them is still reported it keeps its own, not the one judged first."""
    groups = collections.defaultdict(list)
    for j, f in enumerate(found):
        groups[(f.package, f.path, f.code)].append(j)
    pairs, used = {}, set()
    passes = (lambda w, f: w.line == f.line and w.col == f.col,
              lambda w, f: w.line == f.line,
              lambda w, f: w.text_hash == f.text_hash,
              lambda w, f: abs(w.line - f.line) <= TOLERANCE)
    for same in passes:
        for i, w in enumerate(wanted):
            if i in pairs:
                continue
            options = [j for j in groups.get((w.package, w.path, w.code), ())
                       if j not in used and same(w, found[j])]
            if options:
                j = min(options, key=lambda j: (abs(found[j].line - w.line), abs(found[j].col - w.col), j))
                pairs[i] = j
                used.add(j)
    return pairs


# ---------------------------------------------------------------- baseline

def write_baseline(findings: List[Finding], tool: str, label: str) -> None:
    totals = collections.Counter(f.family for f in findings)
    per_package = collections.defaultdict(collections.Counter)
    for f in findings:
        per_package[f"{f.package}-{f.version}"][f.family] += 1
    data = {"tool": tool, "label": label, "seed": SEED, "totals": {fam: totals[fam] for fam in FAMILIES},
            "per_package": {k: dict(sorted(v.items())) for k, v in sorted(per_package.items())},
            "fields": ["package", "version", "path", "line", "col", "code", "text_hash"],
            "findings": [[f.package, f.version, f.path, f.line, f.col, f.code, f.text_hash] for f in findings]}
    BASELINE.write_text(json.dumps(data, indent=0) + "\n", encoding="utf-8")


def load_baseline() -> List[Finding]:
    try:
        data = json.loads(BASELINE.read_text(encoding="utf-8"))
        return [Finding(p, v, path, int(line), int(col), code, "", h)
                for p, v, path, line, col, code, h in data["findings"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise Fail(f"{BASELINE.name}: {e} (run `run.py sample` first)")


# ---------------------------------------------------------------- report

def score(judged: Dict[str, List[Entry]], baseline: List[Finding], now: List[Finding]) -> dict:
    entries = [e for fam in FAMILIES for e in judged.get(fam, [])]
    present = match([e.finding for e in entries], now)
    taken = set(present.values())
    rest = [j for j in range(len(now)) if j not in taken]
    old = match([now[j] for j in rest], baseline)
    new = [now[j] for k, j in enumerate(rest) if k not in old]
    families = {}
    for fam in FAMILIES:
        row = {"findings": sum(f.family == fam for f in now), "baseline": sum(f.family == fam for f in baseline),
               "judged": 0, "true": 0, "false": 0, "pending": 0,
               "true_gone": 0, "false_gone": 0, "pending_gone": 0, "new": sum(f.family == fam for f in new)}
        families[fam] = row
    lists = {"true_gone": [], "false_gone": [], "false_present": []}
    for i, e in enumerate(entries):
        row = families[e.finding.family]
        row["judged"] += bool(e.verdict)
        kind = {"TRUE": "true", "FALSE": "false", "": "pending"}[e.verdict]
        if i in present:
            row[kind] += 1
            if kind == "false":
                lists["false_present"].append(e)
        else:
            row[kind + "_gone"] += 1
            if kind != "pending":
                lists[kind + "_gone"].append(e)
    for row in families.values():
        decided = row["true"] + row["false"]
        row["precision"] = row["true"] / decided if decided else None  # (rounded once, where it is shown)
    return {"families": families, "new": new,
            **{k: [e.finding for e in v] for k, v in lists.items()}}


def pct(row: dict) -> str:
    return "-" if row["precision"] is None else f"{100 * row['precision']:.1f} %"


def print_report(result: dict, out=sys.stdout) -> None:
    w = lambda s="": print(s, file=out)
    w(f"tool: {result['tool']}   sdists: {result['sdists']}")
    w()
    w("| family | findings now (baseline) | judged, still reported: TRUE / FALSE | precision | "
      "TRUE gone (recall lost) | FALSE gone (fixed) | not judged yet: reported / gone | new, unjudged |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    for fam, r in result["families"].items():
        w(f"| {fam} | {r['findings']} ({r['baseline']}) | {r['true']} / {r['false']} | {pct(r)} | "
          f"{r['true_gone']} | {r['false_gone']} | {r['pending']} / {r['pending_gone']} | {r['new']} |")
    for title, key in (("judged TRUE, no longer reported (recall lost)", "true_gone"),
                       ("judged FALSE, no longer reported (fixed)", "false_gone"),
                       ("judged FALSE, still reported", "false_present"),
                       ("new findings, not judged and not in the baseline", "new")):
        rows = result[key]
        if rows:
            w()
            w(f"{title}: {len(rows)}")
            for f in rows:
                w(f"  {f.where()}  {f.code}  {f.message}" if f.message else f"  {f.where()}  {f.code}")
    for warning in result.get("warnings", []):
        w(f"warning: {warning}")


def add_new(new: List[Finding], per_family: Optional[int], label: str) -> Dict[str, int]:
    """Append new findings (all, or a seeded draw of `per_family`) to the judging files."""
    added = {}
    for fam, chosen in draw(new, {f: per_family if per_family is not None else len(new) for f in FAMILIES}).items():
        if not chosen:
            continue
        path = judged_path(fam)
        if not path.is_file():
            path.write_text(f"family = {_s(fam)}\n", encoding="utf-8")
        with path.open("a", encoding="utf-8") as fh:
            fh.write("".join(entry_toml(f, f"new: {label}" if label else "new") for f in chosen))
        added[fam] = len(chosen)
    return added


# ---------------------------------------------------------------- commands

def cmd_sample(args, tool: List[str]) -> int:
    existing = [judged_path(f).name for f in FAMILIES if judged_path(f).is_file()]
    if existing and not args.force:
        raise Fail(f"judging files exist ({', '.join(existing)}): a new draw would discard their "
                   f"verdicts; pass --force to draw anyway")
    findings, seconds, warnings = run_all(tool, load_packages(), args.jobs)
    write_baseline(findings, shlex.join(tool), args.label)
    JUDGED.mkdir(exist_ok=True)
    sample = draw(findings, SAMPLE_SIZES)
    for fam, chosen in sample.items():
        write_judging_file(fam, chosen, args.label)
    totals = collections.Counter(f.family for f in findings)
    print("| family | findings | sampled |\n|---|---:|---:|")
    for fam in FAMILIES:
        print(f"| {fam} | {totals[fam]} | {len(sample[fam])} |")
    for warning in warnings:
        print(f"warning: {warning}")
    print(f"(tensorlint ran {seconds:.0f} s; wrote {BASELINE.name} and judged/*.toml)")
    return 0


def cmd_validate(args, tool: List[str]) -> int:
    judged = load_judged()
    if not judged:
        raise Fail(f"no judging files under {JUDGED}")
    for fam, entries in judged.items():
        verdicts = collections.Counter(e.verdict or "empty" for e in entries)
        print(f"{fam}: {len(entries)} entries, TRUE {verdicts['TRUE']}, FALSE {verdicts['FALSE']}, "
              f"not judged yet {verdicts['empty']}")
    return 0


def cmd_report(args, tool: List[str]) -> int:
    sdists = load_packages(args.only)
    keep = {(s.package, s.version) for s in sdists}   # with --only, those sdists are scored alone
    judged = {fam: [e for e in entries if e.finding[:2] in keep] for fam, entries in load_judged().items()}
    baseline = [f for f in load_baseline() if f[:2] in keep]
    now, seconds, warnings = run_all(tool, sdists, args.jobs)
    result = {"tool": shlex.join(tool), "label": args.label, "sdists": len(sdists)}
    result.update(score(judged, baseline, now))
    result["warnings"] = warnings
    print_report(result)
    print(f"(tensorlint ran {seconds:.0f} s)")
    if args.add_new is not False:
        added = add_new(result["new"], args.add_new, args.label)
        print(f"appended to the judging files: {added or 'nothing'}")
    if args.json:
        data = dict(result)
        for key in ("new", "true_gone", "false_gone", "false_present"):
            data[key] = [f._asdict() for f in result[key]]
        Path(args.json).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--tensorlint", metavar="CMD",
                        help='the tensorlint to run, e.g. "python -m tensorlint" (default: tensorlint on PATH)')
    common.add_argument("-j", "--jobs", type=int, help="passed to tensorlint check -j")
    common.add_argument("--label", default="", help="free text stored with the results (e.g. the tensorlint commit)")
    sp = sub.add_parser("sample", parents=[common], help="run, record the baseline and draw the judging files")
    sp.add_argument("--force", action="store_true", help="draw again even if judging files exist")
    sub.add_parser("validate", parents=[common], help="check the judging files and count verdicts")
    rp = sub.add_parser("report", parents=[common], help="rerun and report precision and changes per family")
    rp.add_argument("--only", action="append", default=[], metavar="PKG",
                    help="only this package (or package-version); repeatable")
    rp.add_argument("--json", metavar="FILE", help="also write every number and the listed findings to FILE")
    rp.add_argument("--add-new", nargs="?", type=int, const=None, default=False, metavar="N",
                    help="append the new findings (all, or a seeded draw of N per family) to the judging files")
    args = ap.parse_args(argv)
    tool = shlex.split(args.tensorlint) if args.tensorlint else rw.default_tool()
    command = {"sample": cmd_sample, "validate": cmd_validate, "report": cmd_report}[args.command]
    try:
        return command(args, tool)
    except Fail as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
