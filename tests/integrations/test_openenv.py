"""rolegym envs served with openenv-core's server, played with OpenEnv's client, on loopback.

Every server here is a real uvicorn server on a free loopback port (in a thread), and every
client is :class:`RolegymEnvClient`, a subclass of OpenEnv's ``EnvClient``.
"""

from __future__ import annotations

import asyncio
import json
import logging
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
from websockets.sync.client import connect

import rolegym
from rolegym.envs.scripted import OraclePolicy
from rolegym.integrations.openenv import (
    RolegymAction,
    RolegymEnvClient,
    create_rolegym_app,
    model_player,
)

ROOT = Path(__file__).resolve().parents[2]
AGENTS = ["generator_0", "generator_1", "generator_2", "aggregator_0"]


class _Errors(logging.Handler):
    """Collects the ERROR records uvicorn logs (an exception in the app, say)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Server:
    """A uvicorn server (its default WebSocket protocol) on a free loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        )
        self.errors = _Errors()
        logging.getLogger("uvicorn.error").addHandler(self.errors)
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
        """Shut down and wait for every connection's handler to finish."""
        self.server.should_exit = True
        self.thread.join(timeout=60)
        logging.getLogger("uvicorn.error").removeHandler(self.errors)
        assert not self.thread.is_alive(), "uvicorn did not stop"


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


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.loads(r.read())


def _replica(seed: int, env_id: str = "voting-arith-v0") -> Any:
    """The same env, reset locally with the same seed: what the server must be showing."""
    local = rolegym.make(env_id)
    local.reset(seed=seed)
    _dead_steps(local)
    return local


def _dead_steps(env: Any) -> None:
    while env.agents and (
        env.terminations[env.agent_selection] or env.truncations[env.agent_selection]
    ):
        env.step(None)


def _play_oracle(client: Any, seed: int, env_id: str = "voting-arith-v0") -> tuple[list[str], Any]:
    """Play one episode with oracle answers computed on a local replica (same seed)."""
    local = _replica(seed, env_id)
    oracle = OraclePolicy()
    result = client.reset(seed=seed)
    asked = []
    while not result.done:
        obs = result.observation
        assert obs.env_id == env_id and obs.task_id == local.unwrapped.task.id
        assert obs.agent == local.agent_selection
        assert obs.role == local.unwrapped.role(obs.agent)
        assert obs.messages == [dict(m) for m in local.observe(obs.agent)["messages"]]
        assert result.reward == 0.0
        assert obs.rewards == dict.fromkeys(local.unwrapped.possible_agents, 0.0)
        text = oracle(local.unwrapped, obs.agent)
        local.step(text)
        _dead_steps(local)
        asked.append(obs.agent)
        result = client.step(RolegymAction(agent=obs.agent, text=text))
    assert not local.agents  # the server's episode ended where the replica's did
    return asked, result


def test_oracle_episode_over_the_websocket(voting: Server) -> None:
    with RolegymEnvClient(base_url=voting.url).sync() as client:
        assert client.state().episode_id is None  # a fresh session: no episode yet
        asked, last = _play_oracle(client, seed=3)
        assert asked == AGENTS
        assert last.done and last.reward == 1.0 and last.observation.agent is None
        assert last.observation.rewards == dict.fromkeys(AGENTS, 1.0)
        state = client.state()
        assert state.done and state.correct and state.step_count == 4 and state.agent is None
        assert state.episode_id and state.task_id == _replica(3).unwrapped.task.id
        assert state.returns == dict.fromkeys(AGENTS, 1.0)
        assert state.role_rewards == {"generator": 1.0, "aggregator": 1.0}
        with pytest.raises(RuntimeError, match="episode has ended"):
            client.step(RolegymAction(agent="aggregator_0", text="\\boxed{1}"))
        # The same session plays a second episode after a reset.
        _, again = _play_oracle(client, seed=4)
        assert again.reward == 1.0 and client.state().step_count == 4


@pytest.mark.parametrize(
    "env_id", ["single-arith-v0", "eval-opt-arith-v0", "orch-workers-arith-v0"]
)
def test_every_workflow_is_served(env_id: str) -> None:
    server = Server(create_rolegym_app(env_id))
    try:
        with RolegymEnvClient(base_url=server.url).sync() as client:
            asked, last = _play_oracle(client, seed=2, env_id=env_id)
            assert last.done and last.reward == 1.0
            state = client.state()
            assert state.done and state.correct and state.step_count == len(asked)
            assert set(state.role_rewards.values()) == {1.0}
    finally:
        server.stop()


def test_wrong_agent_is_refused_and_the_session_goes_on(voting: Server) -> None:
    with RolegymEnvClient(base_url=voting.url).sync() as client:
        result = client.reset(seed=0)
        assert result.observation.agent == "generator_0" and not result.done
        with pytest.raises(RuntimeError, match="generator_0's turn, not aggregator_0's"):
            client.step(RolegymAction(agent="aggregator_0", text="\\boxed{1}"))
        with pytest.raises(RuntimeError, match="not nobody's"):
            client.step(RolegymAction(agent="nobody", text="\\boxed{1}"))
        state = client.state()
        assert state.step_count == 0 and state.agent == "generator_0"
        result = client.step(RolegymAction(agent="generator_0", text="no idea"))
        assert result.observation.agent == "generator_1"
        assert result.observation.info.get("parse_error")  # bad text: an outcome
        assert client.state().step_count == 1


def test_concurrent_sessions_are_isolated(voting: Server) -> None:
    async def interleaved() -> tuple[Any, Any, Any, Any]:
        async with (
            RolegymEnvClient(base_url=voting.url) as a,
            RolegymEnvClient(base_url=voting.url) as b,
        ):
            ra, rb = await a.reset(seed=1), await b.reset(seed=2)
            for _ in range(3):  # step both, alternately: each keeps its own episode
                ra = await a.step(RolegymAction(agent=ra.observation.agent, text="\\boxed{111}"))
                rb = await b.step(RolegymAction(agent=rb.observation.agent, text="\\boxed{222}"))
            return ra, rb, await a.state(), await b.state()

    ra, rb, sa, sb = asyncio.run(interleaved())
    local_a, local_b = _replica(1), _replica(2)
    assert local_a.unwrapped.task.id != local_b.unwrapped.task.id
    assert (sa.task_id, sb.task_id) == (local_a.unwrapped.task.id, local_b.unwrapped.task.id)
    assert sa.step_count == sb.step_count == 3
    assert sa.agent == sb.agent == "aggregator_0"
    # Each aggregator sees its own session's three answers, and only those.
    for result, answer, other in ((ra, "{111}", "{222}"), (rb, "{222}", "{111}")):
        last = result.observation.messages[-1]["content"]
        assert last.count(answer) == 3 and other not in last


def test_http_endpoints_and_malformed_bodies(voting: Server) -> None:
    status, body = _post(voting.url + "/reset", {"seed": 5})
    assert status == 200 and body["observation"]["agent"] == "generator_0"
    assert body["done"] is False and body["reward"] == 0.0
    assert body["observation"]["task_id"] == _replica(5).unwrapped.task.id
    assert body["observation"]["messages"][0]["role"] == "user"
    task_id = _replica(7).unwrapped.task.id
    status, body = _post(voting.url + "/reset", {"task_id": task_id})
    assert status == 200 and body["observation"]["task_id"] == task_id
    status, body = _post(voting.url + "/reset", {"seed": 5, "task_id": "no-such-task"})
    assert status == 400 and "no-such-task" in json.dumps(body)
    status, _ = _post(voting.url + "/reset", {"seed": -1})
    assert status == 422  # OpenEnv's ResetRequest: seeds are >= 0
    # HTTP is stateless in OpenEnv: a step has no episode, and says where to play instead.
    status, body = _post(voting.url + "/step", {"action": {"agent": "generator_0", "text": "1"}})
    assert status == 409 and "WebSocket" in json.dumps(body)
    # ... and /state describes a fresh env, through OpenEnv's base State model.
    assert _get(voting.url + "/state") == {"episode_id": None, "step_count": 0}
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


def test_malformed_websocket_messages_leave_the_session_usable(voting: Server) -> None:
    ws_url = voting.url.replace("http://", "ws://") + "/ws"
    with connect(ws_url, open_timeout=60) as ws:

        def ask(message: str) -> dict[str, Any]:
            ws.send(message)
            return json.loads(ws.recv(timeout=60))

        reply = ask("{not json")
        assert reply["type"] == "error" and reply["data"]["code"] == "INVALID_JSON"
        reply = ask(json.dumps({"type": "reset", "data": {"seed": 0}}))
        assert reply["type"] == "observation"
        assert reply["data"]["observation"]["agent"] == "generator_0"
        reply = ask(json.dumps({"type": "step", "data": {"agent": "generator_0"}}))
        assert reply["type"] == "error" and reply["data"]["code"] == "VALIDATION_ERROR"
        reply = ask(json.dumps({"type": "step", "data": {"agent": "generator_0", "text": 3}}))
        assert reply["type"] == "error" and reply["data"]["code"] == "VALIDATION_ERROR"
        reply = ask(json.dumps({"type": "dance"}))
        assert reply["type"] == "error" and reply["data"]["code"] == "UNKNOWN_TYPE"
        reply = ask(json.dumps({"type": "step", "data": {"agent": "generator_0", "text": "7"}}))
        assert reply["type"] == "observation"
        assert reply["data"]["observation"]["agent"] == "generator_1"
        ws.send(json.dumps({"type": "close"}))


def test_learner_mode_serves_one_role() -> None:
    for others, want in (("oracle", 1.0), ("wrong", 0.0)):
        server = Server(create_rolegym_app("voting-arith-v0", learner="aggregator", others=others))
        try:
            with RolegymEnvClient(base_url=server.url).sync() as client:
                for seed in (0, 1):
                    result = client.reset(seed=seed)
                    obs = result.observation
                    assert obs.agent == "aggregator_0" and obs.role == "aggregator"
                    assert obs.task_id == _replica(seed).unwrapped.task.id
                    assert obs.messages[-1]["content"].count("\\boxed{") >= 3  # voters spoke
                    state = client.state()
                    assert state.agent == "aggregator_0" and state.step_count == 0
                    with pytest.raises(RuntimeError, match="aggregator_0's turn"):
                        client.step(RolegymAction(agent="generator_0", text="\\boxed{1}"))
                    # Candidate 1 is right when the oracle voted, wrong when "wrong" did.
                    result = client.step(RolegymAction(agent="aggregator_0", text="\\boxed{1}"))
                    assert result.done and result.reward == want
                    state = client.state()
                    assert state.step_count == 1 and state.done
                    assert state.role_rewards == {"generator": want, "aggregator": want}
        finally:
            server.stop()


def test_learner_mode_with_a_callable_for_the_others() -> None:
    calls: list[str] = []

    def voter(env: Any, agent: str) -> str:  # the server calls it for every generator
        calls.append(agent)
        return f"\\boxed{{{env.task.answer}}}" if agent == "generator_2" else "\\boxed{0}"

    server = Server(create_rolegym_app("voting-arith-v0", learner="aggregator", others=voter))
    try:
        with RolegymEnvClient(base_url=server.url).sync() as client:
            assert client.reset(seed=0).observation.agent == "aggregator_0"
            assert calls == ["generator_0", "generator_1", "generator_2"]
            result = client.step(RolegymAction(agent="aggregator_0", text="\\boxed{3}"))
            assert result.done and result.reward == 1.0  # candidate 3 was the right one
    finally:
        server.stop()
    with pytest.raises(TypeError, match="a player is"):
        create_rolegym_app("voting-arith-v0", learner="aggregator", others=3)


def test_capacity_is_enforced_per_websocket_session() -> None:
    server = Server(create_rolegym_app("voting-arith-v0", max_sessions=1))
    try:
        with RolegymEnvClient(base_url=server.url).sync() as first:
            assert first.reset(seed=0).observation.agent == "generator_0"
            # A second session is refused at once (OpenEnv sends the error, then closes).
            with connect(server.url.replace("http://", "ws://") + "/ws", open_timeout=60) as ws:
                reply = json.loads(ws.recv(timeout=60))
            assert reply["type"] == "error" and reply["data"]["code"] == "CAPACITY_REACHED"
            result = first.step(RolegymAction(agent="generator_0", text="1"))
            assert result.observation.agent == "generator_1"  # the first goes on
    finally:
        server.stop()


def test_closed_sessions_log_no_errors() -> None:
    """A client's close is clean under uvicorn's default WebSocket protocol (see _QuietClose)."""
    server = Server(create_rolegym_app("voting-arith-v0"))
    try:
        for seed in (0, 1):
            with RolegymEnvClient(base_url=server.url).sync() as client:
                client.reset(seed=seed)
    finally:
        server.stop()  # waits for every connection's handler to finish
    assert [r.getMessage() for r in server.errors.records] == []


def test_bad_configuration_is_a_clear_error() -> None:
    with pytest.raises(rolegym.EnvNotFound, match="voting-arith-v0"):
        create_rolegym_app("votin-arith-v0")
    with pytest.raises(ValueError, match=r"no role 'judge'.*'aggregator', 'generator'"):
        create_rolegym_app("voting-arith-v0", learner="judge")
    with pytest.raises(ValueError, match="unknown scripted player"):
        create_rolegym_app("voting-arith-v0", learner="aggregator", others="orakle")
    with pytest.raises(ValueError, match="max_sessions"):
        create_rolegym_app("voting-arith-v0", max_sessions=0)
    with pytest.raises(ValueError, match="reward_mode"):
        create_rolegym_app("voting-arith-v0", reward_mode="solo")


def test_model_player_over_a_saved_micro_model(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from rolegym.baselines.micro import save_micro_model

    with pytest.raises(FileNotFoundError, match="local model directory"):
        model_player(tmp_path / "missing")
    path = save_micro_model(tmp_path / "micro", hidden_size=32, layers=1, heads=2)
    player = model_player(path, max_new_tokens=6, device="cpu")
    env = rolegym.make("voting-arith-v0")
    env.reset(seed=0)
    text = player(env.unwrapped, "generator_0")
    assert isinstance(text, str) and text == player(env.unwrapped, "generator_0")  # seeded


def test_cli_serve_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from rolegym.cli import app

    runner = CliRunner(env={"COLUMNS": "200"})
    result = runner.invoke(app, ["serve-env", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--learner", "--others", "--model", "--env-kwarg"):
        assert option in result.output
    result = runner.invoke(app, ["serve-env", "votin-arith-v0"])
    assert result.exit_code == 2 and "voting-arith-v0" in result.output
    result = runner.invoke(app, ["serve-env", "voting-arith-v0", "--learner", "judge"])
    assert result.exit_code == 2 and "no role 'judge'" in result.output
    result = runner.invoke(app, ["serve-env", "voting-arith-v0", "--others", "wrong"])
    assert result.exit_code == 2 and "--learner" in result.output
    result = runner.invoke(app, ["serve-env", "voting-arith-v0", "--env-kwarg", "nokey"])
    assert result.exit_code == 2 and "KEY=VALUE" in result.output

    # The app the command would serve, run here: learner, others and env kwargs reach it.
    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app_, **kw: served.update(app=app_, **kw))
    args = ["serve-env", "voting-arith-v0", "--port", "8123", "--learner", "aggregator"]
    args += ["--others", "wrong", "--env-kwarg", "max_action_chars=5"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "learner aggregator, others wrong" in result.output
    assert (served["host"], served["port"]) == ("127.0.0.1", 8123)
    server = Server(served["app"])
    try:
        with RolegymEnvClient(base_url=server.url).sync() as client:
            assert client.reset(seed=0).observation.agent == "aggregator_0"
            result_ = client.step(RolegymAction(agent="aggregator_0", text="\\boxed{1} !!!"))
            assert result_.observation.info["action_cut"] == 13 and result_.reward == 0.0
    finally:
        server.stop()


def test_example_plays_an_episode() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "openenv_client.py"), "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:4]] == AGENTS
    assert lines[-1].startswith(f"task {_replica(1).unwrapped.task.id}: reward 1.0")
