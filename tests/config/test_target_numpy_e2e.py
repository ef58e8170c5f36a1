"""The project's NumPy range reaches the rules through every adaptor: API, CLI and real flake8."""
import subprocess
import sys

import pytest

from tensorlint import check_source
from tensorlint.adapters.cli.main import main
from tensorlint.core.settings import Settings

SOURCE = "import numpy as np\nmask = np.zeros(3, dtype=np.bool)\n"


def _project(tmp_path, numpy_requirement):
    (tmp_path / "pyproject.toml").write_text(
        f'[project]\nname = "demo"\nversion = "0"\ndependencies = ["torch>=2.1", "{numpy_requirement}"]\n')
    package = tmp_path / "src" / "demo"
    package.mkdir(parents=True)
    target = package / "masks.py"
    target.write_text(SOURCE)
    return target


def _codes(output: str):
    return [line.split()[1] for line in output.splitlines() if ": TL" in line]


@pytest.mark.parametrize("requirement, flagged", [
    pytest.param("numpy>=1.24,<3", True, id="still supports NumPy 1.x: np.bool crashes on 1.24-1.26"),
    pytest.param("numpy>=2", False, id="NumPy 2 only: np.bool is valid"),
])
def test_cli_reads_the_projects_numpy_range(tmp_path, capsys, requirement, flagged):
    target = _project(tmp_path, requirement)
    code = main(["check", str(target)])
    assert (code, "TL301" in _codes(capsys.readouterr().out)) == (int(flagged), flagged)


def test_explicit_target_wins_over_metadata(tmp_path, capsys):
    target = _project(tmp_path, "numpy>=1.24")
    assert main(["check", "--target-numpy", "2.0", str(target)]) == 0
    capsys.readouterr()
    assert main(["check", "--target-numpy", "1.26", str(target)]) == 1


def test_bad_target_is_one_line_exit_2(tmp_path, capsys):
    target = _project(tmp_path, "numpy>=2")
    assert main(["check", "--target-numpy", "two", str(target)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "target-numpy" in err and "Traceback" not in err


def test_bad_project_config_is_one_line_exit_2(tmp_path, capsys):
    target = _project(tmp_path, "numpy>=2")
    (tmp_path / "pyproject.toml").write_text('[tool.tensorlint]\ntarget-numpy = "two"\n')
    assert main(["check", str(target)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "pyproject.toml" in err and "target-numpy" in err


def test_api_uses_the_path_or_explicit_settings(tmp_path):
    target = _project(tmp_path, "numpy>=2")
    assert [d.code for d in check_source(SOURCE, str(target))] == []
    assert [d.code for d in check_source(SOURCE)] == ["TL301"]
    assert [d.code for d in check_source(SOURCE, str(target), settings=Settings())] == ["TL301"]


def _flake8(*args, cwd):
    return subprocess.run([sys.executable, "-m", "flake8", "--isolated", "--select", "TL", *args],
                          cwd=cwd, capture_output=True, text=True)


def test_flake8_reads_the_projects_numpy_range(tmp_path):
    target = _project(tmp_path, "numpy>=2")
    assert _flake8(str(target), cwd=tmp_path).stdout == ""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\ndependencies = ["numpy"]\n')
    from tensorlint.config.targets import clear_cache
    clear_cache()
    assert "TL301" in _flake8(str(target), cwd=tmp_path).stdout


def test_flake8_option_overrides_metadata(tmp_path):
    target = _project(tmp_path, "numpy>=1.24")
    assert "TL301" in _flake8(str(target), cwd=tmp_path).stdout
    assert _flake8("--tensorlint-target-numpy", "2.0", str(target), cwd=tmp_path).stdout == ""


def test_flake8_bad_option_is_a_clear_error(tmp_path):
    target = _project(tmp_path, "numpy>=2")
    result = _flake8("--tensorlint-target-numpy", "two", str(target), cwd=tmp_path)
    assert result.returncode != 0
    assert "--tensorlint-target-numpy: not a version: 'two'" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
