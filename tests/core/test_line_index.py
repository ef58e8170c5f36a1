"""`LineIndex`: offsets to (row, column) and back, at line breaks of every kind and at the ends of a text."""
from __future__ import annotations

import pytest

from tensorlint.core.line_index import LineIndex


@pytest.mark.parametrize("text, starts", [
    pytest.param("", [0], id="empty"),
    pytest.param("x", [0, 1], id="no line break"),
    pytest.param("a\nb\n", [0, 2, 4], id="\\n"),
    pytest.param("a\r\nb", [0, 3, 4], id="\\r\\n is one break"),
    pytest.param("a\rb\n\n", [0, 2, 4, 5], id="\\r alone, empty last line"),
])
def test_starts(text, starts):
    assert LineIndex(text).starts == starts


@pytest.mark.parametrize("text, offset, position", [
    pytest.param("", 0, (0, 0), id="empty text"),
    pytest.param("ab\ncd", 0, (0, 0), id="start"),
    pytest.param("ab\ncd", 2, (0, 2), id="at the line break"),
    pytest.param("ab\ncd", 3, (1, 0), id="next line"),
    pytest.param("ab\ncd", 5, (1, 2), id="end without a final break: on the last line"),
    pytest.param("ab\n", 3, (1, 0), id="end after a final break: the line after"),
    pytest.param("a\r\nb", 2, (0, 2), id="between \\r and \\n"),
])
def test_position(text, offset, position):
    assert LineIndex(text).position(offset) == position


def test_row_counts_the_end_after_a_final_break_as_a_row_of_its_own():
    index = LineIndex("ab\n")
    assert [index.row(offset) for offset in range(4)] == [0, 0, 0, 1]


@pytest.mark.parametrize("row, column, offset", [
    pytest.param(0, 1, 1, id="inside"),
    pytest.param(0, 9, 3, id="kept within the row, its break included"),
    pytest.param(1, 0, 3, id="second row"),
    pytest.param(2, 0, 5, id="past the last row: the end"),
])
def test_offset(row, column, offset):
    assert LineIndex("ab\ncd").offset(row, column) == offset


def test_offset_and_position_round_trip():
    text = "import x\r\n\n  y = 1\rz\n"
    index = LineIndex(text)
    for offset in range(len(text) + 1):
        assert index.offset(*index.position(offset)) == offset


def test_line_end_is_before_the_break():
    index = LineIndex("ab\r\ncd")
    assert (index.line_end(0), index.line_end(1)) == (2, 6)


def test_lines_given_are_kept_as_split():
    parts = ["a\r", "\n"]  # split by the caller: joined, "\r\n" would read as one break
    index = LineIndex("".join(parts), parts)
    assert index.lines == parts and index.starts == [0, 2, 3]
