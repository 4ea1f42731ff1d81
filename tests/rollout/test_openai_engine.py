"""The OpenAI-compatible engine against a real HTTP server on loopback serving a micro model."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

pytest.importorskip("openai")
pytest.importorskip("torch")

from rolegym.baselines.micro import build_model, build_tokenizer
from rolegym.rollout import Completion, EpisodeBatch, Request, arollout
from rolegym.rollout.engines.hf import HFEngine
from rolegym.rollout.engines.openai import EngineError, OpenAIEngine
from rolegym.rollout.server import serve


class Flaky:
    """Fails its first ``failures`` calls; with ``hold_s``, each call waits for :attr:`release`.

    A held call answers only once the test sets :attr:`release` (or after ``hold_s`` seconds,
    so that a client which ignores its timeout fails the test instead of hanging it): a client
    that gives up first can only have timed out, however slow the machine is.
    """

    def __init__(self, engine: HFEngine, failures: int = 0, *, hold_s: float = 0.0) -> None:
        self.engine, self.failures, self.hold_s, self.calls = engine, failures, hold_s, 0
        self.release = threading.Event()
        self.received = threading.Event()

    def generate(self, requests: list[Request]) -> list[Completion]:
        self.calls += 1
        self.received.set()
        if self.hold_s:
            self.release.wait(self.hold_s)
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
        async_episodes = asyncio.run(
            arollout(
                "voting-arith-v0",
                remote.acomplete,
                num_groups=2,
                group_size=2,
                seed=0,
                max_concurrency=3,
            )
        )
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
    held = Flaky(local, hold_s=120.0)  # answers nothing until released (or two minutes)
    server = serve(held)
    try:
        engine = OpenAIEngine(
            _url(server), "rolegym-micro", max_tokens=8, timeout_s=0.3, max_retries=0
        )
        request = Request(0, "generator_0", "generator", 0, ({"role": "user", "content": "Hi"},), 1)
        with pytest.raises(EngineError, match="Timeout"):
            engine.generate([request])
        assert not held.release.is_set()  # the server had not answered: the client timed out
        assert held.received.wait(60) and held.calls == 1  # it was sent once, not retried
    finally:
        held.release.set()
        server.shutdown()


def test_the_server_honours_a_requests_temperature_and_max_tokens(local: HFEngine) -> None:
    server = serve(local)  # the engine samples at 0.9 with up to 16 tokens
    try:
        request = Request(0, "generator_0", "generator", 0, ({"role": "user", "content": "Hi"},), 5)
        remote = OpenAIEngine(_url(server), "rolegym-micro", max_tokens=3, temperature=0.0)
        got = remote.generate([request])[0]
        want = local.with_sampling(temperature=0.0, max_new_tokens=3).generate([request])[0]
        assert len(got.logprobs) == len(want.logprobs) <= 3 and got.text == want.text
        assert got.logprobs == pytest.approx(want.logprobs, abs=1e-6)
        hot = OpenAIEngine(_url(server), "rolegym-micro", max_tokens=16, temperature=0.9)
        assert hot.generate([request])[0].text == local.generate([request])[0].text
        assert (local.temperature, local.max_new_tokens) == (0.9, 16)  # views only
    finally:
        server.shutdown()


def test_the_server_streams_when_asked(local: HFEngine) -> None:
    """``stream: true`` gets server-sent events the real OpenAI client assembles."""
    import openai

    server = serve(local)
    try:
        client = openai.OpenAI(base_url=_url(server), api_key="x")
        messages = [{"role": "user", "content": "Hi"}]
        kwargs = {"model": "rolegym-micro", "messages": messages, "max_tokens": 5}
        whole = client.chat.completions.create(temperature=0.0, **kwargs)
        chunks = list(
            client.chat.completions.create(
                temperature=0.0,
                stream=True,
                stream_options={"include_usage": True},
                logprobs=True,
                **kwargs,
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == whole.choices[0].message.content
        finish = [c.choices[0].finish_reason for c in chunks if c.choices]
        assert finish[-1] == whole.choices[0].finish_reason and finish[:-1] == [None]
        assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens <= 5
        streamed_lp = [t.logprob for t in chunks[0].choices[0].logprobs.content]
        assert len(streamed_lp) == whole.usage.completion_tokens
    finally:
        server.shutdown()


class Recorder(BaseHTTPRequestHandler):
    """Answers every chat request with one fixed completion and records the request body."""

    bodies: ClassVar[list[dict]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        Recorder.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        data = json.dumps(
            {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "m",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": "ok"},
                    }
                ],
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_the_sampling_protocol_is_sent_explicitly() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = _url(server)
        request = Request(0, "generator_0", "generator", 0, ({"role": "user", "content": "Hi"},), 1)
        Recorder.bodies.clear()
        OpenAIEngine(url, "m", max_tokens=7, temperature=0.7).generate([request])
        OpenAIEngine(url, "m", enable_thinking=True, top_k=20).generate([request])
        OpenAIEngine(url, "m", extra_body={}).generate([request])  # OpenAI's own API
        vllm_default, thinking, plain = Recorder.bodies
        assert vllm_default["top_p"] == 1.0 and vllm_default["top_k"] == -1
        assert vllm_default["chat_template_kwargs"] == {"enable_thinking": False}
        assert vllm_default["temperature"] == 0.7 and vllm_default["max_tokens"] == 7
        assert thinking["chat_template_kwargs"] == {"enable_thinking": True}
        assert thinking["top_k"] == 20
        assert vllm_default["return_token_ids"] is True
        assert "top_k" not in plain and "chat_template_kwargs" not in plain
    finally:
        server.shutdown()
