"""Role routing: which policy plays each role of a run, in training and in evaluation.

A role is played by one of three kinds of policy id:

- a learner's name (``"shared"``, or the role's name under Isolated-Policy, or a
  ``policy_groups`` name): the role learns;
- :data:`~rolegym.baselines.grpo.policies.FROZEN`: a model role that does not learn (left out
  of ``trainable_roles``) generates with the frozen initial policy;
- ``"scripted:NAME"``: a scripted policy (:data:`rolegym.envs.scripted.SCRIPTED_POLICIES`)
  plays the role instead of the model; it has no learner.

:func:`route_roles` is the one place this is decided: the trainer builds its learners and
rollout routes from it, and ``rolegym eval`` of a checkpoint rebuilds the same routes from the
run's config, so a checkpoint is evaluated exactly as it was trained. :class:`ScriptedEngine`
plays the scripted roles and hands every other request to the model engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rolegym.baselines.grpo.policies import FROZEN, policy_map
from rolegym.rollout.types import Completion, Request, by_policy

__all__ = ["SCRIPTED_PREFIX", "Routing", "ScriptedEngine", "route_roles", "scripted_players"]

#: Policy ids of scripted roles: ``"scripted:" + the scripted policy's name``.
SCRIPTED_PREFIX = "scripted:"


def _scripted_policies() -> dict[str, Callable[..., Any]]:
    from rolegym.envs.scripted import SCRIPTED_POLICIES

    return SCRIPTED_POLICIES


@dataclass(frozen=True)
class Routing:
    """Who plays each role of a workflow.

    Attributes:
        roles: The workflow's roles, in the env's order.
        policy_of: Model role -> learner name, or ``FROZEN`` for model roles that do not
            learn (scripted roles are absent).
        scripted: Scripted role -> scripted policy name.
    """

    roles: tuple[str, ...]
    policy_of: dict[str, str]
    scripted: dict[str, str]

    @property
    def routes(self) -> dict[str, str]:
        """Role -> policy id (a learner, ``FROZEN`` or ``"scripted:NAME"``), every role."""
        return {
            r: (SCRIPTED_PREFIX + self.scripted[r] if r in self.scripted else self.policy_of[r])
            for r in self.roles
        }

    @property
    def learners(self) -> list[str]:
        """The learners' names, in first-seen role order."""
        return [n for n in dict.fromkeys(self.policy_of.values()) if n != FROZEN]


def route_roles(
    roles: Sequence[str],
    *,
    policy: str,
    policy_groups: Mapping[str, str] | None = None,
    trainable_roles: Sequence[str] | None = None,
    scripted_roles: Mapping[str, str] | None = None,
) -> Routing:
    """Route a workflow's roles to learners, the frozen policy or scripted policies.

    Args:
        roles: The env's roles.
        policy: ``"shared"`` or ``"isolated"`` (:func:`~.policies.policy_map`).
        policy_groups: Role -> learner name, overriding ``policy``.
        trainable_roles: Roles that learn (``None``: every model role).
        scripted_roles: Role -> scripted policy name; scripted roles never learn.

    Raises:
        ValueError: For a role name the env does not have (the message lists the env's
            roles), an unknown scripted policy, a learner group on a scripted role, or a
            routing where no role learns.
    """
    roles = tuple(dict.fromkeys(roles))
    scripted = dict(scripted_roles or {})
    named = {
        "scripted_roles": list(scripted),
        "trainable_roles": list(trainable_roles or ()),
        "policy_groups": list(policy_groups or {}),
    }
    for option, names in named.items():
        unknown = [r for r in names if r not in roles]
        if unknown:
            raise ValueError(
                f"{option} names {unknown}, not roles of this env; its roles are {list(roles)}"
            )
    known = sorted(_scripted_policies())
    for role, name in scripted.items():
        if name not in known:
            raise ValueError(
                f"scripted_roles: unknown scripted policy {name!r} for {role!r}; known: {known}"
            )
    grouped = sorted(set(policy_groups or {}) & set(scripted))
    if grouped:
        raise ValueError(
            f"policy_groups names scripted roles {grouped}: scripted roles have no learner"
        )
    model_roles = [r for r in roles if r not in scripted]
    learning = set(trainable_roles) if trainable_roles is not None else set(model_roles)
    learning -= set(scripted)
    if not learning:
        raise ValueError(
            f"no role learns: check trainable_roles and scripted_roles (roles {list(roles)})"
        )
    mapping = policy_map(policy, model_roles, policy_groups)
    policy_of = {r: (mapping[r] if r in learning else FROZEN) for r in model_roles}
    return Routing(roles, policy_of, scripted)


def scripted_players(scripted: Mapping[str, str], seed: int) -> dict[str, Any]:
    """Policy id (``"scripted:NAME"``) -> a scripted player, seeded with ``seed``."""
    return {
        SCRIPTED_PREFIX + name: _scripted_policies()[name](seed)
        for name in dict.fromkeys(scripted.values())
    }


class ScriptedEngine:
    """An engine: scripted roles' requests to their players, the rest to the model engine.

    Args:
        model_engine: The engine of the model roles.
        batch: The :class:`~rolegym.rollout.batch.EpisodeBatch` whose requests arrive (the
            players read its envs).
        players: Policy id -> scripted player (:func:`scripted_players`).
    """

    def __init__(self, model_engine: Any, batch: Any, players: Mapping[str, Any]) -> None:
        self.model_engine, self.batch, self.players = model_engine, batch, dict(players)

    def generate(self, requests: Sequence[Request]) -> list[Completion | str]:
        """One output per request, in order."""
        out: list[Completion | str] = [""] * len(requests)
        model_idx = []
        for policy_id, idx in by_policy(requests).items():
            if policy_id.startswith(SCRIPTED_PREFIX):
                play = self.players[policy_id]
                for i in idx:
                    r = requests[i]
                    out[i] = play(self.batch.envs[r.env_index].unwrapped, r.agent)
            else:
                model_idx.extend(idx)
        if model_idx:
            done = self.model_engine.generate([requests[i] for i in model_idx])
            for i, c in zip(model_idx, done, strict=True):
                out[i] = c
        return out
