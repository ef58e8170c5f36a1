"""The docs say what the code does: generated pages match the generator, every snippet the docs
make a claim with is checked, and the README's quick start is the project's real commands."""
import ast
import re
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from tensorlint import check_source
from tensorlint.rules.docs import (expected_files, main as docs_main, render_options, render_rule, render_rules_table,
                             stale_files, with_tables)
from tensorlint.rules import ALL_RULES, FILE_RULES, Rule

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
QUICK_START = [
    "pip install . && tensorlint check examples/",
    'pip install torch==2.13.0 -e ".[test,verify]" && python -m pytest -n auto',
]
REQUIRED_SECTIONS = ["What it does", "Why is this bad?", "Example", "Use instead"]
PRELUDE = "import numpy as np\nimport torch\n"
FENCE = re.compile(r"^( *)```(\w*)\n(.*?)^\1```\s*$", re.DOTALL | re.MULTILINE)  # also indented, in lists


def sections(markdown: str, level: str = "## "):
    """Heading text → body, for headings of exactly this level (code blocks are skipped)."""
    found, current, body, in_code = {}, None, [], False
    for line in markdown.splitlines(keepends=True):
        if line.lstrip().startswith("```"):
            in_code = not in_code
        if not in_code and line.startswith(level):
            if current is not None:
                found[current] = "".join(body)
            current, body = line[len(level):].strip(), []
        elif current is not None:
            body.append(line)
    if current is not None:
        found[current] = "".join(body)
    return found


def code_blocks(markdown: str, language: str = "python"):
    return [textwrap.dedent(code) for _, lang, code in FENCE.findall(markdown) if lang == language]


# -- generated rule pages ---------------------------------------------------------------------
@pytest.mark.parametrize("path", sorted(expected_files(ROOT)), ids=lambda p: p.name)
def test_generated_doc_is_current(path):
    text = expected_files(ROOT)[path]
    assert path.exists(), f"{path.relative_to(ROOT)} is missing: run `python -m tensorlint.rules.docs`"
    assert path.read_text(encoding="utf-8") == text, \
        f"{path.relative_to(ROOT)} is stale: run `python -m tensorlint.rules.docs`"


def test_no_stale_or_orphan_pages():
    assert stale_files(ROOT) == [], "run `python -m tensorlint.rules.docs`"


def test_check_mode_reports_drift(tmp_path, capsys):
    assert docs_main(["--check", "--root", str(tmp_path)]) == 1
    assert "TL101.md" in capsys.readouterr().err
    assert docs_main(["--root", str(tmp_path)]) == 0
    assert docs_main(["--check", "--root", str(tmp_path)]) == 0
    orphan = tmp_path / "docs" / "rules" / "TL999.md"
    orphan.write_text("a rule that no longer exists\n")
    assert docs_main(["--check", "--root", str(tmp_path)]) == 1
    assert "TL999.md" in capsys.readouterr().err
    docs_main(["--root", str(tmp_path)])
    assert not orphan.exists()


# -- tables generated from the code -------------------------------------------------------------
@pytest.mark.parametrize("page, tables", [("docs/index.md", ["rules"]),
                                          ("docs/configuration.md", ["options-check", "options-fix"])])
def test_pages_keep_their_generated_tables(page, tables):
    text = (ROOT / page).read_text(encoding="utf-8")
    for name in tables:
        assert f"<!-- generated: {name} -->\n" in text, f"{page} lost its {name} table"
    assert text.count("<!-- generated: ") == text.count("<!-- end generated -->") == len(tables)


def test_a_hand_edited_table_is_drift(tmp_path, capsys):
    page = tmp_path / "docs" / "index.md"
    page.parent.mkdir()
    current = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    edited = "\n".join(line for line in current.splitlines() if "TL202" not in line) + "\n"
    page.write_text(edited, encoding="utf-8")
    docs_main(["--root", str(tmp_path)])
    capsys.readouterr()
    assert page.read_text(encoding="utf-8").count("| [TL202](rules/TL202.md)") == 1  # the row is back
    page.write_text(edited, encoding="utf-8")
    assert docs_main(["--check", "--root", str(tmp_path)]) == 1
    assert "index.md" in capsys.readouterr().err


def test_an_unknown_table_is_an_error():
    with pytest.raises(ValueError, match="unknown generated table 'nope'"):
        with_tables("<!-- generated: nope -->\n<!-- end generated -->\n")


def test_the_rules_table_is_in_code_order_and_complete():
    rows = [line for line in render_rules_table(ALL_RULES).splitlines() if line.startswith("| [")]
    listed = [row.split("]", 1)[0][3:] for row in rows]
    assert listed == sorted(rule.code for rule in ALL_RULES)


def test_the_options_tables_come_from_the_parser():
    check, fix = render_options("check"), render_options("fix")
    for option in ("--select CODES", "--extend-select CODES", "--extend-ignore CODES", "--config FILE",
                   "--quiet", "--jobs N"):
        assert f"{option}`" in check and f"{option}`" in fix
    for option in ("--output-file FILE", "--fix`", "--format {"):
        assert option in check and option not in fix
    assert "--diff`" in fix and "--diff`" not in check


def test_the_codes_module_is_the_rules_as_data():
    from tensorlint.core import codes
    assert codes.CODES == tuple(sorted(rule.code for rule in ALL_RULES))
    assert codes.FILE_CODES == {rule.code for rule in FILE_RULES}
    assert codes.DEFAULT_CODES == {rule.code for rule in ALL_RULES if rule.default_enabled}
    assert dict((code, name) for code, name, _ in codes.RULES) == {rule.code: rule.name for rule in ALL_RULES}


# -- rule documentation -------------------------------------------------------------------------
def section_problems(rule):
    """What is wrong with a rule's documented sections: missing ones, or ruff's order broken."""
    present = list(sections(rule.documentation()))
    required = REQUIRED_SECTIONS + (["Fix safety"] if rule.fixable != "no" else [])
    missing = [name for name in required if name not in present]
    if missing:
        return f"{rule.code} lacks sections {missing}; has {present}"
    order = [present.index(name) for name in required]
    if order != sorted(order):
        return f"{rule.code}: sections out of ruff's order: {present}"
    return None


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.code)
def test_rule_docstring_has_required_sections(rule):
    assert section_problems(rule) is None, section_problems(rule)
    assert rule.fixable in ("always", "sometimes", "no")


def test_section_check_catches_a_missing_section():
    class Fixable(Rule):
        """
        ## What it does
        x
        ## Why is this bad?
        x
        ## Example
        x
        ## Use instead
        x
        """
        code, name, summary, fixable = "TL999", "made-up", "Made up", "always"

    class Unfixable(Fixable):
        __doc__ = Fixable.__doc__
        fixable = "no"

    assert "Fix safety" in section_problems(Fixable)
    assert section_problems(Unfixable) is None


CHECKED_RULES = [rule for rule in ALL_RULES if rule not in FILE_RULES]  # TL001/TL002: files that cannot be read


@pytest.mark.parametrize("rule", CHECKED_RULES, ids=lambda r: r.code)
def test_rule_page_examples_parse(rule):
    page = render_rule(rule)
    for heading in ("Example", "Use instead"):
        blocks = code_blocks(sections(page)[heading])
        assert blocks, f"{rule.code}: no python block under {heading!r}"
        for block in blocks:
            try:
                ast.parse(block)
            except SyntaxError as error:
                pytest.fail(f"{rule.code} {heading!r} block does not parse ({error}):\n{block}")


@pytest.mark.parametrize("rule", CHECKED_RULES, ids=lambda r: r.code)
def test_rule_example_is_flagged_and_use_instead_is_not(rule):
    """The Example shows the problem, Use instead its cure, as this rule sees them."""
    page = sections(render_rule(rule))
    example = "".join(code_blocks(page["Example"]))
    use_instead = "".join(code_blocks(page["Use instead"]))
    select = None if rule.default_enabled else ["TL", rule.code]  # an opt-in rule is shown switched on
    assert rule.code in {d.code for d in check_source(PRELUDE + example, select=select)}
    assert rule.code not in {d.code for d in check_source(PRELUDE + use_instead, select=select)}


# -- README -------------------------------------------------------------------------------------
def test_readme_quick_start_is_the_two_commands():
    quick_start = sections(README.read_text(encoding="utf-8")).get("Quick start")
    assert quick_start is not None, "README.md has no '## Quick start'"
    blocks = code_blocks(quick_start, "bash")
    assert len(blocks) == 1, "Quick start must hold exactly one ```bash block"
    assert blocks[0].splitlines() == QUICK_START


def test_ci_runs_exactly_the_readme_test_command():
    commands = [line for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith(("#", "set ", "cd "))]
    assert commands == [QUICK_START[1]]
    assert QUICK_START[1].startswith("pip install torch==2.13.0 ")  # the pin first, always


def test_the_test_extra_brings_pytest_xdist():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    test_extra = re.search(r"^test = \[(.*)\]$", pyproject, re.M)
    assert test_extra and '"pytest-xdist' in test_extra.group(1)


def test_readme_and_rules_index_list_every_rule():
    readme = README.read_text(encoding="utf-8")
    for rule in ALL_RULES:
        assert f"docs/rules/{rule.code}.md" in readme, f"README does not link {rule.code}"


# -- every other page ----------------------------------------------------------------------------
def _pages():
    return [README, *sorted((ROOT / "docs").rglob("*.md")), *sorted((ROOT / "examples").glob("*.md"))]


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_links_stay_in_the_repo_and_resolve(page):
    text = page.read_text(encoding="utf-8")
    text = FENCE.sub("", text)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        assert not re.match(r"[a-z]+:", target), f"{page.name} links outside the repository: {target}"
        path = target.split("#", 1)[0]
        if path:
            assert (page.parent / path).exists(), f"{page.name}: broken link {target}"


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_parse(page):
    for block in code_blocks(page.read_text(encoding="utf-8")):
        try:
            ast.parse(block)
        except SyntaxError as error:
            pytest.fail(f"{page.name}: a python block does not parse ({error}):\n{block}")


# `# expect: TL101 TL102` (default rules) or `# expect (with TL105): TL105` (the defaults plus an opt-in rule,
# as `extend-select` adds it), then the codes or `nothing`.
CLAIM = re.compile(r"# expect(?: \(with (TL\d{3})\))?:(.*)")


def _claims():
    for page in sorted((ROOT / "docs").glob("*.md")):
        for block in code_blocks(page.read_text(encoding="utf-8")):
            if CLAIM.fullmatch(block.split("\n", 1)[0]):
                yield pytest.param(block, id=f"{page.stem}:{block.splitlines()[1][:40]}")


@pytest.mark.parametrize("block", list(_claims()))
def test_documented_claim_holds(block):
    opt_in, codes = CLAIM.fullmatch(block.split("\n", 1)[0]).groups()
    expected = set() if codes.split() == ["nothing"] else set(codes.split())
    # "TL" keeps every default rule on; an opt-in rule is on only when named in full
    found = check_source(PRELUDE + block, select=["TL", opt_in] if opt_in else None)
    assert {d.code for d in found} == expected, \
        f"the docs claim {sorted(expected) or 'nothing'}, tensorlint reports " \
        f"{[(d.line - 2, d.code) for d in found]}:\n{block}"


def test_provenance_doc_has_claims():
    assert len(list(_claims())) >= 30


def test_every_expect_line_is_a_claim():
    """A misspelt `# expect` line would leave its snippet unchecked."""
    for page in sorted((ROOT / "docs").glob("*.md")):
        for block in code_blocks(page.read_text(encoding="utf-8")):
            first = block.split("\n", 1)[0]
            if first.startswith("# expect"):
                assert CLAIM.fullmatch(first), f"{page.name}: not a claim line: {first!r}"


# -- the worked example ---------------------------------------------------------------------------
def test_examples_readme_count_matches_check():
    """examples/README.md states how many diagnostics `tensorlint check examples/` prints, by code."""
    readme = (ROOT / "examples" / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\|\s*(TL\d{3})\s*\|\s*(\d+)\s*\|", readme, re.MULTILINE)
    stated = {code: int(count) for code, count in rows}
    total = re.search(r"\*\*(\d+) diagnostics\*\*", readme)
    found = Counter()
    for path in sorted((ROOT / "examples").glob("*.py")):
        found.update(d.code for d in check_source(path.read_text(encoding="utf-8"), str(path)))
    assert stated == dict(found), f"examples/README.md says {stated}, tensorlint finds {dict(found)}"
    assert total is not None and int(total.group(1)) == sum(found.values())
