"""Where a rule is documented: a link built from the installed package's metadata, and the rule's text.

`[project.urls] Documentation` in pyproject.toml reaches every install as a `Project-URL` line of
the package metadata; a rule's page is `<Documentation>/rules/<CODE>.md`. Without that line (an old
install, a vendored copy) a checkout's docs/rules/ page is linked, and the hover carries the rule's
own text, so the explanation is one keypress away in every install.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Iterable, Optional

DISTRIBUTION = "tensorlint"
_CHECKOUT_RULES = Path(__file__).resolve().parents[2] / "docs" / "rules"


def documentation_url(project_urls: Iterable[str]) -> Optional[str]:
    """The `Documentation` URL among metadata `Project-URL` values ("Label, URL")."""
    for entry in project_urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() in ("documentation", "docs") and url.strip():
            return url.strip().rstrip("/")
    return None


@functools.lru_cache(maxsize=None)
def _installed_documentation() -> Optional[str]:
    from importlib import metadata
    try:
        return documentation_url(metadata.metadata(DISTRIBUTION).get_all("Project-URL") or ())
    except metadata.PackageNotFoundError:
        return None


@functools.lru_cache(maxsize=None)
def rule_href(code: str) -> Optional[str]:
    """The page documenting `code`, or None when this install knows of none."""
    base = _installed_documentation()
    if base is not None:
        return f"{base}/rules/{code}.md"
    page = _CHECKOUT_RULES / f"{code}.md"
    return page.as_uri() if page.is_file() else None


def rule_text(code: str) -> Optional[str]:
    """Markdown for a hover: the rule's name, summary and documentation."""
    from tensorlint.rules import RULES_BY_CODE  # the rules and libcst: loaded by the server's warm_up
    rule = RULES_BY_CODE.get(code)
    if rule is None:
        return None
    href = rule_href(code)
    title = f"**{code}** `{rule.name}`: {rule.summary}"
    link = f"\n\n[Rule documentation]({href})" if href else ""
    return f"{title}\n\n{rule.documentation().strip()}{link}"
