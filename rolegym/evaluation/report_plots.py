"""The run report's plots, drawn with :func:`rolegym.evaluation.plots.new_figure`.

- ``accuracy.png``: ``eval/accuracy`` against the step, peak and final marked, the cliff line
  dotted and, when a cliff is detected, its onset marked and the cliff shaded;
- ``gradients.png``: per-role ``grad_mass_share`` and ``grad_proj_share`` (two panels);
- ``lengths.png``: per-role ``completion_length`` of the training rollouts (and of the
  evaluations, where logged);
- ``reward_entropy.png``: per-role ``reward_mean`` and ``entropy`` (two panels).

A plot whose data are missing is skipped, with the reason. ``smooth`` > 1 draws a trailing
moving average of the per-step curves; the accuracy curve is always raw.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rolegym.evaluation.cliff import Cliff, cliff_line
from rolegym.evaluation.plots import draw_plots, new_figure
from rolegym.evaluation.run_data import RunData

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["PLOTS", "draw_report_plots"]

PLOTS = {
    "accuracy.png": "Held-out accuracy",
    "gradients.png": "Per-role gradient mass and projection shares",
    "lengths.png": "Per-role output length",
    "reward_entropy.png": "Per-role reward and entropy",
}
"""Plot file name -> its title, in the order drawn."""

_NO_TRAINING = "no training step logged"


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


def _figure(rows: int, height: float) -> tuple[Figure, list[Any]]:
    """A figure with ``rows`` panels sharing the step axis."""
    fig = new_figure(8, height)
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
            ax.plot(
                steps,
                _smoothed(values, smooth),
                color=f"C{i % 10}",
                label=r,
                marker="." if len(values) < 30 else None,
            )
            drawn = True
    ax.set_title(title, fontsize=10)
    if drawn:
        ax.legend(fontsize=8, loc="best")
    else:
        ax.text(
            0.5,
            0.5,
            f"no {metric} logged",
            ha="center",
            va="center",
            transform=ax.transAxes,
            color="gray",
        )
    return drawn


def _plot_accuracy(run: RunData, cliff: Cliff | None, drop: float, relative: float) -> Figure | str:
    if not run.eval_steps:
        return "no eval/accuracy logged (the run had no held-out evaluation)"
    fig, (ax,) = _figure(1, 4.0)
    steps, accs = run.eval_steps, run.eval_accuracy
    ax.plot(steps, accs, color="C0", marker="o", markersize=4, label="held-out accuracy")
    peak_i = accs.index(max(accs))
    ax.scatter(
        [steps[peak_i]],
        [accs[peak_i]],
        marker="*",
        s=180,
        color="C2",
        zorder=3,
        label=f"peak {accs[peak_i]:.3f} (step {steps[peak_i]})",
    )
    ax.scatter(
        [steps[-1]],
        [accs[-1]],
        marker="s",
        s=50,
        color="C3",
        zorder=3,
        label=f"final {accs[-1]:.3f} (step {steps[-1]})",
    )
    line = cliff_line(accs[peak_i], drop=drop, relative=relative)
    if line >= 0:
        ax.axhline(line, color="gray", linestyle=":", linewidth=1, label=f"cliff line {line:.3f}")
    if cliff is not None:
        ax.axvspan(cliff.onset_step, cliff.final_step, color="C3", alpha=0.12)
        ax.axvline(
            cliff.onset_step,
            color="C3",
            linestyle="--",
            linewidth=1,
            label=f"cliff onset (step {cliff.onset_step})",
        )
    ax.set_ylabel("accuracy")
    ax.set_ylim(bottom=min(-0.02, min(accs) - 0.02), top=max(0.1, max(accs) * 1.1 + 0.02))
    verdict = "terminal cliff" if cliff else "no terminal cliff"
    ax.set_title(f"Held-out accuracy: {verdict}", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    return fig


def _role_panels(
    run: RunData, smooth: int, panels: Sequence[tuple[str, str]], missing: str
) -> Figure | str:
    """One panel per (metric, title), stacked; ``missing`` when no role logged any metric."""
    if not run.train_steps:
        return _NO_TRAINING
    fig, axes = _figure(len(panels), 3.0 * len(panels))
    drawn = [
        _role_panel(ax, run, run.roles, metric, smooth, title)
        for ax, (metric, title) in zip(axes, panels, strict=True)
    ]
    return fig if any(drawn) else missing


def _plot_gradients(run: RunData, smooth: int) -> Figure | str:
    fig = _role_panels(
        run,
        smooth,
        [
            ("grad_mass_share", "gradient mass share ||g_r||^2 / sum_s ||g_s||^2"),
            ("grad_proj_share", "projection share <g_r, g> / ||g||^2 (< 0: against the update)"),
        ],
        "no role/<r>/grad_mass_share or grad_proj_share logged",
    )
    if not isinstance(fig, str):
        fig.axes[1].axhline(0.0, color="black", linewidth=0.8)  # the projection share's zero
    return fig


def _plot_lengths(run: RunData, smooth: int) -> Figure | str:
    if not run.train_steps:
        return _NO_TRAINING
    fig, (ax,) = _figure(1, 4.0)
    drawn = _role_panel(
        ax, run, run.roles, "completion_length", smooth, "mean completion length (tokens) per call"
    )
    for i, r in enumerate(run.roles):
        steps, values = run.series(f"eval/role/{r}/completion_length")
        if values:
            ax.plot(
                steps,
                values,
                color=f"C{i % 10}",
                linestyle="--",
                marker="x",
                label=f"{r} (evaluation)",
            )
            drawn = True
    if not drawn:
        return "no role/<r>/completion_length logged"
    ax.set_ylabel("tokens")
    ax.legend(fontsize=8, loc="best")
    return fig


def _plot_reward_entropy(run: RunData, smooth: int) -> Figure | str:
    return _role_panels(
        run,
        smooth,
        [("reward_mean", "mean reward per call"), ("entropy", "mean token entropy (nats)")],
        "no role/<r>/reward_mean or entropy logged",
    )


def draw_report_plots(
    run: RunData, out: Path, cliff: Cliff | None, drop: float, relative: float, smooth: int
) -> tuple[list[Path], dict[str, str]]:
    """Draw the plots whose data exist into ``out`` with :func:`~.plots.draw_plots`.

    Args:
        run: The run.
        out: The report's folder.
        cliff: The cliff to mark on the accuracy plot, if any.
        drop: The cliff rule's ``drop``, for the cliff line.
        relative: The cliff rule's ``relative``, for the cliff line.
        smooth: Trailing moving average of the per-step curves, in logged steps (1: raw).

    Returns:
        The files written, in :data:`PLOTS` order, and plot file name -> why it was skipped.
    """
    written, skipped = draw_plots(
        {
            "accuracy.png": lambda: _plot_accuracy(run, cliff, drop, relative),
            "gradients.png": lambda: _plot_gradients(run, smooth),
            "lengths.png": lambda: _plot_lengths(run, smooth),
            "reward_entropy.png": lambda: _plot_reward_entropy(run, smooth),
        },
        lambda name: out / name,
    )
    return list(written.values()), skipped
