"""math-verify used the way TRL's accuracy reward uses it: the peer for comparisons.

Test and benchmark code only (not part of the ``rolegym`` package). The golden-corpus
differential test and ``benchmarks/math_verifier.py`` both measure rolegym against this
grader: the gold answer parsed with math-verify's defaults, the prediction with
LaTeX extraction only (boxed first, no unanchored matches), then ``verify`` with its own
signal-based timeouts (so call it from the main thread).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

__all__ = ["trl_style_grader"]


def trl_style_grader() -> Callable[[str, str], bool | None]:
    """``grade(reference, response)``: True/False, or ``None`` when the reference does not parse."""
    from latex2sympy2_extended import NormalizationConfig
    from math_verify import LatexExtractionConfig, parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    prediction_config = [
        LatexExtractionConfig(
            normalization_config=NormalizationConfig(
                nits=False, malformed_operators=False, basic_latex=True, boxed="all", units=True
            ),
            boxed_match_priority=0,
            try_extract_without_anchor=False,
        )
    ]

    def grade(reference: str, response: str) -> bool | None:
        gold = parse(f"${reference}$")
        if not gold:
            return None
        prediction = parse(
            response, extraction_config=prediction_config, extraction_mode="first_match"
        )
        return bool(verify(gold, prediction))

    return grade
