"""The pre-commit hooks, run by real pre-commit as a user runs them: `pre-commit try-repo`.

pre-commit installs this repository into a fresh virtualenv (pip, from PyPI: libcst and flake8, never
torch) and runs the hooks on a temporary git repository holding a hazardous file and a notebook. Slow
(one install, about twenty seconds, with pip's own download cache) but never skipped: `pip install -e
".[test]"` brings pre-commit.

`try-repo` on a checkout with uncommitted changes commits only *tracked* files (`git add -u`), so a
new, untracked `.pre-commit-hooks.yaml` would be invisible to it. The test therefore commits a
snapshot of the working tree (tracked plus untracked, not ignored, files) to a throwaway repository
and points `try-repo` at that: what is tested is exactly what is on disk, clean clone or not.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "tests" / "data" / "notebooks" / "hazards.ipynb"
HAZARD = """\
import torch

model = torch.nn.Linear(3, 1).cuda()
out = model(torch.randn(2, 3))
arr = out.numpy()
"""
SKIPPED_WHEN_COPYING = {".git", "build", "dist", ".venv", "venv", "__pycache__", ".pytest_cache", ".tox"}


def git_env(home: Path) -> Dict[str, str]:
    # pip's download cache is the user's, outside the checkout: the wheels of libcst, flake8 and pygls are
    # not fetched again on every run (the environment itself is still built from scratch).
    pip_cache = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("GIT_", "PRE_COMMIT")) and key != "SKIP"}
    env.setdefault("PIP_CACHE_DIR", pip_cache)
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, HOME=str(home),
               GIT_AUTHOR_NAME="tensorlint tests", GIT_AUTHOR_EMAIL="tests@example.invalid",
               GIT_COMMITTER_NAME="tensorlint tests", GIT_COMMITTER_EMAIL="tests@example.invalid",
               PRE_COMMIT_HOME=str(home / "pre-commit-cache"), PRE_COMMIT_COLOR="never")
    return env


def run(command: List[str], cwd: Path, env: Dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def working_tree_files() -> List[Path]:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, text=True)
    if listed.returncode == 0:
        return [Path(name) for name in listed.stdout.split("\0") if name and (ROOT / name).is_file()]
    found = []  # not a git checkout (an unpacked sdist): everything but build outputs
    for directory, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_WHEN_COPYING and not d.endswith(".egg-info")]
        found.extend(Path(directory, name).relative_to(ROOT) for name in files if not name.endswith(".pyc"))
    return found


@pytest.fixture(scope="module")
def precommit(tmp_path_factory):
    """Run both hooks once through `pre-commit try-repo`; the tests below read the results."""
    base = tmp_path_factory.mktemp("precommit")
    env = git_env(base)
    hooks_repo = base / "tensorlint-snapshot"
    for relative in working_tree_files():
        target = hooks_repo / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, target)
    for command in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "snapshot"]):
        done = run(command, hooks_repo, env)
        assert done.returncode == 0, done.stderr

    project = base / "project"
    project.mkdir()
    (project / "hazard.py").write_text(HAZARD, encoding="utf-8")
    (project / "clean.py").write_text("import numpy as np\n\nx = np.zeros(3)\n", encoding="utf-8")
    shutil.copy(NOTEBOOK, project / "analysis.ipynb")
    for command in (["git", "init", "-q"], ["git", "add", "-A"]):
        done = run(command, project, env)
        assert done.returncode == 0, done.stderr

    # try-repo installs the hooks into a fresh environment on every call (the slow part), so one call
    # runs both hooks on every file (in id order: `tensorlint` sees the original files, then
    # `tensorlint-fix` rewrites them).
    try_repo = [sys.executable, "-m", "pre_commit", "try-repo", str(hooks_repo), "--verbose", "--files"]
    result = hook_sections(run(try_repo + ["hazard.py", "clean.py", "analysis.ipynb"], project, env))
    return {"python": result, "notebook": result, "project": project}


HOOK_STATUS = re.compile(r"^(?P<name>\S.*?)\.{3,}(?:\(no files to check\))?(?P<status>Passed|Failed|Skipped)$", re.M)


def hook_sections(result: subprocess.CompletedProcess) -> Dict[str, object]:
    """pre-commit's report split per hook: {"tensorlint": (status, text), ...} plus the whole run."""
    text = result.stdout
    sections: Dict[str, object] = {"returncode": result.returncode, "all": result.stdout + result.stderr}
    matches = list(HOOK_STATUS.finditer(text))
    for match, following in zip(matches, matches[1:] + [None]):
        body = text[match.end():following.start() if following else len(text)]
        hook_id = re.search(r"^- hook id: (\S+)$", body, re.M)
        if hook_id:
            sections[hook_id.group(1)] = (match.group("status"), body)
    return sections


def hook(run: Dict[str, object], hook_id: str):
    assert hook_id in run, f"pre-commit did not run {hook_id}:\n{run['all']}"
    return run[hook_id]


def test_check_hook_fails_on_the_hazard(precommit):
    status, text = hook(precommit["python"], "tensorlint")
    assert status == "Failed", text
    assert "- exit code: 1" in text
    assert "hazard.py:5:7: TL101 `.numpy()` on a tensor that may require grad" in text
    assert "hazard.py:5:7: TL102" in text
    assert "clean.py" not in text  # pre-commit passed it too: nothing to report
    assert "tensorlint: error" not in text
    assert "files were modified" not in text
    assert precommit["python"]["returncode"] == 1


def test_fix_hook_rewrites_the_file(precommit):
    status, text = hook(precommit["python"], "tensorlint-fix")
    assert status == "Failed", text  # pre-commit fails a hook that modified files
    assert "files were modified by this hook" in text
    assert re.search(r"^Fixed \d+ problems in 2 files[.;]", text, re.M), text  # hazard.py and the notebook
    fixed = (precommit["project"] / "hazard.py").read_text(encoding="utf-8")
    assert fixed == HAZARD.replace("out.numpy()", "out.detach().cpu().numpy()")


def test_hooks_run_on_notebooks(precommit):
    """`types_or: [python, jupyter]`: pre-commit hands `.ipynb` files to both hooks, which read them cleanly."""
    for hook_id in ("tensorlint", "tensorlint-fix"):
        status, text = hook(precommit["notebook"], hook_id)
        assert status != "Skipped", text
        assert "tensorlint: error" not in text and "An unexpected error" not in precommit["notebook"]["all"]


def test_hooks_check_and_fix_notebooks(precommit):
    assert "analysis.ipynb:cell 4:1:7: TL101" in hook(precommit["notebook"], "tensorlint")[1]
    assert "files were modified by this hook" in hook(precommit["notebook"], "tensorlint-fix")[1]
    notebook = (precommit["project"] / "analysis.ipynb").read_text(encoding="utf-8")
    assert "out.detach().cpu().numpy()" in notebook
