r"""``SingleRole``: one role of a workflow as a single-agent Gymnasium environment.

>>> from rolegym.wrappers import SingleRole
>>> env = SingleRole("voting-arith-v0", role="aggregator", others="oracle")
>>> obs, info = env.reset(seed=0)            # the oracle voters have answered already
>>> info["agent"]
'aggregator_0'
>>> obs, reward, terminated, truncated, info = env.step("\\boxed{1}")

The learner acts for every agent of its role (``role="generator"`` in Voting: each voter's
turn is one step) or for one agent (``role="generator_0"``: the other voters are played by
``others``). Everyone else is played by ``others``, any player spec of
:mod:`rolegym.players`: a scripted name (``"oracle"``, ``"wrong"``, ``"random"``), a callable
``(env, agent) -> str``, an engine (``HFEngine``, ``VLLMEngine``, ``OpenAIEngine``) or
``EnginePlayer(engine, policy_id)``, or a mapping of role to one of those.

Spaces are the AEC env's: observations ``{"messages": (...)}`` (the acting agent's
conversation), actions any string. The reward is 0 until the episode ends and then the mean of
the learner agents' AEC returns, so an episode's return is the learner role's return
(``reward_mode`` as the env's). ``info`` names the acting agent and role and, at the end, holds
every agent's return, each role's mean return and whether the final answer was right. If an
episode ends before the learner is asked anything (an Orch-Workers worker the orchestrator did
not use), the next episode starts (``info["episodes_skipped"]`` counts them). Passes
``gymnasium.utils.env_checker.check_env``.
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
        env: An env id (built with :func:`rolegym.make` and ``env_kwargs``) or an AEC env.
        role: A role (all its agents are the learner's) or one agent.
        others: Who plays everyone else (a player spec, see :mod:`rolegym.players`).
        render_mode: ``"ansi"`` or ``None`` (passed to the env when it is built here).
        **env_kwargs: Passed to :func:`rolegym.make`.

    Raises:
        ValueError: ``role`` is neither a role nor an agent of the env.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "render_fps": 1}  # noqa: RUF012

    def __init__(
        self,
        env: str | AECEnv,
        role: str,
        others: PlayerSpec = "oracle",
        *,
        render_mode: str | None = None,
        **env_kwargs: Any,
    ) -> None:
        if isinstance(env, str):
            env = make(env, render_mode=render_mode, **env_kwargs)
        elif env_kwargs:
            raise TypeError("env_kwargs only apply when SingleRole builds the env from an id")
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
        self._others = as_player(others, roles=self.roles)
        first = agents[0]
        self.observation_space = env.observation_space(first)
        self.action_space = env.action_space(first)
        self.render_mode = getattr(raw, "render_mode", None)
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
        """
        super().reset(seed=seed)
        if seed is not None:
            self._others = as_player(self._spec, roles=self.roles, seed=seed)
        skipped = 0
        self.aec.reset(seed=seed, options=options)
        while not self._advance():
            skipped += 1
            if skipped >= MAX_SKIPPED_EPISODES:
                raise RuntimeError(
                    f"{skipped} episodes in a row ended before {self.role!r} was asked anything; "
                    "the other players never hand it a turn"
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
            _fresh(self._last_obs),
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
