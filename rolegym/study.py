"""``rolegym study``: a declared grid of GRPO runs over seeds, tested against stated hypotheses.

A study is a YAML file (the shipped ones: ``configs/studies/*.yaml``, by name)::

    name: amplification
    description: ...
    base: {preset: micro, env_id: voting-arith-v0, max_steps: 40, eval_steps: 5}
    grid:                              # axis -> values; a GRPOConfig option or env_kwargs.KEY
      env_kwargs.num_voters: [1, 2, 4, 8]
      policy: [shared, isolated]
    seeds: [0, 1, 2]
    measures:                          # per-run summaries of logged series
      coherence: {key: role/generator/instance_coherence, stat: mean}
      top_share: {key: role/*/grad_mass_share, stat: mean, reduce: max}   # over the roles
    hypotheses:                        # stated before anything runs
      - id: H1
        statement: Voter instance coherence rises with the number of voters.
        test: increases                # or: greater (where a vs where b), correlates (x vs y)
        measure: coherence
        axis: env_kwargs.num_voters
        where: {policy: isolated}
    quick: {base: {max_steps: 2}, seeds: [0], grid: {env_kwargs.num_voters: [1, 2]}}
    warm_start: {kind: demo, seed: 0}  # optional: start every run from the demo's warm start

``warm_start`` (``arith`` envs only) builds the demo's warm start of each workflow the grid
uses (:func:`rolegym.demo.build_warm_starts`, once, in ``OUT/warm_start/``, reused while its
settings hold) and starts every run of that workflow from it, on the demo's ``arith`` problems;
the seeds then vary GRPO (batches, rollouts, evaluation samples), not the warm start. Without
it a micro model starts from its random initialisation, where accuracy stays 0.
``quick: true`` builds the warm start with ``DemoConfig.quick``'s few steps (a pipeline check).

Every cell of the grid runs once per seed (a run directory each, skipped when it already holds
``summary.json``, so an interrupted study resumes). Each run is summarised by its peak and final
held-out accuracy, whether it ends in a terminal cliff
(:func:`rolegym.evaluation.cliff.detect_cliff`) and the declared measures. Each hypothesis is
then given a verdict, with its estimate and a 95% bootstrap confidence interval over seeds
(2,000 resamples of the seeds, seeded):

- ``increases``: the least-squares slope of the measure against the axis; ``supported`` when the
  interval lies above 0, ``not supported`` otherwise;
- ``greater``: mean of the measure where ``a`` minus where ``b``; ``supported`` above 0;
- ``correlates``: Pearson's r of measure ``x`` and ``y`` across runs, with ``sign`` +1 or -1;
  ``supported`` when the interval lies on that side of 0;
- ``positive``: the mean of the measure over the runs (``where``); ``supported`` above 0 (with
  the ``trend`` stat: the series rose over training).

A measure summarises one logged series per run by ``stat``: ``mean``, ``last``, ``max``,
``min`` or ``trend`` (mean over the last quarter of the steps minus mean over the first, as
the run report computes its trends).

A hypothesis is ``not testable at this scale`` when its runs lack the measure, when the axis has
fewer than two values among them, when fewer than two seeds ran (no interval), or when the
measure does not vary (for example every accuracy 0; for ``positive``: it is 0 in every run).
Nothing is tuned to agree with the paper: the report prints the verdicts as computed.
``--quick`` applies the file's ``quick`` overrides (CI runs the pipeline that way, in seconds).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["StudyConfig", "judge_hypothesis", "load_study", "run_study"]

STUDIES_DIR = Path(__file__).resolve().parents[1] / "configs" / "studies"
TESTS = ("increases", "greater", "correlates", "positive")
STATS = ("mean", "last", "max", "min", "trend")
_BOOTSTRAP = 2000


@dataclass
class StudyConfig:
    """A study file, parsed (see the module docstring)."""

    name: str
    description: str = ""
    base: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=lambda: [0])
    measures: dict[str, dict[str, str]] = field(default_factory=dict)
    hypotheses: list[dict[str, Any]] = field(default_factory=list)
    quick: dict[str, Any] = field(default_factory=dict)
    warm_start: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        ws = self.warm_start
        if ws is not None and (ws.get("kind") != "demo" or set(ws) - {"kind", "seed", "quick"}):
            raise ValueError("warm_start: give {kind: demo, seed: N, quick: BOOL} (kind only)")
        for name, spec in self.measures.items():
            if "key" not in spec or spec.get("stat", "mean") not in STATS:
                raise ValueError(f"measure {name!r}: give a key and a stat out of {STATS}")
            if spec.get("reduce", "max") not in ("max", "min"):
                raise ValueError(f"measure {name!r}: reduce is max or min")
        known = {"peak", "final", "cliff", "drop", *self.measures}
        for h in self.hypotheses:
            hid = h.get("id", "?")
            if h.get("test") not in TESTS:
                raise ValueError(f"hypothesis {hid}: test must be one of {TESTS}")
            if not h.get("statement"):
                raise ValueError(f"hypothesis {hid}: state it (statement) before it runs")
            named = [h[k] for k in ("measure", "x", "y") if k in h]
            if not named or any(m not in known for m in named):
                raise ValueError(f"hypothesis {hid}: measures must be among {sorted(known)}")
            if h["test"] == "increases" and h.get("axis") not in self.grid:
                raise ValueError(f"hypothesis {hid}: axis must be one of {list(self.grid)}")

    def quickened(self) -> StudyConfig:
        """The study with its ``quick`` overrides applied."""
        q = self.quick
        return StudyConfig(
            name=self.name,
            description=self.description,
            base={**self.base, **q.get("base", {})},
            grid={**self.grid, **q.get("grid", {})},
            seeds=list(q.get("seeds", self.seeds)),
            measures=self.measures,
            hypotheses=self.hypotheses,
            warm_start=q.get("warm_start", self.warm_start),
        )


def load_study(name_or_path: str | Path) -> StudyConfig:
    """A study by name (``configs/studies/<name>.yaml``) or path."""
    import yaml  # PyYAML: the config files' format

    path = Path(name_or_path)
    if not path.suffix:
        path = STUDIES_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        shipped = sorted(p.stem for p in STUDIES_DIR.glob("*.yaml"))
        raise FileNotFoundError(f"no study {name_or_path!r}; shipped studies: {shipped}")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict) or "name" not in data:
        raise ValueError(f"{path}: a study is a mapping with at least a name")
    return StudyConfig(**data)


# ---------------------------------------------------------------------------- runs


def _cells(c: StudyConfig) -> list[dict[str, Any]]:
    axes = list(c.grid)
    return [dict(zip(axes, values, strict=True)) for values in itertools.product(*c.grid.values())]


def _label(cell: dict[str, Any], seed: int) -> str:
    parts = [f"{k.rsplit('.', 1)[-1]}={v}" for k, v in cell.items()]
    return "-".join([*parts, f"seed={seed}"]).replace("/", "_")


def _options(c: StudyConfig, cell: dict[str, Any], seed: int, out: Path) -> dict[str, Any]:
    options = {k: v for k, v in c.base.items() if k != "preset"}
    env_kwargs = dict(options.pop("env_kwargs", {}))
    for key, value in cell.items():
        if key.startswith("env_kwargs."):
            env_kwargs[key.split(".", 1)[1]] = value
        else:
            options[key] = value
    options |= {"env_kwargs": env_kwargs, "seed": seed, "output_dir": str(out)}
    options.setdefault("disable_tqdm", True)
    return options


def _workflow(env_id: str) -> str:
    from rolegym.registration import make

    return str(make(env_id).unwrapped.workflow)


def _warm_starts(c: StudyConfig, out: Path, progress: Callable[[str], None] | None) -> dict:
    """Workflow -> the path of its demo warm start (built once under ``out/warm_start``)."""
    from rolegym.demo import DemoConfig, build_warm_starts

    assert c.warm_start is not None
    seed = int(c.warm_start.get("seed", 0))
    demo = replace(DemoConfig.quick() if c.warm_start.get("quick") else DemoConfig(), seed=seed)
    env_ids = {_options(c, cell, 0, out)["env_id"] for cell in _cells(c)}
    if any("-arith-" not in e for e in env_ids):
        raise ValueError(f"warm_start: the demo's warm starts are for arith envs, not {env_ids}")
    workflows = sorted({_workflow(e) for e in env_ids})
    folder = out / "warm_start"
    stamp = folder / "warm_start.json"
    settings = json.loads(json.dumps({"demo": asdict(demo), "workflows": workflows}))
    paths = {w: folder / w for w in [*workflows, "single"]}
    if not (stamp.is_file() and json.loads(stamp.read_text()) == settings):
        if progress is not None:
            progress(f"building the demo's warm starts for {', '.join(workflows)}")
        paths = build_warm_starts(demo, workflows).save(folder)
        stamp.write_text(json.dumps(settings, indent=2) + "\n")
    return {
        "paths": {w: str(p) for w, p in paths.items()},
        "dataset_options": {"max_value": demo.max_value, "ops": demo.ops},
    }


def _trend(v: list[float]) -> float:
    """Mean over the last quarter of the steps minus mean over the first (the run report's)."""
    from rolegym.evaluation.report_text import _quarters  # the report's quarters: trends agree

    first, last = _quarters(range(len(v)))
    return sum(v[i] for i in last) / len(last) - sum(v[i] for i in first) / len(first)


def _summary(run_dir: Path, measures: dict[str, dict[str, str]]) -> dict[str, Any]:
    from rolegym.evaluation.cliff import detect_cliff
    from rolegym.evaluation.run_data import load_run

    run = load_run(run_dir)
    acc = run.eval_accuracy
    out: dict[str, Any] = {
        "peak": max(acc) if acc else None,
        "final": acc[-1] if acc else None,
        "eval_steps": run.eval_steps,
        "eval_accuracy": acc,
    }
    out["drop"] = out["peak"] - out["final"] if acc else None
    out["cliff"] = float(detect_cliff(run.eval_steps, acc) is not None) if len(acc) > 1 else None
    pick: dict[str, Callable[[list[float]], float]] = {
        "mean": lambda v: sum(v) / len(v),
        "last": lambda v: v[-1],
        "max": max,
        "min": min,
        "trend": _trend,
    }
    series: dict[str, list[float]] = {}
    logged = sorted({k for record in run.records.values() for k in record})
    for name, spec in measures.items():
        stat = pick[spec.get("stat", "mean")]
        prefix, star, suffix = spec["key"].partition("*")
        if star:
            keys = [k for k in logged if k.startswith(prefix) and k.endswith(suffix)]
        else:
            keys = [spec["key"]]
        values = {}
        for key in keys:
            v = run.series(key, run.train_steps)[1]
            if v:
                series[key] = v
                values[key] = stat(v)
        # a key with "*" (e.g. role/*/grad_mass_share) is reduced over its matches: max or min
        reduce = max if spec.get("reduce", "max") == "max" else min
        out[name] = reduce(values.values()) if values else None
    out["series"] = series
    return out


def run_study(
    c: StudyConfig, out_dir: str | Path, *, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Run every cell x seed (skipping finished runs), test the hypotheses, write the report.

    Returns the study's results (also ``study.json`` in ``out_dir``, beside ``study.md`` and
    the plots).
    """
    import torch

    from rolegym.baselines.grpo import GRPOTrainer
    from rolegym.baselines.grpo.config import load_config

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    warm = _warm_starts(c, out, progress) if c.warm_start is not None else None
    runs = []
    jobs = [(cell, seed) for cell in _cells(c) for seed in c.seeds]
    for n, (cell, seed) in enumerate(jobs, 1):
        run_dir = out / "runs" / _label(cell, seed)
        timing = run_dir / "study_run.json"
        if not (run_dir / "summary.json").is_file() or not timing.is_file():
            if progress is not None:
                progress(f"[{n}/{len(jobs)}] running {run_dir.name}")
            options = _options(c, cell, seed, run_dir)
            if warm is not None:
                options["model_name_or_path"] = warm["paths"][_workflow(options["env_id"])]
                kwargs = options["env_kwargs"]
                given = kwargs.setdefault("dataset_options", warm["dataset_options"])
                if given != warm["dataset_options"]:
                    raise ValueError(
                        f"warm_start: the warm start learned {warm['dataset_options']}; "
                        f"the study asks for dataset_options {given}"
                    )
            config = load_config(c.base.get("preset"), **options)
            began = time.perf_counter()
            GRPOTrainer(config).train()
            timing.write_text(json.dumps({"wall_s": time.perf_counter() - began}) + "\n")
        summary = _summary(run_dir, c.measures)
        wall = json.loads(timing.read_text())["wall_s"]
        runs.append(
            {"cell": cell, "seed": seed, "run_dir": str(run_dir), "wall_s": wall, **summary}
        )
    verdicts = [judge_hypothesis(h, runs) for h in c.hypotheses]
    result = {
        "name": c.name,
        "description": c.description,
        "grid": c.grid,
        "seeds": c.seeds,
        "base": c.base,
        "warm_start": c.warm_start,
        "runs": runs,
        "hypotheses": verdicts,
        "wall_s": time.perf_counter() - started,
        "runs_wall_s": sum(r["wall_s"] for r in runs),
        "machine": {
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(),
        },
    }
    (out / "study.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    plots = _plots(c, runs, out)
    (out / "study.md").write_text(_markdown(c, result, plots))
    return result


# ---------------------------------------------------------------------------- hypotheses


def _matches(run: dict[str, Any], where: dict[str, Any] | None) -> bool:
    return all(run["cell"].get(k) == v for k, v in (where or {}).items())


def _slope(xs: np.ndarray, ys: np.ndarray) -> float:
    xc = xs - xs.mean()
    denom = float((xc * xc).sum())
    return float((xc * (ys - ys.mean())).sum() / denom) if denom > 0 else math.nan


def _pearson(xs: np.ndarray, ys: np.ndarray) -> float:
    sx, sy = xs.std(), ys.std()
    if sx == 0 or sy == 0:
        return math.nan
    return float(((xs - xs.mean()) * (ys - ys.mean())).mean() / (sx * sy))


def judge_hypothesis(h: dict[str, Any], runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The verdict on one hypothesis (see the module docstring), with estimate and 95% CI."""
    test = h["test"]
    out = {k: h.get(k) for k in ("id", "statement", "test")}

    def untestable(why: str) -> dict[str, Any]:
        verdict = {"verdict": "not testable at this scale", "why": why}
        return {**out, **verdict, "estimate": None, "ci": None, "n_runs": 0}

    if test == "greater":
        a = [r for r in runs if _matches(r, h.get("a")) and r.get(h["measure"]) is not None]
        b = [r for r in runs if _matches(r, h.get("b")) and r.get(h["measure"]) is not None]
        pool = a + b
        if not a or not b:
            return untestable("no run on one side of the comparison")
    else:
        names = [h["measure"]] if test in ("increases", "positive") else [h["x"], h["y"]]
        pool = [
            r
            for r in runs
            if _matches(r, h.get("where")) and all(r.get(n) is not None for n in names)
        ]
    seeds = sorted({r["seed"] for r in pool})
    if not pool:
        return untestable("no run logged the measure")
    measured = [h[k] for k in ("measure", "x", "y") if k in h]
    if test == "positive":
        if all(r[h["measure"]] == 0 for r in pool):
            return untestable("the measure is 0 in every run")
    elif any(len({r[m] for r in pool}) < 2 for m in measured):
        return untestable("the measure does not vary across the runs")
    if len(seeds) < 2:
        return untestable("fewer than two seeds: no confidence interval")

    def estimate(chosen: list[dict[str, Any]]) -> float:
        if test == "increases":
            xs = np.array([float(r["cell"][h["axis"]]) for r in chosen])
            return _slope(xs, np.array([float(r[h["measure"]]) for r in chosen]))
        if test == "greater":
            va = [r[h["measure"]] for r in chosen if _matches(r, h.get("a"))]
            vb = [r[h["measure"]] for r in chosen if _matches(r, h.get("b"))]
            return float(np.mean(va) - np.mean(vb)) if va and vb else math.nan
        if test == "positive":
            return float(np.mean([r[h["measure"]] for r in chosen]))
        xs = np.array([float(r[h["x"]]) for r in chosen])
        return _pearson(xs, np.array([float(r[h["y"]]) for r in chosen]))

    point = estimate(pool)
    if test == "increases" and len({r["cell"][h["axis"]] for r in pool}) < 2:
        return untestable("the axis has fewer than two values among the runs")
    if math.isnan(point):
        return untestable("the measure does not vary across the runs")
    rng = np.random.default_rng(0)
    by_seed = {s: [r for r in pool if r["seed"] == s] for s in seeds}
    samples = []
    for _ in range(_BOOTSTRAP):
        picked = rng.choice(seeds, size=len(seeds), replace=True)
        value = estimate([r for s in picked for r in by_seed[int(s)]])
        if not math.isnan(value):
            samples.append(value)
    low, high = (float(np.percentile(samples, q)) for q in (2.5, 97.5))
    sign = -1.0 if test == "correlates" and h.get("sign", 1) < 0 else 1.0
    supported = low > 0 if sign > 0 else high < 0
    return {
        **out,
        "verdict": "supported" if supported else "not supported",
        "estimate": point,
        "ci": [low, high],
        "n_runs": len(pool),
        "n_seeds": len(seeds),
    }


# ---------------------------------------------------------------------------- report


def _plots(c: StudyConfig, runs: list[dict[str, Any]], out: Path) -> list[str]:
    """The report's figures (none without matplotlib).

    ``accuracy.png``: held-out accuracy per cell, mean over seeds; and one figure per
    ``increases`` (the measure against its axis) or ``correlates`` hypothesis (x against y),
    run by run.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    names = []

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        fig.savefig(out / name, dpi=100)
        plt.close(fig)
        names.append(name)

    curves: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        if r.get("eval_accuracy"):
            curves.setdefault(_label(r["cell"], 0).rsplit("-seed=", 1)[0], []).append(r)
    if curves:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for label, rs in curves.items():
            steps = rs[0]["eval_steps"]
            same = [r["eval_accuracy"] for r in rs if r["eval_steps"] == steps]
            ax.plot(steps, np.mean(same, axis=0), label=label or "all", linewidth=1)
        ax.set_xlabel("step")
        ax.set_ylabel("held-out accuracy (mean over seeds)")
        ax.legend(fontsize=6, ncol=2)
        save(fig, "accuracy.png")
    for h in c.hypotheses:
        if h["test"] == "increases":
            xk, yk, where = h["axis"], h["measure"], h.get("where")
            pool = [r for r in runs if _matches(r, where) and r.get(yk) is not None]
            xs = [r["cell"][xk] for r in pool]
        elif h["test"] == "correlates":
            xk, yk = h["x"], h["y"]
            pool = [
                r
                for r in runs
                if _matches(r, h.get("where")) and None not in (r.get(xk), r.get(yk))
            ]
            xs = [r[xk] for r in pool]
        else:
            continue
        if not pool:
            continue
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.scatter(xs, [r[yk] for r in pool])
        ax.set_xlabel(xk)
        ax.set_ylabel(yk)
        ax.set_title(f"{h['id']}: {yk} vs {xk}")
        save(fig, f"{h['id']}.png")
    return names


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.3g}"
    return str(x)


def _markdown(c: StudyConfig, result: dict[str, Any], plots: list[str]) -> str:
    lines = [f"# Study: {c.name}", "", c.description.strip(), ""]
    lines += [
        f"Grid: {json.dumps(c.grid)}; seeds: {c.seeds}; {len(result['runs'])} runs. Wall time "
        f"{result['wall_s'] / 60:.1f} min (this invocation; the runs' training took "
        f"{result['runs_wall_s'] / 60:.1f} min in all) on {result['machine']['cpu_count']} CPU "
        f"cores, {result['machine']['torch_threads']} torch threads "
        f"({result['machine']['platform']}).",
        "",
        (
            f"Every run starts from the demo's warm start of its workflow (seed "
            f"{c.warm_start.get('seed', 0)}; `rolegym.demo.build_warm_starts`)."
            if c.warm_start
            else "Every run starts from the model's initialisation (no warm start)."
        ),
        "",
        "## Hypotheses (stated before the runs)",
        "",
        "| id | statement | test | verdict | estimate | 95% CI over seeds | runs |",
        "|---|---|---|---|---|---|---|",
    ]
    for v in result["hypotheses"]:
        ci = "-" if v["ci"] is None else f"[{v['ci'][0]:.3g}, {v['ci'][1]:.3g}]"
        verdict = v["verdict"] + (f" ({v['why']})" if v.get("why") else "")
        lines.append(
            f"| {v['id']} | {v['statement']} | {v['test']} | {verdict} | "
            f"{_fmt(v['estimate'])} | {ci} | {v['n_runs']} |"
        )
    measures = list(c.measures)
    header = [*c.grid, "seed", "peak", "final", "cliff", *measures]
    lines += ["", "## Runs", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in result["runs"]:
        cells = [_fmt(r["cell"][k]) for k in c.grid]
        values = [_fmt(r[k]) for k in ("peak", "final", "cliff", *measures)]
        lines.append("| " + " | ".join([*cells, str(r["seed"]), *values]) + " |")
    if plots:
        lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    lines += ["", "Series of every run: `study.json` (`runs[i].series`).", ""]
    return "\n".join(lines)
