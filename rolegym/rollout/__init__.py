"""Rollout drivers that batch many episodes for an inference engine.

- :class:`EpisodeBatch`: synchronous, one engine call per round of ready agents.
- :func:`arollout`: asyncio, for HTTP servers with continuous batching.
"""

from __future__ import annotations

from rolegym.rollout.aio import arollout
from rolegym.rollout.batch import EpisodeBatch
from rolegym.rollout.types import Completion, Engine, Request, group_seed, sampling_seed

__all__ = [
    "Completion",
    "Engine",
    "EpisodeBatch",
    "Request",
    "arollout",
    "group_seed",
    "sampling_seed",
]
