"""The GRPO policy loss: PPO-clip per token, an optional k3 KL term, and explicit reductions.

Per token ``t`` of a completion with advantage ``A``::

    ratio = exp(logp - old_logp)
    loss  = -min(ratio * A, clip(ratio, 1 - epsilon, 1 + epsilon_high) * A) + beta * k3

with the asymmetric clip of DAPO (``epsilon=0.2``, ``epsilon_high=0.28`` by default) and
``k3 = exp(ref - logp) - (ref - logp) - 1`` against the reference policy (the adapter-disabled
base) when ``beta > 0``.

Reductions use TRL's ``loss_type`` names:

- ``"grpo"``: mean over each completion's tokens, then mean over completions;
- ``"bnpo"``: sum over all tokens / number of tokens;
- ``"dr_grpo"``: sum over all tokens / (completions * ``max_completion_length``);
- ``"dapo"``: like ``"bnpo"`` (token-level normalisation over the whole batch).

The normaliser scope is explicit: with ``scopes`` (one label per completion, such as its
policy or role) the reduction runs within each scope and the scope losses are summed, so a
role's loss is not diluted by another role's token count; without it the whole batch is one
scope ("global"). Truncated completions can be masked out entirely (``mask`` rows of zeros).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Literal

import torch

__all__ = ["LOSS_TYPES", "grpo_loss", "per_token_loss", "token_weights"]

LOSS_TYPES = ("grpo", "bnpo", "dr_grpo", "dapo")
LossType = Literal["grpo", "bnpo", "dr_grpo", "dapo"]


def per_token_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    *,
    epsilon: float = 0.2,
    epsilon_high: float = 0.28,
    ref_logprobs: torch.Tensor | None = None,
    beta: float = 0.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The per-token loss ``[B, T]`` and per-token statistics (clipped, ratio, kl).

    Args:
        logprobs: Current policy log-probabilities of the sampled tokens, ``[B, T]``.
        old_logprobs: The sampling policy's, ``[B, T]`` (detached).
        advantages: One per completion, ``[B]``.
        epsilon: Lower clip range.
        epsilon_high: Upper clip range.
        ref_logprobs: Reference policy log-probabilities, ``[B, T]``, for the KL term.
        beta: KL coefficient (0: no KL, as the paper).
    """
    ratio = torch.exp(logprobs - old_logprobs)
    clipped = torch.clamp(ratio, 1 - epsilon, 1 + epsilon_high)
    adv = advantages.unsqueeze(1)
    unclipped_obj, clipped_obj = ratio * adv, clipped * adv
    loss = -torch.min(unclipped_obj, clipped_obj)
    stats = {"ratio": ratio.detach(), "clipped": (clipped_obj < unclipped_obj).float().detach()}
    if beta and ref_logprobs is not None:
        delta = ref_logprobs - logprobs
        kl = torch.exp(delta) - delta - 1
        loss = loss + beta * kl
        stats["kl"] = kl.detach()
    return loss, stats


def _reduce(
    per_token: torch.Tensor, mask: torch.Tensor, loss_type: str, max_len: int
) -> torch.Tensor:
    masked = per_token * mask
    if loss_type == "grpo":
        lengths = mask.sum(-1).clamp(min=1)
        return (masked.sum(-1) / lengths).mean()
    if loss_type in ("bnpo", "dapo"):
        return masked.sum() / mask.sum().clamp(min=1)
    if loss_type == "dr_grpo":
        return masked.sum() / (per_token.shape[0] * max_len)
    raise ValueError(f"loss_type must be one of {LOSS_TYPES}, got {loss_type!r}")


def grpo_loss(
    per_token: torch.Tensor,
    mask: torch.Tensor,
    *,
    loss_type: LossType = "dapo",
    scopes: Sequence[Hashable] | None = None,
    max_completion_length: int | None = None,
) -> torch.Tensor:
    """Reduce a per-token loss ``[B, T]`` under ``mask`` (see the module docstring).

    Args:
        per_token: From :func:`per_token_loss`.
        mask: 1 for completion tokens that count, 0 for padding and masked completions.
        loss_type: One of :data:`LOSS_TYPES`.
        scopes: One label per completion: reduce within each label, then sum (``None``: one
            global scope).
        max_completion_length: For ``"dr_grpo"`` (default: ``T``).
    """
    mask = mask.to(per_token.dtype)
    max_len = max_completion_length or per_token.shape[1]
    if scopes is None:
        return _reduce(per_token, mask, loss_type, max_len)
    if len(scopes) != per_token.shape[0]:
        raise ValueError("give one scope label per completion")
    total = per_token.new_zeros(())
    for label in dict.fromkeys(scopes):
        rows = torch.tensor([s == label for s in scopes], device=per_token.device)
        total = total + _reduce(per_token[rows], mask[rows], loss_type, max_len)
    return total


def token_weights(
    mask: torch.Tensor,
    *,
    loss_type: LossType = "dapo",
    scopes: Sequence[Hashable] | None = None,
    max_completion_length: int | None = None,
    scope_names: Sequence[Hashable] | None = None,
    all_reduce: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Per-token weights ``w`` such that the batch loss is ``(per_token * w).sum()``.

    The same reduction as :func:`grpo_loss`, computed once for the whole batch so that any
    split of the rows into micro-batches (gradient accumulation) or across processes (data
    parallel) sums to the same loss: every normaliser (tokens or completions of a scope) is a
    count over the whole batch. ``bnpo`` and ``dapo`` coincide here (TRL's ``bnpo`` counts the
    tokens of one micro-batch; rolegym counts the batch's, so accumulation cannot change it).

    Args:
        mask: ``[B, T]``, 1 for tokens that count.
        loss_type: One of :data:`LOSS_TYPES`.
        scopes: One label per row (``None``: one global scope).
        max_completion_length: For ``"dr_grpo"`` (default: ``T``).
        scope_names: Every scope label, in an order all processes agree on (needed with
            ``all_reduce``, since a process may hold no row of some scope).
        all_reduce: Sums a tensor of counts across processes (data parallel).
    """
    if loss_type not in LOSS_TYPES:
        raise ValueError(f"loss_type must be one of {LOSS_TYPES}, got {loss_type!r}")
    mask = mask.to(torch.float64)
    rows = mask.shape[0]
    labels = [None] * rows if scopes is None else list(scopes)
    if len(labels) != rows:
        raise ValueError("give one scope label per completion")
    names = list(scope_names) if scope_names is not None else sorted(set(labels), key=repr)
    index = torch.tensor([names.index(label) for label in labels], dtype=torch.long)
    lengths = mask.sum(-1)
    counts = torch.zeros(len(names), 2, dtype=torch.float64)  # [tokens, completions]
    counts[:, 0].index_add_(0, index, lengths)
    counts[:, 1].index_add_(0, index, torch.ones(rows, dtype=torch.float64))
    if all_reduce is not None:
        counts = all_reduce(counts)
    tokens, completions = counts[index, 0], counts[index, 1]
    if loss_type in ("bnpo", "dapo"):
        per_row = 1 / tokens.clamp(min=1)
        return mask * per_row.unsqueeze(1)
    if loss_type == "grpo":
        per_row = 1 / (lengths.clamp(min=1) * completions)
        return mask * per_row.unsqueeze(1)
    max_len = max_completion_length or mask.shape[1]
    return mask / (completions * max_len).unsqueeze(1)
