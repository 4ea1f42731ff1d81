"""A ``rolegym train`` run directory as the run report reads it: metrics by step, evaluations.

:func:`load_run` reads ``metrics.jsonl`` (one line per step; unreadable lines are counted and
skipped), ``config.json`` and ``summary.json`` (whose ``eval_history`` stands in when
``metrics.jsonl`` holds no evaluation) into a :class:`RunData`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

__all__ = ["RunData", "load_run"]


@dataclass(frozen=True)
class RunData:
    """What a report needs of a run directory (see :func:`load_run`).

    Attributes:
        run_dir: The run directory.
        config: ``config.json`` (the GRPOConfig as a dict; empty when missing).
        summary: ``summary.json`` (empty when missing, e.g. a run still training).
        records: Step -> the numeric metrics logged at that step (lines of one step merged).
        eval_steps: Steps of the held-out evaluations, increasing.
        eval_accuracy: ``eval/accuracy`` at those steps.
        skipped_lines: Lines of ``metrics.jsonl`` that were not JSON objects with a step (a
            run killed mid-write leaves a truncated last line).
    """

    run_dir: Path
    config: dict[str, Any]
    summary: dict[str, Any]
    records: dict[int, dict[str, float]]
    eval_steps: list[int]
    eval_accuracy: list[float]
    skipped_lines: int

    @cached_property
    def train_steps(self) -> list[int]:
        """Steps that logged training metrics (not only an evaluation), increasing."""
        return [s for s, r in self.records.items() if any(_is_train_key(k) for k in r)]

    @cached_property
    def roles(self) -> list[str]:
        """Roles named by ``role/<r>/...`` or ``eval/role/<r>/...`` keys, first seen first."""
        found: dict[str, None] = {}
        for record in self.records.values():
            for key in record:
                rest = key.removeprefix("eval/")
                if rest.startswith("role/") and rest.count("/") >= 2:
                    found[rest[len("role/") : rest.rindex("/")]] = None
        return list(found)

    def series(self, key: str, steps: Sequence[int] | None = None) -> tuple[list[int], list[float]]:
        """The steps that logged ``key`` (among ``steps``, default all) and its values."""
        chosen = self.records if steps is None else {s: self.records[s] for s in steps}
        pairs = [(s, r[key]) for s, r in chosen.items() if key in r]
        return [s for s, _ in pairs], [v for _, v in pairs]

    def mean(self, key: str, steps: Sequence[int]) -> float | None:
        """Mean of ``key`` over the given steps that logged it (``None`` if none did)."""
        values = self.series(key, steps)[1]
        return sum(values) / len(values) if values else None


def _is_train_key(key: str) -> bool:
    return key != "step" and not key.startswith("eval/")


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return data if isinstance(data, dict) else {}


def load_run(run_dir: str | Path) -> RunData:
    """Read a ``rolegym train`` run directory.

    Args:
        run_dir: The directory holding ``metrics.jsonl`` (``output_dir`` of the run).

    Returns:
        The run's metrics by step, its evaluations, configuration and summary.

    Raises:
        FileNotFoundError: ``run_dir`` has no ``metrics.jsonl``.
    """
    run_dir = Path(run_dir)
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} has no metrics.jsonl: is it a `rolegym train` run?")
    records: dict[int, dict[str, float]] = {}
    skipped = 0
    for text in path.read_text().splitlines():
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError:
            skipped += 1
            continue
        step = line.get("step") if isinstance(line, dict) else None
        if not isinstance(step, int | float) or isinstance(step, bool):
            skipped += 1
            continue
        numbers = {
            k: float(v)
            for k, v in line.items()
            if k != "step"
            and isinstance(v, int | float)
            and not isinstance(v, bool)
            and math.isfinite(v)
        }
        records.setdefault(int(step), {}).update(numbers)
    records = dict(sorted(records.items()))
    summary = _read_json(run_dir / "summary.json")
    eval_steps = [s for s, r in records.items() if "eval/accuracy" in r]
    eval_accuracy = [records[s]["eval/accuracy"] for s in eval_steps]
    if not eval_steps:  # metrics.jsonl without evaluations: fall back on summary.json's history
        history = sorted(
            (int(e["step"]), float(e["accuracy"]))
            for e in summary.get("eval_history", [])
            if isinstance(e, dict) and "step" in e and "accuracy" in e
        )
        eval_steps = [s for s, _ in history]
        eval_accuracy = [a for _, a in history]
    return RunData(
        run_dir=run_dir,
        config=_read_json(run_dir / "config.json"),
        summary=summary,
        records=records,
        eval_steps=eval_steps,
        eval_accuracy=eval_accuracy,
        skipped_lines=skipped,
    )
