"""``rolegym study``: the shipped studies run end to end (--quick), and verdicts are computed."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from rolegym.study import STUDIES_DIR, StudyConfig, judge_hypothesis, load_study


def _runs(values: dict[tuple[int, int], float]) -> list[dict[str, Any]]:
    """Runs with one measure ``m`` at (axis value k, seed)."""
    return [{"cell": {"k": k}, "seed": s, "m": v, "n": -v} for (k, s), v in values.items()]


def test_increases_with_a_clear_slope_is_supported() -> None:
    runs = _runs({(k, s): 2.0 * k + 0.1 * s for k in (1, 2, 4, 8) for s in (0, 1, 2)})
    v = judge_hypothesis(
        {"id": "H", "statement": "s", "test": "increases", "measure": "m", "axis": "k"}, runs
    )
    assert v["verdict"] == "supported"
    assert v["estimate"] == pytest.approx(2.0) and v["ci"][0] > 0 and v["n_seeds"] == 3


def test_flat_or_falling_is_not_supported_and_one_seed_is_not_testable() -> None:
    noisy = {(k, s): (-1.0) ** s * k for k in (1, 2, 4) for s in (0, 1, 2, 3)}
    v = judge_hypothesis(
        {"id": "H", "statement": "s", "test": "increases", "measure": "m", "axis": "k"},
        _runs(noisy),
    )
    assert v["verdict"] == "not supported" and v["ci"][0] <= 0 <= v["ci"][1]
    one_seed = _runs({(k, 0): float(k) for k in (1, 2)})
    v = judge_hypothesis(
        {"id": "H", "statement": "s", "test": "increases", "measure": "m", "axis": "k"}, one_seed
    )
    assert v["verdict"] == "not testable at this scale" and "two seeds" in v["why"]


def test_greater_and_correlates() -> None:
    runs = _runs({(k, s): float(k + s) for k in (1, 2) for s in (0, 1, 2)})
    v = judge_hypothesis(
        {
            "id": "G",
            "statement": "s",
            "test": "greater",
            "measure": "m",
            "a": {"k": 2},
            "b": {"k": 1},
        },
        runs,
    )
    assert v["verdict"] == "supported" and v["estimate"] == pytest.approx(1.0)
    v = judge_hypothesis(
        {"id": "C", "statement": "s", "test": "correlates", "x": "m", "y": "n", "sign": -1}, runs
    )
    assert v["verdict"] == "supported" and v["estimate"] == pytest.approx(-1.0)
    v = judge_hypothesis(
        {
            "id": "G",
            "statement": "s",
            "test": "greater",
            "measure": "m",
            "a": {"k": 3},
            "b": {"k": 1},
        },
        runs,
    )
    assert v["verdict"] == "not testable at this scale"


def test_a_constant_measure_is_not_testable() -> None:
    """Every accuracy 0 (a micro model): no comparison can tell anything, whatever the CI."""
    runs = _runs({(k, s): 0.0 for k in (1, 2) for s in (0, 1, 2)})
    hypothesis = {"id": "G", "statement": "s", "test": "greater", "measure": "m"}
    v = judge_hypothesis({**hypothesis, "a": {"k": 2}, "b": {"k": 1}}, runs)
    assert v["verdict"] == "not testable at this scale" and "does not vary" in v["why"]


def test_bad_study_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="state it"):
        StudyConfig(name="x", hypotheses=[{"id": "H", "test": "greater", "measure": "peak"}])
    with pytest.raises(ValueError, match="measures must be among"):
        bad = {"id": "H", "statement": "s", "test": "greater", "measure": "nope"}
        StudyConfig(name="x", hypotheses=[bad])
    with pytest.raises(ValueError, match="test must be one of"):
        StudyConfig(name="x", hypotheses=[{"id": "H", "statement": "s", "test": "bigger"}])
    with pytest.raises(FileNotFoundError, match="shipped studies"):
        load_study("no-such-study")
    assert {p.stem for p in STUDIES_DIR.glob("*.yaml")} >= {"amplification", "capture"}


@pytest.mark.parametrize("name", ["amplification", "capture"])
def test_shipped_study_runs_quick(name: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from rolegym.cli import app

    result = CliRunner().invoke(app, ["study", name, "--quick", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "study.json").read_text())
    study = load_study(name)
    assert [v["id"] for v in saved["hypotheses"]] == [h["id"] for h in study.hypotheses]
    quick = study.quickened()
    cells = list(itertools.product(*quick.grid.values()))
    assert len(saved["runs"]) == len(quick.seeds) * len(cells)
    verdicts = {v["verdict"] for v in saved["hypotheses"]}
    assert verdicts <= {"supported", "not supported", "not testable at this scale"}
    assert all(run["wall_s"] > 0 for run in saved["runs"])
    assert saved["runs_wall_s"] == pytest.approx(sum(run["wall_s"] for run in saved["runs"]))
    assert (tmp_path / "accuracy.png").is_file()
    report = (tmp_path / "study.md").read_text()
    assert "## Hypotheses (stated before the runs)" in report
    for h in study.hypotheses:
        assert h["statement"] in report
    # a second call finds every run finished and only rewrites the report
    again = CliRunner().invoke(app, ["study", name, "--quick", "--out", str(tmp_path)])
    assert again.exit_code == 0 and "running" not in again.output


def test_positive_and_trend() -> None:
    from rolegym.study import _trend

    assert _trend([1.0, 1.0, 1.0, 1.0, 3.0, 3.0, 3.0, 5.0]) == pytest.approx(3.0)
    assert _trend([2.0]) == 0.0
    rising = _runs({(1, s): 0.5 + 0.1 * s for s in (0, 1, 2)})
    v = judge_hypothesis({"id": "P", "statement": "s", "test": "positive", "measure": "m"}, rising)
    assert v["verdict"] == "supported" and v["estimate"] == pytest.approx(0.6)
    falling = _runs({(1, s): -0.5 + 0.1 * s for s in (0, 1, 2)})
    v = judge_hypothesis({"id": "P", "statement": "s", "test": "positive", "measure": "m"}, falling)
    assert v["verdict"] == "not supported" and v["ci"][1] < 0
    flat = _runs({(1, s): 0.0 for s in (0, 1, 2)})
    v = judge_hypothesis({"id": "P", "statement": "s", "test": "positive", "measure": "m"}, flat)
    assert v["verdict"] == "not testable at this scale" and "0 in every run" in v["why"]


@pytest.mark.parametrize("path", sorted(STUDIES_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_cell_of_every_shipped_study_is_a_valid_config(path: Path, tmp_path: Path) -> None:
    """The GPU studies cannot run here; their every cell must still be a valid trainer config."""
    from rolegym.baselines.grpo.config import load_config
    from rolegym.registration import make
    from rolegym.study import _cells, _options

    study = load_study(path)
    assert study.name == path.stem and study.hypotheses
    for cell in _cells(study):
        options = _options(study, cell, 0, tmp_path)
        config = load_config(study.base.get("preset"), **options)
        make(config.env_id, **config.env_kwargs)  # the env takes the cell's arguments
        if path.stem.endswith("-gpu"):  # the paper's settings, as the issue asks
            assert config.mini_batch_size == 512 and config.use_peft
            assert config.max_completion_length == 5120 and config.engine == "vllm"


def test_a_bad_warm_start_is_a_clear_error(tmp_path: Path) -> None:
    from rolegym.study import run_study

    with pytest.raises(ValueError, match="warm_start"):
        StudyConfig(name="x", warm_start={"kind": "sft"})
    off_arith = StudyConfig(
        name="x", base={"env_id": "voting-math-v0"}, warm_start={"kind": "demo", "quick": True}
    )
    with pytest.raises(ValueError, match="arith"):
        run_study(off_arith, tmp_path)
