"""``EpisodeBatch``: many environments, one engine call per round of ready agents.

The AEC loop steps one agent at a time, but an inference engine is fast only with large
batches. Each round, the driver gathers the prompt of every agent whose observation is
already final (``env.unwrapped.ready_agents()``: all voters at once, all workers once the
orchestrator has spoken) across all environments into one list of requests; the caller
generates them in one engine call; the driver then steps every environment in exact AEC order
(dead steps included) as far as the completions allow. Voting over N episodes thus costs two
engine calls, not 4N.

Environments come in groups of ``group_size`` that share one task, as GRPO needs. Each
request carries a sampling seed derived stably from (episode seed, agent, turn, group member)
and the ``policy_id`` its role maps to. Completions' token ids, logprobs and finish reasons
are attached to the turns (``Turn.extras``). Environments advance on a thread pool when
``workers > 1``, so that the verification of different episodes (code runs in sandboxes)
overlaps; a round's engine call waits for the previous round's steps, since they decide the
next prompts. :func:`rolegym.rollout.arollout` also overlaps verification with generation:
each episode steps off the event loop while the others' requests are in flight.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pettingzoo import AECEnv

from rolegym.envs.episode import Episode
from rolegym.registration import make
from rolegym.rollout.envstep import PolicyMap, apply_completion, request_for, router
from rolegym.rollout.types import Completion, Engine, Request, group_seed
from rolegym.tasks.base import Task

__all__ = ["EpisodeBatch"]


class EpisodeBatch:
    """Run ``num_envs`` episodes together, in groups sharing a task.

    Args:
        env: An env id (built with :func:`rolegym.make` and ``env_kwargs``) or a factory.
        num_envs: How many episodes at once.
        group_size: Episodes per task (``num_envs`` must be a multiple).
        policy_map: Role -> policy id (a mapping or a function); default ``"default"`` for all.
        workers: Threads that advance environments (verification overlaps across episodes).
        **env_kwargs: Passed to :func:`rolegym.make` when ``env`` is an id.
    """

    def __init__(
        self,
        env: str | Callable[[], AECEnv],
        num_envs: int,
        *,
        group_size: int = 1,
        policy_map: PolicyMap = None,
        workers: int = 1,
        **env_kwargs: Any,
    ) -> None:
        if num_envs < 1 or group_size < 1 or num_envs % group_size:
            raise ValueError("num_envs must be a positive multiple of group_size")
        factory = (lambda: make(env, **env_kwargs)) if isinstance(env, str) else env
        self.envs = [factory() for _ in range(num_envs)]
        self.group_size = group_size
        self.workers = workers
        self._policy = router(policy_map)
        self.engine_calls = 0  # rounds of completions fed since the last reset
        self._buffers: list[dict[str, tuple[Completion, Request]]] = [{} for _ in self.envs]
        self._pending: list[Request] = []

    @property
    def done(self) -> bool:
        """Whether every episode has ended."""
        return all(not env.agents for env in self.envs)

    def episodes(self) -> list[Episode]:
        """The episodes' transcripts (complete once :attr:`done`)."""
        return [env.unwrapped.episode for env in self.envs]

    def reset(self, seed: int = 0, tasks: Sequence[Task | str] | None = None) -> list[Request]:
        """Start a new batch; returns the first requests.

        Args:
            seed: Group ``g`` draws its task with seed ``group_seed(seed, g)`` (unless ``tasks``
                is given).
            tasks: One task (or task id) per group, to replay specific problems.
        """
        groups = len(self.envs) // self.group_size
        if tasks is not None and len(tasks) != groups:
            raise ValueError(f"give one task per group ({groups}), got {len(tasks)}")
        for g in range(groups):
            members = self.envs[g * self.group_size : (g + 1) * self.group_size]
            if tasks is None:
                members[0].reset(seed=group_seed(seed, g))
                task = members[0].unwrapped.task
                rest = members[1:]
            else:
                chosen = tasks[g]
                task = chosen if isinstance(chosen, Task) else None
                rest = members
                if task is None:
                    members[0].reset(seed=group_seed(seed, g), options={"task_id": chosen})
                    task = members[0].unwrapped.task
                    rest = members[1:]
            for env in rest:
                env.reset(seed=group_seed(seed, g), options={"task": task})
        self._buffers = [{} for _ in self.envs]
        self.engine_calls = 0
        return self._advance_all()

    def step(self, completions: Sequence[Completion | str]) -> list[Request]:
        """Feed the completions of the last requests (same order); returns the next requests."""
        if len(completions) != len(self._pending):
            raise ValueError(f"expected {len(self._pending)} completions, got {len(completions)}")
        self.engine_calls += 1
        for request, completion in zip(self._pending, completions, strict=True):
            if not isinstance(completion, Completion):
                completion = Completion(text=completion)
            self._buffers[request.env_index][request.agent] = (completion, request)
        return self._advance_all()

    def run(
        self, engine: Engine, seed: int = 0, tasks: Sequence[Task | str] | None = None
    ) -> list[Episode]:
        """Reset, then alternate engine calls and steps until every episode ends."""
        requests = self.reset(seed, tasks)
        while requests:
            requests = self.step(list(engine.generate(requests)))
        return self.episodes()

    # ------------------------------------------------------------------ internals

    def _advance_all(self) -> list[Request]:
        indices = range(len(self.envs))
        if self.workers > 1:
            with ThreadPoolExecutor(self.workers) as pool:
                frontiers = list(pool.map(self._advance, indices))
        else:
            frontiers = [self._advance(i) for i in indices]
        self._pending = [r for frontier in frontiers for r in frontier]
        return list(self._pending)

    def _advance(self, i: int) -> list[Request]:
        """Step env ``i`` in AEC order while completions allow; return its new requests."""
        env, buffer = self.envs[i], self._buffers[i]
        raw = env.unwrapped
        while env.agents:
            agent = env.agent_selection
            if env.terminations[agent] or env.truncations[agent]:
                env.step(None)
                continue
            if agent not in buffer:
                break
            apply_completion(env, *buffer.pop(agent))
        if not env.agents:
            return []
        member, group = i % self.group_size, i // self.group_size
        requests = [
            request_for(env, agent, index=i, group=group, member=member, policy=self._policy)
            for agent in raw.ready_agents()
            if agent not in buffer
        ]
        return requests
