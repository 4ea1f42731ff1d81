"""``arollout``: an asyncio driver for HTTP inference servers.

Each episode runs its own AEC loop in a coroutine and asks for all its ready agents at once;
requests across episodes run concurrently, bounded by ``max_concurrency``, so a server with
continuous batching (for example ``vllm serve``) stays busy and long episodes do not hold up
short ones. Environment steps, which may verify code in a sandbox, run in a thread
(``asyncio.to_thread``) and never block the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pettingzoo import AECEnv

from rolegym.envs.episode import Episode
from rolegym.registration import make
from rolegym.rollout.envstep import PolicyMap, apply_completion, request_for, router
from rolegym.rollout.types import Completion, Request, group_seed
from rolegym.tasks.base import Task

__all__ = ["arollout"]

AsyncPolicy = Callable[[Request], Awaitable[Completion | str]]


async def arollout(
    env: str | Callable[[], AECEnv],
    policy: AsyncPolicy,
    *,
    num_groups: int = 1,
    group_size: int = 1,
    seed: int = 0,
    tasks: Sequence[Task | str] | None = None,
    max_concurrency: int | None = None,
    policy_map: PolicyMap = None,
    **env_kwargs: Any,
) -> list[Episode]:
    """Run ``num_groups * group_size`` episodes concurrently.

    Args:
        env: An env id (with ``env_kwargs``) or a factory.
        policy: ``async (request) -> completion``, for example an OpenAI-compatible client.
        num_groups: Groups of episodes (each group shares a task).
        group_size: Episodes per group.
        seed: Group ``g`` draws its task with seed ``group_seed(seed, g)``.
        tasks: One task (or task id) per group instead.
        max_concurrency: Most requests in flight at once (``None``: unbounded).
        policy_map: Role -> policy id.
        **env_kwargs: Passed to :func:`rolegym.make` when ``env`` is an id.

    Returns:
        The episodes, group by group, in order.
    """
    if tasks is not None and len(tasks) != num_groups:
        raise ValueError(f"give one task per group ({num_groups}), got {len(tasks)}")
    factory = (lambda: make(env, **env_kwargs)) if isinstance(env, str) else env
    route = router(policy_map)
    gate = asyncio.Semaphore(max_concurrency) if max_concurrency else None

    async def ask(request: Request) -> Completion:
        if gate is None:
            out = await policy(request)
        else:
            async with gate:
                out = await policy(request)
        return out if isinstance(out, Completion) else Completion(text=out)

    async def prepare(group: int) -> list[AECEnv]:
        """Reset the group's environments on one task."""
        envs = [factory() for _ in range(group_size)]
        choice = tasks[group] if tasks is not None else None
        if isinstance(choice, Task):
            first_options: dict[str, Any] | None = {"task": choice}
        else:
            first_options = {"task_id": choice} if choice is not None else None
        await asyncio.to_thread(envs[0].reset, seed=group_seed(seed, group), options=first_options)
        task = envs[0].unwrapped.task
        for env in envs[1:]:
            await asyncio.to_thread(env.reset, seed=group_seed(seed, group), options={"task": task})
        return envs

    async def play(env: AECEnv, index: int, group: int, member: int) -> Episode:
        raw = env.unwrapped
        while env.agents:
            agent = env.agent_selection
            if env.terminations[agent] or env.truncations[agent]:
                env.step(None)
                continue
            requests = [
                request_for(env, a, index=index, group=group, member=member, policy=route)
                for a in raw.ready_agents()
            ]
            completions = await asyncio.gather(*(ask(r) for r in requests))
            for request, completion in zip(requests, completions, strict=True):
                while env.terminations[env.agent_selection] or env.truncations[env.agent_selection]:
                    env.step(None)  # skipped agents are dead-stepped where AEC order puts them
                if env.agent_selection != request.agent:  # ready_agents() broke its contract
                    raise RuntimeError(f"{request.agent} is not next; {env.agent_selection} is")
                await asyncio.to_thread(apply_completion, env, completion, request)
        return raw.episode

    prepared = await asyncio.gather(*(prepare(g) for g in range(num_groups)))
    runs = [
        play(env, g * group_size + m, g, m)
        for g, envs in enumerate(prepared)
        for m, env in enumerate(envs)
    ]
    return list(await asyncio.gather(*runs))
