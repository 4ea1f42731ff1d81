r"""PrimeIntellect ``verifiers`` (0.4, v1 API): any rolegym env as a multi-agent v1 environment.

This module is a v1 taskset plugin and its environment at once (it exports one ``Taskset`` and
one ``Env``). verifiers resolves a taskset id to a top-level module (``rolegym-verifiers`` ->
``rolegym_verifiers``, which re-exports this module), so ``vf-eval`` and prime-rl load it as::

    vf-eval rolegym-verifiers --env.taskset.env-id voting-arith-v0 \
        --model my-model --client.base-url http://127.0.0.1:8000/v1 -n 8 -r 3

or in Python: ``env = load_environment("voting-arith-v0")``. Each agent's chat calls go through
verifiers' ``null`` harness, a small chat program that verifiers runs in a ``uv`` environment
(its dependencies are fetched from the package index on the first run, then cached).

**Roles are agents.** Each rolegym role is one ``vf.AgentConfig`` field of
:class:`RolegymEnvConfig` (``generator``, ``aggregator``, ``evaluator``, ``orchestrator``,
``worker``, ``synthesizer``; a workflow uses some of them), played through the tool-less
``null`` harness: one chat call per rolegym turn. Each rolegym agent (``generator_0``,
``generator_1``, ...) is one interaction of its role's agent, so it leaves one trace; agents
whose observations are final together (all voters) are asked concurrently. An agent's later
turns send what it has been told since its last turn as user messages. ``AgentConfig.model``
left unset means the run's policy plays the role: every role shares one policy
(Shared-Policy); pinning a model per role (``--env.generator.model ...``) gives
Isolated-Policy. ``frozen=["aggregator"]`` marks roles not trainable (their traces are
recorded but never training data).

**Rewards.** When the rolegym episode ends, :meth:`RolegymEnv.finalize` records on each trace
the reward ``rolegym`` (its agent's AEC return, ``reward_mode`` as the env's) and the metrics
``correct`` (the final answer), ``parse_error`` (share of its turns) and ``role_reward`` (its
role's mean return).

**Tasks.** :class:`RolegymTaskset` draws ``num_tasks`` tasks from the env's task source with
``seed`` (``--env.taskset.num-tasks``, ``--env.taskset.seed``); ``-n`` and ``-r`` then pick
examples and rollouts per example as for any taskset.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import verifiers.v1 as vf
from pydantic import Field, field_validator

from rolegym.registration import make

__all__ = ["RolegymEnv", "RolegymTaskset", "load_environment"]

#: Every role a built-in workflow has: each is an agent of the v1 env.
ROLES = ("generator", "aggregator", "evaluator", "orchestrator", "worker", "synthesizer")
#: Every role plays through the tool-less chat harness; nothing runs code, so no sandbox.
_CHAT: dict[str, Any] = {"harness": {"id": "null"}, "runtime": {"type": "subprocess"}}
_TASKSET_ID = "rolegym-verifiers"  # the top-level plugin module rolegym_verifiers


class RolegymData(vf.TaskData):
    """One rolegym task: the env to play it in and its id in the env's source."""

    env_id: str
    task_id: str
    env_kwargs: dict[str, Any] = Field(default_factory=dict)


class RolegymTask(vf.Task[RolegymData, vf.State, vf.TaskConfig]):
    """Rewards are recorded by :meth:`RolegymEnv.finalize` from the rolegym episode."""


class RolegymTasksetConfig(vf.TasksetConfig):
    """Which env, and how many of its tasks."""

    env_id: str = "voting-arith-v0"
    num_tasks: int = Field(64, ge=1)
    seed: int = 0
    env_kwargs: dict[str, Any] = Field(default_factory=dict)


class RolegymTaskset(vf.Taskset[RolegymTask, RolegymTasksetConfig]):
    """``num_tasks`` tasks of the env's source, drawn with ``seed`` (stable across runs)."""

    def load(self) -> Iterator[RolegymTask]:
        """Yield the tasks (an unknown env id raises ``rolegym.EnvNotFound`` here)."""
        c = self.config
        env = make(c.env_id, **c.env_kwargs)
        source = env.unwrapped.tasks
        picks = np.random.default_rng(c.seed).choice(
            len(source), size=c.num_tasks, replace=c.num_tasks > len(source)
        )
        for i in picks:
            task = source[int(i)]
            data = RolegymData(
                name=task.id,
                prompt=task.prompt,
                env_id=c.env_id,
                task_id=task.id,
                env_kwargs=dict(c.env_kwargs),
            )
            yield RolegymTask(data, c.task)
        env.close()


class RolegymEnvConfig(vf.EnvConfig):
    """One agent per rolegym role, and the roles that do not train."""

    generator: vf.AgentConfig = vf.AgentConfig(**_CHAT)
    aggregator: vf.AgentConfig = vf.AgentConfig(**_CHAT)
    evaluator: vf.AgentConfig = vf.AgentConfig(**_CHAT)
    orchestrator: vf.AgentConfig = vf.AgentConfig(**_CHAT)
    worker: vf.AgentConfig = vf.AgentConfig(**_CHAT)
    synthesizer: vf.AgentConfig = vf.AgentConfig(**_CHAT)
    frozen: list[str] = Field(default_factory=list)
    """Roles whose traces are never training data."""

    @field_validator("frozen")
    @classmethod
    def _known_roles(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown role(s) {unknown}; rolegym's roles are {list(ROLES)}")
        return value


class RolegymEnv(vf.Env[RolegymEnvConfig]):
    """Plays one rolegym episode per rollout, each agent's turns through its role's agent."""

    async def setup(self, agents: vf.Agents) -> None:
        """Mark the frozen roles not trainable."""
        for role in self.config.frozen:
            getattr(agents, role).trainable = False

    async def run(self, task: RolegymTask, agents: vf.Agents) -> None:
        """Step the rolegym env; each ready agent's turn is a turn of its interaction."""
        data = task.data
        env = make(data.env_id, **data.env_kwargs)
        raw = env.unwrapped
        env.reset(options={"task_id": data.task_id})
        sessions: dict[str, Any] = {}
        told: dict[str, int] = {}  # messages of its conversation each agent has been sent
        try:
            async with contextlib.AsyncExitStack() as stack:

                async def speak(agent: str) -> str:
                    messages = list(env.observe(agent)["messages"])
                    if agent not in sessions:
                        prompt = _vf_messages(messages)
                        mine = type(task)(data.model_copy(update={"prompt": prompt}), task.config)
                        role_agent = getattr(agents, raw.role(agent))
                        sessions[agent] = await stack.enter_async_context(
                            role_agent.interaction(mine)
                        )
                        sessions[agent].trace.info["rolegym_agent"] = agent
                        segment = await sessions[agent].turn()
                    else:
                        new = [m for m in messages[told[agent] :] if m["role"] != "assistant"]
                        segment = await sessions[agent].turn(_vf_messages(new))
                    told[agent] = len(messages) + 1  # and its own reply
                    return "" if segment.terminated else segment.last_reply

                while env.agents:
                    agent = env.agent_selection
                    if env.terminations[agent] or env.truncations[agent]:
                        env.step(None)
                        continue
                    ready = raw.ready_agents()
                    replies = await asyncio.gather(*(speak(a) for a in ready))
                    for a, text in zip(ready, replies, strict=True):
                        while env.agents and env.agent_selection != a:
                            env.step(None)  # dead steps between the ready agents
                        env.step(text)
                _record(raw, sessions)
        finally:
            env.close()

    async def finalize(self, task: RolegymTask, episode: vf.Episode) -> None:
        """Record each trace's rolegym reward and metrics (set by :meth:`run`)."""
        for trace in episode.traces:
            result = trace.info.get("rolegym")
            if not result:
                continue
            trace.record_reward("rolegym", result["return"], 1.0)
            trace.record_metrics(
                {
                    "correct": result["correct"],
                    "parse_error": result["parse_error"],
                    "role_reward": result["role_reward"],
                }
            )


_MESSAGE_TYPES = {
    "system": vf.SystemMessage,
    "user": vf.UserMessage,
    "assistant": vf.AssistantMessage,
}


def _vf_messages(messages: list[Any]) -> list[Any]:
    return [_MESSAGE_TYPES[m["role"]](content=m["content"]) for m in messages]


def _record(raw: Any, sessions: dict[str, Any]) -> None:
    """Leave the episode's outcome on each agent's trace, for :meth:`RolegymEnv.finalize`."""
    episode = raw.episode
    by_role: dict[str, list[float]] = {}
    for agent, value in episode.returns.items():
        by_role.setdefault(raw.role(agent), []).append(value)
    for agent, session in sessions.items():
        turns = episode.turns_of(agent)
        errors = sum(1 for t in turns if t.info.get("parse_error"))
        role = by_role[raw.role(agent)]
        session.trace.info["rolegym"] = {
            "return": float(episode.returns.get(agent, 0.0)),
            "correct": float(bool(episode.correct)),
            "parse_error": errors / len(turns) if turns else 0.0,
            "role_reward": sum(role) / len(role),
        }


def load_environment(
    env_id: str = "voting-arith-v0",
    *,
    num_tasks: int = 64,
    seed: int = 0,
    frozen: list[str] | None = None,
    **env_kwargs: Any,
) -> RolegymEnv:
    """The v1 environment for ``env_id`` (``env_kwargs`` go to :func:`rolegym.make`).

    Raises:
        rolegym.EnvNotFound: An unknown env id.
        ValueError: An unknown role in ``frozen``.
    """
    make(env_id, **env_kwargs).close()  # fail now, not at the first rollout
    taskset = RolegymTasksetConfig(
        id=_TASKSET_ID, env_id=env_id, num_tasks=num_tasks, seed=seed, env_kwargs=env_kwargs
    )
    return RolegymEnv(RolegymEnvConfig(taskset=taskset, frozen=list(frozen or [])))
