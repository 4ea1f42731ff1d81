"""The registry: ids, version resolution, errors, kwargs and PettingZoo interop."""

from __future__ import annotations

import sys

import pettingzoo
import pytest
from pettingzoo.utils.wrappers import OrderEnforcingWrapper

import rolegym
from rolegym.envs import VotingEnv
from rolegym.registration import EnvNotFound, parse_env_id


def test_builtin_ids() -> None:
    expected = {
        f"{w}-{t}-v0"
        for w in ("voting", "eval-opt", "orch-workers", "single")
        for t in ("math", "code", "arith")
    }
    assert expected <= set(rolegym.registry)


def test_parse_env_id() -> None:
    assert parse_env_id("voting-math-v0") == (None, "voting-math", 0)
    assert parse_env_id("rolegym/eval-opt-code-v12") == ("rolegym", "eval-opt-code", 12)
    assert parse_env_id("voting-math") == (None, "voting-math", None)
    with pytest.raises(ValueError, match="malformed"):
        parse_env_id("voting math")


def test_make_wraps_only_in_order_enforcing() -> None:
    env = rolegym.make("voting-arith-v0")
    assert isinstance(env, OrderEnforcingWrapper)
    assert isinstance(env.env, VotingEnv)
    assert env.unwrapped is env.env
    with pytest.raises(Exception, match="reset"):
        env.step("too early")


def test_unversioned_id_resolves_to_latest_with_warning() -> None:
    with pytest.warns(UserWarning, match="using the latest, 'voting-arith-v0'"):
        env = rolegym.make("voting-arith")
    assert env.unwrapped.env_id == "voting-arith-v0"


def test_newer_version_wins_and_old_one_warns() -> None:
    class VotingV1(VotingEnv):
        version = 1

    rolegym.register("voting-test-v0", VotingEnv, kwargs={"task": "arith"}, pettingzoo=False)
    rolegym.register("voting-test-v1", VotingV1, kwargs={"task": "arith"}, pettingzoo=False)
    try:
        with pytest.warns(UserWarning, match="voting-test-v1"):
            assert rolegym.spec("voting-test").id == "voting-test-v1"
        with pytest.warns(DeprecationWarning, match="outdated"):
            rolegym.spec("voting-test-v0")
        with pytest.raises(
            EnvNotFound, match="no version 7; registered: voting-test-v0, voting-test-v1"
        ):
            rolegym.spec("voting-test-v7")
    finally:
        del rolegym.registry["voting-test-v0"], rolegym.registry["voting-test-v1"]


def test_unknown_id_names_close_matches() -> None:
    with pytest.raises(EnvNotFound, match="Did you mean 'voting-math-v0'"):
        rolegym.make("votng-math-v0")
    with pytest.raises(EnvNotFound, match="rolegym list"):
        rolegym.make("chess-v0")


def test_kwargs_override_spec_defaults() -> None:
    env = rolegym.make("voting-arith-v0", num_voters=5, reward_mode="role")
    assert env.unwrapped.possible_agents[-1] == "aggregator_0"
    assert len(env.unwrapped.possible_agents) == 6
    assert env.unwrapped.reward_mode == "role"
    env = rolegym.make("eval-opt-code-v0", dataset="fixture", max_rounds=4)
    assert env.unwrapped.max_rounds == 4
    with pytest.raises(ValueError, match="num_voters"):
        rolegym.make("voting-arith-v0", num_voters=0)
    with pytest.raises(ValueError, match="reward_mode"):
        rolegym.make("voting-arith-v0", reward_mode="solo")


def test_pettingzoo_make() -> None:
    env = pettingzoo.make("aec", "rolegym/voting-arith-v0", num_voters=2)
    env.reset(seed=0)
    assert env.unwrapped.possible_agents == ["generator_0", "generator_1", "aggregator_0"]
    assert pettingzoo.spec("aec", "rolegym/single-code-v0").id == "rolegym/single-code-v0"


def test_register_custom_env() -> None:
    rolegym.register(
        "voting5-arith-v0",
        "rolegym.envs.voting:VotingEnv",
        kwargs={"task": "arith", "num_voters": 5},
    )
    try:
        env = rolegym.make("voting5-arith-v0")
        assert len(env.unwrapped.possible_agents) == 6
        env = pettingzoo.make("aec", "rolegym/voting5-arith-v0")
        assert len(env.unwrapped.possible_agents) == 6
        with pytest.warns(UserWarning, match="overriding"):
            rolegym.register(
                "voting5-arith-v0",
                "rolegym.envs.voting:VotingEnv",
                kwargs={"task": "arith"},
                pettingzoo=False,
            )
        with pytest.raises(ValueError, match="versioned"):
            rolegym.register("unversioned", VotingEnv)
    finally:
        del rolegym.registry["voting5-arith-v0"]


def test_pprint_registry() -> None:
    text = rolegym.pprint_registry(disable_print=True)
    assert "===== arith =====" in text and "voting-arith-v0" in text


def test_env_metadata_name_is_the_id() -> None:
    for env_id in rolegym.registry:
        env = rolegym.make(env_id)
        assert env.unwrapped.metadata["name"] == env_id == str(env.unwrapped)
        assert env.unwrapped.spec is rolegym.spec(env_id)


def test_custom_id_is_recorded_in_the_episode() -> None:
    rolegym.register(
        "voting5-arith-v0", VotingEnv, kwargs={"task": "arith", "num_voters": 5}, pettingzoo=False
    )
    try:
        env = rolegym.make("voting5-arith-v0")
        env.reset(seed=0)
        assert env.unwrapped.episode.env_id == "voting5-arith-v0"
    finally:
        del rolegym.registry["voting5-arith-v0"]


def test_hub_dataset_error_names_offline_alternatives() -> None:
    env = rolegym.make("voting-math-v0")
    with pytest.raises(
        RuntimeError, match=r"open-r1/DAPO-Math-17k-Processed.*dataset='fixture'.*arith"
    ):
        env.reset(seed=0)


def test_the_builtin_table_matches_the_env_classes() -> None:
    """``rolegym.BUILTIN_WORKFLOWS`` (written out so that import stays light) is the classes'."""
    import importlib

    from rolegym.envs import WORKFLOWS

    table = {w: (m, c, v) for w, m, c, v in rolegym.BUILTIN_WORKFLOWS}
    assert set(table) == set(WORKFLOWS)
    for workflow, cls in WORKFLOWS.items():
        module, name, version = table[workflow]
        assert getattr(importlib.import_module(f"rolegym.envs.{module}"), name) is cls
        assert version == cls.version
        spec = rolegym.spec(f"{workflow}-math-v{version}")
        assert spec.summary == sys.modules[cls.__module__].__doc__.strip().splitlines()[0]
