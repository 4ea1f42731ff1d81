"""Markdown text: the one table layout and the escape that the leaderboard and reports share."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

__all__ = ["markdown_table", "md_escape"]

# Characters Markdown could read as markup; "_" only where it could open or close emphasis.
_MD_SPECIAL = re.compile(r"([\\`*|<>\[\]]|(?<!\w)_|_(?!\w))")


def md_escape(text: str) -> str:
    """``text`` on one line (white space folded), with Markdown's markup characters escaped."""
    return _MD_SPECIAL.sub(r"\\\g<0>", " ".join(text.split()))


def markdown_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    numeric: Sequence[bool] | None = None,
) -> str:
    """A GitHub-flavoured Markdown table, one line per row, without a final newline.

    Args:
        headers: The header cells.
        rows: The body rows, each with one cell per header.
        numeric: Per column, whether it is right-aligned (``---:``); default none.

    Returns:
        The table's lines joined by newlines. Cells are written as given: escape text that
        is not meant as Markdown with :func:`md_escape` first.

    Raises:
        ValueError: A row or ``numeric`` does not have one entry per header.
    """
    width = len(headers)
    align = [False] * width if numeric is None else list(numeric)
    lines = [list(headers), *(list(row) for row in rows)]
    for cells in (align, *lines[1:]):
        if len(cells) != width:
            raise ValueError(f"{len(cells)} columns where the header has {width}: {cells!r}")
    out = ["| " + " | ".join(lines[0]) + " |"]
    out.append("|" + "|".join("---:" if right else "---" for right in align) + "|")
    out += ["| " + " | ".join(cells) + " |" for cells in lines[1:]]
    return "\n".join(out)
