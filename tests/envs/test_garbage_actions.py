"""Nothing an LLM can write makes step() raise; non-strings get a clear error."""

from __future__ import annotations

import json

import pytest

from rolegym.envs.episode import Episode
from tests.helpers import ALL_IDS, make_env

GARBAGE = [
    "",
    " \n\t ",
    "\x00\x01\x02",
    "🙂" * 50 + "中文" + "\u202e" + "\ud800",  # emoji, CJK, bidi override, lone surrogate
    "\\boxed{",  # unclosed box
    "\\boxed{}" * 1000,
    "```python\n" + "x" * 100,  # unclosed fence
    "STRATEGY 1:\nSTRATEGY 2:",
    "x" * 1_000_000,
    "\\boxed{" * 10_000 + "}" * 10_000,
]


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_garbage_never_raises(env_id: str) -> None:
    for k, text in enumerate(GARBAGE):
        env = make_env(env_id, render_mode="ansi")
        env.reset(seed=k)
        for _agent in env.agent_iter():
            _, _, terminated, truncated, _info = env.last()
            if terminated or truncated:
                env.step(None)
                continue
            env.step(text)
            assert (
                env.unwrapped.episode.turns[-1].completion == text[: env.unwrapped.max_action_chars]
            )
        episode = env.unwrapped.episode
        assert episode.terminated
        assert set(episode.returns.values()) == {0.0}
        assert all(t.reward == 0.0 for t in episode.turns)
        assert isinstance(env.render(), str)
        assert Episode.from_json(episode.to_json()).to_dict() == json.loads(episode.to_json())


@pytest.mark.parametrize("env_id", ["voting-arith-v0", "single-code-v0", "eval-opt-math-v0"])
def test_unparsable_output_is_flagged(env_id: str) -> None:
    env = make_env(env_id)
    env.reset(seed=0)
    agent = env.agent_selection
    env.step("no answer here")
    assert env.infos[agent]["parse_error"]
    assert env.unwrapped.episode.turns[0].info["parse_error"]


def test_overlong_action_is_cut_and_flagged() -> None:
    env = make_env("single-arith-v0", max_action_chars=1000)
    env.reset(seed=0)
    env.step("y" * 5000)
    turn = env.unwrapped.episode.turns[0]
    assert len(turn.completion) == 1000
    assert turn.info["action_cut"] == 5000


@pytest.mark.parametrize("env_id", ["voting-arith-v0", "orch-workers-math-v0"])
def test_none_on_live_turn_is_a_clear_error(env_id: str) -> None:
    env = make_env(env_id)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="live and must act with a string"):
        env.step(None)
    with pytest.raises(TypeError, match="actions are strings"):
        env.step(42)
    env.step("still usable after the errors")
    assert len(env.unwrapped.episode.turns) == 1


def test_dead_agent_needs_none() -> None:
    env = make_env("single-arith-v0")
    env.reset(seed=0)
    env.step("\\boxed{0}")
    assert env.terminations["generator_0"]
    with pytest.raises(ValueError):
        env.step("more text")
