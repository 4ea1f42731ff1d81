r"""``SingleRole``: one role of a workflow as a single-agent Gymnasium environment.

>>> from rolegym.wrappers import SingleRole
>>> env = SingleRole("voting-arith-v0", role="aggregator", others="oracle")
>>> obs, info = env.reset(seed=0)            # the oracle voters have answered already
>>> info["agent"]
'aggregator_0'
>>> obs, reward, terminated, truncated, info = env.step("\\boxed{1}")
>>> reward, terminated, info["correct"]      # the oracle voters were all right
(1.0, True, True)

The learner acts for every agent of its role (``role="generator"`` in Voting: each voter's
turn is one step) or for one agent (``role="generator_0"``: the other voters are played by
``others``). Everyone else is played by ``others``, any player spec of
:mod:`rolegym.players`: a scripted name (``"oracle"``, ``"wrong"``, ``"random"``), a callable
``(env, agent) -> str``, an engine (``HFEngine``, ``VLLMEngine``, ``OpenAIEngine``) or
``EnginePlayer(engine, policy_id)``, or a mapping of role to one of those.

Spaces are the AEC env's: observations ``{"messages": (...)}`` (the acting agent's
conversation; at the end, the last learner agent's, its final output included), actions any
string. The reward is 0 until the episode ends and then the mean of the learner agents' AEC
returns, so an episode's return is the learner role's return (``reward_mode`` as the env's).
``info`` names the acting agent, its role and the task; at the end it also holds every agent's
return (``"returns"``), each role's mean return (``"role_returns"``) and whether the final
answer was right (``"correct"``).

If an episode ends before the learner is asked anything (an Orch-Workers worker the
orchestrator did not use), the next episode starts (the env's task stream moves on) and
``info["episodes_skipped"]`` counts them; 100 such episodes in a row are an error. A
``"random"`` player is seeded with ``seed`` and re-seeded by ``reset(seed=...)``, so a seeded
episode replays exactly. Passes ``gymnasium.utils.env_checker.check_env``. Nothing is
registered with Gymnasium: wrap a ``SingleRole`` in Gymnasium's wrappers like any env.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
from pettingzoo import AECEnv

from rolegym.players import PlayerSpec, as_player
from rolegym.registration import make

__all__ = ["SingleRole"]

MAX_SKIPPED_EPISODES = 100


class SingleRole(gym.Env[dict[str, Any], str]):
    """One role acts; every other role is played by ``others``.

    Args:
        env_or_id: An env id (built with :func:`rolegym.make` and ``env_kwargs``) or an AEC
            env (as :func:`rolegym.make` returns it, or unwrapped).
        role: A role (all its agents are the learner's) or one agent.
        others: Who plays everyone else (a player spec, see :mod:`rolegym.players`).
        seed: Seed of a ``"random"`` player until ``reset(seed=...)`` re-seeds it.
        render_mode: ``"ansi"``, ``"human"`` or ``None``, passed to the env built from an id.
        **env_kwargs: Passed to :func:`rolegym.make`.

    Raises:
        ValueError: ``role`` is neither a role nor an agent of the env, or ``others`` is a
            mapping with a key that is not a role.
        TypeError: ``env_kwargs`` or ``render_mode`` with a ready env (build it with them).
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi", "human"], "render_fps": 1}  # noqa: RUF012

    def __init__(
        self,
        env_or_id: str | AECEnv,
        role: str,
        others: PlayerSpec = "oracle",
        *,
        seed: int | None = None,
        render_mode: str | None = None,
        **env_kwargs: Any,
    ) -> None:
        if isinstance(env_or_id, str):
            env = make(env_or_id, render_mode=render_mode, **env_kwargs)
        elif isinstance(env_or_id, AECEnv):
            if env_kwargs or render_mode is not None:
                given = sorted({*env_kwargs, *(["render_mode"] if render_mode else [])})
                raise TypeError(
                    f"env_kwargs {given} only apply when SingleRole builds the env from an id; "
                    "pass them to rolegym.make instead"
                )
            env = env_or_id
        else:
            raise TypeError(
                f"env_or_id is an env id or a PettingZoo AEC env, got {type(env_or_id).__name__}"
            )
        self.aec = env
        raw = env.unwrapped
        agents = list(raw.possible_agents)
        self.roles = sorted({raw.role(a) for a in agents})
        if role in self.roles:
            self.learners = frozenset(a for a in agents if raw.role(a) == role)
        elif role in agents:
            self.learners = frozenset({role})
        else:
            raise ValueError(
                f"{raw.env_id} has no role or agent {role!r}; roles: {self.roles}, agents: {agents}"
            )
        self.role = role
        self._spec = others
        self._others = as_player(others, roles=self.roles, seed=seed)
        first = agents[0]
        self.observation_space = env.observation_space(first)
        self.action_space = env.action_space(first)
        self.render_mode = getattr(raw, "render_mode", None)
        self.metadata = {**type(self).metadata, "render_modes": list(raw.metadata["render_modes"])}
        self._last_obs: dict[str, Any] | None = None
        self._agent: str | None = None

    # ------------------------------------------------------------------ gymnasium API

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start an episode and play the others until a learner agent must act.

        Args:
            seed: Seeds the env (task choice) and a ``"random"`` player.
            options: Passed to the AEC env's ``reset`` (``{"task_id": ...}`` replays a task).

        Returns:
            The learner agent's observation, and ``info`` with ``"agent"``, ``"role"``,
            ``"task_id"`` and ``"episodes_skipped"``.

        Raises:
            RuntimeError: 100 episodes in a row ended before a learner agent was asked.
        """
        super().reset(seed=seed)
        self._agent = None
        if seed is not None:
            self._others = as_player(self._spec, roles=self.roles, seed=seed)
        skipped = 0
        self.aec.reset(seed=seed, options=options)
        while not self._advance():
            skipped += 1
            if skipped >= MAX_SKIPPED_EPISODES:
                raise RuntimeError(
                    f"{skipped} episodes in a row ended before {self.role!r} was asked anything; "
                    "the other players never hand it a turn (e.g. an orchestrator naming fewer "
                    "strategies than there are workers leaves the last workers unused)"
                )
            self.aec.reset(options=options)  # the env's own generator moves on
        return _fresh(self._last_obs), {**self._info(), "episodes_skipped": skipped}

    def step(self, action: str) -> tuple[dict[str, Any], SupportsFloat, bool, bool, dict[str, Any]]:
        """Act for the learner agent whose turn it is; play the others until it acts again."""
        if self._agent is None:
            raise RuntimeError("call reset() before step(), and again after the episode ends")
        self.aec.step(action)
        if self._advance():
            return _fresh(self._last_obs), 0.0, False, False, self._info()
        # Over: the last learner agent's conversation, its final output included.
        last = self.aec.unwrapped.observe(self._agent)
        episode = self.aec.unwrapped.episode
        returns = dict(episode.returns)
        learner_returns = [returns.get(a, 0.0) for a in sorted(self.learners)]
        reward = sum(learner_returns) / len(learner_returns)
        role_returns: dict[str, list[float]] = {}
        raw = self.aec.unwrapped
        for agent, value in returns.items():
            role_returns.setdefault(raw.role(agent), []).append(value)
        info = {
            **self._info(),
            "returns": returns,
            "role_returns": {r: sum(v) / len(v) for r, v in role_returns.items()},
            "correct": bool(episode.correct),
        }
        self._agent = None
        return (
            _fresh(last),
            reward,
            bool(episode.terminated),
            bool(episode.truncated),
            info,
        )

    def render(self) -> str | None:
        """The transcript so far (``render_mode="ansi"``)."""
        return self.aec.render()

    def close(self) -> None:
        """Close the AEC env (its verifier)."""
        self.aec.close()

    # ------------------------------------------------------------------ internals

    def _advance(self) -> bool:
        """Step dead agents and the others; ``True`` once a learner agent must act."""
        env, raw = self.aec, self.aec.unwrapped
        while env.agents:
            agent = env.agent_selection
            if env.terminations[agent] or env.truncations[agent]:
                env.step(None)
            elif agent in self.learners:
                self._agent = agent
                self._last_obs = env.observe(agent)
                return True
            else:
                env.step(self._others(raw, agent))
        return False

    def _info(self) -> dict[str, Any]:
        raw = self.aec.unwrapped
        agent = self._agent
        return {
            "agent": agent,
            "role": raw.role(agent) if agent is not None else None,
            "task_id": raw.task.id if raw.task is not None else None,
        }


def _fresh(obs: dict[str, Any]) -> dict[str, Any]:
    """A copy that shares no mutable object with the env or earlier returns (users keep them)."""
    return {"messages": tuple(dict(m) for m in obs["messages"])}
