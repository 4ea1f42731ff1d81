"""The verifier interface the environments grade with.

An environment verifies once per episode, at its end, in one :meth:`Verifier.verify_many`
call that holds every answer it needs graded (the final answer, and in ``"role"`` reward
mode each candidate). Verifiers never raise on model output: whatever the text, the result
is a :class:`Verdict`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rolegym.tasks.base import Task, TaskFamily

__all__ = ["Verdict", "Verifier"]


@dataclass(frozen=True)
class Verdict:
    """The result of grading one response.

    Attributes:
        correct: Whether the response earns the reward.
        status: Why, in one word. Math: ``"correct"``, ``"incorrect"``, ``"no_answer"``.
            Code: ``"AC"``, ``"WA"``, ``"TLE"``, ``"MLE"``, ``"OLE"``, ``"RE"``,
            ``"SANDBOX_ERROR"``, ``"no_code"``.
        answer: What was graded (the extracted answer or program), if anything.
        reason: A short human-readable explanation.
        detail: JSON-safe specifics (parsed forms, per-test results, deciding tier).
        elapsed_s: Wall time spent (left out of env ``infos``, which must be deterministic).
    """

    correct: bool
    status: str
    answer: str | None = None
    reason: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
    elapsed_s: float = field(default=0.0, compare=False)

    def to_dict(self, *, timing: bool = True) -> dict[str, Any]:
        """A JSON-safe dict; ``timing=False`` drops ``elapsed_s``."""
        out: dict[str, Any] = {
            "correct": self.correct,
            "status": self.status,
            "answer": self.answer,
            "reason": self.reason,
            "detail": dict(self.detail),
        }
        if timing:
            out["elapsed_s"] = self.elapsed_s
        return out


class Verifier(ABC):
    """Grades responses to tasks of one family.

    Subclasses implement :meth:`extract` and :meth:`verify_many`.
    """

    family: TaskFamily

    @abstractmethod
    def extract(self, response: str) -> str | None:
        """The part of ``response`` that would be graded, or ``None`` if there is none."""

    @abstractmethod
    def verify_many(self, items: Sequence[tuple[Task, str]]) -> list[Verdict]:
        """Grade many ``(task, response)`` pairs; the result is in the same order."""

    def verify(self, task: Task, response: str) -> Verdict:
        """Grade one response."""
        return self.verify_many([(task, response)])[0]

    def close(self) -> None:  # noqa: B027  (optional hook, deliberately not abstract)
        """Release worker processes or other resources (no-op by default)."""
