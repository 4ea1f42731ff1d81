"""Where rolegym keeps converted datasets: ``$ROLEGYM_CACHE`` or ``~/.cache/rolegym``."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir() -> Path:
    """The cache directory (not created until something is written)."""
    root = os.environ.get("ROLEGYM_CACHE")
    if root:
        return Path(root)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rolegym"
