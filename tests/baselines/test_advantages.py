"""GRPO advantages: grouping keys, baselines, scales, one-member groups."""

from __future__ import annotations

import math

import pytest

from rolegym.baselines.grpo import compute_advantages
from rolegym.envs.episode import Sample


def _s(task: str, agent: str, turn: int, reward: float) -> Sample:
    role = agent.rsplit("_", 1)[0]
    return Sample(
        prompt=(), completion="", reward=reward, agent=agent, role=role, turn=turn, task_id=task
    )


def test_group_mean_and_std_like_grpo() -> None:
    samples = [_s("t", "generator_0", 0, r) for r in (1.0, 0.0, 1.0, 0.0)]
    adv = compute_advantages(samples)
    std = math.sqrt(4 * 0.25 / 3)  # unbiased
    assert adv == pytest.approx([0.5 / (std + 1e-4), -0.5 / (std + 1e-4)] * 2)


def test_group_keys_split_agents_and_turns() -> None:
    samples = [
        _s("t", "generator_0", 0, 1.0),
        _s("t", "generator_1", 0, 0.0),
        _s("t", "generator_0", 0, 0.0),
        _s("t", "generator_1", 0, 1.0),
    ]
    per_agent = compute_advantages(samples, group_by="task×agent×turn", scale="none")
    per_role = compute_advantages(samples, group_by="task×role", scale="none")
    assert per_agent == [0.5, -0.5, -0.5, 0.5] and per_role == [0.5, -0.5, -0.5, 0.5]
    lone = compute_advantages([_s("t", "generator_0", 0, 1.0), _s("u", "generator_0", 0, 0.0)])
    assert lone == [0.0, 0.0]  # one-member groups


def test_leave_one_out_and_batch_scale() -> None:
    samples = [_s("t", "a_0", 0, r) for r in (1.0, 0.0, 0.0)] + [
        _s("u", "a_0", 0, 5.0),
        _s("u", "a_0", 0, 5.0),
    ]
    loo = compute_advantages(samples, baseline="leave_one_out", scale="none")
    assert loo[:3] == pytest.approx([1.0, -0.5, -0.5]) and loo[3:] == [0.0, 0.0]
    batch = compute_advantages(samples, scale="batch", epsilon=0.0)
    rewards = [s.reward for s in samples]
    mean = sum(rewards) / 5
    std = math.sqrt(sum((r - mean) ** 2 for r in rewards) / 4)
    assert batch[0] == pytest.approx((1.0 - 1 / 3) / std)
    with pytest.raises(ValueError, match="baseline"):
        compute_advantages(samples, baseline="median")
