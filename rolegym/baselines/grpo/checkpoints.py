"""Checkpoint I/O of the GRPO trainer: atomic ``checkpoint-<step>`` directories.

A checkpoint holds ``learners.pt`` (every learner's weights, optimizer and scheduler state)
and ``trainer_state.json`` (the step, the data position, the evaluation history and the
config). Since the trainer draws from no random stream, that is everything a resumed run
needs to replay the uninterrupted one.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch

__all__ = ["checkpoint_path", "latest_checkpoint", "read_checkpoint", "write_checkpoint"]

LEARNERS = "learners.pt"
STATE = "trainer_state.json"


def checkpoint_path(output_dir: str | Path, step: int) -> Path:
    """The directory of step ``step``'s checkpoint."""
    return Path(output_dir) / f"checkpoint-{step:06d}"


def write_checkpoint(
    output_dir: str | Path,
    step: int,
    learners: dict[str, Any],
    state: dict[str, Any],
    *,
    total_limit: int | None = None,
) -> Path:
    """Write ``checkpoint-<step>`` atomically (a temporary directory, then a rename).

    Args:
        output_dir: The run's directory.
        step: The training step.
        learners: Learner name -> its ``state_dict()``.
        state: The trainer's JSON state (non-JSON values are written as their ``repr``).
        total_limit: Keep only this many newest checkpoints (``None`` or 0: all).

    Returns:
        The checkpoint directory.
    """
    final = checkpoint_path(output_dir, step)
    tmp = final.with_name(f".tmp-{final.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save(learners, tmp / LEARNERS)
    (tmp / STATE).write_text(json.dumps(state, indent=2, default=repr))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    if total_limit:
        for old in sorted(Path(output_dir).glob("checkpoint-*"))[:-total_limit]:
            shutil.rmtree(old, ignore_errors=True)
    return final


def read_checkpoint(
    path: str | Path, map_location: torch.device | str = "cpu"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``(learners, state)`` of a :func:`write_checkpoint` directory."""
    path = Path(path)
    state = json.loads((path / STATE).read_text())
    learners = torch.load(path / LEARNERS, map_location=map_location, weights_only=True)
    return learners, state


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    """The newest ``checkpoint-*`` directory of a run, or ``None``."""
    found = sorted(Path(output_dir).glob("checkpoint-*"))
    return found[-1] if found else None
