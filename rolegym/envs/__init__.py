"""The workflow environments: one workflow per module, each module's docstring its card."""

from __future__ import annotations

from rolegym.envs.core import WorkflowEnv
from rolegym.envs.episode import GROUP_SCOPES, Episode, Message, Sample, Turn, group_samples
from rolegym.envs.eval_opt import EvalOptEnv
from rolegym.envs.orch_workers import OrchWorkersEnv
from rolegym.envs.single import SingleEnv
from rolegym.envs.voting import VotingEnv

__all__ = [
    "GROUP_SCOPES",
    "WORKFLOWS",
    "Episode",
    "EvalOptEnv",
    "Message",
    "OrchWorkersEnv",
    "Sample",
    "SingleEnv",
    "Turn",
    "VotingEnv",
    "WorkflowEnv",
    "group_samples",
]

#: Workflow name (as in env ids) -> environment class.
WORKFLOWS: dict[str, type[WorkflowEnv]] = {
    cls.workflow: cls for cls in (VotingEnv, EvalOptEnv, OrchWorkersEnv, SingleEnv)
}
