"""What every local engine does the same way: chat templating and sampling overrides."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from rolegym.envs.episode import Message
from rolegym.rollout.types import Request

__all__ = ["chat_prompt_ids", "templated_prompts", "with_sampling"]

E = TypeVar("E")


def chat_prompt_ids(
    tokenizer: Any, messages: Sequence[Message], enable_thinking: bool
) -> list[int]:
    """The token ids of ``messages`` under the tokenizer's chat template, generation prompt added.

    The template is applied to text first and the text tokenised without added special tokens:
    under transformers 5, ``apply_chat_template(..., tokenize=True)`` returns a
    ``BatchEncoding`` rather than a list of ids, and the template already holds every special
    token. Every engine uses this function, so the same messages give the same ids everywhere.
    """
    text = tokenizer.apply_chat_template(
        [dict(m) for m in messages],
        add_generation_prompt=True,
        tokenize=False,
        enable_thinking=enable_thinking,
    )
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def templated_prompts(
    requests: Sequence[Request], prompt_ids: Callable[[Request], list[int]]
) -> list[list[int]]:
    """``prompt_ids`` of every request; each distinct conversation is templated once."""
    templated: dict[tuple[tuple[str, str], ...], list[int]] = {}
    out = []
    for r in requests:
        key = tuple((m["role"], m["content"]) for m in r.messages)
        if key not in templated:
            templated[key] = prompt_ids(r)
        out.append(templated[key])
    return out


def with_sampling(
    engine: E, *, temperature: float | None = None, max_new_tokens: int | None = None
) -> E:
    """A view of ``engine`` with another temperature or completion cap.

    The view shares the engine's model, adapters and caches (a shallow copy), so a training
    run and its evaluation can share one vLLM instance and one set of served adapters while
    sampling at their own temperatures.
    """
    view = copy.copy(engine)
    for name, value in (("temperature", temperature), ("max_new_tokens", max_new_tokens)):
        if value is None:
            continue
        if not hasattr(view, name):
            raise TypeError(f"{type(engine).__name__} has no {name!r} to override")
        setattr(view, name, value)
    return view
