"""rolegym.integrations.trl against the real TRL GRPOTrainer, with micro models on the CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("trl")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

from trl import GRPOConfig, GRPOTrainer

from rolegym.baselines.micro import answer_chars_reward, build_model, build_tokenizer
from rolegym.integrations.trl import RolegymRollout, rolegym_reward
from rolegym.rollout.engines.chat import chat_prompt_ids

ROOT = Path(__file__).resolve().parents[2]
G = 2  # num_generations


def _trainer(rollout: RolegymRollout, tmp_path: Path, tokenizer: Any) -> GRPOTrainer:
    args = GRPOConfig(
        output_dir=str(tmp_path / "out"),
        max_steps=1,
        per_device_train_batch_size=G * len(rollout.agents),
        num_generations=G,
        max_completion_length=6,
        shuffle_dataset=False,
        activation_checkpointing=False,
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        seed=0,
    )
    return GRPOTrainer(
        model=build_model(hidden_size=32, layers=1, seed=0),
        processing_class=tokenizer,
        reward_funcs=rolegym_reward,
        args=args,
        train_dataset=rollout.dataset(num_tasks=2, seed=0),
        rollout_func=rollout,
    )


def test_shared_policy_rows_are_each_agents_samples(tmp_path: Path) -> None:
    tok = build_tokenizer()
    rollout = RolegymRollout("voting-arith-v0", seed=3)
    assert rollout.agents == ["generator_0", "generator_1", "generator_2", "aggregator_0"]
    trainer = _trainer(rollout, tmp_path, tok)
    ds = rollout.dataset(num_tasks=1, seed=1)
    prompts = [row["prompt"] for row in ds for _ in range(G)]  # what TRL passes
    out = rollout(prompts, trainer)
    assert set(out) >= {"prompt_ids", "completion_ids", "logprobs", "env_mask", "rolegym_reward"}
    assert len(out["completion_ids"]) == len(prompts) == G * 4
    for ids, lps, mask in zip(out["completion_ids"], out["logprobs"], out["env_mask"], strict=True):
        assert len(ids) == len(lps) == len(mask)
        assert all(mask)  # single-turn agents: every token is the model's
    task = rollout._tasks.get(ds[0]["task_id"])
    for row in range(len(prompts)):
        text = tok.decode(out["prompt_ids"][row])
        assert text.startswith("<|im_start|>user\n") and task.prompt in text
    # The two copies of a row hold two different episodes (different sampling seeds).
    assert out["completion_ids"][0] != out["completion_ids"][1]


def test_multi_turn_sample_matches_the_conversation(tmp_path: Path) -> None:
    tok = build_tokenizer()
    rollout = RolegymRollout("eval-opt-arith-v0", seed=0)
    trainer = _trainer(rollout, tmp_path, tok)
    ds = rollout.dataset(num_tasks=3, seed=2)
    prompts = [row["prompt"] for row in ds for _ in range(G)]
    episodes: list[Any] = []
    original = rollout._play

    def keep(*args: Any) -> Any:
        result = original(*args)
        episodes.extend(result)
        return result

    rollout._play = keep  # record the episodes the rollout played (no behaviour change)
    out = rollout(prompts, trainer)
    checked = 0
    for row, prompt in enumerate(prompts):
        key = json.loads(prompt)
        task_index = [r["task_id"] for r in ds][:: len(rollout.agents)].index(key["task_id"])
        copy = row % G
        episode = episodes[task_index * G + copy]
        turns = episode.turns_of(key["agent"])
        assert turns
        mask = out["env_mask"][row]
        completion = out["completion_ids"][row]
        generated = [t for t, m in zip(completion, mask, strict=True) if m]
        expected = [t for turn in turns for t in turn.extras["completion_token_ids"]]
        assert generated == expected
        last = turns[-1]
        full = chat_prompt_ids(tok, last.messages, False) + list(
            last.extras["completion_token_ids"]
        )
        assert out["prompt_ids"][row] + completion == full
        if len(turns) > 1:
            checked += 1
            assert 0 in mask
        # The env's reward of this agent in this episode.
        assert out["rolegym_reward"][row] == pytest.approx(episode.returns[key["agent"]])
    assert checked, "no generator took a second turn; pick other seeds"


def test_learner_role_with_frozen_others(tmp_path: Path) -> None:
    tok = build_tokenizer()
    rollout = RolegymRollout("voting-arith-v0", learner="aggregator", others="oracle", seed=0)
    assert rollout.agents == ["aggregator_0"]
    trainer = _trainer(rollout, tmp_path, tok)
    ds = rollout.dataset(num_tasks=2, seed=0)
    assert len(ds) == 2
    prompts = [row["prompt"] for row in ds for _ in range(G)]
    out = rollout(prompts, trainer)
    assert len(out["completion_ids"]) == 2 * G
    for row in range(len(prompts)):
        text = tok.decode(out["prompt_ids"][row])
        # The aggregator sees the oracle voters' candidates.
        assert text.count("\\boxed{") >= 3
        assert all(out["env_mask"][row])  # one turn: nothing masked


def test_custom_reward_and_skipped_agents(tmp_path: Path) -> None:
    tok = build_tokenizer()
    rollout = RolegymRollout(
        "orch-workers-arith-v0",
        learner="worker",
        others={"orchestrator": lambda env, agent: "STRATEGY 1: add.", "default": "oracle"},
        reward_fn=answer_chars_reward,
    )
    trainer = _trainer(rollout, tmp_path, tok)
    ds = rollout.dataset(num_tasks=1, seed=0)
    prompts = [row["prompt"] for row in ds for _ in range(G)]
    out = rollout(prompts, trainer)
    agents = [json.loads(p)["agent"] for p in prompts]
    acted = [i for i, a in enumerate(agents) if a == "worker_0"]
    skipped = [i for i, a in enumerate(agents) if a != "worker_0"]
    for i in acted:
        assert any(out["env_mask"][i])
    for i in skipped:  # only one strategy: workers 1 and 2 never act
        assert not any(out["env_mask"][i])
    mean_acted = sum(out["rolegym_reward"][i] for i in acted) / len(acted)
    assert 0.0 <= mean_acted <= 1.0
    # A skipped agent takes its own group's mean; with no acting peer, 0.
    assert all(out["rolegym_reward"][i] == 0.0 for i in skipped)


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no role 'judge'"):
        RolegymRollout("voting-arith-v0", learner="judge")
    with pytest.raises(rolegym_env_not_found()):
        RolegymRollout("votin-arith-v0")
    rollout = RolegymRollout("single-arith-v0")
    trainer = _trainer(rollout, tmp_path, build_tokenizer())
    with pytest.raises(ValueError, match=r"RolegymRollout\.dataset"):
        rollout(["What is 2 + 2?"], trainer)


def rolegym_env_not_found() -> type[Exception]:
    import rolegym

    return rolegym.EnvNotFound


@pytest.mark.slow
def test_example_reward_rises(tmp_path: Path) -> None:
    """examples/trl_grpo.py, as a user runs it, raises its reward.

    The last 10 steps' mean reward beats the first 10 steps' by more than 0.05 (measured at
    the defaults: 0.02 -> 0.28, in 61 s on 2 cores).
    """
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "trl_grpo.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rewards = json.loads((out / "rewards.json").read_text())["rewards"]
    assert len(rewards) == 40
    first, last = sum(rewards[:10]) / 10, sum(rewards[-10:]) / 10
    assert last > first + 0.05, (first, last)
