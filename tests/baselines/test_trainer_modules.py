"""The trainer's parts outside ``trainer.py``: checkpoint I/O, metric sinks, data parallel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from rolegym.baselines.grpo import trainer
from rolegym.baselines.grpo.checkpoints import (
    checkpoint_path,
    latest_checkpoint,
    read_checkpoint,
    write_checkpoint,
)
from rolegym.baselines.grpo.distributed import DataParallel
from rolegym.baselines.grpo.sinks import MetricSinks


def test_checkpoints_round_trip_replace_and_prune(tmp_path: Path) -> None:
    learners = {"generator": {"w": torch.arange(3.0)}, "aggregator": {"w": torch.ones(2)}}
    state = {"step": 2, "eval_history": [{"step": 2, "accuracy": 0.5}], "odd": {1, 2}}
    stale = tmp_path / ".tmp-checkpoint-000002"  # an earlier write that was killed midway
    stale.mkdir()
    (stale / "junk").write_text("x")
    path = write_checkpoint(tmp_path, 2, learners, state)
    assert path == checkpoint_path(tmp_path, 2) == tmp_path / "checkpoint-000002"
    assert not stale.exists() and sorted(p.name for p in path.iterdir()) == [
        "learners.pt",
        "trainer_state.json",
    ]
    got, saved = read_checkpoint(path)
    assert torch.equal(got["generator"]["w"], learners["generator"]["w"])
    assert saved["step"] == 2 and saved["eval_history"] == state["eval_history"]
    assert saved["odd"] == repr({1, 2})  # not JSON: written as its repr
    for step in (4, 6):
        write_checkpoint(tmp_path, step, learners, {"step": step}, total_limit=2)
    assert [p.name for p in sorted(tmp_path.glob("checkpoint-*"))] == [
        "checkpoint-000004",
        "checkpoint-000006",
    ]
    assert latest_checkpoint(tmp_path) == tmp_path / "checkpoint-000006"
    assert latest_checkpoint(tmp_path / "none") is None


def test_metric_sinks_write_jsonl_and_truncate(tmp_path: Path) -> None:
    sinks = MetricSinks(tmp_path)
    sinks.open()
    for step in range(4):
        sinks.log({"step": step, "reward": step / 10, "history": [1, 2]}, step)
    sinks.close()
    lines = [json.loads(line) for line in sinks.path.read_text().splitlines()]
    assert lines == [{"step": s, "reward": s / 10} for s in range(4)]  # scalars only
    sinks.truncate(1)
    assert [json.loads(line)["step"] for line in sinks.path.read_text().splitlines()] == [0, 1]
    other = MetricSinks(tmp_path / "rank1", ["tensorboard", "wandb"], rank=1)
    other.open()  # other ranks write nothing (and import no sink)
    other.log({"step": 1, "reward": 1.0}, 1)
    assert not (tmp_path / "rank1").exists()


def test_one_process_data_parallel_is_the_identity() -> None:
    dp = DataParallel()
    assert (dp.on, dp.rank, dp.world) == (False, 0, 1)
    x = torch.tensor([1.0, 2.0])
    summed = dp.summed(x)
    dp.sum_(x)
    assert torch.equal(summed, x) and summed is not x
    assert dp.gather({"a": 1}) == [{"a": 1}]


@pytest.mark.parametrize(
    "code",
    [
        "torch.distributed",
        "SummaryWriter",
        "wandb",
        "torch.save",
        "torch.load",
        "os.replace",
        'metrics.jsonl").open',
    ],
)
def test_trainer_module_delegates_io_and_distribution(code: str) -> None:
    """``trainer.py`` holds the algorithm; I/O and process groups live in their own modules."""
    assert code not in Path(trainer.__file__).read_text()
    assert trainer.latest_checkpoint is latest_checkpoint  # still importable from the trainer
