"""A run killed mid-way and resumed from its checkpoint reproduces the uninterrupted run.

The run to kill is paused by its reward function (:mod:`tests.baselines.gated_reward`) in the
step after its fourth-step checkpoint, and reports that through a pipe: the kill always
lands at the same point, however fast or busy the machine is.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.baselines.gated_reward import GATE

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]
TIMING = ("step_time", "timing/")


def _command(out: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "rolegym.cli", "train", "--preset", "micro",
        "--output_dir", str(out), "--max_steps", "10", "--save_steps", "2",
        "--reward_fn", "tests.baselines.gated_reward:chars", "--policy", "isolated",
        "--env_id", "voting-arith-v0", "--tasks_per_step", "2", "--num_generations", "4",
        "--disable_tqdm", "--logging_steps", "0", "--learning_rate", "0.01", *extra,
    ]  # fmt: skip


def _metrics(out: Path) -> list[dict]:
    lines = (out / "metrics.jsonl").read_text().splitlines()
    return [
        {k: v for k, v in json.loads(line).items() if not k.startswith(TIMING)} for line in lines
    ]


@pytest.mark.slow
def test_killed_run_resumes_exactly(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    paused_r, paused_w = os.pipe()  # the run says "paused" here
    hold_r, hold_w = os.pipe()  # and waits on this one, whose writing end only the test holds
    gate = f"{killed / 'checkpoint-000004'}:{paused_w}:{hold_r}"
    proc = subprocess.Popen(
        _command(killed),
        cwd=ROOT,
        env={**env, GATE: gate},
        pass_fds=(paused_w, hold_r),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(paused_w)
    os.close(hold_r)
    try:
        # the uninterrupted run meanwhile (the gate is not set for it)
        subprocess.run(_command(straight), cwd=ROOT, env=env, check=True, capture_output=True)
        ready, _, _ = select.select([paused_r], [], [], 600)  # a deadline only against hangs
        assert ready and os.read(paused_r, 16) == b"paused\n", "the run never paused"
        assert proc.poll() is None
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(paused_r)
        os.close(hold_w)
    assert proc.returncode == -signal.SIGKILL
    # killed in step 5: the evaluation before training and steps 1-4 are logged, not more
    assert [m["step"] for m in _metrics(killed)] == [0, 1, 2, 3, 4]
    assert [p.name for p in sorted(killed.glob("checkpoint-*"))] == [
        "checkpoint-000002",
        "checkpoint-000004",
    ]

    done = subprocess.run(
        _command(killed, "--resume"), cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    resumed, reference = _metrics(killed), _metrics(straight)
    assert [m["step"] for m in resumed] == list(range(11))  # 0: the evaluation before training
    assert resumed == reference
    state = json.loads((killed / "checkpoint-000010" / "trainer_state.json").read_text())
    assert state["step"] == 10


def test_resume_without_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    done = subprocess.run(
        _command(tmp_path / "empty", "--resume"), cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "no checkpoint" in done.stdout + done.stderr
