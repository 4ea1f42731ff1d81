"""Training rows: one per LLM call of a trainable role, with its tokens and advantage.

:func:`build_rows` turns finished episodes into :class:`Row` objects (the tokens the engine
recorded on each turn, never re-tokenised text), credits rewards (the environment's or a custom
``reward_fn(episode, turn, task)``), and computes advantages with a configurable group key.
:func:`sequence_logprobs` computes, for a micro-batch of rows, the per-token log-probabilities
of the completion tokens (logits divided by the sampling temperature, as TRL does) and the
entropies of the token distributions. Loss masks are explicit per row and never inferred from
pad ids (pad may equal EOS).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import torch

from rolegym.baselines.grpo.advantages import compute_advantages
from rolegym.baselines.grpo.memory import HEAD_CHUNK, head_logprobs, split_head
from rolegym.envs.episode import Episode, Sample, Turn, group_samples
from rolegym.tasks.base import Task

__all__ = [
    "RewardFn",
    "Row",
    "build_rows",
    "full_sequence_logprobs",
    "sequence_logprobs",
]

#: A custom reward assignment: the reward credited to one turn of a finished episode, given
#: the episode, the turn and the task it posed.
RewardFn = Callable[[Episode, Turn, Task], float]


@dataclass
class Row:
    """One completion to train on.

    Attributes:
        prompt_ids: Token ids of the templated prompt.
        completion_ids: Token ids of the completion (with the EOS token if it stopped).
        truncated: Whether it hit the token cap.
        reward: Its credited reward.
        advantage: Its advantage.
        role: Its role.
        agent: Its agent.
        learner: The learner it trains.
        group: Its advantage group key.
        parse_error: Whether the environment could not parse the completion (a fallback ran).
        verdict: A judging role's parsed verdict (``"correct"`` / ``"incorrect"``), else None.
    """

    prompt_ids: list[int]
    completion_ids: list[int]
    truncated: bool
    reward: float
    advantage: float
    role: str
    agent: str
    learner: str
    group: tuple[str | int, ...]
    parse_error: bool = False
    verdict: str | None = None


def build_rows(
    episodes: Sequence[Episode],
    *,
    learner_of: Callable[[str], str | None],
    reward_fn: RewardFn | None = None,
    tasks: Sequence[Task] | None = None,
    group_by: str = "task×agent×turn",
    baseline: str = "mean",
    scale: str = "group",
    skip_roles: Collection[str] = (),
) -> tuple[list[Row], dict[str, float]]:
    """Rows for every trainable turn, and reward statistics.

    Args:
        episodes: Finished episodes.
        learner_of: Role -> learner name (``None``: the role does not learn).
        reward_fn: Custom reward assignment (default: each turn's environment reward).
        tasks: The task of each episode (needed by ``reward_fn``).
        group_by: Advantage group key.
        baseline: ``"mean"`` or ``"leave_one_out"``.
        scale: ``"group"``, ``"batch"`` or ``"none"``.
        skip_roles: Roles never trained (scripted).

    Returns:
        The rows, and ``{"frac_reward_zero_std": ..., "groups": ...}``.
    """
    if reward_fn is not None and (tasks is None or len(tasks) != len(episodes)):
        raise ValueError("a reward_fn needs the task of every episode")
    samples: list[Sample] = []
    flags: list[tuple[bool, str | None]] = []  # (parse error, verdict) of each sample's turn
    for k, ep in enumerate(episodes):
        for turn, sample in zip(ep.turns, ep.to_samples(), strict=True):
            if turn.role in skip_roles or learner_of(turn.role) is None:
                continue
            if not turn.extras.get("completion_token_ids"):
                continue
            if reward_fn is not None:
                sample = dataclasses.replace(sample, reward=float(reward_fn(ep, turn, tasks[k])))
            samples.append(sample)
            flags.append((bool(turn.info.get("parse_error")), turn.info.get("verdict")))
    advantages = compute_advantages(samples, group_by=group_by, baseline=baseline, scale=scale)
    groups = group_samples(samples, group_by)
    zero_std = sum(1 for g in groups.values() if len({s.reward for s in g}) == 1)
    rows = [
        Row(
            prompt_ids=list(s.extras["prompt_token_ids"]),
            completion_ids=list(s.extras["completion_token_ids"]),
            truncated=s.extras.get("finish_reason") == "length",
            reward=s.reward,
            advantage=a,
            role=s.role,
            agent=s.agent,
            learner=str(learner_of(s.role)),
            group=s.group_key(group_by),
            parse_error=error,
            verdict=verdict,
        )
        for s, a, (error, verdict) in zip(samples, advantages, flags, strict=True)
    ]
    stats = {
        "frac_reward_zero_std": zero_std / len(groups) if groups else 0.0,
        "groups": float(len(groups)),
    }
    return rows, stats


def sequence_logprobs(
    model: torch.nn.Module,
    rows: Sequence[Row],
    *,
    temperature: float = 1.0,
    pad_id: int = 0,
    with_entropy: bool = False,
    chunk: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Log-probabilities of each row's completion tokens under ``model``.

    The backbone runs over prompt plus completion; the language-model head is applied only at
    the positions that predict completion tokens, a chunk of tokens at a time, and no
    ``[rows, length, vocab]`` tensor is ever made (:func:`.memory.head_logprobs`). Models whose
    head cannot be split off (scaled or soft-capped logits, an adapted head) get the full
    logits instead (:func:`full_sequence_logprobs`, the reference: both agree to rounding).

    Args:
        model: The causal LM (with the right adapter active).
        rows: The micro-batch.
        temperature: Logits are divided by it (the sampling distribution's log-probs).
        pad_id: Filler token id (masked out; its value never matters).
        with_entropy: Also return per-token entropies (detached).
        chunk: Tokens per chunk of the head (default :data:`.memory.HEAD_CHUNK`).

    Returns:
        ``(logprobs [B, C], mask [B, C], entropy [B, C] or None)`` with ``C`` the longest
        completion; ``mask`` is 1 on real completion tokens.
    """
    split = split_head(model)
    if split is None:
        return full_sequence_logprobs(
            model, rows, temperature=temperature, pad_id=pad_id, with_entropy=with_entropy
        )
    backbone, head = split
    ids, attn, positions, targets, mask = _layout(rows, pad_id, next(model.parameters()).device)
    hidden = backbone(input_ids=ids, attention_mask=attn, use_cache=False).last_hidden_state
    keep = mask.bool()
    picked_rows = torch.arange(len(rows), device=ids.device)[:, None].expand_as(positions)[keep]
    logp_flat, entropy_flat = head_logprobs(
        hidden[picked_rows, positions[keep]],
        head,
        targets[keep],
        temperature=temperature,
        with_entropy=with_entropy,
        chunk=chunk or HEAD_CHUNK,
    )
    logp = logp_flat.new_zeros(mask.shape)
    logp[keep] = logp_flat
    entropy = None
    if entropy_flat is not None:
        entropy = entropy_flat.new_zeros(mask.shape)
        entropy[keep] = entropy_flat
    return logp, mask.to(logp.dtype), entropy


def full_sequence_logprobs(
    model: torch.nn.Module,
    rows: Sequence[Row],
    *,
    temperature: float = 1.0,
    pad_id: int = 0,
    with_entropy: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """:func:`sequence_logprobs` through the full ``[rows, length, vocab]`` logits (reference)."""
    ids, attn, positions, targets, mask = _layout(rows, pad_id, next(model.parameters()).device)
    logits = model(input_ids=ids, attention_mask=attn, use_cache=False).logits
    picked = logits.gather(1, positions.unsqueeze(-1).expand(-1, -1, logits.shape[-1]))
    picked = picked.to(torch.promote_types(picked.dtype, torch.float32))  # bf16 -> fp32
    if temperature > 0:
        picked = picked / temperature
    logp_all = torch.log_softmax(picked, dim=-1)
    logp = logp_all.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    entropy = None
    if with_entropy:
        with torch.no_grad():
            entropy = -(logp_all.exp() * logp_all).sum(-1)
    return logp * mask.to(logp.dtype), mask.to(logp.dtype), entropy


def _layout(rows: Sequence[Row], pad_id: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    """Right-padded ``ids``/``attn`` ``[B, W]``; ``positions``/``targets``/``mask`` ``[B, C]``."""
    lengths = [len(r.prompt_ids) + len(r.completion_ids) for r in rows]
    width, comp = max(lengths), max(len(r.completion_ids) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attn = torch.zeros((len(rows), width), dtype=torch.long)
    positions = torch.zeros((len(rows), comp), dtype=torch.long)
    targets = torch.full((len(rows), comp), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), comp))
    for i, r in enumerate(rows):
        seq = r.prompt_ids + r.completion_ids
        ids[i, : len(seq)] = torch.tensor(seq)
        attn[i, : len(seq)] = 1
        n, start = len(r.completion_ids), len(r.prompt_ids) - 1
        positions[i, :n] = torch.arange(start, start + n)
        targets[i, :n] = torch.tensor(r.completion_ids)
        mask[i, :n] = 1
    return tuple(t.to(device) for t in (ids, attn, positions, targets, mask))
