"""rolegym envs served with openenv-core's server, played with OpenEnv's client, on loopback."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("openenv")

import uvicorn

import rolegym
from rolegym.envs.scripted import OraclePolicy
from rolegym.integrations.openenv import (
    WS_IMPL,
    RolegymAction,
    RolegymEnvClient,
    create_rolegym_app,
    model_player,
)

ROOT = Path(__file__).resolve().parents[2]


class Server:
    """A uvicorn server on a free loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", ws=WS_IMPL)
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:  # set by uvicorn once it listens
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)


@pytest.fixture(scope="module")
def voting() -> Iterator[Server]:
    server = Server(create_rolegym_app("voting-arith-v0"))
    yield server
    server.stop()


def _post(url: str, body: Any, raw: bool = False) -> tuple[int, Any]:
    data = body if raw else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def _play_oracle(client: Any, seed: int) -> tuple[list[str], Any]:
    """Play one episode with oracle answers computed on a local replica (same seed)."""
    local = rolegym.make("voting-arith-v0")
    local.reset(seed=seed)
    oracle = OraclePolicy()
    result = client.reset(seed=seed)
    asked = []
    while not result.done:
        obs = result.observation
        assert obs.task_id == local.unwrapped.task.id
        assert obs.agent == local.agent_selection
        assert obs.messages == [dict(m) for m in local.observe(obs.agent)["messages"]]
        text = oracle(local.unwrapped, obs.agent)
        local.step(text)
        asked.append(obs.agent)
        result = client.step(RolegymAction(agent=obs.agent, text=text))
    return asked, result


def test_oracle_episode_over_the_websocket(voting: Server) -> None:
    with RolegymEnvClient(base_url=voting.url).sync() as client:
        asked, last = _play_oracle(client, seed=3)
        assert asked == ["generator_0", "generator_1", "generator_2", "aggregator_0"]
        assert last.done and last.reward == 1.0
        assert last.observation.rewards == dict.fromkeys(asked, 1.0)
        state = client.state()
        assert state.done and state.correct and state.step_count == 4
        assert state.role_rewards == {"generator": 1.0, "aggregator": 1.0}


def test_wrong_agent_is_refused_and_the_session_goes_on(voting: Server) -> None:
    with RolegymEnvClient(base_url=voting.url).sync() as client:
        result = client.reset(seed=0)
        assert result.observation.agent == "generator_0" and not result.done
        with pytest.raises(RuntimeError, match="generator_0's turn, not aggregator_0's"):
            client.step(RolegymAction(agent="aggregator_0", text="\\boxed{1}"))
        state = client.state()
        assert state.step_count == 0 and state.agent == "generator_0"
        result = client.step(RolegymAction(agent="generator_0", text="no idea"))
        assert result.observation.agent == "generator_1"
        assert result.observation.info.get("parse_error")  # bad text: an outcome


def test_concurrent_sessions_are_isolated(voting: Server) -> None:
    async def interleaved() -> tuple[Any, Any]:
        async with (
            RolegymEnvClient(base_url=voting.url) as a,
            RolegymEnvClient(base_url=voting.url) as b,
        ):
            ra, rb = await a.reset(seed=1), await b.reset(seed=2)
            assert ra.observation.task_id != rb.observation.task_id
            for _ in range(3):  # step both, alternately: each keeps its own episode
                ra = await a.step(RolegymAction(agent=ra.observation.agent, text="\\boxed{1}"))
                rb = await b.step(RolegymAction(agent=rb.observation.agent, text="\\boxed{2}"))
            return (await a.state(), await b.state())

    sa, sb = asyncio.run(interleaved())
    assert sa.step_count == sb.step_count == 3
    assert sa.agent == sb.agent == "aggregator_0"
    assert sa.task_id != sb.task_id


def test_http_endpoints_and_malformed_bodies(voting: Server) -> None:
    status, body = _post(voting.url + "/reset", {"seed": 5})
    assert status == 200 and body["observation"]["agent"] == "generator_0"
    assert body["observation"]["messages"][0]["role"] == "user"
    local = rolegym.make("voting-arith-v0")
    local.reset(seed=5)
    assert body["observation"]["task_id"] == local.unwrapped.task.id
    status, body = _post(voting.url + "/reset", {"seed": 5, "task_id": "no-such-task"})
    assert status == 400 and "no-such-task" in json.dumps(body)
    # HTTP is stateless in OpenEnv: a step has no episode, and says where to play instead.
    status, body = _post(voting.url + "/step", {"action": {"agent": "generator_0", "text": "1"}})
    assert status == 409 and "WebSocket" in json.dumps(body)
    status, _ = _post(voting.url + "/step", {"action": {"agent": "generator_0"}})
    assert status == 422  # no text
    status, _ = _post(voting.url + "/step", b"{not json", raw=True)
    assert status == 422
    status, _ = _post(voting.url + "/step", {"action": {"agent": "g", "text": "1", "x": 1}})
    assert status == 422  # unknown field
    # The server still serves sessions.
    with RolegymEnvClient(base_url=voting.url).sync() as client:
        _, last = _play_oracle(client, seed=8)
        assert last.reward == 1.0


def test_learner_mode_serves_one_role() -> None:
    for others, want in (("oracle", 1.0), ("wrong", 0.0)):
        server = Server(create_rolegym_app("voting-arith-v0", learner="aggregator", others=others))
        try:
            with RolegymEnvClient(base_url=server.url).sync() as client:
                result = client.reset(seed=0)
                obs = result.observation
                assert obs.agent == "aggregator_0" and obs.role == "aggregator"
                assert obs.messages[-1]["content"].count("\\boxed{") >= 3  # the voters spoke
                result = client.step(RolegymAction(agent="aggregator_0", text="\\boxed{1}"))
                assert result.done and result.reward == want
                assert client.state().role_rewards["aggregator"] == want
        finally:
            server.stop()


def test_bad_configuration_is_a_clear_error() -> None:
    with pytest.raises(rolegym.EnvNotFound):
        create_rolegym_app("votin-arith-v0")
    with pytest.raises(ValueError, match="no role 'judge'"):
        create_rolegym_app("voting-arith-v0", learner="judge")
    with pytest.raises(ValueError, match="unknown scripted player"):
        create_rolegym_app("voting-arith-v0", learner="aggregator", others="orakle")


def test_model_player_over_a_saved_micro_model(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from rolegym.baselines.micro import save_micro_model

    path = save_micro_model(tmp_path / "micro", hidden_size=32, layers=1, heads=2)
    player = model_player(str(path), max_new_tokens=6)
    env = rolegym.make("voting-arith-v0")
    env.reset(seed=0)
    text = player(env.unwrapped, "generator_0")
    assert isinstance(text, str) and len(text) <= 6


def test_cli_serve_env_help_and_errors() -> None:
    from typer.testing import CliRunner

    from rolegym.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["serve-env", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--learner", "--others", "--model", "--env-kwarg"):
        assert option in result.output
    result = runner.invoke(app, ["serve-env", "votin-arith-v0"])
    assert result.exit_code != 0 and "voting-arith-v0" in result.output


def test_example_plays_an_episode() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "openenv_client.py"), "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "reward 1.0" in proc.stdout
