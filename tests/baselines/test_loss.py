"""The GRPO loss: PPO-clip with an asymmetric range, k3 KL, TRL loss types, scopes, masks."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from rolegym.baselines.grpo.loss import grpo_loss, per_token_loss  # noqa: E402


def test_clip_is_asymmetric() -> None:
    old = torch.zeros(2, 1, dtype=torch.float64)
    new = torch.tensor([[0.5], [-0.5]], dtype=torch.float64)  # ratios e^0.5, e^-0.5
    loss, stats = per_token_loss(new, old, torch.tensor([1.0, -1.0], dtype=torch.float64))
    # positive advantage: ratio clipped at 1.28; negative advantage: clipped at 0.8
    assert loss[0, 0].item() == pytest.approx(-1.28)
    assert loss[1, 0].item() == pytest.approx(0.8)
    assert stats["clipped"].tolist() == [[1.0], [1.0]]
    inside, stats = per_token_loss(torch.tensor([[0.1]]), torch.zeros(1, 1), torch.tensor([2.0]))
    assert inside.item() == pytest.approx(-2 * torch.exp(torch.tensor(0.1)).item())
    assert stats["clipped"].item() == 0.0


def test_k3_kl_term() -> None:
    logp, ref = torch.tensor([[-1.0]]), torch.tensor([[-1.5]])
    loss, stats = per_token_loss(
        logp, logp.detach(), torch.tensor([0.0]), ref_logprobs=ref, beta=0.1
    )
    delta = -0.5
    k3 = torch.exp(torch.tensor(delta)) - delta - 1
    assert stats["kl"].item() == pytest.approx(k3.item()) and loss.item() == pytest.approx(
        0.1 * k3.item()
    )


def test_loss_types_and_masks() -> None:
    per_token = torch.tensor([[1.0, 1.0, 1.0, 1.0], [4.0, 4.0, 0.0, 0.0]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    assert grpo_loss(per_token, mask, loss_type="grpo").item() == pytest.approx((1 + 4) / 2)
    assert grpo_loss(per_token, mask, loss_type="bnpo").item() == pytest.approx(12 / 6)
    assert grpo_loss(per_token, mask, loss_type="dapo").item() == pytest.approx(12 / 6)
    assert grpo_loss(
        per_token, mask, loss_type="dr_grpo", max_completion_length=8
    ).item() == pytest.approx(12 / 16)
    truncated = torch.tensor([[1, 1, 1, 1], [0, 0, 0, 0]])  # second completion masked out
    assert grpo_loss(per_token, truncated, loss_type="bnpo").item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="loss_type"):
        grpo_loss(per_token, mask, loss_type="ppo")


def test_scopes_normalise_each_role_on_its_own() -> None:
    per_token = torch.tensor([[1.0, 1.0], [3.0, 0.0], [5.0, 5.0]])
    mask = torch.tensor([[1, 1], [1, 0], [1, 1]])
    scoped = grpo_loss(
        per_token, mask, loss_type="bnpo", scopes=["generator", "aggregator", "generator"]
    )
    assert scoped.item() == pytest.approx((2 + 10) / 4 + 3 / 1)
    assert grpo_loss(per_token, mask, loss_type="bnpo").item() == pytest.approx(15 / 5)


def test_gradients_flow_only_through_the_current_policy() -> None:
    logp = torch.tensor([[-1.0, -2.0]], requires_grad=True)
    loss = grpo_loss(per_token_loss(logp, logp.detach(), torch.tensor([1.0]))[0], torch.ones(1, 2))
    loss.backward()
    assert logp.grad[0].tolist() == pytest.approx([-0.5, -0.5])  # d/dlogp of -ratio*A/2 at ratio 1
