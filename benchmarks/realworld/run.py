"""The real-world evaluation set: hand-checked hazard and safe sites in published PyPI sdists.

    python benchmarks/realworld/run.py                       # the installed tensorlint
    python benchmarks/realworld/run.py --json after.json     # also write every number and per-site hit
    PYTHONPATH=/tmp/tl-baseline python benchmarks/realworld/run.py --tensorlint "python -m tensorlint"

The ground truth lives in `sites/<package>-<version>.toml` (one file per sdist; see README.md for the
fields and the pattern vocabulary). This script downloads each sdist with pip (hash-checked, sdists
only) into `.sdists/`, extracts its Python files and project metadata to `.src/<package>-<version>/`
(a git work tree of its own, so tensorlint's directory walk does not skip it as git-ignored), runs
`tensorlint check <that folder> --format json --no-cache` once per sdist, matches the findings to the
sites and prints recall per family and per code, the false positives on safe sites, and the findings
per rule over the whole corpus.

A finding matches a site when its path is the site's path and its line lies in [line, end_line].
A hazard site is *found* for a family when every expected code of that family is reported there
("any" counts a site where at least one code of that family is reported). A site lists `safe_for`
families when it must not get findings of those families (every safe site does; a hazard site may
too): any such finding is a false positive. TL103 (a working but non-canonical chain) is style, not a
hazard: it is never expected and never a false positive, only counted in the per-rule totals.

Exit status: 0 (it is a report), 2 when a download, an extraction, the ground truth or the tool fails.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import zipfile
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Set

HERE = Path(__file__).resolve().parent
SITES_DIR = HERE / "sites"
SDISTS = HERE / ".sdists"
SOURCES = HERE / ".src"

FAMILIES: Dict[str, Set[str]] = {          # the codes that are scored, per family
    "TL1": {"TL101", "TL102", "TL104"},
    "TL2": {"TL201", "TL202"},
    "TL3": {"TL301", "TL302"},
    "TL4": {"TL401", "TL402", "TL403", "TL404"},
    "TL5": {"TL501", "TL502", "TL503", "TL504"},
}
CODES = set().union(*FAMILIES.values())
PATTERNS = {
    # hazard patterns
    "direct", "unknown-loss", "tqdm-loop", "step-helper", "engine-callback", "gan-schedule",
    "generation-loop", "container-sink", "data-chain", "helper-param", "helper-return", "hook-param",
    "self-attr", "param-loop", "np-alias",
    # issue 23 (TL104, TL5): where the dtype / the non-blocking copy comes from
    "dtype-option", "dtype-source", "async-copy",
    # safe patterns (a safe site may also use a hazard pattern name for the shape it imitates)
    "guarded", "after-loop", "no-grad", "detached", "host-value", "integer-result", "dataset-data",
    "cross-module-safe",
    # issue 23 safe patterns
    "dtype-cast", "synchronized", "fresh-tensor",
}
METADATA = ("pyproject.toml", "setup.cfg", "setup.py")


class Fail(Exception):
    """A download, extraction, ground-truth or tool error: reported, exit status 2."""


class Site(NamedTuple):
    package: str
    version: str
    path: str
    line: int
    end_line: int
    codes: tuple
    safe_for: tuple
    pattern: str
    evidence: str

    @property
    def key(self) -> str:
        return f"{self.package}-{self.version}:{self.path}:{self.line}"

    @property
    def hazard(self) -> bool:
        return bool(self.codes)

    def families(self) -> List[str]:
        return sorted({c[:3] for c in self.codes})


class Sdist(NamedTuple):
    package: str
    version: str
    sdist: str
    sha256: str
    sites: tuple

    @property
    def name(self) -> str:
        return f"{self.package}-{self.version}"


# ---------------------------------------------------------------- ground truth

def load_sdists(only: Sequence[str] = ()) -> List[Sdist]:
    sdists = []
    for toml in sorted(SITES_DIR.glob("*.toml")):
        try:
            data = tomllib.loads(toml.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise Fail(f"{toml.name}: {e}")
        for field in ("package", "version", "sdist", "sha256"):
            if not isinstance(data.get(field), str):
                raise Fail(f"{toml.name}: missing or non-string field {field!r}")
        if toml.stem != f"{data['package']}-{data['version']}":
            raise Fail(f"{toml.name}: file name does not match package-version")
        sites = []
        for i, raw in enumerate(data.get("site", []), 1):
            where = f"{toml.name} site {i}"
            try:
                codes = tuple(raw["codes"])
                line = int(raw["line"])
                site = Site(data["package"], data["version"], str(raw["path"]), line,
                            int(raw.get("end_line", line)), codes, tuple(raw.get("safe_for", ())),
                            str(raw["family_pattern"]), str(raw["evidence"]))
            except (KeyError, TypeError, ValueError) as e:
                raise Fail(f"{where}: bad or missing field ({e})")
            if not set(site.codes) <= CODES:
                raise Fail(f"{where}: unknown codes {sorted(set(site.codes) - CODES)}")
            if not set(site.safe_for) <= set(FAMILIES) or set(site.safe_for) & set(site.families()):
                raise Fail(f"{where}: safe_for must name families the site does not expect")
            if site.pattern not in PATTERNS:
                raise Fail(f"{where}: family_pattern {site.pattern!r} is not in the vocabulary")
            if site.end_line < site.line:
                raise Fail(f"{where}: end_line before line")
            if not site.hazard and not (site.safe_for and raw.get("why_safe")):
                raise Fail(f"{where}: a safe site needs safe_for and why_safe")
            if not (site.evidence.startswith("fixed in ") or site.evidence.startswith("judged")):
                raise Fail(f"{where}: evidence must start with 'fixed in' or 'judged'")
            sites.append(site)
        if len({s.key for s in sites}) != len(sites):
            raise Fail(f"{toml.name}: two sites share a path and line")
        sdists.append(Sdist(data["package"], data["version"], data["sdist"], data["sha256"], tuple(sites)))
    if only:
        sdists = [s for s in sdists if s.package in only or s.name in only]
    if not sdists:
        raise Fail(f"no ground truth found under {SITES_DIR}")
    return sdists


# ---------------------------------------------------------------- download and extract

def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(sdist: Sdist) -> Path:
    """The sdist file, fetched by pip (sdists only, hash required) unless an earlier run left it."""
    target = SDISTS / sdist.sdist
    if target.is_file() and _sha256(target) == sdist.sha256:
        return target
    SDISTS.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()  # a partial or different file: pip would keep it and fail the hash check
    with tempfile.TemporaryDirectory() as tmp:
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text(f"{sdist.package}=={sdist.version} --hash=sha256:{sdist.sha256}\n")
        base = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                "--no-deps", "--no-binary", ":all:", "--require-hashes", "-r", str(requirements),
                "-d", str(SDISTS)]
        # pip prepares metadata from the sdist; an old build backend sometimes fails in an isolated
        # build environment, so retry once with the current environment's setuptools, then once in
        # an isolated build with old build tools taken as wheels (a setup.py that imports
        # pkg_resources, removed in setuptools 81, or writes requirements that packaging 22 rejects,
        # such as pytorch-lightning 1.5's `>=1.7.*`; PIP_CONSTRAINT reaches pip's build-environment
        # install, and `--no-binary PKG` keeps the sdist for the package itself only)
        old_tools = Path(tmp) / "constraints.txt"
        old_tools.write_text("setuptools<60\npackaging<22\nwheel<0.38\n")
        own_only = base[:base.index(":all:")] + [sdist.package] + base[base.index(":all:") + 1:]
        errors = []
        for cmd, env in ((base, None), (base + ["--no-build-isolation"], None),
                         (own_only, dict(os.environ, PIP_CONSTRAINT=str(old_tools)))):
            done = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if done.returncode == 0 and target.is_file():
                break
            errors.append(done.stderr.strip().splitlines()[-3:] if done.stderr else [f"exit {done.returncode}"])
        else:
            raise Fail(f"pip download of {sdist.name} failed: {errors}")
    if _sha256(target) != sdist.sha256:
        raise Fail(f"{target.name}: sha256 does not match the ground truth")
    return target


def _wanted(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return "/" in name and (base.endswith(".py") or base in METADATA
                            or (base.startswith("requirements") and base.endswith(".txt")))


def extract(sdist: Sdist, archive: Path) -> Path:
    """`.src/<package>-<version>/`: the sdist's Python files and metadata, without its top folder."""
    target = SOURCES / sdist.name
    stamp = target / ".sdist-sha256"
    if stamp.is_file() and stamp.read_text().strip() == sdist.sha256:
        return target
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as z:
                for info in z.infolist():
                    if info.is_dir() or not _wanted(info.filename):
                        continue
                    rel = Path(info.filename.split("/", 1)[1])
                    if rel.is_absolute() or ".." in rel.parts:
                        continue
                    out = partial / rel
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_bytes(z.read(info))
        else:
            with tarfile.open(archive) as t:
                members = [m for m in t.getmembers() if m.isfile() and _wanted(m.name)]
                for m in members:
                    m.name = m.name.split("/", 1)[1]
                t.extractall(partial, members=members, filter="data")
    except (OSError, tarfile.TarError, zipfile.BadZipFile, IndexError) as e:
        raise Fail(f"extracting {archive.name}: {e}")
    (partial / ".sdist-sha256").write_text(sdist.sha256 + "\n")
    partial.rename(target)
    return target


def own_work_tree() -> None:
    """Make `.src` a git work tree of its own (as benchmarks/corpus.py does): this repository ignores
    `/benchmarks/realworld/.src/`, and tensorlint skips what git ignores when it walks a directory."""
    if not (SOURCES / ".git").exists():
        try:
            subprocess.run(["git", "init", "--quiet", str(SOURCES)], check=True)
        except (OSError, subprocess.CalledProcessError):
            (SOURCES / ".git").mkdir()


def check_sites_exist(sdist: Sdist, root: Path) -> None:
    for site in sdist.sites:
        f = root / site.path
        if not f.is_file():
            raise Fail(f"{site.key}: no such file in the extracted sdist")
        n = f.read_bytes().count(b"\n") + 1
        if site.end_line > n:
            raise Fail(f"{site.key}: line beyond the end of the file ({n} lines)")


# ---------------------------------------------------------------- run tensorlint

def default_tool() -> List[str]:
    return ["tensorlint"] if shutil.which("tensorlint") else [sys.executable, "-m", "tensorlint"]


def run_tool(tool: List[str], root: Path, jobs: Optional[int], project: bool = False) -> tuple:
    """Findings of one sdist as (relative path, line, code) tuples, the seconds taken and a warning."""
    cmd = tool + ["check", str(root), "--format", "json", "--no-cache"]
    if project:  # each sdist is one project: its modules tell each other what they know
        cmd.append("--project")
    if jobs:
        cmd += ["-j", str(jobs)]
    start = time.monotonic()
    try:
        # run inside the sdist's folder: `python -m tensorlint` must not pick up a tensorlint package
        # from the caller's working directory (this checkout) ahead of PYTHONPATH
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=root)
    except OSError as e:
        raise Fail(f"cannot run {shlex.join(tool)}: {e}")
    seconds = time.monotonic() - start
    try:
        findings = json.loads(done.stdout)
        if not isinstance(findings, list) or not all(
                isinstance(d, dict) and {"code", "filename", "location"} <= d.keys() for d in findings):
            findings = None
    except json.JSONDecodeError:
        findings = None
    if findings is None or done.returncode not in (0, 1, 2) or (done.returncode == 2 and not findings):
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise Fail(f"{shlex.join(cmd)} exited {done.returncode}: {tail}")
    warning = ""
    if done.returncode == 2:   # some file could not be read or parsed; the others were checked
        warning = "; ".join(done.stderr.strip().splitlines()[:5]).replace(str(root) + os.sep, "")
    out = []
    for d in findings:
        name = Path(d["filename"])
        rel = os.path.relpath(name if name.is_absolute() else root / name, root)
        out.append((Path(rel).as_posix(), int(d["location"]["row"]), d["code"]))
    return out, seconds, warning


# ---------------------------------------------------------------- scoring

def score(sdists: List[Sdist], findings: Dict[str, list]) -> dict:
    per_site = []
    by_rule = collections.Counter()
    for sdist in sdists:
        index = collections.defaultdict(set)
        for path, line, code in findings[sdist.name]:
            by_rule[code] += 1
            index[path].add((line, code))
        for site in sdist.sites:
            reported = sorted({c for (l, c) in index.get(site.path, ()) if site.line <= l <= site.end_line})
            rep = set(reported)
            found = {f: set(c for c in site.codes if c[:3] == f) <= rep for f in site.families()}
            anyf = {f: bool(rep & FAMILIES[f]) for f in site.families()}
            fps = sorted(c for c in rep if any(c in FAMILIES[f] for f in site.safe_for))
            per_site.append({
                "id": site.key, "package": site.package, "version": site.version, "path": site.path,
                "line": site.line, "end_line": site.end_line, "kind": "hazard" if site.hazard else "safe",
                "codes": list(site.codes), "safe_for": list(site.safe_for), "family_pattern": site.pattern,
                "fix_evidenced": site.evidence.startswith("fixed in "),
                "reported": reported, "found": found, "any_found": anyf, "false_positive_codes": fps,
            })
    recall = {}
    for fam in FAMILIES:
        rows = [s for s in per_site if fam in s["found"]]
        recall[fam] = {"sites": len(rows), "found": sum(s["found"][fam] for s in rows),
                       "any_found": sum(s["any_found"][fam] for s in rows)}
    per_code = {}
    for code in sorted(CODES):
        rows = [s for s in per_site if code in s["codes"]]
        if rows:
            per_code[code] = {"expected": len(rows), "matched": sum(code in s["reported"] for s in rows)}
    per_pattern = collections.defaultdict(lambda: {"sites": 0, "found": 0})
    for s in per_site:
        if s["kind"] == "hazard":
            p = per_pattern[s["family_pattern"]]
            p["sites"] += 1
            p["found"] += all(s["found"].values())
    safe_checks = {}
    for fam in FAMILIES:
        rows = [s for s in per_site if fam in s["safe_for"]]
        safe_checks[fam] = {"sites": len(rows),
                            "false_positives": sum(bool(set(s["false_positive_codes"]) & FAMILIES[fam]) for s in rows)}
    fps = [{"id": s["id"], "kind": s["kind"], "codes": s["false_positive_codes"]}
           for s in per_site if s["false_positive_codes"]]
    return {
        "recall": recall, "per_code": per_code, "per_pattern": dict(sorted(per_pattern.items())),
        "safe_checks": safe_checks, "false_positives": fps,
        "findings_per_rule": dict(sorted(by_rule.items())), "findings_total": sum(by_rule.values()),
        "sites": per_site,
    }


def pct(a: int, b: int) -> str:
    return f"{100 * a / b:5.1f}%" if b else "    -"


def report(result: dict, out=sys.stdout) -> None:
    w = lambda s="": print(s, file=out)
    sites = result["sites"]
    hazards = sum(s["kind"] == "hazard" for s in sites)
    w(f"tool: {result['tool']}   sdists: {result['sdists']}   hazard sites: {hazards}   "
      f"safe sites: {len(sites) - hazards}")
    w()
    w("recall per family (a site is found when every expected code of the family is reported there)")
    w(f"  {'family':7} {'found':>11} {'recall':>7}   {'any code':>11}")
    for fam, r in result["recall"].items():
        w(f"  {fam:7} {r['found']:4} / {r['sites']:<4} {pct(r['found'], r['sites'])}   "
          f"{r['any_found']:4} / {r['sites']:<4}")
    w()
    w("expected codes matched")
    for code, r in result["per_code"].items():
        w(f"  {code}  {r['matched']:3} / {r['expected']:<3} {pct(r['matched'], r['expected'])}")
    w()
    w("hazard sites found (all families) per pattern")
    for pat, r in result["per_pattern"].items():
        w(f"  {pat:17} {r['found']:3} / {r['sites']:<3} {pct(r['found'], r['sites'])}")
    w()
    w("false positives (a finding of a family at a site marked safe for it)")
    for fam, r in result["safe_checks"].items():
        if r["sites"]:
            w(f"  {fam}  {r['false_positives']:3} of {r['sites']:3} sites")
    for fp in result["false_positives"]:
        w(f"    {fp['id']}  ({fp['kind']} site)  {', '.join(fp['codes'])}")
    w()
    w(f"findings per rule over the whole corpus ({result['findings_total']} in all)")
    for code, n in result["findings_per_rule"].items():
        w(f"  {code}  {n:6}")
    for warning in result.get("warnings", []):
        w(f"warning: {warning}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", metavar="FILE", help="also write every number and the per-site hits to FILE")
    ap.add_argument("--tensorlint", metavar="CMD",
                    help='the tensorlint to run, e.g. "python -m tensorlint" (default: tensorlint on PATH)')
    ap.add_argument("-j", "--jobs", type=int, help="passed to tensorlint check -j (default: tensorlint's own)")
    ap.add_argument("--only", action="append", default=[], metavar="PKG",
                    help="only this package (or package-version); repeatable")
    ap.add_argument("--misses", action="store_true", help="also list every hazard site that was not found")
    ap.add_argument("--project", action="store_true", help="check each sdist as one project (check --project)")
    ap.add_argument("--label", default="", help="free text stored in the JSON (e.g. the tensorlint commit)")
    args = ap.parse_args(argv)
    tool = shlex.split(args.tensorlint) if args.tensorlint else default_tool()
    try:
        sdists = load_sdists(args.only)
        roots = {}
        for sdist in sdists:
            roots[sdist.name] = extract(sdist, download(sdist))
            check_sites_exist(sdist, roots[sdist.name])
        own_work_tree()
        findings, warnings, seconds = {}, [], 0.0
        for sdist in sdists:
            findings[sdist.name], took, warning = run_tool(tool, roots[sdist.name], args.jobs, args.project)
            seconds += took
            if warning:
                warnings.append(f"{sdist.name}: {warning}")
    except Fail as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    result = {"tool": shlex.join(tool), "label": args.label, "sdists": len(sdists), "project": args.project}
    result.update(score(sdists, findings))
    result["warnings"] = warnings
    report(result)
    print(f"(tensorlint ran {seconds:.0f} s over {len(sdists)} sdists)")
    if args.misses:
        print("\nhazard sites not found")
        for s in result["sites"]:
            if s["kind"] == "hazard" and not all(s["found"].values()):
                print(f"  {s['id']}  expected {','.join(s['codes'])}  reported {','.join(s['reported']) or '-'}"
                      f"  [{s['family_pattern']}]")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
