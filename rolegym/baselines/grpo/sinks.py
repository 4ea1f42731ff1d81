"""Where a training run's metrics go: a JSONL file, and optionally TensorBoard and W&B."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["MetricSinks"]


class MetricSinks:
    """The metrics JSONL (``metrics.jsonl``) of a run, plus its ``report_to`` sinks.

    Only rank 0 writes: on other ranks every method does nothing.

    Args:
        output_dir: The run's directory.
        report_to: ``"tensorboard"`` and/or ``"wandb"``.
        config: The run's options, as W&B's run config.
        rank: This process's data-parallel rank.
    """

    def __init__(
        self,
        output_dir: Path,
        report_to: Sequence[str] = (),
        config: dict[str, Any] | None = None,
        *,
        rank: int = 0,
    ) -> None:
        self.output_dir = Path(output_dir)
        self.report_to = tuple(report_to)
        self.config = config or {}
        self.rank = rank
        self._writers: list[Any] = []

    @property
    def path(self) -> Path:
        """The JSONL file."""
        return self.output_dir / "metrics.jsonl"

    def open(self) -> None:
        """Start the TensorBoard writer and the W&B run (each when asked for)."""
        if self.rank != 0:
            return
        if "tensorboard" in self.report_to:
            from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package

            self._writers.append(SummaryWriter(str(self.output_dir / "tensorboard")))
        if "wandb" in self.report_to:
            import wandb

            self._writers.append(
                wandb.init(project="rolegym", dir=str(self.output_dir), config=self.config)
            )

    def close(self) -> None:
        """Flush and close every writer."""
        for w in self._writers:
            (getattr(w, "close", None) or w.finish)()
        self._writers = []

    def log(self, metrics: dict[str, Any], step: int) -> None:
        """Append the scalar metrics as one JSONL line and send the numbers to the writers."""
        if self.rank != 0:
            return
        line = {k: v for k, v in metrics.items() if isinstance(v, int | float | str)}
        with self.path.open("a") as f:
            f.write(json.dumps(line, sort_keys=True) + "\n")
        numbers = {k: v for k, v in line.items() if isinstance(v, int | float) and k != "step"}
        for w in self._writers:
            if hasattr(w, "add_scalar"):
                for k, v in numbers.items():
                    w.add_scalar(k, v, step)
            else:
                w.log(numbers, step=step)

    def truncate(self, step: int) -> None:
        """Drop the lines logged after ``step`` (a resumed run re-logs them)."""
        if self.rank != 0 or not self.path.exists():
            return
        kept = [
            line
            for line in self.path.read_text().splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= step
        ]
        self.path.write_text("".join(line + "\n" for line in kept))
