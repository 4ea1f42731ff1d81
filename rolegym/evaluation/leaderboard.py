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
  nothing to show is skipped and the reason recorded in :attr:`Leaderboard.skipped_plots`.

Numbers are formatted once, in one place: accuracies and rates with 3 decimals, tokens with 1
decimal and thousands separators, counts as integers; ``–`` marks a value that does not exist
(a cell a system was not evaluated on, a figure a role does not have). Means are over the cells
each system was evaluated on; a mean over fewer than all cells is marked ``†`` and is bold only
when no system covers every cell. The best mean tokens per problem is the fewest.

Plots are drawn with matplotlib's object API on Agg canvases: nothing touches pyplot or any
other global matplotlib state.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rolegym.evaluation.schema import SCHEMA, SchemaError, load_result, validate_result

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["LEADERBOARD_SCHEMA", "Leaderboard", "LeaderboardRow", "build_leaderboard"]

LEADERBOARD_SCHEMA = "rolegym.leaderboard/1"

MISSING = "–"
PARTIAL = "†"
PLOT_NAMES = ("accuracy", "single_vs_workflow", "shared_vs_isolated", "tokens_vs_accuracy")
_PLOT_TITLES = {
    "accuracy": "Accuracy per cell",
    "single_vs_workflow": "Workflow vs single agent",
    "shared_vs_isolated": "Shared vs Isolated policy",
    "tokens_vs_accuracy": "Accuracy vs completion tokens per problem",
}
# Per-role figures beyond the common ones, in column order, with their headers.
_ROLE_EXTRAS = (
    ("answer_accuracy", "answer accuracy"),
    ("choice_accuracy", "choice accuracy"),
    ("precision", "precision"),
    ("recall", "recall"),
)


@dataclass
class LeaderboardRow:
    """One system evaluated on one cell (a row of ``leaderboard.json``).

    Attributes:
        label: The system's label, as shown on the leaderboard.
        env_id: The cell's environment id, e.g. ``voting-arith-v0``.
        workflow: The cell's workflow, e.g. ``voting``.
        task: The cell's task family, e.g. ``arith``.
        accuracy: Mean episode correctness.
        correct: Correct episodes.
        episodes: Episodes played.
        problems: Distinct problems.
        samples: Samples per problem.
        tokens_per_problem: Completion tokens of all calls divided by problems.
        calls_per_episode: LLM calls per episode.
        roles: Per-role statistics, as in the result file.
        system: The result file's ``system`` object.
        protocol: The result file's ``protocol`` object.
        source: The result file the row was read from.
    """

    label: str
    env_id: str
    workflow: str
    task: str
    accuracy: float
    correct: int
    episodes: int
    problems: int
    samples: int
    tokens_per_problem: float
    calls_per_episode: float
    roles: dict[str, dict[str, Any]]
    system: dict[str, Any]
    protocol: dict[str, Any]
    source: str

    def to_dict(self) -> dict[str, Any]:
        """The row as plain JSON-serialisable data."""
        return asdict(self)


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


# --------------------------------------------------------------------------------------------
# Gathering
# --------------------------------------------------------------------------------------------


def _read_candidate(path: Path) -> dict[str, Any] | None:
    """A JSON file found in a directory: its validated result, or None if not a result file."""
    raw = path.read_bytes()
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        if b'"rolegym.eval/' in raw:  # a damaged result file must not vanish silently
            raise SchemaError(f"{path}: not JSON ({e})") from None
        return None
    schema = data.get("schema") if isinstance(data, dict) else None
    if not (isinstance(schema, str) and schema.startswith("rolegym.eval/")):
        return None
    validate_result(data, str(path))  # other versions fail here, naming the file
    return data


def _gather_files(paths: Iterable[str | os.PathLike[str]]) -> list[tuple[Path, dict[str, Any]]]:
    """Every result file under ``paths``, each once, validated."""
    found: list[tuple[Path, dict[str, Any]]] = []
    seen: set[Path] = set()
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            for file in sorted(path.rglob("*.json")):
                if file.is_file() and file.resolve() not in seen:
                    data = _read_candidate(file)
                    if data is not None:
                        seen.add(file.resolve())
                        found.append((file, data))
        elif path.is_file():
            if path.resolve() not in seen:
                seen.add(path.resolve())
                found.append((path, load_result(path)))  # named explicitly: must be a result
        else:
            raise FileNotFoundError(f"{path}: no such file or directory")
    return found


def _gather_rows(files: Sequence[tuple[Path, dict[str, Any]]]) -> list[LeaderboardRow]:
    rows: list[LeaderboardRow] = []
    origin: dict[tuple[str, str], Path] = {}
    system_of: dict[str, tuple[dict[str, Any], Path]] = {}
    for path, data in files:
        label, system = data["label"], dict(data["system"])
        if label in system_of and system_of[label][0] != system:
            raise ValueError(
                f"{path}: label {label!r} already names a different system in "
                f"{system_of[label][1]}; give each system its own label"
            )
        system_of.setdefault(label, (system, path))
        for cell in data["cells"]:
            key = (label, cell["env_id"])
            if key in origin:
                raise ValueError(
                    f"{path}: {label!r} on {cell['env_id']} is also in {origin[key]}; "
                    "a system x cell may appear only once"
                )
            origin[key] = path
            rows.append(
                LeaderboardRow(
                    label=label,
                    env_id=cell["env_id"],
                    workflow=cell["workflow"],
                    task=cell["task"],
                    accuracy=float(cell["accuracy"]),
                    correct=cell["correct"],
                    episodes=cell["episodes"],
                    problems=cell["problems"],
                    samples=cell["samples"],
                    tokens_per_problem=float(cell["tokens_per_problem"]),
                    calls_per_episode=float(cell["calls_per_episode"]),
                    roles={role: dict(stats) for role, stats in cell["roles"].items()},
                    system=system,
                    protocol=dict(data["protocol"]),
                    source=str(path),
                )
            )
    return rows


class _Board:
    """Rows indexed by system and cell, with the table order worked out."""

    def __init__(self, rows: Sequence[LeaderboardRow]) -> None:
        self.by_key = {(r.label, r.env_id): r for r in rows}
        first_of_cell: dict[str, LeaderboardRow] = {}
        for r in rows:
            first_of_cell.setdefault(r.env_id, r)
        self.cells = sorted(
            first_of_cell, key=lambda c: (first_of_cell[c].workflow, first_of_cell[c].task, c)
        )
        self.cell_info = {c: (first_of_cell[c].workflow, first_of_cell[c].task) for c in self.cells}
        labels = list(dict.fromkeys(r.label for r in rows))
        self.system = {r.label: r.system for r in rows}
        self.sources = {
            label: list(dict.fromkeys(r.source for r in rows if r.label == label))
            for label in labels
        }
        self.mean_accuracy: dict[str, float] = {}
        self.mean_tokens: dict[str, float] = {}
        self.covered: dict[str, int] = {}
        for label in labels:
            own = [self.by_key[(label, c)] for c in self.cells if (label, c) in self.by_key]
            self.covered[label] = len(own)
            self.mean_accuracy[label] = sum(r.accuracy for r in own) / len(own)
            self.mean_tokens[label] = sum(r.tokens_per_problem for r in own) / len(own)
        # Systems evaluated on every cell first, then by mean accuracy, then by label.
        self.systems = sorted(
            labels, key=lambda s: (not self.complete(s), -self.mean_accuracy[s], s)
        )

    def complete(self, label: str) -> bool:
        return self.covered[label] == len(self.cells)

    def get(self, label: str, cell: str) -> LeaderboardRow | None:
        return self.by_key.get((label, cell))

    def ordered_rows(self) -> list[LeaderboardRow]:
        return [
            self.by_key[(s, c)] for s in self.systems for c in self.cells if (s, c) in self.by_key
        ]


# --------------------------------------------------------------------------------------------
# Tables: built once, rendered to Markdown and HTML from the same cell texts
# --------------------------------------------------------------------------------------------


def _acc(x: float | None) -> str:
    return MISSING if x is None else f"{x:.3f}"


def _tokens(x: float | None) -> str:
    return MISSING if x is None else f"{x:,.1f}"


def _count(n: int | None) -> str:
    return MISSING if n is None else f"{n:,}"


@dataclass
class _Cell:
    text: str
    bold: bool = False


@dataclass
class _Table:
    id: str
    headers: list[str]
    numeric: list[bool]  # right-aligned and sorted as numbers
    rows: list[list[_Cell]]


def _bold_best(
    column: list[_Cell],
    values: list[float | None],
    fmt: Callable[[float], str],
    best: Callable[[list[float]], float],
) -> None:
    """Bold every cell showing the best value (compared as displayed, so ties all get it)."""
    present = [v for v in values if v is not None]
    if not present:
        return
    top = fmt(best(present))
    for cell, value in zip(column, values, strict=True):
        if value is not None and fmt(value) == top:
            cell.bold = True


def _accuracy_table(board: _Board) -> _Table:
    headers = ["system", *board.cells, "mean accuracy", "mean tokens/problem"]
    rows: list[list[_Cell]] = []
    for label in board.systems:
        cells = [_Cell(label)]
        for c in board.cells:
            row = board.get(label, c)
            cells.append(_Cell(_acc(row.accuracy if row else None)))
        mark = "" if board.complete(label) else PARTIAL
        cells.append(_Cell(_acc(board.mean_accuracy[label]) + mark))
        cells.append(_Cell(_tokens(board.mean_tokens[label]) + mark))
        rows.append(cells)
    for j, c in enumerate(board.cells, start=1):
        values = [r.accuracy if (r := board.get(s, c)) else None for s in board.systems]
        _bold_best([row[j] for row in rows], values, _acc, max)
    # Means over fewer cells are not comparable; they compete only when nobody covers all.
    judged = [board.complete(s) for s in board.systems]
    if not any(judged):
        judged = [True] * len(board.systems)
    n = len(board.cells)
    for j, means, fmt, best in (
        (n + 1, board.mean_accuracy, _acc, max),
        (n + 2, board.mean_tokens, _tokens, min),
    ):
        values = [means[s] if ok else None for s, ok in zip(board.systems, judged, strict=True)]
        _bold_best([row[j] for row in rows], values, fmt, best)
    return _Table("accuracy", headers, [False] + [True] * (n + 2), rows)


def _systems_table(board: _Board) -> _Table:
    headers = ["system", "kind", "name", "policy", "trained on", "step", "checkpoint", "file"]
    rows = []
    for label in board.systems:
        s = board.system[label]
        step = s.get("step")
        rows.append(
            [
                _Cell(label),
                _Cell(str(s.get("kind") or MISSING)),
                _Cell(str(s.get("name") or MISSING)),
                _Cell(str(s.get("policy") or MISSING)),
                _Cell(str(s.get("train_env") or MISSING)),
                _Cell(_count(step) if isinstance(step, int) else MISSING),
                _Cell(str(s.get("checkpoint") or MISSING)),
                _Cell(", ".join(board.sources[label])),
            ]
        )
    numeric = [False, False, False, False, False, True, False, False]
    return _Table("systems", headers, numeric, rows)


def _rate(stats: Mapping[str, Any], key: str) -> str:
    value = stats.get(key)
    return _acc(float(value)) if isinstance(value, (int, float)) else MISSING


def _roles_table(board: _Board) -> _Table:
    headers = [
        "system", "cell", "role", "calls", "mean tokens", "parse failure rate", "truncated rate",
        *(header for _, header in _ROLE_EXTRAS),
    ]  # fmt: skip
    rows = []
    for row in board.ordered_rows():
        for role, stats in row.roles.items():
            rows.append(
                [
                    _Cell(row.label),
                    _Cell(row.env_id),
                    _Cell(role),
                    _Cell(_count(stats["calls"])),
                    _Cell(_tokens(float(stats["mean_tokens"]))),
                    _Cell(_rate(stats, "parse_failure_rate")),
                    _Cell(_rate(stats, "truncated_rate")),
                    *(_Cell(_rate(stats, key)) for key, _ in _ROLE_EXTRAS),
                ]
            )
    numeric = [False, False, False] + [True] * (len(headers) - 3)
    return _Table("per-role", headers, numeric, rows)


# Characters Markdown could read as markup; "_" only where it could open or close emphasis.
_MD_SPECIAL = re.compile(r"([\\`*|<>\[\]]|(?<!\w)_|_(?!\w))")


def _md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\g<0>", " ".join(text.split()))


def _md_table(table: _Table) -> str:
    def line(cells: Iterable[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    out = [
        line(_md_escape(h) for h in table.headers),
        "|" + "|".join("---:" if num else "---" for num in table.numeric) + "|",
    ]
    for row in table.rows:
        texts = (f"**{_md_escape(c.text)}**" if c.bold else _md_escape(c.text) for c in row)
        out.append(line(texts))
    return "\n".join(out)


def _html_table(table: _Table) -> str:
    def cls(num: bool) -> str:
        return ' class="num"' if num else ""

    heads = "".join(
        f'<th{cls(num)} data-sort="{"num" if num else "text"}" title="click to sort">'
        f"{html.escape(h)}</th>"
        for h, num in zip(table.headers, table.numeric, strict=True)
    )
    body = []
    for row in table.rows:
        tds = []
        for c, num in zip(row, table.numeric, strict=True):
            text = html.escape(c.text)
            tds.append(f"<td{cls(num)}>{f'<strong>{text}</strong>' if c.bold else text}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    return (
        f'<table class="sortable" id="{table.id}">\n<thead><tr>{heads}</tr></thead>\n'
        "<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>"
    )


# --------------------------------------------------------------------------------------------
# Notes shared by both documents
# --------------------------------------------------------------------------------------------


def _protocol_text(protocol: Mapping[str, Any]) -> str:
    keys = ("split", "problems", "samples", "seed", "temperature", "max_new_tokens")
    parts = [f"{k}={protocol.get(k)}" for k in keys]
    parts += [f"{k}={v}" for k, v in sorted(protocol.items()) if k not in keys]
    return ", ".join(parts)


def _protocol_notes(rows: Sequence[LeaderboardRow], board: _Board) -> list[str]:
    users: dict[str, list[str]] = {}
    for label in board.systems:
        for r in rows:
            if r.label == label:
                text = _protocol_text(r.protocol)
                if label not in users.setdefault(text, []):
                    users[text].append(label)
    if len(users) == 1:
        return [f"Protocol: {next(iter(users))}."]
    return ["Protocols differ between systems:"] + [
        f"{text}: {', '.join(labels)}" for text, labels in users.items()
    ]


def _accuracy_note(board: _Board) -> str:
    note = (
        "Accuracy is mean episode correctness (pass@1 per sample); tokens are completion tokens "
        "of all calls per problem. Best per column in bold (fewest tokens). "
        f"{MISSING}: not evaluated."
    )
    partial = [s for s in board.systems if not board.complete(s)]
    if partial:
        note += (
            f" {PARTIAL}: mean over the cells this system was evaluated on "
            f"({', '.join(f'{s}: {board.covered[s]} of {len(board.cells)}' for s in partial)})"
        )
        complete = len(partial) < len(board.systems)
        note += "; bold only among systems evaluated on every cell." if complete else "."
    return note


_ROLES_NOTE = (
    "Calls and mean completion tokens per role; rates are shares of the role's turns. Answer "
    "accuracy: the role's own answers that are correct (generators, workers, synthesizers); "
    "choice accuracy: the aggregator chose a correct candidate when one existed; precision and "
    f"recall: the evaluator's \"Correct\" verdicts. {MISSING}: not this role's figure, or "
    'undefined (e.g. precision with no "Correct" verdict).'
)


# --------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------


def _new_figure(width: float, height: float) -> Figure:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - only the plots need matplotlib
        raise ImportError(
            "the leaderboard's plots need matplotlib (pip install matplotlib), "
            "or call build_leaderboard(..., plots=False)"
        ) from e
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)  # Agg, without pyplot's global backend selection
    return fig


def _colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")


def _workflow_markers(board: _Board) -> dict[str, str]:
    workflows = sorted({w for w, _ in board.cell_info.values()})
    return {w: _MARKERS[i % len(_MARKERS)] for i, w in enumerate(workflows)}


def _plot_accuracy(board: _Board) -> Figure:
    n_sys, n_cells = len(board.systems), len(board.cells)
    fig = _new_figure(min(18.0, max(6.0, 0.9 + n_cells * (0.35 * n_sys + 0.6))), 4.2)
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
    ax.set_title(_PLOT_TITLES["accuracy"])
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def _plot_single_vs_workflow(board: _Board) -> Figure | str:
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
    fig = _new_figure(6.4, 5.0)
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
    ax.set_title(_PLOT_TITLES["single_vs_workflow"])
    ax.grid(alpha=0.3)
    return fig


def _legends(
    fig: Figure, colors: dict[str, Any], markers: dict[str, str], systems: set[str],
    workflows: set[str],
) -> None:  # fmt: skip
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
    for handles, title, loc in ((sys_handles, "system", "outside right upper"),
                                (wf_handles, "workflow", "outside right lower")):  # fmt: skip
        fig.legend(handles=handles, title=title, fontsize=8, title_fontsize=8, loc=loc)


def _policy_pairs(board: _Board) -> list[tuple[str, str]]:
    """Shared/Isolated systems that otherwise match, as (shared label, isolated label)."""
    by_policy: dict[str, list[str]] = {"shared": [], "isolated": []}
    for label in board.systems:
        policy = board.system[label].get("policy")
        if policy in by_policy:
            by_policy[policy].append(label)
    pairs: list[tuple[str, str]] = []
    used: set[str] = set()

    def masked(label: str) -> str | None:
        text, n = re.subn(r"(?i)shared|isolated", "\0", label)
        return text if n else None

    # 1. Labels that differ only by the policy word ("...-shared" / "...-isolated").
    for s in by_policy["shared"]:
        key = masked(s)
        match = [i for i in by_policy["isolated"] if i not in used and key and masked(i) == key]
        if len(match) == 1:
            pairs.append((s, match[0]))
            used.update((s, match[0]))
    # 2. The same model trained on the same env, when that is unambiguous.
    groups: dict[tuple[Any, Any], dict[str, list[str]]] = {}
    for policy, labels in by_policy.items():
        for label in labels:
            if label not in used:
                s = board.system[label]
                group = groups.setdefault((s.get("name"), s.get("train_env")), {})
                group.setdefault(policy, []).append(label)
    pairs += [
        (group["shared"][0], group["isolated"][0])
        for group in groups.values()
        if len(group.get("shared", ())) == 1 and len(group.get("isolated", ())) == 1
    ]
    # Only pairs evaluated on a common cell can be compared.
    return [
        (s, i) for s, i in pairs if any(board.get(s, c) and board.get(i, c) for c in board.cells)
    ]


def _plot_shared_vs_isolated(board: _Board) -> Figure | str:
    pairs = _policy_pairs(board)
    if not pairs:
        return "no matching pair of Shared- and Isolated-Policy systems"
    widest = max(
        sum(1 for c in board.cells if board.get(s, c) and board.get(i, c)) for s, i in pairs
    )
    fig = _new_figure(min(16.0, max(6.0, 1.5 + 1.3 * widest)), 3.2 * len(pairs))
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
            ax.set_title(_PLOT_TITLES["shared_vs_isolated"])
    return fig


def _plot_tokens_vs_accuracy(board: _Board) -> Figure:
    fig = _new_figure(7.5, 5.0)
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
    ax.set_title(_PLOT_TITLES["tokens_vs_accuracy"])
    ax.grid(alpha=0.3)
    return fig


def _draw_plots(board: _Board, plot_dir: Path) -> tuple[dict[str, Path], dict[str, str]]:
    drawers: dict[str, Callable[[_Board], Figure | str]] = {
        "accuracy": _plot_accuracy,
        "single_vs_workflow": _plot_single_vs_workflow,
        "shared_vs_isolated": _plot_shared_vs_isolated,
        "tokens_vs_accuracy": _plot_tokens_vs_accuracy,
    }
    written: dict[str, Path] = {}
    skipped: dict[str, str] = {}
    plot_dir.mkdir(parents=True, exist_ok=True)
    for name, draw in drawers.items():
        path = plot_dir / f"{name}.png"
        fig = draw(board)
        if isinstance(fig, str):
            skipped[name] = fig
            path.unlink(missing_ok=True)  # a stale plot of an earlier build would mislead
            continue
        fig.savefig(path, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
        written[name] = path
    return written, skipped


# --------------------------------------------------------------------------------------------
# Documents
# --------------------------------------------------------------------------------------------


def _markdown(
    title: str,
    board: _Board,
    rows: Sequence[LeaderboardRow],
    tables: Sequence[_Table],
    plots: Mapping[str, Path],
    skipped: Mapping[str, str],
    plot_dir_name: str,
) -> str:
    accuracy, systems, roles = tables
    out = [f"# {' '.join(title.split())}", "", "## Accuracy", "", _md_table(accuracy), ""]
    out += [_md_escape(_accuracy_note(board)), ""]
    first, *others = _protocol_notes(rows, board)
    out += [_md_escape(first), *(f"- {_md_escape(line)}" for line in others)]
    out += ["", "## Systems", "", _md_table(systems), ""]
    out += ["## Per-role", "", _md_table(roles), "", _md_escape(_ROLES_NOTE), ""]
    if plots or skipped:
        out += ["## Plots", ""]
        for name in PLOT_NAMES:
            if name in plots:
                out += [f"![{_PLOT_TITLES[name]}]({plot_dir_name}/{plots[name].name})", ""]
            elif name in skipped:
                out += [f"_{_PLOT_TITLES[name]}: skipped ({_md_escape(skipped[name])})._", ""]
    return "\n".join(out)


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
       max-width: 82rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .88rem; }
th, td { border: 1px solid #d0d7de; padding: .28rem .6rem; }
th { background: #f6f8fa; cursor: pointer; user-select: none; white-space: nowrap; }
th:hover { background: #eaeef2; }
th[aria-sort="ascending"]::after { content: " \\25B2"; font-size: .7em; }
th[aria-sort="descending"]::after { content: " \\25BC"; font-size: .7em; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #f9fafb; }
td strong { color: #0a3069; }
.note { color: #57606a; font-size: .85rem; max-width: 60rem; }
figure { margin: 1.5rem 0; } figcaption { color: #57606a; font-size: .85rem; }
img { max-width: 100%; height: auto; }
"""

# Click a header to sort by it; click again to reverse. Number columns sort numerically
# (thousands separators and the partial-mean mark ignored); missing values always go last.
_JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.querySelectorAll("th");
  heads.forEach(function (th, col) {
    th.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var numeric = th.getAttribute("data-sort") === "num";
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows).map(function (row, i) {
        var text = row.cells[col].textContent.trim();
        var key = numeric ? parseFloat(text.replace(/[^0-9.eE+-]/g, "")) : text;
        var missing = numeric ? isNaN(key) : text === "" || text === "\\u2013";
        return { row: row, key: key, missing: missing, i: i };
      });
      rows.sort(function (a, b) {
        if (a.missing !== b.missing) { return a.missing ? 1 : -1; }
        var c = 0;
        if (!a.missing) {
          c = numeric ? a.key - b.key : String(a.key).localeCompare(String(b.key));
          if (!asc) { c = -c; }
        }
        return c || a.i - b.i;
      });
      rows.forEach(function (r) { body.appendChild(r.row); });
    });
  });
});
"""


def _html(
    title: str,
    board: _Board,
    rows: Sequence[LeaderboardRow],
    tables: Sequence[_Table],
    plots: Mapping[str, Path],
    skipped: Mapping[str, str],
) -> str:
    accuracy, systems, roles = tables
    esc = html.escape
    protocol = _protocol_notes(rows, board)
    protocol_html = f'<p class="note">{esc(protocol[0])}</p>'
    if len(protocol) > 1:
        items = "".join(f"<li>{esc(line)}</li>" for line in protocol[1:])
        protocol_html += f'\n<ul class="note">{items}</ul>'
    figures = []
    for name in PLOT_NAMES:
        if name in plots:
            data = base64.b64encode(plots[name].read_bytes()).decode("ascii")
            figures.append(
                f'<figure id="plot-{name}"><img alt="{esc(_PLOT_TITLES[name])}" '
                f'src="data:image/png;base64,{data}">'
                f"<figcaption>{esc(_PLOT_TITLES[name])}</figcaption></figure>"
            )
        elif name in skipped:
            figures.append(
                f'<p class="note">{esc(_PLOT_TITLES[name])}: skipped ({esc(skipped[name])}).</p>'
            )
    plots_html = ("<h2>Plots</h2>\n" + "\n".join(figures)) if figures else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{esc(title)}</h1>
<h2>Accuracy</h2>
<div class="scroll">
{_html_table(accuracy)}
</div>
<p class="note">{esc(_accuracy_note(board))}</p>
{protocol_html}
<h2>Systems</h2>
<div class="scroll">
{_html_table(systems)}
</div>
<h2>Per-role</h2>
<div class="scroll">
{_html_table(roles)}
</div>
<p class="note">{esc(_ROLES_NOTE)}</p>
{plots_html}
<script>{_JS}</script>
</body>
</html>
"""


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
        plots: Draw the PNG plots (needs matplotlib); ``False`` writes the documents only.

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
    files = _gather_files(paths)
    if not files:
        where = ", ".join(str(p) for p in paths) or "(no paths given)"
        raise ValueError(f"no {SCHEMA} result files in {where}")
    rows = _gather_rows(files)
    board = _Board(rows)
    rows = board.ordered_rows()

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    drawn: dict[str, Path] = {}
    skipped: dict[str, str] = {}
    if plots:
        drawn, skipped = _draw_plots(board, out / "plots")
    tables = (_accuracy_table(board), _systems_table(board), _roles_table(board))
    markdown = _markdown(title, board, rows, tables, drawn, skipped, "plots")
    page = _html(title, board, rows, tables, drawn, skipped)
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
        policy_pairs=_policy_pairs(board),
    )
