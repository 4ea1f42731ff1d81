"""The paper's mechanisms on synthetic batches whose answer is known, through the real trainer.

- Amplification: K parallel same-role agents with the same prompt, completion and advantage
  have identical gradients, so the role's instance coherence is exactly K.
- Capture: a role whose advantages are all zero contributes no gradient: mass share 0.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rolegym.baselines.grpo import GRPOTrainer
from rolegym.baselines.grpo.rows import Row
from tests.baselines.helpers import micro_config


def _row(trainer: GRPOTrainer, agent: str, advantage: float, completion: list[int]) -> Row:
    role = agent.rsplit("_", 1)[0]
    return Row(
        prompt_ids=[5, 17, 23, 42, 8],
        completion_ids=completion,
        truncated=False,
        reward=advantage,
        advantage=advantage,
        role=role,
        agent=agent,
        learner=str(trainer.policies.learner_name(role)),
        group=("t", agent),
    )


@pytest.mark.parametrize("policy", ["shared", "isolated"])
@pytest.mark.parametrize("k", [2, 4, 8])
def test_identical_parallel_agents_have_coherence_k(tmp_path: Path, k: int, policy: str) -> None:
    config = micro_config(
        tmp_path,
        env_id="voting-arith-v0",
        env_kwargs={"num_voters": k},
        policy=policy,
        torch_dtype="float64",
        diagnostics=True,
    )
    trainer = GRPOTrainer(config)
    same = [30, 31, 32, 33]
    rows = [_row(trainer, f"generator_{i}", 1.0, same) for i in range(k)]
    rows.append(_row(trainer, "aggregator_0", -0.5, [40, 41]))
    metrics = trainer.accumulate(trainer.prepare(rows))
    assert metrics["role/generator/instance_coherence"] == pytest.approx(k, abs=1e-6)
    # The role's gradient is K times one agent's, up to the loss normaliser: "dapo" divides by
    # the batch's tokens (4K + 2 here, 4 + 2 with one voter).
    single = trainer.accumulate(trainer.prepare(rows[:1] + rows[-1:]))
    ratio = metrics["role/generator/grad_norm"] / single["role/generator/grad_norm"]
    assert ratio == pytest.approx(k * 6 / (4 * k + 2), rel=1e-6)


def test_zero_advantage_role_has_no_gradient_mass(tmp_path: Path) -> None:
    config = micro_config(
        tmp_path, env_id="voting-arith-v0", torch_dtype="float64", diagnostics=True
    )
    trainer = GRPOTrainer(config)
    rows = [_row(trainer, f"generator_{i}", 1.0 - i, [30 + i, 31, 32]) for i in range(3)]
    rows.append(_row(trainer, "aggregator_0", 0.0, [40, 41, 42]))
    metrics = trainer.accumulate(trainer.prepare(rows))
    assert metrics["role/aggregator/grad_norm"] == 0.0
    assert metrics["role/aggregator/grad_mass_share"] == 0.0
    assert metrics["role/generator/grad_mass_share"] == pytest.approx(1.0, abs=1e-12)
    assert metrics["role/aggregator/grad_proj_share"] == 0.0
