"""The paper's matrix: 42 committed configs, in sync with the generator, each a valid run."""

from __future__ import annotations

from pathlib import Path

from rolegym.baselines.grpo.config import load_config
from rolegym.baselines.grpo.matrix import paper_matrix, write_configs

ROOT = Path(__file__).resolve().parents[2]


def test_committed_configs_match_the_generator(tmp_path: Path) -> None:
    fresh = {p.name: p.read_text() for p in write_configs(tmp_path)}
    committed = {p.name: p.read_text() for p in (ROOT / "configs" / "paper").glob("*.yaml")}
    assert committed == fresh


def test_every_run_of_the_matrix_loads_with_the_papers_settings() -> None:
    runs = paper_matrix()
    assert len(runs) == 3 * 2 * 3 * 2 + 2 * 3
    policies = {}
    for name in runs:
        config = load_config(path=ROOT / "configs" / "paper" / f"{name}.yaml")
        assert (config.lora_r, config.lora_alpha, config.learning_rate) == (64, 32, 2e-5)
        assert (config.num_generations, config.tasks_per_step, config.beta) == (8, 64, 0.0)
        assert config.max_completion_length == (5120 if "-math-" in name else 2048)
        assert config.output_dir == f"runs/paper/{name}"
        policies.setdefault(config.env_id, set()).add((config.model_name_or_path, config.policy))
    assert policies["voting-code-v0"] == {
        (f"Qwen/Qwen3-{s}", p) for s in ("0.6B", "1.7B", "4B") for p in ("shared", "isolated")
    }
    assert policies["single-math-v0"] == {
        (f"Qwen/Qwen3-{s}", "shared") for s in ("0.6B", "1.7B", "4B")
    }
