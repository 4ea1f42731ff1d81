"""The HF engine's token budget in `rolegym eval`: picked from the model's key/value cache size."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from typer.testing import CliRunner  # noqa: E402

from rolegym.cli import app  # noqa: E402
from rolegym.evaluation import evaluate as evaluate_module  # noqa: E402
from rolegym.evaluation.evaluate import (  # noqa: E402
    available_memory,
    free_memory,
    kv_cache_budget,
    kv_cache_bytes_per_token,
    load_system,
)
from rolegym.evaluation.schema import validate_result  # noqa: E402
from rolegym.rollout.engines.hf import HFEngine  # noqa: E402

runner = CliRunner()


def _qwen3_06b() -> object:
    """Qwen3-0.6B's shape (no weights)."""
    return transformers.Qwen3Config(
        hidden_size=1024,
        num_hidden_layers=28,
        num_attention_heads=16,
        num_key_value_heads=8,
        head_dim=128,
    )


def test_kv_cache_budget_of_a_qwen3_0_6b_shaped_model() -> None:
    config = _qwen3_06b()
    # 2 (key, value) x 28 layers x 8 kv heads x 128 x 2 bytes
    assert kv_cache_bytes_per_token(config, torch.bfloat16) == 114_688
    assert kv_cache_bytes_per_token(config, "bfloat16") == 114_688
    assert kv_cache_bytes_per_token(config, torch.float32) == 229_376
    # 40% of 1 GB = 400,000,000 bytes; 3,487 x 114,688 = 399,917,056 <= it < 3,488 x 114,688
    assert kv_cache_budget(config, torch.bfloat16, 1_000_000_000) == 3_487
    assert kv_cache_budget(config, torch.float32, 1_000_000_000) == 1_743
    # half of 1 GiB = 536,870,912 bytes: 4,681 tokens (4,681 x 114,688 = 536,854,528)
    assert kv_cache_budget(config, torch.bfloat16, 2**30, share=0.5) == 4_681
    # an H200 with 130 GiB free: 40% = 55,834,574,848 bytes -> 486,838 tokens, e.g. 94
    # requests of 5,120 completion + 59 prompt tokens at once
    assert kv_cache_budget(config, torch.bfloat16, 130 * 2**30) == 486_838
    # the floor: at least one request, however little is free
    assert kv_cache_budget(config, torch.bfloat16, 0) == 1
    assert kv_cache_budget(config, torch.bfloat16, 10**8, min_tokens=5_121) == 5_121


def test_head_dim_and_kv_heads_fall_back_to_the_attention_shape() -> None:
    # no num_key_value_heads (one per attention head), no head_dim: 768 / 12 = 64
    mha = SimpleNamespace(
        hidden_size=768, num_hidden_layers=12, num_attention_heads=12, head_dim=None
    )
    assert kv_cache_bytes_per_token(mha, torch.float16) == 2 * 12 * 12 * 64 * 2
    llama = transformers.LlamaConfig(
        hidden_size=4096, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8
    )
    assert kv_cache_bytes_per_token(llama, torch.bfloat16) == 2 * 32 * 8 * 128 * 2


def test_available_memory_reads_meminfo(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16384 kB\nMemFree:    1024 kB\nMemAvailable:    2048 kB\n")
    assert available_memory(meminfo) == 2048 * 1024
    meminfo.write_text("MemTotal:       16384 kB\n")
    assert available_memory(meminfo) is None
    assert available_memory(tmp_path / "missing") is None
    cpu = free_memory("cpu")
    assert cpu is None or cpu > 0
    assert free_memory("meta") is None


def test_a_local_model_gets_a_budget_that_fits_unless_given_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rolegym.baselines.micro import save_micro_model

    path = str(save_micro_model(tmp_path / "model"))
    monkeypatch.setattr(evaluate_module, "free_memory", lambda device: 10**6)
    engine = load_system(path, device="cpu").engine(0.7, 8)
    model = engine.models["*"]
    want = kv_cache_budget(model.config, model.dtype, 10**6, min_tokens=9)
    assert engine.max_batch_tokens == want == int(0.4 * 10**6) // (2 * 2 * 1 * 64 * 4)
    assert (
        load_system(path, device="cpu", max_batch_tokens=77).engine(0.7, 8).max_batch_tokens == 77
    )
    assert load_system("micro:qwen3").engine(0.7, 8).max_batch_tokens is None  # micro: none
    monkeypatch.setattr(evaluate_module, "free_memory", lambda device: None)
    assert load_system(path, device="cpu").engine(0.7, 8).max_batch_tokens is None  # unknown


def test_eval_command_on_a_local_model_with_a_token_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rolegym.baselines.micro import save_micro_model

    path = save_micro_model(tmp_path / "model")
    budgets: list[int | None] = []
    batches = HFEngine.batches

    def spy(self: HFEngine, prompt_lengths):
        budgets.append(self.max_batch_tokens)
        return batches(self, prompt_lengths)

    monkeypatch.setattr(HFEngine, "batches", spy)
    out = tmp_path / "result.json"
    result = runner.invoke(
        app,
        [
            "eval",
            str(path),
            "--max-batch-tokens",
            "200",
            "--problems",
            "4",
            "--env",
            "single-arith-v0",
            "--max-new-tokens",
            "8",
            "--device",
            "cpu",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    loaded = json.loads(out.read_text())
    validate_result(loaded)
    assert loaded["system"]["kind"] == "model" and loaded["cells"][0]["episodes"] == 4
    assert budgets and set(budgets) == {200}
