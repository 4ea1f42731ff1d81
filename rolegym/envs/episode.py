"""The transcript of an episode: messages, turns, episodes and training samples.

An :class:`Episode` records every LLM call of one workflow run as a :class:`Turn`: which
agent spoke, in which role, the exact messages it saw, what it wrote and the reward credited
to it once the episode ended. The rollout drivers add token ids and logprobs to
``Turn.extras``; the environment never tokenises.

Everything here round-trips through JSON (``to_dict`` / ``from_dict``, ``to_json`` /
``from_json``), so episodes can be written as JSONL and read back by trainers and benchmark
scripts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypedDict

__all__ = [
    "GROUP_SCOPES",
    "Episode",
    "Message",
    "Sample",
    "Turn",
    "group_samples",
    "parse_group_scope",
]

MessageRole = Literal["system", "user", "assistant"]


class Message(TypedDict):
    """One chat message, in the shape chat templates and OpenAI-style APIs expect."""

    role: MessageRole
    content: str


#: The grouping scopes understood by :meth:`Sample.group_key`. ``task×agent×turn`` is the
#: paper's GRPO grouping (agent id includes the vote index, turn is the agent's k-th call).
GROUP_SCOPES: tuple[str, ...] = (
    "task",
    "task×role",
    "task×agent",
    "task×role×turn",
    "task×agent×turn",
)
_GROUP_FIELDS = frozenset({"task", "role", "agent", "turn"})


def parse_group_scope(scope: str) -> tuple[str, ...]:
    """Parse a grouping scope such as ``"task×role"`` into its field names.

    ``×``, ``x`` and ``*`` all separate fields (none of the field names contains an ``x``),
    so ``"task x role"`` and ``"task*role"`` mean the same as ``"task×role"``.

    Args:
        scope: The scope string.

    Returns:
        The field names, ``"task"`` first.

    Raises:
        ValueError: If the scope names an unknown field or does not start with ``task``.
    """
    normalised = scope.replace("×", "x").replace("*", "x").replace(" ", "").lower()
    parts = tuple(p for p in normalised.split("x") if p)
    if (
        not parts
        or parts[0] != "task"
        or not set(parts) <= _GROUP_FIELDS
        or len(set(parts)) != len(parts)
    ):
        raise ValueError(
            f"unknown group scope {scope!r}; expected one of {', '.join(GROUP_SCOPES)}"
        )
    return parts


@dataclass
class Turn:
    """One LLM call inside an episode.

    Attributes:
        index: Position of this turn in the episode (0-based, in AEC step order).
        agent: The agent id, e.g. ``"generator_1"``.
        role: The agent's role, e.g. ``"generator"``.
        role_turn: How many turns this agent had before this one (0 for its first call).
        messages: The exact observation messages the agent acted on.
        completion: What the agent wrote (after the env's length cap).
        reward: The reward credited to this turn when the episode ended.
        info: Deterministic facts about the turn (parse errors, parsed values).
        extras: Filled by rollout drivers: token ids, logprobs, finish reason, policy id.
    """

    index: int
    agent: str
    role: str
    role_turn: int
    messages: tuple[Message, ...]
    completion: str
    reward: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict."""
        out = asdict(self)
        out["messages"] = [dict(m) for m in self.messages]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Turn:
        """Rebuild a turn from :meth:`to_dict` output."""
        data = dict(data)
        data["messages"] = tuple(
            Message(role=m["role"], content=m["content"]) for m in data["messages"]
        )
        return cls(**data)


@dataclass(frozen=True)
class Sample:
    """One LLM call as a training sample, with the keys GRPO groups by.

    Attributes:
        prompt: The messages the agent saw.
        completion: What it wrote.
        reward: The reward credited to the call.
        agent: Agent id.
        role: Role name.
        turn: The agent's k-th call in the episode (``Turn.role_turn``).
        task_id: The task the episode posed.
        episode_seed: The seed the episode was reset with (``None`` if unseeded).
        env_id: The registered id of the environment.
        extras: A copy of ``Turn.extras`` (token ids, logprobs, ...).
    """

    prompt: tuple[Message, ...]
    completion: str
    reward: float
    agent: str
    role: str
    turn: int
    task_id: str
    episode_seed: int | None = None
    env_id: str = ""
    extras: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def group_key(self, scope: str = "task×agent×turn") -> tuple[str | int, ...]:
        """The GRPO group this sample belongs to under ``scope`` (see :data:`GROUP_SCOPES`)."""
        values = {"task": self.task_id, "role": self.role, "agent": self.agent, "turn": self.turn}
        return tuple(values[f] for f in parse_group_scope(scope))


def group_samples(
    samples: Iterable[Sample], scope: str = "task×agent×turn"
) -> dict[tuple[str | int, ...], list[Sample]]:
    """Group samples by :meth:`Sample.group_key`, keeping first-seen order."""
    fields = parse_group_scope(scope)
    groups: dict[tuple[str | int, ...], list[Sample]] = {}
    for s in samples:
        values = {"task": s.task_id, "role": s.role, "agent": s.agent, "turn": s.turn}
        groups.setdefault(tuple(values[f] for f in fields), []).append(s)
    return groups


@dataclass
class Episode:
    """The full transcript of one episode.

    Attributes:
        env_id: The registered id of the environment (e.g. ``"voting-arith-v0"``).
        workflow: Workflow name (``"voting"``, ``"eval-opt"``, ...).
        task_id: Id of the task posed.
        seed: Seed passed to ``reset`` (``None`` if the env was not reseeded).
        reward_mode: ``"team"`` or ``"role"``.
        turns: Every LLM call, in AEC order.
        returns: Per-agent reward credited at the end (agents that never spoke get 0).
        terminated: Whether the workflow reached its end.
        truncated: Whether it was cut short.
        final_answer: The graded text (the chosen candidate, last revision, or synthesis).
        correct: The verifier's verdict on ``final_answer`` (``None`` until the end).
        verdicts: Verifier results (JSON-safe dicts), keyed by what was verified
            (``"final"``, ``"turn:3"``, ...).
    """

    env_id: str
    workflow: str
    task_id: str
    seed: int | None = None
    reward_mode: str = "team"
    turns: list[Turn] = field(default_factory=list)
    returns: dict[str, float] = field(default_factory=dict)
    terminated: bool = False
    truncated: bool = False
    final_answer: str | None = None
    correct: bool | None = None
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        """Whether the episode has ended."""
        return self.terminated or self.truncated

    def turns_of(self, agent: str) -> list[Turn]:
        """The turns one agent took, in order."""
        return [t for t in self.turns if t.agent == agent]

    def to_samples(self, *, roles: Sequence[str] | None = None) -> list[Sample]:
        """One :class:`Sample` per LLM call, optionally only for some roles.

        Args:
            roles: Keep only turns of these roles (for frozen or scripted roles).
        """
        keep = None if roles is None else set(roles)
        return [
            Sample(
                prompt=t.messages,
                completion=t.completion,
                reward=t.reward,
                agent=t.agent,
                role=t.role,
                turn=t.role_turn,
                task_id=self.task_id,
                episode_seed=self.seed,
                env_id=self.env_id,
                extras=dict(t.extras),
            )
            for t in self.turns
            if keep is None or t.role in keep
        ]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict."""
        out = asdict(self)
        out["turns"] = [t.to_dict() for t in self.turns]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Episode:
        """Rebuild an episode from :meth:`to_dict` output."""
        data = dict(data)
        data["turns"] = [Turn.from_dict(t) for t in data["turns"]]
        return cls(**data)

    def to_json(self) -> str:
        """Serialise to one line of JSON (ASCII-escaped, so lone surrogates survive)."""
        return json.dumps(self.to_dict(), ensure_ascii=True, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Episode:
        """Parse :meth:`to_json` output."""
        return cls.from_dict(json.loads(text))
