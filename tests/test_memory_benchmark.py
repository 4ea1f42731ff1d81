"""``benchmarks/memory.py`` runs end to end (tiny settings) and writes its JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "memory.py"
LENGTHS = (32, 64)


def test_memory_smoke(tmp_path: Path) -> None:
    pytest.importorskip("trl")
    pytest.importorskip("peft")
    out = tmp_path / "m.json"
    # tiny model, two lengths, one update per case, rolegym's diagnostics variant left out:
    # four fresh processes, each mostly imports
    args = [
        "--lengths", *map(str, LENGTHS), "--vocab_size", "2048", "--hidden_size", "64",
        "--intermediate_size", "128", "--head_dim", "32", "--num_attention_heads", "2",
        "--num_key_value_heads", "1", "--rows_per_update", "2", "--prompt_length", "8",
        "--updates", "1", "--threads", "1", "--no-diagnostics", "--out", str(out),
    ]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    saved = json.loads(out.read_text())
    assert saved["benchmark"] == "memory"
    assert saved["same_rows"] and saved["same_initial_weights"]
    assert saved["trl_fused_head_ran"]
    assert saved["trl_checkpointing_enabled"]  # gradient_checkpointing defaults to True
    assert saved["lengths"].keys() == {str(n) for n in LENGTHS}
    for length in LENGTHS:
        row = saved["lengths"][str(length)]
        assert "rolegym+diagnostics" not in row
        for side in ("rolegym", "trl"):
            case = row[side]
            assert "error" not in case, case
            assert case["length"] == length and case["side"] == side
            assert case["peak_mib"] > 0 and case["time_s"] > 0
            assert len(case["peaks_mib"]) == len(case["times_s"]) == 1
        assert row["trl"]["checkpointing_ran"] and row["trl"]["fused_head_calls"] == 1
        assert row["peak_ratio"] > 0 and row["time_ratio"] > 0
        assert row["grad_norm_rel_diff"] < 1e-3  # the same update on both sides
    for side in ("rolegym", "trl"):
        fit = saved["fit"][side]
        assert fit["lengths"] == list(LENGTHS) and fit["peak_mib_per_1k_tokens"] is not None
