r"""Hugging Face ``evaluate``: rolegym's verifiers as metric modules, loaded offline.

>>> from rolegym.integrations.evaluate import load
>>> math = load("math")  # evaluate.load on a directory inside the package: no download
>>> math.compute(predictions=["so \\boxed{4}"], references=["4"])
{'accuracy': 1.0, 'answered': 1.0}

``rolegym_code`` takes what ``code_eval`` takes (candidate programs per problem, test code per
problem, ``k``) and returns the same unbiased pass@k, but runs every program in rolegym's
bubblewrap sandbox instead of in a subprocess of the evaluating process, and needs no
``HF_ALLOW_CODE_EVAL``. The modules' docstrings give the input formats.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["load", "metric_path"]

_METRICS = {"math": "rolegym_math", "code": "rolegym_code"}


def metric_path(kind: str) -> str:
    """The directory of the ``"math"`` or ``"code"`` metric module (``evaluate.load`` it)."""
    if kind not in _METRICS:
        raise ValueError(f"unknown metric {kind!r}; expected one of {sorted(_METRICS)}")
    return str(Path(__file__).with_name("metrics") / _METRICS[kind])


def load(kind: str, **kwargs: Any) -> Any:
    """``evaluate.load(metric_path(kind), **kwargs)``."""
    import evaluate

    return evaluate.load(metric_path(kind), **kwargs)
