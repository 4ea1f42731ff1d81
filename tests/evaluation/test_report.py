"""Run reports: the terminal-cliff rule, the summary and the plots (synthetic and real runs)."""

from __future__ import annotations

import json
import math
import struct
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rolegym.evaluation.leaderboard import build_leaderboard
from rolegym.evaluation.report import Cliff, detect_cliff, load_run, write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PLOT_NAMES = ("accuracy.png", "gradients.png", "lengths.png", "reward_entropy.png")


def _png_size(path: Path) -> tuple[int, int]:
    """Width and height of a valid PNG (asserts the signature and the IHDR chunk)."""
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _cliff(accs: list[float], **kwargs: Any) -> Cliff | None:
    return detect_cliff([10 * i for i in range(len(accs))], accs, **kwargs)


# ---------------------------------------------------------------------- the rule


def test_clear_terminal_cliff() -> None:
    cliff = _cliff([0.2, 0.5, 0.6, 0.3, 0.25, 0.2])
    assert cliff == Cliff(
        peak_step=20,
        peak=0.6,
        final=0.2,
        drop=pytest.approx(0.4),
        onset_step=30,
        threshold=pytest.approx(0.15),
        final_step=50,
    )


def test_onset_is_where_the_curve_stays_below_for_good() -> None:
    # Dips below the line (0.45) at step 20, comes back above it at 30, then collapses at 40.
    cliff = _cliff([0.2, 0.6, 0.3, 0.55, 0.3, 0.2])
    assert cliff is not None
    assert (cliff.peak_step, cliff.onset_step) == (10, 40)


def test_a_dip_that_recovers_is_no_cliff() -> None:
    assert _cliff([0.2, 0.6, 0.2, 0.1, 0.55]) is None  # final 0.05 below the peak
    assert _cliff([0.2, 0.6, 0.2, 0.1, 0.6, 0.6]) is None  # back at the peak


def test_a_monotone_rise_is_no_cliff() -> None:
    assert _cliff([0.1, 0.2, 0.3, 0.5, 0.7]) is None
    assert _cliff([0.1, 0.5, 0.5, 0.5]) is None  # plateau after the peak


def test_a_small_drop_under_the_threshold_is_no_cliff() -> None:
    accs = [0.3, 0.5, 0.45, 0.42]  # drop 0.08 < max(0.10, 0.125)
    assert _cliff(accs) is None
    cliff = _cliff(accs, drop=0.05, relative=0.0)
    assert cliff is not None and cliff.onset_step == 20


def test_a_drop_at_the_last_point_only_needs_window_1() -> None:
    accs = [0.2, 0.6, 0.2, 0.5, 0.3]  # below the line (0.45) at the last evaluation only
    assert _cliff(accs, window=2) is None
    cliff = _cliff(accs, window=1)
    assert cliff is not None and cliff.onset_step == 40 and cliff.final == 0.3
    # One evaluation after the peak cannot satisfy window=2 either.
    assert _cliff([0.2, 0.6, 0.1], window=2) is None
    assert _cliff([0.2, 0.6, 0.1], window=1) is not None


def test_relative_threshold_matters_for_high_peaks() -> None:
    high = [0.5, 0.9, 0.72, 0.72]  # drop 0.18 >= 0.10, but < 0.25 x 0.9 = 0.225
    assert _cliff(high) is None
    assert _cliff(high, relative=0.1) is not None
    low = [0.1, 0.3, 0.18, 0.18]  # drop 0.12 >= max(0.10, 0.075)
    cliff = _cliff(low)
    assert cliff is not None and cliff.threshold == pytest.approx(0.1)


def test_a_drop_of_exactly_the_threshold_counts() -> None:
    # 0.5 - 0.4 is 0.09999999999999998 in floating point: still a ten-point drop.
    assert _cliff([0.0, 0.5, 0.4, 0.4], relative=0.0) is not None
    assert _cliff([0.0, 0.5, 0.41, 0.41], relative=0.0) is None


def test_ties_take_the_earliest_peak_as_the_trainer_does() -> None:
    cliff = _cliff([0.6, 0.3, 0.6, 0.2, 0.2])
    assert cliff is not None and (cliff.peak_step, cliff.onset_step) == (0, 30)


def test_a_peak_below_the_absolute_drop_never_cliffs() -> None:
    assert _cliff([0.0, 0.08, 0.0, 0.0]) is None


def test_degenerate_and_invalid_inputs() -> None:
    assert detect_cliff([], []) is None
    assert detect_cliff([5], [0.5]) is None
    with pytest.raises(ValueError, match="steps"):
        detect_cliff([0, 1], [0.5])
    with pytest.raises(ValueError, match="increasing"):
        detect_cliff([0, 2, 2], [0.5, 0.1, 0.1])
    with pytest.raises(ValueError, match="window"):
        detect_cliff([0, 1, 2], [0.5, 0.1, 0.1], window=0)
    with pytest.raises(ValueError, match="finite"):
        detect_cliff([0, 1, 2], [0.5, math.nan, 0.1])
    with pytest.raises(ValueError, match="non-negative"):
        detect_cliff([0, 1, 2], [0.5, 0.1, 0.1], drop=-0.1)


@settings(max_examples=300, deadline=None)
@given(
    accs=st.lists(st.integers(0, 20).map(lambda k: k / 20), min_size=2, max_size=12),
    window=st.integers(1, 4),
    drop=st.sampled_from([0.0, 0.05, 0.1, 0.2]),
    relative=st.sampled_from([0.0, 0.25, 0.5]),
)
def test_the_rule_against_its_statement(
    accs: list[float], window: int, drop: float, relative: float
) -> None:
    cliff = _cliff(accs, window=window, drop=drop, relative=relative)
    peak = max(accs)
    peak_i = accs.index(peak)
    line = peak - max(drop, relative * peak)
    below = [a <= line + 1e-9 for a in accs]
    expected = (
        peak_i < len(accs) - 1
        and peak - accs[-1] >= max(drop, relative * peak) - 1e-9
        and len(accs) - peak_i - 1 >= window
        and all(below[-window:])
    )
    assert (cliff is not None) == expected
    if cliff is not None:
        onset_i = cliff.onset_step // 10
        assert peak_i < onset_i <= len(accs) - window
        assert all(below[onset_i:])  # stays below from the onset on...
        assert onset_i == peak_i + 1 or not below[onset_i - 1]  # ...and not from earlier
        assert (cliff.peak, cliff.final, cliff.peak_step) == (peak, accs[-1], 10 * peak_i)


# ---------------------------------------------------------------------- synthetic run


def _synthetic_run(run: Path, *, evaluations: bool = True) -> dict[str, Any]:
    """A run directory as the trainer writes it: 12 steps, a cliff from step 8 on."""
    run.mkdir(parents=True)
    eval_acc = {0: 0.2, 2: 0.4, 4: 0.6, 6: 0.55, 8: 0.3, 10: 0.25, 12: 0.2}
    negative = {9: -0.05, 10: -0.2, 12: -0.1}  # generator's projection share
    lines: list[dict[str, Any]] = [{"step": 0, "eval/accuracy": eval_acc[0]}]
    for s in range(1, 13):
        agg_mass = 0.2 + 0.05 * s
        gen_proj = negative.get(s, 0.4)
        line = {
            "step": s, "loss": 0.1, "reward": 0.5, "accuracy": 0.5,
            "role/aggregator/grad_mass_share": agg_mass,
            "role/generator/grad_mass_share": 1 - agg_mass,
            "role/aggregator/grad_proj_share": 1 - gen_proj,
            "role/generator/grad_proj_share": gen_proj,
            "role/generator/instance_coherence": 1.0 + 0.1 * s,
            "role/aggregator/completion_length": 100.0 - 5 * s,
            "role/generator/completion_length": 200.0,
            "role/aggregator/reward_mean": 0.1 * s,
            "role/generator/reward_mean": 0.5,
            "role/aggregator/entropy": 2.0,
            "role/generator/entropy": 1.0,
            "pair/generator_aggregator/grad_cos": 0.1,
        }  # fmt: skip
        if evaluations and s in eval_acc:
            line["eval/accuracy"] = eval_acc[s]
        lines.append(line)
    if not evaluations:
        lines = lines[1:]
    (run / "metrics.jsonl").write_text("".join(json.dumps(x, sort_keys=True) + "\n" for x in lines))
    config = {
        "env_id": "voting-math-v0",
        "policy": "isolated",
        "max_steps": 12,
        "model_name_or_path": "Qwen/Qwen3-1.7B",
    }
    (run / "config.json").write_text(json.dumps(config))
    history = [{"step": k, "accuracy": v} for k, v in eval_acc.items()] if evaluations else []
    summary: dict[str, Any] = {"step": 12}
    if evaluations:
        summary |= {
            "eval_peak_accuracy": 0.6,
            "eval_peak_step": 4,
            "eval_final_accuracy": 0.2,
            "eval_history": history,
        }
    (run / "summary.json").write_text(json.dumps(summary))
    return summary


def test_report_of_a_run_with_a_cliff(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    run = tmp_path / "voting-isolated"
    _synthetic_run(run)
    report = write_report(run)
    assert report.out_dir == run / "report"
    assert report.cliff is not None
    assert (report.cliff.peak_step, report.cliff.onset_step, report.cliff.final_step) == (4, 8, 12)
    assert (report.peak_step, report.peak_accuracy) == (4, 0.6)
    assert (report.final_step, report.final_accuracy) == (12, 0.2)
    assert report.roles == ("aggregator", "generator")
    assert [p.name for p in report.files] == ["report.md", *PLOT_NAMES]
    assert report.skipped == {}
    for path in report.files[1:]:
        width, height = _png_size(path)
        assert width > 300 and height > 200
    text = (run / "report" / "report.md").read_text()
    assert text == report.summary
    for expected in [
        "env `voting-math-v0`, policy `isolated`, model `Qwen/Qwen3-1.7B`, steps 12 of 12",
        "peak 0.600 at step 4, final 0.200 at step 12 (7 evaluations, steps 0-12)",
        "**Terminal cliff: yes.**",
        "from step 8 on",
        "threshold 0.150",
        # last quarter = steps 10-12: aggregator mass 0.2 + 0.05 x 11 on average
        "`aggregator` dominates over the last quarter (steps 10-12): mean share 0.750",
        "`generator` 0.250",
        "`generator` on 3 of 12 steps (25%; 2 episode(s), longest 2 step(s), min -0.200)",
        "`aggregator` output length** (the aggregator-length signature of role capture): "
        "90.0 -> 45.0 (-50%) tokens",
        "`generator` instance coherence",
        "1.20 -> 2.10",
        "| aggregator | 0.750 | 0.967 | 0/12 (0%) | 90.0 -> 45.0 (-50%) | 0.200 -> 1.100 "
        "| 2.000 -> 2.000 |",
        "| generator | 0.250 | 0.033 | 3/12 (25%) | 200.0 -> 200.0 (+0%) |",
        "![Held-out accuracy](accuracy.png)",
        "`max(0.1, 0.25 x peak)`",
    ]:
        assert expected in text, expected
    assert "Skipped" not in text


def test_cliff_parameters_reach_the_verdict(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _synthetic_run(run)
    # A 0.5-point drop is asked for: 0.6 -> 0.2 is not enough.
    report = write_report(run, tmp_path / "out", drop=0.5, plots=False)
    assert report.cliff is None
    assert "**Terminal cliff: no**" in report.summary
    assert "less than the threshold 0.500" in report.summary
    assert report.files == (tmp_path / "out" / "report.md",)
    assert set(report.skipped) == set(PLOT_NAMES)
    assert not (run / "report").exists()


def test_a_recovery_at_the_end_is_explained(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _synthetic_run(run)
    report = write_report(run, plots=False, window=4)  # only 3 evaluations stay below
    assert report.cliff is None
    assert "only the last 3 evaluation(s) stay at or below the cliff line 0.450" in report.summary
    assert "step 6 is at 0.550" in report.summary


def test_smoothing_changes_the_curves_not_the_numbers(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    run = tmp_path / "run"
    _synthetic_run(run)
    raw = write_report(run, tmp_path / "raw")
    smooth = write_report(run, tmp_path / "smooth", smooth=4)
    assert raw.summary.split("## Plots")[0] == smooth.summary.split("## Plots")[0]
    assert "trailing mean over 4 logged steps" in smooth.summary
    raw_png = (tmp_path / "raw" / "gradients.png").read_bytes()
    assert raw_png != (tmp_path / "smooth" / "gradients.png").read_bytes()
    # The accuracy curve is never smoothed.
    assert (tmp_path / "raw" / "accuracy.png").read_bytes() == (
        tmp_path / "smooth" / "accuracy.png"
    ).read_bytes()
    with pytest.raises(ValueError, match="smooth"):
        write_report(run, smooth=0)


def test_missing_data_skips_plots_and_says_so(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    run = tmp_path / "run"
    _synthetic_run(run, evaluations=False)
    with (run / "metrics.jsonl").open("a") as f:
        f.write('{"step": 13, "loss": 0.')  # a run killed mid-write
    report = write_report(run)
    assert report.cliff is None and report.peak_accuracy is None
    assert "accuracy.png" in report.skipped
    assert not (run / "report" / "accuracy.png").exists()
    assert [p.name for p in report.files] == ["report.md", *PLOT_NAMES[1:]]
    assert "no accuracy curve and no cliff verdict" in report.summary
    assert "`accuracy.png`: no eval/accuracy logged" in report.summary
    assert "1 unreadable metrics.jsonl line(s) skipped" in report.summary
    assert load_run(run).train_steps == list(range(1, 13))


def test_summary_json_history_is_the_fallback(tmp_path: Path) -> None:
    run = tmp_path / "run"
    summary = _synthetic_run(run)
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    stripped = [{k: v for k, v in x.items() if k != "eval/accuracy"} for x in lines]
    (run / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in stripped))
    data = load_run(run)
    assert data.eval_steps == [e["step"] for e in summary["eval_history"]]
    assert data.train_steps == list(range(1, 13))  # step 0 held only the evaluation
    assert write_report(run, plots=False).cliff is not None


def test_without_matplotlib_the_summary_is_still_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    _synthetic_run(run)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    report = write_report(run)
    assert [p.name for p in report.files] == ["report.md"]
    assert "matplotlib is not installed" in report.skipped["accuracy.png"]
    assert "**Terminal cliff: yes.**" in report.summary


def test_without_matplotlib_leaderboard_and_report_skip_plots_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    _synthetic_run(run)
    fixtures = Path(__file__).parent / "fixtures"
    (tmp_path / "board" / "plots").mkdir(parents=True)
    stale = tmp_path / "board" / "plots" / "accuracy.png"
    stale.write_bytes(PNG_MAGIC)  # of an earlier build that had matplotlib
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    report = write_report(run)
    board = build_leaderboard(fixtures, tmp_path / "board")  # plots asked for, as by default
    assert board.plots == {}
    assert set(board.skipped_plots) == {
        "accuracy", "single_vs_workflow", "shared_vs_isolated", "tokens_vs_accuracy",
    }  # fmt: skip
    reasons = {*board.skipped_plots.values(), *report.skipped.values()}
    assert len(reasons) == 1 and "matplotlib is not installed" in reasons.pop()
    assert not stale.exists()
    assert "Accuracy per cell: skipped (matplotlib is not installed" in board.markdown
    assert "matplotlib is not installed" in board.html
    assert "data:image/png" not in board.html


def test_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"metrics\.jsonl"):
        write_report(tmp_path)


# ---------------------------------------------------------------------- a real run


def test_report_of_a_real_training_run(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from rolegym.baselines.grpo.trainer import GRPOTrainer
    from tests.baselines.helpers import micro_config

    config = micro_config(
        tmp_path,
        env_id="voting-arith-v0",
        max_steps=6,
        eval_steps=2,
        eval_on_start=True,
        eval_tasks=4,
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a micro model: extra threads only contend with other tests
    try:
        GRPOTrainer(config).train()
    finally:
        torch.set_num_threads(threads)
    run = Path(config.output_dir)
    summary = json.loads((run / "summary.json").read_text())
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]

    report = write_report(run)

    assert [p.name for p in report.files] == ["report.md", *PLOT_NAMES]
    assert all(p.is_file() for p in report.files)
    for path in report.files[1:]:
        _png_size(path)
    assert report.summary == (run / "report" / "report.md").read_text()
    history = summary["eval_history"]
    assert [e["step"] for e in history] == [0, 2, 4, 6]
    assert report.peak_accuracy == summary["eval_peak_accuracy"]
    assert report.peak_step == summary["eval_peak_step"]
    assert report.final_accuracy == summary["eval_final_accuracy"]
    assert report.final_step == history[-1]["step"]
    assert (
        f"peak {summary['eval_peak_accuracy']:.3f} at step {summary['eval_peak_step']}, "
        f"final {summary['eval_final_accuracy']:.3f} at step 6 (4 evaluations"
    ) in report.summary
    assert "env `voting-arith-v0`, policy `shared`, model `micro:qwen3`, steps 6 of 6" in (
        report.summary
    )
    assert set(report.roles) == {"generator", "aggregator"}
    # The dominant role and its share, recomputed from metrics.jsonl (last quarter: steps 5-6).
    last = [r for r in records if r["step"] in (5, 6)]
    mass = {
        role: sum(r[f"role/{role}/grad_mass_share"] for r in last) / len(last)
        for role in report.roles
    }
    top = max(mass, key=lambda r: mass[r])
    assert f"`{top}` dominates over the last quarter (steps 5-6): mean share {mass[top]:.3f}" in (
        report.summary
    )
    for role in report.roles:
        proj = [r[f"role/{role}/grad_proj_share"] for r in records if r["step"] > 0]
        negative = sum(v < 0 for v in proj)
        assert f"| {role} | {mass[role]:.3f} |" in report.summary
        assert f"| {negative}/6 ({negative / 6:.0%}) |" in report.summary
    assert "`generator` instance coherence" in report.summary  # three voters
    assert "`aggregator` output length" in report.summary
