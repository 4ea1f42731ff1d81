"""``HFEngine``: generation with ``transformers`` models, on CPU or GPU.

Requests are grouped by ``policy_id``; each policy is a model of its own, or a named PEFT
adapter of one model (``model.set_adapter(policy_id)``; one :meth:`HFEngine.generate` call at
a time per engine, since the active adapter is model state). Prompts are the tokenizer's chat
template applied to the request messages (Qwen3's thinking switch, ``enable_thinking``, is
passed through and off by default, as in the paper), left-padded into one batch.

Decoding is a plain loop over the model's forward pass with its key/value cache, rather than
``model.generate``, for two reasons: every request samples from its own ``torch.Generator``
seeded with the request's ``sampling_seed`` (``generate`` draws from the global RNG, which
rolegym never touches), and the log-probability of every sampled token under the sampling
distribution (temperature applied) is recorded exactly as computed.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from rolegym.rollout.types import Completion, Request, by_policy

__all__ = ["HFEngine"]


class HFEngine:
    """Batched sampling from one or more ``transformers`` causal LMs.

    Args:
        model: A model, or a mapping from policy id to model. A PEFT model with several
            adapters serves every policy id that names one of them.
        tokenizer: The tokenizer (with a chat template).
        max_new_tokens: Longest completion.
        temperature: Sampling temperature (0: greedy).
        enable_thinking: Passed to the chat template (Qwen3); off by default.
        batch_size: Most requests per forward batch (default: all of a policy's at once).
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        max_new_tokens: int = 256,
        temperature: float = 0.7,
        enable_thinking: bool = False,
        batch_size: int | None = None,
    ) -> None:
        self.models: Mapping[str, Any] = model if isinstance(model, Mapping) else {"*": model}
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.enable_thinking = enable_thinking
        self.batch_size = batch_size

    def _model(self, policy_id: str) -> Any:
        if policy_id in self.models:
            return self.models[policy_id]
        model = self.models.get("*")
        if model is None:
            raise KeyError(f"no model for policy {policy_id!r}; have {sorted(self.models)}")
        adapters = getattr(model, "peft_config", None)
        if adapters:
            if policy_id not in adapters:  # never fall back to whichever adapter is active
                raise KeyError(
                    f"no adapter or model for policy {policy_id!r}; have {sorted(adapters)}"
                )
            model.set_adapter(policy_id)
        return model

    def prompt_ids(self, request: Request) -> list[int]:
        """The templated prompt's token ids."""
        text = self.tokenizer.apply_chat_template(
            [dict(m) for m in request.messages], add_generation_prompt=True, tokenize=False,
            enable_thinking=self.enable_thinking,
        )  # fmt: skip
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def generate(self, requests: Sequence[Request]) -> list[Completion]:
        """Complete every request; the result is in request order."""
        out: list[Completion | None] = [None] * len(requests)
        for policy_id, indices in by_policy(requests).items():
            model = self._model(policy_id)
            step = self.batch_size or len(indices)
            for start in range(0, len(indices), step):
                chunk = indices[start : start + step]
                completions = self._sample(model, [requests[i] for i in chunk])
                for i, completion in zip(chunk, completions, strict=True):
                    out[i] = completion
        return out  # type: ignore[return-value]

    @torch.no_grad()
    def _sample(self, model: Any, requests: Sequence[Request]) -> list[Completion]:
        device = next(model.parameters()).device
        prompts = [self.prompt_ids(r) for r in requests]
        eos = self.tokenizer.eos_token_id
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else eos
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), pad, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, p in enumerate(prompts):
            ids[row, width - len(p) :] = torch.tensor(p)
            mask[row, width - len(p) :] = 1
        ids, mask = ids.to(device), mask.to(device)
        generators = [torch.Generator(device=device).manual_seed(r.sampling_seed) for r in requests]
        tokens: list[list[int]] = [[] for _ in requests]
        logps: list[list[float]] = [[] for _ in requests]
        finished = [False] * len(requests)
        past = None
        # transformers 5 names the key/value cache ``cache``; earlier versions ``past_key_values``
        base = model.get_base_model() if hasattr(model, "get_base_model") else model  # PEFT
        cache_arg = (
            "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"
        )
        current, positions = ids, (mask.cumsum(-1) - 1).clamp(min=0)
        for _ in range(self.max_new_tokens):
            result = model(input_ids=current, attention_mask=mask, position_ids=positions,
                           use_cache=True, **{cache_arg: past})  # fmt: skip
            past = getattr(result, cache_arg)
            logits = result.logits[:, -1, :].float()
            if self.temperature > 0:
                logits = logits / self.temperature
            logprobs = torch.log_softmax(logits, dim=-1)
            chosen = []
            for row in range(len(requests)):
                if finished[row]:
                    chosen.append(pad)
                    continue
                if self.temperature > 0:
                    token = int(
                        torch.multinomial(logprobs[row].exp(), 1, generator=generators[row])
                    )
                else:
                    token = int(logprobs[row].argmax())
                tokens[row].append(token)
                logps[row].append(float(logprobs[row, token]))
                finished[row] = token == eos
                chosen.append(token)
            if all(finished):
                break
            current = torch.tensor(chosen, device=device).unsqueeze(1)
            mask = torch.cat(
                [mask, mask.new_ones((len(requests), 1))], dim=1
            )  # finished rows are ignored
            positions = positions[:, -1:] + 1
        completions = []
        for row, prompt in enumerate(prompts):
            ended = bool(tokens[row]) and tokens[row][-1] == eos
            body = tokens[row][:-1] if ended else tokens[row]
            completions.append(Completion(
                text=self.tokenizer.decode(body),
                prompt_token_ids=prompt,
                token_ids=tokens[row],
                logprobs=logps[row],
                finish_reason="stop" if ended else "length",
            ))  # fmt: skip
        return completions
