"""Players: who acts for the roles a learner does not control.

Every way of training one role with the others held fixed (:class:`rolegym.wrappers.SingleRole`,
``rolegym serve-env --learner``, the TRL and ``verifiers`` integrations) needs the other roles
played by something. :func:`as_player` accepts what a researcher has at hand and returns one
callable, ``player(env, agent) -> str``, with the unwrapped env:

- the name of a scripted policy: ``"oracle"``, ``"wrong"`` or ``"random"``
  (:mod:`rolegym.envs.scripted`);
- any callable ``(env, agent) -> str``;
- an inference engine (anything with ``generate(requests)``, such as
  :class:`rolegym.rollout.engines.HFEngine`), asked with the policy id ``"default"``, or
  :class:`EnginePlayer` to name another policy id (an adapter of a multi-LoRA engine);
- a mapping from role to any of the above (roles it leaves out play ``default``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rolegym.envs.scripted import SCRIPTED_POLICIES
from rolegym.rollout.types import Completion, Request, sampling_seed

__all__ = ["EnginePlayer", "Player", "PlayerSpec", "as_player"]

Player = Callable[[Any, str], str]
#: What :func:`as_player` accepts.
PlayerSpec = str | Player | Any | Mapping[str, Any]


class EnginePlayer:
    """An inference engine playing an agent with one of its policies.

    Each call sends one request (the agent's observation) with a sampling seed derived from the
    episode's seed, the agent and its turn, as the rollout drivers do; so a seeded episode
    replays exactly.

    Args:
        engine: Anything with ``generate(requests) -> completions``.
        policy_id: The policy (adapter) that generates.
    """

    def __init__(self, engine: Any, policy_id: str = "default") -> None:
        if not callable(getattr(engine, "generate", None)):
            raise TypeError(f"{type(engine).__name__} has no generate(requests) method")
        self.engine = engine
        self.policy_id = policy_id

    def __call__(self, env: Any, agent: str) -> str:
        """Generate ``agent``'s next output."""
        episode = env.episode
        turn = len(episode.turns_of(agent))
        request = Request(
            env_index=0,
            agent=agent,
            role=env.role(agent),
            turn=turn,
            messages=env.observe(agent)["messages"],
            sampling_seed=sampling_seed(episode.seed, agent, turn, 0),
            policy_id=self.policy_id,
        )
        out = self.engine.generate([request])[0]
        return out.text if isinstance(out, Completion) else str(out)


def _one(spec: Any, seed: int | None) -> Player:
    if isinstance(spec, str):
        if spec not in SCRIPTED_POLICIES:
            raise ValueError(
                f"unknown scripted player {spec!r}; expected one of {sorted(SCRIPTED_POLICIES)}"
            )
        return SCRIPTED_POLICIES[spec](seed)
    if isinstance(spec, EnginePlayer):
        return spec
    if callable(getattr(spec, "generate", None)):
        return EnginePlayer(spec)
    if callable(spec):
        return spec
    raise TypeError(
        "a player is a scripted policy name, a callable (env, agent) -> str, an engine with "
        f"generate(requests), or a mapping of role to one of those; got {type(spec).__name__}"
    )


def as_player(spec: PlayerSpec, *, roles: Any = None, seed: int | None = None) -> Player:
    """One callable ``(env, agent) -> str`` from a player spec (see the module docstring).

    Args:
        spec: What plays.
        roles: The env's roles; with a mapping ``spec``, keys outside them are an error (a typo
            would otherwise leave a role to the default player silently).
        seed: Seed of a ``"random"`` player's own generator.

    Raises:
        ValueError: An unknown scripted name or a mapping key that is not a role.
        TypeError: Something that cannot play.
    """
    if isinstance(spec, Mapping):
        if roles is not None:
            unknown = sorted(set(spec) - {*roles, "default"})
            if unknown:
                raise ValueError(f"no role(s) {unknown} in this env; its roles: {sorted(roles)}")
        players = {role: _one(s, seed) for role, s in spec.items()}
        fallback = players.get("default")

        def by_role(env: Any, agent: str) -> str:
            player = players.get(env.role(agent), fallback)
            if player is None:
                raise ValueError(
                    f"no player for role {env.role(agent)!r} (give it one, or a 'default')"
                )
            return player(env, agent)

        return by_role
    return _one(spec, seed)
