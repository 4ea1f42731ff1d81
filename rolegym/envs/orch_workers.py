"""Orch-Workers: an orchestrator proposes strategies, workers solve with them, a synthesizer answers.

| | |
|---|---|
| Ids | ``orch-workers-math-v0``, ``orch-workers-code-v0``, ``orch-workers-arith-v0`` |
| Agents | ``orchestrator_0``, ``worker_0`` ... ``worker_{m-1}`` (m = ``max_workers``, 3), ``synthesizer_0`` |
| Roles | ``orchestrator``, ``worker``, ``synthesizer`` |
| Turn order | orchestrator; one worker per parsed strategy (unused workers are skipped: terminated at once, reward 0, ``infos["skipped"]``); synthesizer. ``ready_agents()`` gives all used workers at once |
| Observation | orchestrator: the problem and the planning instruction; worker i: the problem and strategy i; synthesizer: the problem and every worker's solution |
| Action | any ``str``; the orchestrator writes ``STRATEGY k: ...`` lines; workers and synthesizer answer as in Single |
| Reward, team | the synthesizer's 0/1 verdict, to every turn |
| Reward, role | worker: its own answer's verdict; synthesizer: the final verdict; orchestrator: the mean verdict of its workers (the paper credits 0) |

This is the paper's released "propose" variant: workers each solve the whole problem with a
different strategy, and the synthesizer reconciles them.

**Parsing and fallbacks.** Strategies: ``STRATEGY k:`` lines; otherwise (``parse_error``,
reward 0) a numbered list, otherwise lines longer than 10 characters, otherwise the whole
text as one strategy; at most m are kept, so 1 to m workers run. Workers and synthesizer
without an answer: ``parse_error``.

**Arguments.** ``max_workers`` (3) and those of :class:`~rolegym.envs.core.WorkflowEnv`.

**Version history.**

- v0: initial release.
"""

from __future__ import annotations

import re

from rolegym.envs.core import WorkflowEnv
from rolegym.envs.episode import Turn
from rolegym.envs.prompts import answer_format, pose
from rolegym.verifiers.extract import after_thinking

__all__ = ["OrchWorkersEnv", "parse_strategies"]

_STRATEGY = re.compile(
    r"^[ \t]*\**[ \t]*STRATEGY[ \t]*(\d+)[ \t]*\**[ \t]*[:.)-][ \t]*\**[ \t]*(.*)$",
    re.IGNORECASE | re.MULTILINE,
)
_NUMBERED = re.compile(r"^\s*(\d+)[.)]\s+(.*\S)\s*$", re.MULTILINE)

_EXAMPLES = {
    "math": "for example an algebraic, a geometric or a counting approach",
    "code": "for example greedy, dynamic programming, or brute force with pruning",
}


def parse_strategies(text: str, limit: int) -> tuple[list[str], str | None]:
    """Parse an orchestrator's strategies.

    Returns:
        At most ``limit`` strategies, and a parse error if ``STRATEGY k:`` was not followed.
    """
    body = after_thinking(text)
    found = [m.group(2).strip() for m in _STRATEGY.finditer(body)]
    if found:
        return found[:limit], None
    numbered = [m.group(2).strip() for m in _NUMBERED.finditer(body)]
    if numbered:
        return numbered[:limit], "no STRATEGY k: lines; used a numbered list"
    lines = [line.strip() for line in body.splitlines() if len(line.strip()) > 10]
    if lines:
        return lines[:limit], "no STRATEGY k: lines; used long lines"
    return [body.strip()], "no STRATEGY k: lines; used the whole text as one strategy"


class OrchWorkersEnv(WorkflowEnv):
    """Orchestrator, parallel workers and a synthesizer (see the module docstring)."""

    workflow = "orch-workers"
    version = 0
    parallel_roles = frozenset({"worker"})

    def __init__(self, task: str = "arith", *, max_workers: int = 3, **kwargs: object) -> None:
        if not isinstance(max_workers, int) or max_workers < 1:
            raise ValueError(f"max_workers must be a positive integer, got {max_workers!r}")
        self.max_workers = max_workers
        super().__init__(task, **kwargs)

    @property
    def max_context_completions(self) -> int:
        """The synthesizer sees the plan and every worker's answer."""
        return self.max_workers + 1

    def _agents(self) -> list[str]:
        workers = [f"worker_{i}" for i in range(self.max_workers)]
        return ["orchestrator_0", *workers, "synthesizer_0"]

    def _begin(self) -> None:
        plan = (
            f"{pose(self.task)}\n\nDo not solve the problem. Propose up to {self.max_workers} "
            f"genuinely different strategies for solving it ({_EXAMPLES[self.family]}). "
            "Describe each briefly, one per line, as:\nSTRATEGY 1: ...\nSTRATEGY 2: ..."
        )
        self._say("orchestrator_0", plan)
        self._queue.append("orchestrator_0")

    def _act(self, agent: str, turn: Turn) -> None:
        role = self.role(agent)
        if role == "orchestrator":
            strategies, error = parse_strategies(turn.completion, self.max_workers)
            if error:
                turn.info["parse_error"] = error
            turn.info["strategies"] = len(strategies)
            for i, strategy in enumerate(strategies):
                given = strategy or "(no strategy was given: choose your own approach)"
                self._say(
                    f"worker_{i}",
                    f"{pose(self.task)}\n\nSolve the complete problem using this strategy:\n"
                    f"{given}\n\n{answer_format(self.family)}",
                )
                self._queue.append(f"worker_{i}")
            for i in range(len(strategies), self.max_workers):
                self._skip(f"worker_{i}")
            self._queue.append("synthesizer_0")
            return
        if role == "worker":
            self._require_answer(turn)
            if self._queue[0] == "synthesizer_0":
                solutions = [t.completion for t in self.episode.turns if t.role == "worker"]
                parts = [pose(self.task), "Independent solutions, each with its own strategy:"]
                parts += [f"### Solution {i}\n{s}" for i, s in enumerate(solutions, start=1)]
                final = (
                    "the final answer"
                    if self.family == "math"
                    else "one complete, runnable program"
                )
                parts.append(
                    "Compare the solutions (agreement raises confidence), decide which reasoning "
                    f"is right, and give {final}. {answer_format(self.family)}"
                )
                self._say("synthesizer_0", "\n\n".join(parts))
            return
        self._require_answer(turn)
        self._end(turn)
