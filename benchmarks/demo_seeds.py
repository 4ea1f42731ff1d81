"""The demo at two seeds: is GRPO's gain over the warm start larger than the seed-to-seed spread?

``rolegym demo`` is run once per seed (everything reseeded: the micro model's initial weights,
the teacher's transcripts, the warm starts, GRPO's batches and rollouts, the evaluations'
samples). For every workflow x policy map it records, per seed, the trained accuracy and the
gain over that seed's warm start, and the **spread**: the absolute difference of the trained
accuracies between the two seeds. A cell passes when its smaller gain exceeds the spread,
i.e. when what GRPO adds is larger than what the seed alone moves.

The first seed's ``demo.json`` is also written to ``benchmarks/results/demo.json`` (the README's
demo table is generated from it by ``benchmarks/readme_table.py``) and its result files (with
each role's parse-failure rate and accuracy) to ``benchmarks/results/demo/``. A seed whose
folder already holds a ``demo.json`` of the same settings is not run again.

Run: ``python benchmarks/demo_seeds.py`` (about 25 minutes on two CPU cores; ``--help``).
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tyro


# ---------------------------------------------------------------------------- config
@dataclass
class Config:
    """Benchmark settings."""

    seeds: list[int] = field(default_factory=lambda: [0, 1])
    """seeds of the two demo runs (the first one's demo.json is the committed demo)"""
    runs: Path = Path("runs/demo-seeds")
    """where each seed's demo folder goes (seed-N/)"""
    out: Path = Path(__file__).parent / "results" / "demo_seeds.json"
    """the comparison"""
    demo_json: Path = Path(__file__).parent / "results" / "demo.json"
    """where the first seed's demo.json is copied"""
    demo_results: Path = Path(__file__).parent / "results" / "demo"
    """where the first seed's result files (rolegym.eval/1, with per-role figures) are copied"""


# ---------------------------------------------------------------------------- run
def run_seed(seed: int, folder: Path) -> dict[str, Any]:
    """The demo's summary at ``seed`` (run unless ``folder`` already holds it)."""
    from rolegym.demo import DemoConfig, run_demo

    config = DemoConfig(out_dir=str(folder), seed=seed)
    done = folder / "demo.json"
    if done.is_file():
        summary = json.loads(done.read_text())
        if summary["config"] == json.loads(json.dumps(asdict(config))):
            return summary
    print(f"running the demo at seed {seed} in {folder}", flush=True)
    return run_demo(config)


def compare(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per workflow x policy: accuracies, gains per seed, spread, and the verdict."""
    rows = []
    first, second = summaries
    policies = first["config"]["policies"]
    for a, b in zip(first["matrix"], second["matrix"], strict=True):
        for policy in policies:
            trained = [a[policy], b[policy]]
            warm = [a["warm_start"], b["warm_start"]]
            gains = [t - w for t, w in zip(trained, warm, strict=True)]
            spread = abs(trained[0] - trained[1])
            rows.append(
                {
                    "workflow": a["workflow"],
                    "policy": policy,
                    "warm_start": warm,
                    "trained": trained,
                    "gain": gains,
                    "spread": spread,
                    "gain_exceeds_spread": min(gains) > spread,
                }
            )
    return rows


def main(c: Config) -> dict[str, Any]:
    """Run both seeds, compare, write the JSON files; returns the comparison."""
    import torch

    if len(c.seeds) != 2:
        raise SystemExit("give exactly two seeds")
    summaries = [run_seed(seed, c.runs / f"seed-{seed}") for seed in c.seeds]
    rows = compare(summaries)
    result = {
        "benchmark": "demo_seeds",
        "seeds": c.seeds,
        "rows": rows,
        "all_gains_exceed_spread": all(r["gain_exceeds_spread"] for r in rows),
        "wall_s": [s["wall_s"] for s in summaries],
        "machine": {
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(),
            "processor": platform.processor(),
        },
    }
    c.out.parent.mkdir(parents=True, exist_ok=True)
    c.out.write_text(json.dumps(result, indent=2) + "\n")
    c.demo_json.write_text(json.dumps(summaries[0], indent=2) + "\n")
    c.demo_results.mkdir(parents=True, exist_ok=True)
    for path in sorted((c.runs / f"seed-{c.seeds[0]}" / "results").glob("*.json")):
        (c.demo_results / path.name).write_text(path.read_text())
    for r in rows:
        gains = ", ".join(f"{g:+.3f}" for g in r["gain"])
        print(
            f"{r['workflow']:>12} {r['policy']:>8}: gains {gains}, spread {r['spread']:.3f}"
            f" -> {'ok' if r['gain_exceeds_spread'] else 'NOT above the spread'}"
        )
    return result


if __name__ == "__main__":
    main(tyro.cli(Config))
