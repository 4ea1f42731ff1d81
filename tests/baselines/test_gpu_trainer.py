"""GPU paths of the trainer: vLLM rollouts with versioned LoRA adapters, CUDA updates.

Skipped where CUDA (or vllm) is missing. Offline, point ``ROLEGYM_VLLM_MODEL`` at a local copy
of Qwen3-0.6B.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

from rolegym.baselines.grpo.trainer import GRPOTrainer  # noqa: E402
from tests.baselines.helpers import micro_config  # noqa: E402

MODEL = os.environ.get("ROLEGYM_VLLM_MODEL", "Qwen/Qwen3-0.6B")


def test_micro_run_on_cuda(tmp_path: Path) -> None:
    trainer = GRPOTrainer(
        micro_config(tmp_path, device="cuda", env_id="voting-arith-v0", policy="isolated")
    )
    metrics = trainer.train_step()
    assert all(p.is_cuda for p in trainer.policies.parameters())
    assert metrics["role/generator/samples"] == 24 and metrics["grad_norm"] > 0


def test_vllm_isolated_lora_run_on_voting_math_fixtures(tmp_path: Path) -> None:
    pytest.importorskip("vllm")
    config = micro_config(
        tmp_path,
        model_name_or_path=MODEL,
        use_peft=True,
        lora_r=64,
        lora_alpha=32,
        engine="vllm",
        device="cuda",
        torch_dtype="bfloat16",
        env_id="voting-math-v0",
        env_kwargs={"dataset": "fixture"},
        policy="isolated",
        reward_fn=None,
        tasks_per_step=4,
        num_generations=4,
        max_completion_length=256,
        learning_rate=2e-5,
        per_device_train_batch_size=8,
        max_steps=2,
        vllm_gpu_memory_utilization=0.4,
    )
    trainer = GRPOTrainer(config)
    served = trainer.vllm_engine.adapters
    assert set(served) == {"generator", "aggregator"}
    result = trainer.train()
    after = trainer.vllm_engine.adapters
    # every step re-serves each adapter under a fresh name and id
    assert all(after[p].lora_name != served[p].lora_name for p in served)
    metrics = result["metrics"]
    assert metrics["role/generator/samples"] == 48 and metrics["role/aggregator/samples"] == 16
    tokens_per_s = metrics["num_tokens"] / metrics["step_time"]
    step, generate = metrics["step_time"], metrics["timing/generate"]
    print(
        f"Qwen3-0.6B voting-math isolated LoRA: {tokens_per_s:.0f} completion tokens/s, "
        f"step {step:.1f} s (generate {generate:.1f} s)"
    )
