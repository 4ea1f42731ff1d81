"""The one figure helper and the one missing-matplotlib policy of the leaderboard and reports."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from rolegym.evaluation.plots import MATPLOTLIB_MISSING, draw_plots, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _line_figure() -> Figure:
    fig = new_figure(4.0, 3.0)
    fig.add_subplot().plot([0, 1, 2], [0.2, 0.6, 0.3])
    return fig


def test_new_figure_is_an_agg_figure_off_pyplot() -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    had_pyplot = "matplotlib.pyplot" in sys.modules
    fig = new_figure(5.0, 2.5)
    assert isinstance(fig.canvas, FigureCanvasAgg)
    assert tuple(fig.get_size_inches()) == (5.0, 2.5)
    assert fig.dpi == 100
    assert isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    assert not fig.axes
    if not had_pyplot:
        assert "matplotlib.pyplot" not in sys.modules


def test_draw_plots_saves_pngs_and_records_skips(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    (tmp_path / "empty.png").write_bytes(b"a stale plot of an earlier run")
    written, skipped = draw_plots(
        {"line": _line_figure, "empty": lambda: "nothing to show"},
        lambda name: tmp_path / "plots" / f"{name}.png",
    )
    assert written == {"line": tmp_path / "plots" / "line.png"}
    assert skipped == {"empty": "nothing to show"}
    data = written["line"].read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 2000
    assert b"Software" not in data  # no matplotlib version: the bytes depend on the drawing only
    assert not (tmp_path / "plots" / "empty.png").exists()
    # The same drawing gives the same bytes.
    again, _ = draw_plots({"line": _line_figure}, lambda name: tmp_path / f"{name}.png")
    assert again["line"].read_bytes() == data


def test_skipped_plot_removes_the_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "gone.png"
    stale.write_bytes(PNG_MAGIC)
    written, skipped = draw_plots(
        {"gone": lambda: "no data"}, lambda name: tmp_path / f"{name}.png"
    )
    assert (written, skipped) == ({}, {"gone": "no data"})
    assert not stale.exists()


def test_without_matplotlib_every_plot_is_skipped_with_one_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    stale = tmp_path / "a.png"
    stale.write_bytes(PNG_MAGIC)

    def never() -> str:
        raise AssertionError("a drawer ran without matplotlib")

    written, skipped = draw_plots({"a": never, "b": never}, lambda name: tmp_path / f"{name}.png")
    assert written == {}
    assert skipped == {"a": MATPLOTLIB_MISSING, "b": MATPLOTLIB_MISSING}
    assert "pip install matplotlib" in MATPLOTLIB_MISSING
    assert not stale.exists()
