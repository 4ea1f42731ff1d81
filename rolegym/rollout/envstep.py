"""What both rollout drivers do to an environment: ask for an agent, apply a completion."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rolegym.rollout.types import Completion, Request, sampling_seed

__all__ = ["PolicyMap", "apply_completion", "request_for", "router"]

PolicyMap = Mapping[str, str] | Callable[[str], str] | None


def router(policy_map: PolicyMap) -> Callable[[str], str]:
    """Role -> policy id, from a mapping, a function, or nothing (``"default"`` for all)."""
    if policy_map is None:
        return lambda role: "default"
    if callable(policy_map):
        return policy_map
    return lambda role: policy_map.get(role, "default")


def request_for(
    env: Any, agent: str, *, index: int, group: int, member: int, policy: Callable[[str], str]
) -> Request:
    """The request for ``agent``'s next turn in ``env`` (its observation, seed and policy)."""
    raw = env.unwrapped
    turn = len(raw.episode.turns_of(agent))
    role = raw.role(agent)
    return Request(
        env_index=index,
        agent=agent,
        role=role,
        turn=turn,
        messages=env.observe(agent)["messages"],
        sampling_seed=sampling_seed(raw.episode.seed, agent, turn, member),
        group=group,
        policy_id=policy(role),
    )


def apply_completion(env: Any, completion: Completion, request: Request) -> None:
    """Step ``env`` with the completion and keep its tokens, logprobs and seed on the turn."""
    raw = env.unwrapped
    turns_before = len(raw.episode.turns)
    env.step(completion.text)
    if len(raw.episode.turns) > turns_before:
        raw.episode.turns[-1].extras.update(
            completion.turn_extras(),
            sampling_seed=request.sampling_seed,
            policy_id=request.policy_id,
        )
