"""GRPO baselines (Shared-Policy and Isolated-Policy): the algorithm core."""

from __future__ import annotations

from rolegym.baselines.grpo.advantages import compute_advantages

__all__ = ["compute_advantages"]
