r"""TRL: train rolegym workflows with TRL's ``GRPOTrainer`` (TRL >= 1.16).

>>> from trl import GRPOConfig, GRPOTrainer
>>> from rolegym.integrations.trl import RolegymRollout, rolegym_reward
>>> rollout = RolegymRollout("voting-arith-v0")  # Shared-Policy: every role's turns
>>> trainer = GRPOTrainer(
...     model=model,
...     processing_class=tokenizer,
...     reward_funcs=rolegym_reward,
...     train_dataset=rollout.dataset(num_tasks=64, seed=0),
...     rollout_func=rollout,
...     args=GRPOConfig(num_generations=4, shuffle_dataset=False, ...),
... )

**Why ``rollout_func`` and not ``environment_factory``.** TRL's ``environment_factory`` gives
each rollout one conversation, in which the trained model calls the environment's methods as
tools; a multi-role episode is several conversations with different prompts (three voters who
never see each other, then an aggregator who sees them all), and the model has to write every
one of them. Behind tools, the other roles could only be played by something else. With
``rollout_func``, :class:`RolegymRollout` plays whole episodes with the model being trained and
returns each agent's conversation as its own sample, so every role's turns train the one
model (Shared-Policy), or only one role's do while the others are played by frozen players.

**Rows.** The dataset has one row per (task, learner agent), for example
``(task 17, generator_0) ... (task 17, aggregator_0)`` in Voting; its ``prompt`` is a JSON key
naming both. TRL repeats each row ``num_generations`` times; for every task in a generation
batch, :class:`RolegymRollout` plays ``num_generations`` episodes of that task and gives the
``k``-th copy of row ``(task, agent)`` the agent's conversation in episode ``k``. A GRPO group is
thus one agent of one task across ``num_generations`` episodes: the paper's ``task×agent``
grouping (the turns of a multi-turn agent, e.g. Eval-Opt's generator, form one sample). Keep a
task's rows in one generation batch (``shuffle_dataset=False``, which :meth:`dataset` orders
for, and a ``generation_batch_size`` that is a multiple of ``num_generations`` times the agents
per task), or each split-off row costs episodes of its own.

**Samples.** A sample's prompt is the agent's first prompt; its completion is the agent's
turns with, between them, what the environment said (``env_mask`` 0: TRL does not train on
those tokens). This needs a chat template under which a conversation's tokens extend its
earlier turns' (ChatML, Llama 3 and Qwen3 without thinking do); otherwise an error says so. An
agent that did not act in an episode (an Orch-Workers worker the orchestrator left unused)
gets an empty, fully masked completion and the mean reward of its group's other members, so
it moves neither the loss nor its group's baseline.

**Rewards.** Pass :func:`rolegym_reward` as the reward function: it returns each sample's
reward, which :class:`RolegymRollout` computed as the agent's AEC return (the mean of its
turns' rewards, ``reward_mode`` as the env's) or, with ``reward_fn``, the mean of
``reward_fn(episode, turn, task)`` over its turns (as ``rolegym train --reward_fn``).

Generation runs on the trainer's own model with :class:`rolegym.rollout.engines.HFEngine`
(``temperature`` and ``max_completion_length`` from the trainer's ``args``; each turn's cap is
``max_completion_length``); it does not use TRL's vLLM integration.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from rolegym.envs.episode import Episode, Turn
from rolegym.players import PlayerSpec, as_player
from rolegym.registration import make
from rolegym.rollout.batch import EpisodeBatch
from rolegym.rollout.engines.chat import chat_prompt_ids
from rolegym.rollout.types import Completion, Request, group_seed
from rolegym.tasks.base import Task

__all__ = ["RolegymRollout", "rolegym_reward"]

RewardFn = Callable[[Episode, Turn, Task], float]
_LEARNER, _FROZEN = "learner", "frozen"


def rolegym_reward(completions: Sequence[Any], rolegym_reward: Sequence[float], **_: Any) -> list:
    """The reward function to give ``GRPOTrainer``: each sample's reward from the rollout."""
    return [float(r) for r in rolegym_reward]


@dataclass(frozen=True)
class _Key:
    task_id: str
    agent: str


def _parse_key(prompt: Any) -> _Key:
    text = prompt if isinstance(prompt, str) else None
    try:
        data = json.loads(text) if text is not None else None
        return _Key(str(data["task_id"]), str(data["agent"]))
    except (TypeError, ValueError, KeyError) as e:
        raise ValueError(
            "RolegymRollout expects the prompts of its own dataset (RolegymRollout.dataset()): "
            f'JSON strings {{"task_id": ..., "agent": ...}}; got {prompt!r}'
        ) from e


class RolegymRollout:
    """A TRL ``rollout_func`` that plays rolegym episodes with the model being trained.

    Args:
        env_id: A registered env id (``rolegym.make`` builds it with ``env_kwargs``).
        learner: ``None`` (Shared-Policy: every role's turns are generated by, and train, the
            model) or a role name: only that role's agents are samples; the other roles are
            played by ``others``.
        others: Who plays the non-learner roles (a player spec, see :mod:`rolegym.players`:
            ``"oracle"``, a callable, a frozen engine, a role mapping). Ignored without
            ``learner``.
        reward_fn: ``fn(episode, turn, task) -> float`` (default: the env's rewards).
        enable_thinking: Passed to the chat template.
        seed: Seed of the episodes (each call draws its sampling seeds from it, the trainer's
            step and a call counter).
        **env_kwargs: Passed to :func:`rolegym.make`.
    """

    def __init__(
        self,
        env_id: str,
        *,
        learner: str | None = None,
        others: PlayerSpec = "oracle",
        reward_fn: RewardFn | None = None,
        enable_thinking: bool = False,
        seed: int = 0,
        **env_kwargs: Any,
    ) -> None:
        self.env_id = env_id
        self.env_kwargs = env_kwargs
        probe = make(env_id, **env_kwargs)
        raw = probe.unwrapped
        self.roles = sorted({raw.role(a) for a in raw.possible_agents})
        if learner is not None and learner not in self.roles:
            raise ValueError(f"{env_id} has no role {learner!r}; its roles: {self.roles}")
        self.learner = learner
        self.agents = [a for a in raw.possible_agents if learner is None or raw.role(a) == learner]
        self._tasks = raw.tasks
        self._others = None if learner is None else as_player(others, roles=self.roles, seed=seed)
        self.reward_fn = reward_fn
        self.enable_thinking = enable_thinking
        self.seed = seed
        self.calls = 0
        probe.close()

    # ------------------------------------------------------------------ dataset

    def dataset(
        self, num_tasks: int, *, seed: int = 0, task_ids: Sequence[str] | None = None
    ) -> Any:
        """A ``datasets.Dataset`` with one row per (task, learner agent), task by task.

        Args:
            num_tasks: How many tasks (drawn from the env's task source with ``seed``).
            seed: Seed of the draw.
            task_ids: Exactly these tasks instead.
        """
        from datasets import Dataset

        if task_ids is None:
            import numpy as np

            rng = np.random.default_rng(seed)
            n = len(self._tasks)
            picks = rng.choice(n, size=num_tasks, replace=num_tasks > n)
            task_ids = [self._tasks[int(i)].id for i in picks]
        rows = [
            {"prompt": json.dumps({"task_id": t, "agent": a}), "task_id": t, "agent": a}
            for t in task_ids
            for a in self.agents
        ]
        return Dataset.from_list(rows)

    # ------------------------------------------------------------------ rollout

    def __call__(self, prompts: Sequence[Any], trainer: Any) -> dict[str, Any]:
        """Play the episodes for ``prompts`` and return TRL's rollout dict."""
        from rolegym.rollout.engines.hf import HFEngine

        keys = [_parse_key(p) for p in prompts]
        g = int(trainer.num_generations if trainer.model.training else trainer.num_generations_eval)
        args = trainer.args
        model = trainer.accelerator.unwrap_model(trainer.model)
        engine = HFEngine(
            model,
            trainer.processing_class,
            max_new_tokens=int(args.max_completion_length),
            temperature=float(args.temperature),
            enable_thinking=self.enable_thinking,
        )
        task_ids = list(dict.fromkeys(k.task_id for k in keys))
        seed = group_seed(self.seed, int(trainer.state.global_step) * 1_000_003 + self.calls)
        self.calls += 1
        with _eval_mode(model):
            episodes = self._play(engine, task_ids, g, seed)
        by_task = {t: episodes[i * g : (i + 1) * g] for i, t in enumerate(task_ids)}
        copies: dict[_Key, int] = {}
        picked = []  # the k-th copy of a row gets the k-th episode of its task
        for key in keys:
            k = copies.get(key, 0)
            copies[key] = k + 1
            picked.append(by_task[key.task_id][k % g])
        built = [
            self._sample(ep, key.agent, trainer.processing_class)
            for key, ep in zip(keys, picked, strict=True)
        ]
        rewards = self._rewards(keys, built, picked)
        return {
            "prompt_ids": [s["prompt_ids"] for s in built],
            "completion_ids": [s["completion_ids"] for s in built],
            "logprobs": [s["logprobs"] for s in built],
            "env_mask": [s["env_mask"] for s in built],
            "rolegym_reward": rewards,
            "rolegym_correct": [float(bool(ep.correct)) for ep in picked],
        }

    def _play(self, engine: Any, task_ids: list[str], g: int, seed: int) -> list[Episode]:
        policy_map = None
        if self.learner is not None:
            learner = self.learner
            policy_map = {r: (_LEARNER if r == learner else _FROZEN) for r in self.roles}
        batch = EpisodeBatch(
            self.env_id, len(task_ids) * g, group_size=g, policy_map=policy_map, **self.env_kwargs
        )
        requests = batch.reset(seed=seed, tasks=task_ids)
        while requests:
            requests = batch.step(self._generate(engine, batch, requests))
        episodes = batch.episodes()
        for env in batch.envs:
            env.close()
        return episodes

    def _generate(self, engine: Any, batch: EpisodeBatch, requests: list[Request]) -> list[Any]:
        if self._others is None:
            return list(engine.generate(requests))
        out: list[Any] = [None] * len(requests)
        learner = [i for i, r in enumerate(requests) if r.policy_id == _LEARNER]
        generated = engine.generate([requests[i] for i in learner])
        for i, completion in zip(learner, generated, strict=True):
            out[i] = completion
        for i, r in enumerate(requests):
            if r.policy_id != _LEARNER:
                out[i] = Completion(text=self._others(batch.envs[r.env_index].unwrapped, r.agent))
        return out

    def _sample(self, episode: Episode, agent: str, tokenizer: Any) -> dict[str, Any]:
        turns = episode.turns_of(agent)
        if not turns:
            eos = tokenizer.eos_token_id
            return {
                "prompt_ids": [eos],
                "completion_ids": [eos],
                "logprobs": [0.0],
                "env_mask": [0],
                "turns": turns,
            }
        prompt = list(turns[0].extras["prompt_token_ids"])
        completion: list[int] = []
        logprobs: list[float] = []
        mask: list[int] = []
        for j, turn in enumerate(turns):
            if j:
                full = chat_prompt_ids(tokenizer, turn.messages, self.enable_thinking)
                running = prompt + completion
                if full[: len(running)] != running:
                    raise ValueError(
                        f"the chat template does not extend {agent}'s earlier turns token for "
                        "token, so its turns cannot form one sample; train single-turn roles, "
                        "or use a prefix-stable template (ChatML, Llama 3)"
                    )
                between = full[len(running) :]
                completion += between
                logprobs += [0.0] * len(between)
                mask += [0] * len(between)
            ids = list(turn.extras["completion_token_ids"])
            completion += ids
            logprobs += list(turn.extras.get("logprobs") or [0.0] * len(ids))
            mask += [1] * len(ids)
        if not completion:  # an empty turn that hit its cap at once
            completion, logprobs, mask = [tokenizer.eos_token_id], [0.0], [0]
        return {
            "prompt_ids": prompt,
            "completion_ids": completion,
            "logprobs": logprobs,
            "env_mask": mask,
            "turns": turns,
        }

    def _rewards(
        self, keys: list[_Key], built: list[dict[str, Any]], picked: list[Episode]
    ) -> list[float]:
        tasks = {k.task_id: self._tasks.get(k.task_id) for k in keys}
        raw: list[float | None] = []
        for key, sample, episode in zip(keys, built, picked, strict=True):
            turns = sample["turns"]
            if not turns:
                raw.append(None)
            elif self.reward_fn is None:
                raw.append(float(episode.returns.get(key.agent, 0.0)))
            else:
                vals = [float(self.reward_fn(episode, t, tasks[key.task_id])) for t in turns]
                raw.append(sum(vals) / len(vals))
        # An agent that did not act takes its group's mean: it moves no baseline.
        out = []
        for key, r in zip(keys, raw, strict=True):
            if r is None:
                peers = [x for kk, x in zip(keys, raw, strict=True) if kk == key and x is not None]
                r = sum(peers) / len(peers) if peers else 0.0
            out.append(r)
        return out


@contextlib.contextmanager
def _eval_mode(model: Any) -> Iterator[None]:
    """Generate in eval mode (dropout off, key/value cache allowed), then restore the mode."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)
