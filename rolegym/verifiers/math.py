r"""Math answer checking: extraction plus an exact tier.

Extraction: the text after the last ``</think>``, then the last top-level ``\\boxed{}`` /
``\\fbox{}`` (matched braces). No box: ``no_answer``.

Equivalence, exact tier: the extracted answer and the reference are normalised (dollar
signs, ``\\left``/``\\right``, spacing commands, ``\\dfrac``/``\\tfrac``, ``\\text{}``
wrappers, a trailing period, whitespace) and compared as strings; failing that, both are
read as exact rationals (integers, decimals, ``a/b``, ``\\frac{a}{b}``, thousands separators
``1,000``) and compared exactly. Nothing is ever evaluated as Python; operands longer than
:data:`MAX_NUMBER_CHARS` digits are not read as numbers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from fractions import Fraction

from rolegym.tasks.base import Task
from rolegym.verifiers.base import Verdict, Verifier
from rolegym.verifiers.extract import after_thinking, last_boxed

__all__ = ["MathVerifier", "normalise", "to_rational"]

MAX_NUMBER_CHARS = 200

_STRIP_COMMANDS = re.compile(r"\\left|\\right|\\!|\\,|\\;|\\:|\\quad|\\qquad|\\displaystyle")
_TEXT_WRAPPER = re.compile(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}")
_FRAC = re.compile(r"^(-?)\\frac\{(-?\d+)\}\{(-?\d+)\}$")
_SIMPLE_FRAC = re.compile(r"^(-?)\\frac(\d)(\d)$")
_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_DECIMAL = re.compile(r"^-?(\d+\.?\d*|\.\d+)$")
_SLASH = re.compile(r"^(-?\d+)/(-?\d+)$")


def normalise(answer: str) -> str:
    """A canonical spelling of an answer for string comparison."""
    s = answer.strip().replace("$", "")
    s = _STRIP_COMMANDS.sub("", s)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = _TEXT_WRAPPER.sub(r"\1", s)
    s = "".join(s.split())
    s = s.rstrip(".")
    if s.startswith("{") and s.endswith("}") and s.count("{") == 1:
        s = s[1:-1]
    return s


def to_rational(answer: str) -> Fraction | None:
    """Read a normalised answer as an exact rational, or ``None``."""
    s = answer
    if len(s) > MAX_NUMBER_CHARS:
        return None
    if _THOUSANDS.match(s):
        s = s.replace(",", "")
    if _DECIMAL.match(s):
        return Fraction(s)
    if m := _SLASH.match(s):
        num, den = int(m.group(1)), int(m.group(2))
        return Fraction(num, den) if den else None
    if m := _FRAC.match(s) or _SIMPLE_FRAC.match(s):
        sign = -1 if m.group(1) else 1
        num, den = int(m.group(2)), int(m.group(3))
        return sign * Fraction(num, den) if den else None
    return None


class MathVerifier(Verifier):
    r"""Grades math answers in ``\\boxed{}`` against a reference answer (exact tier)."""

    family = "math"

    def extract(self, response: str) -> str | None:
        """The last top-level box after any ``</think>``."""
        return last_boxed(after_thinking(response))

    def _grade(self, task: Task, response: str) -> Verdict:
        start = time.perf_counter()
        answer = self.extract(response)
        if answer is None:
            return Verdict(
                False,
                "no_answer",
                None,
                "no \\boxed{} answer",
                elapsed_s=time.perf_counter() - start,
            )
        ref = normalise(task.answer or "")
        got = normalise(answer)
        if got == ref:
            return Verdict(
                True,
                "correct",
                answer,
                "equal after normalisation",
                {"tier": "string", "parsed": got, "reference": ref},
                time.perf_counter() - start,
            )
        ref_q, got_q = to_rational(ref), to_rational(got)
        if ref_q is not None and got_q is not None:
            ok = ref_q == got_q
            return Verdict(
                ok,
                "correct" if ok else "incorrect",
                answer,
                "equal as rationals" if ok else "different rationals",
                {"tier": "rational", "parsed": str(got_q), "reference": str(ref_q)},
                time.perf_counter() - start,
            )
        return Verdict(
            False,
            "incorrect",
            answer,
            "not equal after normalisation",
            {"tier": "string", "parsed": got, "reference": ref},
            time.perf_counter() - start,
        )

    def verify_many(self, items: Sequence[tuple[Task, str]]) -> list[Verdict]:
        """Grade each ``(task, response)`` pair."""
        return [self._grade(task, response) for task, response in items]
