"""A small OpenAI-compatible chat server in front of any rolegym engine.

``serve(engine)`` answers ``POST /v1/chat/completions`` (and ``GET /v1/models``) on loopback
with the engine's completions, logprobs included, as one JSON body or, with ``"stream": true``,
as server-sent events (one content chunk, the finish, ``[DONE]``; what streaming clients such
as PrimeIntellect ``verifiers`` ask for). So the HTTP path (:mod:`.engines.openai`,
:func:`rolegym.rollout.arollout`, ``verifiers``' evaluation) can run against a micro model on
a CPU. A request's ``temperature`` and ``max_tokens`` (or ``max_completion_tokens``) apply to
its completion, through the engine's ``with_sampling`` view. It is built on the standard
library's threading HTTP server: a test and demo server, not a production one
(use ``vllm serve`` for that).
"""

from __future__ import annotations

import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rolegym.rollout.types import Engine, Request

__all__ = ["serve"]


def _handler(engine: Engine, model_name: str, lock: threading.Lock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)  # the client may have given up (its timeout)

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": model_name, "object": "model"}]})
            else:
                self._send(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, {"error": {"message": "not found"}})
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                request = Request(
                    env_index=0,
                    agent="client",
                    role="client",
                    turn=0,
                    messages=tuple(body["messages"]),
                    sampling_seed=int(body.get("seed") or 0),
                    policy_id=str(body.get("model", model_name)),
                )
            except (ValueError, KeyError, TypeError) as e:
                self._send(400, {"error": {"message": f"bad request: {e}"}})
                return
            try:
                target = _sampling(engine, body)
            except (ValueError, TypeError) as e:  # a malformed number
                self._send(400, {"error": {"message": f"bad request: {e}"}})
                return
            try:
                with lock:  # one generation at a time: the engine's model is not shared
                    completion = target.generate([request])[0]
            except Exception as e:
                self._send(500, {"error": {"message": f"{type(e).__name__}: {e}"}})
                return
            text = completion if isinstance(completion, str) else completion.text
            logprobs = None if isinstance(completion, str) else completion.logprobs
            finish = getattr(completion, "finish_reason", None) or "stop"
            model = body.get("model", model_name)
            lp = None
            if body.get("logprobs") and logprobs is not None:
                lp = {
                    "content": [
                        {"token": "", "logprob": x, "bytes": None, "top_logprobs": []}
                        for x in logprobs
                    ]
                }
            usage = {
                "prompt_tokens": 0,
                "completion_tokens": len(logprobs or []),
                "total_tokens": len(logprobs or []),
            }
            if body.get("stream"):
                self._stream(model, text, lp, finish, usage, body.get("stream_options") or {})
                return
            choice: dict[str, Any] = {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish,
            }
            if lp is not None:
                choice["logprobs"] = lp
            self._send(
                200,
                {
                    "id": "chatcmpl-rolegym",
                    "object": "chat.completion",
                    "created": 0,
                    "model": model,
                    "choices": [choice],
                    "usage": usage,
                },
            )

        def _stream(
            self,
            model: str,
            text: str,
            logprobs: dict[str, Any] | None,
            finish: str,
            usage: dict[str, int],
            options: dict[str, Any],
        ) -> None:
            """The completion as server-sent events: one content chunk, the finish, [DONE]."""
            head = {"id": "chatcmpl-rolegym", "object": "chat.completion.chunk", "created": 0}
            head["model"] = model
            delta = {"role": "assistant", "content": text}
            events = [
                {**head, "choices": [{"index": 0, "delta": delta, "logprobs": logprobs,
                                      "finish_reason": None}]},
                {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]},
            ]  # fmt: skip
            if options.get("include_usage"):
                events.append({**head, "choices": [], "usage": usage})
            data = b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events)
            data += b"data: [DONE]\n\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)

    return Handler


def _sampling(engine: Engine, body: dict[str, Any]) -> Engine:
    """``engine`` with the request's ``temperature`` and ``max_tokens`` applied.

    Every rolegym engine has a ``with_sampling`` view; any other engine serves at its own
    settings.
    """
    overrides: dict[str, Any] = {}
    if body.get("temperature") is not None:
        overrides["temperature"] = float(body["temperature"])
    cap = body.get("max_completion_tokens", body.get("max_tokens"))
    if cap is not None:
        overrides["max_new_tokens"] = int(cap)
        if overrides["max_new_tokens"] < 1:
            raise ValueError("max_tokens must be >= 1")
    with_sampling = getattr(engine, "with_sampling", None)
    if not overrides or with_sampling is None:
        return engine
    return with_sampling(**overrides)


def serve(
    engine: Engine, *, host: str = "127.0.0.1", port: int = 0, model_name: str = "rolegym-micro"
) -> ThreadingHTTPServer:
    """Start serving ``engine`` in a background thread; returns the server.

    ``server.server_address`` gives the bound port (``port=0`` picks a free one); stop it with
    ``server.shutdown()``.
    """
    server = ThreadingHTTPServer((host, port), _handler(engine, model_name, threading.Lock()))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
