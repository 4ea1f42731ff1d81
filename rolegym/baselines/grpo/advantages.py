"""GRPO advantages over samples grouped by a configurable key.

A sample's advantage is its reward minus a baseline computed over its group, optionally
divided by a scale:

- ``group_by``: any scope of :data:`rolegym.envs.episode.GROUP_SCOPES`; the paper's default is
  ``"task×agent×turn"`` (one group per task, agent id including the vote index, and turn).
- ``baseline``: ``"mean"`` (the group mean, as GRPO) or ``"leave_one_out"`` (the mean of the
  other members, as RLOO).
- ``scale``: ``"group"`` (the group's standard deviation, as GRPO), ``"batch"`` (the
  standard deviation of all rewards in the batch, as Dr. GRPO-style variants) or ``"none"``.
- A group with a single member gets advantage 0 (nothing to compare against).

The standard deviation is the unbiased one (``ddof=1``), as TRL's GRPOTrainer computes it,
and ``epsilon`` (1e-4, also TRL's) keeps the division finite.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from rolegym.envs.episode import Sample, group_samples

__all__ = ["compute_advantages"]

Baseline = Literal["mean", "leave_one_out"]
Scale = Literal["group", "batch", "none"]


def _std(values: Sequence[float]) -> float:
    n = len(values)
    if n < 2:
        return 0.0
    mean = sum(values) / n
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))


def compute_advantages(
    samples: Sequence[Sample],
    *,
    group_by: str = "task×agent×turn",
    baseline: Baseline = "mean",
    scale: Scale = "group",
    epsilon: float = 1e-4,
) -> list[float]:
    """One advantage per sample, in the samples' order (see the module docstring)."""
    if baseline not in ("mean", "leave_one_out"):
        raise ValueError(f"baseline must be 'mean' or 'leave_one_out', got {baseline!r}")
    if scale not in ("group", "batch", "none"):
        raise ValueError(f"scale must be 'group', 'batch' or 'none', got {scale!r}")
    position = {id(s): i for i, s in enumerate(samples)}
    advantages = [0.0] * len(samples)
    batch_std = _std([s.reward for s in samples])
    for members in group_samples(samples, group_by).values():
        n = len(members)
        if n < 2:
            continue
        rewards = [m.reward for m in members]
        total = sum(rewards)
        denominator = {"group": _std(rewards) + epsilon, "batch": batch_std + epsilon, "none": 1.0}[
            scale
        ]
        for member, reward in zip(members, rewards, strict=True):
            base = total / n if baseline == "mean" else (total - reward) / (n - 1)
            advantages[position[id(member)]] = (reward - base) / denominator
    return advantages
