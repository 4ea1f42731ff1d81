"""The math verifier's exact tier."""

from __future__ import annotations

import pytest

from rolegym.tasks import Task
from rolegym.verifiers import MathVerifier


def _grade(answer: str, reference: str) -> tuple[bool, str]:
    v = MathVerifier().verify(Task(id="t", prompt="p", answer=reference), answer)
    return v.correct, v.status


@pytest.mark.parametrize(
    ("response", "reference", "correct"),
    [
        ("\\boxed{17}", "17", True),
        ("\\boxed{ 17 }", "17", True),
        ("\\boxed{$17$}", "17", True),
        ("\\boxed{17.0}", "17", True),
        ("\\boxed{0.75}", "\\frac{3}{4}", True),
        ("\\boxed{\\dfrac{3}{4}}", "\\frac{3}{4}", True),
        ("\\boxed{3/4}", "0.75", True),
        ("\\boxed{-\\frac{1}{2}}", "-0.5", True),
        ("\\boxed{\\frac12}", "0.5", True),
        ("\\boxed{1,000}", "1000", True),
        ("\\boxed{\\text{18}}", "18", True),
        ("\\boxed{18}.", "18", True),
        ("\\boxed{18}", "17", False),
        ("\\boxed{1/0}", "0", False),
        ("\\boxed{" + "9" * 500 + "}", "9", False),
        ("<think>\\boxed{17}</think>\\boxed{18}", "17", False),
        ("\\boxed{x+1}", "x+1", True),
    ],
)
def test_exact_tier(response: str, reference: str, correct: bool) -> None:
    assert _grade(response, reference)[0] is correct


def test_no_answer() -> None:
    assert _grade("seventeen", "17") == (False, "no_answer")


def test_verdict_explains_itself() -> None:
    v = MathVerifier().verify(Task(id="t", prompt="p", answer="0.5"), "\\boxed{1/2}")
    assert v.detail["tier"] == "rational" and v.detail["parsed"] == "1/2"
    assert "elapsed_s" not in v.to_dict(timing=False) and v.to_dict()["elapsed_s"] >= 0
