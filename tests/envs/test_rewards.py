"""Scripted policies get the rewards the env cards promise, in both reward modes."""

from __future__ import annotations

import pytest

from rolegym.envs.scripted import OraclePolicy, RandomPolicy, WrongPolicy
from tests.helpers import ALL_IDS, make_env, play


@pytest.mark.parametrize("mode", ["team", "role"])
@pytest.mark.parametrize("env_id", ALL_IDS)
def test_scripted_policies(env_id: str, mode: str) -> None:
    for seed in range(3):
        for policy, expected in (
            (OraclePolicy(), 1.0),
            (WrongPolicy(), 0.0),
            (RandomPolicy(seed), 0.0),
        ):
            env = make_env(env_id, reward_mode=mode)
            env.reset(seed=seed)
            returns = play(env, policy)
            raw = env.unwrapped
            spoke = {t.agent for t in raw.episode.turns}
            assert set(returns) == set(raw.possible_agents)
            for agent, reward in returns.items():
                assert reward == (expected if agent in spoke else 0.0), (
                    policy,
                    agent,
                    raw.episode.verdicts,
                )
            assert raw.episode.correct is (expected == 1.0)
            assert all(t.reward == expected for t in raw.episode.turns)
            assert raw.episode.returns == returns


def _run(env_id: str, outputs: list[str], **kwargs: object):
    env = make_env(env_id, **kwargs)
    env.reset(seed=0, options={"task_id": "arith-train-000000"} if "arith" in env_id else None)
    answer = env.unwrapped.task.answer
    it = iter(outputs)
    for _agent in env.agent_iter():
        _, _, term, trunc, _ = env.last(observe=False)
        env.step(None if term or trunc else next(it).format(right=answer, wrong=int(answer) + 1))
    return env.unwrapped.episode


def test_voting_role_rewards_credit_each_voter_alone() -> None:
    outputs = ["\\boxed{{{wrong}}}", "\\boxed{{{right}}}", "no box", "\\boxed{{1}}"]
    ep = _run("voting-arith-v0", outputs, reward_mode="role")
    assert [t.reward for t in ep.turns] == [0.0, 1.0, 0.0, 0.0]  # aggregator chose the wrong one
    assert ep.turns[2].info["parse_error"]
    ep = _run("voting-arith-v0", [*outputs[:3], "\\boxed{{2}}"], reward_mode="role")
    assert [t.reward for t in ep.turns] == [0.0, 1.0, 0.0, 1.0]
    assert ep.correct
    team = _run("voting-arith-v0", [*outputs[:3], "\\boxed{{2}}"], reward_mode="team")
    assert [t.reward for t in team.turns] == [1.0, 1.0, 0.0, 1.0]  # parse error -> 0 even in team


def test_eval_opt_role_rewards_score_verdict_accuracy() -> None:
    outputs = [
        "\\boxed{{{wrong}}}",
        "\\boxed{{Incorrect}}",  # right call
        "\\boxed{{{right}}}",
        "\\boxed{{Incorrect}}",  # wrong call
        "\\boxed{{{right}}}",
        "\\boxed{{Correct}}",  # right call
    ]
    ep = _run("eval-opt-arith-v0", outputs, reward_mode="role")
    assert [t.reward for t in ep.turns] == [0.0, 1.0, 1.0, 0.0, 1.0, 1.0]
    assert ep.correct


def test_orchestrator_role_reward_is_mean_of_workers() -> None:
    outputs = [
        "STRATEGY 1: a\nSTRATEGY 2: b",
        "\\boxed{{{right}}}",
        "\\boxed{{{wrong}}}",
        "\\boxed{{{right}}}",
    ]
    ep = _run("orch-workers-arith-v0", outputs, reward_mode="role")
    assert [t.reward for t in ep.turns] == [0.5, 1.0, 0.0, 1.0]
    assert ep.returns["worker_2"] == 0.0


def test_agent_reward_is_mean_of_its_turns() -> None:
    outputs = [
        "\\boxed{{{wrong}}}",
        "\\boxed{{Incorrect}}",
        "\\boxed{{{right}}}",
        "\\boxed{{Correct}}",
    ]
    ep = _run("eval-opt-arith-v0", outputs, reward_mode="role")
    assert ep.returns == {"generator_0": 0.5, "evaluator_0": 1.0}


def test_reward_components_in_infos() -> None:
    env = make_env("voting-arith-v0", reward_mode="role")
    env.reset(seed=3)
    play(env, OraclePolicy())
    # infos of removed agents are gone after the dead steps; check the episode instead
    assert env.unwrapped.episode.verdicts["final"]["correct"] is True
    env.reset(seed=3)
    oracle = OraclePolicy()
    seen = {}
    for agent in env.agent_iter():
        _, _, term, trunc, info = env.last(observe=False)
        if term or trunc:
            seen[agent] = info
            env.step(None)
        else:
            env.step(oracle(env.unwrapped, agent))
    for info in seen.values():
        assert info["reward_components"] == {"outcome": 1.0, "format_ok": 1.0, "role": 1.0}
        assert info["verdict"]["status"] == "correct"
        assert "elapsed_s" not in info["verdict"]
