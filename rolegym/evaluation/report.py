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

A plot whose data are missing (no evaluation, no gradient diagnostics...) is skipped, and a
file of that name left by an earlier report removed; so are all of them when matplotlib is not
installed (the one policy of :mod:`rolegym.evaluation.plots`, which the leaderboard shares).
Nothing is smoothed unless ``smooth`` asks for a trailing moving average of the per-step curves
(the accuracy curve and the cliff verdict always use the raw evaluations).

The parts, one module each: :mod:`~rolegym.evaluation.cliff` (the terminal-cliff rule),
:mod:`~rolegym.evaluation.run_data` (reading the run), :mod:`~rolegym.evaluation.report_text`
(``report.md``) and :mod:`~rolegym.evaluation.report_plots` (the plots, drawn off pyplot on Agg
canvases, so reports can be written from threads and headless machines).

Example::

    from rolegym.evaluation.report import write_report

    report = write_report("runs/voting-isolated")
    print(report.summary)          # also in runs/voting-isolated/report/report.md
    if report.cliff is not None:
        print("cliff from step", report.cliff.onset_step)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rolegym.evaluation.cliff import Cliff, cliff_verdict, detect_cliff
from rolegym.evaluation.report_plots import PLOTS, draw_report_plots
from rolegym.evaluation.report_text import AGGREGATING_ROLES, summary_text
from rolegym.evaluation.run_data import RunData, load_run

__all__ = [
    "AGGREGATING_ROLES",
    "Cliff",
    "Report",
    "RunData",
    "detect_cliff",
    "load_run",
    "write_report",
]


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
    cliff, reason = cliff_verdict(
        run.eval_steps, run.eval_accuracy, drop=drop, relative=relative, window=window
    )
    written: list[Path] = []
    skipped: dict[str, str] = {}
    if plots:
        written, skipped = draw_report_plots(run, out, cliff, drop, relative, smooth)
    else:
        skipped = dict.fromkeys(PLOTS, "plots were not asked for")
    peak_i = run.eval_accuracy.index(max(run.eval_accuracy)) if run.eval_accuracy else None
    text = summary_text(run, (cliff, reason), written, skipped, (drop, relative, window), smooth)
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
