"""Per-role signature metrics: how often a role's output fails to parse, and a judge's leniency."""

from __future__ import annotations

import pytest

import rolegym
from rolegym.baselines.grpo.rows import build_rows
from rolegym.baselines.grpo.trainer import _role_metrics, _stats


def _episodes(evaluator_says: list[str]) -> list[object]:
    """Eval-Opt episodes: the generator always answers 1, the evaluator says the given text."""
    env = rolegym.make("eval-opt-arith-v0", dataset_options={"max_value": 9, "ops": "+"})
    episodes = []
    for seed, said in enumerate(evaluator_says):
        env.reset(seed=seed)
        for agent in env.agent_iter():
            _, _, terminated, truncated, _ = env.last(observe=False)
            if terminated or truncated:
                env.step(None)
                continue
            env.step("\\boxed{1}" if agent.startswith("generator") else said)
        episode = env.unwrapped.episode
        for turn in episode.turns:  # token ids, as an engine would have recorded them
            turn.extras |= {"prompt_token_ids": [1, 2], "completion_token_ids": [3, 4]}
        episodes.append(episode)
    return episodes


def test_parse_errors_and_verdicts_reach_the_rows_and_the_role_metrics() -> None:
    said = ["\\boxed{Correct}", "\\boxed{Incorrect}", "no verdict here", "\\boxed{Correct}"]
    episodes = _episodes(said)
    rows, _ = build_rows(episodes, learner_of=lambda role: "shared")
    evaluator = [r for r in rows if r.role == "evaluator"]
    # 'Incorrect' and an unparsable verdict both ask for a revision: rounds run to the cap (3)
    assert [r.verdict for r in evaluator] == [
        "correct",
        "incorrect",
        "incorrect",
        "incorrect",
        None,
        None,
        None,
        "correct",
    ]
    assert [r.parse_error for r in evaluator] == [v is None for v in (r.verdict for r in evaluator)]
    metrics = _role_metrics(_stats(rows), {})
    assert metrics["role/evaluator/parse_error_rate"] == pytest.approx(3 / 8)
    assert metrics["role/evaluator/says_correct_rate"] == pytest.approx(2 / 5)
    assert metrics["role/generator/parse_error_rate"] == 0.0
    assert "role/generator/says_correct_rate" not in metrics  # generators give no verdicts
