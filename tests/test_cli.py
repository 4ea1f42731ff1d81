"""The rolegym command: list, play, tasks, eval, leaderboard and report.

``train`` and ``demo`` have their own tests (``tests/baselines``, ``tests/test_demo.py``).
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from rolegym.cli import app

runner = CliRunner()


def test_list_shows_every_env() -> None:
    result = runner.invoke(app, ["list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for env_id in ("voting-arith-v0", "eval-opt-code-v0", "orch-workers-math-v0", "single-math-v0"):
        assert env_id in result.output


def test_play_with_scripted_policy() -> None:
    result = runner.invoke(app, ["play", "voting-arith-v0", "--policy", "oracle", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "turn 3: aggregator_0" in result.output
    assert "correct | reward mode team" in result.output


def test_play_human_for_one_role() -> None:
    typed = "I choose \\boxed{2}\n.\n"
    result = runner.invoke(
        app,
        [
            "play",
            "voting-arith-v0",
            "--policy",
            "wrong",
            "--role",
            "aggregator=human",
            "--reward-mode",
            "role",
        ],
        input=typed,
    )
    assert result.exit_code == 0, result.output
    assert "what aggregator_0 sees" in result.output
    assert "Solution 3" in result.output
    assert "turn 3: aggregator_0 (human)" in result.output
    assert "incorrect" in result.output


def test_play_errors_are_clear() -> None:
    result = runner.invoke(app, ["play", "votng-arith-v0", "--policy", "oracle"])
    assert result.exit_code == 2 and "Did you mean" in result.output
    result = runner.invoke(app, ["play", "voting-math-v0", "--policy", "oracle"])
    assert result.exit_code == 2 and "Offline alternatives" in result.output
    result = runner.invoke(app, ["play", "voting-arith-v0", "--policy", "genius"])
    assert result.exit_code != 0


def test_play_code_env_on_fixture() -> None:
    result = runner.invoke(
        app, ["play", "single-code-v0", "--policy", "oracle", "--dataset", "fixture"]
    )
    assert result.exit_code == 0, result.output
    assert "verdict: AC" in result.output


def test_console_script_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "rolegym.cli", "play", "single-arith-v0", "--policy", "random"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,  # only against a hang
    )
    assert "parse error" in out.stdout


def test_tasks_lists_cards_and_renders_an_example(humaneval) -> None:
    result = runner.invoke(app, ["tasks"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    for name in (
        "arith",
        "humaneval",
        "dapo-math",
        "deepcoder",
        "livecodebench",
        "reasoning-gym:NAME",
    ):
        assert name in result.output
    result = runner.invoke(app, ["tasks", "humaneval", "--index", "38"])
    assert result.exit_code == 0, result.output
    assert "humaneval / test: 164 tasks" in result.output and "HumanEval/38" in result.output
    assert "assert" in result.output  # the labelled fallback is shown
    result = runner.invoke(app, ["tasks", "arith", "--split", "train"])
    assert result.exit_code == 0 and "reference answer:" in result.output
    result = runner.invoke(app, ["tasks", "gsm8k"])
    assert result.exit_code == 2 and "Offline alternatives" in result.output


def test_eval_leaderboard_and_report_commands(tmp_path) -> None:
    pytest.importorskip("torch")
    out = tmp_path / "results"
    result = runner.invoke(
        app,
        [
            "eval",
            "micro:qwen3",
            "--env",
            "single-arith-v0",
            "--env",
            "voting-arith-v0",
            "--problems",
            "3",
            "--max-new-tokens",
            "4",
            "-o",
            str(out / "micro.json"),
            "--label",
            "micro",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "voting-arith-v0" in result.output and (out / "micro.json").exists()
    board = runner.invoke(app, ["leaderboard", str(out), "-o", str(tmp_path / "lb"), "--no-plots"])
    assert board.exit_code == 0, board.output
    assert "micro" in (tmp_path / "lb" / "leaderboard.md").read_text()
    train = runner.invoke(
        app,
        [
            "train",
            "--preset",
            "micro",
            "--max_steps",
            "2",
            "--output_dir",
            str(tmp_path / "run"),
            "--disable_tqdm",
            "--eval_steps",
            "1",
            "--eval_tasks",
            "2",
            "--tasks_per_step",
            "2",
        ],
    )
    assert train.exit_code == 0, train.output
    report = runner.invoke(app, ["report", str(tmp_path / "run"), "--no-plots"])
    assert report.exit_code == 0, report.output
    assert (tmp_path / "run" / "report" / "report.md").exists()
    missing = runner.invoke(app, ["report", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "error" in missing.output
    bad = runner.invoke(
        app, ["eval", "micro:qwen3", "--env", "votng-arith-v0", "-o", str(tmp_path / "x.json")]
    )
    assert bad.exit_code == 2 and "error" in bad.output
