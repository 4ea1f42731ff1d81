"""Play a rolegym env through OpenEnv: the server, OpenEnv's client, one episode.

    .venv/bin/python examples/openenv_client.py                      # a server in this process
    .venv/bin/rolegym serve-env voting-arith-v0 --port 8000 &        # or a server of its own
    .venv/bin/python examples/openenv_client.py --url http://127.0.0.1:8000

Every agent's turn comes to the client in order (``observation.agent`` must act), and every
action names its agent. The "policy" here is a stand-in that works out the arithmetic the
prompt asks for and picks candidate 1 as the aggregator; put your model's generation in its
place.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

import tyro
import uvicorn

from rolegym.integrations.openenv import RolegymAction, RolegymEnvClient, create_rolegym_app


@dataclass
class Args:
    """Settings; each is a command-line flag."""

    url: str | None = None  # a running server; default: start one in this process
    env_id: str = "voting-arith-v0"
    seed: int = 0


def policy(role: str, messages: list[dict[str, str]]) -> str:
    """A stand-in for an LLM: works out an "a + b - c" problem, or picks candidate 1."""
    if role == "aggregator":
        return "\\boxed{1}"
    expression = messages[0]["content"].split("Compute")[-1].split(".")[0]
    terms = re.findall(r"([-+]?)\s*(\d+)", expression)
    return f"\\boxed{{{sum(int(n) * (-1 if sign == '-' else 1) for sign, n in terms)}}}"


def start_server(env_id: str) -> tuple[str, uvicorn.Server]:
    """A server on a free loopback port, in a thread; waits until it listens."""
    config = uvicorn.Config(create_rolegym_app(env_id), port=0, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    return f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}", server


def main(a: Args) -> float:
    """Play one episode; returns its final reward."""
    url, server = (a.url, None) if a.url else start_server(a.env_id)
    with RolegymEnvClient(base_url=url).sync() as client:
        result = client.reset(seed=a.seed)
        while not result.done:
            obs = result.observation
            text = policy(obs.role or "", obs.messages)
            print(f"{obs.agent}: {text}")
            result = client.step(RolegymAction(agent=obs.agent, text=text))
        state = client.state()
    print(f"task {state.task_id}: reward {result.reward}, per role {state.role_rewards}")
    if server is not None:
        server.should_exit = True
    return float(result.reward or 0.0)


if __name__ == "__main__":
    main(tyro.cli(Args))
