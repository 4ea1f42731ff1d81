"""REINFORCE with a per-role baseline, on rolegym's batched rollouts, in one file.

    .venv/bin/python examples/reinforce.py                          # voting-arith-v0
    .venv/bin/python examples/reinforce.py --env-id single-arith-v0

A whole algorithm on the library's two rollout pieces: ``EpisodeBatch`` plays many episodes
with one engine call per round of ready agents, and ``HFEngine`` samples from the model being
trained (every role shares it). Each turn is a sample; its advantage is its reward minus a
running mean of its role's rewards, so roles that are paid differently (the aggregator is paid
only when a voter was right) do not drown each other out. The micro model (built in code) cannot
do arithmetic, so by default it learns rolegym's dense micro reward (the share of its characters
that occur in the answer); ``--reward env`` uses the workflow's own 0/1 reward, for a real model.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Literal

import torch
import tyro

from rolegym.baselines.micro import answer_chars_reward, build_model, build_tokenizer
from rolegym.rollout import EpisodeBatch
from rolegym.rollout.engines.hf import HFEngine


@dataclass
class Args:
    """Settings; each is a command-line flag (``--env-id``, ``--steps``, ...)."""

    env_id: str = "voting-arith-v0"
    reward: Literal["micro", "env"] = "micro"
    steps: int = 40
    episodes_per_step: int = 32
    max_new_tokens: int = 8
    learning_rate: float = 3e-3
    baseline_decay: float = 0.9  # the per-role baseline: an exponential moving average
    seed: int = 0
    out: str = "runs/reinforce"


def completion_logprobs(model, prompts, completions, pad_id):
    """Sum of log p(completion | prompt) per sample, in one padded forward pass."""
    seqs = [p + c for p, c in zip(prompts, completions, strict=True)]
    width = max(map(len, seqs))
    ids = torch.full((len(seqs), width), pad_id)
    attention = torch.zeros_like(ids)
    for i, s in enumerate(seqs):  # right padding: positions stay 0..len-1
        ids[i, : len(s)] = torch.tensor(s)
        attention[i, : len(s)] = 1
    logits = model(input_ids=ids, attention_mask=attention).logits[:, :-1].float()
    token_logps = torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None]).squeeze(-1)
    mask = torch.zeros_like(token_logps)
    for i, (p, c) in enumerate(zip(prompts, completions, strict=True)):
        mask[i, len(p) - 1 : len(p) - 1 + len(c)] = 1
    return (token_logps * mask).sum(-1)


def main(a: Args) -> list[float]:
    """Train; returns the mean reward of every step."""
    model, tokenizer = build_model(hidden_size=64, layers=2, seed=a.seed), build_tokenizer()
    optimizer = torch.optim.AdamW(model.parameters(), lr=a.learning_rate, weight_decay=0.0)
    engine = HFEngine(model, tokenizer, max_new_tokens=a.max_new_tokens, temperature=1.0)
    batch = EpisodeBatch(a.env_id, a.episodes_per_step)
    baseline: dict[str, float] = {}
    history: list[float] = []
    for step in range(a.steps):
        model.eval()
        episodes = batch.run(engine, seed=a.seed * 100_003 + step)
        prompts, completions, advantages, rewards = [], [], [], []
        for env, episode in zip(batch.envs, episodes, strict=True):
            for turn in episode.turns:
                if a.reward == "micro":
                    reward = answer_chars_reward(episode, turn, env.unwrapped.task)
                else:
                    reward = turn.reward
                b = baseline.get(turn.role, reward)
                baseline[turn.role] = a.baseline_decay * b + (1 - a.baseline_decay) * reward
                prompts.append(turn.extras["prompt_token_ids"])
                completions.append(turn.extras["completion_token_ids"])
                advantages.append(reward - b)
                rewards.append(reward)
        model.train()
        logps = completion_logprobs(model, prompts, completions, tokenizer.pad_token_id)
        loss = -(torch.tensor(advantages) * logps).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(sum(rewards) / len(rewards))
        correct = sum(bool(ep.correct) for ep in episodes) / len(episodes)
        print(f"step {step:3d}  reward {history[-1]:.3f}  correct {correct:.2f}", flush=True)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "rewards.json"), "w") as f:
        json.dump({"args": vars(a), "rewards": history}, f, indent=1)
    return history


if __name__ == "__main__":
    main(tyro.cli(Args))
