"""Result files -> a leaderboard: Markdown, one self-contained HTML page, JSON rows and plots.

:func:`build_leaderboard` reads ``rolegym.eval/1`` result files (see
:mod:`rolegym.evaluation.schema`; directories are searched recursively) and writes into
``out_dir``:

- ``leaderboard.md``: the accuracy table (one row per system, one column per cell, sorted by
  workflow then task, then the mean accuracy and mean completion tokens per problem; the best
  value of each column in bold), a table of the systems, the per-role table (calls, mean
  tokens, parse-failure and truncation rates, and each role's own figures: answer accuracy,
  choice accuracy, precision, recall) and links to the plots;
- ``leaderboard.html``: the same tables with exactly the same text, inline CSS, a small inline
  script that sorts a table when a header is clicked (numerically for number columns) and the
  plots embedded as base64 PNGs, so the page has no external assets;
- ``leaderboard.json``: the gathered rows, one per system x cell (``rolegym.leaderboard/1``);
- ``plots/*.png``: ``accuracy.png`` (grouped bars per cell), ``single_vs_workflow.png`` (each
  workflow cell against the same task's ``single-<task>`` cell, with the diagonal),
  ``shared_vs_isolated.png`` (paired bars of matching Shared- and Isolated-Policy systems) and
  ``tokens_vs_accuracy.png`` (accuracy against completion tokens per problem). A plot that has
  nothing to show is skipped and the reason recorded in :attr:`Leaderboard.skipped_plots`;
  without matplotlib every plot is skipped so (see :mod:`rolegym.evaluation.plots`).

Numbers are formatted once, in one place: accuracies and rates with 3 decimals, tokens with 1
decimal and thousands separators, counts as integers; ``–`` marks a value that does not exist
(a cell a system was not evaluated on, a figure a role does not have). Means are over the cells
each system was evaluated on; a mean over fewer than all cells is marked ``†`` and is bold only
when no system covers every cell. The best mean tokens per problem is the fewest.

The parts, one module each: :mod:`~rolegym.evaluation.gather` (result files -> rows),
:mod:`~rolegym.evaluation.board` (table order, means, Shared/Isolated pairs),
:mod:`~rolegym.evaluation.board_tables` (the tables and notes),
:mod:`~rolegym.evaluation.board_render` (the Markdown and HTML documents) and
:mod:`~rolegym.evaluation.board_plots` (the plots).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rolegym.evaluation.board import Board, policy_pairs
from rolegym.evaluation.board_plots import PLOT_NAMES as PLOT_NAMES
from rolegym.evaluation.board_plots import draw_leaderboard_plots
from rolegym.evaluation.board_render import html_page, markdown_page
from rolegym.evaluation.board_tables import MISSING as MISSING
from rolegym.evaluation.board_tables import PARTIAL as PARTIAL
from rolegym.evaluation.board_tables import accuracy_table, roles_table, systems_table
from rolegym.evaluation.gather import LeaderboardRow, gather_files, gather_rows
from rolegym.evaluation.schema import SCHEMA

__all__ = ["LEADERBOARD_SCHEMA", "Leaderboard", "LeaderboardRow", "build_leaderboard"]

LEADERBOARD_SCHEMA = "rolegym.leaderboard/1"


@dataclass
class Leaderboard:
    """What :func:`build_leaderboard` gathered and wrote.

    Attributes:
        title: The page title.
        rows: One row per system x cell, systems in table order, cells in column order.
        systems: System labels in table order (best mean accuracy first).
        cells: Cell ids in column order (workflow, then task).
        markdown: The text of ``leaderboard.md``.
        html: The text of ``leaderboard.html``.
        paths: ``"markdown"``, ``"html"`` and ``"json"`` -> the files written.
        plots: Plot name -> the PNG written (see ``PLOT_NAMES``).
        skipped_plots: Plot name -> why it was not drawn.
        policy_pairs: The (Shared, Isolated) systems compared in ``shared_vs_isolated.png``:
            labels that differ only by the policy word, else the one Shared and one Isolated
            system of the same ``system.name`` and ``train_env``; each pair shares a cell.
    """

    title: str
    rows: list[LeaderboardRow]
    systems: list[str]
    cells: list[str]
    markdown: str
    html: str
    paths: dict[str, Path] = field(default_factory=dict)
    plots: dict[str, Path] = field(default_factory=dict)
    skipped_plots: dict[str, str] = field(default_factory=dict)
    policy_pairs: list[tuple[str, str]] = field(default_factory=list)

    @property
    def files(self) -> list[Path]:
        """Every file written: the three documents, then the plots."""
        return [*self.paths.values(), *self.plots.values()]


def build_leaderboard(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    title: str = "rolegym leaderboard",
    plots: bool = True,
) -> Leaderboard:
    """Gather result files into a leaderboard and write it to ``out_dir``.

    Args:
        paths: Result files and/or directories. A file named here must be a valid
            ``rolegym.eval/1`` result; directories are searched recursively for ``*.json``
            files, of which those whose ``"schema"`` is not ``rolegym.eval/...`` are skipped
            (so a previous ``leaderboard.json`` is never read back).
        out_dir: Where ``leaderboard.md``, ``leaderboard.html``, ``leaderboard.json`` and
            ``plots/`` go (created if needed; files of the same names are replaced).
        title: The heading of the Markdown and HTML documents.
        plots: Draw the PNG plots (without matplotlib they are skipped and the documents say
            so); ``False`` writes the documents only.

    Returns:
        The rows, the systems and cells in table order, the documents' text and the paths
        written.

    Raises:
        SchemaError: A result file (or a file in a directory that claims to be one) is
            invalid; the message starts with its path.
        FileNotFoundError: A path does not exist.
        ValueError: No result file was found, the same label names two different systems,
            or a system x cell appears twice.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = list(paths)
    files = gather_files(paths)
    if not files:
        where = ", ".join(str(p) for p in paths) or "(no paths given)"
        raise ValueError(f"no {SCHEMA} result files in {where}")
    rows = gather_rows(files)
    board = Board(rows)
    rows = board.ordered_rows()

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    drawn: dict[str, Path] = {}
    skipped: dict[str, str] = {}
    if plots:
        drawn, skipped = draw_leaderboard_plots(board, out / "plots")
    tables = (accuracy_table(board), systems_table(board), roles_table(board))
    markdown = markdown_page(title, board, tables, drawn, skipped, "plots")
    page = html_page(title, board, tables, drawn, skipped)
    written = {
        "markdown": out / "leaderboard.md",
        "html": out / "leaderboard.html",
        "json": out / "leaderboard.json",
    }
    written["markdown"].write_text(markdown, encoding="utf-8")
    written["html"].write_text(page, encoding="utf-8")
    payload = {
        "schema": LEADERBOARD_SCHEMA,
        "title": title,
        "cells": board.cells,
        "systems": board.systems,
        "rows": [r.to_dict() for r in rows],
    }
    written["json"].write_text(
        json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return Leaderboard(
        title=title,
        rows=rows,
        systems=board.systems,
        cells=board.cells,
        markdown=markdown,
        html=page,
        paths=written,
        plots=drawn,
        skipped_plots=skipped,
        policy_pairs=policy_pairs(board),
    )
