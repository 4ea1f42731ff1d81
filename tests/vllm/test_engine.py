"""``VLLMEngine`` against the real vLLM, checked token for token against ``HFEngine``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("vllm")
torch = pytest.importorskip("torch")

from rolegym.baselines.grpo.rows import Row, sequence_logprobs  # noqa: E402
from rolegym.rollout.engines.hf import HFEngine  # noqa: E402
from rolegym.rollout.engines.vllm import VLLMEngine  # noqa: E402
from rolegym.rollout.types import Request  # noqa: E402
from tests.vllm.helpers import hf_peft, make_adapter  # noqa: E402

pytestmark = pytest.mark.vllm

CAP = 24


def requests(policy: str = "generator", n: int = 16) -> list[Request]:
    out = []
    for i in range(n):
        messages = (
            {"role": "user", "content": f"Compute {i} + {3 * i % 7}. Answer in \\boxed{{}}."},
        )
        if i % 4 == 3:  # some multi-turn conversations too
            messages += (
                {"role": "assistant", "content": "\\boxed{1}"},
                {"role": "user", "content": "Check it again."},
            )
        out.append(Request(i, "generator_0", "generator", 0, messages, 1000 + i, policy_id=policy))
    return out


@pytest.fixture(scope="module")
def adapters(micro_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("adapters")
    return {
        "v1": make_adapter(micro_dir, root / "v1", seed=1),
        "v2": make_adapter(micro_dir, root / "v2", seed=2),
        "rank16": make_adapter(micro_dir, root / "r16", seed=3, r=16),
    }


@pytest.fixture(scope="module")
def hf(micro_dir: Path, adapters: dict[str, Path]) -> Any:
    model = hf_peft(micro_dir, {"generator": adapters["v1"], "generator2": adapters["v2"]})
    from transformers import AutoTokenizer

    return model, AutoTokenizer.from_pretrained(micro_dir)


@pytest.fixture(scope="module")
def engine(micro_dir: Path, adapters: dict[str, Path]) -> Iterator[VLLMEngine]:
    engine = VLLMEngine(
        micro_dir,
        adapters={"generator": str(adapters["v1"])},
        max_new_tokens=CAP,
        temperature=0.0,
        lora_rank=4,
        dtype="float32",
        max_model_len=256,
        gpu_memory_utilization=0.1,
    )
    yield engine
    engine.close()


def test_prompt_ids_are_ints_equal_to_the_hf_engines(engine: VLLMEngine, hf: Any) -> None:
    model, tokenizer = hf
    reference = HFEngine(model, tokenizer)
    for r in requests():
        ids = engine.prompt_ids(r)
        assert type(ids) is list and all(type(t) is int for t in ids)
        assert ids == reference.prompt_ids(r)


def test_greedy_completions_equal_the_hf_engines(engine: VLLMEngine, hf: Any) -> None:
    model, tokenizer = hf
    batch = requests()
    want = HFEngine(model, tokenizer, max_new_tokens=CAP, temperature=0.0).generate(batch)
    got = engine.generate(batch)
    assert [c.token_ids for c in got] == [c.token_ids for c in want]
    assert [c.prompt_token_ids for c in got] == [c.prompt_token_ids for c in want]
    assert [c.finish_reason for c in got] == [c.finish_reason for c in want]
    # the adapter matters: the base model's greedy completions differ
    with model.disable_adapter():
        base = HFEngine(model, tokenizer, max_new_tokens=CAP, temperature=0.0).generate(batch)
    assert [c.token_ids for c in base] != [c.token_ids for c in got]


def test_logprobs_are_the_sampling_distributions(engine: VLLMEngine, hf: Any) -> None:
    model, _ = hf
    model.set_adapter("generator")  # sequence_logprobs runs the active adapter
    batch = requests()
    got = engine.with_sampling(temperature=0.7).generate(batch)
    assert engine.temperature == 0.0  # the view did not change the engine
    rows = [
        Row(
            c.prompt_token_ids,
            c.token_ids,
            c.finish_reason == "length",
            0.0,
            0.0,
            "generator",
            "generator_0",
            "generator",
            (i,),
        )
        for i, c in enumerate(got)
    ]
    with torch.no_grad():
        want, mask, _ = sequence_logprobs(model, rows, temperature=0.7)
        raw, _, _ = sequence_logprobs(model, rows, temperature=1.0)
    worst, worst_raw = 0.0, 0.0
    for i, c in enumerate(got):
        n = len(c.token_ids)
        assert n > 0 and len(c.logprobs) == n and mask[i].sum() == n
        vllm_lp = torch.tensor(c.logprobs, dtype=want.dtype)
        worst = max(worst, float((vllm_lp - want[i, :n]).abs().max()))
        worst_raw = max(worst_raw, float((vllm_lp - raw[i, :n]).abs().max()))
    assert worst < 1e-3
    assert worst_raw > 1e-2  # not the raw (temperature 1) log-probs


def test_sampling_is_seeded_per_request(engine: VLLMEngine) -> None:
    view = engine.with_sampling(temperature=0.7)
    batch = requests()
    first = [c.token_ids for c in view.generate(batch)]
    alone = view.generate(batch[5:6])[0].token_ids
    assert [c.token_ids for c in view.generate(batch)] == first
    assert alone == first[5]
    assert len({tuple(t) for t in first}) > 1


def test_unknown_policy_raises(engine: VLLMEngine) -> None:
    with pytest.raises(KeyError, match="no adapter for policy 'evaluator'"):
        engine.generate(requests("evaluator", 1))


def test_prompt_that_fills_the_context_is_an_empty_completion(engine: VLLMEngine) -> None:
    long = Request(
        0,
        "generator_0",
        "generator",
        0,
        ({"role": "user", "content": "x" * 400},),
        1,
        policy_id="generator",
    )
    with pytest.warns(RuntimeWarning, match="max_model_len=256"):
        out = engine.generate([long, *requests(n=1)])
    assert out[0].token_ids == [] and out[0].finish_reason == "length"
    assert len(out[1].token_ids) > 0


def test_bad_adapters_get_clear_errors(
    engine: VLLMEngine, adapters: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        engine.update_adapter("generator", tmp_path / "missing")
    (tmp_path / "notpeft").mkdir()
    (tmp_path / "notpeft" / "config.json").write_text("{}")
    with pytest.raises(ValueError, match="not a PEFT adapter"):
        engine.update_adapter("generator", tmp_path / "notpeft")
    with pytest.raises(ValueError, match="rank 16; this engine serves ranks up to 8"):
        engine.update_adapter("generator", adapters["rank16"])
    assert engine.adapters["generator"].lora_path == str(adapters["v1"])  # nothing changed


def test_a_new_adapter_version_changes_the_output(
    engine: VLLMEngine, adapters: dict[str, Path], hf: Any
) -> None:
    model, tokenizer = hf
    batch = requests()
    before = [c.token_ids for c in engine.generate(batch)]
    old = engine.adapters["generator"]
    name = engine.update_adapter("generator", adapters["v2"])
    new = engine.adapters["generator"]
    assert name == new.lora_name != old.lora_name and new.lora_int_id != old.lora_int_id
    after = [c.token_ids for c in engine.generate(batch)]
    assert after != before
    # the same weights through PEFT (HFEngine activates the adapter a request's policy names)
    hf_engine = HFEngine(model, tokenizer, max_new_tokens=CAP, temperature=0.0)
    want = hf_engine.generate(requests("generator2"))
    assert after == [c.token_ids for c in want]
    assert old.lora_int_id not in engine.llm.llm_engine.list_loras()  # the old version is unloaded
