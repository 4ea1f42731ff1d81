r"""Voting: k generators answer independently; an aggregator picks one, which is graded.

| | |
|---|---|
| Ids | ``voting-math-v0``, ``voting-code-v0``, ``voting-arith-v0`` |
| Agents | ``generator_0`` ... ``generator_{k-1}`` (k = ``num_voters``, 3), ``aggregator_0`` |
| Roles | ``generator``, ``aggregator`` |
| Turn order | every generator, then the aggregator; ``ready_agents()`` gives all generators at once |
| Observation | generators: one user message (problem + instructions), identical for all; aggregator: one user message with the problem and the k candidate solutions |
| Action | any ``str``; generators answer as in Single; the aggregator gives ``\\boxed{N}`` (1-based) |
| Reward, team | the chosen candidate's 0/1 verdict, to every turn |
| Reward, role | generator: its own answer's verdict; aggregator: the chosen candidate's verdict |

Generators never see each other's output; sampling noise is their only source of
diversity, as in the paper.

**Parsing and fallbacks.** Generator without an answer: ``parse_error`` (reward 0; the
aggregator still sees it). Aggregator: the first ``\\boxed{}`` holding an integer in 1..k is
the choice; otherwise ``parse_error`` (reward 0) and the fallback picks the first standalone
digit 1..k in the text, else candidate 1 (the paper's rule).

**Arguments.** ``num_voters`` (3) and those of :class:`~rolegym.envs.core.WorkflowEnv`.

**Version history.**

- v0: initial release.
"""

from __future__ import annotations

import re

from rolegym.envs.core import WorkflowEnv
from rolegym.envs.episode import Turn
from rolegym.envs.prompts import pose, solve_prompt
from rolegym.verifiers.extract import after_thinking, boxed_all

__all__ = ["VotingEnv", "parse_choice"]

_DIGIT = re.compile(r"(?<![0-9])([1-9])(?![0-9])")
_INDEX = re.compile(r"[0-9]{1,6}")  # ASCII digits only: '²'.isdigit() is true but int() fails


def parse_choice(text: str, k: int) -> tuple[int, str | None]:
    """The 1-based candidate an aggregator chose, and a parse error if it had to fall back."""
    body = after_thinking(text)
    for box in boxed_all(body):
        inner = box.strip()
        if _INDEX.fullmatch(inner) and 1 <= int(inner) <= k:
            return int(inner), None
    m = next((m for m in _DIGIT.finditer(body) if int(m.group(1)) <= k), None)
    if m is not None:
        return int(m.group(1)), f"no \\boxed{{N}} with N in 1..{k}; took the first digit"
    return 1, f"no \\boxed{{N}} with N in 1..{k}; defaulted to candidate 1"


def aggregate_prompt(problem: str, family: str, candidates: list[str]) -> str:
    """The aggregator's prompt: the problem, the numbered candidates, and the instruction."""
    goal = "most likely to be correct" if family == "math" else "most likely to pass all tests"
    parts = [problem, f"Here are {len(candidates)} candidate solutions."]
    parts += [f"### Solution {i}\n{c}" for i, c in enumerate(candidates, start=1)]
    parts.append(
        f"Check each solution carefully, then choose the one {goal}. "
        f"End with its number in \\boxed{{}}, for example \\boxed{{1}}."
    )
    return "\n\n".join(parts)


class VotingEnv(WorkflowEnv):
    """k voters and an aggregator (see the module docstring)."""

    workflow = "voting"
    version = 0
    parallel_roles = frozenset({"generator"})

    def __init__(self, task: str = "arith", *, num_voters: int = 3, **kwargs: object) -> None:
        if not isinstance(num_voters, int) or num_voters < 1:
            raise ValueError(f"num_voters must be a positive integer, got {num_voters!r}")
        self.num_voters = num_voters
        super().__init__(task, **kwargs)

    @property
    def max_context_completions(self) -> int:
        """The aggregator sees every candidate."""
        return self.num_voters

    def _agents(self) -> list[str]:
        return [f"generator_{i}" for i in range(self.num_voters)] + ["aggregator_0"]

    def _begin(self) -> None:
        prompt = solve_prompt(self.task)
        for i in range(self.num_voters):
            self._say(f"generator_{i}", prompt)
            self._queue.append(f"generator_{i}")
        self._queue.append("aggregator_0")

    def _act(self, agent: str, turn: Turn) -> None:
        turns = self.episode.turns
        if self.role(agent) == "generator":
            self._require_answer(turn)
            if self._queue[0] == "aggregator_0":
                candidates = [t.completion for t in turns if t.role == "generator"]
                self._say(
                    "aggregator_0", aggregate_prompt(pose(self.task), self.family, candidates)
                )
            return
        choice, error = parse_choice(turn.completion, self.num_voters)
        if error:
            turn.info["parse_error"] = error
        chosen = [t for t in turns if t.role == "generator"][choice - 1]
        turn.info["choice"] = choice
        turn.info["chosen_turn"] = chosen.index
        self._end(chosen)
