"""The leaderboard's tables and notes, built once; Markdown and HTML render the same texts.

Numbers are formatted here and only here: accuracies and rates with 3 decimals, tokens with 1
decimal and thousands separators, counts as integers; :data:`MISSING` marks a value that does
not exist (a cell a system was not evaluated on, a figure a role does not have) and
:data:`PARTIAL` a mean over fewer than all cells. The best value of each column is bold (the
fewest tokens); partial means compete only when no system covers every cell.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rolegym.evaluation.board import Board

__all__ = [
    "MISSING",
    "PARTIAL",
    "ROLES_NOTE",
    "Cell",
    "Table",
    "accuracy_note",
    "accuracy_table",
    "protocol_notes",
    "roles_table",
    "systems_table",
]

MISSING = "–"
PARTIAL = "†"
# Per-role figures beyond the common ones, in column order, with their headers.
_ROLE_EXTRAS = (
    ("answer_accuracy", "answer accuracy"),
    ("choice_accuracy", "choice accuracy"),
    ("precision", "precision"),
    ("recall", "recall"),
)


def _acc(x: float | None) -> str:
    return MISSING if x is None else f"{x:.3f}"


def _tokens(x: float | None) -> str:
    return MISSING if x is None else f"{x:,.1f}"


def _count(n: int | None) -> str:
    return MISSING if n is None else f"{n:,}"


@dataclass
class Cell:
    """A table cell: its text as displayed, and whether it is bold (a column's best)."""

    text: str
    bold: bool = False


@dataclass
class Table:
    """A table as both documents show it.

    Attributes:
        id: The HTML table's id.
        headers: The header texts.
        numeric: Per column, whether it holds numbers (right-aligned, sorted as numbers).
        rows: The body rows, one cell per header.
    """

    id: str
    headers: list[str]
    numeric: list[bool]
    rows: list[list[Cell]]


def _bold_best(
    column: list[Cell],
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


def accuracy_table(board: Board) -> Table:
    """Accuracy per system x cell, then the mean accuracy and mean tokens per problem."""
    headers = ["system", *board.cells, "mean accuracy", "mean tokens/problem"]
    rows: list[list[Cell]] = []
    for label in board.systems:
        cells = [Cell(label)]
        for c in board.cells:
            row = board.get(label, c)
            cells.append(Cell(_acc(row.accuracy if row else None)))
        mark = "" if board.complete(label) else PARTIAL
        cells.append(Cell(_acc(board.mean_accuracy[label]) + mark))
        cells.append(Cell(_tokens(board.mean_tokens[label]) + mark))
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
    return Table("accuracy", headers, [False] + [True] * (n + 2), rows)


def systems_table(board: Board) -> Table:
    """What each system is and which files it came from."""
    headers = ["system", "kind", "name", "policy", "trained on", "step", "checkpoint", "file"]
    rows = []
    for label in board.systems:
        s = board.system[label]
        step = s.get("step")
        rows.append(
            [
                Cell(label),
                Cell(str(s.get("kind") or MISSING)),
                Cell(str(s.get("name") or MISSING)),
                Cell(str(s.get("policy") or MISSING)),
                Cell(str(s.get("train_env") or MISSING)),
                Cell(_count(step) if isinstance(step, int) else MISSING),
                Cell(str(s.get("checkpoint") or MISSING)),
                Cell(", ".join(board.sources[label])),
            ]
        )
    numeric = [False, False, False, False, False, True, False, False]
    return Table("systems", headers, numeric, rows)


def _rate(stats: Mapping[str, Any], key: str) -> str:
    value = stats.get(key)
    return _acc(float(value)) if isinstance(value, (int, float)) else MISSING


def roles_table(board: Board) -> Table:
    """Per system x cell x role: calls, tokens, rates and the role's own figures."""
    headers = [
        "system", "cell", "role", "calls", "mean tokens", "parse failure rate", "truncated rate",
        *(header for _, header in _ROLE_EXTRAS),
    ]  # fmt: skip
    rows = []
    for row in board.ordered_rows():
        for role, stats in row.roles.items():
            rows.append(
                [
                    Cell(row.label),
                    Cell(row.env_id),
                    Cell(role),
                    Cell(_count(stats["calls"])),
                    Cell(_tokens(float(stats["mean_tokens"]))),
                    Cell(_rate(stats, "parse_failure_rate")),
                    Cell(_rate(stats, "truncated_rate")),
                    *(Cell(_rate(stats, key)) for key, _ in _ROLE_EXTRAS),
                ]
            )
    numeric = [False, False, False] + [True] * (len(headers) - 3)
    return Table("per-role", headers, numeric, rows)


def _protocol_text(protocol: Mapping[str, Any]) -> str:
    keys = ("split", "problems", "samples", "seed", "temperature", "max_new_tokens")
    parts = [f"{k}={protocol.get(k)}" for k in keys]
    parts += [f"{k}={v}" for k, v in sorted(protocol.items()) if k not in keys]
    return ", ".join(parts)


def protocol_notes(board: Board) -> list[str]:
    """The protocol when all systems share one; else a heading line, then one line per protocol."""
    users: dict[str, list[str]] = {}
    for label in board.systems:
        for r in board.ordered_rows():
            if r.label == label:
                text = _protocol_text(r.protocol)
                if label not in users.setdefault(text, []):
                    users[text].append(label)
    if len(users) == 1:
        return [f"Protocol: {next(iter(users))}."]
    return ["Protocols differ between systems:"] + [
        f"{text}: {', '.join(labels)}" for text, labels in users.items()
    ]


def accuracy_note(board: Board) -> str:
    """What the accuracy table shows, and which means are partial."""
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


ROLES_NOTE = (
    "Calls and mean completion tokens per role; rates are shares of the role's turns. Answer "
    "accuracy: the role's own answers that are correct (generators, workers, synthesizers); "
    "choice accuracy: the aggregator chose a correct candidate when one existed; precision and "
    f"recall: the evaluator's \"Correct\" verdicts. {MISSING}: not this role's figure, or "
    'undefined (e.g. precision with no "Correct" verdict).'
)
