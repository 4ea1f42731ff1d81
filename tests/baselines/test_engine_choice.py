"""Choosing the rollout engine: what ``engine="vllm"`` needs, and clear errors without it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from rolegym.baselines.grpo.trainer import GRPOTrainer
from rolegym.baselines.micro import save_micro_model
from rolegym.cli import app
from rolegym.rollout import EpisodeBatch
from rolegym.rollout.engines.hf import HFEngine
from tests.baselines.helpers import micro_config

runner = CliRunner()


def test_vllm_without_vllm_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = save_micro_model(tmp_path / "model")
    monkeypatch.setitem(sys.modules, "vllm", None)  # as where vLLM is not installed
    config = micro_config(
        tmp_path, model_name_or_path=str(model), use_peft=True, lora_r=4, engine="vllm"
    )
    with pytest.raises(ImportError, match=r"rolegym\[vllm\]"):
        GRPOTrainer(config)
    args = [
        "train",
        "--model_name_or_path",
        str(model),
        "--use_peft",
        "--engine",
        "vllm",
        "--device",
        "cpu",
        "--output_dir",
        str(tmp_path / "run"),
    ]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "pip install 'rolegym[vllm]'" in result.output
    assert "Traceback" not in result.output


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")
def test_the_paper_preset_on_a_cpu_says_what_it_needs(tmp_path: Path) -> None:
    args = [
        "train",
        "--preset",
        "paper",
        "--env_id",
        "voting-math-v0",
        "--output_dir",
        str(tmp_path / "run"),
    ]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "needs a CUDA GPU" in text and "--preset micro" in text and "Traceback" not in text


def test_vllm_needs_lora_adapters_of_a_model_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="save_micro_model"):
        GRPOTrainer(micro_config(tmp_path, use_peft=True, engine="vllm"))
    with pytest.raises(ValueError, match="use_peft=True"):
        GRPOTrainer(micro_config(tmp_path, model_name_or_path=str(tmp_path), engine="vllm"))


def test_a_lora_rank_vllm_cannot_serve_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="LoRA rank 1024 is above the largest vLLM serves"):
        micro_config(tmp_path, use_peft=True, lora_r=1024, engine="vllm")
    micro_config(tmp_path, use_peft=True, lora_r=1024, engine="hf")  # the HF engine has no cap


@pytest.mark.parametrize(
    "env_id",
    [
        "single-arith-v0",
        "voting-arith-v0",
        "eval-opt-arith-v0",
        "orch-workers-arith-v0",
        "eval-opt-math-v0",
    ],
)
def test_context_length_bounds_every_prompt_plus_completion(tmp_path: Path, env_id: str) -> None:
    kwargs = {"dataset": "fixture"} if "-math" in env_id else {}
    # a cap of 24 characters with the micro model's character tokenizer; a random evaluator
    # never says Correct, so eval-opt runs every round (its longest conversations)
    cap = 24
    trainer = GRPOTrainer(
        micro_config(tmp_path, env_id=env_id, env_kwargs=kwargs, max_completion_length=cap)
    )
    bound = trainer.context_length()
    batch = EpisodeBatch(env_id, 8, group_size=1, policy_map=lambda role: "shared", **kwargs)
    engine = HFEngine(
        trainer.policies.engine_models(), trainer.tokenizer, max_new_tokens=cap, temperature=1.0
    )
    longest = 0
    for episode in batch.run(engine, seed=0):
        for turn in episode.turns:
            longest = max(longest, len(turn.extras["prompt_token_ids"]) + cap)
    assert longest <= bound
    if "eval-opt" in env_id or "voting" in env_id:
        assert longest > cap * 2  # the bound was tested on prompts holding completions
