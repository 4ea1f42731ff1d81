"""``VLLMEngine``: offline ``vllm.LLM`` generation with one LoRA adapter per policy (GPU).

Requests are grouped by ``policy_id``; a policy with an adapter is served through a
``LoRARequest`` (Isolated-Policy: one adapter per role on one frozen base), the others by the
base model. :meth:`VLLMEngine.update_adapter` registers a new version of an adapter after a
training step (a fresh LoRA name and id, so vLLM never serves stale weights) and resets the
prefix cache. Every request samples with its own seed; the logprob of each sampled token is
returned (``SamplingParams(logprobs=0)``). Prompts are the tokenizer's chat template applied to
the request messages, with Qwen3's thinking switch off by default, as in the paper.

vLLM is imported only when an engine is built (``pip install 'rolegym[vllm]'``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from rolegym.rollout.types import Completion, Request, by_policy

__all__ = ["VLLMEngine"]


class VLLMEngine:
    """Batched generation with vLLM.

    Args:
        model: A hub id or local path of the base model.
        adapters: Policy id -> LoRA adapter directory.
        max_new_tokens: Longest completion.
        temperature: Sampling temperature.
        enable_thinking: Passed to the chat template (Qwen3); off by default.
        max_lora_rank: Largest LoRA rank to serve (the paper's adapters use 64).
        tensor_parallel_size: GPUs per model replica (passed to ``vllm.LLM``).
        **llm_kwargs: Other ``vllm.LLM`` arguments (``gpu_memory_utilization``, ...).
    """

    def __init__(
        self,
        model: str,
        *,
        adapters: Mapping[str, str] | None = None,
        max_new_tokens: int = 1024,
        temperature: float = 0.7,
        enable_thinking: bool = False,
        max_lora_rank: int = 64,
        tensor_parallel_size: int = 1,
        **llm_kwargs: Any,
    ) -> None:
        from vllm import LLM

        self.llm = LLM(model=model, enable_lora=True, max_lora_rank=max_lora_rank,
                       tensor_parallel_size=tensor_parallel_size, **llm_kwargs)  # fmt: skip
        self.tokenizer = self.llm.get_tokenizer()
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.enable_thinking = enable_thinking
        self._ids = itertools.count(1)
        self._adapters: dict[str, Any] = {}
        for policy_id, path in (adapters or {}).items():
            self.update_adapter(policy_id, path)

    def update_adapter(self, policy_id: str, path: str) -> str:
        """Serve a new version of ``policy_id``'s adapter; returns its versioned name."""
        from vllm.lora.request import LoRARequest

        lora_id = next(self._ids)
        name = f"{policy_id}-v{lora_id}"
        self._adapters[policy_id] = LoRARequest(name, lora_id, path)
        reset = getattr(self.llm, "reset_prefix_cache", None)
        if reset is not None:
            reset()  # cached prefixes were computed with the old weights
        return name

    def prompt_ids(self, request: Request) -> list[int]:
        """The templated prompt's token ids."""
        return self.tokenizer.apply_chat_template(
            [dict(m) for m in request.messages], add_generation_prompt=True, tokenize=True,
            enable_thinking=self.enable_thinking,
        )  # fmt: skip

    def generate(self, requests: Sequence[Request]) -> list[Completion]:
        """Complete every request (one ``LLM.generate`` call per policy), in order."""
        from vllm import SamplingParams

        out: list[Completion | None] = [None] * len(requests)
        for policy_id, indices in by_policy(requests).items():
            prompts = [{"prompt_token_ids": self.prompt_ids(requests[i])} for i in indices]
            params = [
                SamplingParams(
                    temperature=self.temperature,
                    max_tokens=self.max_new_tokens,
                    seed=requests[i].sampling_seed % (2**63),
                    logprobs=0,
                )
                for i in indices
            ]
            results = self.llm.generate(prompts, params, lora_request=self._adapters.get(policy_id),
                                        use_tqdm=False)  # fmt: skip
            for i, prompt, result in zip(indices, prompts, results, strict=True):
                sample = result.outputs[0]
                tokens = list(sample.token_ids)
                logprobs = None
                if sample.logprobs is not None:
                    logprobs = [
                        step[t].logprob for step, t in zip(sample.logprobs, tokens, strict=True)
                    ]
                out[i] = Completion(text=sample.text, prompt_token_ids=prompt["prompt_token_ids"],
                                    token_ids=tokens, logprobs=logprobs,
                                    finish_reason=sample.finish_reason)  # fmt: skip
        return out  # type: ignore[return-value]
