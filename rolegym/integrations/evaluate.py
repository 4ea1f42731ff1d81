r"""Hugging Face ``evaluate``: rolegym's verifiers as metric modules, loaded offline.

>>> from rolegym.integrations.evaluate import load
>>> math = load("math")  # evaluate.load on a directory inside the package: no download
>>> math.compute(predictions=["so \\boxed{4}", "4"], references=["4", "4"])
{'accuracy': 0.5, 'parse_rate': 0.5}

The two modules are ordinary ``evaluate`` metric scripts shipped inside the package
(``rolegym/integrations/metrics/<name>/<name>.py``), so ``evaluate.load(metric_path("math"))``
works with ``HF_HUB_OFFLINE=1`` and ``HF_EVALUATE_OFFLINE=1``; like any local metric,
``evaluate`` copies the script into its modules cache (``$HF_MODULES_CACHE``) and imports it
from there, and the script imports rolegym.

- ``rolegym_math``: ``accuracy`` and ``parse_rate`` of model outputs against reference answers,
  graded by :class:`rolegym.verifiers.MathVerifier` (``\boxed{}`` answers by default).
- ``rolegym_code``: takes what ``code_eval`` takes (candidate programs per problem, test code
  per problem, ``k``, ``timeout``) and returns the same unbiased pass@k, but runs every program
  in rolegym's bubblewrap sandbox instead of in a subprocess of the evaluating process, and
  needs no ``HF_ALLOW_CODE_EVAL``. References may also be rolegym's test JSON (stdin/stdout
  and function-call tests).

The modules' docstrings give the input formats and options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["load", "metric_path"]

_METRICS = {"math": "rolegym_math", "code": "rolegym_code"}


def metric_path(kind: str) -> str:
    """The directory of the ``"math"`` or ``"code"`` metric module (``evaluate.load`` it).

    Raises:
        ValueError: ``kind`` is neither ``"math"`` nor ``"code"``.
    """
    if kind not in _METRICS:
        raise ValueError(f"unknown metric {kind!r}; expected one of {sorted(_METRICS)}")
    return str(Path(__file__).with_name("metrics") / _METRICS[kind])


def load(kind: str, **kwargs: Any) -> Any:
    """``evaluate.load(metric_path(kind), **kwargs)``: the loaded metric.

    Args:
        kind: ``"math"`` or ``"code"``.
        **kwargs: Passed to ``evaluate.load`` (``cache_dir``, ``keep_in_memory``,
            ``experiment_id``, ...).

    Raises:
        ValueError: An unknown ``kind``.
        ImportError: ``evaluate`` is not installed.
    """
    path = metric_path(kind)
    try:
        import evaluate
    except ImportError as e:
        raise ImportError(
            'rolegym\'s metrics need Hugging Face evaluate: pip install "rolegym[evaluate]"'
        ) from e
    return evaluate.load(path, **kwargs)
