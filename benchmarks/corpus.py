"""The benchmark corpus: the Python files of pinned sdists of real PyTorch projects.

    python benchmarks/corpus.py            # download (once) and extract; prints the corpus size

The sdists are fetched with pip (hash-checked) into `benchmarks/.corpus/sdists/` and their `.py`
files, plus the project metadata that decides tensorlint's settings (`pyproject.toml`, `setup.cfg`,
`requirements*.txt`), are extracted to `benchmarks/.corpus/src/<sdist>/`. Both are git-ignored and
reused by later runs. Subsets are every 2nd / 4th / 16th file of the sorted list (so each mixes
all projects, and 1/16 ⊂ ¼ ⊂ ½ ⊂ all), hard-linked under `benchmarks/.corpus/sets/`
so that every tool can be given a directory.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Dict, List, NamedTuple

HERE = Path(__file__).resolve().parent
ROOT = HERE / ".corpus"
SDISTS = ROOT / "sdists"
SOURCES = ROOT / "src"
SETS = ROOT / "sets"


class Project(NamedTuple):
    requirement: str   # name==version, as pip takes it
    sha256: str        # of the sdist, checked by pip


PROJECTS = (
    Project("transformers==5.23.0", "19d647a4d5d903a7c644ca5cde2d86efc3dde7d8c687ae7988806ff2205efa71"),
    Project("diffusers==0.42.1", "ce855ab670c8cd1c7a61be8f12fbc68c081bca8ec5e747273946d8d6c2aff23b"),
    Project("pytorch-lightning==2.6.6", "52c52b20522dd3d3feb3bb3aae2dbe3f291e8e836d4111a74cfd72e9df018834"),
    Project("timm==1.0.31", "baa0b333339c46d3d6d4965d99b69f5053afed71210e8f433d7ea5ee6a18f0ec"),
    Project("kornia==0.9.0", "65e82219b10e73289fb8cb3c739879d917e6908c0a977b1d65f388cba1741f71"),
    Project("accelerate==1.15.0", "5654f8c5eaa0d4fa68b33e287a97765da6849bf6d51dcac874e73fbbddfb6134"),
)
METADATA = ("pyproject.toml", "setup.cfg")
SUBSETS = {"half": 2, "quarter": 4, "sixteenth": 16}  # every Nth file of the sorted list


def download() -> List[Path]:
    """The sdists, downloaded by pip with their hashes checked, or found from an earlier run."""
    SDISTS.mkdir(parents=True, exist_ok=True)
    have = {p.name for p in SDISTS.glob("*.tar.gz")}
    missing = [p for p in PROJECTS if _sdist_name(p) not in have]
    if missing:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as requirements:
            requirements.writelines(f"{p.requirement} --hash=sha256:{p.sha256}\n" for p in missing)
        try:
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                            "--no-deps", "--no-binary", ":all:", "--require-hashes", "-r", requirements.name,
                            "-d", str(SDISTS)], check=True)
        finally:
            os.unlink(requirements.name)
    return sorted(SDISTS / _sdist_name(p) for p in PROJECTS)


def _sdist_name(project: Project) -> str:
    name, version = project.requirement.split("==")
    return f"{name.replace('-', '_')}-{version}.tar.gz"


def extract(sdists: List[Path]) -> Path:
    for sdist in sdists:
        target = SOURCES / sdist.name[:-len(".tar.gz")]
        if target.is_dir():
            continue
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        with tarfile.open(sdist) as archive:
            members = [m for m in archive.getmembers() if m.isfile() and _wanted(m.name)]
            for member in members:  # drop the sdist's top folder
                member.name = member.name.split("/", 1)[1]
            archive.extractall(partial, members=members, filter="data")
        partial.rename(target)
    return SOURCES


def _wanted(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return "/" in name and (base.endswith(".py") or base in METADATA
                            or (base.startswith("requirements") and base.endswith(".txt")))


def python_files(root: Path) -> List[Path]:
    """Every `.py` file under root, sorted, as tensorlint's directory walk would find them."""
    found = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        found.extend(Path(directory) / f for f in sorted(files) if f.endswith(".py"))
    return found


def subsets() -> Dict[str, Path]:
    """Directories holding all, ½, ¼ and 1/16 of the corpus (hard links; metadata files in every set)."""
    files = python_files(SOURCES)
    result = {"all": SOURCES}
    for name, step in SUBSETS.items():
        target = SETS / name
        if not target.is_dir():
            partial = target.with_name(name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            chosen = files[::step] + [p for p in SOURCES.rglob("*") if p.is_file() and not p.name.endswith(".py")]
            for source in chosen:
                link = partial / source.relative_to(SOURCES)
                link.parent.mkdir(parents=True, exist_ok=True)
                os.link(source, link)
            partial.rename(target)
        result[name] = target
    return result


def own_work_tree() -> None:
    """Make the corpus a git work tree of its own. This repository's .gitignore ignores `benchmarks/.corpus/`,
    and tensorlint, like ruff, skips what git ignores when it walks a directory; inside a work tree of
    its own (without a .gitignore) the corpus is checked whole, as in a checkout of those projects."""
    if not (ROOT / ".git").exists():
        try:
            subprocess.run(["git", "init", "--quiet", str(ROOT)], check=True)
        except (OSError, subprocess.CalledProcessError):
            (ROOT / ".git").mkdir()  # what tensorlint looks for


def build() -> Dict[str, Path]:
    extract(download())
    own_work_tree()
    return subsets()


def main() -> int:
    sets = build()
    for name, path in sets.items():
        files = python_files(path)
        lines = sum(f.read_bytes().count(b"\n") for f in files)
        print(f"{name:8} {len(files):6} files {lines:10,} lines  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
