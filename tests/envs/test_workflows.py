"""Turn orders, conversations and parsing fallbacks of each workflow."""

from __future__ import annotations

import pytest

from rolegym.envs.eval_opt import parse_verdict
from rolegym.envs.orch_workers import parse_strategies
from rolegym.envs.voting import parse_choice
from tests.helpers import make_env


def _speakers(env_id: str, outputs: list[str], **kwargs: object) -> list[str]:
    env = make_env(env_id, **kwargs)
    env.reset(seed=0)
    it = iter(outputs)
    for _agent in env.agent_iter():
        _, _, term, trunc, _ = env.last(observe=False)
        env.step(None if term or trunc else next(it))
    return [t.agent for t in env.unwrapped.episode.turns]


@pytest.mark.parametrize(
    ("env_id", "rounds"),
    [("eval-opt-math-v0", 3), ("eval-opt-arith-v0", 3), ("eval-opt-code-v0", 2)],
)
def test_eval_opt_rounds_by_task(env_id: str, rounds: int) -> None:
    order = _speakers(env_id, ["\\boxed{1}", "\\boxed{Incorrect}"] * 5)
    assert order == ["generator_0", "evaluator_0"] * rounds


def test_eval_opt_stops_on_correct_and_counts_unknown_as_incorrect() -> None:
    assert _speakers("eval-opt-arith-v0", ["\\boxed{1}", "\\boxed{correct}"]) == [
        "generator_0",
        "evaluator_0",
    ]
    order = _speakers("eval-opt-arith-v0", ["\\boxed{1}", "hmm", "\\boxed{2}", "\\boxed{Correct}"])
    assert order == ["generator_0", "evaluator_0"] * 2
    assert (
        _speakers("eval-opt-arith-v0", ["\\boxed{1}", "no"] * 2, max_rounds=2)
        == ["generator_0", "evaluator_0"] * 2
    )


def test_eval_opt_conversations_show_own_outputs_as_assistant() -> None:
    env = make_env("eval-opt-arith-v0")
    env.reset(seed=0)
    env.step("first try \\boxed{1}")
    env.step("wrong sign \\boxed{Incorrect}")
    gen = env.observe("generator_0")["messages"]
    assert [m["role"] for m in gen] == ["user", "assistant", "user"]
    assert gen[1]["content"] == "first try \\boxed{1}"
    assert "wrong sign" in gen[2]["content"]
    env.step("second try \\boxed{2}")
    ev = env.observe("evaluator_0")["messages"]
    assert [m["role"] for m in ev] == ["user", "assistant", "user"]
    assert "first try" in ev[0]["content"] and "second try" in ev[2]["content"]
    assert ev[1]["content"] == "wrong sign \\boxed{Incorrect}"


def test_voting_generators_see_the_same_prompt_and_not_each_other() -> None:
    env = make_env("voting-arith-v0", num_voters=4)
    env.reset(seed=0)
    prompts = {a: env.observe(a)["messages"] for a in env.unwrapped.ready_agents()}
    assert len(prompts) == 4 and len({str(p) for p in prompts.values()}) == 1
    env.step("alpha \\boxed{1}")
    assert env.observe("generator_1")["messages"] == prompts["generator_1"]
    for text in ("beta", "gamma", "delta"):
        env.step(text)
    agg = env.observe("aggregator_0")["messages"]
    assert len(agg) == 1
    for text in ("alpha", "beta", "gamma", "delta"):
        assert text in agg[0]["content"]
    assert "### Solution 4" in agg[0]["content"]


def test_orch_workers_worker_count_follows_strategies() -> None:
    order = _speakers("orch-workers-arith-v0", ["STRATEGY 1: only one", "\\boxed{1}", "\\boxed{1}"])
    assert order == ["orchestrator_0", "worker_0", "synthesizer_0"]
    many = "\n".join(f"STRATEGY {i}: plan {i}" for i in range(1, 6))
    order = _speakers("orch-workers-arith-v0", [many] + ["\\boxed{1}"] * 4)
    assert order == ["orchestrator_0", "worker_0", "worker_1", "worker_2", "synthesizer_0"]
    order = _speakers("orch-workers-arith-v0", [many] + ["\\boxed{1}"] * 6, max_workers=5)
    assert order.count("worker_4") == 1


def test_each_worker_gets_its_own_strategy() -> None:
    env = make_env("orch-workers-arith-v0")
    env.reset(seed=0)
    env.step("STRATEGY 1: count on fingers\nSTRATEGY 2: use a number line")
    env.step(None)  # skipped worker_2
    assert "count on fingers" in env.observe("worker_0")["messages"][0]["content"]
    assert "number line" in env.observe("worker_1")["messages"][0]["content"]
    assert env.observe("worker_2")["messages"] == ()


@pytest.mark.parametrize(
    ("text", "k", "expected"),
    [
        ("I pick \\boxed{2}", 3, (2, False)),
        ("\\boxed{7} then \\boxed{3}", 3, (3, False)),  # out of range is skipped
        ("</think>Solution 3 is best", 3, (3, True)),
        ("all wrong", 3, (1, True)),
        ("\\boxed{ 1 }", 1, (1, False)),
        ("solution 12 or 2", 3, (2, True)),
    ],
)
def test_parse_choice(text: str, k: int, expected: tuple[int, bool]) -> None:
    choice, error = parse_choice(text, k)
    assert (choice, error is not None) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\boxed{Correct}", "correct"),
        ("\\boxed{INCORRECT}", "incorrect"),
        ("\\boxed{Correct} ... actually \\boxed{Incorrect}", "incorrect"),
        ("\\boxed{\\text{Correct}}", "correct"),
        ("Correct", None),
        ("\\boxed{42}", None),
    ],
)
def test_parse_verdict(text: str, expected: str | None) -> None:
    assert parse_verdict(text) == expected


def test_parse_strategies_fallbacks() -> None:
    assert parse_strategies("STRATEGY 1: a\nstrategy 2) b\n**STRATEGY 3:** c", 3) == (
        ["a", "b", "c"],
        None,
    )
    found, err = parse_strategies("1. algebra first\n2. draw a picture", 3)
    assert found == ["algebra first", "draw a picture"] and "numbered" in err
    found, err = parse_strategies("short\nthis line is long enough", 3)
    assert found == ["this line is long enough"] and err
    found, err = parse_strategies("", 3)
    assert found == [""] and err
