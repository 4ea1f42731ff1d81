"""The terminal-cliff rule: when a held-out accuracy curve ends far below its peak for good.

:func:`detect_cliff` applies the rule to an accuracy curve; :func:`cliff_verdict` also says
why, in words, and :func:`cliff_line` and :func:`rule_text` give the line the rule draws and
its statement, for the run report (:mod:`rolegym.evaluation.report`) and its plot.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["TOLERANCE", "Cliff", "cliff_line", "cliff_verdict", "detect_cliff", "rule_text"]

TOLERANCE = 1e-9
"""Accuracies are ratios such as 2/5: drops are compared up to this rounding."""


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


def cliff_line(peak: float, *, drop: float, relative: float) -> float:
    """The cliff line ``peak - max(drop, relative * peak)`` that a cliff stays at or below."""
    return peak - max(drop, relative * peak)


def rule_text(*, drop: float, relative: float, window: int) -> str:
    """The rule with these parameters, as one Markdown paragraph."""
    return (
        f"A terminal cliff: the peak is not the last evaluation, the final accuracy is at least "
        f"`max({drop:g}, {relative:g} x peak)` below the peak, and the last {window} "
        f"evaluation(s) all stay at or below that line, `peak - max({drop:g}, {relative:g} x "
        f"peak)` (no recovery at the end). Onset: the first evaluation after the peak from "
        f"which every later one stays at or below the line."
    )


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
    return cliff_verdict(steps, accuracies, drop=drop, relative=relative, window=window)[0]


def cliff_verdict(
    steps: Sequence[int],
    accuracies: Sequence[float],
    *,
    drop: float,
    relative: float,
    window: int,
) -> tuple[Cliff | None, str]:
    """:func:`detect_cliff` with the reason of its verdict, as a sentence fragment.

    Args:
        steps: As for :func:`detect_cliff`.
        accuracies: As for :func:`detect_cliff`.
        drop: As for :func:`detect_cliff`.
        relative: As for :func:`detect_cliff`.
        window: As for :func:`detect_cliff`.

    Returns:
        The cliff (or ``None``) and why, starting in lower case without a final stop.

    Raises:
        ValueError: As :func:`detect_cliff`.
    """
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
    line = cliff_line(peak, drop=drop, relative=relative)
    if peak_i == len(points) - 1:
        return None, f"the peak ({peak:.3f}) is the last evaluation"
    if peak - final < threshold - TOLERANCE:
        return None, (
            f"the final accuracy {final:.3f} is {peak - final:.3f} below the peak {peak:.3f}, "
            f"less than the threshold {threshold:.3f}"
        )
    onset = len(points)
    while onset - 1 > peak_i and accs[onset - 1] <= line + TOLERANCE:
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
