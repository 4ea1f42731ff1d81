"""rolegym envs in PrimeIntellect verifiers (v1), evaluated with verifiers' own ``vf-eval``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("verifiers")

import rolegym
from rolegym.integrations.verifiers import (
    RolegymTaskset,
    RolegymTasksetConfig,
    load_environment,
)
from rolegym.rollout.server import serve

ROOT = Path(__file__).resolve().parents[2]


class ArithOracle:
    """An engine that answers arith Voting prompts correctly.

    The answers come from the env's task source; the aggregator picks a candidate holding the
    right answer.
    """

    def __init__(self, env_id: str, num_tasks: int) -> None:
        config = RolegymTasksetConfig(id="rolegym-verifiers", env_id=env_id, num_tasks=num_tasks)
        source = rolegym.make(env_id).unwrapped.tasks
        self.answers = {
            t.data.prompt: source.get(t.data.task_id).answer for t in RolegymTaskset(config).load()
        }
        self.calls = 0

    def generate(self, requests: list[Any]) -> list[str]:
        out = []
        for r in requests:
            self.calls += 1
            text = r.messages[-1]["content"]
            answer = next(a for p, a in self.answers.items() if p in r.messages[0]["content"])
            if "candidate solutions" in text:
                bodies = re.split(r"### Solution \d+\n", text)[1:]
                pick = next((i for i, b in enumerate(bodies, 1) if f"\\boxed{{{answer}}}" in b), 1)
                out.append(f"\\boxed{{{pick}}}")
            else:
                out.append(f"The answer is \\boxed{{{answer}}}.")
        return out


def _vf_eval(url: str, out: Path, *flags: str) -> list[dict[str, Any]]:
    """Run verifiers' evaluation entry point (what the vf-eval command runs), in this process."""
    from verifiers.v1.cli.eval.main import main

    os.environ.setdefault("PRIME_API_KEY", "unused")
    fixed = {"--env.taskset.env-id": "voting-arith-v0", "--env.taskset.num-tasks": "4"}
    fixed |= {"--model": "oracle", "--client.base-url": url, "--output-dir": str(out)}
    main(
        [
            "rolegym-verifiers",
            *(x for kv in fixed.items() for x in kv),
            "--push",
            "false",
            "--clean",
            *flags,
        ]
    )
    return [json.loads(line) for p in out.rglob("traces.jsonl") for line in p.open()]


@pytest.fixture(scope="module")
def oracle_url() -> Iterator[str]:
    server = serve(ArithOracle("voting-arith-v0", 4), model_name="oracle")
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_oracle_earns_every_roles_reward(oracle_url: str, tmp_path: Path) -> None:
    episodes = _vf_eval(oracle_url, tmp_path, "-n", "2", "-r", "2")
    assert len(episodes) == 2 * 2  # n examples x r rollouts
    for episode in episodes:
        assert episode["ok"], episode["errors"]
        traces = episode["traces"]
        agents = sorted(t["info"]["rolegym_agent"] for t in traces)
        assert agents == ["aggregator_0", "generator_0", "generator_1", "generator_2"]
        for t in traces:
            assert t["agent"]["name"] == t["info"]["rolegym_agent"].rsplit("_", 1)[0]
            assert t["rewards"]["rolegym"]["score"] == 1.0
            assert t["metrics"] == {"correct": 1.0, "parse_error": 0.0, "role_reward": 1.0}
            assert t["agent"]["trainable"] is True


def test_frozen_roles_are_not_trainable(oracle_url: str, tmp_path: Path) -> None:
    episodes = _vf_eval(
        oracle_url, tmp_path, "-n", "1", "-r", "1", "--env.frozen", '["aggregator"]'
    )
    (episode,) = episodes
    trainable = {t["agent"]["name"]: t["agent"]["trainable"] for t in episode["traces"]}
    assert trainable == {"aggregator": False, "generator": True}


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(rolegym.EnvNotFound):
        load_environment("votin-arith-v0")
    with pytest.raises(ValueError, match=r"unknown role\(s\) \['judge'\]"):
        load_environment("voting-arith-v0", frozen=["judge"])
    env = load_environment("eval-opt-arith-v0", num_tasks=3, seed=1)
    tasks = list(env.taskset)
    assert len(tasks) == 3 and all(t.data.env_id == "eval-opt-arith-v0" for t in tasks)
    assert [t.data.task_id for t in tasks] == [t.data.task_id for t in env.taskset]


@pytest.mark.slow
def test_example_evaluates_a_micro_model(tmp_path: Path) -> None:
    """examples/verifiers_eval.py: a micro model's rewards, per role, from vf-eval's traces."""
    script = ROOT / "examples" / "verifiers_eval.py"
    proc = subprocess.run(
        [sys.executable, str(script), "-n", "1", "-r", "2", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("mean reward per role:"))
    rewards = json.loads(line.partition(":")[2])
    assert set(rewards) == {"generator", "aggregator"}
    assert all(0.0 <= r <= 1.0 for r in rewards.values())
