"""The flake8 plugin through real flake8 subprocesses: positions, noqa, selection, bad input."""
import subprocess
import sys

import pytest

HEADER = "import numpy as np\nimport torch\n"


def flake8(tmp_path, source, *options, name="sample.py"):
    """Run flake8 on one file in tmp_path (cwd), return (stdout lines, completed process)."""
    (tmp_path / name).write_text(source, encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", *options, name],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert "Traceback" not in completed.stderr, completed.stderr
    return completed.stdout.splitlines(), completed


def positions(lines):
    """`sample.py:4:12: TL101 ...` → ('sample.py', 4, 12, 'TL101')."""
    result = []
    for line in lines:
        path, row, col, rest = line.split(":", 3)
        result.append((path, int(row), int(col), rest.split()[0]))
    return result


# PEP 8-clean files, so that flake8's default selection shows only our codes. The model is built here and moved to
# the device, so its output is manifestly both grad-requiring (TL101) and on an accelerator (TL102).
MOVED_MODEL = HEADER + (
    "\n\ndef f(x, device):\n"
    "    model = torch.nn.Linear(2, 2).to(device)\n"
    "    return model(x).numpy(){noqa}\n\n\nprint(np.pi, torch.pi)\n"
)


def test_column_is_1_based_at_the_expression_start(tmp_path):
    lines, completed = flake8(tmp_path, HEADER + "def f(x):\n    return model(x).cpu().numpy()\n",
                              "--select", "TL")
    assert lines == [
        "sample.py:4:12: TL101 `.numpy()` on a tensor that may require grad (`model(x).cpu()` comes from "
        "`model(x)` (line 4)): insert `.detach()` first "
        "(raises \"RuntimeError: Can't call numpy() on Tensor that requires grad\")"
    ]
    assert completed.returncode == 1


@pytest.mark.parametrize("source, expected", [
    pytest.param(HEADER + "t = torch.ones(3, requires_grad=True)\nresult = np.asarray(t * 2)\n",
                 [("sample.py", 4, 21, "TL101")], id="implicit-conversion-argument"),
    pytest.param(HEADER + "def f(x, device):\n    model = torch.nn.Linear(2, 2).to(device)\n"
                 "    y = ('é€😀', model(x).numpy())\n    return y\n",
                 [("sample.py", 5, 17, "TL101"), ("sample.py", 5, 17, "TL102")],
                 id="non-ascii-before-is-counted-in-characters"),
    pytest.param(HEADER + "def f():\n    x = torch.ones(3, requires_grad=True)\n"
                 "    return (\n        x * 2\n    ).cpu().numpy()\n",
                 [("sample.py", 5, 12, "TL101")], id="multi-line-expression-starts-at-its-parenthesis"),
    pytest.param(HEADER + "def f(a, device):\n    g = torch.nn.Linear(2, 2).to(device)\n"
                 "    return g(g(a).detach().numpy()).numpy()\n",
                 [("sample.py", 5, 12, "TL101"), ("sample.py", 5, 12, "TL102"), ("sample.py", 5, 14, "TL102")],
                 id="nested-conversions"),
])
def test_columns(tmp_path, source, expected):
    lines, _ = flake8(tmp_path, source, "--select", "TL")
    assert positions(lines) == expected


def test_plugin_is_on_by_default(tmp_path):
    lines, _ = flake8(tmp_path, MOVED_MODEL.format(noqa=""))
    assert positions(lines) == [("sample.py", 7, 12, "TL101"), ("sample.py", 7, 12, "TL102")]


@pytest.mark.parametrize("noqa, expected", [
    pytest.param("  # noqa", [], id="bare-noqa"),
    pytest.param("  # noqa: TL101", ["TL102"], id="noqa-TL101-keeps-TL102"),
    pytest.param("  # noqa: TL102", ["TL101"], id="noqa-TL102-keeps-TL101"),
    pytest.param("  # noqa: TL101,TL102", [], id="noqa-both"),
    pytest.param("  # noqa: TL1", [], id="noqa-prefix"),
    pytest.param("  # noqa: E501", ["TL101", "TL102"], id="noqa-other-code"),
])
def test_noqa(tmp_path, noqa, expected):
    lines, _ = flake8(tmp_path, MOVED_MODEL.format(noqa=noqa))
    assert [code for *_, code in positions(lines)] == expected


def test_extend_ignore(tmp_path):
    lines, _ = flake8(tmp_path, MOVED_MODEL.format(noqa=""), "--extend-ignore", "TL102")
    assert positions(lines) == [("sample.py", 7, 12, "TL101")]


ALL_THREE = HEADER + (
    "\n\ndef f(x, device):\n"
    "    model = torch.nn.Linear(2, 2).to(device)\n"
    "    a = model(x).numpy()\n"                # TL101 + TL102
    "    b = model(x).cpu().numpy()\n"          # TL101
    "    c = x.cpu().detach().numpy()\n"        # TL103
    "    return a, b, c, np, torch\n"
)


@pytest.mark.parametrize("select, expected", [
    pytest.param("TL", [(7, "TL101"), (7, "TL102"), (8, "TL101"), (9, "TL103")], id="TL"),
    pytest.param("TL103", [(9, "TL103")], id="TL103"),
    pytest.param("TL101", [(7, "TL101"), (8, "TL101")], id="TL101"),
    pytest.param("TL102,TL103", [(7, "TL102"), (9, "TL103")], id="TL102-and-TL103"),
])
def test_select(tmp_path, select, expected):
    lines, _ = flake8(tmp_path, ALL_THREE, "--select", select)
    assert [(row, code) for _, row, _, code in positions(lines)] == expected


def test_syntax_error_yields_only_e999(tmp_path):
    lines, completed = flake8(tmp_path, HEADER + "def f(x:\n    return x.numpy()\n")
    assert len(lines) == 1 and " E999 " in lines[0], completed.stdout
    assert "TL" not in completed.stdout
    assert completed.stderr == ""


def test_tensorflow_only_file_is_silent(tmp_path):
    # x is of unknown provenance, so only the opt-in TL105 could report it: select it to test the TensorFlow guard.
    source = "import tensorflow as tf\n\n\ndef f(x):\n    return x.numpy()\n"
    lines, completed = flake8(tmp_path, source, "--select", "TL,TL105")
    assert lines == []
    assert completed.returncode == 0


# -- the same [tool.tensorlint] as the CLI ---------------------------------------------------------
MODEL = MOVED_MODEL.format(noqa="")


def _codes(lines):
    return sorted(code for *_, code in positions(lines))


@pytest.mark.parametrize("table, expected", [
    ("", ["TL101", "TL102"]),
    ('ignore = ["TL102"]', ["TL101"]),
    ('select = ["TL102"]', ["TL102"]),
    ('per-file-ignores = {"sample.py" = ["TL1"]}', []),
    ('per-file-ignores = {"other.py" = ["TL1"]}', ["TL101", "TL102"]),
    ('exclude = ["sample.py"]', []),
])
def test_plugin_reads_tool_tensorlint(tmp_path, table, expected):
    (tmp_path / "pyproject.toml").write_text(f"[tool.tensorlint]\n{table}\n")
    lines, completed = flake8(tmp_path, MODEL)
    assert _codes(lines) == expected, completed.stderr


@pytest.mark.parametrize("options, expected", [
    (["--select", "TL102"], ["TL102"]),            # flake8 names a TL code: [tool.tensorlint] ignore is not applied
    (["--extend-ignore", "TL101"], ["TL102"]),
    (["--per-file-ignores", "sample.py:TL101"], ["TL102"]),
    (["--extend-ignore", "E501"], ["TL101"]),      # no TL code named: the project's choice stands
])
def test_flake8_options_win_when_they_name_our_codes(tmp_path, options, expected):
    (tmp_path / "pyproject.toml").write_text('[tool.tensorlint]\nignore = ["TL102"]\n')
    lines, completed = flake8(tmp_path, MODEL, *options)
    assert _codes(lines) == expected, completed.stderr


def test_plugin_reads_target_numpy_from_tool_tensorlint(tmp_path):
    source = HEADER + "\n\nprint(np.bool, np.float, torch.pi)\n"
    (tmp_path / "pyproject.toml").write_text('[tool.tensorlint]\ntarget-numpy = "2.0"\n')
    assert _codes(flake8(tmp_path, source)[0]) == ["TL301"]  # np.bool exists again in NumPy 2
    (tmp_path / "pyproject.toml").write_text('[tool.tensorlint]\ntarget-numpy = "1.21"\n')
    assert _codes(flake8(tmp_path, source)[0]) == ["TL301", "TL301"]


@pytest.mark.parametrize("jobs", [[], ["-j", "2"]], ids=["serial", "parallel"])
def test_broken_tool_tensorlint_is_one_clear_error(tmp_path, jobs):
    (tmp_path / "pyproject.toml").write_text("[tool.tensorlint]\nbogus = 1\n")
    (tmp_path / "second.py").write_text(MODEL)
    lines, completed = flake8(tmp_path, MODEL, *jobs, "second.py")
    output = completed.stdout + completed.stderr  # flake8 prints its critical errors on stdout
    assert completed.returncode == 1 and not any(": TL" in line for line in lines)
    assert "tensorlint: pyproject.toml: [tool.tensorlint]: unknown key 'bogus'" in output
    assert output.count("unknown key 'bogus'") == 1   # read once, in flake8's main process, before any worker
    assert "Traceback" not in output
