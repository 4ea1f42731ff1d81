"""The leaderboard's plots, drawn with :func:`rolegym.evaluation.plots.new_figure`.

``accuracy`` (grouped bars per cell), ``single_vs_workflow`` (each workflow cell against the
same task's ``single-<task>`` cell, with the diagonal), ``shared_vs_isolated`` (paired bars of
matching Shared- and Isolated-Policy systems) and ``tokens_vs_accuracy`` (accuracy against
completion tokens per problem). A plot that has nothing to show is skipped, with the reason.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rolegym.evaluation.board import Board, policy_pairs
from rolegym.evaluation.plots import draw_plots, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["PLOT_NAMES", "PLOT_TITLES", "draw_leaderboard_plots"]

PLOT_NAMES = ("accuracy", "single_vs_workflow", "shared_vs_isolated", "tokens_vs_accuracy")
PLOT_TITLES = {
    "accuracy": "Accuracy per cell",
    "single_vs_workflow": "Workflow vs single agent",
    "shared_vs_isolated": "Shared vs Isolated policy",
    "tokens_vs_accuracy": "Accuracy vs completion tokens per problem",
}


def _colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")


def _workflow_markers(board: Board) -> dict[str, str]:
    workflows = sorted({w for w, _ in board.cell_info.values()})
    return {w: _MARKERS[i % len(_MARKERS)] for i, w in enumerate(workflows)}


def _plot_accuracy(board: Board) -> Figure:
    n_sys, n_cells = len(board.systems), len(board.cells)
    fig = new_figure(min(18.0, max(6.0, 0.9 + n_cells * (0.35 * n_sys + 0.6))), 4.2)
    ax = fig.add_subplot()
    width = 0.8 / n_sys
    for i, (label, color) in enumerate(zip(board.systems, _colors(n_sys), strict=True)):
        xs, ys = [], []
        for j, c in enumerate(board.cells):
            if (row := board.get(label, c)) is not None:
                xs.append(j - 0.4 + width * (i + 0.5))
                ys.append(row.accuracy)
        bars = ax.bar(xs, ys, width, label=label, color=color)
        if n_sys * n_cells <= 24:
            ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=1)
    ax.set_xticks(
        range(n_cells),
        board.cells,
        rotation=20 if n_cells > 3 else 0,
        ha="right" if n_cells > 3 else "center",
    )
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("accuracy")
    ax.set_title(PLOT_TITLES["accuracy"])
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def _plot_single_vs_workflow(board: Board) -> Figure | str:
    singles = {task: c for c, (w, task) in board.cell_info.items() if w == "single"}
    if not singles:
        return "no single-agent (single-<task>) cells"
    points = []  # (system, workflow, x, y)
    for label in board.systems:
        for c, (w, task) in board.cell_info.items():
            if w == "single" or task not in singles:
                continue
            base, row = board.get(label, singles[task]), board.get(label, c)
            if base is not None and row is not None:
                points.append((label, w, base.accuracy, row.accuracy))
    if not points:
        return "no system has a single-agent and a workflow cell of the same task"
    fig = new_figure(6.4, 5.0)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], ls="--", color="0.5", lw=1, label="y = x")
    colors = dict(zip(board.systems, _colors(len(board.systems)), strict=True))
    markers = _workflow_markers(board)
    for label, w, x, y in points:
        ax.scatter(x, y, color=colors[label], marker=markers[w], s=45, zorder=3)
    _legends(fig, colors, markers, {label for label, *_ in points}, {w for _, w, *_ in points})
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_aspect("equal")
    ax.set_xlabel("single-agent accuracy (single-<task>)")
    ax.set_ylabel("workflow accuracy (same task)")
    ax.set_title(PLOT_TITLES["single_vs_workflow"])
    ax.grid(alpha=0.3)
    return fig


def _legends(
    fig: Figure,
    colors: dict[str, Any],
    markers: dict[str, str],
    systems: set[str],
    workflows: set[str],
) -> None:
    """Colour = system and marker = workflow, as two legends right of the axes."""
    from matplotlib.lines import Line2D

    sys_handles = [
        Line2D([], [], ls="", marker="o", color=colors[s], label=s) for s in colors if s in systems
    ]
    wf_handles = [
        Line2D([], [], ls="", marker=m, color="0.3", label=w)
        for w, m in markers.items()
        if w in workflows
    ]
    # Figure legends placed "outside" get room from the constrained layout.
    for handles, title, loc in (
        (sys_handles, "system", "outside right upper"),
        (wf_handles, "workflow", "outside right lower"),
    ):
        fig.legend(handles=handles, title=title, fontsize=8, title_fontsize=8, loc=loc)


def _plot_shared_vs_isolated(board: Board) -> Figure | str:
    pairs = policy_pairs(board)
    if not pairs:
        return "no matching pair of Shared- and Isolated-Policy systems"
    widest = max(
        sum(1 for c in board.cells if board.get(s, c) and board.get(i, c)) for s, i in pairs
    )
    fig = new_figure(min(16.0, max(6.0, 1.5 + 1.3 * widest)), 3.2 * len(pairs))
    shared_color, isolated_color = _colors(2)
    for k, (s, i) in enumerate(pairs):
        ax = fig.add_subplot(len(pairs), 1, k + 1)
        cells = [c for c in board.cells if board.get(s, c) and board.get(i, c)]
        xs = range(len(cells))
        for offset, label, color, policy in (
            (-0.2, s, shared_color, "shared"),
            (0.2, i, isolated_color, "isolated"),
        ):
            ys = [board.by_key[(label, c)].accuracy for c in cells]
            bars = ax.bar(
                [x + offset for x in xs], ys, 0.4, color=color, label=f"{policy}: {label}"
            )
            ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=1)
        ax.set_xticks(list(xs), cells)
        ax.set_ylim(0, 1.12)
        ax.set_ylabel("accuracy")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        if k == 0:
            ax.set_title(PLOT_TITLES["shared_vs_isolated"])
    return fig


def _plot_tokens_vs_accuracy(board: Board) -> Figure:
    fig = new_figure(7.5, 5.0)
    ax = fig.add_subplot()
    colors = dict(zip(board.systems, _colors(len(board.systems)), strict=True))
    markers = _workflow_markers(board)
    rows = board.ordered_rows()
    for row in rows:
        ax.scatter(
            row.tokens_per_problem,
            row.accuracy,
            color=colors[row.label],
            marker=markers[row.workflow],
            s=45,
            zorder=3,
        )
        ax.annotate(
            row.env_id,
            (row.tokens_per_problem, row.accuracy),
            fontsize=6,
            xytext=(4, 3),
            textcoords="offset points",
            color="0.25",
        )
    tokens = [r.tokens_per_problem for r in rows if r.tokens_per_problem > 0]
    if tokens and len(tokens) == len(rows) and max(tokens) / min(tokens) > 20:
        ax.set_xscale("log")
    _legends(fig, colors, markers, set(board.systems), {r.workflow for r in rows})
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("completion tokens per problem")
    ax.set_ylabel("accuracy")
    ax.set_title(PLOT_TITLES["tokens_vs_accuracy"])
    ax.grid(alpha=0.3)
    return fig


def draw_leaderboard_plots(board: Board, plot_dir: Path) -> tuple[dict[str, Path], dict[str, str]]:
    """Draw the plots into ``plot_dir/<name>.png`` with :func:`~.plots.draw_plots`.

    Returns:
        Plot name -> the PNG written, and plot name -> why it was skipped.
    """
    drawers = {
        "accuracy": _plot_accuracy,
        "single_vs_workflow": _plot_single_vs_workflow,
        "shared_vs_isolated": _plot_shared_vs_isolated,
        "tokens_vs_accuracy": _plot_tokens_vs_accuracy,
    }
    return draw_plots(
        {name: partial(draw, board) for name, draw in drawers.items()},
        lambda name: plot_dir / f"{name}.png",
    )
