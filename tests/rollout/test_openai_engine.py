"""The OpenAI-compatible engine against a real HTTP server on loopback serving a micro model."""

from __future__ import annotations

import asyncio
import time

import pytest

pytest.importorskip("openai")
pytest.importorskip("torch")

from rolegym.baselines.micro import build_model, build_tokenizer
from rolegym.rollout import Completion, EpisodeBatch, Request, arollout
from rolegym.rollout.engines.hf import HFEngine
from rolegym.rollout.engines.openai import EngineError, OpenAIEngine
from rolegym.rollout.server import serve


class Flaky:
    """Fails its first ``failures`` calls, sleeps ``delay`` seconds on each call."""

    def __init__(self, engine: HFEngine, failures: int = 0, delay: float = 0.0) -> None:
        self.engine, self.failures, self.delay, self.calls = engine, failures, delay, 0

    def generate(self, requests: list[Request]) -> list[Completion]:
        self.calls += 1
        time.sleep(self.delay)
        if self.calls <= self.failures:
            raise RuntimeError("transient failure")
        return self.engine.generate(requests)


@pytest.fixture(scope="module")
def local() -> HFEngine:
    return HFEngine(build_model(seed=1), build_tokenizer(), max_new_tokens=16, temperature=0.9)


def _url(server) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/v1"


def test_matches_the_local_engine_and_drives_episodes(local: HFEngine) -> None:
    server = serve(local)
    try:
        remote = OpenAIEngine(_url(server), "rolegym-micro", max_tokens=16, temperature=0.9)
        request = Request(
            0, "generator_0", "generator", 0, ({"role": "user", "content": "Hi"},), 1234
        )
        here, there = local.generate([request])[0], remote.generate([request])[0]
        assert there.text == here.text and there.finish_reason == here.finish_reason
        assert there.logprobs == pytest.approx(here.logprobs, abs=1e-6)
        batch = EpisodeBatch("voting-arith-v0", 4, group_size=2)
        episodes = batch.run(remote, seed=0)
        assert batch.engine_calls == 2 and all(ep.terminated for ep in episodes)
        async_episodes = asyncio.run(arollout("voting-arith-v0", remote.acomplete, num_groups=2,
                                              group_size=2, seed=0, max_concurrency=3))  # fmt: skip
        assert [t.completion for e in async_episodes for t in e.turns] == [
            t.completion for e in episodes for t in e.turns
        ]
    finally:
        server.shutdown()


def test_server_errors_are_retried_then_reported(local: HFEngine) -> None:
    flaky = Flaky(local, failures=1)
    server = serve(flaky)
    try:
        engine = OpenAIEngine(_url(server), "rolegym-micro", max_tokens=8, max_retries=2)
        request = Request(0, "generator_0", "generator", 0, ({"role": "user", "content": "Hi"},), 1)
        assert engine.generate([request])[0].text is not None and flaky.calls == 2  # one retry
        flaky.failures = 10
        no_retry = OpenAIEngine(_url(server), "rolegym-micro", max_tokens=8, max_retries=0)
        with pytest.raises(EngineError, match="InternalServerError"):
            no_retry.generate([request])
    finally:
        server.shutdown()


def test_timeouts_are_reported(local: HFEngine) -> None:
    server = serve(Flaky(local, delay=2.0))
    try:
        engine = OpenAIEngine(
            _url(server), "rolegym-micro", max_tokens=8, timeout_s=0.3, max_retries=0
        )
        request = Request(0, "generator_0", "generator", 0, ({"role": "user", "content": "Hi"},), 1)
        start = time.monotonic()
        with pytest.raises(EngineError, match="Timeout"):
            engine.generate([request])
        assert time.monotonic() - start < 1.5
    finally:
        server.shutdown()
