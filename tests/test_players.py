"""rolegym.players: every kind of player spec plays, and bad ones fail clearly."""

from __future__ import annotations

from typing import Any

import pytest

import rolegym
from rolegym.players import EnginePlayer, as_player


def _play(env_id: str, player: Any, seed: int = 0) -> Any:
    env = rolegym.make(env_id)
    env.reset(seed=seed)
    for agent in env.agent_iter():
        _, _, terminated, truncated, _ = env.last(observe=False)
        env.step(None if terminated or truncated else player(env.unwrapped, agent))
    return env.unwrapped.episode


def test_scripted_names_and_callables() -> None:
    assert _play("voting-arith-v0", as_player("oracle")).correct
    assert not _play("voting-arith-v0", as_player("wrong")).correct
    constant = as_player(lambda env, agent: "\\boxed{1}")
    assert {t.completion for t in _play("voting-arith-v0", constant).turns} == {"\\boxed{1}"}


def test_role_mapping_with_default() -> None:
    player = as_player(
        {"aggregator": "wrong", "default": "oracle"}, roles={"generator", "aggregator"}
    )
    episode = _play("voting-arith-v0", player)
    # Oracle voters are all right, so even the wrong aggregator's pick (1) is right.
    assert episode.correct
    assert episode.turns[-1].completion == "\\boxed{1}"


def test_bad_specs_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="unknown scripted player 'orakle'"):
        as_player("orakle")
    with pytest.raises(ValueError, match=r"no role\(s\) \['agregator'\]"):
        as_player({"agregator": "oracle"}, roles={"generator", "aggregator"})
    with pytest.raises(TypeError, match="a player is"):
        as_player(42)
    with pytest.raises(TypeError, match="no generate"):
        EnginePlayer(object())
    only_voters = as_player({"generator": "oracle"})
    with pytest.raises(ValueError, match="no player for role 'aggregator'"):
        _play("voting-arith-v0", only_voters)


def test_engine_player_replays_a_seeded_episode() -> None:
    pytest.importorskip("torch")
    from rolegym.baselines.micro import build_model, build_tokenizer
    from rolegym.rollout.engines.hf import HFEngine

    engine = HFEngine(build_model(hidden_size=32, layers=1), build_tokenizer(), max_new_tokens=6)
    first = [t.completion for t in _play("voting-arith-v0", as_player(engine), seed=4).turns]
    again = [t.completion for t in _play("voting-arith-v0", EnginePlayer(engine), seed=4).turns]
    other = [t.completion for t in _play("voting-arith-v0", as_player(engine), seed=5).turns]
    assert first == again and len(first) == 4
    assert first != other
