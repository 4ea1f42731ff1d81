"""Trainer: rolegym's GRPO step time against TRL's ``GRPOTrainer``, and the diagnostics' cost.

On identical tiny single-role settings, in the same run: the same micro model (architecture
and seeded initial weights, :func:`rolegym.baselines.micro.build_model`), the same
character-level tokenizer and chat template, the same prompts in the same order (the
``single-arith-v0`` tasks rolegym draws at each step, handed to TRL as a conversational
dataset read unshuffled, so that both sides template the same prompt token ids, which is
checked), the same character reward (:func:`rolegym.baselines.micro.answer_chars_reward`, and
its TRL twin on the dataset's ``answer`` column), ``tasks_per_step`` prompts x
``num_generations`` completions per step in one micro-batch, the same completion cap,
temperature, learning rate and AdamW settings, ``loss_type="dapo"``, ``scale_rewards="none"``,
``beta=0``, one iteration, gradient clipping at 1.0, fp32, full-parameter training, no gradient
checkpointing, and the same torch thread count.

A step is the whole training step: generation, scoring, forward/backward, clipping and the
optimizer step. rolegym's is one :meth:`rolegym.baselines.grpo.trainer.GRPOTrainer.train_step`
call; TRL's runs from the ``on_step_begin`` to the ``on_step_end`` callback of ``Trainer``'s
loop, which bracket ``training_step`` (generation included), clipping, ``optimizer.step`` and
the scheduler (TRL's logging comes after ``on_step_end`` and is left out, as rolegym's JSONL
writing is). TRL's own ``step_time`` log (``training_step`` alone: no clipping nor optimizer
step) is reported too, and each side's rollout time: rolegym's ``timing/generate`` (generation
and environment stepping), TRL's ``_generate_and_score_completions`` wall time (generation,
rewards and advantages).

The diagnostics' cost is the ratio of rolegym's step time with ``diagnostics=True`` to the same
step with ``diagnostics=False``: on the single-role setting, and on ``voting-arith-v0`` (three
generators and an aggregator on one shared policy, ``multi_tasks_per_step`` tasks per step),
where a gradient copy per agent is kept and the agents' Gram matrix computed.

Every variant runs ``warmup_steps + steps`` steps on a fresh trainer in each of ``rounds``
rounds, the variants interleaved in a rotating order; a variant's figure is the median over
rounds of its median timed step (the warm-up left out). Medians, because this 2-core machine
is shared: another process on a core stalls torch's parallel regions when they use both cores
(a step then takes several times as long), which is also why the thread counts of ``threads``
are each measured, one thread first.

Goal (issue): rolegym's step no slower than TRL's; diagnostics under 1.2x a step without.

Run: ``python benchmarks/trainer.py`` (options: ``--help``).
"""

from __future__ import annotations

import json
import platform
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import torch
import tyro

import rolegym
from rolegym.baselines.micro import answer_chars_reward, build_model, build_tokenizer
from rolegym.rollout import Request, group_seed


# ---------------------------------------------------------------------------- config
@dataclass
class Config:
    """Benchmark settings."""

    tasks_per_step: int = 8
    """prompts per step"""
    num_generations: int = 8
    """completions per prompt (the GRPO group)"""
    max_completion_length: int = 32
    """completion token cap"""
    hidden_size: int = 64
    """micro model width"""
    layers: int = 2
    """micro model depth"""
    learning_rate: float = 3e-3
    """AdamW learning rate (constant), both sides"""
    temperature: float = 0.7
    """sampling temperature, both sides"""
    steps: int = 5
    """timed steps per round and variant"""
    warmup_steps: int = 1
    """untimed steps first, per round and variant"""
    rounds: int = 7
    """interleaved rounds; the median over rounds is reported"""
    threads: tuple[int, ...] = (1, 2)
    """torch CPU thread counts of the TRL comparison (the diagnostics run on the first)"""
    multi_env: str = "voting-arith-v0"
    """the multi-role env of the second diagnostics case (empty: skip it)"""
    multi_tasks_per_step: int = 4
    """prompts per step of the multi-role case"""
    seed: int = 0
    """seed of the weights, the tasks and the sampling"""
    out: Path = Path(__file__).parent / "results" / "trainer.json"
    """where to write the JSON result"""


SINGLE_ENV = "single-arith-v0"
REWARD_FN = "rolegym.baselines.micro:answer_chars_reward"


# ---------------------------------------------------------------------------- prompts
def step_tasks(cfg: Config, steps: int) -> list[tuple[list[dict], str]]:
    """The (messages, answer) of every task rolegym's trainer draws, step by step, in order."""
    from rolegym.baselines.grpo.trainer import rollout_seed

    env = rolegym.make(SINGLE_ENV)
    out = []
    for step in range(steps):
        for g in range(cfg.tasks_per_step):
            env.reset(seed=group_seed(rollout_seed(cfg.seed, step), g))
            messages = [dict(m) for m in env.observe(env.agent_selection)["messages"]]
            out.append((messages, str(env.unwrapped.task.answer)))
    return out


def rolegym_prompt_ids(messages: list[dict]) -> list[int]:
    """The prompt token ids rolegym's transformers engine templates for these messages."""
    from rolegym.rollout.engines.hf import HFEngine

    request = Request(
        env_index=0,
        agent="generator_0",
        role="generator",
        turn=0,
        messages=tuple(messages),
        sampling_seed=0,
    )
    return HFEngine(torch.nn.Linear(1, 1), build_tokenizer()).prompt_ids(request)


@dataclass
class _Turn:
    completion: str


@dataclass
class _Task:
    answer: str


def chars_reward(completions: list[Any], answer: list[str], **kwargs: Any) -> list[float]:
    """TRL's twin of :func:`answer_chars_reward`: the share of characters found in the answer.

    Args:
        completions: TRL's conversational completions (one assistant message each).
        answer: The dataset's ``answer`` column, one per completion.
        **kwargs: Other columns and TRL's extras (unused).

    Returns:
        One reward per completion.
    """
    out = []
    for completion, ans in zip(completions, answer, strict=True):
        text = completion[0]["content"] if isinstance(completion, list) else completion
        out.append(answer_chars_reward(None, _Turn(text), _Task(ans)))
    return out


# ---------------------------------------------------------------------------- rolegym
def run_rolegym(
    cfg: Config, env_id: str, tasks: int, diagnostics: bool, threads: int, tmp: Path
) -> dict[str, Any]:
    """Step times of rolegym's trainer on a fresh model."""
    from rolegym.baselines.grpo.config import GRPOConfig
    from rolegym.baselines.grpo.trainer import GRPOTrainer

    config = GRPOConfig(
        env_id=env_id,
        reward_fn=REWARD_FN,
        model_name_or_path="micro:qwen3",
        micro_hidden_size=cfg.hidden_size,
        micro_layers=cfg.layers,
        use_peft=False,
        policy="shared",
        tasks_per_step=tasks,
        num_generations=cfg.num_generations,
        max_completion_length=cfg.max_completion_length,
        temperature=cfg.temperature,
        learning_rate=cfg.learning_rate,
        weight_decay=0.0,
        loss_type="dapo",
        scale_rewards="none",
        beta=0.0,
        num_iterations=1,
        max_grad_norm=1.0,
        lr_scheduler_type="constant",
        max_steps=cfg.warmup_steps + cfg.steps,
        per_device_train_batch_size=tasks * cfg.num_generations,
        diagnostics=diagnostics,
        eval_steps=0,
        eval_on_start=False,
        save_steps=0,
        logging_steps=0,
        disable_tqdm=True,
        output_dir=str(tmp / "rolegym"),
        device="cpu",
        torch_dtype="float32",
        seed=cfg.seed,
    )
    model = build_model(hidden_size=cfg.hidden_size, layers=cfg.layers, seed=cfg.seed)
    trainer = GRPOTrainer(config, model=model, tokenizer=build_tokenizer())
    torch.set_num_threads(threads)
    times, generate, lengths, rewards = [], [], [], []
    for _ in range(cfg.warmup_steps + cfg.steps):
        start = time.perf_counter()
        metrics = trainer.train_step()
        times.append(time.perf_counter() - start)
        generate.append(metrics["timing/generate"])
        lengths.append(metrics["completions/mean_length"])
        rewards.append(metrics["reward"])
    return _summary(cfg, times, generate=generate, lengths=lengths, rewards=rewards)


# ---------------------------------------------------------------------------- TRL
def run_trl(cfg: Config, threads: int, tmp: Path) -> dict[str, Any]:
    """Step times of TRL's ``GRPOTrainer`` on a fresh model, same settings and prompts."""
    from datasets import Dataset
    from transformers import TrainerCallback
    from transformers.trainer_callback import PrinterCallback
    from trl import GRPOConfig, GRPOTrainer

    total = cfg.warmup_steps + cfg.steps
    tasks = step_tasks(cfg, total)
    dataset = Dataset.from_dict({"prompt": [m for m, _ in tasks], "answer": [a for _, a in tasks]})
    args = GRPOConfig(
        output_dir=str(tmp / "trl"),
        use_cpu=True,
        bf16=False,
        report_to=[],
        save_strategy="no",
        disable_tqdm=True,
        activation_checkpointing=False,
        logging_steps=1,
        max_steps=total,
        per_device_train_batch_size=cfg.tasks_per_step * cfg.num_generations,
        gradient_accumulation_steps=1,
        num_generations=cfg.num_generations,
        max_completion_length=cfg.max_completion_length,
        temperature=cfg.temperature,
        learning_rate=cfg.learning_rate,
        weight_decay=0.0,
        adam_beta1=0.9,
        adam_beta2=0.999,
        adam_epsilon=1e-8,
        max_grad_norm=1.0,
        lr_scheduler_type="constant",
        warmup_steps=0,
        loss_type="dapo",
        scale_rewards="none",
        beta=0.0,
        num_iterations=1,
        epsilon=0.2,
        epsilon_high=0.28,
        shuffle_dataset=False,
        seed=cfg.seed,
        log_completions=False,
        dataloader_num_workers=0,
    )
    if args.gradient_checkpointing:  # the deprecated alias mirrors activation_checkpointing
        raise RuntimeError("TRL's run must not checkpoint activations")
    model = build_model(hidden_size=cfg.hidden_size, layers=cfg.layers, seed=cfg.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=chars_reward,
            args=args,
            train_dataset=dataset,
            processing_class=build_tokenizer(),
        )
    marks: dict[str, list[float]] = {"begin": [], "end": []}

    class Clock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            marks["begin"].append(time.perf_counter())

        def on_step_end(self, args, state, control, **kwargs):
            marks["end"].append(time.perf_counter())

    trainer.add_callback(Clock())
    trainer.remove_callback(PrinterCallback)  # its log lines, printed with disable_tqdm
    generate: list[float] = []
    prompts: list[list[int]] = []
    score = trainer._generate_and_score_completions

    def timed_score(inputs: Any) -> dict[str, Any]:
        start = time.perf_counter()
        out = score(inputs)
        generate.append(time.perf_counter() - start)
        if not prompts:  # the first step's prompt token ids, unpadded
            for ids, mask in zip(out["prompt_ids"], out["prompt_mask"], strict=True):
                prompts.append(ids[mask.bool()].tolist())
        return out

    trainer._generate_and_score_completions = timed_score
    torch.set_num_threads(threads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.train()
    times = [end - begin for begin, end in zip(marks["begin"], marks["end"], strict=True)]
    logs = [h for h in trainer.state.log_history if "step_time" in h]
    result = _summary(
        cfg,
        times,
        generate=generate,
        lengths=[h["completions/mean_length"] for h in logs],
        rewards=[h["reward"] for h in logs],
    )
    result["trl_step_time_s"] = statistics.median(h["step_time"] for h in logs[cfg.warmup_steps :])
    result["first_prompt_ids"] = prompts
    return result


# ---------------------------------------------------------------------------- figures
def _summary(cfg: Config, times: list[float], **series: list[float]) -> dict[str, Any]:
    """The median and mean timed step (after the warm-up), and the mean of each series."""
    w = cfg.warmup_steps
    if len(times) != w + cfg.steps:
        raise RuntimeError(f"expected {w + cfg.steps} step times, got {len(times)}")
    out: dict[str, Any] = {
        "step_s": statistics.median(times[w:]),
        "step_mean_s": statistics.fmean(times[w:]),
        "step_times_s": times,
    }
    names = {"generate": "generate_s", "lengths": "completion_length", "rewards": "reward"}
    for key, values in series.items():
        out[names[key]] = statistics.median(values[w:])
    return out


def _figures(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over rounds, and each round's median step."""
    keys = [k for k, v in runs[0].items() if isinstance(v, float)]
    row: dict[str, Any] = {k: statistics.median(r[k] for r in runs) for k in keys}
    row["step_s_rounds"] = [r["step_s"] for r in runs]
    return row


def main(cfg: Config) -> dict:
    t0 = cfg.threads[0]
    variants: dict[str, Callable[[Path], dict[str, Any]]] = {}
    for t in cfg.threads:
        variants[f"rolegym@{t}"] = lambda tmp, t=t: run_rolegym(
            cfg, SINGLE_ENV, cfg.tasks_per_step, False, t, tmp
        )
        variants[f"trl@{t}"] = lambda tmp, t=t: run_trl(cfg, t, tmp)
    variants[f"rolegym+diagnostics@{t0}"] = lambda tmp: run_rolegym(
        cfg, SINGLE_ENV, cfg.tasks_per_step, True, t0, tmp
    )
    if cfg.multi_env:
        for diagnostics in (False, True):
            name = f"multi{'+diagnostics' if diagnostics else ''}@{t0}"
            variants[name] = lambda tmp, d=diagnostics: run_rolegym(
                cfg, cfg.multi_env, cfg.multi_tasks_per_step, d, t0, tmp
            )
    names = list(variants)
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    start = time.perf_counter()
    for r in range(cfg.rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            with tempfile.TemporaryDirectory() as tmp:
                runs[name].append(variants[name](Path(tmp)))
            print(f"round {r} {name:24s} {runs[name][-1]['step_s'] * 1e3:8.1f} ms/step")

    prompts = [rolegym_prompt_ids(m) for m, _ in step_tasks(cfg, 1)]
    expected = [p for p in prompts for _ in range(cfg.num_generations)]
    seen = [run.pop("first_prompt_ids") for n in names if n.startswith("trl") for run in runs[n]]
    same_prompts = all(ids == expected for ids in seen)
    results: dict = {
        "benchmark": "trainer",
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "machine": {
            "python": platform.python_version(),
            "processor": platform.machine(),
            "torch": torch.__version__,
            "transformers": version("transformers"),
        },
        "peer": f"trl {version('trl')} GRPOTrainer, same micro model, tokenizer, prompts, reward "
        "and hyper-parameters, in the same process",
        "step": "whole training step: generation, scoring, forward/backward, clipping, optimizer",
        "same_prompt_ids": same_prompts,
        "wall_s": 0.0,
        "single": {},
        "diagnostics": {},
    }
    for t in cfg.threads:
        ours, peer = _figures(runs[f"rolegym@{t}"]), _figures(runs[f"trl@{t}"])
        row = {
            "env_id": SINGLE_ENV,
            "threads": t,
            "completions_per_step": cfg.tasks_per_step * cfg.num_generations,
            "rolegym": ours,
            "trl": peer,
            "ratio_to_trl": ours["step_s"] / peer["step_s"],
            "generate_ratio_to_trl": ours["generate_s"] / peer["generate_s"],
            "within_goal": ours["step_s"] <= peer["step_s"],
        }
        results["single"][f"threads={t}"] = row
        print(
            f"threads={t} rolegym {ours['step_s'] * 1e3:7.1f} ms/step | TRL "
            f"{peer['step_s'] * 1e3:7.1f} ms/step | {row['ratio_to_trl']:.2f}x "
            f"(rollout {row['generate_ratio_to_trl']:.2f}x)"
        )
    cases = [(SINGLE_ENV, "rolegym", cfg.tasks_per_step)]
    if cfg.multi_env:
        cases.append((cfg.multi_env, "multi", cfg.multi_tasks_per_step))
    for env_id, key, tasks in cases:
        off, on = _figures(runs[f"{key}@{t0}"]), _figures(runs[f"{key}+diagnostics@{t0}"])
        ratio = on["step_s"] / off["step_s"]
        results["diagnostics"][env_id] = {
            "agents": len(rolegym.make(env_id).possible_agents),
            "threads": t0,
            "completions_per_step": tasks * cfg.num_generations,
            "off": off,
            "on": on,
            "ratio": ratio,
            "within_goal": ratio < 1.2,
        }
        print(
            f"diagnostics {env_id:18s} {on['step_s'] * 1e3:7.1f} vs {off['step_s'] * 1e3:7.1f}"
            f" ms/step | {ratio:.2f}x"
        )
    results["wall_s"] = time.perf_counter() - start
    print(f"same prompt ids: {same_prompts}")
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    cfg.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {cfg.out}")
    return results


if __name__ == "__main__":
    main(tyro.cli(Config))
