"""The update's memory levers change nothing: chunked head, checkpointing, token budgets."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rolegym.baselines.grpo.memory import micro_batches
from rolegym.baselines.grpo.rows import (
    Row,
    build_rows,
    full_sequence_logprobs,
    sequence_logprobs,
)
from rolegym.baselines.grpo.trainer import GRPOTrainer
from rolegym.baselines.micro import build_model
from tests.baselines.helpers import micro_config


def _rows(seed: int = 0) -> list[Row]:
    g = torch.Generator().manual_seed(seed)
    rows = []
    # mixed prompt and completion lengths; one truncated row, one single-token completion
    for i, (p, c) in enumerate([(5, 7), (9, 3), (4, 1), (12, 10), (3, 6)]):
        ids = torch.randint(4, 100, (p + c,), generator=g).tolist()
        rows.append(
            Row(
                ids[:p],
                ids[p:],
                i == 3,
                0.0,
                0.0,
                "generator",
                f"generator_{i % 2}",
                "shared",
                (i,),
            )
        )
    return rows


def _peft(model: torch.nn.Module) -> torch.nn.Module:
    from peft import LoraConfig, get_peft_model

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        peft = get_peft_model(
            model, LoraConfig(task_type="CAUSAL_LM", r=4, lora_alpha=8, target_modules="all-linear")
        )
        for name, p in peft.named_parameters():
            if "lora_B" in name:
                p.data.normal_(0.0, 0.1)
    return peft


@pytest.mark.parametrize("peft", [False, True])
@pytest.mark.parametrize("chunk", [1, 4, 1000])
def test_chunked_head_equals_full_logits(peft: bool, chunk: int) -> None:
    model = build_model(hidden_size=32, layers=2).double()
    if peft:
        model = _peft(model)
    rows = _rows()
    params = [p for p in model.parameters() if p.requires_grad]
    for temperature in (0.7, 1.0):
        got = sequence_logprobs(
            model, rows, temperature=temperature, with_entropy=True, chunk=chunk
        )
        want = full_sequence_logprobs(model, rows, temperature=temperature, with_entropy=True)
        mask = want[1]
        assert torch.equal(got[1], mask)
        torch.testing.assert_close(got[0], want[0], rtol=1e-9, atol=1e-9)
        torch.testing.assert_close(got[2] * mask, want[2] * mask, rtol=1e-9, atol=1e-9)
        assert bool((got[0][mask == 0] == 0).all())
        weights = torch.linspace(-1.0, 1.0, mask.numel(), dtype=torch.float64).view(mask.shape)
        g_got = torch.autograd.grad((got[0] * weights * mask).sum(), params)
        g_want = torch.autograd.grad((want[0] * weights * mask).sum(), params)
        for a, b in zip(g_got, g_want, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


def test_a_model_with_an_adapted_head_uses_full_logits() -> None:
    from peft import LoraConfig, get_peft_model

    from rolegym.baselines.grpo.memory import split_head

    model = build_model(hidden_size=32, layers=1)
    assert split_head(model) is not None
    config = LoraConfig(task_type="CAUSAL_LM", r=2, target_modules=["q_proj", "lm_head"])
    assert split_head(get_peft_model(build_model(hidden_size=32, layers=1), config)) is None


def _layer_calls(trainer: GRPOTrainer) -> list[int]:
    calls = [0]
    layer = next(
        m
        for m in trainer.policies.learners["shared"].module.modules()
        if type(m).__name__.endswith("DecoderLayer")
    )
    forward = layer.mlp.forward  # counted by wrapping: hooks do not fire on recomputation

    def counted(*args: object, **kwargs: object) -> object:
        calls[0] += 1
        return forward(*args, **kwargs)

    layer.mlp.forward = counted
    return calls


def test_gradient_checkpointing_leaves_the_gradients_unchanged(tmp_path: Path) -> None:
    grads, calls = [], []
    for on in (False, True):
        config = micro_config(
            tmp_path / str(on),
            torch_dtype="float64",
            use_peft=True,
            lora_r=4,
            gradient_checkpointing=on,
            env_id="voting-arith-v0",
        )
        trainer = GRPOTrainer(config)
        count = _layer_calls(trainer)
        rows, _ = build_rows(
            trainer.rollout(0),
            learner_of=trainer.policies.learner_name,
            reward_fn=trainer.reward_fn,
            tasks=[e.unwrapped.task for e in trainer.batch.envs],
            scale="none",
        )
        prepared = trainer.prepare(rows)
        forward_only = count[0]
        module = trainer.policies.learners["shared"].module
        modes = [m.training for m in module.modules()]
        trainer.accumulate(prepared)
        assert [m.training for m in module.modules()] == modes  # no module's mode changed
        calls.append(count[0] - forward_only)
        grads.append(
            {k: p.grad.clone() for k, p in trainer.policies.learners["shared"].params.items()}
        )
    assert calls[1] == 2 * calls[0]  # every layer ran again in the backward pass
    for k, g in grads[0].items():
        torch.testing.assert_close(grads[1][k], g, rtol=1e-6, atol=1e-9)


def _recording(split, seen: list[int]):
    def wrapped(prepared, agent):
        batches = split(prepared, agent)
        seen.extend(len(b) for b in batches)
        return batches

    return wrapped


def test_token_budget_micro_batches_give_the_same_update(tmp_path: Path) -> None:
    updated, sizes = [], []
    for budget in (None, 500, 1):
        config = micro_config(
            tmp_path / str(budget),
            torch_dtype="float64",
            loss_type="dapo",
            per_device_train_batch_size=64,
            max_tokens_per_microbatch=budget,
            env_id="voting-arith-v0",
        )
        trainer = GRPOTrainer(config)
        seen: list[int] = []
        trainer._micro_batches = _recording(trainer._micro_batches, seen)
        trainer.train_step()
        sizes.append(seen)
        params = trainer.policies.learners["shared"].params
        updated.append({k: v.detach().clone() for k, v in params.items()})
    assert max(sizes[0]) > max(sizes[1]) > max(sizes[2]) == 1  # the budgets really cut
    for other in updated[1:]:
        for k, v in updated[0].items():
            torch.testing.assert_close(other[k], v, rtol=1e-10, atol=1e-12)


def test_micro_batches_respect_rows_and_tokens() -> None:
    lengths = [10, 30, 20, 50, 5, 5, 5, 120, 10]
    batches = micro_batches(range(9), lengths, max_rows=3, max_tokens=60)
    assert [i for b in batches for i in b] == list(range(9))  # every row once, in order
    for b in batches:
        assert len(b) <= 3
        assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 60
    assert [7] in batches  # a row over the budget runs alone
    assert micro_batches(range(4), [1] * 4, max_rows=2, max_tokens=None) == [[0, 1], [2, 3]]


@pytest.mark.parametrize("frozen", [True, False])
@pytest.mark.parametrize("bias", [False, True])
def test_head_gradients_and_recompute(
    frozen: bool, bias: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A frozen head's backward runs no head matmul; a trainable one recomputes each chunk."""
    from rolegym.baselines.grpo import memory

    g = torch.Generator().manual_seed(0)
    head = torch.nn.Linear(8, 50, bias=bias).double()
    with torch.no_grad():
        head.weight.copy_(torch.randn(50, 8, generator=g, dtype=torch.float64))
    head.requires_grad_(not frozen)
    hidden = torch.randn(13, 8, generator=g, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(0, 50, (13,), generator=g)
    weights = torch.randn(13, generator=g, dtype=torch.float64)
    calls: list[int] = []
    logits = memory._logits
    monkeypatch.setattr(memory, "_logits", lambda *a: (calls.append(1), logits(*a))[1])
    logp, entropy = memory.head_logprobs(
        hidden, head, targets, temperature=0.7, with_entropy=True, chunk=4
    )
    forward_calls = len(calls)
    params = [hidden, *(p for p in head.parameters() if p.requires_grad)]
    got = torch.autograd.grad((logp * weights).sum(), params)
    assert forward_calls == 4  # ceil(13 / 4) chunks
    assert len(calls) - forward_calls == (0 if frozen else 4)
    z = head(hidden) / 0.7
    want_logp = torch.log_softmax(z, -1).gather(-1, targets[:, None]).squeeze(-1)
    want_entropy = -(torch.softmax(z, -1) * torch.log_softmax(z, -1)).sum(-1)
    want = torch.autograd.grad((want_logp * weights).sum(), params)
    torch.testing.assert_close(logp, want_logp, rtol=1e-12, atol=1e-12)
    assert entropy is not None
    torch.testing.assert_close(entropy, want_entropy.detach(), rtol=1e-12, atol=1e-12)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
