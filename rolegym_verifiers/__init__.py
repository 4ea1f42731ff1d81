"""The ``verifiers`` plugin id of rolegym: ``vf-eval rolegym-verifiers ...``.

verifiers 0.4 resolves a taskset id to a top-level module (``rolegym-verifiers`` ->
``rolegym_verifiers``); the environment lives in :mod:`rolegym.integrations.verifiers`.
"""

from rolegym.integrations.verifiers import RolegymEnv, RolegymTaskset, load_environment

__all__ = ["RolegymEnv", "RolegymTaskset", "load_environment"]
