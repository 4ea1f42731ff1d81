"""Evaluate a rolegym workflow with PrimeIntellect verifiers' own evaluation (``vf-eval``).

    .venv/bin/python examples/verifiers_eval.py                       # voting-arith-v0, micro model
    .venv/bin/python examples/verifiers_eval.py --env-id eval-opt-arith-v0 -n 4 -r 3

A micro model (built in code) is served on loopback by ``rolegym.rollout.server``, an
OpenAI-compatible endpoint; ``vf-eval`` then plays ``-n`` tasks ``-r`` times each through the
``rolegym-verifiers`` environment, every role an agent of its own, and writes its traces. This
script prints each role's mean reward from them. Point ``--base-url`` at a real server (``vllm
serve``) and ``--model`` at its model to evaluate a real policy.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import tyro
from verifiers.v1.cli.eval.main import main as vf_eval

from rolegym.baselines.micro import build_model, build_tokenizer
from rolegym.rollout.engines.hf import HFEngine
from rolegym.rollout.server import serve


@dataclass
class Args:
    """Settings; each is a command-line flag."""

    env_id: str = "voting-arith-v0"
    n: Annotated[int, tyro.conf.arg(aliases=["-n"])] = 2  # tasks
    r: Annotated[int, tyro.conf.arg(aliases=["-r"])] = 2  # rollouts per task
    base_url: str | None = None  # default: serve a micro model here
    model: str = "rolegym-micro"
    out: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="rolegym-vf-"))


def role_rewards(out: str) -> dict[str, float]:
    """Each role's mean ``rolegym`` reward over the traces ``vf-eval`` wrote under ``out``."""
    by_role: dict[str, list[float]] = {}
    for path in Path(out).rglob("traces.jsonl"):
        for line in path.read_text().splitlines():
            for trace in json.loads(line)["traces"]:
                reward = trace["rewards"]["rolegym"]["score"]
                by_role.setdefault(trace["agent"]["name"], []).append(reward)
    return {role: sum(v) / len(v) for role, v in sorted(by_role.items())}


def main(a: Args) -> dict[str, float]:
    """Run vf-eval; returns each role's mean reward."""
    server = None
    if a.base_url is None:
        engine = HFEngine(build_model(), build_tokenizer(), max_new_tokens=16)
        server = serve(engine, model_name=a.model)
        a.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    flags = {"--env.taskset.env-id": a.env_id, "--model": a.model, "--client.base-url": a.base_url}
    flags |= {"-n": str(a.n), "-r": str(a.r), "--output-dir": a.out, "--push": "false"}
    try:  # the key is read from $PRIME_API_KEY ("EMPTY" when unset: fine for loopback)
        vf_eval(["rolegym-verifiers", *(x for kv in flags.items() for x in kv), "--clean"])
    finally:
        if server is not None:
            server.shutdown()
    rewards = role_rewards(a.out)
    print("\nmean reward per role:", json.dumps(rewards))
    return rewards


if __name__ == "__main__":
    main(tyro.cli(Args))
