r"""Single: one generator answers alone (the single-agent control).

| | |
|---|---|
| Ids | ``single-math-v0``, ``single-code-v0``, ``single-arith-v0`` |
| Agents | ``generator_0`` |
| Roles | ``generator`` |
| Turn order | ``generator_0`` once |
| Observation | ``{"messages": ({"role": "user", "content": problem + instructions},)}`` |
| Action | any ``str``; math answers in ``\\boxed{}``, code in one ```` ```python ```` block |
| Reward | the 0/1 verdict on the answer (both reward modes) |

**Prompt.** The problem, a one-line reasoning instruction and the answer format
(:func:`rolegym.envs.prompts.solve_prompt`).

**Parsing and fallbacks.** No ``\\boxed{}`` (math) / no closed ```` ```python ```` block (code):
``parse_error``, reward 0.

**Arguments.** Those of :class:`~rolegym.envs.core.WorkflowEnv` (``task``, ``dataset``,
``split``, ``tasks``, ``verifier``, ``reward_mode``, ``max_action_chars``, ``render_mode``).

**Version history.**

- v0: initial release.
"""

from __future__ import annotations

from rolegym.envs.core import WorkflowEnv
from rolegym.envs.episode import Turn
from rolegym.envs.prompts import solve_prompt

__all__ = ["SingleEnv"]


class SingleEnv(WorkflowEnv):
    """One generator, one call (see the module docstring)."""

    workflow = "single"
    version = 0

    def _agents(self) -> list[str]:
        return ["generator_0"]

    def _begin(self) -> None:
        self._say("generator_0", solve_prompt(self.task))
        self._queue.append("generator_0")

    def _act(self, agent: str, turn: Turn) -> None:
        self._require_answer(turn)
        self._end(turn)
