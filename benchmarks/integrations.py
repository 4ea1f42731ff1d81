"""Integration overhead: what meeting other tools costs, against the same work done natively.

Three comparisons, each in one run on one machine:

- **SingleRole** (Gymnasium): whole ``voting-arith-v0`` episodes through
  ``SingleRole(role="aggregator", others=WrongPolicy)``, the learner answering with the same
  policy, against the plain AEC loop playing the same episodes. Goal: <= 1.2x per episode.
- **OpenEnv**: the same episodes played by OpenEnv's ``EnvClient`` over a loopback WebSocket
  (``rolegym serve-env``'s app under uvicorn) against the in-process AEC loop; the figure is
  the per-step latency the transport adds. Goal: under 5 ms per step.
- **TRL**: one ``GRPOTrainer`` step on ``single-arith-v0`` with ``RolegymRollout`` as its
  ``rollout_func``, against TRL's own generation path on the same prompts (the env's
  observation, chat-templated by TRL), model, reward (the micro reward on the completion) and
  settings. Goal: <= 1.5x step time.

Run: ``python benchmarks/integrations.py`` (options: ``--help``).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import tyro

import rolegym
from rolegym.envs.scripted import WrongPolicy

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")


# ---------------------------------------------------------------------------- config
@dataclass
class Config:
    """Benchmark settings."""

    episodes: int = 300
    """episodes per repeat (SingleRole and OpenEnv)"""
    repeats: int = 5
    """timed repeats; the median is reported"""
    trl_steps: int = 6
    """GRPO steps per trainer (the first is warm-up, not timed)"""
    trl_tasks: int = 8
    """tasks per GRPO step"""
    trl_generations: int = 8
    """completions per task"""
    threads: int = 2
    """torch threads of the TRL comparison"""
    seed: int = 0
    """seed of everything"""
    out: Path = Path(__file__).parent / "results" / "integrations.json"
    """where to write the JSON result"""


# ---------------------------------------------------------------------------- SingleRole
def aec_episodes(n: int, seed: int) -> float:
    """Seconds for ``n`` voting episodes through the plain AEC loop (WrongPolicy everywhere)."""
    env, policy = rolegym.make("voting-arith-v0"), WrongPolicy()
    start = time.perf_counter()
    for k in range(n):
        env.reset(seed=seed + k)
        for agent in env.agent_iter():
            _, _, terminated, truncated, _ = env.last(observe=False)
            env.step(None if terminated or truncated else policy(env.unwrapped, agent))
    return time.perf_counter() - start


def single_role_episodes(n: int, seed: int) -> float:
    """Seconds for the same episodes through ``SingleRole`` (learner: the aggregator)."""
    from rolegym.wrappers import SingleRole

    env, policy = SingleRole("voting-arith-v0", role="aggregator", others="wrong"), WrongPolicy()
    start = time.perf_counter()
    for k in range(n):
        _, info = env.reset(seed=seed + k)
        done = False
        while not done:
            _, _, terminated, truncated, info = env.step(policy(env.aec.unwrapped, info["agent"]))
            done = terminated or truncated
    return time.perf_counter() - start


# ---------------------------------------------------------------------------- OpenEnv
def openenv_episodes(n: int, seed: int) -> tuple[float, int]:
    """Seconds and agent steps for ``n`` voting episodes over a loopback WebSocket session."""
    import uvicorn

    from rolegym.integrations.openenv import RolegymAction, RolegymEnvClient, create_rolegym_app

    config = uvicorn.Config(create_rolegym_app("voting-arith-v0"), port=0, log_level="error")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    local, policy = rolegym.make("voting-arith-v0"), WrongPolicy()

    async def play() -> tuple[float, int]:
        steps = 0
        async with RolegymEnvClient(base_url=url) as client:
            start = time.perf_counter()
            for k in range(n):
                local.reset(seed=seed + k)  # a replica only to compute the policy's answers
                result = await client.reset(seed=seed + k)
                while not result.done:
                    agent = result.observation.agent
                    text = policy(local.unwrapped, agent)
                    local.step(text)
                    result = await client.step(RolegymAction(agent=agent, text=text))
                    steps += 1
            return time.perf_counter() - start, steps

    try:
        return asyncio.run(play())
    finally:
        server.should_exit = True


# ---------------------------------------------------------------------------- TRL
def trl_step_times(c: Config, use_rolegym: bool) -> list[float]:
    """Seconds of each timed GRPO step (one trainer, ``trl_steps`` steps, the first untimed)."""
    import torch
    from datasets import Dataset
    from transformers import PrinterCallback, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from rolegym.baselines.micro import answer_chars_reward, build_model, build_tokenizer
    from rolegym.integrations.trl import RolegymRollout, rolegym_reward

    torch.set_num_threads(c.threads)
    rollout = RolegymRollout("single-arith-v0", reward_fn=answer_chars_reward, seed=c.seed)
    rows = rollout.dataset(num_tasks=c.trl_steps * c.trl_tasks, seed=c.seed)
    source = rolegym.make("single-arith-v0").unwrapped.tasks
    kwargs: dict[str, Any] = {}
    if use_rolegym:
        kwargs |= {"rollout_func": rollout, "reward_funcs": rolegym_reward, "train_dataset": rows}
    else:  # the same first observation of each task, as a conversational prompt
        env = rolegym.make("single-arith-v0")
        prompts = []
        for task_id in rows["task_id"]:
            env.reset(options={"task_id": task_id})
            prompts.append([dict(m) for m in env.observe("generator_0")["messages"]])
        answers = [source.get(t).answer for t in rows["task_id"]]
        data = Dataset.from_dict({"prompt": prompts, "answer": answers})

        def micro(completions: list[Any], answer: list[str], **_: Any) -> list[float]:
            texts = [c[0]["content"] for c in completions]
            return [sum(ch in set(a) for ch in t) / len(t) if t else 0.0
                    for t, a in zip(texts, answer, strict=True)]  # fmt: skip

        kwargs |= {"reward_funcs": micro, "train_dataset": data}
    args = GRPOConfig(
        output_dir=tempfile.mkdtemp(),
        max_steps=c.trl_steps,
        per_device_train_batch_size=c.trl_tasks * c.trl_generations,
        num_generations=c.trl_generations,
        max_completion_length=16,
        temperature=1.0,
        learning_rate=1e-3,
        beta=0.0,
        loss_type="dapo",
        shuffle_dataset=False,
        activation_checkpointing=False,
        use_cpu=True,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=c.seed,
    )
    times: list[float] = []

    class Clock(TrainerCallback):
        def on_step_begin(self, *a: Any, **k: Any) -> None:
            self.t0 = time.perf_counter()

        def on_step_end(self, *a: Any, **k: Any) -> None:
            times.append(time.perf_counter() - self.t0)

    model = build_model(hidden_size=64, layers=2, seed=c.seed)
    trainer = GRPOTrainer(model=model, processing_class=build_tokenizer(), args=args, **kwargs)
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(Clock())
    trainer.train()
    return times[1:]


# ---------------------------------------------------------------------------- main
def main(c: Config) -> dict[str, Any]:
    """Run the three comparisons and write the JSON result."""
    aec, single, remote, steps = [], [], [], 0
    for _ in range(c.repeats):
        aec.append(aec_episodes(c.episodes, c.seed))
        single.append(single_role_episodes(c.episodes, c.seed))
        seconds, steps = openenv_episodes(c.episodes, c.seed)
        remote.append(seconds)
    aec_s, single_s, remote_s = (statistics.median(x) for x in (aec, single, remote))
    ours = statistics.median(trl_step_times(c, use_rolegym=True))
    peer = statistics.median(trl_step_times(c, use_rolegym=False))
    result = {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(c).items()},
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
        "single_role": {
            "episodes": c.episodes,
            "aec_s": aec_s,
            "single_role_s": single_s,
            "ratio": single_s / aec_s,
        },
        "openenv": {
            "episodes": c.episodes,
            "steps": steps,
            "aec_s": aec_s,
            "websocket_s": remote_s,
            "added_ms_per_step": 1000 * (remote_s - aec_s) / steps,
        },
        "trl": {
            "env": "single-arith-v0",
            "completions_per_step": c.trl_tasks * c.trl_generations,
            "rolegym_rollout_step_s": ours,
            "trl_generation_step_s": peer,
            "ratio": ours / peer,
        },
    }
    c.out.parent.mkdir(parents=True, exist_ok=True)
    c.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(tyro.cli(Config))
