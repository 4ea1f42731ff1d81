"""Baselines: training algorithms and the small models they run on (the ``[train]`` extra).

- :mod:`rolegym.baselines.grpo`: Shared-Policy and Isolated-Policy GRPO, one algorithm core with
  two policy maps: the run's options (``config``), advantages, the loss, learners
  (``policies``), role routing to learners, the frozen policy or scripted players
  (``routing``, also used by ``rolegym eval`` of a checkpoint), rows, per-role gradient
  diagnostics, memory savers, checkpoints, metric sinks, the data-parallel context, the
  trainer, and the paper's run matrix.
- :mod:`rolegym.baselines.sft`: the supervised warm start on transcripts of a scripted policy.
- :mod:`rolegym.baselines.micro`: micro models and their tokenizer, built in code, for runs on
  a CPU.
"""
