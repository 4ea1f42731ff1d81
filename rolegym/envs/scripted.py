"""Scripted policies: an oracle, an always-wrong player and a random typist.

They are for tests, demos, ``rolegym play`` and overhead benchmarks, and they make every
env card's reward promise checkable:

- :class:`OraclePolicy` answers correctly in the expected format in every role (it reads
  the task's reference answer or ``reference_solution``, and judges candidates with the env's
  own verifier): reward 1 for every agent that speaks, in both reward modes.
- :class:`WrongPolicy` answers in the expected format but wrongly, and its evaluators accept
  everything: reward 0 for every agent, in both modes.
- :class:`RandomPolicy` types random Unicode: parse errors everywhere, reward 0.

A policy is called as ``policy(env, agent) -> str`` with the unwrapped env.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Protocol

import numpy as np

from rolegym.envs.core import WorkflowEnv
from rolegym.envs.spaces import SAMPLE_CHARSET

__all__ = ["SCRIPTED_POLICIES", "OraclePolicy", "Policy", "RandomPolicy", "WrongPolicy"]


class Policy(Protocol):
    """Anything that maps (env, agent) to the agent's next output."""

    def __call__(self, env: WorkflowEnv, agent: str) -> str:
        """The output of ``agent`` at its turn in ``env`` (unwrapped)."""
        ...


def _strategies(env: WorkflowEnv) -> str:
    count = getattr(env, "max_workers", 3)
    return "\n".join(
        f"STRATEGY {i}: approach number {i}, worked out carefully." for i in range(1, count + 1)
    )


class OraclePolicy:
    """Always right, always well formatted."""

    def __call__(self, env: WorkflowEnv, agent: str) -> str:
        """The correct output for ``agent``'s role."""
        task = env.task
        role = env.role(agent)
        if role == "orchestrator":
            return _strategies(env)
        if role == "aggregator":
            candidates = [t.completion for t in env.episode.turns if t.role == "generator"]
            verdicts = env.verifier.verify_many([(task, c) for c in candidates])
            best = next((i for i, v in enumerate(verdicts, start=1) if v.correct), 1)
            return f"Solution {best} is right. \\boxed{{{best}}}"
        if role == "evaluator":
            answer = [t for t in env.episode.turns if t.role == "generator"][-1]
            ok = env.verifier.verify(task, answer.completion).correct
            return (
                "The solution checks out. \\boxed{Correct}"
                if ok
                else ("The final step is wrong. \\boxed{Incorrect}")
            )
        if task.family == "math":
            return f"Working it through, the answer is \\boxed{{{task.answer}}}."
        solution = task.meta.get("reference_solution")
        if not isinstance(solution, str):
            raise ValueError(f"task {task.id!r} has no reference_solution for the oracle")
        return f"```python\n{solution}```"


class WrongPolicy:
    """Always wrong, always well formatted; its evaluators accept everything."""

    def __call__(self, env: WorkflowEnv, agent: str) -> str:
        """A well-formatted wrong output for ``agent``'s role."""
        role = env.role(agent)
        if role == "orchestrator":
            return _strategies(env)
        if role == "aggregator":
            return "\\boxed{1}"
        if role == "evaluator":
            return "Looks fine. \\boxed{Correct}"
        task = env.task
        if task.family == "code":
            return "```python\nprint('wrong')\n```"
        try:
            wrong = str(Fraction(str(task.answer)) + 1)
        except (ValueError, ZeroDivisionError):
            wrong = "\\text{no idea}"
        return f"The answer is \\boxed{{{wrong}}}."


class RandomPolicy:
    """Random Unicode text from its own seeded generator.

    Args:
        seed: Seed of the policy's generator.
        max_length: Longest output.
    """

    def __init__(self, seed: int | None = None, max_length: int = 200) -> None:
        self.rng = np.random.default_rng(seed)
        self.max_length = max_length

    def __call__(self, env: WorkflowEnv, agent: str) -> str:
        """A random string."""
        n = int(self.rng.integers(0, self.max_length + 1))
        idx = self.rng.integers(0, len(SAMPLE_CHARSET), size=n)
        return "".join(SAMPLE_CHARSET[i] for i in idx)


#: Name -> factory taking a seed.
SCRIPTED_POLICIES = {
    "oracle": lambda seed=None: OraclePolicy(),
    "wrong": lambda seed=None: WrongPolicy(),
    "random": lambda seed=None: RandomPolicy(seed),
}
