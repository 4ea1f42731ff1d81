"""What keeps the update's memory bounded at long completions and large vocabularies.

- :func:`head_logprobs`: the language-model head applied only at completion positions, in
  chunks of tokens, by a custom autograd function that keeps no ``[tokens, vocab]`` tensor
  between its forward and backward passes (with a frozen head the forward pass keeps the
  ``[tokens, hidden]`` expected head row instead; a trainable head's backward recomputes each
  chunk's logits). With
  Qwen3's 151,936-token vocabulary one 5,120-token completion's logits are 3.1 GB in float32;
  here a chunk of 256 tokens is 156 MB, whatever the length.
- :func:`checkpointing`: the model's gradient checkpointing (transformers'
  ``gradient_checkpointing_enable``) switched on for the forward passes of an update only,
  while the model stays in eval mode (no dropout: the update draws from no random stream).
- :func:`micro_batches`: rows packed into micro-batches holding at most a token budget
  (rows x longest row, as padded) as well as at most a number of rows.

None of them changes the update: log-probabilities and entropies equal the full-logits
computation's (float64: to rounding), and the loss weights are global, so micro-batching never
changes a gradient (tests in ``tests/baselines/test_memory.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F

from rolegym.rollout.types import pack_batches

__all__ = [
    "checkpointing",
    "gradient_checkpointing_enable",
    "head_logprobs",
    "micro_batches",
    "split_head",
]

#: Tokens per chunk of the language-model head (a ``[chunk, vocab]`` float32 tensor at a time).
HEAD_CHUNK = 256


class _HeadLogProbs(torch.autograd.Function):
    """Log-probabilities (and entropies) of target tokens under ``softmax(h W^T + b) / T``.

    When only the hidden states need a gradient (the head is frozen, as under LoRA or with
    embeddings tied to a frozen head), ``d logp_t / d h_t = (W[target_t] - E_p[W]) / T`` needs
    nothing of the chunk's logits but ``E_p[W] = p_t W``, an ``[N, H]`` tensor computed in the
    forward pass from the softmax it already has: the backward pass then runs no head matmul
    (two per chunk in all instead of three). A trainable head or bias needs the softmax weighted
    by the incoming gradient, so then the backward pass recomputes each chunk's logits.
    """

    @staticmethod
    def forward(
        ctx: Any,
        hidden: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        targets: torch.Tensor,
        temperature: float,
        chunk: int,
        with_entropy: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        out_dtype = torch.promote_types(weight.dtype, torch.float32)  # bf16 -> fp32
        need_h, need_w, need_b = ctx.needs_input_grad[:3]
        expect = need_h and not need_w and not (need_b and bias is not None)
        n = hidden.shape[0]
        logp = hidden.new_empty(n, dtype=out_dtype)
        lse = hidden.new_empty(n, dtype=out_dtype)
        entropy = hidden.new_empty(n if with_entropy else 0, dtype=out_dtype)
        mean_w = hidden.new_empty((n, weight.shape[1]) if expect else (0,), dtype=out_dtype)
        for s in range(0, n, chunk):
            z = _logits(hidden[s : s + chunk], weight, bias, temperature, out_dtype)
            lse[s : s + chunk] = torch.logsumexp(z, dim=-1)
            picked = z.gather(-1, targets[s : s + chunk, None]).squeeze(-1)
            logp[s : s + chunk] = picked - lse[s : s + chunk]
            if not (with_entropy or expect):
                continue
            log_p = z.sub_(lse[s : s + chunk, None])  # in place: z is not needed again
            p = log_p.exp()
            if with_entropy:  # -sum p log p
                entropy[s : s + chunk] = -torch.linalg.vecdot(p, log_p)
            if expect:
                mean_w[s : s + chunk] = (p.to(weight.dtype) @ weight).to(out_dtype)
        if expect:
            ctx.save_for_backward(weight, targets, mean_w)
        else:
            ctx.save_for_backward(hidden, weight, bias, targets, lse)
        ctx.temperature, ctx.chunk, ctx.expect = temperature, chunk, expect
        ctx.hidden_dtype = hidden.dtype
        ctx.mark_non_differentiable(entropy)
        return logp, entropy

    @staticmethod
    def backward(ctx: Any, grad_logp: torch.Tensor, _grad_entropy: Any) -> tuple[Any, ...]:
        if ctx.expect:
            weight, targets, mean_w = ctx.saved_tensors
            g = grad_logp.to(mean_w.dtype)
            if ctx.temperature > 0:
                g = g / ctx.temperature
            grad_h = (weight[targets].to(mean_w.dtype) - mean_w).mul_(g[:, None])
            return grad_h.to(ctx.hidden_dtype), None, None, None, None, None, None
        hidden, weight, bias, targets, lse = ctx.saved_tensors
        need_h, need_w, need_b = ctx.needs_input_grad[:3]
        grad_h = torch.zeros_like(hidden) if need_h else None
        grad_w = torch.zeros_like(weight) if need_w else None
        grad_b = torch.zeros_like(bias) if need_b and bias is not None else None
        out_dtype = lse.dtype
        for s in range(0, hidden.shape[0], ctx.chunk):
            h = hidden[s : s + ctx.chunk]
            g = grad_logp[s : s + ctx.chunk].to(out_dtype)
            z = _logits(h, weight, bias, ctx.temperature, out_dtype)
            # d logp_t / d z = onehot(target) - softmax(z); then through z = logits / T
            grad_z = torch.exp(z - lse[s : s + ctx.chunk, None]).mul_(-g[:, None])
            grad_z.scatter_add_(-1, targets[s : s + ctx.chunk, None], g[:, None])
            if ctx.temperature > 0:
                grad_z.div_(ctx.temperature)
            grad_z = grad_z.to(weight.dtype)
            if grad_h is not None:
                grad_h[s : s + ctx.chunk] = (grad_z @ weight).to(hidden.dtype)
            if grad_w is not None:
                grad_w += grad_z.T @ h.to(weight.dtype)
            if grad_b is not None:
                grad_b += grad_z.sum(0)
        return grad_h, grad_w, grad_b, None, None, None, None


def _logits(
    h: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    temperature: float,
    out_dtype: torch.dtype,
) -> torch.Tensor:
    with torch.autocast(h.device.type, enabled=False):  # the head in the weights' precision
        z = F.linear(h.to(weight.dtype), weight, bias).to(out_dtype)
    return z / temperature if temperature > 0 else z


def head_logprobs(
    hidden: torch.Tensor,
    head: torch.nn.Linear,
    targets: torch.Tensor,
    *,
    temperature: float = 1.0,
    with_entropy: bool = False,
    chunk: int = HEAD_CHUNK,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Log-probabilities of ``targets`` after ``hidden``, the head applied chunk by chunk.

    Args:
        hidden: Final hidden states ``[N, H]`` at the positions that predict ``targets``.
        head: The language-model head (a plain ``Linear``).
        targets: ``[N]`` token ids.
        temperature: Logits are divided by it (the sampling distribution's log-probs).
        with_entropy: Also return the entropy of each position's distribution (detached).
        chunk: Tokens per chunk.

    Returns:
        ``(logprobs [N], entropies [N] or None)``, float32 or wider.
    """
    logp, entropy = _HeadLogProbs.apply(
        hidden, head.weight, head.bias, targets, float(temperature), int(chunk), with_entropy
    )
    return logp, (entropy if with_entropy else None)


def split_head(model: Any) -> tuple[Any, torch.nn.Linear] | None:
    """``(backbone, head)`` of a causal LM (PEFT-wrapped or not), or ``None`` if not splittable.

    The backbone returns final hidden states (``last_hidden_state``); the head is a plain
    ``Linear``. Models that scale or soft-cap their logits, or whose head is itself adapted,
    are not split (callers then compute full logits).
    """
    lm = model.get_base_model() if hasattr(model, "get_base_model") else model  # PEFT
    head = lm.get_output_embeddings() if hasattr(lm, "get_output_embeddings") else None
    backbone = getattr(lm, getattr(lm, "base_model_prefix", "model"), None)
    if type(head) is not torch.nn.Linear or backbone is None or backbone is lm:
        return None
    config = getattr(lm, "config", None)
    for name in ("final_logit_softcapping", "logit_scale", "logits_scaling", "output_multiplier"):
        if getattr(config, name, None) not in (None, 1, 1.0):
            return None
    return backbone, head


def gradient_checkpointing_enable(model: Any) -> None:
    """Turn on transformers' gradient checkpointing (non-reentrant) for ``model``'s layers."""
    lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    lm.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})


@contextmanager
def checkpointing(model: Any, enabled: bool = True) -> Iterator[None]:
    """Forward passes inside checkpoint every layer (if :func:`gradient_checkpointing_enable`).

    transformers checkpoints a layer only in training mode; here only the layers' own flag is
    raised, so dropout and every other module stay in eval mode.
    """
    layers = []
    if enabled:
        layers = [m for m in model.modules() if getattr(m, "gradient_checkpointing", False)]
    states = [m.training for m in layers]
    for m in layers:
        m.training = True
    try:
        yield
    finally:
        for m, state in zip(layers, states, strict=True):
            m.training = state


def micro_batches(
    indices: Sequence[int], lengths: Sequence[int], *, max_rows: int, max_tokens: int | None
) -> list[list[int]]:
    """Consecutive runs of ``indices`` of at most ``max_rows`` rows and ``max_tokens`` tokens.

    A micro-batch is padded to its longest row, so it holds ``rows x longest`` tokens; a row
    longer than the budget forms a micro-batch of its own.

    Args:
        indices: Row indices, in order.
        lengths: Prompt plus completion tokens of every row (indexed by row index).
        max_rows: Most rows per micro-batch.
        max_tokens: Most padded tokens per micro-batch (``None``: no budget).
    """
    indices = list(indices)
    runs = pack_batches([lengths[i] for i in indices], max_rows=max_rows, max_tokens=max_tokens)
    return [indices[r.start : r.stop] for r in runs]
