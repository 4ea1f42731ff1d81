"""A training run's story: accuracy curve, terminal-cliff verdict and per-role diagnostics.

:func:`write_report` reads a run directory written by ``rolegym train``
(:class:`~rolegym.baselines.grpo.GRPOTrainer`): ``metrics.jsonl`` (one line per step),
``config.json`` and, when training finished, ``summary.json``. It writes into
``<run>/report/`` (or ``out_dir``):

- ``report.md``: a short summary: env, policy and steps; peak and final held-out accuracy with
  their steps; the terminal-cliff verdict with its numbers (:func:`detect_cliff`); which role
  carries most of the gradient mass over the last quarter of training; roles whose projection
  share went negative (they pulled against the net update, the signature of role capture) and
  how often; the aggregator's output-length trend; and a per-role table of the shares and of the
  length, reward and entropy trends (mean over the first quarter of the training steps -> mean
  over the last quarter). It links the plots, and says which were skipped and why.
- ``accuracy.png``: ``eval/accuracy`` against the step, peak and final marked, the cliff line
  (``peak - threshold``) dotted and, when a cliff is detected, its onset marked and the cliff
  shaded.
- ``gradients.png``: per-role ``grad_mass_share`` and ``grad_proj_share`` (two panels).
- ``lengths.png``: per-role ``completion_length`` of the training rollouts (and of the
  evaluations, where logged).
- ``reward_entropy.png``: per-role ``reward_mean`` and ``entropy`` (two panels).

A plot whose data are missing (no evaluation, no gradient diagnostics...) is skipped; so are
all of them when matplotlib is not installed. Nothing is smoothed unless ``smooth`` asks for a
trailing moving average of the per-step curves (the accuracy curve and the cliff verdict always
use the raw evaluations).

The plots use matplotlib's object API (``matplotlib.figure.Figure`` drawn by the Agg canvas):
no pyplot and no global state, so reports can be written from threads and headless machines.

Example::

    from rolegym.evaluation.report import write_report

    report = write_report("runs/voting-isolated")
    print(report.summary)          # also in runs/voting-isolated/report/report.md
    if report.cliff is not None:
        print("cliff from step", report.cliff.onset_step)
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

__all__ = ["AGGREGATING_ROLES", "Cliff", "Report", "RunData", "detect_cliff", "load_run",
           "write_report"]  # fmt: skip

AGGREGATING_ROLES = ("aggregator", "synthesizer")
"""Roles that combine other roles' outputs: their output length is reported on its own."""

_EPS = 1e-9  # accuracies are ratios such as 2/5: compare drops up to rounding


# ---------------------------------------------------------------------- the cliff rule


@dataclass(frozen=True)
class Cliff:
    """A terminal cliff of the held-out accuracy, as :func:`detect_cliff` defines it.

    Attributes:
        peak_step: Step of the peak (the earliest evaluation that reaches the maximum).
        peak: The peak accuracy.
        final: The last evaluation's accuracy.
        drop: ``peak - final``.
        onset_step: The first evaluation after the peak from which every later evaluation stays
            at least ``threshold`` below the peak.
        threshold: The drop the rule required: ``max(drop, relative * peak)`` of the call.
        final_step: Step of the last evaluation.
    """

    peak_step: int
    peak: float
    final: float
    drop: float
    onset_step: int
    threshold: float
    final_step: int


def detect_cliff(
    steps: Sequence[int],
    accuracies: Sequence[float],
    *,
    drop: float = 0.10,
    relative: float = 0.25,
    window: int = 2,
) -> Cliff | None:
    """The terminal cliff of an accuracy curve, or ``None``.

    Zeng et al. (2026) describe the cliff as a final value far below the peak that does not
    recover, and leave the numbers open; this is the rule rolegym applies. With ``peak`` the
    maximum accuracy (its earliest evaluation when several tie), ``final`` the last evaluation
    and ``threshold = max(drop, relative * peak)``, the curve has a terminal cliff when all of:

    1. the peak is not the last evaluation;
    2. ``peak - final >= threshold`` (an absolute drop of ``drop`` points at least, and at least
       the fraction ``relative`` of the peak, which matters for high peaks);
    3. no recovery at the end: the last ``window`` evaluations are all at or below the cliff
       line ``peak - threshold`` (so the curve needs ``window`` evaluations after its peak; a
       drop seen at the last evaluation alone is a cliff only with ``window=1``).

    Comparisons allow ``1e-9`` for rounding (accuracies are ratios such as 3/10). The onset is
    the first evaluation after the peak from which every later evaluation stays at or below
    the cliff line. A dip that recovers before the end is not a cliff, and neither is a
    collapse from a peak smaller than ``drop`` (nothing lies ``drop`` below it).

    Args:
        steps: Training steps of the evaluations, strictly increasing.
        accuracies: The held-out accuracies (finite), one per step.
        drop: Smallest absolute drop, in accuracy points (0.10 = ten points).
        relative: Smallest drop as a fraction of the peak.
        window: How many trailing evaluations must all stay at or below the cliff line.

    Returns:
        The :class:`Cliff`, or ``None`` when the rule does not hold (fewer than two
        evaluations included).

    Raises:
        ValueError: Mismatched lengths, steps not strictly increasing, a non-finite accuracy,
            a negative ``drop`` or ``relative``, or ``window < 1``.
    """
    return _cliff_verdict(steps, accuracies, drop=drop, relative=relative, window=window)[0]


def _cliff_verdict(
    steps: Sequence[int],
    accuracies: Sequence[float],
    *,
    drop: float,
    relative: float,
    window: int,
) -> tuple[Cliff | None, str]:
    """:func:`detect_cliff` with the reason of its verdict, as a sentence fragment."""
    if len(steps) != len(accuracies):
        raise ValueError(f"{len(steps)} steps but {len(accuracies)} accuracies")
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    if drop < 0 or relative < 0:
        raise ValueError(f"drop and relative must be non-negative, got {drop} and {relative}")
    points = [(int(s), float(a)) for s, a in zip(steps, accuracies, strict=True)]
    if not all(math.isfinite(a) for _, a in points):
        raise ValueError("accuracies must be finite")
    if any(later <= earlier for (earlier, _), (later, _) in itertools.pairwise(points)):
        raise ValueError("steps must be strictly increasing")
    if len(points) < 2:
        return None, f"{len(points)} evaluation(s), the rule needs two at least"
    accs = [a for _, a in points]
    peak_i = accs.index(max(accs))
    peak_step, peak = points[peak_i]
    final_step, final = points[-1]
    threshold = max(drop, relative * peak)
    line = peak - threshold
    if peak_i == len(points) - 1:
        return None, f"the peak ({peak:.3f}) is the last evaluation"
    if peak - final < threshold - _EPS:
        return None, (
            f"the final accuracy {final:.3f} is {peak - final:.3f} below the peak {peak:.3f}, "
            f"less than the threshold {threshold:.3f}"
        )
    onset = len(points)
    while onset - 1 > peak_i and accs[onset - 1] <= line + _EPS:
        onset -= 1
    tail = len(points) - onset
    if tail < window:
        step, acc = points[onset - 1]
        where = "the peak itself" if onset - 1 == peak_i else f"step {step} is at {acc:.3f}"
        return None, (
            f"the final accuracy {final:.3f} is {peak - final:.3f} below the peak {peak:.3f}, "
            f"but only the last {tail} evaluation(s) stay at or below the cliff line "
            f"{line:.3f} ({where}); the rule needs the last {window}"
        )
    cliff = Cliff(
        peak_step=peak_step,
        peak=peak,
        final=final,
        drop=peak - final,
        onset_step=points[onset][0],
        threshold=threshold,
        final_step=final_step,
    )
    return cliff, (
        f"accuracy fell from {peak:.3f} (step {peak_step}) to {final:.3f} (step {final_step}), "
        f"a drop of {peak - final:.3f} >= the threshold {threshold:.3f}, and stayed at or "
        f"below the cliff line {line:.3f} from step {cliff.onset_step} on ({tail} "
        f"evaluation(s), the rule needs {window})"
    )


# ---------------------------------------------------------------------- reading a run


@dataclass(frozen=True)
class RunData:
    """What a report needs of a run directory (see :func:`load_run`).

    Attributes:
        run_dir: The run directory.
        config: ``config.json`` (the GRPOConfig as a dict; empty when missing).
        summary: ``summary.json`` (empty when missing, e.g. a run still training).
        records: Step -> the numeric metrics logged at that step (lines of one step merged).
        eval_steps: Steps of the held-out evaluations, increasing.
        eval_accuracy: ``eval/accuracy`` at those steps.
        skipped_lines: Lines of ``metrics.jsonl`` that were not JSON objects with a step (a
            run killed mid-write leaves a truncated last line).
    """

    run_dir: Path
    config: dict[str, Any]
    summary: dict[str, Any]
    records: dict[int, dict[str, float]]
    eval_steps: list[int]
    eval_accuracy: list[float]
    skipped_lines: int

    @cached_property
    def train_steps(self) -> list[int]:
        """Steps that logged training metrics (not only an evaluation), increasing."""
        return [s for s, r in self.records.items() if any(_is_train_key(k) for k in r)]

    @cached_property
    def roles(self) -> list[str]:
        """Roles named by ``role/<r>/...`` or ``eval/role/<r>/...`` keys, first seen first."""
        found: dict[str, None] = {}
        for record in self.records.values():
            for key in record:
                rest = key.removeprefix("eval/")
                if rest.startswith("role/") and rest.count("/") >= 2:
                    found[rest[len("role/") : rest.rindex("/")]] = None
        return list(found)

    def series(self, key: str, steps: Sequence[int] | None = None) -> tuple[list[int], list[float]]:
        """The steps that logged ``key`` (among ``steps``, default all) and its values."""
        chosen = self.records if steps is None else {s: self.records[s] for s in steps}
        pairs = [(s, r[key]) for s, r in chosen.items() if key in r]
        return [s for s, _ in pairs], [v for _, v in pairs]

    def mean(self, key: str, steps: Sequence[int]) -> float | None:
        """Mean of ``key`` over the given steps that logged it (``None`` if none did)."""
        values = self.series(key, steps)[1]
        return sum(values) / len(values) if values else None


def _is_train_key(key: str) -> bool:
    return key != "step" and not key.startswith("eval/")


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return data if isinstance(data, dict) else {}


def load_run(run_dir: str | Path) -> RunData:
    """Read a ``rolegym train`` run directory.

    Args:
        run_dir: The directory holding ``metrics.jsonl`` (``output_dir`` of the run).

    Returns:
        The run's metrics by step, its evaluations, configuration and summary.

    Raises:
        FileNotFoundError: ``run_dir`` has no ``metrics.jsonl``.
    """
    run_dir = Path(run_dir)
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} has no metrics.jsonl: is it a `rolegym train` run?")
    records: dict[int, dict[str, float]] = {}
    skipped = 0
    for text in path.read_text().splitlines():
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError:
            skipped += 1
            continue
        step = line.get("step") if isinstance(line, dict) else None
        if not isinstance(step, int | float) or isinstance(step, bool):
            skipped += 1
            continue
        numbers = {
            k: float(v)
            for k, v in line.items()
            if k != "step"
            and isinstance(v, int | float)
            and not isinstance(v, bool)
            and math.isfinite(v)
        }
        records.setdefault(int(step), {}).update(numbers)
    records = dict(sorted(records.items()))
    summary = _read_json(run_dir / "summary.json")
    eval_steps = [s for s, r in records.items() if "eval/accuracy" in r]
    eval_accuracy = [records[s]["eval/accuracy"] for s in eval_steps]
    if not eval_steps:  # metrics.jsonl without evaluations: fall back on summary.json's history
        history = sorted(
            (int(e["step"]), float(e["accuracy"]))
            for e in summary.get("eval_history", [])
            if isinstance(e, dict) and "step" in e and "accuracy" in e
        )
        eval_steps = [s for s, _ in history]
        eval_accuracy = [a for _, a in history]
    return RunData(run_dir=run_dir, config=_read_json(run_dir / "config.json"), summary=summary,
                   records=records, eval_steps=eval_steps, eval_accuracy=eval_accuracy,
                   skipped_lines=skipped)  # fmt: skip


# ---------------------------------------------------------------------- the report


@dataclass(frozen=True)
class Report:
    """What :func:`write_report` found and wrote.

    Attributes:
        run_dir: The run directory.
        out_dir: Where the files were written.
        summary: The text of ``report.md``.
        cliff: The terminal cliff, or ``None`` (see :func:`detect_cliff`).
        cliff_reason: Why the verdict is what it is, in words.
        peak_step: Step of the peak held-out accuracy (``None`` without evaluations).
        peak_accuracy: The peak held-out accuracy.
        final_step: Step of the last evaluation.
        final_accuracy: Its accuracy.
        roles: The roles seen in the metrics, first logged first.
        files: The files written: ``report.md`` first, then the plots.
        skipped: Plot file name -> why it was not drawn.
    """

    run_dir: Path
    out_dir: Path
    summary: str
    cliff: Cliff | None
    cliff_reason: str
    peak_step: int | None
    peak_accuracy: float | None
    final_step: int | None
    final_accuracy: float | None
    roles: tuple[str, ...]
    files: tuple[Path, ...]
    skipped: dict[str, str]


PLOTS = {
    "accuracy.png": "Held-out accuracy",
    "gradients.png": "Per-role gradient mass and projection shares",
    "lengths.png": "Per-role output length",
    "reward_entropy.png": "Per-role reward and entropy",
}


def write_report(
    run_dir: str | Path,
    out_dir: str | Path | None = None,
    *,
    drop: float = 0.10,
    relative: float = 0.25,
    window: int = 2,
    smooth: int = 1,
    plots: bool = True,
) -> Report:
    """Write a run's summary and plots (see the module docstring for what each holds).

    Args:
        run_dir: The run directory (``output_dir`` of ``rolegym train``).
        out_dir: Where to write (default ``run_dir / "report"``; created if needed, files of
            the same names replaced).
        drop: The cliff rule's smallest absolute drop (:func:`detect_cliff`).
        relative: The cliff rule's smallest drop as a fraction of the peak.
        window: How many trailing evaluations must stay below the cliff line.
        smooth: Trailing moving average, in logged steps, of the per-step curves of the plots
            (1: raw). Never applied to the accuracy curve, the summary or the cliff rule.
        plots: Draw the PNG plots (needs matplotlib; without it they are skipped and the
            summary says so).

    Returns:
        The :class:`Report`.

    Raises:
        FileNotFoundError: ``run_dir`` has no ``metrics.jsonl``.
        ValueError: An invalid cliff parameter or ``smooth < 1``.
    """
    if smooth < 1:
        raise ValueError(f"smooth must be at least 1, got {smooth}")
    run = load_run(run_dir)
    out = Path(out_dir) if out_dir is not None else run.run_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    cliff, reason = _cliff_verdict(run.eval_steps, run.eval_accuracy, drop=drop,
                                   relative=relative, window=window)  # fmt: skip
    written: list[Path] = []
    skipped: dict[str, str] = {}
    if plots:
        written, skipped = _draw_plots(run, out, cliff, drop, relative, smooth)
    else:
        skipped = dict.fromkeys(PLOTS, "plots were not asked for")
    peak_i = run.eval_accuracy.index(max(run.eval_accuracy)) if run.eval_accuracy else None
    text = _summary(run, (cliff, reason), written, skipped, (drop, relative, window), smooth)
    md = out / "report.md"
    md.write_text(text)
    return Report(
        run_dir=run.run_dir,
        out_dir=out,
        summary=text,
        cliff=cliff,
        cliff_reason=reason,
        peak_step=None if peak_i is None else run.eval_steps[peak_i],
        peak_accuracy=None if peak_i is None else run.eval_accuracy[peak_i],
        final_step=run.eval_steps[-1] if run.eval_steps else None,
        final_accuracy=run.eval_accuracy[-1] if run.eval_accuracy else None,
        roles=tuple(run.roles),
        files=(md, *written),
        skipped=skipped,
    )


# ---------------------------------------------------------------------- summary text


def _quarters(steps: Sequence[int]) -> tuple[list[int], list[int]]:
    """The first and the last quarter of the steps (at least one step each)."""
    q = max(1, math.ceil(len(steps) / 4))
    return list(steps[:q]), list(steps[-q:])


def _span(steps: Sequence[int]) -> str:
    return f"step {steps[0]}" if len(steps) == 1 else f"steps {steps[0]}-{steps[-1]}"


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _trend(first: float | None, last: float | None, digits: int = 3, pct: bool = False) -> str:
    if first is None or last is None:
        return "-"
    text = f"{first:.{digits}f} -> {last:.{digits}f}"
    if pct and first > 0:
        text += f" ({(last - first) / first:+.0%})"
    return text


def _negative_runs(values: Sequence[float]) -> tuple[int, int]:
    """Number of maximal runs of negative values, and the longest run's length."""
    runs, longest, current = 0, 0, 0
    for v in values:
        if v < 0:
            current += 1
            runs += current == 1
            longest = max(longest, current)
        else:
            current = 0
    return runs, longest


def _summary(
    run: RunData,
    verdict: tuple[Cliff | None, str],
    written: Sequence[Path],
    skipped: dict[str, str],
    rule: tuple[float, float, int],
    smooth: int,
) -> str:
    """The text of ``report.md``."""
    lines = [f"# Training report: {run.run_dir.name}", "", *_run_lines(run)]
    lines += _accuracy_lines(run, *verdict)
    train = run.train_steps
    if train:
        first, last = _quarters(train)
        lines += _role_lines(run, first, last)
        lines += _role_table(run, first, last)
    else:
        lines.append("- **Training:** no training step logged yet.")
    lines += ["", "## Plots", ""]
    lines += [f"![{PLOTS.get(p.name, p.stem)}]({p.name})" for p in written]
    if smooth > 1 and written:
        lines += ["", f"Per-step curves smoothed by a trailing mean over {smooth} logged steps."]
    if skipped:
        lines += ["", "Skipped:", ""]
        lines += [f"- `{name}`: {why}." for name, why in skipped.items()]
    drop, relative, window = rule
    lines += [
        "",
        "## The cliff rule",
        "",
        f"A terminal cliff: the peak is not the last evaluation, the final accuracy is at least "
        f"`max({drop:g}, {relative:g} x peak)` below the peak, and the last {window} "
        f"evaluation(s) all stay at or below that line, `peak - max({drop:g}, {relative:g} x "
        f"peak)` (no recovery at the end). Onset: the first evaluation after the peak from "
        f"which every later one stays at or below the line.",
        "",
    ]
    return "\n".join(lines)


def _run_lines(run: RunData) -> list[str]:
    """What was trained, how far."""
    c = run.config
    last_step = max(run.train_steps, default=int(run.summary.get("step", 0)))
    max_steps = c.get("max_steps")
    steps = f"{last_step} of {max_steps}" if max_steps else f"{last_step}"
    if not run.summary:
        steps += " (no summary.json: training unfinished or stopped)"
    lines = [
        f"- **Run:** `{run.run_dir}`; env `{c.get('env_id', '?')}`, policy "
        f"`{c.get('policy', '?')}`, model `{c.get('model_name_or_path', '?')}`, steps {steps}."
    ]
    if run.skipped_lines:
        lines.append(f"- **Note:** {run.skipped_lines} unreadable metrics.jsonl line(s) skipped.")
    return lines


def _accuracy_lines(run: RunData, cliff: Cliff | None, reason: str) -> list[str]:
    """Peak, final and the cliff verdict."""
    if not run.eval_steps:
        return [
            "- **Held-out accuracy:** none logged (no evaluation: `eval_steps` 0 and "
            "`eval_on_start` off), so no accuracy curve and no cliff verdict."
        ]
    steps, accs = run.eval_steps, run.eval_accuracy
    peak_i = accs.index(max(accs))
    lines = [
        f"- **Held-out accuracy:** peak {accs[peak_i]:.3f} at step {steps[peak_i]}, final "
        f"{accs[-1]:.3f} at step {steps[-1]} ({len(accs)} evaluations, {_span(steps)})."
    ]
    s = run.summary
    if "eval_peak_accuracy" in s and (
        abs(float(s["eval_peak_accuracy"]) - accs[peak_i]) > _EPS
        or abs(float(s.get("eval_final_accuracy", accs[-1])) - accs[-1]) > _EPS
    ):
        lines.append(
            f"- **Note:** summary.json says peak {float(s['eval_peak_accuracy']):.3f}, final "
            f"{float(s.get('eval_final_accuracy', math.nan)):.3f} (metrics.jsonl is newer)."
        )
    verdict = "**Terminal cliff: yes.**" if cliff else "**Terminal cliff: no**:"
    lines.append(f"- {verdict} {reason[0].upper() + reason[1:]}.")
    return lines


def _role_lines(run: RunData, first: list[int], last: list[int]) -> list[str]:
    """Gradient mass, negative projection shares, aggregator length, instance coherence."""
    roles = run.roles
    lines = []
    mass = {r: run.mean(f"role/{r}/grad_mass_share", last) for r in roles}
    known = {r: m for r, m in mass.items() if m is not None}
    if known:
        top = max(known, key=lambda r: known[r])
        others = ", ".join(f"`{r}` {m:.3f}" for r, m in known.items() if r != top)
        verb = "dominates" if known[top] > 0.5 else "leads"  # a majority, or the largest part
        lines.append(
            f"- **Gradient mass:** `{top}` {verb} over the last quarter ({_span(last)}): "
            f"mean share {known[top]:.3f}" + (f" (others: {others})." if others else ".")
        )
    else:
        lines.append("- **Gradient mass:** no per-role gradient diagnostics logged.")
    negatives, logged = [], False
    for r in roles:
        values = run.series(f"role/{r}/grad_proj_share", run.train_steps)[1]
        logged = logged or bool(values)
        n_neg = sum(v < 0 for v in values)
        if n_neg:
            episodes, longest = _negative_runs(values)
            negatives.append(
                f"`{r}` on {n_neg} of {len(values)} steps ({n_neg / len(values):.0%}; "
                f"{episodes} episode(s), longest {longest} step(s), min {min(values):.3f})"
            )
    if negatives:
        lines.append(
            "- **Negative projection share** (the role pulls against the net update, the "
            "signature of role capture): " + "; ".join(negatives) + "."
        )
    elif logged:
        lines.append(
            "- **Negative projection share:** never (no role pulled against the net update)."
        )
    for r in roles:
        key = f"role/{r}/completion_length"
        length = _trend(run.mean(key, first), run.mean(key, last), 1, pct=True)
        if r in AGGREGATING_ROLES and length != "-":
            lines.append(
                f"- **`{r}` output length** (the aggregator-length signature of role capture): "
                f"{length} tokens, first quarter ({_span(first)}) -> last quarter "
                f"({_span(last)})."
            )
    for r in roles:
        key = f"role/{r}/instance_coherence"
        coherence = _trend(run.mean(key, first), run.mean(key, last), 2)
        if coherence != "-":
            lines.append(
                f"- **`{r}` instance coherence** (its parallel agents' gradients; 1: "
                f"independent, K: aligned, the amplifier of the Isolated-Policy cliff): "
                f"{coherence}, first -> last quarter."
            )
    return lines


def _role_table(run: RunData, first: list[int], last: list[int]) -> list[str]:
    """The per-role Markdown table."""
    rows = [
        "",
        "## Per role",
        "",
        f"Shares: mean over the last quarter of training ({_span(last)}). Trends: mean over "
        f"the first quarter ({_span(first)}) -> mean over the last quarter.",
        "",
        "| role | grad mass share | grad proj share | steps with proj share < 0 "
        "| completion length (tokens) | reward | entropy |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in run.roles:
        p = f"role/{r}/"
        proj = run.series(p + "grad_proj_share", run.train_steps)[1]
        n_neg = sum(v < 0 for v in proj)
        cells = [
            r,
            _num(run.mean(p + "grad_mass_share", last)),
            _num(run.mean(p + "grad_proj_share", last)),
            f"{n_neg}/{len(proj)} ({n_neg / len(proj):.0%})" if proj else "-",
            _trend(run.mean(p + "completion_length", first),
                   run.mean(p + "completion_length", last), 1, pct=True),
            _trend(run.mean(p + "reward_mean", first), run.mean(p + "reward_mean", last)),
            _trend(run.mean(p + "entropy", first), run.mean(p + "entropy", last)),
        ]  # fmt: skip
        rows.append("| " + " | ".join(cells) + " |")
    return rows


# ---------------------------------------------------------------------- plots


def _smoothed(values: Sequence[float], k: int) -> list[float]:
    """Trailing moving average over ``k`` points (``k == 1``: the values)."""
    if k <= 1:
        return list(values)
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= k:
            total -= values[i - k]
        out.append(total / min(i + 1, k))
    return out


def _figure(rows: int, height: float) -> tuple[Any, list[Any]]:
    """A figure on the Agg canvas with ``rows`` panels sharing the step axis."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("training step")
    return fig, list(axes)


def _role_panel(
    ax: Any, run: RunData, roles: Sequence[str], metric: str, smooth: int, title: str
) -> bool:
    """Plot ``role/<r>/<metric>`` of every role on ``ax``; False when no role logged it."""
    drawn = False
    for i, r in enumerate(roles):
        steps, values = run.series(f"role/{r}/{metric}", run.train_steps)
        if values:
            ax.plot(steps, _smoothed(values, smooth), color=f"C{i % 10}", label=r,
                    marker="." if len(values) < 30 else None)  # fmt: skip
            drawn = True
    ax.set_title(title, fontsize=10)
    if drawn:
        ax.legend(fontsize=8, loc="best")
    else:
        ax.text(0.5, 0.5, f"no {metric} logged", ha="center", va="center",
                transform=ax.transAxes, color="gray")  # fmt: skip
    return drawn


def _draw_plots(
    run: RunData, out: Path, cliff: Cliff | None, drop: float, relative: float, smooth: int
) -> tuple[list[Path], dict[str, str]]:
    """Draw the plots whose data exist; returns the files written and the skipped ones."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return [], dict.fromkeys(PLOTS, "matplotlib is not installed (pip install matplotlib)")
    written: list[Path] = []
    skipped: dict[str, str] = {}
    roles = run.roles

    def save(fig: Any, name: str) -> None:
        path = out / name
        fig.savefig(path, dpi=110)
        written.append(path)

    # accuracy
    if run.eval_steps:
        fig, (ax,) = _figure(1, 4.0)
        steps, accs = run.eval_steps, run.eval_accuracy
        ax.plot(steps, accs, color="C0", marker="o", markersize=4, label="held-out accuracy")
        peak_i = accs.index(max(accs))
        ax.scatter([steps[peak_i]], [accs[peak_i]], marker="*", s=180, color="C2", zorder=3,
                   label=f"peak {accs[peak_i]:.3f} (step {steps[peak_i]})")  # fmt: skip
        ax.scatter([steps[-1]], [accs[-1]], marker="s", s=50, color="C3", zorder=3,
                   label=f"final {accs[-1]:.3f} (step {steps[-1]})")  # fmt: skip
        line = accs[peak_i] - max(drop, relative * accs[peak_i])
        if line >= 0:
            ax.axhline(line, color="gray", linestyle=":", linewidth=1,
                       label=f"cliff line {line:.3f}")  # fmt: skip
        if cliff is not None:
            ax.axvspan(cliff.onset_step, cliff.final_step, color="C3", alpha=0.12)
            ax.axvline(cliff.onset_step, color="C3", linestyle="--", linewidth=1,
                       label=f"cliff onset (step {cliff.onset_step})")  # fmt: skip
        ax.set_ylabel("accuracy")
        ax.set_ylim(bottom=min(-0.02, min(accs) - 0.02), top=max(0.1, max(accs) * 1.1 + 0.02))
        verdict = "terminal cliff" if cliff else "no terminal cliff"
        ax.set_title(f"Held-out accuracy: {verdict}", fontsize=10)
        ax.legend(fontsize=8, loc="best")
        save(fig, "accuracy.png")
    else:
        skipped["accuracy.png"] = "no eval/accuracy logged (the run had no held-out evaluation)"

    if not run.train_steps:
        for name in ("gradients.png", "lengths.png", "reward_entropy.png"):
            skipped[name] = "no training step logged"
        return written, skipped

    # gradient shares
    fig, (top, bottom) = _figure(2, 6.0)
    mass = _role_panel(top, run, roles, "grad_mass_share", smooth,
                       "gradient mass share ||g_r||^2 / sum_s ||g_s||^2")  # fmt: skip
    proj = _role_panel(bottom, run, roles, "grad_proj_share", smooth,
                       "projection share <g_r, g> / ||g||^2 (< 0: against the update)")  # fmt: skip
    bottom.axhline(0.0, color="black", linewidth=0.8)
    if mass or proj:
        save(fig, "gradients.png")
    else:
        skipped["gradients.png"] = "no role/<r>/grad_mass_share or grad_proj_share logged"

    # output lengths
    fig, (ax,) = _figure(1, 4.0)
    drawn = _role_panel(ax, run, roles, "completion_length", smooth,
                        "mean completion length (tokens) per call")  # fmt: skip
    for i, r in enumerate(roles):
        steps, values = run.series(f"eval/role/{r}/completion_length")
        if values:
            ax.plot(steps, values, color=f"C{i % 10}", linestyle="--", marker="x",
                    label=f"{r} (evaluation)")  # fmt: skip
            drawn = True
    if drawn:
        ax.set_ylabel("tokens")
        ax.legend(fontsize=8, loc="best")
        save(fig, "lengths.png")
    else:
        skipped["lengths.png"] = "no role/<r>/completion_length logged"

    # reward and entropy
    fig, (top, bottom) = _figure(2, 6.0)
    reward = _role_panel(top, run, roles, "reward_mean", smooth, "mean reward per call")
    entropy = _role_panel(bottom, run, roles, "entropy", smooth, "mean token entropy (nats)")
    if reward or entropy:
        save(fig, "reward_entropy.png")
    else:
        skipped["reward_entropy.png"] = "no role/<r>/reward_mean or entropy logged"
    return written, skipped
