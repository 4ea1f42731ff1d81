"""reasoning-gym generators: offline math problems for the math environments."""

from __future__ import annotations

import pytest

pytest.importorskip("reasoning_gym")

import rolegym
from rolegym.envs.scripted import OraclePolicy, WrongPolicy
from rolegym.tasks import load_tasks
from tests.helpers import play


def test_generators_are_seeded_and_split() -> None:
    a = load_tasks("math", "reasoning-gym:gsm_symbolic", "train", size=20)
    b = load_tasks("math", "reasoning-gym:gsm_symbolic", "train", size=20)
    test = load_tasks("math", "reasoning-gym:gsm_symbolic", "test", size=20)
    assert [t.prompt for t in a] == [t.prompt for t in b]
    assert [t.prompt for t in a] != [t.prompt for t in test]
    assert a[3].id == "rg-gsm_symbolic-train-000003" and a[3].answer.lstrip("-").isdigit()
    other = load_tasks("math", "reasoning-gym:gsm_symbolic", "train", size=20, seed=1)
    assert [t.prompt for t in other] != [t.prompt for t in a]
    assert len(load_tasks("math", "reasoning-gym:basic_arithmetic", "train", size=5)) == 5


@pytest.mark.parametrize("workflow", ["voting", "eval-opt", "orch-workers", "single"])
def test_math_envs_run_on_reasoning_gym(workflow: str) -> None:
    for policy, expected in ((OraclePolicy(), 1.0), (WrongPolicy(), 0.0)):
        env = rolegym.make(
            f"{workflow}-math-v0",
            dataset="reasoning-gym:gsm_symbolic",
            dataset_options={"size": 30},
        )
        env.reset(seed=4)
        returns = play(env, policy)
        assert env.unwrapped.task.id.startswith("rg-gsm_symbolic-train-")
        assert env.unwrapped.episode.correct is (expected == 1.0)
        spoke = {t.agent for t in env.unwrapped.episode.turns}
        assert all(r == (expected if a in spoke else 0.0) for a, r in returns.items())
