"""The vLLM engine (GPU only: skipped where CUDA or vllm is missing)."""

from __future__ import annotations

import os

import pytest

torch = pytest.importorskip("torch")
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

MODEL = os.environ.get("ROLEGYM_VLLM_MODEL", "Qwen/Qwen3-0.6B")  # a local path offline


@pytest.fixture(scope="module")
def engine():
    pytest.importorskip("vllm")
    from rolegym.rollout.engines.vllm import VLLMEngine

    return VLLMEngine(MODEL, max_new_tokens=64, temperature=0.7, gpu_memory_utilization=0.5)


def test_voting_in_two_calls_with_token_ids_and_logprobs(engine) -> None:
    from rolegym.rollout import EpisodeBatch

    batch = EpisodeBatch("voting-arith-v0", 16, group_size=4)
    episodes = batch.run(engine, seed=0)
    assert batch.engine_calls == 2 and all(ep.terminated for ep in episodes)
    turn = episodes[0].turns[0]
    assert len(turn.extras["completion_token_ids"]) == len(turn.extras["logprobs"]) > 0
    decoded = engine.tokenizer.decode(turn.extras["completion_token_ids"], skip_special_tokens=True)
    assert decoded.strip() == turn.completion.strip()


def test_seeds_make_sampling_reproducible(engine) -> None:
    from rolegym.rollout import Request

    r = Request(
        0, "generator_0", "generator", 0, ({"role": "user", "content": "Count to five."},), 7
    )
    assert engine.generate([r])[0].token_ids == engine.generate([r])[0].token_ids
