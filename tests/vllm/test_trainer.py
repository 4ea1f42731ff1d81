"""The trainer and ``rolegym eval`` with ``engine="vllm"``, against the real vLLM."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("vllm")
torch = pytest.importorskip("torch")

from rolegym.baselines.grpo.config import GRPOConfig  # noqa: E402
from rolegym.baselines.grpo.trainer import GRPOTrainer  # noqa: E402
from rolegym.evaluation.schema import validate_result  # noqa: E402
from rolegym.rollout.engines.hf import HFEngine  # noqa: E402

pytestmark = pytest.mark.vllm

#: A 10-step LoRA run that learns the dense micro reward on a CPU (isolated: 2 adapters).
TRAIN_FLAGS = [
    "--env_id", "voting-arith-v0", "--policy", "isolated", "--use_peft", "--lora_r", "8",
    "--lora_alpha", "16", "--reward_fn", "rolegym.baselines.micro:answer_chars_reward",
    "--tasks_per_step", "8", "--num_generations", "4", "--max_completion_length", "8",
    "--learning_rate", "1e-2", "--weight_decay", "0", "--scale_rewards", "none",
    "--loss_type", "dapo", "--max_steps", "10", "--eval_steps", "5", "--eval_tasks", "8",
    "--save_steps", "5", "--disable_tqdm", "--logging_steps", "0", "--device", "cpu",
    "--torch_dtype", "float32", "--seed", "0", "--vllm_gpu_memory_utilization", "0.1",
]  # fmt: skip


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "rolegym.cli", *args],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return done


def rewards(run: Path) -> list[float]:
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if x]
    return [x["reward"] for x in lines if "reward" in x]


@pytest.fixture(scope="module")
def runs(micro_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for engine in ("vllm", "hf"):
        out[engine] = root / engine
        cli(
            "train",
            "--model_name_or_path",
            str(micro_dir),
            *TRAIN_FLAGS,
            "--engine",
            engine,
            "--output_dir",
            str(out[engine]),
        )
    return out


def test_cli_run_with_vllm_learns_as_the_hf_run_does(runs: dict[str, Path]) -> None:
    for engine, run in runs.items():
        r = rewards(run)
        assert len(r) == 10
        early, late = statistics.fmean(r[:2]), statistics.fmean(r[-5:])
        assert late > 1.5 * early, (engine, r)
    vllm_late = statistics.fmean(rewards(runs["vllm"])[-5:])
    hf_late = statistics.fmean(rewards(runs["hf"])[-5:])
    assert 0.5 < vllm_late / hf_late < 2.0, (vllm_late, hf_late)


def test_cli_run_keeps_one_adapter_version_per_learner(runs: dict[str, Path]) -> None:
    from safetensors.torch import load_file

    adapters = runs["vllm"] / "adapters"
    versions = sorted(p.name for p in adapters.iterdir() if p.name.startswith("step-"))
    assert versions == ["step-000010"]
    for learner in ("generator", "aggregator"):
        assert len(list(adapters.glob(f"*/{learner}/adapter_model.safetensors"))) <= 2
    # the served weights are the learners' (the checkpoint of the same step)
    state = torch.load(runs["vllm"] / "checkpoint-000010" / "learners.pt", weights_only=True)
    saved = load_file(adapters / "step-000010" / "generator" / "adapter_model.safetensors")
    params = state["generator"]["params"]
    assert len(saved) == len(params)
    for name, value in params.items():
        assert torch.equal(saved[name.replace(".generator.", ".")], value), name


def test_eval_of_the_run_with_vllm(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "eval.json"
    done = cli("eval", str(runs["vllm"]), "--engine", "vllm", "--problems", "8", "--out", str(out))
    result = json.loads(out.read_text())
    validate_result(result)
    (cell,) = result["cells"]
    assert cell["env_id"] == "voting-arith-v0" and cell["episodes"] == 8
    assert result["system"]["step"] == 10 and "accuracy" in done.stdout
    assert cell["roles"]["generator"]["calls"] == 24


@pytest.fixture(scope="module")
def trainer(micro_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GRPOTrainer]:
    config = GRPOConfig(
        model_name_or_path=str(micro_dir),
        env_id="voting-arith-v0",
        policy="isolated",
        trainable_roles=["generator"],
        use_peft=True,
        lora_r=8,
        lora_alpha=16,
        reward_fn="rolegym.baselines.micro:answer_chars_reward",
        tasks_per_step=4,
        num_generations=4,
        max_completion_length=8,
        learning_rate=3e-2,
        weight_decay=0.0,
        scale_rewards="none",
        loss_type="dapo",
        max_steps=2,
        eval_steps=1,
        eval_tasks=8,
        eval_on_start=False,
        eval_temperature=0.0,
        temperature=0.7,
        save_steps=0,
        disable_tqdm=True,
        device="cpu",
        torch_dtype="float32",
        engine="vllm",
        vllm_gpu_memory_utilization=0.1,
        output_dir=str(tmp_path_factory.mktemp("inproc") / "run"),
    )
    t = GRPOTrainer(config)
    yield t
    t.vllm_engine.close()


def greedy_eval(t: GRPOTrainer, engine: Any) -> list[list[int]]:
    episodes = t.eval_batch.run(engine, seed=0, tasks=t.eval_task_ids)
    return [list(turn.extras["completion_token_ids"]) for e in episodes for turn in e.turns]


def test_training_and_evaluation_share_one_llm_at_their_own_temperatures(
    trainer: GRPOTrainer,
) -> None:
    train_engine = trainer.engine.model_engine
    eval_engine = trainer.eval_engine.model_engine
    assert train_engine.llm is eval_engine.llm is trainer.vllm_engine.llm
    assert (train_engine.temperature, eval_engine.temperature) == (0.7, 0.0)
    assert greedy_eval(trainer, trainer.eval_engine) == greedy_eval(trainer, trainer.eval_engine)


def test_served_adapters_follow_the_learners_step_by_step(trainer: GRPOTrainer) -> None:
    adapters = trainer.output_dir / "adapters"
    frozen = trainer.vllm_engine.adapters["frozen"]
    assert Path(frozen.lora_path) == adapters / "frozen" / "frozen"

    def hf_greedy() -> list[list[int]]:  # the learners themselves, through PEFT
        hf = HFEngine(
            trainer.policies.engine_models(), trainer.tokenizer, max_new_tokens=8, temperature=0.0
        )
        return greedy_eval(trainer, trainer.eval_engine.__class__(hf, trainer.eval_batch, {}))

    before = greedy_eval(trainer, trainer.eval_engine)
    assert before == hf_greedy()
    assert (adapters / "step-000000" / "generator").is_dir()
    for step in (1, 2):
        trainer.train_step()
        served = trainer.vllm_engine.adapters
        assert Path(served["generator"].lora_path) == adapters / f"step-{step:06d}" / "generator"
        assert not (adapters / f"step-{step - 1:06d}").exists()  # the old version is gone
        assert served["frozen"] is frozen  # saved and served once
        assert greedy_eval(trainer, trainer.eval_engine) == hf_greedy()
    assert greedy_eval(trainer, trainer.eval_engine) != before  # the new versions are served
