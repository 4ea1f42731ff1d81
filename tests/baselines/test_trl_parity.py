"""Parity with TRL: rolegym's GRPO advantages and loss equal TRL's ``GRPOTrainer`` on one batch.

TRL's own code produces the reference numbers: a real ``GRPOTrainer`` (trl 1.16) over the
micro model of :mod:`rolegym.baselines.micro`, built offline on the CPU.

- Advantages: ``GRPOTrainer._generate_and_score_completions`` generates completions for a
  batch of prompt groups and scores them with a reward function that returns fixed rewards
  (a dataset column), then returns ``advantages``. TRL groups by position (``num_generations``
  consecutive rows), rolegym by key, so each block gets its own ``task_id``. TRL's standard
  deviation is unbiased (``trl.trainer.utils.nanstd``) and its epsilon a fixed ``1e-4``;
  ``scale_rewards="batch"`` keeps the group mean as baseline and divides by the standard
  deviation of the whole generation batch, as rolegym's ``scale="batch"``.
- Loss: ``GRPOTrainer.compute_loss`` (``_compute_loss``) on a constructed inputs dict
  (``prompt_ids``, ``prompt_mask``, ``completion_ids``, ``completion_mask``, ``advantages``,
  ``old_per_token_logps``, ``num_items_in_batch`` and, with ``beta > 0``,
  ``ref_per_token_logps``). rolegym's side takes per-token log-probabilities from a plain
  forward of the same model, logits divided by the sampling temperature as TRL's fused LM
  head does.

Two definitional differences are pinned down here rather than hidden by tolerances:

- TRL 1.16 multiplies the k3 KL term by the importance ratio by default
  (``use_bias_correction_kl=True``); rolegym's KL term is plain k3, so parity with
  ``beta > 0`` needs ``use_bias_correction_kl=False``.
- Under gradient accumulation TRL's ``"bnpo"`` normalises each micro-batch by its own token
  count and averages the micro-batches; rolegym's ``"bnpo"`` (like ``"dapo"``, which matches
  TRL's ``"dapo"``) normalises by the tokens of the whole batch it is given. They agree on a
  single micro-batch, or when rolegym reduces each micro-batch separately.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("trl")

import torch
from datasets import Dataset
from trl import GRPOConfig, GRPOTrainer
from trl.trainer.utils import split_tensor_dict

from rolegym.baselines.grpo import compute_advantages
from rolegym.baselines.grpo.loss import grpo_loss, per_token_loss
from rolegym.baselines.micro import build_model, build_tokenizer
from rolegym.envs.episode import Sample

TEMPERATURE = 0.7
MAX_COMPLETION_LENGTH = 8  # longer than the constructed completions: dr_grpo must use this
EPSILON, EPSILON_HIGH = 0.2, 0.28
#: Float32 throughout; TRL's fused LM head accumulates in float32 whatever the model dtype.
LOSS_TOL = {"rtol": 0.0, "atol": 1e-6}
GRAD_TOL = {"rtol": 1e-5, "atol": 1e-6}

# Three prompt groups of four completions: spread rewards, a zero-std group, a wide group.
GROUP_PROMPTS = ["ab", "cde", "f"]
GROUP_REWARDS = [[1.0, 0.0, 0.5, 0.0], [0.25, 0.25, 0.25, 0.25], [2.0, -1.0, 3.0, 0.5]]


@pytest.fixture(autouse=True)
def _keep_global_rng() -> Iterator[None]:
    """Restore the global RNGs, which ``GRPOTrainer`` seeds, after each test."""
    py, np_state, torch_state = random.getstate(), np.random.get_state(), torch.get_rng_state()
    yield
    random.setstate(py)
    np.random.set_state(np_state)
    torch.set_rng_state(torch_state)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The micro model saved to disk, so that TRL can load a reference copy when ``beta > 0``."""
    path = tmp_path_factory.mktemp("micro") / "model"
    build_model().save_pretrained(path)
    return str(path)


def _fixed_reward(
    prompts: list[str], completions: list[str], target_reward: list[float], **kwargs: Any
) -> list[float]:
    """A reward function returning each row's ``target_reward`` column, whatever was generated.

    Args:
        prompts: The prompts (unused).
        completions: The generated completions (unused).
        target_reward: The dataset column, one value per completion.
        **kwargs: Other columns and TRL's extras (unused).

    Returns:
        The fixed rewards.
    """
    return list(target_reward)


def _trainer(model_path: str, output_dir: Path, **config: Any) -> GRPOTrainer:
    """A CPU ``GRPOTrainer`` over the micro model, in training mode.

    Args:
        model_path: Where the micro model is saved.
        output_dir: The trainer's output directory.
        **config: ``GRPOConfig`` fields overriding the defaults below.

    Returns:
        The trainer.
    """
    settings: dict[str, Any] = {
        "output_dir": str(output_dir),
        "use_cpu": True,
        "bf16": False,
        "report_to": [],
        "save_strategy": "no",
        "per_device_train_batch_size": 4,
        "num_generations": 2,
        "max_completion_length": MAX_COMPLETION_LENGTH,
        "temperature": TEMPERATURE,
        "epsilon": EPSILON,
        "epsilon_high": EPSILON_HIGH,
        "seed": 0,
        **config,
    }
    dataset = Dataset.from_dict({"prompt": GROUP_PROMPTS, "target_reward": [0.0] * 3})
    trainer = GRPOTrainer(
        model=model_path,
        reward_funcs=_fixed_reward,
        args=GRPOConfig(**settings),
        train_dataset=dataset,
        processing_class=build_tokenizer(),
    )
    trainer.model.train()
    return trainer


@pytest.mark.parametrize("scale", ["group", "batch", "none"])
def test_advantages_match_trl(model_path: str, tmp_path: Path, scale: str) -> None:
    size = len(GROUP_REWARDS[0])
    trainer = _trainer(
        model_path,
        tmp_path,
        per_device_train_batch_size=size * len(GROUP_PROMPTS),
        num_generations=size,
        max_completion_length=3,
        scale_rewards=scale,
    )
    rows = [
        {"prompt": prompt, "target_reward": reward}
        for prompt, rewards in zip(GROUP_PROMPTS, GROUP_REWARDS, strict=True)
        for reward in rewards
    ]
    trl_advantages = trainer._generate_and_score_completions(rows)["advantages"].tolist()

    samples = [
        Sample(
            prompt=({"role": "user", "content": row["prompt"]},),
            completion="",
            reward=row["target_reward"],
            agent="solver_0",
            role="solver",
            turn=0,
            task_id=f"task-{i // size}",
        )
        for i, row in enumerate(rows)
    ]
    ours = compute_advantages(samples, group_by="task", scale=scale)
    assert ours == pytest.approx(trl_advantages, rel=1e-6, abs=1e-6)
    assert trl_advantages[size : 2 * size] == [0.0] * size  # the zero-std group


def _batch(seed: int = 0) -> dict[str, torch.Tensor]:
    """Four left-padded prompts and right-padded completions of 5, 2, 3 and 0 tokens.

    The last completion is fully masked, as TRL's ``mask_truncated_completions`` leaves one.

    Args:
        seed: Seed of the token ids.

    Returns:
        TRL's input keys ``prompt_ids``, ``prompt_mask``, ``completion_ids``,
        ``completion_mask`` and ``advantages``.
    """
    gen = torch.Generator().manual_seed(seed)
    vocab = len(build_tokenizer())
    prompt_mask = torch.tensor([[0, 1, 1], [1, 1, 1], [0, 0, 1], [1, 1, 1]])
    completion_mask = torch.tensor(
        [[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0], [0, 0, 0, 0, 0]]
    )
    pad = build_tokenizer().pad_token_id
    prompt_ids = torch.randint(4, vocab, prompt_mask.shape, generator=gen)
    completion_ids = torch.randint(4, vocab, completion_mask.shape, generator=gen)
    return {
        "prompt_ids": prompt_ids.masked_fill(prompt_mask == 0, pad),
        "prompt_mask": prompt_mask,
        "completion_ids": completion_ids.masked_fill(completion_mask == 0, pad),
        "completion_mask": completion_mask,
        "advantages": torch.tensor([1.2, -0.7, 0.4, -1.0]),
    }


def _logprobs(model: torch.nn.Module, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """Per-token log-probabilities of the completion tokens, logits divided by the temperature.

    Args:
        model: A causal LM (TRL's fused-head patch leaves its plain forward unchanged).
        inputs: From :func:`_batch`.

    Returns:
        ``[B, T]`` log-probabilities (padding positions are arbitrary: the mask drops them).
    """
    prompt_len, ids = inputs["prompt_ids"].shape[1], inputs["completion_ids"]
    input_ids = torch.cat([inputs["prompt_ids"], ids], dim=1)
    attention_mask = torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], dim=1)
    logits = model(input_ids=input_ids, attention_mask=attention_mask).logits
    logits = logits[:, prompt_len - 1 : -1] / TEMPERATURE
    return torch.log_softmax(logits.float(), dim=-1).gather(-1, ids.unsqueeze(-1)).squeeze(-1)


def _loss_inputs(trainer: GRPOTrainer, beta: float) -> dict[str, torch.Tensor]:
    """The batch of :func:`_batch` with old (and reference) log-probabilities, as TRL reads it.

    The policy is perturbed away from the reference, and the old log-probabilities are shifted
    so that both clip bounds bite: ratio ``exp(-0.5)`` on a token of the negative-advantage
    second row, ``exp(0.5)`` on one of the positive-advantage first row.

    Args:
        trainer: The trainer whose model (and reference model) score the batch.
        beta: The KL coefficient (reference log-probabilities are added when positive).

    Returns:
        The inputs dict for ``GRPOTrainer.compute_loss``.
    """
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for param in trainer.model.parameters():
            param.add_(0.05 * torch.randn(param.shape, generator=gen))
    inputs = _batch()
    shift = torch.tensor([0.0, 0.5, -0.5, 0.1, -0.1]).repeat(4, 1)
    with torch.no_grad():
        inputs["old_per_token_logps"] = _logprobs(trainer.model, inputs) + shift
        if beta:
            inputs["ref_per_token_logps"] = _logprobs(trainer.ref_model, inputs)
    inputs["num_items_in_batch"] = inputs["completion_mask"].sum()
    return inputs


def _grads(model: torch.nn.Module, loss: torch.Tensor) -> list[torch.Tensor]:
    """The gradients of ``loss`` with respect to the model's parameters (zeroed first).

    Args:
        model: The model.
        loss: A scalar loss built from the model's outputs.

    Returns:
        One gradient per trainable parameter.
    """
    model.zero_grad()
    loss.backward()
    return [p.grad.clone() for p in model.parameters() if p.requires_grad]


def _rolegym_loss(
    trainer: GRPOTrainer, inputs: dict[str, torch.Tensor], loss_type: str, beta: float
) -> torch.Tensor:
    """The rolegym GRPO loss of ``inputs`` under the trainer's model.

    Args:
        trainer: The trainer whose model is scored.
        inputs: From :func:`_loss_inputs`.
        loss_type: The reduction.
        beta: The KL coefficient.

    Returns:
        The scalar loss.
    """
    per_token, _ = per_token_loss(
        _logprobs(trainer.model, inputs),
        inputs["old_per_token_logps"],
        inputs["advantages"],
        epsilon=EPSILON,
        epsilon_high=EPSILON_HIGH,
        ref_logprobs=inputs.get("ref_per_token_logps"),
        beta=beta,
    )
    return grpo_loss(
        per_token,
        inputs["completion_mask"],
        loss_type=loss_type,
        max_completion_length=MAX_COMPLETION_LENGTH,
    )


@pytest.mark.parametrize("beta", [0.0, 0.04])
@pytest.mark.parametrize("loss_type", ["grpo", "dapo", "bnpo", "dr_grpo"])
def test_loss_and_gradients_match_trl(
    model_path: str, tmp_path: Path, loss_type: str, beta: float
) -> None:
    trainer = _trainer(
        model_path, tmp_path, loss_type=loss_type, beta=beta, use_bias_correction_kl=False
    )
    trainer.current_gradient_accumulation_steps = 1  # what Trainer's loop sets each step
    inputs = _loss_inputs(trainer, beta)
    model = trainer.model

    trl_loss = trainer.compute_loss(model, inputs)
    trl_grads = _grads(model, trl_loss)
    metrics = trainer._metrics["train"]
    assert metrics["clip_ratio/low_mean"][-1] > 0 and metrics["clip_ratio/high_mean"][-1] > 0
    if beta:
        assert metrics["kl"][-1] > 1e-4  # the policy really moved away from the reference

    ours = _rolegym_loss(trainer, inputs, loss_type, beta)
    torch.testing.assert_close(ours, trl_loss, **LOSS_TOL)
    torch.testing.assert_close(_grads(model, ours), trl_grads, **GRAD_TOL)


def test_trl_default_kl_is_ratio_weighted(model_path: str, tmp_path: Path) -> None:
    """TRL's default ``use_bias_correction_kl=True`` weights k3 by the ratio; rolegym does not."""
    beta = 0.5
    trainer = _trainer(model_path, tmp_path, loss_type="dapo", beta=beta)
    assert trainer.args.use_bias_correction_kl
    trainer.current_gradient_accumulation_steps = 1
    inputs = _loss_inputs(trainer, beta)
    model = trainer.model
    trl_loss = trainer.compute_loss(model, inputs)
    trl_grads = _grads(model, trl_loss)

    logprobs, old = _logprobs(model, inputs), inputs["old_per_token_logps"]
    clip_term, _ = per_token_loss(
        logprobs, old, inputs["advantages"], epsilon=EPSILON, epsilon_high=EPSILON_HIGH
    )
    delta = inputs["ref_per_token_logps"] - logprobs
    weighted_kl = torch.exp(logprobs - old) * (torch.exp(delta) - delta - 1)
    weighted = grpo_loss(
        clip_term + beta * weighted_kl, inputs["completion_mask"], loss_type="dapo"
    )
    torch.testing.assert_close(weighted, trl_loss, **LOSS_TOL)
    torch.testing.assert_close(_grads(model, weighted), trl_grads, **GRAD_TOL)

    ours = _rolegym_loss(trainer, inputs, "dapo", beta)
    assert abs(ours.item() - trl_loss.item()) > 1e-4
    gap = max(
        (a - b).abs().max().item() for a, b in zip(_grads(model, ours), trl_grads, strict=True)
    )
    assert gap > 1e-2  # the ratio's gradient through the KL term, absent from plain k3


@pytest.mark.parametrize("loss_type", ["grpo", "dapo", "bnpo", "dr_grpo"])
def test_gradient_accumulation_normalisers(model_path: str, tmp_path: Path, loss_type: str) -> None:
    """Two micro-batches (7 and 3 tokens) of one generation batch, summed as Trainer does.

    ``grpo``, ``dr_grpo`` and ``dapo`` accumulate to rolegym's loss of the whole batch; TRL's
    ``bnpo`` accumulates to the mean of per-micro-batch token means instead.
    """
    trainer = _trainer(
        model_path,
        tmp_path,
        loss_type=loss_type,
        per_device_train_batch_size=2,
        gradient_accumulation_steps=2,
        use_bias_correction_kl=False,
    )
    assert trainer.args.steps_per_generation == 2
    trainer.current_gradient_accumulation_steps = 2
    inputs = _loss_inputs(trainer, beta=0.0)
    micro_batches = split_tensor_dict(inputs, 2)  # as GRPOTrainer._prepare_inputs splits
    assert [int(m["completion_mask"].sum()) for m in micro_batches] == [7, 3]
    assert all(int(m["num_items_in_batch"]) == 10 for m in micro_batches)
    trl_loss = sum(trainer.compute_loss(trainer.model, m) for m in micro_batches)

    whole = _rolegym_loss(trainer, inputs, loss_type, beta=0.0)
    if loss_type == "bnpo":
        per_micro = [_rolegym_loss(trainer, m, loss_type, beta=0.0) for m in micro_batches]
        torch.testing.assert_close(sum(per_micro) / 2, trl_loss, **LOSS_TOL)
        assert abs(whole.item() - trl_loss.item()) > 1e-3
    else:
        torch.testing.assert_close(whole, trl_loss, **LOSS_TOL)
