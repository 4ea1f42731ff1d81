"""Per-role gradient diagnostics: exact against autograd (fp64), shares sum to 1."""

from __future__ import annotations

import math

import pytest
import torch

from rolegym.baselines.grpo.diagnostics import gradient_metrics, gram_matrix
from rolegym.baselines.grpo.loss import per_token_loss
from rolegym.baselines.grpo.rows import sequence_logprobs
from rolegym.baselines.grpo.trainer import GRPOTrainer
from tests.baselines.helpers import micro_config, step_rows


def test_metrics_from_a_known_gram() -> None:
    # three voters with aligned unit gradients, one aggregator orthogonal to them
    g = {
        "generator_0": [torch.tensor([1.0, 0.0])],
        "generator_1": [torch.tensor([1.0, 0.0])],
        "generator_2": [torch.tensor([1.0, 0.0])],
        "aggregator": [torch.tensor([0.0, 2.0])],
    }
    gram = gram_matrix(g)
    roles = {a: a.rsplit("_", 1)[0] for a in g}
    m = gradient_metrics(gram, list(g), roles)
    assert m["role/generator/grad_norm"] == pytest.approx(3.0)
    assert m["role/aggregator/grad_norm"] == pytest.approx(2.0)
    assert m["role/generator/instance_coherence"] == pytest.approx(3.0)  # fully aligned: K
    assert m["role/generator/grad_mass_share"] == pytest.approx(9 / 13)
    assert m["pair/generator_aggregator/grad_cos"] == pytest.approx(0.0)
    assert m["role/generator/grad_proj_share"] + m["role/aggregator/grad_proj_share"] == (
        pytest.approx(1.0)
    )
    # opposed voters: coherence 0 would need exact cancellation; here two cancel, one stays
    g["generator_1"] = [torch.tensor([-1.0, 0.0])]
    m = gradient_metrics(gram_matrix(g), list(g), roles)
    assert m["role/generator/instance_coherence"] == pytest.approx(1 / 3)
    # a role pulling against the net update has a negative projection share
    g = {"a_0": [torch.tensor([1.0])], "b_0": [torch.tensor([-0.5])]}
    m = gradient_metrics(gram_matrix(g), list(g), {"a_0": "a", "b_0": "b"})
    assert m["role/b/grad_proj_share"] == pytest.approx(-1.0)
    assert m["role/a/grad_proj_share"] == pytest.approx(2.0)


@pytest.mark.parametrize("policy", ["shared", "isolated"])
def test_per_role_gradients_equal_autograd_fp64(tmp_path, policy: str) -> None:
    config = micro_config(
        tmp_path,
        env_id="voting-arith-v0",
        torch_dtype="float64",
        policy=policy,
        per_device_train_batch_size=3,
        scale_rewards="group",
        loss_type="grpo",
    )
    trainer = GRPOTrainer(config)
    rows = step_rows(trainer)
    assert {r.role for r in rows} == {"generator", "aggregator"}
    assert any(r.advantage != 0 for r in rows)
    prepared = trainer.prepare(rows)
    metrics = trainer.accumulate(prepared)
    params = trainer.policies.parameters()

    reference: dict[str, list[torch.Tensor]] = {}
    for role in ("generator", "aggregator"):
        loss = torch.zeros((), dtype=torch.float64)
        for i, row in enumerate(prepared.rows):
            if row.role != role:
                continue
            learner = trainer.policies.learners[row.learner]
            # one row at a time: other padding and batching than the trainer's micro-batches
            logp, _, _ = sequence_logprobs(learner.module, [row], temperature=config.temperature)
            per_token, _ = per_token_loss(logp, logp.detach(), prepared.advantages[i : i + 1])
            loss = loss + (per_token * prepared.weights[i : i + 1, : logp.shape[1]]).sum()
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        reference[role] = [
            torch.zeros_like(p) if g is None else g for p, g in zip(params, grads, strict=True)
        ]

    for role, ref in reference.items():
        agents = [a for a in prepared.parts if a.rsplit("_", 1)[0] == role]
        for k, p in enumerate(params):
            got = sum(
                (prepared.parts[a][k] for a in agents if prepared.parts[a][k] is not None),
                torch.zeros_like(p),
            )
            torch.testing.assert_close(got, ref[k], rtol=1e-9, atol=1e-12)
        norm = math.sqrt(sum(float((g * g).sum()) for g in ref))
        assert metrics[f"role/{role}/grad_norm"] == pytest.approx(norm, rel=1e-9)
    # the accumulated gradient is the sum of the roles' gradients
    for k, p in enumerate(params):
        torch.testing.assert_close(
            p.grad, reference["generator"][k] + reference["aggregator"][k], rtol=1e-9, atol=1e-12
        )
    shares = [metrics[f"role/{r}/grad_proj_share"] for r in ("generator", "aggregator")]
    assert sum(shares) == pytest.approx(1.0, abs=1e-9)
    mass = [metrics[f"role/{r}/grad_mass_share"] for r in ("generator", "aggregator")]
    assert sum(mass) == pytest.approx(1.0, abs=1e-9)
    assert metrics["role/generator/instance_coherence"] > 0
    if policy == "shared":
        assert "pair/generator_aggregator/grad_cos" in metrics
    else:  # different learners: different parameters, no cosine, projection = mass share
        assert "pair/generator_aggregator/grad_cos" not in metrics
        assert shares == pytest.approx(mass)
