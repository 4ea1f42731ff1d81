"""rolegym: multi-agent LLM workflows as PettingZoo environments.

>>> import rolegym
>>> env = rolegym.make("voting-arith-v0")
>>> env.reset(seed=0)
>>> env.agent_selection
'generator_0'
"""

from __future__ import annotations

import sys

from rolegym.envs import WORKFLOWS
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

_MODULES = {
    "voting": "voting",
    "eval-opt": "eval_opt",
    "orch-workers": "orch_workers",
    "single": "single",
}


def _register_builtin() -> None:
    for workflow, cls in WORKFLOWS.items():
        for kind in TASK_KINDS:
            register(
                f"{workflow}-{kind}-v{cls.version}",
                f"rolegym.envs.{_MODULES[workflow]}:{cls.__name__}",
                kwargs={"task": kind},
                description=(sys.modules[cls.__module__].__doc__ or "").strip().splitlines()[0],
            )


_register_builtin()
