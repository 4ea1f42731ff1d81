"""No module uses the global `random` or `numpy.random` state."""

from __future__ import annotations

import ast
import random
from pathlib import Path

import numpy as np
import pytest

import rolegym
from rolegym.envs.scripted import OraclePolicy, RandomPolicy
from tests.helpers import ALL_IDS, make_env, play

PACKAGE = Path(rolegym.__file__).parent
# Constructors of independent generators are fine; everything else on np.random is global.
NP_ALLOWED = {"default_rng", "Generator", "SeedSequence", "PCG64", "BitGenerator"}


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name == "random"]
        elif isinstance(node, ast.ImportFrom) and node.module in ("random", "numpy.random"):
            found += [
                f"from {node.module} import {a.name}"
                for a in node.names
                if node.module == "random" or a.name not in NP_ALLOWED
            ]
        elif isinstance(node, ast.Attribute) and node.attr not in NP_ALLOWED:
            v = node.value
            if (
                isinstance(v, ast.Attribute)
                and v.attr == "random"
                and isinstance(v.value, ast.Name)
                and v.value.id in ("np", "numpy")
            ):
                found.append(f"np.random.{node.attr}")
    return [f"{path.relative_to(PACKAGE.parent)}: {f}" for f in found]


def test_source_never_touches_global_rng() -> None:
    bad = [v for p in sorted(PACKAGE.rglob("*.py")) for v in _violations(p)]
    assert not bad, bad


def test_the_lint_catches_global_rng(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import random\nimport numpy as np\nx = np.random.rand()\ny = np.random.default_rng(0)\n"
    )
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path
    try:
        assert len(_violations(bad)) == 2
    finally:
        PACKAGE = saved


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_episodes_leave_global_state_alone(env_id: str) -> None:
    random.seed(123)
    np.random.seed(123)
    py_state, np_state = random.getstate(), np.random.get_state()
    env = make_env(env_id)
    for seed in range(2):
        env.reset(seed=seed)
        play(env, RandomPolicy(seed))
    env.reset()
    play(env, OraclePolicy())
    assert random.getstate() == py_state
    after = np.random.get_state()
    assert after[0] == np_state[0] and (after[1] == np_state[1]).all() and after[2:] == np_state[2:]
