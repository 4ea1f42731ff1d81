"""Helpers of the trainer tests: tiny CPU configurations (fixtures live in ``conftest.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHARS_REWARD = "rolegym.baselines.micro:answer_chars_reward"


def micro_config(tmp_path: Path, **overrides: Any) -> Any:
    """A seconds-long GRPO configuration on a micro model (no download, CPU)."""
    from rolegym.baselines.grpo.config import GRPOConfig

    options: dict[str, Any] = {
        "model_name_or_path": "micro:qwen3",
        "micro_hidden_size": 32,
        "use_peft": False,
        "env_id": "single-arith-v0",
        "reward_fn": CHARS_REWARD,
        "tasks_per_step": 2,
        "num_generations": 4,
        "max_completion_length": 6,
        "learning_rate": 3e-3,
        "weight_decay": 0.0,
        "scale_rewards": "none",
        "loss_type": "dapo",
        "max_steps": 2,
        "eval_steps": 0,
        "eval_on_start": False,
        "save_steps": 0,
        "disable_tqdm": True,
        "logging_steps": 0,
        "output_dir": str(tmp_path / "run"),
        "device": "cpu",
        "seed": 0,
    }
    options.update(overrides)
    return GRPOConfig(**options)


def step_rows(trainer: Any, step: int = 0, scale: str = "group") -> list[Any]:
    """The rows of training step ``step``'s rollout, rewarded with the micro character reward."""
    from rolegym.baselines.grpo.rows import build_rows
    from rolegym.baselines.micro import answer_chars_reward

    rows, _ = build_rows(
        trainer.rollout(step),
        learner_of=trainer.policies.learner_name,
        reward_fn=answer_chars_reward,
        tasks=[env.unwrapped.task for env in trainer.batch.envs],
        scale=scale,
    )
    return rows
