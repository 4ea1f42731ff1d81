"""Inference engines behind one protocol (:class:`rolegym.rollout.types.Engine`).

Each is imported only when used, so the core needs neither torch nor vLLM:
``from rolegym.rollout.engines.hf import HFEngine``.
"""
