"""The paper's experimental matrix as ready ``rolegym train`` configs.

3 workflows (Voting, Eval-Opt, Orch-Workers) x 2 tasks (math: DAPO-Math, code: DeepCoder) x 3
Qwen3 scales (0.6B, 1.7B, 4B) x {Shared-Policy, Isolated-Policy}, plus the single-agent
controls (2 tasks x 3 scales): 42 runs, each the ``paper`` preset (reference/paper.md section 4)
with its env, model and policy. The files live in ``configs/paper/``; regenerate them with
``python -m rolegym.baselines.grpo.matrix configs/paper``. ``scripts/paper_matrix.sh`` trains
a selection, evaluates every checkpoint of each run on its cell and builds the leaderboard.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

__all__ = ["SIZES", "paper_matrix", "write_configs"]

SIZES = ("0.6B", "1.7B", "4B")
WORKFLOWS = ("voting", "eval-opt", "orch-workers")
TASKS = ("math", "code")
#: Completions per forward/backward micro-batch on one 80 GB GPU (memory only).
_MICRO_BATCH = {"0.6B": 16, "1.7B": 8, "4B": 4}


def _options(workflow: str, task: str, size: str, policy: str) -> dict[str, Any]:
    name = (
        f"{workflow}-{task}-qwen3-{size.lower()}"
        if workflow == "single"
        else f"{workflow}-{task}-qwen3-{size.lower()}-{policy}"
    )
    options: dict[str, Any] = {
        "preset": "paper",
        "env_id": f"{workflow}-{task}-v0",
        "model_name_or_path": f"Qwen/Qwen3-{size}",
        "policy": policy,
        "per_device_train_batch_size": _MICRO_BATCH[size],
        "eval_tasks": 200,
        "output_dir": f"runs/paper/{name}",
    }
    if task == "code":
        options["rollout_workers"] = 16  # sandboxed tests of different episodes overlap
    return {"name": name, **options}


def paper_matrix() -> dict[str, dict[str, Any]]:
    """Run name -> its options (``preset: paper`` plus env, model, policy, output dir)."""
    runs = {}
    for task in TASKS:
        for size in SIZES:
            for workflow in WORKFLOWS:
                for policy in ("shared", "isolated"):
                    opts = _options(workflow, task, size, policy)
                    runs[opts.pop("name")] = opts
            opts = _options("single", task, size, "shared")
            runs[opts.pop("name")] = opts
    return runs


def write_configs(folder: str | Path) -> list[Path]:
    """Write one YAML file per run of :func:`paper_matrix` into ``folder``."""
    import yaml

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, options in paper_matrix().items():
        path = folder / f"{name}.yaml"
        header = f"# the paper's setting: rolegym train --config configs/paper/{name}.yaml\n"
        path.write_text(header + yaml.safe_dump(options, sort_keys=False))
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_configs(sys.argv[1] if len(sys.argv) > 1 else "configs/paper"):
        print(written)
