"""Opt-in rules (house styles such as TL105) are off unless named in full, everywhere a user selects codes."""
import subprocess
import sys

from tensorlint import check_source
from tensorlint.config.selection import enabled_codes

UNKNOWN_PARAMETER = "import numpy as np\nimport torch\ndef to_numpy(t):\n    return t.numpy()\n"
MODEL_OUTPUT = "import numpy as np\nimport torch\ndef f(x):\n    return model(x).numpy()\n"


def test_off_by_default_and_under_a_prefix():
    assert "TL105" not in enabled_codes()
    assert "TL105" not in enabled_codes(select=["TL1"])
    assert "TL105" not in enabled_codes(select=["TL"])
    assert "TL101" in enabled_codes(select=["TL1"])


def test_on_when_named_in_full():
    assert "TL105" in enabled_codes(select=["TL105"])
    assert "TL105" in enabled_codes(select=["TL", "TL105"])
    assert "TL105" not in enabled_codes(select=["TL105"], ignore=["TL105"])


def test_unknown_provenance_is_silent_by_default_and_reported_when_selected():
    assert check_source(UNKNOWN_PARAMETER) == []
    found = check_source(UNKNOWN_PARAMETER, select=["TL", "TL105"])
    assert [d.code for d in found] == ["TL105"]
    assert not found[0].fix.is_safe and "assumes `t` is a torch tensor" in found[0].fix.title


def test_a_crash_rule_at_the_same_place_supersedes_the_house_style():
    codes = [d.code for d in check_source(MODEL_OUTPUT, select=["TL", "TL105"])]
    assert codes == ["TL101"]


def _flake8(tmp_path, *options):
    path = tmp_path / "helpers.py"
    path.write_text(UNKNOWN_PARAMETER)
    return subprocess.run([sys.executable, "-m", "flake8", *options, path.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)


def test_flake8_select_tl_leaves_it_off(tmp_path):
    completed = _flake8(tmp_path, "--select", "TL")
    assert completed.stdout == "" and completed.returncode == 0, completed.stderr


def test_flake8_extend_select_turns_it_on(tmp_path):
    completed = _flake8(tmp_path, "--select", "TL", "--extend-select", "TL105")
    assert completed.stdout.startswith("helpers.py:4:12: TL105 "), completed.stdout + completed.stderr
    assert completed.returncode == 1


def test_cli_prefix_select_leaves_it_off_and_extend_select_turns_it_on(tmp_path, capsys):
    from tensorlint.adapters.cli.main import main
    path = tmp_path / "helpers.py"
    path.write_text(UNKNOWN_PARAMETER)
    assert main(["check", str(path), "--select", "TL1", "--no-cache"]) == 0
    assert "TL105" not in capsys.readouterr().out
    assert main(["check", str(path), "--extend-select", "TL105", "--no-cache"]) == 1
    assert f"{path}:4:12: TL105 " in capsys.readouterr().out


def test_config_extend_select_turns_it_on(tmp_path, capsys):
    from tensorlint.adapters.cli.main import main
    (tmp_path / "pyproject.toml").write_text('[tool.tensorlint]\nextend-select = ["TL105"]\n')
    path = tmp_path / "helpers.py"
    path.write_text(UNKNOWN_PARAMETER)
    assert main(["check", str(path), "--no-cache"]) == 1
    assert "TL105" in capsys.readouterr().out
