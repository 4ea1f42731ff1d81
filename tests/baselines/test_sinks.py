"""Where a run's numbers go: TensorBoard, Weights & Biases, and the vLLM adapter sync."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
import torch

from rolegym.baselines.grpo.trainer import GRPOTrainer
from tests.baselines.conftest import micro_config


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


class FakeVLLM:
    """Records the adapter versions a vLLM engine would be asked to serve."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.updates: list[tuple[str, str]] = []

    def update_adapter(self, policy_id: str, path: str) -> str:
        self.updates.append((policy_id, path))
        return f"{policy_id}-v{len(self.updates)}"

    def generate(self, requests: list) -> list:
        return self.inner.generate(requests)  # type: ignore[attr-defined]


def test_adapters_are_saved_and_reserved_after_every_step(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    config = micro_config(tmp_path, env_id="voting-arith-v0", policy="isolated", use_peft=True,
                          lora_r=4, lora_alpha=8)  # fmt: skip
    trainer = GRPOTrainer(config)
    fake = FakeVLLM(trainer.engine.model_engine)
    trainer._vllm = fake  # what engine="vllm" builds on a GPU
    trainer.engine.model_engine = fake
    trainer.train_step()
    trainer.train_step()
    assert [p for p, _ in fake.updates] == ["generator", "aggregator"] * 2
    paths = [Path(path) for _, path in fake.updates]
    assert len(set(paths)) == 4  # a new directory (so a new vLLM name) per version
    latest = paths[-2]  # the generator's adapter after step 2
    assert json.loads((latest / "adapter_config.json").read_text())["r"] == 4
    saved = load_file(latest / "adapter_model.safetensors")
    learner = trainer.policies.learners["generator"]
    for name, value in learner.params.items():
        key = name.replace(".generator.", ".")
        assert torch.equal(saved[key], value.detach()), key
