"""`rolegym demo`: the teacher's transcripts, and the whole pipeline in its quick form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rolegym
from rolegym.demo import Teacher


def _play(env_id: str, teacher: Teacher, seed: int) -> object:
    env = rolegym.make(env_id, dataset_options={"max_value": 9, "ops": "+"})
    env.reset(seed=seed)
    for agent in env.agent_iter():
        _, _, terminated, truncated, _ = env.last(observe=False)
        env.step(None if terminated or truncated else teacher(env.unwrapped, agent))
    return env.unwrapped


def test_teacher_is_right_half_the_time_and_its_judges_are_right() -> None:
    teacher = Teacher(0.5, seed=0)
    right = total = 0
    for seed in range(40):
        env = _play("voting-arith-v0", teacher, seed)
        truth = f"\\boxed{{{env.task.answer}}}"
        hits = [t.completion == truth for t in env.episode.turns if t.role == "generator"]
        right, total = right + sum(hits), total + len(hits)
        # the aggregator picks a right candidate whenever there is one
        assert env.episode.correct == any(hits)
    assert 0.35 < right / total < 0.65
    verdicts = set()
    for seed in range(20):
        env = _play("eval-opt-arith-v0", teacher, seed)
        truth = f"\\boxed{{{env.task.answer}}}"
        for turn in env.episode.turns:
            if turn.role == "evaluator":
                judged = env.episode.turns[turn.info["judged_turn"]]
                assert (turn.info["verdict"] == "correct") == (judged.completion == truth)
                verdicts.add(turn.info["verdict"])
    assert verdicts == {"correct", "incorrect"}
    orchestrated = _play("orch-workers-arith-v0", teacher, 0)
    assert [t.role for t in orchestrated.episode.turns].count("worker") == 2


def test_quick_demo_writes_every_output(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from rolegym.demo import DemoConfig, run_demo

    stages = set()
    summary = run_demo(DemoConfig.quick(str(tmp_path / "demo")),
                       progress=lambda stage, done, total: stages.add(stage))  # fmt: skip
    out = tmp_path / "demo"
    assert [row["workflow"] for row in summary["matrix"]] == ["single", "voting", "eval-opt",
                                                              "orch-workers"]  # fmt: skip
    assert set(summary["matrix"][0]) >= {"random", "warm_start", "shared", "isolated"}
    results = sorted(p.name for p in (out / "results").glob("*.json"))
    assert "warm-start.json" in results and "voting-isolated.json" in results
    assert len(results) == 2 + 8
    board = (out / "leaderboard" / "leaderboard.md").read_text()
    assert "GRPO isolated on voting" in board and "micro + warm start" in board
    assert (out / "runs" / "voting-shared" / "report" / "report.md").exists()
    assert json.loads((out / "demo.json").read_text())["runs"] == summary["runs"]
    assert "warm start: formats" in stages and "GRPO voting-isolated" in stages
    assert (out / "demo.md").read_text().startswith("# rolegym demo")
