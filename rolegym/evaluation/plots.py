"""Figures of the leaderboard and the run reports: one way to make, save and skip them.

- :func:`new_figure` is the one figure helper: a ``matplotlib.figure.Figure`` on its own Agg
  canvas, so nothing touches pyplot or any other global matplotlib state (plots can be drawn
  from threads and on headless machines);
- :func:`draw_plots` draws named plots and saves each as a PNG with the same settings, or
  records why it was skipped and removes a stale file of that name;
- the one policy for a missing matplotlib (an optional dependency, in the ``train`` extra):
  every plot is skipped with the reason :data:`MATPLOTLIB_MISSING`, which the documents show;
  nothing raises, so the tables and summaries are still written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["MATPLOTLIB_MISSING", "draw_plots", "matplotlib_available", "new_figure"]

MATPLOTLIB_MISSING = "matplotlib is not installed (pip install matplotlib)"
"""Why every plot is skipped when matplotlib cannot be imported."""

_DPI = 110  # of the PNGs; figures are laid out at 100 dpi


def matplotlib_available() -> bool:
    """Whether ``import matplotlib`` succeeds."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def new_figure(width: float, height: float) -> Figure:
    """A figure of ``width`` x ``height`` inches on an Agg canvas, with constrained layout.

    Args:
        width: Width in inches.
        height: Height in inches.

    Returns:
        The empty figure; add axes with ``add_subplot`` or ``subplots``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)  # Agg, without pyplot's global backend selection
    return fig


def draw_plots(
    drawers: Mapping[str, Callable[[], Figure | str]],
    path_of: Callable[[str], Path],
) -> tuple[dict[str, Path], dict[str, str]]:
    """Draw each plot and save it as a PNG, or record why it was skipped.

    Args:
        drawers: Plot name -> a function that draws it and returns the figure, or returns
            why there is nothing to draw. They are called in order.
        path_of: Plot name -> its PNG file (parent folders are created as needed).

    Returns:
        Plot name -> the file written, and plot name -> why it was skipped. The file of a
        skipped plot is removed: a plot of an earlier run would mislead. Without matplotlib
        no drawer is called and every plot is skipped with :data:`MATPLOTLIB_MISSING`.
    """
    written: dict[str, Path] = {}
    skipped: dict[str, str] = {}
    available = matplotlib_available()
    for name, draw in drawers.items():
        path = path_of(name)
        fig = draw() if available else MATPLOTLIB_MISSING
        if isinstance(fig, str):
            skipped[name] = fig
            path.unlink(missing_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", dpi=_DPI, bbox_inches="tight", metadata={"Software": None})
        written[name] = path
    return written, skipped
