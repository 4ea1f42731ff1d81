"""Environment overhead: agent turns/s of each workflow on arith against tictactoe_v3 steps/s.

Both are measured in the same run, on the same machine.

A "turn" is one live ``step`` of an agent (one LLM call's worth of env work: observation,
parsing, bookkeeping, and at the episode's end the verification and reward crediting); the
dead steps, ``reset`` and ``last`` of the AEC loop are included in the time. The policy is
:class:`rolegym.envs.scripted.WrongPolicy` (well-formatted answers computed with a few string
operations), so the figure is the environment's own cost. The peer loop is the same AEC loop
over ``tictactoe_v3`` with uniformly random legal moves.

Goal (issue 2): our per-turn cost within 3x of tictactoe's per-step cost.

Run: ``python benchmarks/env_overhead.py`` (options: ``--help``).
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import tyro
from pettingzoo.classic import tictactoe_v3

import rolegym
from rolegym.envs.scripted import OraclePolicy, WrongPolicy


# ---------------------------------------------------------------------------- config
@dataclass
class Config:
    """Benchmark settings."""

    workflows: tuple[str, ...] = ("single", "voting", "eval-opt", "orch-workers")
    """workflows to time, each on its ``-arith-v0`` env"""
    turns: int = 20_000
    """agent turns (or tictactoe steps) per repeat"""
    repeats: int = 5
    """timed repeats; the median is reported"""
    seed: int = 0
    """seed of the env and the peer's move choice"""
    out: Path = Path(__file__).parent / "results" / "env_overhead.json"
    """where to write the JSON result"""


# ---------------------------------------------------------------------------- timing
def time_rolegym(env_id: str, turns: int, seed: int, policy) -> float:
    """Seconds for ``turns`` live agent turns (whole episodes, the last one may overshoot)."""
    env = rolegym.make(env_id)
    raw = env.unwrapped
    done_turns = 0
    episode = 0
    start = time.perf_counter()
    while done_turns < turns:
        env.reset(seed=seed + episode)
        episode += 1
        for agent in env.agent_iter():
            _, _, terminated, truncated, _ = env.last()
            if terminated or truncated:
                env.step(None)
            else:
                env.step(policy(raw, agent))
                done_turns += 1
    return (time.perf_counter() - start) / done_turns


def time_tictactoe(steps: int, seed: int) -> float:
    """Seconds per step of tictactoe_v3 with random legal moves."""
    env = tictactoe_v3.env()
    rng = np.random.default_rng(seed)
    done = 0
    episode = 0
    start = time.perf_counter()
    while done < steps:
        env.reset(seed=seed + episode)
        episode += 1
        for _agent in env.agent_iter():
            obs, _, terminated, truncated, _ = env.last()
            if terminated or truncated:
                action = None
            else:
                action = int(rng.choice(np.flatnonzero(obs["action_mask"])))
            env.step(action)
            done += 1
    return (time.perf_counter() - start) / done


def main(cfg: Config) -> dict:
    results: dict = {
        "benchmark": "env_overhead",
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "peer": "pettingzoo.classic.tictactoe_v3 (random legal moves)",
        "workflows": {},
    }
    peer = statistics.median(time_tictactoe(cfg.turns, cfg.seed) for _ in range(cfg.repeats))
    results["peer_us_per_step"] = peer * 1e6
    results["peer_steps_per_s"] = 1 / peer
    for wf in cfg.workflows:
        env_id = f"{wf}-arith-v0"
        row = {}
        for name, policy in (("wrong", WrongPolicy()), ("oracle", OraclePolicy())):
            per_turn = statistics.median(
                time_rolegym(env_id, cfg.turns, cfg.seed, policy) for _ in range(cfg.repeats)
            )
            row[name] = {
                "us_per_turn": per_turn * 1e6,
                "turns_per_s": 1 / per_turn,
                "ratio_to_peer": per_turn / peer,
            }
        row["within_goal"] = row["wrong"]["ratio_to_peer"] <= 3.0
        results["workflows"][env_id] = row
        print(
            f"{env_id:24s} {row['wrong']['turns_per_s']:10.0f} turns/s "
            f"({row['wrong']['ratio_to_peer']:.2f}x tictactoe per-step cost; "
            f"oracle policy {row['oracle']['ratio_to_peer']:.2f}x)"
        )
    print(f"{'tictactoe_v3':24s} {1 / peer:10.0f} steps/s")
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    cfg.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {cfg.out}")
    return results


if __name__ == "__main__":
    main(tyro.cli(Config))
