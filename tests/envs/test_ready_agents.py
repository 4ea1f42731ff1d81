"""ready_agents() never changes what an agent observes, whatever the others write."""

from __future__ import annotations

import pytest
from gymnasium.utils.env_checker import data_equivalence
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rolegym.envs.scripted import OraclePolicy, WrongPolicy
from tests.helpers import ALL_IDS, make_env

ORACLE, WRONG = OraclePolicy(), WrongPolicy()

# Each turn's output is drawn from: the oracle's, the wrong player's, or arbitrary text.
choice = st.one_of(st.sampled_from(["oracle", "wrong"]), st.text(max_size=40))


@pytest.mark.parametrize("env_id", [i for i in ALL_IDS if "-code-" not in i])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outputs=st.lists(choice, min_size=12, max_size=12), seed=st.integers(0, 10_000))
def test_ready_observations_are_final(env_id: str, outputs: list[str], seed: int) -> None:
    env = make_env(env_id)
    env.reset(seed=seed)
    raw = env.unwrapped
    early: dict[str, dict] = {}
    batched = 0
    outputs_iter = iter(outputs * 4)
    for agent in env.agent_iter():
        _, _, terminated, truncated, _ = env.last(observe=False)
        if terminated or truncated:
            env.step(None)
            continue
        ready = raw.ready_agents()
        assert ready[0] == agent
        batched = max(batched, len(ready))
        for a in ready:
            early.setdefault(a, raw.observe(a))
        assert data_equivalence(early.pop(agent), env.observe(agent))
        out = next(outputs_iter)
        text = {"oracle": ORACLE, "wrong": WRONG}.get(out)
        env.step(text(raw, agent) if text else out)
    if env_id.startswith("voting"):
        assert batched == raw.num_voters  # all voters are ready at once
    if env_id.startswith(("single", "eval-opt")):
        assert batched == 1


def test_workers_are_ready_together_after_the_orchestrator() -> None:
    env = make_env("orch-workers-arith-v0")
    env.reset(seed=0)
    assert env.unwrapped.ready_agents() == ("orchestrator_0",)
    env.step("STRATEGY 1: a\nSTRATEGY 2: b")
    # worker_2 was skipped: it is dead-stepped first, then the two workers are ready
    assert env.agent_selection == "worker_2"
    assert env.infos["worker_2"]["skipped"] is True
    assert env.unwrapped.ready_agents() == ()  # the dead worker steps out first
    env.step(None)
    assert env.agent_selection == "worker_0"
    assert env.unwrapped.ready_agents() == ("worker_0", "worker_1")
    env.step("\\boxed{1}")
    assert env.unwrapped.ready_agents() == ("worker_1",)
    env.step("\\boxed{1}")
    assert env.unwrapped.ready_agents() == ("synthesizer_0",)
