"""Micro models: tiny Qwen3- or Llama-style causal LMs and a tokenizer, built in code.

Nothing is downloaded: the tokenizer is character-level (printable ASCII plus the chat
markers, built with ``tokenizers``) and carries a ChatML chat template; the model is a
``transformers`` Qwen3 or Llama built from a small config with seeded initial weights. They
let every engine path, and later the trainers, run on a CPU in seconds.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any, Literal

import torch
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
from transformers import (
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
    Qwen3Config,
    Qwen3ForCausalLM,
)

__all__ = [
    "CHAT_TEMPLATE",
    "answer_chars_reward",
    "build_model",
    "build_tokenizer",
    "save_micro_model",
]

SPECIAL = ["<pad>", "<unk>", "<|im_start|>", "<|im_end|>"]
CHARS = [c for c in string.printable if c not in "\x0b\x0c"]

#: ChatML, as Qwen uses; ``enable_thinking`` is accepted and ignored (micro models never think).
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_tokenizer(vocab_size: int | None = None) -> PreTrainedTokenizerFast:
    """A character-level tokenizer with ChatML special tokens and chat template.

    Args:
        vocab_size: Pad the vocabulary with filler tokens ``<t_N>`` up to this size, so that
            every id of a model with a real vocabulary (Qwen3: 151,936) decodes.
    """
    base = SPECIAL + CHARS
    if vocab_size is not None and vocab_size < len(base):
        raise ValueError(f"vocab_size must be >= {len(base)}, got {vocab_size}")
    fillers = [f"<t_{i}>" for i in range(len(base), vocab_size or len(base))]
    vocab = {tok: i for i, tok in enumerate(base + fillers)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tok.decoder = decoders.Fuse()
    tok.add_special_tokens(SPECIAL)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>", eos_token="<|im_end|>"
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.padding_side = "left"
    return fast


def build_model(
    kind: Literal["qwen3", "llama"] = "qwen3",
    *,
    hidden_size: int = 64,
    layers: int = 2,
    heads: int = 4,
    seed: int = 0,
    **config: Any,
) -> torch.nn.Module:
    """A tiny causal LM whose vocabulary matches :func:`build_tokenizer`.

    Args:
        kind: ``"qwen3"`` or ``"llama"``.
        hidden_size: Model width.
        layers: Transformer blocks.
        heads: Attention heads (key/value heads: half as many).
        seed: Seed of the initial weights (the global RNG state is left as it was).
        **config: Other config fields.
    """
    tokenizer = build_tokenizer()
    common = {
        "vocab_size": len(tokenizer),
        "hidden_size": hidden_size,
        "intermediate_size": 2 * hidden_size,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": max(1, heads // 2),
        "max_position_embeddings": 4096,
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "bos_token_id": None,
        "tie_word_embeddings": True,
        **config,
    }
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if kind == "qwen3":
            model = Qwen3ForCausalLM(Qwen3Config(head_dim=hidden_size // heads, **common))
        elif kind == "llama":
            model = LlamaForCausalLM(LlamaConfig(**common))
        else:
            raise ValueError(f"kind must be 'qwen3' or 'llama', got {kind!r}")
    return model.eval()


def save_micro_model(
    path: str | Path,
    kind: Literal["qwen3", "llama"] = "qwen3",
    *,
    hidden_size: int = 128,
    layers: int = 2,
    heads: int = 2,
    seed: int = 0,
    **config: Any,
) -> Path:
    """Save a micro model and its tokenizer as a local model directory; returns ``path``.

    What ``from_pretrained`` and vLLM load like any hub model, with nothing downloaded: the
    way to run ``engine="vllm"`` (which serves a model directory) and ``rolegym eval`` on a CPU.
    The defaults give a head size of 64, which vLLM's CPU attention kernels support (the
    in-memory micro models' 16 is not).

    Args:
        path: The directory to write (created).
        kind: ``"qwen3"`` or ``"llama"``.
        hidden_size: Model width.
        layers: Transformer blocks.
        heads: Attention heads.
        seed: Seed of the initial weights.
        **config: Other config fields.
    """
    path = Path(path)
    model = build_model(
        kind, hidden_size=hidden_size, layers=layers, heads=heads, seed=seed, **config
    )
    model.save_pretrained(str(path))
    build_tokenizer().save_pretrained(str(path))
    return path


def answer_chars_reward(episode: Any, turn: Any, task: Any) -> float:
    """A dense micro-task reward: the share of a completion's characters found in the answer.

    Micro models cannot do arithmetic, but they can learn which characters pay: a random
    character-level policy scores a few percent on ``arith`` answers, a trained one far more.
    It is the learning signal of the CPU learning tests and the ``micro`` preset
    (``reward_fn="rolegym.baselines.micro:answer_chars_reward"``).
    """
    text = turn.completion
    if not text:
        return 0.0
    allowed = set(str(task.answer))
    return sum(ch in allowed for ch in text) / len(text)
