"""The GPU check (benchmarks/gpu_check.py) runs end to end at tiny shapes on a CPU.

It is meant for a lent GPU machine; this run at ``--tiny`` shapes keeps it from rotting: the
model and tokenizer built in code, the save/load by path, the HF-engine throughput figure, the
``paper``-preset training step and the JSON it writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
TINY_CAP = 16  # the tiny training-step completion cap
TINY_SAMPLES = 2 * 4  # tasks_per_step x num_generations


def test_gpu_check_tiny(tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    proc = subprocess.run(
        [sys.executable, "benchmarks/gpu_check.py", "--tiny", "--out", str(out)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    saved = json.loads(out.read_text())
    assert saved["benchmark"] == "gpu_check" and saved["complete"]
    assert saved["wall_s"] > 0

    machine = saved["machine"]
    for key in ("gpu", "torch", "transformers", "peft", "cuda", "python"):
        assert key in machine
    assert machine["gpu"] and machine["torch"] and machine["transformers"] and machine["peft"]
    assert saved["model"]["config"]["vocab_size"] == 512
    assert saved["model"]["parameters"] > 0

    gen = saved["generation"]
    assert gen["requests"] == 4 and gen["max_new_tokens"] == 16
    assert 0 < gen["completion_tokens"] <= 4 * 16
    assert gen["tokens_per_s"] > 0 and gen["wall_s"] > 0

    step = saved["train_step"]
    assert step["finished"] and not step["oom"] and step["error"] is None
    assert step["preset"] == "paper" and step["engine"] == "hf"
    assert step["max_completion_length"] == TINY_CAP
    assert step["samples"] == step["expected_samples"] == TINY_SAMPLES
    # a random model rarely emits EOS, so completions run to the cap; assert only the bounds
    assert 0 < step["completion_length_mean"] <= TINY_CAP
    assert 0 < step["num_tokens"] <= TINY_SAMPLES * TINY_CAP
    assert step["step_time_s"] > 0 and step["generate_s"] > 0 and step["train_s"] > 0
    assert step["optimizer_stepped"]  # the dense reward gives the groups advantages
    assert step["peak_memory_bytes"] > 0 and step["peak_memory_gib"] > 0
    expected_kind = "cuda_max_memory_allocated" if machine["gpu"] != "cpu" else "process_peak_rss"
    assert step["peak_memory_kind"] == expected_kind
