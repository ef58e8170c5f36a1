"""A rule's documentation must tell the truth: its Example fires the rule, its "Use instead" does not."""
import re
import textwrap

import libcst as cst
import pytest

from tensorlint import check_source
from tensorlint.rules import ALL_RULES, FILE_RULES

CHECKED_RULES = [rule for rule in ALL_RULES if rule not in FILE_RULES]  # TL001/TL002 are about files, not code


def _codes(rule):
    """The default rules, and the rule itself when it is opt-in (its example is read as by a user who selected it)."""
    return rule.codes_when_selected()

PRELUDE = "import numpy as np\nimport torch\nfrom sklearn.metrics import roc_auc_score\n"


def _section_code(doc: str, heading: str) -> str:
    match = re.search(rf"## {re.escape(heading)}\n+```python\n(.*?)```", doc, re.S)
    assert match, f"no python block under '## {heading}'"
    return match.group(1)


def _as_function(snippet: str) -> str:
    """Free names of the snippet become parameters: values of unknown provenance, as in real helpers."""
    module = cst.parse_module(snippet)
    assigned, used = set(), []

    class Names(cst.CSTVisitor):
        def visit_AssignTarget(self, node):
            if isinstance(node.target, cst.Name):
                assigned.add(node.target.value)

        def visit_Name(self, node):
            used.append(node.value)

    module.visit(Names())
    known = assigned | {"np", "torch", "roc_auc_score", "True", "False", "None"} | set(dir(__builtins__))
    params = sorted({name for name in used if name not in known})
    return PRELUDE + f"def example({', '.join(params)}):\n" + textwrap.indent(snippet, "    ")


@pytest.mark.parametrize("rule", CHECKED_RULES, ids=lambda r: r.code)
def test_example_fires_the_rule(rule):
    source = _as_function(_section_code(rule.documentation(), "Example"))
    assert any(d.code == rule.code for d in check_source(source, select=_codes(rule))), source


@pytest.mark.parametrize("rule", CHECKED_RULES, ids=lambda r: r.code)
def test_use_instead_is_clean(rule):
    source = _as_function(_section_code(rule.documentation(), "Use instead"))
    assert not [d for d in check_source(source) if d.code.startswith("TL1")], source
