"""rolegym.wrappers.SingleRole: one role as a Gymnasium env, passing Gymnasium's own checker."""

from __future__ import annotations

from typing import Any

import pytest
from gymnasium.utils.env_checker import check_env

import rolegym
from rolegym.envs.scripted import OraclePolicy, WrongPolicy
from rolegym.wrappers import SingleRole

CASES = [
    ("voting-arith-v0", "aggregator"),
    ("voting-arith-v0", "generator"),
    ("voting-arith-v0", "generator_1"),
    ("eval-opt-arith-v0", "evaluator"),
    ("orch-workers-arith-v0", "worker"),
    ("single-arith-v0", "generator"),
]


# Its other render modes are checked only for envs made by gymnasium.make (nothing registered).
@pytest.mark.filterwarnings("ignore:.*alternative render modes:UserWarning")
@pytest.mark.parametrize(("env_id", "role"), CASES)
@pytest.mark.parametrize("others", ["oracle", "random"])
def test_passes_gymnasiums_checker(env_id: str, role: str, others: str) -> None:
    env = SingleRole(env_id, role=role, others=others, render_mode="ansi")
    check_env(env, skip_render_check=False)
    env.reset(seed=0)
    transcript = env.render()  # the AEC env's transcript, as text
    assert isinstance(transcript, str) and transcript
    env.close()


def _episode(env: SingleRole, policy: Any, seed: int) -> tuple[list[str], float, dict[str, Any]]:
    """Play one episode with ``policy(raw_env, agent)``; the agents asked, the return, last info."""
    obs, info = env.reset(seed=seed)
    asked, total = [], 0.0
    while True:
        asked.append(info["agent"])
        assert env.observation_space.contains(obs)
        action = policy(env.aec.unwrapped, info["agent"])
        obs, reward, terminated, truncated, info = env.step(action)
        total += float(reward)
        if terminated or truncated:
            # The last learner agent's conversation, its final output included.
            assert env.observation_space.contains(obs)
            assert obs["messages"][-1] == {"role": "assistant", "content": action}
            return asked, total, info
        assert reward == 0.0


ORACLE, WRONG = OraclePolicy(), WrongPolicy()
G3 = ["generator_0", "generator_1", "generator_2"]
W3 = ["worker_0", "worker_1", "worker_2"]

# (env, role, learner, others, agents asked, return, final answer right). Team reward: the
# final verdict. Voting's wrong aggregator always picks candidate 1; the wrong evaluator accepts
# everything; the oracle evaluator rejects each wrong answer until the rounds run out.
OUTCOMES = [
    ("voting-arith-v0", "aggregator", ORACLE, "oracle", ["aggregator_0"], 1.0, True),
    ("voting-arith-v0", "aggregator", ORACLE, "wrong", ["aggregator_0"], 0.0, False),
    ("voting-arith-v0", "aggregator", WRONG, "oracle", ["aggregator_0"], 1.0, True),
    ("voting-arith-v0", "generator", ORACLE, "wrong", G3, 1.0, True),
    ("voting-arith-v0", "generator", WRONG, "oracle", G3, 0.0, False),
    ("voting-arith-v0", "generator_0", ORACLE, "wrong", ["generator_0"], 1.0, True),
    ("voting-arith-v0", "generator_1", ORACLE, "wrong", ["generator_1"], 0.0, False),
    ("eval-opt-arith-v0", "evaluator", ORACLE, "oracle", ["evaluator_0"], 1.0, True),
    ("eval-opt-arith-v0", "evaluator", ORACLE, "wrong", ["evaluator_0"] * 3, 0.0, False),
    ("eval-opt-arith-v0", "generator", ORACLE, "wrong", ["generator_0"], 1.0, True),
    ("orch-workers-arith-v0", "worker", ORACLE, "oracle", W3, 1.0, True),
    ("orch-workers-arith-v0", "worker", ORACLE, "wrong", W3, 0.0, False),
    ("orch-workers-arith-v0", "synthesizer", ORACLE, "wrong", ["synthesizer_0"], 1.0, True),
    ("single-arith-v0", "generator", ORACLE, "wrong", ["generator_0"], 1.0, True),
    ("single-arith-v0", "generator", WRONG, "oracle", ["generator_0"], 0.0, False),
]  # fmt: skip


@pytest.mark.parametrize(("env_id", "role", "learner", "others", "asked", "ret", "ok"), OUTCOMES)
def test_rewards_follow_the_role_and_the_others(
    env_id: str, role: str, learner: Any, others: str, asked: list[str], ret: float, ok: bool
) -> None:
    env = SingleRole(env_id, role=role, others=others)
    got_asked, got_ret, info = _episode(env, learner, seed=0)
    assert (got_asked, got_ret, info["correct"]) == (asked, ret, ok)
    # Team reward: every agent that spoke shares the verdict; the return is the learner's.
    assert info["role_returns"][env.aec.unwrapped.role(asked[0])] == ret
    assert set(info["returns"]) == set(env.aec.unwrapped.possible_agents)
    env.close()


def test_role_reward_mode_credits_the_learner() -> None:
    env = SingleRole("voting-arith-v0", role="generator_1", others="wrong", reward_mode="role")
    _, ret, info = _episode(env, ORACLE, seed=0)
    assert ret == 1.0 and not info["correct"]  # its own answer is right; the team's is not
    assert info["returns"] == {
        "generator_0": 0.0,
        "generator_1": 1.0,
        "generator_2": 0.0,
        "aggregator_0": 0.0,
    }
    assert info["role_returns"] == {"generator": pytest.approx(1 / 3), "aggregator": 0.0}


def test_same_seed_same_trajectory_and_task_options() -> None:
    env = SingleRole("eval-opt-arith-v0", role="generator", others="random")
    typed = lambda raw, agent: f"the answer is \\boxed{{{len(raw.episode.turns)}}}"  # noqa: E731
    first = _episode(env, typed, seed=11)
    transcript = env.aec.unwrapped.episode.to_json()
    assert _episode(env, typed, seed=11) == first
    assert env.aec.unwrapped.episode.to_json() == transcript
    _episode(env, typed, seed=12)
    assert env.aec.unwrapped.episode.to_json() != transcript
    task = env.aec.unwrapped.task.id
    _, info = env.reset(seed=3, options={"task_id": task})
    assert info["task_id"] == task and info["role"] == "generator"


def test_constructor_seed_seeds_a_random_player() -> None:
    def voters(seed: int) -> list[str]:
        env = SingleRole("voting-arith-v0", role="aggregator", others="random", seed=seed)
        env.reset()  # no reset seed: the player keeps the constructor's
        return [t.completion for t in env.aec.unwrapped.episode.turns]

    assert voters(5) == voters(5) and voters(5) != voters(6)


def test_a_ready_aec_env_is_wrapped_as_is() -> None:
    aec = rolegym.make("voting-arith-v0", reward_mode="role")
    env = SingleRole(aec.unwrapped, role="generator_2", others="oracle")
    assert env.aec is aec.unwrapped and env.observation_space is aec.observation_space("x")
    _, ret, info = _episode(env, WRONG, seed=1)
    assert ret == 0.0 and info["correct"] and info["returns"]["generator_0"] == 1.0


def test_an_engine_plays_the_others() -> None:
    pytest.importorskip("torch")
    from rolegym.baselines.micro import build_model, build_tokenizer
    from rolegym.rollout.engines.hf import HFEngine

    engine = HFEngine(build_model(hidden_size=32, layers=1), build_tokenizer(), max_new_tokens=8)
    env = SingleRole("voting-arith-v0", role="aggregator", others=engine)
    _, info = env.reset(seed=0)
    assert info["agent"] == "aggregator_0"
    generated = [t.completion for t in env.aec.unwrapped.episode.turns]
    assert [t.agent for t in env.aec.unwrapped.episode.turns] == G3
    assert all(len(t) <= 8 for t in generated)  # one character per token
    _, reward, terminated, _, info = env.step("\\boxed{2}")
    assert terminated and reward == float(info["correct"])
    env.reset(seed=0)  # sampling seeds derive from the episode's: the same voters' text
    assert [t.completion for t in env.aec.unwrapped.episode.turns] == generated


def test_skipped_episodes_continue_the_task_stream() -> None:
    calls: list[str] = []

    def late_planner(raw: Any, agent: str) -> str:
        """One strategy the first time, three afterwards."""
        calls.append(agent)
        n = 1 if len(calls) == 1 else 3
        return "\n".join(f"STRATEGY {i}: try way {i}." for i in range(1, n + 1))

    others = {"orchestrator": late_planner, "default": "oracle"}
    env = SingleRole("orch-workers-arith-v0", role="worker_2", others=others)
    _, info = env.reset(seed=0)
    assert info["agent"] == "worker_2" and info["episodes_skipped"] == 1
    # The skipped episode drew the seed's first task; this one is the stream's second.
    bare = rolegym.make("orch-workers-arith-v0")
    bare.reset(seed=0)
    bare.reset()
    assert info["task_id"] == bare.unwrapped.task.id
    _, reward, terminated, _, info = env.step(ORACLE(env.aec.unwrapped, "worker_2"))
    assert terminated and reward == 1.0 and info["correct"]


def test_a_learner_that_is_never_asked_is_a_clear_error() -> None:
    one_strategy = {"orchestrator": lambda raw, agent: "STRATEGY 1: add.", "default": "oracle"}
    env = SingleRole("orch-workers-arith-v0", role="worker_0", others=one_strategy)
    _, info = env.reset(seed=0)
    assert info["agent"] == "worker_0" and info["episodes_skipped"] == 0
    never = SingleRole("orch-workers-arith-v0", role="worker_2", others=one_strategy)
    with pytest.raises(RuntimeError, match="100 episodes in a row ended before 'worker_2'"):
        never.reset(seed=0)
    with pytest.raises(RuntimeError, match="call reset"):
        never.step("\\boxed{1}")  # the failed reset left no turn to take


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"no role or agent 'judge'.*roles: \['aggregator'"):
        SingleRole("voting-arith-v0", role="judge")
    with pytest.raises(ValueError, match=r"no role\(s\) \['agregator'\]"):
        SingleRole("voting-arith-v0", role="generator", others={"agregator": "oracle"})
    with pytest.raises(ValueError, match="unknown scripted player 'orcale'"):
        SingleRole("voting-arith-v0", role="generator", others="orcale")
    with pytest.raises(rolegym.EnvNotFound):
        SingleRole("votin-arith-v0", role="generator")
    env = SingleRole(rolegym.make("single-arith-v0"), role="generator")
    with pytest.raises(RuntimeError, match="call reset"):
        env.step("x")
    env.reset(seed=0)
    env.step("\\boxed{0}")
    with pytest.raises(RuntimeError, match="call reset"):
        env.step("x")  # the episode is over
    with pytest.raises(TypeError, match=r"env_kwargs \['num_voters'\]"):
        SingleRole(rolegym.make("single-arith-v0"), role="generator", num_voters=2)
    with pytest.raises(TypeError, match="env id or a PettingZoo AEC env"):
        SingleRole(42, role="generator")
