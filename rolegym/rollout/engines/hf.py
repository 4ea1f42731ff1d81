"""``HFEngine``: generation with ``transformers`` models, on CPU or GPU.

Requests are grouped by ``policy_id``; each policy is a model of its own, or a named PEFT
adapter of one model (``model.set_adapter(policy_id)``; one :meth:`HFEngine.generate` call at
a time per engine, since the active adapter is model state). Prompts are the tokenizer's chat
template applied to the request messages (Qwen3's thinking switch, ``enable_thinking``, is
passed through and off by default, as in the paper), left-padded into one batch.

Memory: a policy's requests are decoded in consecutive batches of at most ``batch_size``
requests and, with ``max_batch_tokens``, at most that many key/value cache slots (each row of
a batch holds the batch's longest prompt plus ``max_new_tokens``); only the last position's
logits are computed. Since every request draws its own uniforms, how requests are batched
changes no completion (up to float rounding of the log-probabilities).

Decoding is a plain loop over the model's forward pass with its key/value cache, rather than
``model.generate``, for two reasons: every request samples with uniforms drawn from its own
``torch.Generator`` seeded with the request's ``sampling_seed`` (``generate`` draws from the
global RNG, which rolegym never touches), so a completion does not depend on what else is in
the batch; and the log-probability of every sampled token under the sampling distribution
(temperature applied) is recorded exactly as computed. Tokens are drawn for the whole batch at
once by inverse-CDF lookup (``searchsorted``) of each request's uniform for that position.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from rolegym.rollout.engines.chat import chat_prompt_ids, templated_prompts, with_sampling
from rolegym.rollout.types import Completion, Request, by_policy, pack_batches

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
        batch_size: Most requests per batch (default: no limit, all of a policy's requests at
            once unless ``max_batch_tokens`` splits them).
        max_batch_tokens: Most tokens per batch, counted as the key/value cache holds them:
            ``len(batch) * (longest prompt in the batch + max_new_tokens)`` (default: no
            limit). A policy's requests are cut, in order, into consecutive batches within
            both limits; a single request over this budget runs in a batch of its own (nothing
            is refused or dropped). Batching does not change any completion.
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
        max_batch_tokens: int | None = None,
    ) -> None:
        self.models: Mapping[str, Any] = model if isinstance(model, Mapping) else {"*": model}
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.enable_thinking = enable_thinking
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens

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
        return chat_prompt_ids(self.tokenizer, request.messages, self.enable_thinking)

    def with_sampling(
        self, *, temperature: float | None = None, max_new_tokens: int | None = None
    ) -> HFEngine:
        """A view sharing this engine's models with another temperature or completion cap."""
        return with_sampling(self, temperature=temperature, max_new_tokens=max_new_tokens)

    def generate(self, requests: Sequence[Request]) -> list[Completion]:
        """Complete every request; the result is in request order."""
        out: list[Completion | None] = [None] * len(requests)
        for policy_id, indices in by_policy(requests).items():
            model = self._model(policy_id)
            prompts = self._prompts([requests[i] for i in indices])
            for chunk in self.batches([len(p) for p in prompts]):
                completions = self._sample(
                    model, [requests[indices[k]] for k in chunk], [prompts[k] for k in chunk]
                )
                for k, completion in zip(chunk, completions, strict=True):
                    out[indices[k]] = completion
        return out

    def batches(self, prompt_lengths: Sequence[int]) -> list[range]:
        """Cut requests with these prompt lengths into consecutive batches within the budgets.

        Greedy, in order: a batch grows while it holds fewer than ``batch_size`` requests and
        ``len(batch) * (longest prompt + max_new_tokens)`` stays within ``max_batch_tokens``;
        a request that does not fit starts the next batch (alone if it is over the budget).

        Args:
            prompt_lengths: Prompt token counts, in request order.

        Returns:
            The index ranges of the batches, covering every request once, in order.
        """
        cap = max(self.max_new_tokens, 0)
        return pack_batches(
            [n + cap for n in prompt_lengths],
            max_rows=self.batch_size,
            max_tokens=self.max_batch_tokens,
        )

    def _prompts(self, requests: Sequence[Request]) -> list[list[int]]:
        """The templated prompt ids of each request (a group's shared prompt templated once)."""
        return templated_prompts(requests, self.prompt_ids)

    @torch.no_grad()
    def _sample(
        self, model: Any, requests: Sequence[Request], prompts: Sequence[list[int]]
    ) -> list[Completion]:
        """Decode one batch: ``prompts[i]`` is the templated prompt of ``requests[i]``."""
        device = next(model.parameters()).device
        if self.max_new_tokens <= 0:
            return [
                Completion(
                    text="", prompt_token_ids=p, token_ids=[], logprobs=[], finish_reason="length"
                )
                for p in prompts
            ]
        eos = self.tokenizer.eos_token_id
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else eos
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), pad, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, p in enumerate(prompts):
            ids[row, width - len(p) :] = torch.tensor(p)
            mask[row, width - len(p) :] = 1
        ids, mask = ids.to(device), mask.to(device)
        # Each request's uniforms come from its own generator, drawn up front; sampling is then
        # one inverse-CDF lookup for the whole batch per token (same draws whatever the batch).
        uniforms = torch.stack(
            [
                torch.rand(
                    self.max_new_tokens,
                    dtype=torch.float64,
                    generator=torch.Generator().manual_seed(r.sampling_seed),
                )
                for r in requests
            ]
        ).to(device)
        eos_t = torch.tensor(eos, device=device)
        finished = torch.zeros(len(requests), dtype=torch.bool, device=device)
        steps_tokens, steps_logps, steps_live = [], [], []
        past = None
        # transformers 5 names the key/value cache ``cache``; earlier versions ``past_key_values``
        base = model.get_base_model() if hasattr(model, "get_base_model") else model  # PEFT
        parameters = inspect.signature(base.forward).parameters
        cache_arg = "cache" if "cache" in parameters else "past_key_values"
        # Only the last position's logits: the prompt's would take batch x width x vocab floats.
        extra: dict[str, Any] = {cache_arg: None}
        if "logits_to_keep" in parameters:
            extra["logits_to_keep"] = 1
        current, positions = ids, (mask.cumsum(-1) - 1).clamp(min=0)
        for t in range(self.max_new_tokens):
            extra[cache_arg] = past
            result = model(
                input_ids=current,
                attention_mask=mask,
                position_ids=positions,
                use_cache=True,
                **extra,
            )
            past = getattr(result, cache_arg)
            logits = result.logits[:, -1, :].float()
            if self.temperature > 0:
                logits = logits / self.temperature
            logprobs = torch.log_softmax(logits, dim=-1)
            if self.temperature > 0:
                cdf = logprobs.double().exp().cumsum(-1)
                target = (uniforms[:, t : t + 1] * cdf[:, -1:]).contiguous()
                token = torch.searchsorted(cdf, target, right=True).squeeze(1)
                token = token.clamp(max=logprobs.shape[-1] - 1)
            else:
                token = logprobs.argmax(-1)
            live = ~finished
            token = torch.where(live, token, torch.full_like(token, pad))
            steps_tokens.append(token)
            steps_logps.append(logprobs.gather(1, token.unsqueeze(1)).squeeze(1))
            steps_live.append(live)
            finished = finished | (live & (token == eos_t))
            if bool(finished.all()):
                break
            current = token.unsqueeze(1)
            mask = torch.cat(
                [mask, mask.new_ones((len(requests), 1))], dim=1
            )  # finished rows are ignored
            positions = positions[:, -1:] + 1
        all_tokens = torch.stack(steps_tokens, 1).tolist()
        all_logps = torch.stack(steps_logps, 1).tolist()
        all_live = torch.stack(steps_live, 1).tolist()
        tokens = [
            [x for x, keep in zip(tk, lv, strict=True) if keep]
            for tk, lv in zip(all_tokens, all_live, strict=True)
        ]
        logps = [
            [x for x, keep in zip(lp, lv, strict=True) if keep]
            for lp, lv in zip(all_logps, all_live, strict=True)
        ]
        completions = []
        for row, prompt in enumerate(prompts):
            ended = bool(tokens[row]) and tokens[row][-1] == eos
            body = tokens[row][:-1] if ended else tokens[row]
            completions.append(
                Completion(
                    text=self.tokenizer.decode(body),
                    prompt_token_ids=prompt,
                    token_ids=tokens[row],
                    logprobs=logps[row],
                    finish_reason="stop" if ended else "length",
                )
            )
        return completions
