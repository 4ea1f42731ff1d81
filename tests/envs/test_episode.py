"""The transcript: JSON round-trip, samples and grouping keys."""

from __future__ import annotations

import pytest

from rolegym.envs.episode import GROUP_SCOPES, Episode, group_samples, parse_group_scope
from rolegym.envs.scripted import OraclePolicy
from tests.helpers import make_env, play


def _episode(env_id: str = "eval-opt-arith-v0", seed: int = 0) -> Episode:
    env = make_env(env_id)
    env.reset(seed=seed)
    outputs = iter(
        [
            "\\boxed{0}",
            "\\boxed{Incorrect}",
            "\\boxed{1}",
            "\\boxed{Incorrect}",
            "\\boxed{2}",
            "\\boxed{Correct}",
        ]
    )
    for _agent in env.agent_iter():
        _, _, term, trunc, _ = env.last(observe=False)
        env.step(None if term or trunc else next(outputs))
    return env.unwrapped.episode


def test_json_round_trip() -> None:
    ep = _episode()
    ep.turns[0].extras["completion_token_ids"] = [1, 2, 3]
    back = Episode.from_json(ep.to_json())
    assert back == ep
    assert back.turns[0].messages == ep.turns[0].messages


def test_turn_fields() -> None:
    ep = _episode()
    assert [t.index for t in ep.turns] == list(range(6))
    assert [t.role_turn for t in ep.turns] == [0, 0, 1, 1, 2, 2]
    assert ep.turns[1].info["judged_turn"] == 0
    assert ep.turns[3].messages[-1]["role"] == "user"
    assert ep.final_answer == "\\boxed{2}"
    assert ep.turns_of("evaluator_0") == ep.turns[1::2]


def test_samples_and_group_keys() -> None:
    ep = _episode()
    samples = ep.to_samples()
    assert len(samples) == 6
    s = samples[2]
    assert s.group_key("task") == (ep.task_id,)
    assert s.group_key("task×role") == (ep.task_id, "generator")
    assert s.group_key("task×agent") == (ep.task_id, "generator_0")
    assert s.group_key("task×role×turn") == (ep.task_id, "generator", 1)
    assert s.group_key() == (ep.task_id, "generator_0", 1)  # the paper's default
    assert s.group_key("task x role") == s.group_key("task*role") == s.group_key("task×role")
    assert [x.role for x in ep.to_samples(roles=["evaluator"])] == ["evaluator"] * 3
    assert len(group_samples(samples, "task×role")) == 2
    assert len(group_samples(samples, "task×agent×turn")) == 6


def test_voting_groups_split_voters_by_agent() -> None:
    samples = []
    for member in range(4):  # a GRPO group: four episodes of one task
        env = make_env("voting-arith-v0")
        env.reset(seed=member, options={"task_id": "arith-train-000003"})
        play(env, OraclePolicy())
        samples += env.unwrapped.episode.to_samples()
    groups = group_samples(samples, "task×agent×turn")
    assert len(groups) == 4 and all(len(g) == 4 for g in groups.values())
    assert len(group_samples(samples, "task×role")) == 2


@pytest.mark.parametrize("bad", ["role", "task×color", "task×role×role", ""])
def test_bad_scopes(bad: str) -> None:
    with pytest.raises(ValueError, match="unknown group scope"):
        parse_group_scope(bad)


def test_scope_list_parses() -> None:
    assert all(parse_group_scope(s)[0] == "task" for s in GROUP_SCOPES)
