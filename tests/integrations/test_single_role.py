"""rolegym.wrappers.SingleRole: one role as a Gymnasium env, passing Gymnasium's own checker."""

from __future__ import annotations

from typing import Any

import pytest
from gymnasium.utils.env_checker import check_env

import rolegym
from rolegym.envs.scripted import OraclePolicy
from rolegym.wrappers import SingleRole

CASES = [
    ("voting-arith-v0", "aggregator"),
    ("voting-arith-v0", "generator"),
    ("voting-arith-v0", "generator_1"),
    ("eval-opt-arith-v0", "evaluator"),
    ("orch-workers-arith-v0", "worker"),
    ("single-arith-v0", "generator"),
]


@pytest.mark.parametrize(("env_id", "role"), CASES)
@pytest.mark.parametrize("others", ["oracle", "random"])
def test_passes_gymnasiums_checker(env_id: str, role: str, others: str) -> None:
    env = SingleRole(env_id, role=role, others=others, render_mode="ansi")
    check_env(env, skip_render_check=False)
    env.close()


def _episode(env: SingleRole, policy: Any, seed: int) -> tuple[list[str], float, dict[str, Any]]:
    """Play one episode with ``policy(raw_env, agent)``; the agents asked, the return, last info."""
    obs, info = env.reset(seed=seed)
    asked, total = [], 0.0
    while True:
        asked.append(info["agent"])
        assert env.observation_space.contains(obs)
        obs, reward, terminated, truncated, info = env.step(
            policy(env.aec.unwrapped, info["agent"])
        )
        total += float(reward)
        if terminated or truncated:
            return asked, total, info
        assert reward == 0.0


def test_rewards_follow_the_role_and_the_others() -> None:
    oracle = OraclePolicy()
    # An oracle aggregator over oracle voters: right; over wrong voters: nothing right to pick.
    right = SingleRole("voting-arith-v0", role="aggregator", others="oracle")
    asked, ret, info = _episode(right, oracle, seed=0)
    assert asked == ["aggregator_0"] and ret == 1.0 and info["correct"]
    assert info["role_returns"] == {"generator": 1.0, "aggregator": 1.0}
    wrong = SingleRole("voting-arith-v0", role="aggregator", others="wrong")
    _, ret, info = _episode(wrong, oracle, seed=0)
    assert ret == 0.0 and not info["correct"] and info["returns"]["generator_0"] == 0.0
    # Oracle voters with a wrong aggregator (it always picks 1): still right in Voting.
    voters = SingleRole("voting-arith-v0", role="generator", others="wrong")
    asked, ret, info = _episode(voters, oracle, seed=0)
    assert asked == ["generator_0", "generator_1", "generator_2"] and ret == 1.0
    # One voter: the others are wrong and the aggregator picks candidate 1 (this voter).
    one = SingleRole("voting-arith-v0", role="generator_0", others="wrong")
    asked, ret, _ = _episode(one, oracle, seed=0)
    assert asked == ["generator_0"] and ret == 1.0
    two = SingleRole("voting-arith-v0", role="generator_1", others="wrong")
    _, ret, _ = _episode(two, oracle, seed=0)
    assert ret == 0.0  # right, but the wrong aggregator picks candidate 1


def test_role_reward_mode_credits_the_learner() -> None:
    env = SingleRole("voting-arith-v0", role="generator_1", others="wrong", reward_mode="role")
    _, ret, info = _episode(env, OraclePolicy(), seed=0)
    assert ret == 1.0 and not info["correct"]  # its own answer is right; the team's is not


def test_same_seed_same_trajectory_and_task_options() -> None:
    env = SingleRole("eval-opt-arith-v0", role="generator", others="random")
    typed = lambda raw, agent: f"the answer is \\boxed{{{len(raw.episode.turns)}}}"  # noqa: E731
    first = _episode(env, typed, seed=11)
    again = _episode(env, typed, seed=11)
    assert first == again
    transcript = env.aec.unwrapped.episode.to_json()
    _episode(env, typed, seed=11)
    assert env.aec.unwrapped.episode.to_json() == transcript
    task = env.aec.unwrapped.task.id
    _, info = env.reset(seed=3, options={"task_id": task})
    assert info["task_id"] == task


def test_an_engine_plays_the_others() -> None:
    pytest.importorskip("torch")
    from rolegym.baselines.micro import build_model, build_tokenizer
    from rolegym.rollout.engines.hf import HFEngine

    engine = HFEngine(build_model(hidden_size=32, layers=1), build_tokenizer(), max_new_tokens=8)
    env = SingleRole("voting-arith-v0", role="aggregator", others=engine)
    _, info = env.reset(seed=0)
    assert info["agent"] == "aggregator_0"
    generated = [t.completion for t in env.aec.unwrapped.episode.turns]
    assert len(generated) == 3 and all(len(t) <= 8 for t in generated)
    _, reward, terminated, _, _ = env.step("\\boxed{2}")
    assert terminated and reward in (0.0, 1.0)


def test_skipped_episodes_and_bad_input() -> None:
    one_strategy = {"orchestrator": lambda raw, agent: "STRATEGY 1: add.", "default": "oracle"}
    env = SingleRole("orch-workers-arith-v0", role="worker_0", others=one_strategy)
    _, info = env.reset(seed=0)
    assert info["agent"] == "worker_0" and info["episodes_skipped"] == 0
    never = SingleRole("orch-workers-arith-v0", role="worker_2", others=one_strategy)
    with pytest.raises(RuntimeError, match="100 episodes in a row"):
        never.reset(seed=0)
    two = {"orchestrator": lambda raw, agent: "STRATEGY 1: a.\nSTRATEGY 2: b.", "default": "oracle"}
    flaky = SingleRole("orch-workers-arith-v0", role="worker_2", others=two)
    with pytest.raises(RuntimeError):
        flaky.reset(seed=0)
    with pytest.raises(ValueError, match="no role or agent 'judge'"):
        SingleRole("voting-arith-v0", role="judge")
    with pytest.raises(ValueError, match=r"no role\(s\) \['agregator'\]"):
        SingleRole("voting-arith-v0", role="generator", others={"agregator": "oracle"})
    with pytest.raises(rolegym.EnvNotFound):
        SingleRole("votin-arith-v0", role="generator")
    env = SingleRole(rolegym.make("single-arith-v0"), role="generator")
    with pytest.raises(RuntimeError, match="call reset"):
        env.step("x")
    with pytest.raises(TypeError, match="env_kwargs"):
        SingleRole(rolegym.make("single-arith-v0"), role="generator", num_voters=2)
