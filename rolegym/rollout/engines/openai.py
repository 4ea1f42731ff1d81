"""``OpenAIEngine``: any OpenAI-compatible chat server (``vllm serve``, SGLang, ...).

Uses the official ``openai`` client, whose retries (with backoff, on connection errors,
timeouts, 429 and 5xx) and per-request timeouts apply; requests of one batch are sent
concurrently. Each request's ``policy_id`` picks the served model name (vLLM serves LoRA
adapters as model names), through ``policy_models``. A request that still fails after the
retries raises :class:`EngineError`: a rollout cannot continue without its completion.

The sampling protocol is sent explicitly with every request, so a server's own defaults cannot
change it: ``temperature``, ``top_p=1`` and, in the body's vLLM/SGLang extension fields,
``top_k=-1`` (``vllm serve`` otherwise applies the model's generation config, for Qwen3
top-k 20 and top-p 0.95) and ``chat_template_kwargs={"enable_thinking": False}`` (Qwen3 thinks
unless told not to; the paper's runs do not). It also asks for the token ids
(``return_token_ids``, vLLM >= 0.10.2), which fill ``Completion.token_ids`` and
``prompt_token_ids`` when the server returns them. For a server that rejects extension
fields (OpenAI's own API), pass ``extra_body={}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rolegym.rollout.types import Completion, Request

__all__ = ["EngineError", "OpenAIEngine"]


class EngineError(RuntimeError):
    """The engine could not produce a completion."""


class OpenAIEngine:
    """Completions from an OpenAI-compatible server.

    Args:
        base_url: For example ``http://127.0.0.1:8000/v1``.
        model: The served model name used when a policy has no entry in ``policy_models``.
        policy_models: Policy id -> served model name (for example one LoRA adapter per role).
        api_key: Sent as the bearer token (``"EMPTY"`` for local servers).
        max_tokens: Longest completion.
        temperature: Sampling temperature.
        top_p: Nucleus sampling mass (1: off).
        top_k: Top-k cut (-1: off; sent in the body's extension fields).
        enable_thinking: The chat template's thinking switch (Qwen3), sent as
            ``chat_template_kwargs``.
        extra_body: Extension fields sent instead of ``top_k``, ``chat_template_kwargs`` and
            ``return_token_ids``.
        timeout_s: Per-request timeout.
        max_retries: Retries per request (the client's backoff applies).
        concurrency: Requests in flight at once within one :meth:`generate` call.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        policy_models: Mapping[str, str] | None = None,
        api_key: str = "EMPTY",
        max_tokens: int = 1024,
        temperature: float = 0.7,
        top_p: float = 1.0,
        top_k: int = -1,
        enable_thinking: bool = False,
        extra_body: Mapping[str, Any] | None = None,
        timeout_s: float = 120.0,
        max_retries: int = 2,
        concurrency: int = 32,
    ) -> None:
        import openai

        self._openai = openai
        options = {
            "base_url": base_url,
            "api_key": api_key,
            "timeout": timeout_s,
            "max_retries": max_retries,
        }
        self.client = openai.OpenAI(**options)
        self.async_client = openai.AsyncOpenAI(**options)
        self.model = model
        self.policy_models = dict(policy_models or {})
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.top_p = top_p
        if extra_body is None:
            extra_body = {
                "top_k": top_k,
                "return_token_ids": True,
                "chat_template_kwargs": {"enable_thinking": enable_thinking},
            }
        self.extra_body = dict(extra_body)
        self.concurrency = concurrency

    def _args(self, request: Request) -> dict[str, Any]:
        return {
            "model": self.policy_models.get(request.policy_id, self.model),
            "messages": [dict(m) for m in request.messages],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "seed": request.sampling_seed % (2**31),
            "logprobs": True,
            "extra_body": self.extra_body,
        }

    @staticmethod
    def _completion(response: Any) -> Completion:
        choice = response.choices[0]
        content = choice.logprobs.content if choice.logprobs and choice.logprobs.content else None
        usage = getattr(response, "usage", None)
        tokens = getattr(usage, "completion_tokens", None)
        token_ids = getattr(choice, "token_ids", None)  # vLLM's return_token_ids
        prompt_ids = getattr(response, "prompt_token_ids", None)
        return Completion(
            text=choice.message.content or "",
            prompt_token_ids=list(prompt_ids) if prompt_ids is not None else None,
            token_ids=list(token_ids) if token_ids is not None else None,
            logprobs=[t.logprob for t in content] if content else None,
            finish_reason=choice.finish_reason,
            extras={"completion_tokens": tokens} if tokens is not None else {},
        )

    def complete(self, request: Request) -> Completion:
        """One request, synchronously."""
        try:
            return self._completion(self.client.chat.completions.create(**self._args(request)))
        except self._openai.OpenAIError as e:
            raise EngineError(f"{type(e).__name__} for {request.agent}: {e}") from e

    async def acomplete(self, request: Request) -> Completion:
        """One request, for :func:`rolegym.rollout.arollout`."""
        try:
            response = await self.async_client.chat.completions.create(**self._args(request))
        except self._openai.OpenAIError as e:
            raise EngineError(f"{type(e).__name__} for {request.agent}: {e}") from e
        return self._completion(response)

    def generate(self, requests: Sequence[Request]) -> list[Completion]:
        """All requests, ``concurrency`` at a time; the result is in request order."""
        with ThreadPoolExecutor(max(1, min(self.concurrency, len(requests)))) as pool:
            return list(pool.map(self.complete, requests))
