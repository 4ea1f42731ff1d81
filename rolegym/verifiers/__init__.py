"""Verifiers: grade math answers and code against tasks (see :class:`Verifier`)."""

from __future__ import annotations

from typing import Any

from rolegym.tasks.base import TaskFamily
from rolegym.verifiers.base import Verdict, Verifier
from rolegym.verifiers.code import CodeVerifier
from rolegym.verifiers.math import MathVerifier

__all__ = [
    "CodeVerifier",
    "MathVerifier",
    "Verdict",
    "Verifier",
    "default_verifier",
    "reference_runner",
]


def default_verifier(family: TaskFamily, **options: Any) -> Verifier:
    """The verifier an environment of ``family`` uses unless given another.

    Args:
        family: ``"math"`` or ``"code"``.
        **options: Passed to the verifier (e.g. ``isolation="rlimits"`` for code).
    """
    if family == "math":
        return MathVerifier(**options)
    if family == "code":
        return CodeVerifier(**options)
    raise ValueError(f"no verifier for task family {family!r}")


def reference_runner() -> CodeVerifier:
    """What derives code tests from trusted reference solutions (HumanEval, MBPP).

    A sandboxed :class:`CodeVerifier` (a :class:`rolegym.tasks.base.CallRunner`) with no
    verdict cache and a generous timeout, so that a slow host does not drop tests. Task
    sources import no verifier: callers pass this one in (``load_tasks(..., runner=...)``).
    """
    return CodeVerifier(cache=False, timeout_s=10.0)
