"""GRPO baselines (Shared-Policy and Isolated-Policy): one algorithm core, two policy maps.

``GRPOTrainer``, ``GRPOConfig``, ``load_config`` and ``PRESETS`` are imported on first use
(they need the ``[train]`` extra); ``compute_advantages`` needs nothing beyond the core.
"""

from __future__ import annotations

import importlib
from typing import Any

from rolegym.baselines.grpo.advantages import compute_advantages

__all__ = ["PRESETS", "GRPOConfig", "GRPOTrainer", "compute_advantages", "load_config"]

_LAZY = {
    "GRPOTrainer": "rolegym.baselines.grpo.trainer",
    "GRPOConfig": "rolegym.baselines.grpo.config",
    "load_config": "rolegym.baselines.grpo.config",
    "PRESETS": "rolegym.baselines.grpo.config",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
