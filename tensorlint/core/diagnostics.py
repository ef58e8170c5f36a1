"""What a check produces: diagnostics, each with an optional fix made of text edits."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
import re
from typing import List, Optional, Tuple

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def physical_lines(source: str) -> List[str]:
    """Lines with their endings, split only where Python ends a line (not at form feeds or U+2028)."""
    return _LINE.findall(source)


class Safety(str, enum.Enum):
    SAFE = "safe"      # keeps behaviour for every input the code could see
    UNSAFE = "unsafe"  # may change behaviour; applied only with --unsafe-fixes


@dataclass(frozen=True, order=True)
class Edit:
    """Replace source[start:end] (character offsets) with `text`."""
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Fix:
    title: str
    edits: Tuple[Edit, ...]
    safety: Safety = Safety.SAFE
    # Source texts of receivers the fix assumes to be torch tensors without proof (`feat`, `self.boxes`);
    # empty: nothing assumed. `tensorlint verify` also binds these to the look-alikes real code passes.
    assumes: Tuple[str, ...] = ()

    @property
    def is_safe(self) -> bool:
        return self.safety is Safety.SAFE


@dataclass(frozen=True, order=True)
class Diagnostic:
    line: int        # 1-based
    col: int         # 0-based, in characters (flake8 adds 1 when printing)
    code: str
    message: str = field(compare=False)
    end_line: int = field(default=0, compare=False)
    end_col: int = field(default=0, compare=False)
    # Character offsets of the flagged expression in the source.
    start_offset: int = field(default=0, compare=False)
    end_offset: int = field(default=0, compare=False)
    fix: Optional[Fix] = field(default=None, compare=False)

    def format(self, path: str) -> str:
        return f"{path}:{self.line}:{self.col + 1}: {self.code} {self.message}"


def changes_nothing(source: str, edits) -> bool:
    """Edits that put back the text that is there: a fix made of them applies nothing."""
    return all(source[edit.start:edit.end] == edit.text for edit in edits)


# Line references inside messages: "(line 12)" (evidence), "at line 40" (the call a helper's finding came from).
_LINE_REFERENCE = re.compile(r"\(line (\d+)\)|at line (\d+)")


def with_lines_mapped(diagnostic: "Diagnostic", new_line) -> Optional["Diagnostic"]:
    """The diagnostic with the lines its message names mapped by `new_line(line) -> str | None` (the words
    to print instead: "line 17", "cell 3, line 4"); None when one cannot be mapped."""
    unmapped = False

    def mapped(match: "re.Match") -> str:
        nonlocal unmapped
        evidence, call = match.group(1), match.group(2)
        shown = new_line(int(evidence or call))
        if shown is None:
            unmapped = True
            return match.group(0)
        return f"({shown})" if evidence else f"at {shown}"

    message = _LINE_REFERENCE.sub(mapped, diagnostic.message)
    if unmapped:
        return None
    if message == diagnostic.message:
        return diagnostic
    from dataclasses import replace
    return replace(diagnostic, message=message)
