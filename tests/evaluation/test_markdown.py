"""The one Markdown table helper (and escape) that the leaderboard and the run report share."""

from __future__ import annotations

import pytest

from rolegym.evaluation.markdown import markdown_table, md_escape


def test_table_layout_and_alignment() -> None:
    text = markdown_table(
        ["system", "accuracy"], [["a", "0.500"], ["b", "**0.750**"]], [False, True]
    )
    assert text == "| system | accuracy |\n|---|---:|\n| a | 0.500 |\n| b | **0.750** |"


def test_without_numeric_flags_every_column_is_left_aligned() -> None:
    assert markdown_table(["x", "y", "z"], []) == "| x | y | z |\n|---|---|---|"


def test_cells_are_written_as_given() -> None:
    # The caller decides what is Markdown: the helper neither escapes nor strips.
    assert markdown_table(["trend"], [["90.0 -> 45.0 (-50%)"]]).splitlines()[-1] == (
        "| 90.0 -> 45.0 (-50%) |"
    )


@pytest.mark.parametrize(
    ("headers", "rows", "numeric"),
    [
        (["a", "b"], [["1"]], None),  # a short row would shift every later column
        (["a", "b"], [["1", "2", "3"]], None),
        (["a", "b"], [], [True]),
    ],
)
def test_ragged_tables_are_refused(
    headers: list[str], rows: list[list[str]], numeric: list[bool] | None
) -> None:
    with pytest.raises(ValueError, match="columns"):
        markdown_table(headers, rows, numeric)


def test_escape_keeps_words_and_folds_space() -> None:
    assert md_escape("a|b <c> *d*") == r"a\|b \<c\> \*d\*"
    assert md_escape("grad_mass_share") == "grad_mass_share"  # "_" inside a word is text
    assert md_escape("_lead and trail_") == r"\_lead and trail\_"
    assert md_escape(" two\n lines ") == "two lines"
