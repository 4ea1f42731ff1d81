"""OpenEnv: any registered rolegym env behind ``openenv-core``'s server, and its client.

Serve (``rolegym serve-env voting-arith-v0 --port 8000``, or in Python)::

    from rolegym.integrations.openenv import create_rolegym_app, serve
    app = create_rolegym_app("voting-arith-v0")          # a FastAPI app: /ws, /reset, /step, ...
    serve("voting-arith-v0", port=8000)                  # uvicorn, blocking

Play, with OpenEnv's client protocol (``EnvClient``; async, or ``.sync()``)::

    from rolegym.integrations.openenv import RolegymAction, RolegymEnvClient
    with RolegymEnvClient(base_url="http://127.0.0.1:8000").sync() as client:
        result = client.reset(seed=0)                    # or reset(seed=0, task_id="...")
        while not result.done:
            obs = result.observation                     # obs.agent must act; obs.messages
            result = client.step(RolegymAction(agent=obs.agent, text=my_llm(obs.messages)))
        print(client.state().role_rewards)

**Several agents, one action at a time.** OpenEnv's spec has no multi-agent turn order, so
rolegym defines it: every observation names the agent to act (``agent``, ``role``) and carries
that agent's conversation (``messages``); an action names its agent (``{agent, text}``), and an
action for any other agent is refused with an error (HTTP 409, or a WebSocket error message)
without touching the episode: never a silent skip. Dead steps (``None`` for terminated agents)
are taken by the server. ``rewards`` holds every agent's return so far (rewards come at the
end, so 0 until then); ``reward`` is 0 until the episode ends, then the acting agent's return
(in learner mode: the learner role's mean return). The state (``client.state()``) names the
episode, the step count, the agent to act, each agent's return and each role's mean return.

**Learner mode.** ``learner=ROLE`` (``--learner ROLE``) has the server play every other role with
``others`` (a player spec of :mod:`rolegym.players`: ``"oracle"``, ``"wrong"``, ``"random"``, a
callable or an engine; on the command line also ``--model DIR``, a local model directory played
by :class:`~rolegym.rollout.engines.hf.HFEngine`), so a client only ever sees the learner's
turns: a single-agent environment for any OpenEnv-speaking trainer.

**Sessions.** Each WebSocket connection (``/ws``, what ``EnvClient`` uses) gets its own env
instance, up to ``max_sessions`` at once (``SUPPORTS_CONCURRENT_SESSIONS``; one more is refused
with a ``CAPACITY_REACHED`` error). OpenEnv 0.3's HTTP endpoints are stateless: each request
builds a fresh env and closes it after. So ``POST /reset`` returns a first observation (a way
to peek at a task), ``POST /step`` has no episode to continue and is answered 409 with an
explanation, and ``GET /state`` describes a fresh env (no episode; OpenEnv serialises it with
its base ``State`` model: ``episode_id`` and ``step_count`` only). Play episodes over the
WebSocket.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from openenv.core import EnvClient
from openenv.core.client_types import StepResult
from openenv.core.env_server.http_server import create_app
from openenv.core.env_server.interfaces import Environment
from openenv.core.env_server.types import Action, Observation, State
from pydantic import Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rolegym.players import EnginePlayer, PlayerSpec, as_player
from rolegym.registration import make

__all__ = [
    "RolegymAction",
    "RolegymEnvClient",
    "RolegymEnvironment",
    "RolegymObservation",
    "RolegymState",
    "create_rolegym_app",
    "model_player",
    "serve",
]


class RolegymAction(Action):
    """One agent's output."""

    agent: str = Field(..., description="The agent acting (must be the observation's agent)")
    text: str = Field(..., description="Its output (any string; bad text is an outcome)")


class RolegymObservation(Observation):
    """What the agent to act sees."""

    env_id: str = Field(default="", description="The rolegym env id")
    task_id: str | None = Field(default=None, description="The episode's task")
    agent: str | None = Field(default=None, description="The agent to act (None when done)")
    role: str | None = Field(default=None, description="Its role")
    messages: list[dict[str, str]] = Field(default_factory=list, description="Its conversation")
    rewards: dict[str, float] = Field(
        default_factory=dict, description="Every agent's return so far (0 until the end)"
    )
    info: dict[str, Any] = Field(default_factory=dict, description="The last turn's info")


class RolegymState(State):
    """The episode at a glance."""

    env_id: str = ""
    task_id: str | None = None
    agent: str | None = None
    done: bool = False
    correct: bool | None = None
    returns: dict[str, float] = Field(default_factory=dict)
    role_rewards: dict[str, float] = Field(default_factory=dict)


class RequestError(HTTPException):
    """A request the env refuses (HTTP 409 by default; over the WebSocket, an error message)."""

    def __init__(self, detail: str, status_code: int = 409) -> None:
        super().__init__(status_code=status_code, detail=detail)

    def __str__(self) -> str:
        return str(self.detail)


class RolegymEnvironment(Environment[RolegymAction, RolegymObservation, RolegymState]):
    """One rolegym AEC env as an OpenEnv ``Environment`` (one per session).

    Args:
        env_id: A registered env id.
        learner: ``None`` (every agent acts through the client) or a role the client plays.
        others: Who plays the other roles in learner mode (a player spec).
        env_kwargs: Passed to :func:`rolegym.make`.

    Raises:
        rolegym.EnvNotFound: An unknown env id.
        ValueError: A learner role the env lacks, or a bad player spec.
    """

    SUPPORTS_CONCURRENT_SESSIONS = True

    def __init__(
        self,
        env_id: str,
        *,
        learner: str | None = None,
        others: PlayerSpec = "oracle",
        env_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.env = make(env_id, **(env_kwargs or {}))
        raw = self.env.unwrapped
        self.env_id: str = raw.env_id
        self.roles = sorted({raw.role(a) for a in raw.possible_agents})
        if learner is not None and learner not in self.roles:
            self.env.close()
            raise ValueError(f"{env_id} has no role {learner!r}; its roles: {self.roles}")
        self.learner = learner
        self._spec = others
        self._others = as_player(others, roles=self.roles) if learner is not None else None
        self._episode_id: str | None = None
        self._steps = 0
        self._started = False

    # ------------------------------------------------------------------ OpenEnv API

    def reset(
        self,
        seed: int | None = None,
        episode_id: str | None = None,
        task_id: str | None = None,
        **kwargs: Any,
    ) -> RolegymObservation:
        """Start an episode (``task_id`` replays a task of the env's source).

        Raises:
            RequestError: An unknown ``task_id`` (HTTP 400).
        """
        options = {"task_id": task_id} if task_id is not None else None
        try:
            self.env.reset(seed=seed, options=options)
        except KeyError as e:
            raise RequestError(str(e.args[0] if e.args else e), status_code=400) from None
        if self._others is not None and seed is not None:
            self._others = as_player(self._spec, roles=self.roles, seed=seed)
        raw = self.env.unwrapped
        self._episode_id = episode_id or f"{self.env_id}:{seed}:{raw.task.id}"
        self._steps = 0
        self._started = True
        self._advance()
        return self._observation(reward=self._final_reward(None), info={})

    def step(
        self, action: RolegymAction, timeout_s: float | None = None, **kwargs: Any
    ) -> RolegymObservation:
        """Act for ``action.agent``, which must be the agent to act.

        Raises:
            RequestError: No episode (or an ended one) to step, or another agent's turn
                (HTTP 409); the episode is left untouched.
        """
        if not self._started:
            raise RequestError(
                "no episode to step: reset first. OpenEnv's HTTP /step builds a fresh env for "
                "every request, so episodes are played over the WebSocket session (/ws)"
            )
        env = self.env
        if not env.agents:
            raise RequestError("the episode has ended; reset to start another")
        expected = env.agent_selection
        if action.agent != expected:
            raise RequestError(
                f"it is {expected}'s turn, not {action.agent}'s; the action was not applied"
            )
        env.step(action.text)
        self._steps += 1
        info = {k: v for k, v in env.infos.get(action.agent, {}).items() if _jsonable(v)}
        self._advance()
        return self._observation(reward=self._final_reward(action.agent), info=info)

    @property
    def state(self) -> RolegymState:
        """The episode id, step count, agent to act and rewards."""
        if not self._started:
            return RolegymState(env_id=self.env_id)
        episode = self.env.unwrapped.episode
        return RolegymState(
            episode_id=self._episode_id,
            step_count=self._steps,
            env_id=self.env_id,
            task_id=episode.task_id,
            agent=self._agent(),
            done=episode.done,
            correct=bool(episode.correct) if episode.done else None,
            returns=self._returns(),
            role_rewards=self._role_rewards(),
        )

    def close(self) -> None:
        """Release the env's verifier."""
        self.env.close()

    # ------------------------------------------------------------------ internals

    def _advance(self) -> None:
        """Take dead steps, and in learner mode play the others, until the client must act."""
        env, raw = self.env, self.env.unwrapped
        while env.agents:
            agent = env.agent_selection
            if env.terminations[agent] or env.truncations[agent]:
                env.step(None)
            elif self._others is not None and raw.role(agent) != self.learner:
                env.step(self._others(raw, agent))
            else:
                return

    def _agent(self) -> str | None:
        return self.env.agent_selection if self._started and self.env.agents else None

    def _returns(self) -> dict[str, float]:
        """Every agent's return so far (credited at the end: zeros until then)."""
        raw = self.env.unwrapped
        returns = raw.episode.returns
        return {a: float(returns.get(a, 0.0)) for a in raw.possible_agents}

    def _role_rewards(self) -> dict[str, float]:
        """Each role's mean return over its agents."""
        raw = self.env.unwrapped
        by_role: dict[str, list[float]] = {}
        for agent, value in self._returns().items():
            by_role.setdefault(raw.role(agent), []).append(value)
        return {role: sum(v) / len(v) for role, v in by_role.items()}

    def _final_reward(self, agent: str | None) -> float:
        """0 while the episode runs; then the learner role's or ``agent``'s return."""
        if self.env.agents:
            return 0.0
        if self.learner is not None:
            return self._role_rewards()[self.learner]
        return self._returns().get(agent, 0.0) if agent is not None else 0.0

    def _observation(self, *, reward: float, info: dict[str, Any]) -> RolegymObservation:
        raw = self.env.unwrapped
        agent = self._agent()
        messages = [dict(m) for m in self.env.observe(agent)["messages"]] if agent else []
        return RolegymObservation(
            env_id=self.env_id,
            task_id=raw.task.id,
            agent=agent,
            role=raw.role(agent) if agent else None,
            messages=messages,
            rewards=self._returns(),
            info=info,
            done=agent is None,
            reward=reward,
        )


def _jsonable(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool | list | dict)


class _QuietClose:
    """ASGI middleware: a WebSocket close sent after the client has gone is a no-op.

    OpenEnv's ``/ws`` handler closes the socket after the client's ``close`` message and
    catches only ``RuntimeError``; under uvicorn's default (sans-I/O) WebSocket protocol that
    late close raises ``OSError`` instead, logged as an "Exception in ASGI application" after
    every session although the session ended cleanly. Only that one message is guarded.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "websocket":
            await self.app(scope, receive, send)
            return

        async def guarded(message: Message) -> None:
            try:
                await send(message)
            except OSError:
                if message.get("type") != "websocket.close":
                    raise

        await self.app(scope, receive, guarded)


class _Serialized:
    """A player shared by every session, called by one session at a time.

    A callable or an engine (``--model``) is one object for the whole server, while each
    session steps its env in a thread of its own; an engine's model is not made for
    concurrent calls.
    """

    def __init__(self, player: Any) -> None:
        self.player = player
        self.lock = threading.Lock()

    def __call__(self, env: Any, agent: str) -> str:
        with self.lock:
            return self.player(env, agent)


def create_rolegym_app(
    env_id: str,
    *,
    learner: str | None = None,
    others: PlayerSpec = "oracle",
    max_sessions: int = 8,
    **env_kwargs: Any,
) -> FastAPI:
    """The FastAPI app serving ``env_id`` with OpenEnv's routes (``/ws``, ``/reset``, ...).

    Args:
        env_id: A registered env id.
        learner: A role the client plays while the server plays the rest (``None``: all).
        others: Who plays the other roles in learner mode (a player spec). Scripted names are
            built per session (a ``"random"`` player reseeded by each ``reset(seed=...)``);
            a callable or an engine is shared by the sessions, which call it one at a time.
        max_sessions: Most concurrent WebSocket sessions.
        **env_kwargs: Passed to :func:`rolegym.make`.

    Raises:
        rolegym.EnvNotFound: An unknown env id (checked now, not at the first session).
        ValueError: A learner role the env lacks, a bad player spec, or ``max_sessions < 1``.
        TypeError: An env keyword the env does not take, or ``others`` that cannot play.
    """
    if max_sessions < 1:
        raise ValueError(f"max_sessions must be at least 1, got {max_sessions}")
    if learner is not None and not isinstance(others, str | Mapping):
        others = _Serialized(as_player(others))
    probe = RolegymEnvironment(env_id, learner=learner, others=others, env_kwargs=env_kwargs)
    probe.close()
    # A partial of the class: OpenEnv reads SUPPORTS_CONCURRENT_SESSIONS off it without
    # building a throwaway env.
    factory = functools.partial(
        RolegymEnvironment, env_id, learner=learner, others=others, env_kwargs=env_kwargs
    )
    app = create_app(
        factory,
        RolegymAction,
        RolegymObservation,
        env_name=probe.env_id,
        max_concurrent_envs=max_sessions,
    )
    app.add_middleware(_QuietClose)
    return app


def serve(
    env_id: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "warning",
    **kwargs: Any,
) -> None:
    """Serve ``env_id`` with uvicorn until interrupted (``kwargs``: see create_rolegym_app)."""
    import uvicorn

    uvicorn.run(create_rolegym_app(env_id, **kwargs), host=host, port=port, log_level=log_level)


class RolegymEnvClient(EnvClient[RolegymAction, RolegymObservation, RolegymState]):
    """OpenEnv client of a rolegym server (one WebSocket session, one env instance).

    A refused request (another agent's turn, no episode, a malformed action) raises
    ``RuntimeError`` with the server's message; the session stays usable.
    """

    def _step_payload(self, action: RolegymAction) -> dict[str, Any]:
        return {"agent": action.agent, "text": action.text}

    def _parse_result(self, payload: dict[str, Any]) -> StepResult[RolegymObservation]:
        done = bool(payload.get("done", False))
        reward = payload.get("reward")
        observation = RolegymObservation(**payload.get("observation", {}), done=done, reward=reward)
        return StepResult(observation=observation, reward=reward, done=done)

    def _parse_state(self, payload: dict[str, Any]) -> RolegymState:
        return RolegymState(**payload)


def model_player(
    path: str | Path,
    *,
    max_new_tokens: int = 256,
    temperature: float = 0.7,
    device: str | None = None,
) -> EnginePlayer:
    """A player over a local model directory: transformers in an :class:`HFEngine`.

    What ``rolegym serve-env --model DIR`` plays the other roles with.

    Args:
        path: A directory ``from_pretrained`` loads (a model and its tokenizer).
        max_new_tokens: Longest output.
        temperature: Sampling temperature (each request is seeded from the episode's seed).
        device: ``"cpu"``, ``"cuda"``, ...; ``None``: CUDA when available.

    Raises:
        FileNotFoundError: ``path`` is not a directory (nothing is fetched from a hub).
    """
    if not Path(path).is_dir():
        raise FileNotFoundError(f"--model needs a local model directory; {str(path)!r} is none")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rolegym.rollout.engines.hf import HFEngine

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(path, dtype="auto").to(device).eval()
    engine = HFEngine(model, tokenizer, max_new_tokens=max_new_tokens, temperature=temperature)
    return EnginePlayer(engine)
