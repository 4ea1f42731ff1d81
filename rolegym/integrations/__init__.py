"""Integrations: rolegym environments inside the tools researchers already train with.

Each module imports its own library, installed by an extra of the same name
(``pip install "rolegym[trl]"``, ``[openenv]``, ``[verifiers]``, ``[evaluate]``); importing
``rolegym.integrations`` itself imports none of them.

- :mod:`rolegym.integrations.trl`: TRL's ``GRPOTrainer`` (a ``rollout_func``).
- :mod:`rolegym.integrations.openenv`: ``rolegym serve-env``, an OpenEnv server and client.
- :mod:`rolegym.integrations.verifiers`: a PrimeIntellect ``verifiers`` v1 environment.
- :mod:`rolegym.integrations.evaluate`: the math and code verifiers as ``evaluate`` metrics.
"""
