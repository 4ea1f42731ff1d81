"""The leaderboard's model: rows indexed by system and cell, in table order, with the means.

:class:`Board` orders the cells (workflow, then task) and the systems (those evaluated on every
cell first, then by mean accuracy, then by label) and keeps each system's means and coverage;
:func:`policy_pairs` finds the matching Shared- and Isolated-Policy systems.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rolegym.evaluation.gather import LeaderboardRow

__all__ = ["Board", "policy_pairs"]


class Board:
    """Rows indexed by system and cell, with the table order worked out.

    Attributes:
        by_key: (label, cell id) -> its row.
        cells: Cell ids in column order (workflow, then task, then id).
        cell_info: Cell id -> (workflow, task).
        system: Label -> the result file's ``system`` object.
        sources: Label -> the result files its rows came from.
        mean_accuracy: Label -> mean accuracy over the cells it was evaluated on.
        mean_tokens: Label -> mean completion tokens per problem over those cells.
        covered: Label -> how many cells it was evaluated on.
        systems: Labels in table order.
    """

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
        """Whether ``label`` was evaluated on every cell."""
        return self.covered[label] == len(self.cells)

    def get(self, label: str, cell: str) -> LeaderboardRow | None:
        """The row of ``label`` on ``cell``, or ``None`` if it was not evaluated there."""
        return self.by_key.get((label, cell))

    def ordered_rows(self) -> list[LeaderboardRow]:
        """Every row: systems in table order, each system's cells in column order."""
        return [
            self.by_key[(s, c)] for s in self.systems for c in self.cells if (s, c) in self.by_key
        ]


def policy_pairs(board: Board) -> list[tuple[str, str]]:
    """Shared/Isolated systems that otherwise match, as (shared label, isolated label).

    Labels that differ only by the policy word pair first; then the one Shared and one
    Isolated system of the same ``system.name`` and ``train_env``. Each pair shares a cell.
    """
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
