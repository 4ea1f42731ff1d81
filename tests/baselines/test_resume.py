"""A run killed mid-way and resumed from its checkpoint reproduces the uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]
TIMING = ("step_time", "timing/")


def _command(out: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "rolegym.cli", "train", "--preset", "micro",
        "--output_dir", str(out), "--max_steps", "10", "--save_steps", "2",
        "--reward_fn", "tests.baselines.slow_reward:chars", "--policy", "isolated",
        "--env_id", "voting-arith-v0", "--tasks_per_step", "2", "--num_generations", "4",
        "--disable_tqdm", "--logging_steps", "0", "--learning_rate", "0.01", *extra,
    ]  # fmt: skip


def _metrics(out: Path) -> list[dict]:
    lines = (out / "metrics.jsonl").read_text().splitlines()
    return [
        {k: v for k, v in json.loads(line).items() if not k.startswith(TIMING)} for line in lines
    ]


def test_killed_run_resumes_exactly(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    subprocess.run(_command(straight), cwd=ROOT, env=env, check=True, capture_output=True)

    proc = subprocess.Popen(_command(killed), cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 240
    while not (killed / "checkpoint-000004").exists():
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "summary.json").exists(), "killed too late: the run had finished"
    assert len(_metrics(killed)) >= 4

    done = subprocess.run(_command(killed, "--resume"), cwd=ROOT, env=env, capture_output=True,
                          text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    resumed, reference = _metrics(killed), _metrics(straight)
    assert [m["step"] for m in resumed] == list(range(11))  # 0: the evaluation before training
    assert resumed == reference
    state = json.loads((killed / "checkpoint-000010" / "trainer_state.json").read_text())
    assert state["step"] == 10


def test_resume_without_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    done = subprocess.run(_command(tmp_path / "empty", "--resume"), cwd=ROOT,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 2
    assert "no checkpoint" in done.stdout + done.stderr
