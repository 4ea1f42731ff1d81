"""The examples under examples/ run as users run them, and the learning ones learn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(script: str, *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def test_reinforce_is_short() -> None:
    assert len((ROOT / "examples" / "reinforce.py").read_text().splitlines()) < 120


@pytest.mark.slow
@pytest.mark.parametrize("env_id", ["single-arith-v0", "voting-arith-v0"])
def test_reinforce_learns(env_id: str, tmp_path: Path) -> None:
    """examples/reinforce.py learns both envs within its defaults.

    The last 10 steps' mean reward beats the first 10 steps' by more than 0.1 (measured at
    the defaults: single 0.02 -> 0.35, voting 0.03 -> 0.43, in 11 s and 47 s on 2 cores).
    """
    proc = _run("reinforce.py", "--env-id", env_id, "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    rewards = json.loads((tmp_path / "rewards.json").read_text())["rewards"]
    assert len(rewards) == 40
    first, last = sum(rewards[:10]) / 10, sum(rewards[-10:]) / 10
    assert last > first + 0.1, (first, last)


def test_reinforce_env_reward_runs(tmp_path: Path) -> None:
    """``--reward env`` trains on the workflow's own 0/1 rewards (a micro model earns ~0)."""
    proc = _run(
        "reinforce.py",
        "--reward",
        "env",
        "--steps",
        "2",
        "--episodes-per-step",
        "4",
        "--out",
        str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rewards = json.loads((tmp_path / "rewards.json").read_text())["rewards"]
    assert len(rewards) == 2 and all(0.0 <= r <= 1.0 for r in rewards)
