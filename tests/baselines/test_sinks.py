"""Where a run's numbers go: TensorBoard and Weights & Biases.

The vLLM adapter sync is tested against the real vLLM in ``tests/vllm/test_trainer.py``.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from rolegym.baselines.grpo.trainer import GRPOTrainer
from tests.baselines.helpers import micro_config


def test_tensorboard_events_are_written(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    GRPOTrainer(micro_config(tmp_path, report_to=["tensorboard"])).train()
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    tags = events.Tags()["scalars"]
    assert "reward" in tags and "role/generator/grad_norm" in tags
    assert [e.step for e in events.Scalars("reward")] == [1, 2]


def test_wandb_gets_every_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    logged: list[tuple[dict, int]] = []
    state = {}

    class Run:
        def log(self, data: dict, step: int) -> None:
            logged.append((data, step))

        def finish(self) -> None:
            state["finished"] = True

    def init(**kwargs: object) -> Run:
        state["init"] = kwargs
        return Run()

    monkeypatch.setitem(sys.modules, "wandb", types.SimpleNamespace(init=init))
    GRPOTrainer(micro_config(tmp_path, report_to=["wandb"])).train()
    assert state["init"]["project"] == "rolegym" and state["finished"]
    assert [step for _, step in logged] == [1, 2]
    assert "loss" in logged[0][0] and "role/generator/reward_mean" in logged[0][0]
