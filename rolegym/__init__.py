"""rolegym: multi-agent LLM workflows as PettingZoo environments.

>>> import rolegym
>>> env = rolegym.make("voting-arith-v0")
>>> env.reset(seed=0)
>>> env.agent_selection
'generator_0'
"""

from __future__ import annotations

from rolegym.registration import (
    EnvNotFound,
    EnvSpec,
    make,
    parse_env_id,
    pprint_registry,
    register,
    registry,
    spec,
)
from rolegym.tasks.catalog import TASK_KINDS

__version__ = "0.1.0"

__all__ = [
    "EnvNotFound",
    "EnvSpec",
    "__version__",
    "make",
    "parse_env_id",
    "pprint_registry",
    "register",
    "registry",
    "spec",
]

#: The built-in workflows as ``(workflow, module, class, version)``: written out rather than
#: read from :data:`rolegym.envs.WORKFLOWS`, so that importing ``rolegym`` (or any subpackage,
#: such as ``rolegym.tasks``) imports no environment or verifier module; the entry points are
#: imported by ``make``. ``tests/test_registration.py`` checks the table against the classes.
BUILTIN_WORKFLOWS = (
    ("voting", "voting", "VotingEnv", 0),
    ("eval-opt", "eval_opt", "EvalOptEnv", 0),
    ("orch-workers", "orch_workers", "OrchWorkersEnv", 0),
    ("single", "single", "SingleEnv", 0),
)


def _register_builtin() -> None:
    for workflow, module, cls, version in BUILTIN_WORKFLOWS:
        for kind in TASK_KINDS:
            register(
                f"{workflow}-{kind}-v{version}",
                f"rolegym.envs.{module}:{cls}",
                kwargs={"task": kind},
            )


_register_builtin()
