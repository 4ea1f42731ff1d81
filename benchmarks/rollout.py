"""Rollout: EpisodeBatch against a plain per-agent AEC loop, same engine, same run.

For each workflow on arith, 64 episodes (8 groups of 8) are generated with a micro model
through the transformers engine, twice: with :class:`rolegym.rollout.EpisodeBatch` (one
engine call per round of ready agents) and with the plain PettingZoo loop (one engine call
per agent turn). Both sample each request with the same seed, so they produce the same
episodes; the figures are engine calls and wall time.

Goal (issue 6): Voting in 2 engine calls and at least 5x faster than the plain loop.

Run: ``python benchmarks/rollout.py`` (options: ``--help``).
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import tyro

import rolegym
from rolegym.baselines.micro import build_model, build_tokenizer
from rolegym.rollout import EpisodeBatch, Request, group_seed, sampling_seed
from rolegym.rollout.engines.hf import HFEngine


# ---------------------------------------------------------------------------- config
@dataclass
class Config:
    """Benchmark settings."""

    workflows: tuple[str, ...] = ("voting", "eval-opt", "orch-workers", "single")
    """workflows to run, each on its -arith-v0 env"""
    episodes: int = 64
    """episodes per workflow"""
    group_size: int = 8
    """episodes per task"""
    max_new_tokens: int = 32
    """completion length cap"""
    hidden_size: int = 64
    """micro model width"""
    threads: int = 2
    """torch CPU threads"""
    seed: int = 0
    """seed of the tasks and the weights"""
    out: Path = Path(__file__).parent / "results" / "rollout.json"
    """where to write the JSON result"""


class CountingEngine:
    """Counts the calls made to an engine."""

    def __init__(self, engine: HFEngine) -> None:
        self.engine, self.calls = engine, 0

    def generate(self, requests):
        """Forward to the engine, counting the call."""
        self.calls += 1
        return self.engine.generate(requests)


def plain_loop(env_id: str, engine: CountingEngine, cfg: Config) -> list:
    """The PettingZoo loop: one engine call per live agent turn."""
    episodes = []
    for g in range(cfg.episodes // cfg.group_size):
        first = rolegym.make(env_id)
        first.reset(seed=group_seed(cfg.seed, g))
        task = first.unwrapped.task
        for member in range(cfg.group_size):
            env = first if member == 0 else rolegym.make(env_id)
            if member:
                env.reset(seed=group_seed(cfg.seed, g), options={"task": task})
            raw = env.unwrapped
            for agent in env.agent_iter():
                _, _, terminated, truncated, _ = env.last(observe=False)
                if terminated or truncated:
                    env.step(None)
                    continue
                turn = len(raw.episode.turns_of(agent))
                request = Request(
                    env_index=g * cfg.group_size + member,
                    agent=agent,
                    role=raw.role(agent),
                    turn=turn,
                    messages=env.observe(agent)["messages"],
                    sampling_seed=sampling_seed(raw.episode.seed, agent, turn, member),
                    group=g,
                )
                env.step(engine.generate([request])[0].text)
            episodes.append(raw.episode)
    return episodes


def main(cfg: Config) -> dict:
    torch.set_num_threads(cfg.threads)
    engine = HFEngine(
        build_model(hidden_size=cfg.hidden_size, seed=cfg.seed),
        build_tokenizer(),
        max_new_tokens=cfg.max_new_tokens,
        temperature=0.7,
    )
    results: dict = {
        "benchmark": "rollout",
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "machine": {
            "python": platform.python_version(),
            "processor": platform.machine(),
            "torch": torch.__version__,
        },
        "peer": "plain PettingZoo AEC loop, one engine call per agent turn, same engine",
        "workflows": {},
    }
    for workflow in cfg.workflows:
        env_id = f"{workflow}-arith-v0"
        batched_engine = CountingEngine(engine)
        start = time.perf_counter()
        batched = EpisodeBatch(env_id, cfg.episodes, group_size=cfg.group_size).run(
            batched_engine, seed=cfg.seed
        )
        batch_s = time.perf_counter() - start
        plain_engine = CountingEngine(engine)
        start = time.perf_counter()
        plain = plain_loop(env_id, plain_engine, cfg)
        plain_s = time.perf_counter() - start
        same = [t.completion for e in batched for t in e.turns] == [
            t.completion for e in plain for t in e.turns
        ]
        row = {
            "episodes": cfg.episodes,
            "turns": sum(len(e.turns) for e in batched),
            "batch_engine_calls": batched_engine.calls,
            "plain_engine_calls": plain_engine.calls,
            "batch_s": batch_s,
            "plain_s": plain_s,
            "speedup": plain_s / batch_s,
            "same_completions": same,
        }
        results["workflows"][env_id] = row
        print(
            f"{env_id:24s} batch {row['batch_engine_calls']:3d} calls {batch_s:6.2f} s | plain "
            f"{row['plain_engine_calls']:4d} calls {plain_s:6.2f} s | {row['speedup']:5.1f}x"
            f" | same completions: {same}"
        )
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    cfg.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {cfg.out}")
    return results


if __name__ == "__main__":
    main(tyro.cli(Config))
