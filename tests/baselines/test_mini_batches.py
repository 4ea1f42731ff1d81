"""``mini_batch_size``: several optimizer steps per batch, each learner by its own row count."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rolegym.baselines.grpo import GRPOTrainer
from tests.baselines.helpers import micro_config, step_rows


def _voting(tmp_path: Path, **overrides: object) -> GRPOTrainer:
    options = {
        "env_id": "voting-arith-v0",
        "policy": "isolated",
        "torch_dtype": "float64",
        "diagnostics": True,
        "max_grad_norm": 0.0,
    }
    return GRPOTrainer(micro_config(tmp_path, **{**options, **overrides}))


def _params(trainer: GRPOTrainer) -> dict[str, list[torch.Tensor]]:
    return {
        name: [p.detach().clone() for p in learner.params.values()]
        for name, learner in trainer.policies.learners.items()
    }


def _moved(before: dict, after: dict) -> dict[str, float]:
    return {
        name: float(
            sum(((a - b) ** 2).sum() for a, b in zip(after[name], before[name], strict=True))
        )
        ** 0.5
        for name in before
    }


def test_the_role_with_more_rows_takes_more_steps_and_moves_further(tmp_path: Path) -> None:
    """Voting, Isolated: 3 voter rows per aggregator row.

    With mini-batches of the aggregator's row count the voters' learner takes 3 optimizer steps
    to the aggregator's 1 and moves further: its displacement over the aggregator learner's is
    1.90x (1.00x with one step per batch; Adam's successive steps are not parallel, so 3 steps
    move less than 3x as far).
    """
    ratios = {}
    for size in (0, 8):  # 8 episodes: 8 aggregator rows, 24 voter rows
        trainer = _voting(tmp_path / str(size), mini_batch_size=size)
        rows = step_rows(trainer, scale="none")
        assert sum(r.role == "aggregator" for r in rows) == 8
        before = _params(trainer)
        metrics = trainer.update(rows)
        moved = _moved(before, _params(trainer))
        learners = trainer.policies.learners
        names = {r.role: r.learner for r in rows}
        if size:
            assert metrics["mini_batches"] == 3.0
            assert learners[names["generator"]].step == 3
            assert learners[names["aggregator"]].step == 1
        else:
            assert all(learner.step == 1 for learner in learners.values())
        ratios[size] = moved[names["generator"]] / moved[names["aggregator"]]
    assert ratios[0] == pytest.approx(1.0, abs=0.01)
    assert ratios[8] > 1.5 * ratios[0], ratios


def test_diagnostics_are_those_of_the_whole_batch(tmp_path: Path) -> None:
    plain, split = _voting(tmp_path / "a"), _voting(tmp_path / "b", mini_batch_size=4)
    rows = step_rows(plain, scale="none")
    assert rows == step_rows(split, scale="none")
    want, got = plain.update(rows), split.update(rows)
    keys = [k for k in want if k.startswith(("role/", "pair/", "grad_norm"))]
    assert keys and {k: got[k] for k in keys} == pytest.approx({k: want[k] for k in keys})


def test_one_mini_batch_is_the_plain_update(tmp_path: Path) -> None:
    plain, whole = _voting(tmp_path / "a"), _voting(tmp_path / "b", mini_batch_size=1000)
    rows = step_rows(plain, scale="none")
    plain.update(rows)
    whole.update(rows)
    for name, params in _params(plain).items():
        for a, b in zip(params, _params(whole)[name], strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_resumed_run_replays_the_mini_batches(tmp_path: Path) -> None:
    straight = _voting(tmp_path / "straight", mini_batch_size=5, max_steps=2)
    for _ in range(2):
        straight.train_step()
    first = _voting(tmp_path / "killed", mini_batch_size=5, max_steps=2)
    first.train_step()
    checkpoint = first.save_checkpoint()
    resumed = _voting(tmp_path / "killed", mini_batch_size=5, max_steps=2)
    resumed.load_checkpoint(checkpoint)
    resumed.train_step()
    for name, params in _params(straight).items():
        for a, b in zip(params, _params(resumed)[name], strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_negative_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mini_batch_size must be >= 0"):
        micro_config(tmp_path, mini_batch_size=-1)
