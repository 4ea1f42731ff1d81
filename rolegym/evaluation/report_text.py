"""The text of a run report's ``report.md``: the run, the accuracy verdict, the roles.

Trends compare the mean over the first quarter of the training steps with the mean over the
last quarter; shares are means over the last quarter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from rolegym.evaluation.cliff import TOLERANCE, Cliff, rule_text
from rolegym.evaluation.markdown import markdown_table, md_escape
from rolegym.evaluation.report_plots import PLOTS
from rolegym.evaluation.run_data import RunData

__all__ = ["AGGREGATING_ROLES", "summary_text"]

AGGREGATING_ROLES = ("aggregator", "synthesizer")
"""Roles that combine other roles' outputs: their output length is reported on its own."""


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


def summary_text(
    run: RunData,
    verdict: tuple[Cliff | None, str],
    written: Sequence[Path],
    skipped: dict[str, str],
    rule: tuple[float, float, int],
    smooth: int,
) -> str:
    """The text of ``report.md``.

    Args:
        run: The run.
        verdict: The cliff (or ``None``) and the reason of the verdict.
        written: The plot files written.
        skipped: Plot file name -> why it was skipped.
        rule: The cliff rule's ``drop``, ``relative`` and ``window``.
        smooth: The plots' moving average, in logged steps (1: raw).

    Returns:
        The Markdown text.
    """
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
    rule_lines = ["## The cliff rule", "", rule_text(drop=drop, relative=relative, window=window)]
    lines += ["", *rule_lines, ""]
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
        abs(float(s["eval_peak_accuracy"]) - accs[peak_i]) > TOLERANCE
        or abs(float(s.get("eval_final_accuracy", accs[-1])) - accs[-1]) > TOLERANCE
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
    ]
    table = []
    for r in run.roles:
        p = f"role/{r}/"
        proj = run.series(p + "grad_proj_share", run.train_steps)[1]
        n_neg = sum(v < 0 for v in proj)
        cells = [
            md_escape(r),
            _num(run.mean(p + "grad_mass_share", last)),
            _num(run.mean(p + "grad_proj_share", last)),
            f"{n_neg}/{len(proj)} ({n_neg / len(proj):.0%})" if proj else "-",
            _trend(
                run.mean(p + "completion_length", first),
                run.mean(p + "completion_length", last),
                1,
                pct=True,
            ),
            _trend(run.mean(p + "reward_mean", first), run.mean(p + "reward_mean", last)),
            _trend(run.mean(p + "entropy", first), run.mean(p + "entropy", last)),
        ]
        table.append(cells)
    headers = ["role", "grad mass share", "grad proj share", "steps with proj share < 0",
               "completion length (tokens)", "reward", "entropy"]  # fmt: skip
    return [*rows, markdown_table(headers, table)]
