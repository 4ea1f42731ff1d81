"""Play a rolegym env through OpenEnv: the server, OpenEnv's client, one episode.

    .venv/bin/python examples/openenv_client.py                      # a server in this process
    .venv/bin/rolegym serve-env voting-arith-v0 --port 8000 &        # or a server of its own
    .venv/bin/python examples/openenv_client.py --url http://127.0.0.1:8000

Every agent's turn comes to the client in order (``observation.agent`` must act), and every
action names its agent. The "policy" here is a stand-in that answers the sum the prompt asks
for and picks candidate 1 as the aggregator; put your model's generation in its place.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

import tyro
import uvicorn

from rolegym.integrations.openenv import (
    WS_IMPL,
    RolegymAction,
    RolegymEnvClient,
    create_rolegym_app,
)


@dataclass
class Args:
    """Settings; each is a command-line flag."""

    url: str | None = None  # a running server; default: start one in this process
    env_id: str = "voting-arith-v0"
    seed: int = 0


def policy(role: str, messages: list[dict[str, str]]) -> str:
    """A stand-in for an LLM: sums the prompt's numbers, or picks candidate 1."""
    if role == "aggregator":
        return "\\boxed{1}"
    numbers = re.findall(r"-?\d+", messages[0]["content"].split("Problem:")[-1])
    return f"\\boxed{{{sum(int(n) for n in numbers[:2])}}}"


def start_server(env_id: str) -> tuple[str, uvicorn.Server]:
    """A server on a free loopback port, in a thread."""
    app = create_rolegym_app(env_id)
    server = uvicorn.Server(uvicorn.Config(app, port=0, log_level="error", ws=WS_IMPL))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
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
