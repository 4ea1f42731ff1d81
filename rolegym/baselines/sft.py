"""Supervised warm start: role transcripts from a scripted policy, then cross-entropy.

A model that has never seen a workflow's formats gets no reward and so no GRPO signal. A short
supervised phase on transcripts played by a scripted policy (each role's observation and the
policy's output) teaches every role its format first. :func:`collect_transcripts` plays
episodes in the AEC loop; :func:`supervised_finetune` trains on the completions' tokens
(templated exactly as the rollout engines template prompts, end-of-turn token included),
with its own seeded generator for the batch order and batches of similar lengths.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from rolegym.registration import make

__all__ = ["Transcript", "collect_transcripts", "supervised_finetune"]


@dataclass(frozen=True)
class Transcript:
    """One call: what the role saw and what it should write."""

    env_id: str
    role: str
    messages: tuple[dict[str, str], ...]
    completion: str


def collect_transcripts(
    env_id: str,
    policy: Callable[[Any, str], str],
    episodes: int,
    *,
    seed: int = 0,
    **env_kwargs: Any,
) -> list[Transcript]:
    """Play ``episodes`` episodes with ``policy(env, agent)`` and keep every call."""
    env = make(env_id, **env_kwargs)
    out: list[Transcript] = []
    for k in range(episodes):
        env.reset(seed=seed + k)
        raw = env.unwrapped
        for agent in env.agent_iter():
            _, _, terminated, truncated, _ = env.last(observe=False)
            if terminated or truncated:
                env.step(None)
                continue
            messages = tuple(dict(m) for m in env.observe(agent)["messages"])
            action = policy(raw, agent)
            out.append(Transcript(env_id, raw.role(agent), messages, action))
            env.step(action)
    env.close()
    return out


def _encode(tokenizer: Any, t: Transcript) -> tuple[list[int], list[int]]:
    text = tokenizer.apply_chat_template(
        list(t.messages), add_generation_prompt=True, tokenize=False, enable_thinking=False
    )
    prompt = tokenizer(text, add_special_tokens=False)["input_ids"]
    completion = tokenizer(t.completion, add_special_tokens=False)["input_ids"]
    return prompt, [*completion, tokenizer.eos_token_id]


def _bucketed(
    encoded: Sequence[tuple[list[int], list[int]]], batch_size: int, generator: torch.Generator
) -> list[list[int]]:
    """One epoch of batches of similar lengths (little padding), in a seeded random order.

    A random permutation is cut into pools of 32 batches; each pool is sorted by length and
    cut into batches; the batches are then shuffled.
    """
    order = torch.randperm(len(encoded), generator=generator).tolist()
    pool = 32 * batch_size
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: sum(map(len, encoded[i])))
        batches += [chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size)]
    shuffle = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffle]


def supervised_finetune(
    model: torch.nn.Module,
    tokenizer: Any,
    transcripts: Sequence[Transcript],
    *,
    steps: int,
    batch_size: int = 32,
    learning_rate: float = 3e-3,
    seed: int = 0,
    progress: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Train ``model`` on the completions of ``transcripts``; returns the loss per step.

    Args:
        model: A causal LM (trained in place).
        tokenizer: Its tokenizer (with a chat template).
        transcripts: What to imitate.
        steps: Optimizer steps.
        batch_size: Transcripts per step (epoch after epoch, batches of similar lengths).
        learning_rate: AdamW learning rate (cosine decay to 0).
        seed: Seed of the batch order.
        progress: Called with (step, loss) after every step.
    """
    if not transcripts:
        raise ValueError("no transcripts to train on")
    device = next(model.parameters()).device
    encoded = [_encode(tokenizer, t) for t in transcripts]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=learning_rate, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(steps, 1))
    generator = torch.Generator().manual_seed(seed)
    batches: list[list[int]] = []
    losses = []
    for step in range(steps):
        if not batches:
            batches = _bucketed(encoded, batch_size, generator)
        batch = [encoded[i] for i in batches.pop()]
        width = max(len(p) + len(c) for p, c in batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        attn = torch.zeros((len(batch), width), dtype=torch.long)
        for row, (p, c) in enumerate(batch):
            seq = p + c
            ids[row, : len(seq)] = torch.tensor(seq)
            attn[row, : len(seq)] = 1
            labels[row, len(p) : len(seq)] = torch.tensor(c)
        ids, labels, attn = ids.to(device), labels.to(device), attn.to(device)
        logits = model(input_ids=ids, attention_mask=attn, use_cache=False).logits[:, :-1]
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]).float(),
            labels[:, 1:].reshape(-1),
            ignore_index=-100,
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        losses.append(float(loss.detach()))
        if progress is not None:
            progress(step + 1, losses[-1])
    return losses
