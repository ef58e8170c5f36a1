"""tensorlint.config.targets: the NumPy/torch range read from the nearest project metadata."""
import pytest

from tensorlint.config import targets as project
from tensorlint.config.targets import ProjectConfigError, find_project_root, parse_requirement, settings_for
from tensorlint.core.settings import Settings


@pytest.fixture(autouse=True)
def fresh_cache():
    project.clear_cache()
    yield
    project.clear_cache()


def write(directory, name, text):
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def module_in(directory):
    return write(directory, "pkg/mod.py", "import numpy as np\n")


# ---------------------------------------------------------------- requirement specifiers

@pytest.mark.parametrize("text, expected", [
    pytest.param("numpy", ("numpy", None), id="bare"),
    pytest.param("numpy<2", ("numpy", None), id="upper-only"),
    pytest.param("numpy<=1.26,!=1.25", ("numpy", None), id="upper-and-not-equal"),
    pytest.param("numpy>=2", ("numpy", (2,)), id="ge"),
    pytest.param("numpy>1.2", ("numpy", (1, 2)), id="gt"),
    pytest.param("numpy>=1.21,<2", ("numpy", (1, 21)), id="range"),
    pytest.param("numpy==1.24.*", ("numpy", (1, 24)), id="eq-wildcard"),
    pytest.param("numpy~=1.24.3", ("numpy", (1, 24, 3)), id="compatible"),
    pytest.param("NumPy >= 2.0 ; python_version > '3.9'", ("numpy", (2, 0)), id="case-spaces-marker"),
    pytest.param("numpy[extra] (>=1.22)", ("numpy", (1, 22)), id="extras-parens"),
    pytest.param("torch>=2.1.0+cu118", ("torch", (2, 1, 0)), id="local-version"),
    pytest.param("numpy>=1.20,>=1.22", ("numpy", (1, 22)), id="highest-clause"),
    pytest.param("numpy @ https://example.com/numpy.whl", None, id="direct-reference"),
    pytest.param("numpy>=", None, id="no-version"),
    pytest.param("numpy>=two", None, id="bad-version"),
    pytest.param("not a requirement", None, id="garbage"),
])
def test_parse_requirement(text, expected):
    assert parse_requirement(text) == expected


# ---------------------------------------------------------------- each metadata format

PEP621 = '[project]\nname = "p"\ndependencies = ["numpy>=1.22", "torch>=2.0"]\n'
POETRY = '[tool.poetry.dependencies]\npython = "^3.9"\nnumpy = "^1.23"\ntorch = {version = ">=2.1"}\n'
SETUP_CFG = "[metadata]\nname = p\n\n[options]\ninstall_requires =\n    numpy>=1.25\n    torch>=1.13\n"
SETUP_PY = ("from setuptools import setup\n"
            "setup(name='p', install_requires=['numpy>=1.26', 'torch>=2.2'])\n")
REQUIREMENTS = "numpy>=1.19\ntorch==2.3.1\n"


@pytest.mark.parametrize("files, numpy_min, torch_min, source", [
    pytest.param({"pyproject.toml": PEP621}, (1, 22), (2, 0), "pyproject.toml: numpy>=1.22", id="pep621"),
    pytest.param({"pyproject.toml": POETRY}, (1, 23), (2, 1), 'pyproject.toml: numpy = "^1.23"', id="poetry"),
    pytest.param({"setup.cfg": SETUP_CFG}, (1, 25), (1, 13), "setup.cfg: numpy>=1.25", id="setup-cfg"),
    pytest.param({"setup.py": SETUP_PY}, (1, 26), (2, 2), "setup.py: numpy>=1.26", id="setup-py"),
    pytest.param({"requirements.txt": REQUIREMENTS}, (1, 19), (2, 3, 1), "requirements.txt: numpy>=1.19",
                 id="requirements-txt"),
    pytest.param({"requirements-dev.txt": REQUIREMENTS}, (1, 19), (2, 3, 1), "requirements-dev.txt: numpy>=1.19",
                 id="requirements-star-txt"),
    pytest.param({"requirements/base.txt": REQUIREMENTS}, (1, 19), (2, 3, 1), "requirements/base.txt: numpy>=1.19",
                 id="requirements-dir"),
])
def test_each_format(tmp_path, files, numpy_min, torch_min, source):
    for name, text in files.items():
        write(tmp_path, name, text)
    settings = settings_for(module_in(tmp_path))
    assert settings == Settings(numpy_min=numpy_min, torch_min=torch_min, numpy_source=source)
    assert find_project_root(tmp_path / "pkg" / "mod.py") == tmp_path.resolve()


def test_setup_cfg_extras_and_setup_py_extras(tmp_path):
    write(tmp_path, "setup.cfg", "[options]\ninstall_requires =\n    numpy>=1.25\n"
                                 "[options.extras_require]\nold =\n    numpy>=1.20  # legacy\n")
    write(tmp_path, "setup.py", "from setuptools import setup\n"
                                "setup(extras_require={'x': ['numpy>=1.18']}, install_requires=REQS)\n")
    settings = settings_for(tmp_path)
    assert settings.numpy_min == (1, 18)
    assert settings.numpy_source == "setup.py: numpy>=1.18"


def test_setup_py_only_marks_the_root_when_unreadable(tmp_path):
    write(tmp_path, "pyproject.toml", '[project]\ndependencies = ["numpy>=2"]\n')
    inner = tmp_path / "inner"
    write(inner, "setup.py", "this is not python(\n")
    assert find_project_root(module_in(inner)) == inner.resolve()
    assert settings_for(module_in(inner)) == Settings()


@pytest.mark.parametrize("constraint, expected", [
    pytest.param('"^2.0"', (2, 0), id="caret"),
    pytest.param('"~1.24"', (1, 24), id="tilde"),
    pytest.param('">=2"', (2,), id="ge"),
    pytest.param('{version = ">=2"}', (2,), id="table"),
    pytest.param('"1.26.4"', (1, 26, 4), id="exact"),
    pytest.param('">=1.22,<2 || ^2.1"', (1, 22), id="or-lowest"),
    pytest.param('"*"', None, id="star"),
    pytest.param('"<2"', None, id="upper-only"),
    pytest.param('[{version = ">=1.24", python = "<3.12"}, {version = ">=1.26", python = ">=3.12"}]', (1, 24),
                 id="multiple-constraints"),
])
def test_poetry_constraints(tmp_path, constraint, expected):
    write(tmp_path, "pyproject.toml", f"[tool.poetry.dependencies]\npython = \"^3.9\"\nnumpy = {constraint}\n")
    assert settings_for(tmp_path).numpy_min == expected


def test_poetry_groups_and_git_dependencies(tmp_path):
    write(tmp_path, "pyproject.toml",
          '[tool.poetry.dependencies]\nnumpy = "^2.0"\ntorch = {git = "https://github.com/pytorch/pytorch"}\n'
          '[tool.poetry.group.legacy.dependencies]\nnumpy = "^1.24"\n')
    settings = settings_for(tmp_path)
    assert settings.numpy_min == (1, 24)
    assert settings.numpy_source == 'pyproject.toml: numpy = "^1.24"'
    assert settings.torch_min is None


def test_requirements_comments_markers_and_options(tmp_path):
    write(tmp_path, "requirements.txt", "\n".join([
        "# numpy>=1.0 is only a comment",
        "-r requirements-base.txt",
        "-e git+https://github.com/org/repo#egg=repo",
        "--index-url https://download.pytorch.org/whl/cu121",
        "https://example.com/numpy-0.1.whl",
        "numpy>=1.23 ; python_version >= '3.9'  # trailing comment",
        "torch==2.2.0 \\",
        "    --hash=sha256:0123456789abcdef",
        "this line is not a requirement ((",
        "",
    ]))
    settings = settings_for(tmp_path)
    assert settings == Settings(numpy_min=(1, 23), torch_min=(2, 2, 0), numpy_source="requirements.txt: numpy>=1.23")


# ---------------------------------------------------------------- lower bounds

@pytest.mark.parametrize("dependencies, numpy_min, supports_numpy1", [
    pytest.param('["numpy"]', None, True, id="no-bound"),
    pytest.param('["numpy<2"]', None, True, id="upper-only"),
    pytest.param('["numpy>=2"]', (2,), False, id="numpy2-only"),
    pytest.param('["numpy>=1.21,<2"]', (1, 21), True, id="range"),
    pytest.param('["numpy>=2.0rc1"]', (2, 0), False, id="pre-release"),
    pytest.param('["torch>=2"]', None, True, id="numpy-not-mentioned"),
])
def test_lower_bound(tmp_path, dependencies, numpy_min, supports_numpy1):
    write(tmp_path, "pyproject.toml", f"[project]\nname = \"p\"\ndependencies = {dependencies}\n")
    settings = settings_for(tmp_path)
    assert settings.numpy_min == numpy_min
    assert settings.supports_numpy1 is supports_numpy1


def test_lowest_lower_bound_across_groups_and_files(tmp_path):
    write(tmp_path, "pyproject.toml", '[project]\ndependencies = ["numpy>=2.0"]\n'
                                      '[project.optional-dependencies]\nold = ["numpy>=1.24"]\ntest = ["numpy>=1.26"]\n')
    write(tmp_path, "requirements-ci.txt", "numpy>=1.25\n")
    settings = settings_for(tmp_path)
    assert settings.numpy_min == (1, 24)
    assert settings.numpy_source == "pyproject.toml: numpy>=1.24"


def test_an_unbounded_requirement_anywhere_makes_it_unknown(tmp_path):
    write(tmp_path, "pyproject.toml", '[project]\ndependencies = ["numpy>=2"]\n')
    write(tmp_path, "requirements.txt", "numpy\n")
    settings = settings_for(tmp_path)
    assert settings.numpy_min is None
    assert settings.supports_numpy1 is True
    assert settings.numpy_source == "requirements.txt: numpy"


# ---------------------------------------------------------------- precedence

def test_nearest_project_wins(tmp_path):
    write(tmp_path, "pyproject.toml", '[project]\ndependencies = ["numpy>=1.20"]\n')
    inner = tmp_path / "libs" / "inner"
    write(inner, "requirements.txt", "numpy>=2\n")
    assert settings_for(module_in(inner)).numpy_min == (2,)
    assert settings_for(module_in(tmp_path / "libs" / "other")).numpy_min == (1, 20)
    assert find_project_root(inner / "pkg" / "mod.py") == inner.resolve()


def test_a_nearer_project_without_numpy_still_wins(tmp_path):
    write(tmp_path, "pyproject.toml", '[project]\ndependencies = ["numpy>=2"]\n')
    write(tmp_path / "tools", "pyproject.toml", "[tool.black]\nline-length = 100\n")
    assert settings_for(module_in(tmp_path / "tools")) == Settings()


def test_explicit_argument_beats_config_beats_dependencies(tmp_path):
    write(tmp_path, "pyproject.toml", '[project]\ndependencies = ["numpy>=1.22", "torch>=1.13"]\n')
    assert settings_for(tmp_path).numpy_min == (1, 22)

    project.clear_cache()
    write(tmp_path, "pyproject.toml", '[project]\ndependencies = ["numpy>=1.22", "torch>=1.13"]\n'
                                      '[tool.tensorlint]\ntarget-numpy = "2.0"\ntarget-torch = "2.1"\n')
    config = settings_for(tmp_path)
    assert config == Settings(numpy_min=(2, 0), torch_min=(2, 1), numpy_source='[tool.tensorlint] target-numpy = "2.0"')

    explicit = settings_for(tmp_path, target_numpy="1.26")
    assert explicit == Settings(numpy_min=(1, 26), torch_min=(2, 1), numpy_source="--target-numpy")
    assert settings_for(tmp_path, target_numpy="2", target_torch="2.4") == Settings(
        numpy_min=(2,), torch_min=(2, 4), numpy_source="--target-numpy")


def test_explicit_arguments_need_no_metadata(tmp_path):
    settings = settings_for(tmp_path / "a.py", target_numpy="2.0")
    assert settings.numpy_min == (2, 0) and settings.numpy_source == "--target-numpy"
    assert settings.supports_numpy1 is False


def test_bad_explicit_argument(tmp_path):
    with pytest.raises(ProjectConfigError, match=r"--target-numpy: not a version: 'two'"):
        settings_for(tmp_path, target_numpy="two")


# ---------------------------------------------------------------- errors

def test_bad_toml_names_the_file(tmp_path):
    pyproject = write(tmp_path, "pyproject.toml", "[project\nname = 'p'\n")
    with pytest.raises(ProjectConfigError) as info:
        settings_for(module_in(tmp_path))
    message = str(info.value)
    assert str(pyproject.resolve()) in message and "invalid TOML" in message
    assert "\n" not in message
    with pytest.raises(ProjectConfigError):  # the cached error is raised again
        settings_for(tmp_path)


@pytest.mark.parametrize("config, fragment", [
    pytest.param('target-numpy = "two"', "[tool.tensorlint] target-numpy: not a version: 'two'", id="numpy-word"),
    pytest.param('target-torch = "2.x"', "[tool.tensorlint] target-torch: not a version: '2.x'", id="torch-word"),
    pytest.param("target-numpy = 2.0", '[tool.tensorlint] target-numpy: expected a version string like "2.0"',
                 id="float"),
])
def test_bad_target_names_the_key(tmp_path, config, fragment):
    write(tmp_path, "pyproject.toml", f"[tool.tensorlint]\n{config}\n")
    with pytest.raises(ProjectConfigError) as info:
        settings_for(tmp_path)
    assert fragment in str(info.value) and "pyproject.toml" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_integer_target_is_accepted(tmp_path):
    write(tmp_path, "pyproject.toml", "[tool.tensorlint]\ntarget-numpy = 2\n")
    assert settings_for(tmp_path).numpy_min == (2,)


def test_foreign_metadata_of_the_wrong_shape_is_ignored(tmp_path):
    write(tmp_path, "pyproject.toml", '[project]\ndependencies = "numpy>=2"\n'
                                      '[project.optional-dependencies]\nx = [1, "numpy>=1.25"]\n')
    assert settings_for(tmp_path).numpy_min == (1, 25)


# ---------------------------------------------------------------- no metadata, caching

def test_no_metadata_gives_defaults(tmp_path, monkeypatch):
    # tmp_path's ancestors might hold metadata on some machines: make the walk stop at tmp_path.
    real = project._is_project_root
    monkeypatch.setattr(project, "_is_project_root", lambda d: d.is_relative_to(tmp_path.resolve()) and real(d))
    assert settings_for(module_in(tmp_path)) == Settings()
    assert find_project_root(tmp_path) is None


def test_cache_keeps_tmp_dirs_apart(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    write(first, "requirements.txt", "numpy>=2\n")
    write(second, "requirements.txt", "numpy>=1.24\n")
    for _ in range(2):  # the second round is served from the cache
        assert settings_for(module_in(first)).numpy_min == (2,)
        assert settings_for(module_in(second)).numpy_min == (1, 24)
    assert project._cached_project_settings.cache_info().currsize == 2


def test_cache_reads_metadata_once_per_project(tmp_path, monkeypatch):
    write(tmp_path, "pyproject.toml", '[project]\ndependencies = ["numpy>=2"]\n')
    reads = []
    real = project.read_toml
    monkeypatch.setattr(project, "read_toml", lambda path, *args: reads.append(path) or real(path, *args))
    for index in range(50):
        path = write(tmp_path, f"pkg{index % 5}/mod{index}.py", "")
        assert settings_for(path).numpy_min == (2,)
    assert len(reads) == 1


# ---------------------------------------------------------------- a realistic project

def test_sample_project(tmp_path):
    write(tmp_path, "pyproject.toml", """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "sample-vision"
version = "0.3.0"
requires-python = ">=3.9"
dependencies = ["torch>=2.1", "numpy>=1.24,<3"]

[project.optional-dependencies]
docs = ["sphinx>=7", "myst-parser"]

[tool.black]
line-length = 100
""")
    write(tmp_path, "src/sample_vision/__init__.py", "")
    model = write(tmp_path, "src/sample_vision/models/resnet.py", "import torch\n")
    settings = settings_for(model)
    assert settings == Settings(numpy_min=(1, 24), torch_min=(2, 1), numpy_source="pyproject.toml: numpy>=1.24,<3")
    assert settings.supports_numpy1 is True
    assert find_project_root(model) == tmp_path.resolve()
