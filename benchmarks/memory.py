"""Memory: peak memory and time of one whole GRPO update, rolegym's trainer against TRL's.

One update is the forward, the backward, gradient clipping and the optimizer step on a batch of
ready rows (no generation, no scoring), on the CPU, at several completion lengths. Both trainers
get, in the same run:

- The same model: a randomly initialised ``transformers`` Qwen3 with Qwen3's real vocabulary
  (151,936 tokens, tied embeddings) and a few small layers, float32, built twice from the same
  seed (:func:`build_model`: ``torch.random.fork_rng`` + ``torch.manual_seed``, the global RNG
  left alone). The micro character tokenizer padded to that vocabulary
  (:func:`rolegym.baselines.micro.build_tokenizer`).
- The same LoRA adapters: r=16, alpha=32, no dropout, on all linear layers (PEFT's
  ``"all-linear"``: not the LM head), initialised under the same seed (rolegym seeds its
  adapter initialisation; TRL's ``get_peft_model`` runs under the same seed here). The initial
  weights' hashes of both sides are compared (``same_initial_weights``).
- The same rows: ``rows_per_update`` completions of exactly ``length`` random token ids after a
  ``prompt_length``-token random prompt (a seeded ``torch.Generator``), advantages alternating
  +1/-1. rolegym gets :class:`rolegym.baselines.grpo.rows.Row` objects; TRL its input dict
  (``prompt_ids``, ``prompt_mask``, ``completion_ids``, ``completion_mask``, ``advantages``,
  ``num_items_in_batch``: no padding, so the masks are all ones), built the way
  ``tests/baselines/test_trl_parity.py`` feeds TRL's loss. Each side hashes what it was handed
  (the unmasked ids and the advantages) and the hashes must agree (``same_rows``).
- The same settings: ``loss_type`` (``"grpo"``), ``beta=0``, one iteration (the old
  log-probabilities are the detached current ones on both sides), clip range 0.2/0.28,
  temperature 1.0, one micro-batch (``per_device_train_batch_size = rows_per_update``), AdamW
  with the same learning rate, betas, epsilon and weight decay, gradient clipping at 1.0,
  gradient (activation) checkpointing on or off on both (``gradient_checkpointing``), the same
  torch thread count.

rolegym's update is one :meth:`rolegym.baselines.grpo.trainer.GRPOTrainer.update` call (prepare,
forward/backward agent by agent, per-learner clipping and optimizer step), with
``diagnostics=False``; ``diagnostics=True`` is measured too (``rolegym+diagnostics``). Its
trainer gets ``gradient_checkpointing`` only once its ``GRPOConfig`` has that field (recorded as
``supports_gradient_checkpointing``). TRL's update is what ``Trainer``'s loop does in one step
with one micro-batch: ``loss = trainer.compute_loss(model, inputs)`` (``_compute_loss``, whose
``_get_per_token_logps_and_entropies`` calls the model with TRL's fused, chunked LM head),
``loss.backward()``, ``torch.nn.utils.clip_grad_norm_`` at 1.0, ``optimizer.step()``,
``optimizer.zero_grad(set_to_none=True)``, with the model in training mode (as ``Trainer``
leaves it). Its optimizer is a plain ``torch.optim.AdamW`` over the trainable parameters, the
same class and settings as each rolegym learner's, rather than ``Trainer.create_optimizer``'s
pick (which may be another AdamW implementation), so that only the forward/backward path
differs. TRL's ``GRPOTrainer`` is constructed as usual (a dummy reward function and a tiny
dataset) with ``use_cpu``, bf16/fp16 off and ``gradient_checkpointing`` (and its new name
``activation_checkpointing``) set from the config. transformers 5 switches checkpointing on in
``Trainer.train()``, not in ``__init__``, so the script makes ``train()``'s
``activation_checkpointing_enable`` call itself, with the same arguments, when ``__init__`` left
it off (``checkpointing_enabled_by_init``); whether the model has it on is recorded.

What really ran is counted during each measured update, on both sides: the calls of the first
decoder layer's attention module (a forward pre-hook; one per micro-batch, two when
checkpointing recomputes the layer in the backward: ``checkpointing_ran``), the calls of the LM
head module (a plain head; a chunked head multiplies by its weight and never calls it:
``lm_head_calls``) and, on TRL's side, the model calls with ``fused_lm_head=True``
(``fused_head_calls``). On a CPU (no Triton) TRL's fused head scores every position, prompt
included, in tiles of up to 4,096 tokens x 32,768 vocabulary entries (512 MiB in float32), so
its peak grows with the tokens of the micro-batch up to 4,096 of them. The gradient norm before
clipping of each update is recorded on both sides (``grad_norms``); with the same weights and
rows they agree (``grad_norm_rel_diff``).

Each case (side x length) runs in a fresh process: this script re-runs itself with a hidden
``--case side:length`` argument (the config as JSON on stdin) and reads back one JSON line. The
child builds everything, then runs ``updates`` updates on the same rows, each measured alike:
``gc.collect()``, the resident set size (``VmRSS`` of ``/proc/self/status``) as baseline, the
peak reset by writing ``5`` to ``/proc/self/clear_refs``, the update (timed with
``time.perf_counter``), then the peak (``VmHWM``). An update's peak memory is ``VmHWM`` after it
minus ``VmRSS`` before it: what the update adds on top of the model, the optimizer's state so
far and the inputs. Where ``clear_refs`` is not writable, the child falls back to
``ru_maxrss`` (which cannot be reset, so only the first update's figure is sound) and says so
(``peak_method``). The reported peak is the largest of the updates' peaks; the reported time is
the last update's. By default a case measures one update (``updates=1``): the first, whose
peak includes the allocation of AdamW's state (LoRA-sized: a few MiB), as a training run's
first step does, on both sides alike. At these sizes an update takes seconds to minutes, and
the one-off costs of a first update (AdamW's state, oneDNN's kernel set-up, first page
faults) are well under a second: in a run with ``updates=2`` (512 and 1,024 tokens, two rows)
the second update's time was within the machine's noise of the first's and its peak 3-15%
lower on both sides. ``--updates 2`` (or more) measures warm updates too; every update's peak
and time is kept (``peaks_mib``, ``times_s``).

A child that runs out of memory says so (``error``) rather than bringing the machine down:
before the first update it caps its address space (``RLIMIT_AS``) at its current size plus the
memory available then less ``memory_headroom_gib`` (or plus ``memory_limit_gib``, if smaller),
so an allocation that does not fit fails inside torch and is reported, with the peak reached
so far as a lower bound (``peak_at_least_mib``).

Timing on a shared two-core machine is noisy: another process on a core stalls torch's
parallel regions when they use both cores (``threads=2``), so compare the time ratios of one
run, and rerun when the machine is busy.

Per length, the JSON has each side's peak (MiB) and time (s) and the ratios rolegym/TRL; per
side, a least-squares line of peak against completion length (MiB per 1,000 tokens and the
intercept, over the lengths that ran). Goal (issue): rolegym's peak <= 1.0x TRL's at every
length, and its update time <= 1.0x.

Run: ``python benchmarks/memory.py`` (options: ``--help``); the full default run takes several
minutes on two cores.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

import torch

SIDES = ("rolegym", "trl", "rolegym+diagnostics")
ENV_ID = "single-arith-v0"
CASE_FLAG = "--case"
GOAL = (
    "rolegym's peak memory of one whole update <= 1.0x TRL's at every completion length, "
    "and its update time <= 1.0x TRL's"
)


# ---------------------------------------------------------------------------- config
@dataclass
class Config:
    """Benchmark settings."""

    lengths: tuple[int, ...] = (512, 1024, 2048, 4096)
    """completion lengths in tokens (every completion of a case has exactly this many)"""
    rows_per_update: int = 4
    """completions per update (one micro-batch on both sides; at least 2, TRL's group)"""
    prompt_length: int = 64
    """prompt tokens of every row"""
    vocab_size: int = 151936
    """model (and padded tokenizer) vocabulary: Qwen3's"""
    hidden_size: int = 256
    """model width"""
    intermediate_size: int = 512
    """MLP width"""
    num_hidden_layers: int = 2
    """decoder layers"""
    num_attention_heads: int = 4
    """attention heads"""
    num_key_value_heads: int = 2
    """key/value heads"""
    head_dim: int = 64
    """attention head size"""
    tie_word_embeddings: bool = True
    """LM head tied to the input embeddings (Qwen3's small models)"""
    max_position_embeddings: int = 8192
    """model context"""
    lora_r: int = 16
    """LoRA rank, both sides"""
    lora_alpha: int = 32
    """LoRA alpha, both sides"""
    loss_type: Literal["grpo", "dapo"] = "grpo"
    """GRPO loss reduction, both sides"""
    learning_rate: float = 1e-4
    """AdamW learning rate, both sides"""
    weight_decay: float = 0.0
    """AdamW weight decay, both sides"""
    gradient_checkpointing: bool = True
    """activation checkpointing on both sides (rolegym's only once its GRPOConfig has the field)"""
    diagnostics: bool = True
    """also measure rolegym with diagnostics=True"""
    updates: int = 1
    """measured updates per case on the same rows (peak: the largest; time: the last)"""
    threads: int = 2
    """torch CPU threads of every case"""
    seed: int = 0
    """seed of the weights, adapters and rows"""
    memory_headroom_gib: float = 2.0
    """a case may use the memory available when it starts less this much (RLIMIT_AS)"""
    memory_limit_gib: float = 0.0
    """if > 0: a case may use at most this much on top of what it holds before updating"""
    case_timeout_s: float = 3600.0
    """wall-clock limit of one case's process"""
    out: Path = Path(__file__).parent / "results" / "memory.json"
    """where to write the JSON result"""


# ---------------------------------------------------------------------------- memory
def _status() -> dict[str, int]:
    """``VmRSS``, ``VmHWM`` and ``VmSize`` of this process, in KiB."""
    text = Path("/proc/self/status").read_text()
    out = {}
    for key in ("VmRSS", "VmHWM", "VmSize"):
        match = re.search(rf"^{key}:\s+(\d+)\s+kB", text, re.MULTILINE)
        out[key] = int(match.group(1)) if match else 0
    return out


def _mem_available_kib() -> int:
    """``MemAvailable`` of ``/proc/meminfo`` in KiB (0 if unknown)."""
    match = re.search(r"^MemAvailable:\s+(\d+)\s+kB", Path("/proc/meminfo").read_text(), re.M)
    return int(match.group(1)) if match else 0


def _reset_peak() -> bool:
    """Reset this process's peak RSS (``VmHWM``); False where ``clear_refs`` is not writable."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return _status()["VmHWM"] <= _status()["VmRSS"] + 1024  # it really was reset


def _cap_address_space(headroom_gib: float, limit_gib: float = 0.0) -> int | None:
    """Cap the address space at its current size plus a budget.

    Args:
        headroom_gib: The budget is the memory available now less this much.
        limit_gib: If positive, the budget is at most this much.

    Returns:
        The cap in MiB, or ``None`` when none could be set.
    """
    budget = _mem_available_kib() - int(headroom_gib * 2**20)
    if limit_gib > 0:
        budget = min(budget, int(limit_gib * 2**20))
    if budget <= 0:
        return None
    limit = (_status()["VmSize"] + budget) * 1024
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        return None
    return limit // 2**20


class _Counter:
    """Counts calls of a module (a forward pre-hook that keeps no tensor).

    A pre-hook, not a forward hook: a non-reentrant checkpoint's recompute stops as soon as the
    saved tensors are back, which can be inside a module's forward, before its forward hooks.
    """

    def __init__(self, module: torch.nn.Module) -> None:
        self.calls = 0
        module.register_forward_pre_hook(self._hook)

    def _hook(self, module: torch.nn.Module, args: Any) -> None:
        self.calls += 1


# ---------------------------------------------------------------------------- model, rows
def build_model(cfg: Config, tokenizer: Any) -> torch.nn.Module:
    """The random Qwen3-shaped model of ``cfg``, float32, seeded (global RNG left alone).

    Args:
        cfg: The settings (model fields and seed).
        tokenizer: Its tokenizer (pad and EOS ids).

    Returns:
        The model, in eval mode (as ``from_pretrained`` and the micro models leave one).
    """
    from transformers import Qwen3Config, Qwen3ForCausalLM

    config = Qwen3Config(
        vocab_size=cfg.vocab_size,
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_hidden_layers,
        num_attention_heads=cfg.num_attention_heads,
        num_key_value_heads=cfg.num_key_value_heads,
        head_dim=cfg.head_dim,
        tie_word_embeddings=cfg.tie_word_embeddings,
        max_position_embeddings=cfg.max_position_embeddings,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = Qwen3ForCausalLM(config)
    return model.to(torch.float32).eval()


def row_tokens(cfg: Config, length: int) -> list[tuple[list[int], list[int], float]]:
    """Every row's (prompt ids, completion ids, advantage), from a seeded generator.

    Ids are drawn above the micro tokenizer's four special tokens and below the vocabulary
    size; advantages alternate +1/-1.
    """
    gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + length)
    low = 4  # <pad>, <unk>, <|im_start|>, <|im_end|>
    prompts = torch.randint(
        low, cfg.vocab_size, (cfg.rows_per_update, cfg.prompt_length), generator=gen
    )
    completions = torch.randint(low, cfg.vocab_size, (cfg.rows_per_update, length), generator=gen)
    return [
        (prompts[i].tolist(), completions[i].tolist(), 1.0 if i % 2 == 0 else -1.0)
        for i in range(cfg.rows_per_update)
    ]


def rows_hash(rows: list[tuple[list[int], list[int], float]]) -> str:
    """A hash of rows' (prompt ids, completion ids, advantage)."""
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]


def weights_hash(model: torch.nn.Module) -> str:
    """A hash of every parameter's values, in module order (adapter names left out)."""
    h = hashlib.sha256()
    for p in model.parameters():
        h.update(memoryview(p.detach().contiguous().view(-1).numpy()).cast("B"))
    return h.hexdigest()[:16]


def _activation_checkpointing(model: torch.nn.Module) -> bool:
    """Whether a (PEFT-wrapped) transformers model has activation checkpointing switched on."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # is_gradient_checkpointing is a deprecated alias
        for name in ("is_activation_checkpointing", "is_gradient_checkpointing"):
            if hasattr(base, name):
                return bool(getattr(base, name))
    return False


# ---------------------------------------------------------------------------- sides
class _Side:
    """One trainer set up for a case: ``update()`` runs one whole update."""

    model: torch.nn.Module  # the base transformers model (its layers and LM head)
    handed_hash: str
    initial_weights_hash: str
    info: dict[str, Any]

    def update(self) -> dict[str, float]:
        """One update; returns ``{"grad_norm": ..., "loss": ...}``."""
        raise NotImplementedError


class _Rolegym(_Side):
    """rolegym's ``GRPOTrainer`` on ready rows."""

    def __init__(self, cfg: Config, length: int, diagnostics: bool, tmp: Path) -> None:
        from rolegym.baselines.grpo.config import GRPOConfig
        from rolegym.baselines.grpo.rows import Row
        from rolegym.baselines.grpo.trainer import GRPOTrainer
        from rolegym.baselines.micro import build_tokenizer

        tokenizer = build_tokenizer(vocab_size=cfg.vocab_size)
        self.model = build_model(cfg, tokenizer)
        supported = {f.name for f in dataclasses.fields(GRPOConfig)}
        extra: dict[str, Any] = {}
        if "gradient_checkpointing" in supported:
            extra["gradient_checkpointing"] = cfg.gradient_checkpointing
        config = GRPOConfig(
            env_id=ENV_ID,
            model_name_or_path="micro:qwen3",
            policy="shared",
            use_peft=True,
            lora_r=cfg.lora_r,
            lora_alpha=cfg.lora_alpha,
            lora_dropout=0.0,
            lora_target_modules="all-linear",
            torch_dtype="float32",
            device="cpu",
            engine="hf",
            num_generations=cfg.rows_per_update,
            tasks_per_step=1,
            temperature=1.0,
            max_completion_length=length,
            scale_rewards="none",
            loss_type=cfg.loss_type,
            epsilon=0.2,
            epsilon_high=0.28,
            beta=0.0,
            num_iterations=1,
            learning_rate=cfg.learning_rate,
            weight_decay=cfg.weight_decay,
            adam_beta1=0.9,
            adam_beta2=0.999,
            adam_epsilon=1e-8,
            max_grad_norm=1.0,
            lr_scheduler_type="constant",
            max_steps=cfg.updates,
            per_device_train_batch_size=cfg.rows_per_update,
            diagnostics=diagnostics,
            eval_steps=0,
            eval_on_start=False,
            save_steps=0,
            logging_steps=0,
            disable_tqdm=True,
            output_dir=str(tmp),
            seed=cfg.seed,
            **extra,
        )
        self.trainer = GRPOTrainer(config, model=self.model, tokenizer=tokenizer)
        role = next(r for r in self.trainer.roles if self.trainer.policies.learner_name(r))
        agent = next(a for a, r in self.trainer.role_of_agent.items() if r == role)
        self.learner = str(self.trainer.policies.learner_name(role))
        tokens = row_tokens(cfg, length)
        self.rows = [
            Row(
                prompt_ids=p,
                completion_ids=c,
                truncated=False,
                reward=a,
                advantage=a,
                role=role,
                agent=agent,
                learner=self.learner,
                group=("task-0", agent, 0),
            )
            for p, c, a in tokens
        ]
        self.handed_hash = rows_hash(
            [(r.prompt_ids, r.completion_ids, r.advantage) for r in self.rows]
        )
        self.initial_weights_hash = weights_hash(self.trainer.policies.peft_model)
        self.info = {
            "supports_gradient_checkpointing": "gradient_checkpointing" in supported,
            "activation_checkpointing_enabled": _activation_checkpointing(
                self.trainer.policies.peft_model
            ),
            "diagnostics": diagnostics,
            "trainable_params": sum(p.numel() for p in self.trainer.policies.parameters()),
        }

    def update(self) -> dict[str, float]:
        metrics = self.trainer.update(self.rows)
        return {
            "grad_norm": float(metrics[f"learner/{self.learner}/grad_norm"]),
            "loss": float(metrics["loss"]),
        }


def _checkpointing_as_trainer_train(trainer: Any) -> None:
    """Switch on activation checkpointing as ``Trainer.train`` does before its loop.

    transformers 5 enables it in ``train()``, not in ``Trainer.__init__``; an update driven
    without ``train()`` has to make the same call (with the same keyword arguments).
    """
    args = trainer.args
    kwargs = dict(
        getattr(args, "activation_checkpointing_kwargs", None)
        or args.gradient_checkpointing_kwargs
        or {}
    )
    every_n_layers, offload = kwargs.pop("every_n_layers", 1), kwargs.pop("offload", False)
    model = trainer.model
    if hasattr(model, "activation_checkpointing_enable"):
        model.activation_checkpointing_enable(
            activation_checkpointing_kwargs=kwargs or None,
            every_n_layers=every_n_layers,
            offload=offload,
        )
    else:  # transformers 4: Trainer.__init__ already did it
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs or None)


def _zero_reward(completions: list[Any], **kwargs: Any) -> list[float]:
    """TRL's dummy reward (never called: the update gets ready inputs)."""
    return [0.0] * len(completions)


class _TRL(_Side):
    """TRL's ``GRPOTrainer``: ``compute_loss``, backward, clipping, AdamW step on ready inputs."""

    def __init__(self, cfg: Config, length: int, tmp: Path) -> None:
        from datasets import Dataset
        from peft import LoraConfig
        from trl import GRPOConfig, GRPOTrainer

        from rolegym.baselines.micro import build_tokenizer

        tokenizer = build_tokenizer(vocab_size=cfg.vocab_size)
        self.model = build_model(cfg, tokenizer)
        fields = {f.name for f in dataclasses.fields(GRPOConfig)}
        checkpointing = {"gradient_checkpointing": cfg.gradient_checkpointing}
        if "activation_checkpointing" in fields:  # transformers 5's name; the old one mirrors it
            checkpointing["activation_checkpointing"] = cfg.gradient_checkpointing
        args = GRPOConfig(
            output_dir=str(tmp),
            use_cpu=True,
            bf16=False,
            fp16=False,
            report_to="none",
            save_strategy="no",
            disable_tqdm=True,
            logging_steps=1,
            max_steps=cfg.updates,
            per_device_train_batch_size=cfg.rows_per_update,
            gradient_accumulation_steps=1,
            num_generations=cfg.rows_per_update,
            max_completion_length=length,
            temperature=1.0,
            learning_rate=cfg.learning_rate,
            weight_decay=cfg.weight_decay,
            adam_beta1=0.9,
            adam_beta2=0.999,
            adam_epsilon=1e-8,
            max_grad_norm=1.0,
            lr_scheduler_type="constant",
            warmup_steps=0,
            loss_type=cfg.loss_type,
            scale_rewards="none",
            beta=0.0,
            num_iterations=1,
            epsilon=0.2,
            epsilon_high=0.28,
            seed=cfg.seed,
            log_completions=False,
            dataloader_num_workers=0,
            **checkpointing,
        )
        lora = LoraConfig(
            task_type="CAUSAL_LM",
            r=cfg.lora_r,
            lora_alpha=cfg.lora_alpha,
            lora_dropout=0.0,
            target_modules="all-linear",
        )
        dataset = Dataset.from_dict({"prompt": ["x"] * cfg.rows_per_update})
        with warnings.catch_warnings(), torch.random.fork_rng(devices=[]):
            warnings.simplefilter("ignore")
            torch.manual_seed(cfg.seed)  # the adapters' initialisation, as rolegym seeds it
            self.trainer = GRPOTrainer(
                model=self.model,
                reward_funcs=_zero_reward,
                args=args,
                train_dataset=dataset,
                processing_class=tokenizer,
                peft_config=lora,
            )
        trainer = self.trainer
        self.info = {"checkpointing_enabled_by_init": _activation_checkpointing(trainer.model)}
        if args.gradient_checkpointing and not self.info["checkpointing_enabled_by_init"]:
            _checkpointing_as_trainer_train(trainer)
        trainer.model.train()  # what Trainer's loop does before its first step
        trainer.current_gradient_accumulation_steps = 1  # what Trainer's loop sets each step
        self.params = [p for p in trainer.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(
            self.params,
            lr=cfg.learning_rate,
            betas=(0.9, 0.999),
            eps=1e-8,
            weight_decay=cfg.weight_decay,
        )
        self.fused_calls = 0
        base = trainer.model.get_base_model()
        fused_forward = base.forward  # TRL's patched forward (add_fused_lm_head)

        def counting_forward(*a: Any, **k: Any) -> Any:
            self.fused_calls += bool(k.get("fused_lm_head"))
            return fused_forward(*a, **k)

        base.forward = counting_forward
        tokens = row_tokens(cfg, length)
        prompt_ids = torch.tensor([p for p, _, _ in tokens])
        completion_ids = torch.tensor([c for _, c, _ in tokens])
        completion_mask = torch.ones_like(completion_ids)
        self.inputs = {
            "prompt_ids": prompt_ids,
            "prompt_mask": torch.ones_like(prompt_ids),
            "completion_ids": completion_ids,
            "completion_mask": completion_mask,
            "advantages": torch.tensor([a for _, _, a in tokens], dtype=torch.float32),
            "num_items_in_batch": completion_mask.sum(),
        }
        handed = [
            (ids[m.bool()].tolist(), cids[cm.bool()].tolist(), float(adv))
            for ids, m, cids, cm, adv in zip(
                self.inputs["prompt_ids"],
                self.inputs["prompt_mask"],
                self.inputs["completion_ids"],
                self.inputs["completion_mask"],
                self.inputs["advantages"],
                strict=True,
            )
        ]
        self.handed_hash = rows_hash(handed)
        self.initial_weights_hash = weights_hash(trainer.model)
        self.info |= {
            "activation_checkpointing_enabled": _activation_checkpointing(trainer.model),
            "activation_checkpointing_kwargs": getattr(
                args, "activation_checkpointing_kwargs", args.gradient_checkpointing_kwargs
            ),
            "optimizer": "torch.optim.AdamW over the trainable parameters (as rolegym's)",
            "trainable_params": sum(p.numel() for p in self.params),
        }

    def update(self) -> dict[str, float]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loss = self.trainer.compute_loss(self.trainer.model, self.inputs)
            loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return {"grad_norm": float(norm), "loss": float(loss.detach())}


# ---------------------------------------------------------------------------- one case
def run_case(cfg: Config, side: str, length: int) -> dict[str, Any]:
    """Build one side at one length in this process and measure ``cfg.updates`` updates.

    Args:
        cfg: The settings.
        side: One of :data:`SIDES`.
        length: The completion length.

    Returns:
        The case's figures (see the module docstring).
    """
    torch.set_num_threads(cfg.threads)
    result: dict[str, Any] = {"case": f"{side}:{length}", "side": side, "length": length}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if side == "trl":
            runner: _Side = _TRL(cfg, length, Path(tmp))
        else:
            runner = _Rolegym(cfg, length, side.endswith("+diagnostics"), Path(tmp))
        result["build_s"] = time.perf_counter() - start
        result["rows_hash"] = runner.handed_hash
        result["initial_weights_hash"] = runner.initial_weights_hash
        result["info"] = runner.info
        # a submodule of the first layer: transformers 5 checkpoints a layer's forward, not its
        # __call__, so the layer's own hooks do not see the recompute, its submodules' do
        layer = _Counter(runner.model.model.layers[0].self_attn)
        head = _Counter(runner.model.get_output_embeddings())
        resettable = _reset_peak()
        result["peak_method"] = (
            "VmHWM after - VmRSS before, VmHWM reset via /proc/self/clear_refs"
            if resettable
            else "ru_maxrss after - VmRSS before (clear_refs not writable: cannot be reset, "
            "only the first update's figure is sound)"
        )
        cap = _cap_address_space(cfg.memory_headroom_gib, cfg.memory_limit_gib)
        result["address_space_cap_mib"] = cap
        peaks, times, baselines, norms, losses, layer_calls, head_calls = [], [], [], [], [], [], []
        for _ in range(cfg.updates):
            gc.collect()
            layer.calls = head.calls = 0
            before = _status()["VmRSS"]
            if resettable:
                _reset_peak()
            t0 = time.perf_counter()
            try:
                out = runner.update()
            except (MemoryError, RuntimeError) as exc:
                if not isinstance(exc, MemoryError) and "memory" not in str(exc).lower():
                    raise
                hwm = (
                    _status()["VmHWM"]
                    if resettable
                    else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                )
                result["error"] = f"out of memory: {str(exc).splitlines()[0][:200]}"
                result["peak_at_least_mib"] = (hwm - before) / 1024
                break
            times.append(time.perf_counter() - t0)
            hwm = (
                _status()["VmHWM"]
                if resettable
                else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            )
            peaks.append((hwm - before) / 1024)
            baselines.append(before / 1024)
            norms.append(out["grad_norm"])
            losses.append(out["loss"])
            layer_calls.append(layer.calls)
            head_calls.append(head.calls)
        result |= {
            "peaks_mib": peaks,
            "times_s": times,
            "baseline_rss_mib": baselines,
            "grad_norms": norms,
            "losses": losses,
            "layer0_attention_calls": layer_calls,
            "lm_head_calls": head_calls,
        }
        if isinstance(runner, _TRL):
            result["fused_head_calls"] = runner.fused_calls
        if peaks and "error" not in result:
            result["peak_mib"] = max(peaks)
            result["time_s"] = times[-1]
            result["checkpointing_ran"] = layer_calls[-1] > 1  # one micro-batch
    result["wall_s"] = time.perf_counter() - start
    return result


def _child_env(cfg: Config) -> dict[str, str]:
    """The environment of a case's process: the thread count, quiet libraries."""
    env = dict(os.environ)
    threads = str(cfg.threads)
    env |= {
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "TOKENIZERS_PARALLELISM": "false",
        "TRANSFORMERS_VERBOSITY": "error",
        "PYTHONWARNINGS": "ignore",
    }
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def spawn_case(cfg: Config, side: str, length: int) -> dict[str, Any]:
    """Run one case in a fresh process (this script with ``--case``) and read its JSON line."""
    payload = json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()})
    try:
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), CASE_FLAG, f"{side}:{length}"],
            input=payload,
            capture_output=True,
            text=True,
            env=_child_env(cfg),
            timeout=cfg.case_timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"case": f"{side}:{length}", "error": f"timed out after {cfg.case_timeout_s} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            try:
                result = json.loads(line)
            except json.JSONDecodeError:
                continue
            if result.get("case") == f"{side}:{length}":
                return result
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
    return {"case": f"{side}:{length}", "error": f"exit {proc.returncode}: " + " | ".join(tail)}


# ---------------------------------------------------------------------------- figures
def fit_line(xs: list[float], ys: list[float]) -> dict[str, float] | None:
    """Least-squares ``y = slope * x + intercept``; ``None`` with fewer than two points."""
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    return {"slope": slope, "intercept": my - slope * mx}


def _machine() -> dict[str, Any]:
    """Versions and hardware of this run."""
    cpu = ""
    try:
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = match.group(1).strip() if match else ""
    except OSError:
        pass
    mem = re.search(r"^MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text(), re.M)
    out = {
        "python": platform.python_version(),
        "processor": platform.machine(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "mem_total_gib": int(mem.group(1)) / 2**20 if mem else None,
        "torch": torch.__version__,
    }
    for package in ("transformers", "trl", "peft"):
        out[package] = version(package)
    return out


def main(cfg: Config) -> dict[str, Any]:
    """Run every case in its own process, then write and print the figures."""
    if cfg.rows_per_update < 2:
        raise ValueError("rows_per_update must be >= 2 (TRL's GRPO group)")
    if cfg.updates < 1 or not cfg.lengths:
        raise ValueError("updates must be >= 1 and lengths not empty")
    sides = [s for s in SIDES if cfg.diagnostics or s != "rolegym+diagnostics"]
    start = time.perf_counter()
    cases: dict[int, dict[str, dict[str, Any]]] = {}
    for length in cfg.lengths:
        cases[length] = {}
        for side in sides:
            case = spawn_case(cfg, side, length)
            cases[length][side] = case
            if "error" in case:
                print(f"{side:20s} {length:6d} tokens: {case['error']}")
            else:
                print(
                    f"{side:20s} {length:6d} tokens: peak {case['peak_mib']:9.1f} MiB, "
                    f"{case['time_s']:7.2f} s/update"
                )

    ok = [c for per in cases.values() for c in per.values() if "error" not in c]
    same_rows = all(
        len({c.get("rows_hash") for c in per.values()}) == 1
        and all(c.get("rows_hash") for c in per.values())
        for per in cases.values()
    )
    weights = {c.get("initial_weights_hash") for per in cases.values() for c in per.values()}
    same_weights = len(weights) == 1 and None not in weights
    per_length: dict[str, Any] = {}
    for length, per in cases.items():
        ours, peer = per["rolegym"], per["trl"]
        row: dict[str, Any] = {side: per[side] for side in sides}
        if "error" not in ours and "error" not in peer:
            row["peak_ratio"] = ours["peak_mib"] / peer["peak_mib"]
            row["time_ratio"] = ours["time_s"] / peer["time_s"]
            row["within_goal"] = row["peak_ratio"] <= 1.0 and row["time_ratio"] <= 1.0
            pairs = zip(ours["grad_norms"], peer["grad_norms"], strict=False)
            diffs = [abs(a - b) / max(abs(b), 1e-12) for a, b in pairs]
            row["grad_norm_rel_diff"] = max(diffs) if diffs else None
        else:
            row["within_goal"] = False
        per_length[str(length)] = row
    slopes = {}
    for side in sides:
        points = [(float(n), cases[n][side]) for n in cfg.lengths if "error" not in cases[n][side]]
        peak = fit_line([n for n, _ in points], [c["peak_mib"] for _, c in points])
        secs = fit_line([n for n, _ in points], [c["time_s"] for _, c in points])
        slopes[side] = {
            "lengths": [int(n) for n, _ in points],
            "peak_mib_per_1k_tokens": peak["slope"] * 1000 if peak else None,
            "peak_intercept_mib": peak["intercept"] if peak else None,
            "seconds_per_1k_tokens": secs["slope"] * 1000 if secs else None,
            "seconds_intercept": secs["intercept"] if secs else None,
        }
    trl_case = next((c for c in ok if c.get("side") == "trl"), {})
    results: dict[str, Any] = {
        "benchmark": "memory",
        "goal": GOAL,
        "within_goal": all(r["within_goal"] for r in per_length.values()),
        "update": "one whole update on ready rows: forward, backward, clipping, optimizer step "
        "(no generation); each case in a fresh process",
        "peak": "VmHWM after the update - VmRSS before it (peak reset via /proc/self/clear_refs);"
        " the largest over the case's updates",
        "time": "wall time of the case's last update (time.perf_counter); with updates=1 the first",
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "machine": _machine(),
        "same_rows": same_rows,
        "same_initial_weights": same_weights,
        "trl_fused_head_ran": bool(trl_case.get("fused_head_calls")),
        "trl_checkpointing_enabled": trl_case.get("info", {}).get(
            "activation_checkpointing_enabled"
        ),
        "wall_s": time.perf_counter() - start,
        "lengths": per_length,
        "fit": slopes,
    }
    _print_table(results, sides)
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    cfg.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {cfg.out}")
    return results


def _print_table(results: dict[str, Any], sides: list[str]) -> None:
    """The per-length table, the fits and the checks."""

    def cell(case: dict[str, Any], key: str, fmt: str) -> str:
        width = fmt.split(".")[0]
        return format("error", f">{width}") if "error" in case else format(case[key], fmt)

    head = f"{'length':>7} | " + " | ".join(f"{s + ' MiB':>24} {'s':>7}" for s in sides)
    print(head + " | peak x | time x | ckpt r/t")
    for length, row in results["lengths"].items():
        parts = [
            f"{cell(row[s], 'peak_mib', '24.1f')} {cell(row[s], 'time_s', '7.2f')}" for s in sides
        ]
        ckpt = "/".join(str(row[s].get("checkpointing_ran", "-"))[0] for s in ("rolegym", "trl"))
        ratios = (
            f"{row['peak_ratio']:6.2f} | {row['time_ratio']:6.2f}"
            if "peak_ratio" in row
            else f"{'-':>6} | {'-':>6}"
        )
        print(f"{length:>7} | " + " | ".join(parts) + f" | {ratios} | {ckpt}")
    for side, fit in results["fit"].items():
        if fit["peak_mib_per_1k_tokens"] is not None:
            print(
                f"fit {side:20s} peak {fit['peak_mib_per_1k_tokens']:8.1f} MiB/1k tokens + "
                f"{fit['peak_intercept_mib']:8.1f} MiB; time {fit['seconds_per_1k_tokens']:.2f}"
                f" s/1k tokens"
            )
    checks = (
        "same_rows",
        "same_initial_weights",
        "trl_fused_head_ran",
        "trl_checkpointing_enabled",
        "within_goal",
    )
    print(", ".join(f"{k}: {results[k]}" for k in checks))


def _case_main(spec: str) -> None:
    """The hidden ``--case side:length`` entry point: config JSON on stdin, one JSON line out."""
    data = json.loads(sys.stdin.read())
    data["lengths"] = tuple(data["lengths"])
    data["out"] = Path(data["out"])
    cfg = Config(**data)
    side, _, length = spec.rpartition(":")
    if side not in SIDES:
        raise SystemExit(f"unknown side {side!r}; sides: {SIDES}")
    result = run_case(cfg, side, int(length))
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == CASE_FLAG:
        _case_main(sys.argv[2])
    else:
        import tyro

        main(tyro.cli(Config))
