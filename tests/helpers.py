"""Shared helpers: build any registered env offline and play episodes with scripted policies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import rolegym
from rolegym.envs.core import WorkflowEnv

ALL_IDS = sorted(rolegym.registry)


def offline_kwargs(env_id: str) -> dict[str, Any]:
    """Math and code envs default to hub datasets; tests use the bundled fixtures."""
    return {} if "-arith-" in env_id else {"dataset": "fixture"}


def make_env(env_id: str, **kwargs: Any) -> Any:
    return rolegym.make(env_id, **{**offline_kwargs(env_id), **kwargs})


def play(env: Any, policy: Callable[[WorkflowEnv, str], str]) -> dict[str, float]:
    """Run the AEC loop to the end; return the reward each agent received via last()."""
    returns: dict[str, float] = {}
    for agent in env.agent_iter():
        _, reward, terminated, truncated, _ = env.last(observe=False)
        if terminated or truncated:
            returns[agent] = reward
            env.step(None)
        else:
            env.step(policy(env.unwrapped, agent))
    return returns
