"""What rollout drivers and inference engines exchange: requests, completions, the protocol."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from rolegym.envs.episode import Message

__all__ = [
    "Completion",
    "Engine",
    "Request",
    "by_policy",
    "group_seed",
    "pack_batches",
    "sampling_seed",
]


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


def pack_batches(
    lengths: Sequence[int], *, max_rows: int | None = None, max_tokens: int | None = None
) -> list[range]:
    """Consecutive runs of items within a row and a padded-token budget (greedy, in order).

    A batch is padded to its longest item, so it holds ``len(batch) * longest`` tokens; an item
    over ``max_tokens`` forms a batch of its own (nothing is refused). The HF engine packs
    requests with it (length: prompt plus completion cap), the trainer its micro-batches.

    Args:
        lengths: Each item's tokens, in order.
        max_rows: Most items per batch (``None`` or 0: no limit).
        max_tokens: Most padded tokens per batch (``None``: no limit).

    Returns:
        Index ranges covering every item once, in order.
    """
    out: list[range] = []
    start, longest = 0, 0
    for k, length in enumerate(lengths):
        size, wider = k - start, max(longest, length)
        full = bool(max_rows) and size >= max_rows
        over = max_tokens is not None and (size + 1) * wider > max_tokens
        if size and (full or over):
            out.append(range(start, k))
            start, wider = k, length
        longest = wider
    if start < len(lengths):
        out.append(range(start, len(lengths)))
    return out
