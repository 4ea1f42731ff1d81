"""What rollout drivers and inference engines exchange: requests, completions, the protocol."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from rolegym.envs.episode import Message

__all__ = ["Completion", "Engine", "Request", "by_policy", "group_seed", "sampling_seed"]


@dataclass(frozen=True)
class Request:
    """One prompt to generate for.

    Attributes:
        env_index: Which environment of the batch asks.
        agent: The agent that will act on the completion.
        role: Its role.
        turn: Its turn number in the episode (``Turn.role_turn``).
        messages: The chat messages (the agent's observation); no template applied.
        sampling_seed: A per-request seed, stable for (episode seed, agent, turn, member).
        group: The GRPO group (episodes of one task).
        policy_id: Which policy generates (Isolated-Policy routes roles to their own).
    """

    env_index: int
    agent: str
    role: str
    turn: int
    messages: tuple[Message, ...]
    sampling_seed: int
    group: int = 0
    policy_id: str = "default"


@dataclass
class Completion:
    """What an engine returns for a request.

    Attributes:
        text: The completion text (the action).
        prompt_token_ids: Token ids of the templated prompt.
        token_ids: Token ids of the completion.
        logprobs: Per-token log-probabilities of the completion under the sampling policy.
        finish_reason: ``"stop"``, ``"length"``, ...
        extras: Anything else worth keeping on the turn.
    """

    text: str
    prompt_token_ids: list[int] | None = None
    token_ids: list[int] | None = None
    logprobs: list[float] | None = None
    finish_reason: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def turn_extras(self) -> dict[str, Any]:
        """The fields a driver copies into ``Turn.extras`` (unset ones left out)."""
        out = {
            "prompt_token_ids": self.prompt_token_ids,
            "completion_token_ids": self.token_ids,
            "logprobs": self.logprobs,
            "finish_reason": self.finish_reason,
        }
        return {k: v for k, v in out.items() if v is not None} | self.extras


class Engine(Protocol):
    """Anything that turns a batch of requests into completions, in order."""

    def generate(self, requests: Sequence[Request]) -> Sequence[Completion | str]:
        """One completion (or plain text) per request."""
        ...


def sampling_seed(episode_seed: int | None, agent: str, turn: int, member: int) -> int:
    """A 63-bit seed derived stably from (episode seed, agent, turn, group member)."""
    key = f"{episode_seed}|{agent}|{turn}|{member}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") >> 1


def group_seed(seed: int, group: int) -> int:
    """The env seed of group ``group`` of a batch started with ``seed``.

    Hashed rather than ``seed + group``, so batches started with nearby seeds (one per
    training step) do not repeat each other's tasks.
    """
    key = f"group|{seed}|{group}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=4).digest(), "big") >> 1


def by_policy(requests: Sequence[Request]) -> dict[str, list[int]]:
    """Request indices grouped by ``policy_id``, in first-seen order (engines batch per policy)."""
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(requests):
        groups.setdefault(r.policy_id, []).append(i)
    return groups
