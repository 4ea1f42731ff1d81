"""rolegym envs in PrimeIntellect verifiers (v1), evaluated with verifiers' own ``vf-eval``."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("verifiers")

import rolegym
from rolegym.envs.scripted import OraclePolicy, WrongPolicy
from rolegym.integrations.verifiers import (
    RolegymTaskset,
    RolegymTasksetConfig,
    load_environment,
)
from rolegym.rollout.server import serve

ROOT = Path(__file__).resolve().parents[2]


class ScriptedEngine:
    """An engine that answers with a rolegym scripted policy's text for the prompt's task.

    Every task the taskset draws is played once by ``policy`` in a plain rolegym env; each
    agent's observation (its conversation so far) is remembered with the policy's reply.
    Prompt templates are deterministic, so the verifiers run asks exactly these conversations.
    """

    def __init__(self, env_id: str, num_tasks: int, policy: Any) -> None:
        config = RolegymTasksetConfig(id="rolegym-verifiers", env_id=env_id, num_tasks=num_tasks)
        self.replies: dict[tuple[tuple[str, str], ...], str] = {}
        for task in RolegymTaskset(config).load():
            env = rolegym.make(env_id)
            env.reset(options={"task_id": task.data.task_id})
            for agent in env.agent_iter():
                if env.terminations[agent] or env.truncations[agent]:
                    env.step(None)
                    continue
                text = policy(env.unwrapped, agent)
                self.replies[_conversation(env.observe(agent)["messages"])] = text
                env.step(text)
            env.close()

    def generate(self, requests: list[Any]) -> list[str]:
        out = []
        for r in requests:
            seen = _conversation(r.messages)
            if seen not in self.replies:
                raise KeyError(f"the policy never saw this conversation: {seen!r}"[:500])
            out.append(self.replies[seen])
        return out


def _conversation(messages: Any) -> tuple[tuple[str, str], ...]:
    """A chat's messages as a key (system prompts aside: harnesses may place them apart)."""
    return tuple((m["role"], m["content"]) for m in messages if m["role"] != "system")


def revise_once(env: Any, agent: str) -> str:
    """Wrong at a generator's first turn, the oracle everywhere else (so Eval-Opt revises)."""
    if env.role(agent) == "generator" and not env.episode.turns_of(agent):
        return WrongPolicy()(env, agent)
    return OraclePolicy()(env, agent)


def _vf_eval(url: str, out: Path, env_id: str, *flags: str) -> list[dict[str, Any]]:
    """Run verifiers' evaluation entry point (what the vf-eval command runs), in this process."""
    from verifiers.v1.cli.eval.main import main

    fixed = {"--env.taskset.env-id": env_id, "--env.taskset.num-tasks": "4"}
    fixed |= {"--model": "scripted", "--client.base-url": url, "--output-dir": str(out)}
    argv = ["rolegym-verifiers", *(x for kv in fixed.items() for x in kv)]
    with _cli_process_state():
        main([*argv, "--push", "false", "--clean", *flags])
    return [json.loads(line) for p in out.rglob("traces.jsonl") for line in p.open()]


@contextlib.contextmanager
def _cli_process_state() -> Iterator[None]:
    """Undo what vf-eval's ``main`` sets up for a CLI process, so no other test inherits it.

    That is ``sys.argv``, the SIGINT/SIGTERM handlers, logging (loguru's sinks,
    ``logging.lastResort``) and the ``VF_RUN_ID`` it exports (a second run would reuse it).
    """
    import loguru

    argv, last_resort, run_id = list(sys.argv), logging.lastResort, os.environ.get("VF_RUN_ID")
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        sys.argv = argv
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        logging.lastResort = last_resort
        os.environ.pop("VF_RUN_ID", None)
        if run_id is not None:
            os.environ["VF_RUN_ID"] = run_id
        loguru.logger.remove()
        loguru.logger.add(sys.stderr)  # loguru's default sink


@contextlib.contextmanager
def _serving(engine: Any) -> Iterator[str]:
    server = serve(engine, model_name="scripted")
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()


def test_oracle_earns_every_roles_reward(tmp_path: Path) -> None:
    with _serving(ScriptedEngine("voting-arith-v0", 4, OraclePolicy())) as url:
        episodes = _vf_eval(url, tmp_path, "voting-arith-v0", "-n", "2", "-r", "2")
    assert len(episodes) == 2 * 2  # n examples x r rollouts
    tasks = [e["task"]["data"]["task_id"] for e in episodes]
    assert len(set(tasks)) == 2 and all(tasks.count(t) == 2 for t in tasks)
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


def test_revisions_are_later_turns_of_one_trace_and_frozen_roles_do_not_train(
    tmp_path: Path,
) -> None:
    """Eval-Opt: the generator is wrong once, is told so, revises; each agent is one trace."""
    with _serving(ScriptedEngine("eval-opt-arith-v0", 4, revise_once)) as url:
        (episode,) = _vf_eval(
            url,
            tmp_path,
            "eval-opt-arith-v0",
            "-n",
            "1",
            "-r",
            "1",
            "--env.frozen",
            '["evaluator"]',
        )
    assert episode["ok"], episode["errors"]
    traces = {t["info"]["rolegym_agent"]: t for t in episode["traces"]}
    assert sorted(traces) == ["evaluator_0", "generator_0"]
    trainable = {t["agent"]["name"]: t["agent"]["trainable"] for t in traces.values()}
    assert trainable == {"evaluator": False, "generator": True}
    said = [n["message"] for n in traces["generator_0"]["nodes"]]
    assert [m["role"] for m in said] == ["user", "assistant", "user", "assistant"]
    assert "judged your solution incorrect" in said[2]["content"]
    assert "\\boxed{Incorrect}" in said[2]["content"]  # the evaluator's words, passed on
    for t in traces.values():
        assert t["rewards"]["rolegym"]["score"] == 1.0  # team reward: the revision is right


def _worker_0_wrong(env: Any, agent: str) -> str:
    return (WrongPolicy() if agent == "worker_0" else OraclePolicy())(env, agent)


def test_each_trace_has_its_agents_return_and_its_roles_mean(tmp_path: Path) -> None:
    """Orch-Workers with role rewards (env kwargs through the CLI): one worker is wrong."""
    with _serving(ScriptedEngine("orch-workers-arith-v0", 4, _worker_0_wrong)) as url:
        kwargs = ["--env.taskset.env-kwargs", '{"reward_mode": "role"}']
        (episode,) = _vf_eval(url, tmp_path, "orch-workers-arith-v0", "-n", "1", "-r", "1", *kwargs)
    assert episode["ok"], episode["errors"]
    traces = {t["info"]["rolegym_agent"]: t for t in episode["traces"]}
    returns = {a: t["rewards"]["rolegym"]["score"] for a, t in traces.items()}
    assert returns == pytest.approx(
        {"orchestrator_0": 2 / 3, "worker_0": 0.0, "worker_1": 1.0, "worker_2": 1.0}
        | {"synthesizer_0": 1.0}
    )
    role_reward = {a: t["metrics"]["role_reward"] for a, t in traces.items()}
    assert role_reward == pytest.approx(
        {"orchestrator_0": 2 / 3, "worker_0": 2 / 3, "worker_1": 2 / 3, "worker_2": 2 / 3}
        | {"synthesizer_0": 1.0}
    )
    assert {t["metrics"]["correct"] for t in traces.values()} == {1.0}


def test_bad_input_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(rolegym.EnvNotFound, match="Did you mean 'voting-arith-v0'"):
        load_environment("votin-arith-v0")
    with pytest.raises(ValueError, match=r"unknown role\(s\) \['judge'\]"):
        load_environment("voting-arith-v0", frozen=["judge"])
    nowhere = "http://127.0.0.1:9/v1"  # never called: both fail before any rollout
    with pytest.raises(rolegym.EnvNotFound, match="votin-arith-v0"):
        _vf_eval(nowhere, tmp_path / "a", "votin-arith-v0")
    with pytest.raises(SystemExit):
        _vf_eval(nowhere, tmp_path / "b", "voting-arith-v0", "--env.frozen", '["judge"]')
    shown = " ".join(re.sub(r"[│╭╮╰╯─]", " ", "".join(capsys.readouterr())).split())
    assert "unknown role(s) ['judge']" in shown
    env = load_environment("eval-opt-arith-v0", num_tasks=3, seed=1)
    tasks = list(env.taskset)
    assert len(tasks) == 3 and all(t.data.env_id == "eval-opt-arith-v0" for t in tasks)
    assert [t.data.task_id for t in tasks] == [t.data.task_id for t in env.taskset]


@pytest.mark.slow
def test_example_evaluates_a_micro_model(tmp_path: Path) -> None:
    """examples/verifiers_eval.py: a micro model's rewards, per role, from vf-eval's traces."""
    script = ROOT / "examples" / "verifiers_eval.py"
    proc = subprocess.run(
        [sys.executable, str(script), "-n", "1", "-r", "1", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("mean reward per role:"))
    rewards = json.loads(line.partition(":")[2])
    assert set(rewards) == {"generator", "aggregator"}
    assert all(0.0 <= r <= 1.0 for r in rewards.values())
