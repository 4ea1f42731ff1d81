"""Every registered id passes PettingZoo's own test suite, directly and via pettingzoo.make."""

from __future__ import annotations

import pickle
import warnings

import pettingzoo
import pytest
from pettingzoo.test import api_test, parallel_api_test, render_test, seed_test
from pettingzoo.utils import turn_based_aec_to_parallel

from rolegym.envs.scripted import RandomPolicy
from tests.helpers import ALL_IDS, make_env, offline_kwargs, play

# PettingZoo nudges towards Box/Discrete spaces and ndarray observations; text envs can't
# follow that advice. Any other warning fails the test.
ALLOWED = (
    "should be gymnasium.spaces.box or gymnasium.spaces.discrete",
    "Observation is not a NumPy array",
)


def _check_warnings(caught: list[warnings.WarningMessage]) -> None:
    unexpected = [
        str(w.message)
        for w in caught
        if not any(a.lower() in str(w.message).lower() for a in ALLOWED)
    ]
    assert not unexpected, unexpected


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_api(env_id: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        api_test(make_env(env_id), num_cycles=300)
    _check_warnings(caught)


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_api_through_pettingzoo_make(env_id: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = pettingzoo.make("aec", f"rolegym/{env_id}", **offline_kwargs(env_id))
        api_test(env, num_cycles=100)
    _check_warnings(caught)


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_seed(env_id: str) -> None:
    seed_test(lambda: make_env(env_id), num_cycles=200)
    seed_test(lambda: pettingzoo.make("aec", f"rolegym/{env_id}", **offline_kwargs(env_id)), 50)


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_render(env_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    render_test(lambda render_mode=None: make_env(env_id, render_mode=render_mode))
    env = make_env(env_id, render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert env.unwrapped.task.prompt in text


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_parallel_api(env_id: str) -> None:
    parallel_api_test(turn_based_aec_to_parallel(make_env(env_id)), num_cycles=300)


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_pickle_round_trip_mid_episode(env_id: str) -> None:
    env = make_env(env_id)
    env.reset(seed=7)
    policy = RandomPolicy(seed=1)
    env.step(policy(env.unwrapped, env.agent_selection))  # one live turn in
    clone = pickle.loads(pickle.dumps(env))
    a = play(env, RandomPolicy(seed=2))
    b = play(clone, RandomPolicy(seed=2))
    assert a == b
    assert env.unwrapped.episode.to_dict() == clone.unwrapped.episode.to_dict()
