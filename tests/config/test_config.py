"""tensorlint.config.reader: `[tool.tensorlint]` discovery, every key, rule selection, exclusion, .gitignore."""
import itertools
import os
import shutil
import subprocess

import pytest

from tensorlint.config.reader import Config, ConfigError, KEYS, clear_cache, find_config_file, load_config
from tensorlint.config.selection import enabled_codes
from tensorlint.config.targets import ProjectConfigError
from tensorlint.rules import ALL_RULES, FILE_RULES

DEFAULTS = frozenset(rule.code for rule in ALL_RULES if rule.default_enabled)


@pytest.fixture(autouse=True)
def fresh_cache():
    clear_cache()
    yield
    clear_cache()


def write(directory, name, text=""):
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def project(directory, table="", name="pyproject.toml"):
    """A pyproject.toml with `table` under [tool.tensorlint]."""
    return write(directory, name, f'[project]\nname = "p"\n\n[tool.tensorlint]\n{table}')


def codes(*prefixes):
    """What selecting `prefixes` turns on: an opt-in rule (off by default) is selected only by its full code."""
    return frozenset(code for code in DEFAULTS if code.startswith(prefixes))


# ---------------------------------------------------------------- discovery

def test_no_config_anywhere_gives_the_defaults(tmp_path):
    source = write(tmp_path, "pkg/mod.py")
    found = load_config(source)
    assert found == Config()
    assert found.path is None and found.root is None
    assert found.codes_for(source) == DEFAULTS
    assert find_config_file(source) is None


def test_found_walking_up_from_a_file_or_a_directory(tmp_path):
    config_file = project(tmp_path, 'select = ["TL1"]\n')
    source = write(tmp_path, "src/pkg/deep/mod.py")
    for start in (source, source.parent, tmp_path / "src", tmp_path):
        found = load_config(start)
        assert found.path == str(config_file)
        assert found.root == str(tmp_path)
        assert found.select == ("TL1",)


def test_a_path_that_does_not_exist_yet_uses_its_folder(tmp_path):
    project(tmp_path, 'select = ["TL2"]\n')
    assert load_config(tmp_path / "new.py").select == ("TL2",)


def test_nearest_table_wins_in_nested_projects(tmp_path):
    project(tmp_path, 'select = ["TL1"]\n')
    inner = project(tmp_path / "sub", 'select = ["TL2"]\n')
    assert load_config(write(tmp_path, "sub/pkg/mod.py")).path == str(inner)
    assert load_config(write(tmp_path, "sub/pkg/mod.py")).select == ("TL2",)
    assert load_config(write(tmp_path, "other/mod.py")).select == ("TL1",)


def test_nested_configs_do_not_merge(tmp_path):
    project(tmp_path, 'ignore = ["TL103"]\nunsafe-fixes = true\n')
    project(tmp_path / "sub", 'select = ["TL1"]\n')
    found = load_config(tmp_path / "sub")
    assert found.ignore == () and found.unsafe_fixes is None


def test_pyproject_without_the_table_is_passed_over(tmp_path):
    outer = project(tmp_path, 'select = ["TL3"]\n')
    write(tmp_path, "sub/pyproject.toml", '[project]\nname = "inner"\n[tool.ruff]\nline-length = 100\n')
    assert load_config(write(tmp_path, "sub/mod.py")).path == str(outer)


def test_an_empty_table_counts_and_stops_the_walk(tmp_path):
    project(tmp_path, 'select = ["TL3"]\n')
    inner = project(tmp_path / "sub")
    found = load_config(tmp_path / "sub" / "mod.py")
    assert found.path == str(inner) and found.select is None
    assert found.codes_for(tmp_path / "sub" / "mod.py") == DEFAULTS


def test_dotted_table_form_is_the_same_table(tmp_path):
    write(tmp_path, "pyproject.toml", 'tool.tensorlint.select = ["TL4"]\n'
                                      '[tool.tensorlint.per-file-ignores]\n"tests/*" = ["TL401"]\n')
    found = load_config(tmp_path)
    assert found.select == ("TL4",)
    assert found.per_file_ignores == (("tests/*", ("TL401",)),)


def test_results_are_cached_per_directory_until_cleared(tmp_path):
    config_file = project(tmp_path, 'select = ["TL1"]\n')
    assert load_config(tmp_path).select == ("TL1",)
    config_file.write_text('[tool.tensorlint]\nselect = ["TL2"]\n', encoding="utf-8")
    assert load_config(tmp_path).select == ("TL1",)
    clear_cache()
    assert load_config(tmp_path).select == ("TL2",)


# ---------------------------------------------------------------- every key

def test_every_key(tmp_path):
    project(tmp_path, """\
select = ["tl1", "TL2 "]
ignore = ["TL103"]
extend-select = ["TL401"]
exclude = ["generated/", "*_pb2.py"]
respect-gitignore = false
unsafe-fixes = true
target-numpy = "2.0"
target-torch = 2

[tool.tensorlint.per-file-ignores]
"tests/*" = ["TL4"]
"__init__.py" = ["TL101", "TL102"]
""")
    found = load_config(tmp_path)
    assert found.select == ("TL1", "TL2")        # normalised as the command line does
    assert found.ignore == ("TL103",)
    assert found.extend_select == ("TL401",)
    assert found.per_file_ignores == (("tests/*", ("TL4",)), ("__init__.py", ("TL101", "TL102")))
    assert found.exclude == ("generated/", "*_pb2.py")
    assert found.respect_gitignore is False
    assert found.unsafe_fixes is True
    assert found.target_numpy == "2.0" and found.target_torch == "2"


def test_keys_are_the_documented_ones():
    page = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "configuration.md")
    text = open(page, encoding="utf-8").read()
    for key in KEYS:
        assert f"`{key}`" in text, f"docs/configuration.md does not document {key}"


def test_defaults():
    default = Config()
    assert default.select is None and default.ignore == () and default.extend_select == ()
    assert default.per_file_ignores == () and default.exclude == ()
    assert default.respect_gitignore is True
    assert default.resolve_unsafe_fixes() is False


@pytest.mark.parametrize("configured, cli, expected", [
    (None, None, False), (True, None, True), (False, None, False),
    (True, False, False), (False, True, True), (None, True, True),
])
def test_unsafe_fixes_command_line_wins(configured, cli, expected):
    assert Config(unsafe_fixes=configured).resolve_unsafe_fixes(cli) is expected


def test_targets_are_the_ones_project_applies(tmp_path):
    """config validates target-numpy; tensorlint.config.targets turns the same key into Settings."""
    from tensorlint.config import targets as project_module
    project(tmp_path, 'target-numpy = "2.1"\n')
    write(tmp_path, "mod.py")
    project_module.clear_cache()
    assert load_config(tmp_path / "mod.py").target_numpy == "2.1"
    assert project_module.settings_for(tmp_path / "mod.py").numpy_min == (2, 1)


# ---------------------------------------------------------------- errors: one line naming file and key

ERRORS = [
    ("selct = []", "[tool.tensorlint]: unknown key 'selct' (did you mean 'select'?)"),
    ("per_file_ignores = {}", "[tool.tensorlint]: unknown key 'per_file_ignores' (did you mean 'per-file-ignores'?)"),
    ("extend-ignore = []", "[tool.tensorlint]: unknown key 'extend-ignore' (did you mean 'ignore'?)"),
    ("colour = true", "[tool.tensorlint]: unknown key 'colour' (known keys: select, ignore, extend-select, "
                      "per-file-ignores, exclude, respect-gitignore, unsafe-fixes, target-numpy, target-torch)"),
    ('select = "TL1"', "[tool.tensorlint] select: expected a list of codes, got 'TL1'"),
    ("select = [1]", "[tool.tensorlint] select: expected a list of codes, got [1]"),
    ('select = ["TL9"]', "[tool.tensorlint] select: no rule code starts with 'TL9' (`tensorlint rules` lists them)"),
    ('ignore = ["E501"]', "[tool.tensorlint] ignore: no rule code starts with 'E501' (`tensorlint rules` lists them)"),
    ('extend-select = [""]',
     "[tool.tensorlint] extend-select: no rule code starts with '' (`tensorlint rules` lists them)"),
    ('per-file-ignores = ["tests/*"]',
     "[tool.tensorlint] per-file-ignores: expected a table of glob = [\"CODE\", ...], got ['tests/*']"),
    ('per-file-ignores = {"tests/*" = "TL1"}',
     "[tool.tensorlint] per-file-ignores.\"tests/*\": expected a list of codes, got 'TL1'"),
    ('per-file-ignores = {"tests/*" = ["XX1"]}',
     "[tool.tensorlint] per-file-ignores.\"tests/*\": no rule code starts with 'XX1' (`tensorlint rules` lists them)"),
    ('per-file-ignores = {"" = ["TL1"]}', "[tool.tensorlint] per-file-ignores: empty glob pattern ''"),
    ('exclude = "build"', "[tool.tensorlint] exclude: expected a list of glob patterns, got 'build'"),
    ('exclude = ["ok", ""]', "[tool.tensorlint] exclude: expected a list of glob patterns, got ['ok', '']"),
    ('respect-gitignore = "no"', "[tool.tensorlint] respect-gitignore: expected true or false, got 'no'"),
    ("unsafe-fixes = 1", "[tool.tensorlint] unsafe-fixes: expected true or false, got 1"),
    ("target-numpy = 2.0", '[tool.tensorlint] target-numpy: expected a version string like "2.0", got 2.0'),
    ('target-torch = "2.x"', "[tool.tensorlint] target-torch: not a version: '2.x'"),
    ("target-numpy = true", '[tool.tensorlint] target-numpy: expected a version string like "2.0", got True'),
]


@pytest.mark.parametrize("table, message", ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_key_or_value_is_one_line_naming_file_and_key(tmp_path, monkeypatch, table, message):
    project(tmp_path, table + "\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path / "mod.py")
    assert str(raised.value) == f"pyproject.toml: {message}"
    assert "\n" not in str(raised.value)


def test_the_error_names_the_file_relative_to_the_working_directory(tmp_path, monkeypatch):
    project(tmp_path / "sub", "selct = []\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"^sub/pyproject\.toml: \[tool\.tensorlint\]: unknown key 'selct'"):
        load_config(tmp_path / "sub")
    clear_cache()
    monkeypatch.chdir(tmp_path / "sub")
    with pytest.raises(ConfigError, match=r"^pyproject\.toml: "):
        load_config(tmp_path / "sub")


def test_a_file_outside_the_working_directory_is_named_in_full(tmp_path, monkeypatch):
    config_file = project(tmp_path / "a", "selct = []\n")
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "b")
    with pytest.raises(ConfigError, match=rf"^{config_file}: "):
        load_config(tmp_path / "a")


def test_error_types(tmp_path):
    project(tmp_path, "selct = []\n")
    with pytest.raises(ValueError):
        load_config(tmp_path)
    with pytest.raises(ProjectConfigError):  # what the CLI already reports as one line
        load_config(tmp_path)


def test_the_table_must_be_a_table(tmp_path, monkeypatch):
    write(tmp_path, "pyproject.toml", "[tool]\ntensorlint = 1\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path)
    assert str(raised.value) == "pyproject.toml: [tool.tensorlint]: expected a table, got 1"


def test_invalid_toml_is_one_line(tmp_path, monkeypatch):
    write(tmp_path, "pyproject.toml", "[tool.tensorlint\nselect = [\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path)
    assert str(raised.value).startswith("pyproject.toml: invalid TOML: ")
    assert "\n" not in str(raised.value)


def test_errors_are_cached_and_raised_again(tmp_path):
    project(tmp_path, "selct = []\n")
    for _ in range(2):
        with pytest.raises(ConfigError, match="selct"):
            load_config(tmp_path / "a.py")


# ---------------------------------------------------------------- rule selection: codes_for

def test_config_select_and_ignore(tmp_path):
    source = tmp_path / "mod.py"
    assert Config(select=("TL1",)).codes_for(source) == codes("TL1")
    assert Config(select=("TL1", "TL105")).codes_for(source) == codes("TL1") | {"TL105"}
    assert Config(ignore=("TL1",)).codes_for(source) == DEFAULTS - codes("TL1")
    assert Config(select=("TL1",), ignore=("TL103",)).codes_for(source) == {"TL101", "TL102", "TL104"}
    assert Config(select=()).codes_for(source) == frozenset()  # `select = []`: nothing


def test_extend_select_adds_to_select_or_to_the_defaults(tmp_path):
    source = tmp_path / "mod.py"
    assert Config(select=("TL1",), extend_select=("TL401",)).codes_for(source) == codes("TL1") | {"TL401"}
    assert Config(extend_select=("TL1",)).codes_for(source) == DEFAULTS


def test_longer_prefix_wins_within_a_layer(tmp_path):
    source = tmp_path / "mod.py"
    assert Config(select=("TL101",), ignore=("TL1",)).codes_for(source) == {"TL101"}
    assert Config(select=("TL1",), ignore=("TL101",)).codes_for(source) == {"TL102", "TL103", "TL104"}
    assert Config(extend_select=("TL101",), ignore=("TL1",)).codes_for(source) == DEFAULTS - {"TL102", "TL103", "TL104"}


@pytest.mark.parametrize("select, ignore", list(itertools.product(
    [None, ["TL"], ["TL1"], ["TL101"], ["TL1", "TL4"], ["TL10", "TL201"]],
    [None, ["TL1"], ["TL101"], ["TL10"], ["TL"], ["TL4", "TL102"]])))
def test_without_config_the_command_line_means_what_it_meant(tmp_path, select, ignore):
    # the engine runs checkers; TL001/TL002 (files that cannot be checked) are the CLI's to report
    file_codes = {rule.code for rule in FILE_RULES}
    assert Config().codes_for(tmp_path / "m.py", select, ignore) - file_codes == enabled_codes(select, ignore)


def test_command_line_select_replaces_the_config_selection(tmp_path):
    found = Config(select=("TL2",), ignore=("TL101",), extend_select=("TL3",))
    assert found.codes_for(tmp_path / "m.py") == codes("TL2", "TL3")
    assert found.codes_for(tmp_path / "m.py", cli_select=["TL1"]) == codes("TL1")  # config ignore included


def test_command_line_ignore_and_extend_select_adjust_the_config_selection(tmp_path):
    found = Config(select=("TL1",), ignore=("TL103",))
    assert found.codes_for(tmp_path / "m.py", cli_ignore=["TL101"]) == {"TL102", "TL104"}
    assert found.codes_for(tmp_path / "m.py", cli_extend_select=["TL103"]) == codes("TL1")
    assert found.codes_for(tmp_path / "m.py", cli_extend_select=["TL4"]) == {"TL101", "TL102", "TL104"} | codes("TL4")
    # the command line's ignore beats even a more specific config select
    assert Config(select=("TL101",)).codes_for(tmp_path / "m.py", cli_ignore=["TL1"]) == frozenset()


def test_command_line_codes_are_normalised_and_empty_means_not_given(tmp_path):
    found = Config(select=("TL2",))
    assert found.codes_for(tmp_path / "m.py", cli_select=[" tl101 "]) == {"TL101"}
    assert found.codes_for(tmp_path / "m.py", cli_select=[]) == codes("TL2")


def test_codes_for_with_the_loaded_config(tmp_path):
    project(tmp_path, 'select = ["TL1", "TL4"]\nignore = ["TL103"]\n'
                      '[tool.tensorlint.per-file-ignores]\n"tests/*" = ["TL4"]\n')
    source = write(tmp_path, "tests/test_x.py")
    found = load_config(source)
    assert found.codes_for(source) == {"TL101", "TL102", "TL104"}
    assert found.codes_for(write(tmp_path, "src/x.py")) == {"TL101", "TL102", "TL104"} | codes("TL4")
    # per-file-ignores apply after the command line, as in ruff
    assert found.codes_for(source, cli_select=["TL"]) == codes("TL") - codes("TL4")


# ---------------------------------------------------------------- per-file-ignores globs

def per_file(tmp_path, **patterns):
    table = "".join(f'"{glob}" = ["{code}"]\n' for code, glob in patterns.items())
    project(tmp_path, "[tool.tensorlint.per-file-ignores]\n" + table)
    return load_config(tmp_path)


@pytest.mark.parametrize("glob, path, ignored", [
    ("__init__.py", "__init__.py", True),
    ("__init__.py", "pkg/sub/__init__.py", True),          # no `/`: the file name, at any depth
    ("__init__.py", "pkg/not__init__.py", False),
    ("*.pyi", "pkg/stubs/a.pyi", True),
    ("tests/*", "tests/test_a.py", True),
    ("tests/*", "tests/unit/test_a.py", True),             # `*` crosses `/`, as flake8 and ruff
    ("tests/*", "src/tests/test_a.py", False),             # relative to the config file's folder
    ("tests/*.py", "tests/deep/x.py", True),
    ("./tests/*", "tests/x.py", True),
    ("tests/**/*.py", "tests/x.py", True),
    ("tests/**/*.py", "tests/a/b/x.py", True),
    ("**/conftest.py", "conftest.py", True),
    ("**/conftest.py", "a/b/conftest.py", True),
    ("src/pkg/mod.py", "src/pkg/mod.py", True),
    ("src/pkg/mod.py", "other/src/pkg/mod.py", False),
    ("scripts/?.py", "scripts/a.py", True),
    ("scripts/?.py", "scripts/ab.py", False),
    ("scripts/[ab].py", "scripts/b.py", True),
    ("scripts/[!ab].py", "scripts/b.py", False),
    ("scripts/[!ab].py", "scripts/c.py", True),
    ("tests/", "tests/a/x.py", True),                     # a folder: everything below it
    ("tests/", "src/tests/x.py", False),
    ("!src/**", "tests/x.py", True),                       # `!`: every file that does not match
    ("!src/**", "src/x.py", False),
])
def test_per_file_ignores_globs(tmp_path, glob, path, ignored):
    found = per_file(tmp_path, TL101=glob)
    source = write(tmp_path, path)
    assert ("TL101" not in found.codes_for(source)) is ignored
    assert "TL102" in found.codes_for(source)


def test_per_file_ignores_accumulate_and_take_prefixes(tmp_path):
    project(tmp_path, '[tool.tensorlint.per-file-ignores]\n"tests/*" = ["TL4"]\n"*_test.py" = ["TL1"]\n')
    found = load_config(tmp_path)
    source = write(tmp_path, "tests/a_test.py")
    assert found.per_file_ignored(source) == ("TL4", "TL1")
    assert found.codes_for(source) == DEFAULTS - codes("TL1", "TL4")


def test_per_file_ignores_relative_to_the_config_not_the_working_directory(tmp_path, monkeypatch):
    project(tmp_path / "proj", '[tool.tensorlint.per-file-ignores]\n"tests/*" = ["TL101"]\n')
    source = write(tmp_path, "proj/tests/x.py")
    monkeypatch.chdir(tmp_path)
    found = load_config("proj/tests/x.py")
    assert "TL101" not in found.codes_for("proj/tests/x.py")
    assert "TL101" not in found.codes_for(source)


def test_per_file_ignores_outside_the_config_folder_match_by_name_only(tmp_path):
    found = Config(path=str(tmp_path / "proj" / "pyproject.toml"),
                   per_file_ignores=(("x.py", ("TL101",)), ("tests/*", ("TL102",))))
    assert found.per_file_ignored(tmp_path / "elsewhere" / "tests" / "x.py") == ("TL101",)


def test_no_path_skips_per_file_ignores(tmp_path):
    found = Config(path=str(tmp_path / "pyproject.toml"), per_file_ignores=(("*", ("TL1",)),))
    assert found.codes_for(None) == DEFAULTS
    assert found.codes_for(tmp_path / "a.py") == DEFAULTS - codes("TL1")


# ---------------------------------------------------------------- exclude

def excluded(found, root, *paths, **options):
    return [path for path in paths if found.is_excluded(root / path, **options)]


def test_exclude_patterns(tmp_path):
    project(tmp_path, 'exclude = ["generated/", "*_pb2.py", "/migrations", "docs/**/*.py", "!keep_pb2.py", '
                      '"vendor/*/", "legacy"]\n')
    found = load_config(tmp_path)
    for path in ("generated/a.py", "sub/generated/a.py", "x_pb2.py", "sub/x_pb2.py", "keep_pb2.py",
                 "migrations/0001.py", "sub/migrations/0001.py", "docs/conf.py", "docs/a/b/conf.py",
                 "vendor/lib/mod.py", "vendor/mod.py", "legacy", "a/legacy/mod.py", "src/ok.py"):
        write(tmp_path, path)
    assert excluded(found, tmp_path, "generated/a.py", "sub/generated/a.py", "x_pb2.py", "sub/x_pb2.py",
                    "keep_pb2.py", "migrations/0001.py", "sub/migrations/0001.py", "docs/conf.py",
                    "docs/a/b/conf.py", "vendor/lib/mod.py", "vendor/mod.py", "legacy", "a/legacy/mod.py",
                    "src/ok.py") == [
        "generated/a.py", "sub/generated/a.py", "x_pb2.py", "sub/x_pb2.py",  # `dir/` anywhere, `*.ext` anywhere
        "migrations/0001.py",                                                # `/anchored`: only at the top
        "docs/conf.py", "docs/a/b/conf.py",                                  # `**`: any depth, also none
        "vendor/lib/mod.py",                                                 # `vendor/*/`: folders one down
        "legacy", "a/legacy/mod.py",                                         # a name: file or folder, anywhere
    ]
    assert found.is_excluded(tmp_path / "generated", is_dir=True)
    assert not found.is_excluded(tmp_path / "generated", is_dir=False)  # `dir/` matches folders only


def test_exclude_applies_to_files_named_explicitly(tmp_path):
    project(tmp_path, 'exclude = ["gen/"]\n')
    source = write(tmp_path, "gen/a.py")
    assert load_config(source).is_excluded(source, explicit=True)


def test_exclude_negation_cannot_reach_into_an_excluded_folder(tmp_path):
    project(tmp_path, 'exclude = ["build/", "!build/keep.py", "*.py", "!main.py"]\n')
    found = load_config(tmp_path)
    write(tmp_path, "build/keep.py")
    write(tmp_path, "main.py")
    write(tmp_path, "other.py")
    assert found.is_excluded(tmp_path / "build" / "keep.py")
    assert not found.is_excluded(tmp_path / "main.py")
    assert found.is_excluded(tmp_path / "other.py")


def test_exclude_is_relative_to_the_config_file_folder(tmp_path, monkeypatch):
    project(tmp_path / "proj", 'exclude = ["/gen"]\n')
    write(tmp_path, "proj/gen/a.py")
    write(tmp_path, "gen/a.py")
    monkeypatch.chdir(tmp_path)
    found = load_config("proj")
    assert found.is_excluded("proj/gen/a.py")
    assert not found.is_excluded("gen/a.py")  # outside the config folder: its patterns do not reach


def test_the_config_folder_itself_is_never_excluded(tmp_path):
    project(tmp_path, 'exclude = ["*"]\n')
    found = load_config(tmp_path)
    assert not found.is_excluded(tmp_path, is_dir=True)
    assert found.is_excluded(tmp_path / "a.py", is_dir=False)


# ---------------------------------------------------------------- .gitignore

def git_repo(directory):
    (directory / ".git" / "info").mkdir(parents=True)
    return directory


def test_gitignore_is_respected_by_default(tmp_path):
    git_repo(tmp_path)
    write(tmp_path, ".gitignore", "# comment\n\n*.gen.py\nout/\n/top_only.py\n!important.gen.py\n")
    found = load_config(tmp_path)
    for path in ("a.gen.py", "pkg/b.gen.py", "important.gen.py", "out/x.py", "pkg/out/x.py",
                 "top_only.py", "pkg/top_only.py", "ok.py"):
        write(tmp_path, path)
    assert excluded(found, tmp_path, "a.gen.py", "pkg/b.gen.py", "important.gen.py", "out/x.py",
                    "pkg/out/x.py", "top_only.py", "pkg/top_only.py", "ok.py") == [
        "a.gen.py", "pkg/b.gen.py", "out/x.py", "pkg/out/x.py", "top_only.py"]
    assert found.is_excluded(tmp_path / "out", is_dir=True)


def test_gitignore_does_not_apply_to_files_named_explicitly(tmp_path):
    git_repo(tmp_path)
    write(tmp_path, ".gitignore", "*.gen.py\n")
    source = write(tmp_path, "a.gen.py")
    found = load_config(source)
    assert found.is_excluded(source)
    assert not found.is_excluded(source, explicit=True)


def test_respect_gitignore_false(tmp_path):
    git_repo(tmp_path)
    write(tmp_path, ".gitignore", "*.gen.py\n")
    project(tmp_path, "respect-gitignore = false\n")
    source = write(tmp_path, "a.gen.py")
    assert not load_config(source).is_excluded(source)


def test_nested_gitignore_files_deeper_wins(tmp_path):
    git_repo(tmp_path)
    write(tmp_path, ".gitignore", "*.log.py\n")
    write(tmp_path, "pkg/.gitignore", "!keep.log.py\nlocal.py\n")
    found = load_config(tmp_path)
    for path in ("a.log.py", "keep.log.py", "pkg/keep.log.py", "pkg/b.log.py", "pkg/local.py", "local.py"):
        write(tmp_path, path)
    assert excluded(found, tmp_path, "a.log.py", "keep.log.py", "pkg/keep.log.py", "pkg/b.log.py",
                    "pkg/local.py", "local.py") == ["a.log.py", "keep.log.py", "pkg/b.log.py", "pkg/local.py"]


def test_gitignore_negation_cannot_reinclude_inside_an_ignored_folder(tmp_path):
    git_repo(tmp_path)
    write(tmp_path, ".gitignore", "build/\n!build/keep.py\ncache/*\n!cache/keep.py\n")
    found = load_config(tmp_path)
    write(tmp_path, "build/keep.py")
    write(tmp_path, "cache/keep.py")
    write(tmp_path, "cache/other.py")
    assert found.is_excluded(tmp_path / "build" / "keep.py")      # the folder itself is ignored
    assert not found.is_excluded(tmp_path / "cache" / "keep.py")  # only its contents were: re-included
    assert found.is_excluded(tmp_path / "cache" / "other.py")


def test_gitignore_double_star_and_escapes(tmp_path):
    git_repo(tmp_path)
    write(tmp_path, ".gitignore", "**/gen/**\nlogs/**/debug.py\n\\#odd.py\n\\!bang.py\nspace\\ \n")
    found = load_config(tmp_path)
    paths = ("gen/a.py", "x/gen/y/a.py", "logs/debug.py", "logs/a/b/debug.py", "#odd.py", "!bang.py",
             "space ", "space", "ok.py")
    for path in paths:
        write(tmp_path, path)
    assert excluded(found, tmp_path, *paths) == [
        "gen/a.py", "x/gen/y/a.py", "logs/debug.py", "logs/a/b/debug.py", "#odd.py", "!bang.py", "space "]


def test_git_info_exclude_is_read(tmp_path):
    git_repo(tmp_path)
    write(tmp_path, ".git/info/exclude", "secret.py\n")
    source = write(tmp_path, "pkg/secret.py")
    assert load_config(source).is_excluded(source)


def test_gitignore_from_the_work_tree_root_above_the_config(tmp_path):
    git_repo(tmp_path)
    write(tmp_path, ".gitignore", "*.gen.py\n")
    project(tmp_path / "sub")
    source = write(tmp_path, "sub/a.gen.py")
    assert load_config(source).is_excluded(source)


def test_outside_git_the_config_folder_gitignore_is_read(tmp_path):
    project(tmp_path)
    write(tmp_path, ".gitignore", "*.gen.py\n")
    source = write(tmp_path, "pkg/a.gen.py")
    assert load_config(source).is_excluded(source)


def test_outside_git_and_without_config_nothing_is_ignored(tmp_path):
    write(tmp_path, ".gitignore", "*.py\n")
    source = write(tmp_path, "a.py")
    assert not load_config(source).is_excluded(source)


GIT_PATTERNS = """\
*.log
build/
/top.py
a/**/z.py
**/gen
!keep.log
docs/*.md
!docs/keep.md
*.py[co]
data?/
lib/**/*.tmp
!a/inner/
sub/*/deep.py
"""
GIT_FILES = ["x.log", "keep.log", "d/keep.log", "build/x.py", "src/build/y.py", "top.py", "src/top.py", "a/z.py",
             "a/b/c/z.py", "gen", "p/gen/q.py", "docs/a.md", "docs/keep.md", "docs/sub/a.md", "m.pyc", "m.pyo",
             "m.pyx", "data1/x.py", "data12/x.py", "lib/x.tmp", "lib/a/b/x.tmp", "a/inner/f.py", "sub/x/deep.py",
             "sub/x/y/deep.py", "ok.py"]
GIT_NESTED = {"src/.gitignore": "!top.py\n*.py\n!keep.py\n", "docs/sub/.gitignore": "!a.md\n"}


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_agrees_with_git(tmp_path):
    """The matcher gives git's own verdict (`git ls-files --others --ignored`) on every file."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    write(tmp_path, ".gitignore", GIT_PATTERNS)
    for path, text in GIT_NESTED.items():
        write(tmp_path, path, text)
    files = GIT_FILES + ["src/keep.py", "src/other.py", "src/deeper/keep.py"]
    for path in files:
        write(tmp_path, path)
    listed = subprocess.run(["git", "-C", str(tmp_path), "ls-files", "--others", "--ignored", "--exclude-standard",
                             "-z"], check=True, capture_output=True).stdout.decode().split("\0")
    found = load_config(tmp_path)
    ours = sorted(path for path in files if found.is_excluded(tmp_path / path))
    assert ours == sorted(path for path in listed if path in files)
    assert ours  # the patterns do ignore something


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_agrees_with_git_where_pathspec_does_not(tmp_path):
    """Cases where `pathspec` (which also matches a pattern against a path's descendants) gives another verdict
    than git: `doc/**` ignores what is inside `doc`, not `doc` itself, so `!doc/keep.py` re-includes it;
    `!b` says nothing about `a/b/c`; `[!a]/**/` names the folders inside `b`, not `b`."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    write(tmp_path, ".gitignore", "doc/**\n!doc/keep.py\nc\n!b\n[!a]/**/\n")
    files = ["doc/keep.py", "doc/x.py", "a/b/c", "a/b/d", "e/x.py", "e/f/x.py"]
    for path in files:
        write(tmp_path, path)
    listed = subprocess.run(["git", "-C", str(tmp_path), "ls-files", "--others", "--ignored", "--exclude-standard",
                             "-z"], check=True, capture_output=True).stdout.decode().split("\0")
    found = load_config(tmp_path)
    ours = sorted(path for path in files if found.is_excluded(tmp_path / path))
    assert ours == sorted(path for path in listed if path in files) == ["a/b/c", "doc/x.py", "e/f/x.py"]
