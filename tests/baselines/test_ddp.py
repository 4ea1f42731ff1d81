"""Two-process data parallel (gloo, CPU): the same per-role gradients as one process."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")

from rolegym.baselines.grpo.trainer import GRPOTrainer  # noqa: E402
from tests.baselines.helpers import micro_config, step_rows  # noqa: E402

OPTIONS = {
    "env_id": "voting-arith-v0",
    "torch_dtype": "float64",
    "tasks_per_step": 2,
    "per_device_train_batch_size": 3,
    "scale_rewards": "group",
    "loss_type": "dapo",
    "normalizer_scope": "role",
}


def _gradients(trainer: GRPOTrainer, rows: list) -> tuple[dict, dict, list]:
    prepared = trainer.prepare(rows)
    metrics = trainer.accumulate(prepared)
    grads = [p.grad.clone() for p in trainer.policies.parameters()]
    return prepared.parts, metrics, grads


def _worker(rank: int, world: int, tmp: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{tmp}/store", rank=rank, world_size=world)
    torch.set_num_threads(1)
    try:
        trainer = GRPOTrainer(micro_config(Path(tmp) / f"rank{rank}", **OPTIONS))
        assert trainer.dist.on and trainer.dist.world == world
        rows = step_rows(trainer)
        parts, metrics, grads = _gradients(trainer, rows)
        torch.save(
            {"rows": rows, "parts": parts, "metrics": metrics, "grads": grads},
            f"{tmp}/rank{rank}.pt",
        )
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_process_gloo_matches_one_process(tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    mp.spawn(_worker, args=(2, str(tmp_path)), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(2)]
    rows = ranks[0]["rows"] + ranks[1]["rows"]
    assert {r.agent for r in ranks[0]["rows"]} == {r.agent for r in ranks[1]["rows"]}

    single = GRPOTrainer(micro_config(tmp_path / "single", **OPTIONS))
    parts, metrics, grads = _gradients(single, rows)
    for rank in ranks:  # every process holds the global gradients
        assert set(rank["parts"]) == set(parts)
        for agent, expected in parts.items():
            for got, want in zip(rank["parts"][agent], expected, strict=True):
                assert (got is None) == (want is None)
                if want is not None:
                    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-13)
        for got, want in zip(rank["grads"], grads, strict=True):
            torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-13)
        gradient_keys = [k for k in metrics if k == "grad_norm" or "/grad_" in k]
        assert "role/generator/instance_coherence" in metrics
        for key in [*gradient_keys, "role/generator/instance_coherence"]:
            assert rank["metrics"][key] == pytest.approx(metrics[key], rel=1e-9), key
        # rollout statistics are the whole batch's, gathered from both processes
        for key in ("role/generator/samples", "role/aggregator/tokens", "role/generator/entropy"):
            assert rank["metrics"][key] == pytest.approx(metrics[key], rel=1e-9), key
    assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.slow
def test_launch_with_torchrun(tmp_path: Path) -> None:
    """The launcher path: WORLD_SIZE set, the process group made by accelerate, rank 0 logs."""
    import json
    import subprocess
    import sys

    out = tmp_path / "run"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "-m", "rolegym.cli", "train", "--preset", "micro", "--max_steps", "2",
        "--output_dir", str(out), "--env_id", "voting-arith-v0", "--tasks_per_step", "2",
        "--num_generations", "4", "--disable_tqdm", "--no_eval_on_start",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [1, 2]
    assert all(x["samples"] == 32 for x in lines)  # 2 tasks x 4 episodes x 4 turns, both ranks
    assert done.stdout.count("run written to") == 1
