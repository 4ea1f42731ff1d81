r"""Eval-Opt (evaluator-optimizer): a generator answers, an evaluator judges, the generator revises.

| | |
|---|---|
| Ids | ``eval-opt-math-v0``, ``eval-opt-code-v0``, ``eval-opt-arith-v0`` |
| Agents | ``generator_0``, ``evaluator_0`` |
| Roles | ``generator``, ``evaluator`` |
| Turn order | G, E, G, E, ...: the episode ends when the evaluator says Correct or after the evaluator's turn of round ``max_rounds`` (3 for math and arith, 2 for code) |
| Observation | each agent's own conversation: its earlier outputs as ``assistant`` messages, the other's as ``user`` messages |
| Action | any ``str``; the generator answers as in Single; the evaluator ends with ``\\boxed{Correct}`` or ``\\boxed{Incorrect}`` |
| Reward, team | the last generator answer's 0/1 verdict, to every turn |
| Reward, role | generator turn: its own answer's verdict; evaluator turn: 1 if its verdict matches the truth about the answer it judged |

The generator's conversation: the solve prompt; its answer; the evaluator's critique with a
revision instruction (a different approach for math, the reviewer's points for code); its
revision; and so on. The evaluator's: the problem and the solution to check with the
critique instruction; its critique; the revised solution with the same instruction; ...
The evaluator is still called after the last revision (its verdict then only trains it), as in
the paper.

**Parsing and fallbacks.** Evaluator: the last ``\\boxed{Correct}`` / ``\\boxed{Incorrect}``
(any case) is the verdict; none: ``parse_error`` (reward 0) and the verdict counts as
Incorrect, so revision continues (the paper's rule). Generator without an answer:
``parse_error``.

**Arguments.** ``max_rounds`` (generator turns at most; default by task) and those of
:class:`~rolegym.envs.core.WorkflowEnv`.

**Version history.**

- v0: initial release.
"""

from __future__ import annotations

import re

from rolegym.envs.core import WorkflowEnv
from rolegym.envs.episode import Turn
from rolegym.envs.prompts import answer_format, pose, solve_prompt
from rolegym.verifiers.extract import after_thinking, boxed_all

__all__ = ["EvalOptEnv", "parse_verdict"]

_VERDICT = re.compile(r"^\s*(?:\\text\{)?\s*(correct|incorrect)\s*\}?\s*$", re.IGNORECASE)

_CHECK = {
    "math": (
        "Check this solution step by step. Do not reveal the correct answer. If it is wrong, "
        "briefly explain the main mistake. End with your verdict: \\boxed{Correct} or "
        "\\boxed{Incorrect}."
    ),
    "code": (
        "Review this code without running it: logic, edge cases, bugs and efficiency. If it "
        "is wrong, briefly explain the main problem. End with your verdict: \\boxed{Correct} "
        "or \\boxed{Incorrect}."
    ),
}
_REVISE = {
    "math": (
        "A reviewer judged your solution incorrect:\n\n{critique}\n\nSolve the problem again "
        "with a completely different approach, taking the feedback into account. "
    ),
    "code": (
        "A reviewer judged your code incorrect:\n\n{critique}\n\nImprove the solution "
        "according to the feedback. "
    ),
}


def parse_verdict(text: str) -> str | None:
    """``"correct"``, ``"incorrect"`` or ``None``: the last boxed verdict in ``text``."""
    for box in reversed(boxed_all(after_thinking(text))):
        m = _VERDICT.match(box)
        if m:
            return m.group(1).lower()
    return None


class EvalOptEnv(WorkflowEnv):
    """Generator and evaluator in a revision loop (see the module docstring)."""

    workflow = "eval-opt"
    version = 0

    def __init__(
        self, task: str = "arith", *, max_rounds: int | None = None, **kwargs: object
    ) -> None:
        if max_rounds is None:
            max_rounds = 2 if task == "code" else 3
        if not isinstance(max_rounds, int) or max_rounds < 1:
            raise ValueError(f"max_rounds must be a positive integer, got {max_rounds!r}")
        self.max_rounds = max_rounds
        super().__init__(task, **kwargs)

    @property
    def max_context_completions(self) -> int:
        """The last evaluator call sees every answer and every earlier critique."""
        return 2 * self.max_rounds - 1

    def _agents(self) -> list[str]:
        return ["generator_0", "evaluator_0"]

    def _begin(self) -> None:
        self._say("generator_0", solve_prompt(self.task))
        self._queue.append("generator_0")
        self._answer: Turn | None = None

    def _act(self, agent: str, turn: Turn) -> None:
        check = _CHECK[self.family]
        if agent == "generator_0":
            self._require_answer(turn)
            self._answer = turn
            if turn.role_turn == 0:
                content = f"{pose(self.task)}\n\nProposed solution:\n{turn.completion}\n\n{check}"
            else:
                content = f"Revised solution:\n{turn.completion}\n\n{check}"
            self._say("evaluator_0", content)
            self._queue.append("evaluator_0")
            return
        verdict = parse_verdict(turn.completion)
        turn.info["verdict"] = verdict
        turn.info["judged_turn"] = self._answer.index
        if verdict is None:
            turn.info["parse_error"] = "no \\boxed{Correct} or \\boxed{Incorrect} verdict"
        rounds = self._turn_counts["generator_0"]
        if verdict == "correct" or rounds >= self.max_rounds:
            self._end(self._answer)
            return
        revise = _REVISE[self.family].format(critique=turn.completion)
        self._say("generator_0", revise + answer_format(self.family))
        self._queue.append("generator_0")
