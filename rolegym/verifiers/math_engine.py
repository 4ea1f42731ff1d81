r"""The math-verify tier, as run inside a worker process (see :mod:`rolegym.verifiers.workers`).

Both sides are parsed with math-verify's LaTeX extraction only (the answer wrapped in
``\boxed{}``, boxed priority 0, no unanchored extraction), so a plain-text equation never
collapses to its trailing number; math-verify's own signal-based timeouts are off because the
parent enforces the deadline. A reference math-verify cannot parse gives
``status="bad_reference"`` (never a pass); an answer it cannot parse is incorrect.

Speed: math-verify's LaTeX parser is an ANTLR grammar, and ANTLR's Python runtime spends
most of its time in full-context (LL) prediction. The engine parses with ANTLR's recommended
two-stage strategy: the fast SLL prediction mode first, and full LL only when SLL fails. An
SLL parse that succeeds is the LL parse; the test suite checks that the two-stage parse
equals the plain one on every corpus answer. The switch is scoped to the engine's own parses.

This module imports math-verify and SymPy; only worker processes import it.
"""

from __future__ import annotations

import logging
import math
from functools import lru_cache
from typing import Any

import math_verify.parser as _mv_parser
from math_verify import LatexExtractionConfig, parse, verify
from sympy import Expr

try:  # the ANTLR parser class behind math-verify's LaTeX parsing
    import latex2sympy2_extended.latex2sympy2 as _l2s
    from antlr4.atn.PredictionMode import PredictionMode

    _MODE = [PredictionMode.LL]
    _original_init = _l2s.PSParser.__init__

    def _init_with_mode(self: Any, *args: Any, **kwargs: Any) -> None:
        _original_init(self, *args, **kwargs)
        self._interp.predictionMode = _MODE[0]

    _l2s.PSParser.__init__ = _init_with_mode
    _TWO_STAGE = True
except (ImportError, AttributeError):  # an unexpected layout: parse the plain way
    _TWO_STAGE = False

__all__ = ["judge"]

logging.getLogger("math_verify").setLevel(logging.ERROR)  # it warns on every untimed call

_EXTRACTION = [LatexExtractionConfig(boxed_match_priority=0, try_extract_without_anchor=False)]


def _plain_parse(text: str) -> tuple[Any, ...]:
    return tuple(
        parse("\\boxed{" + text + "}", extraction_config=_EXTRACTION, parsing_timeout=None)
    )


@lru_cache(maxsize=8192)
def _parse(text: str) -> tuple[Any, ...]:
    """Parse with SLL prediction, falling back to full LL when SLL yields no expression."""
    if not _TWO_STAGE:
        return _plain_parse(text)
    _MODE[0] = PredictionMode.SLL
    try:
        result = _plain_parse(text)
    finally:
        _MODE[0] = PredictionMode.LL
    if any(not isinstance(x, str) for x in result):
        return result
    _mv_parser.parse_latex_cached.cache_clear()  # it memoised the SLL failure
    return _plain_parse(text)


def _numbers_differ(gold: Any, answer: Any, payload: dict[str, str]) -> bool:
    """Whether two constant expressions clearly differ in value (a shortcut past ``verify``).

    Only plain numbers qualify: no free symbols, no relations or sets, and no percent sign on
    either side (math-verify reads ``x%`` leniently). "Clearly" means a relative difference
    above 1e-4, far beyond math-verify's 6-decimal rounding, so its verdict cannot differ.
    """
    if "%" in payload["gold"] or "%" in payload["answer"]:
        return False
    if not (isinstance(gold, Expr) and isinstance(answer, Expr)):
        return False
    if not (gold.is_number and answer.is_number):
        return False
    try:
        g, a = complex(gold.evalf(15)), complex(answer.evalf(15))
    except (TypeError, ValueError, ArithmeticError):
        return False
    if not all(math.isfinite(v) for v in (g.real, g.imag, a.real, a.imag)):
        return False
    return abs(g - a) > 1e-4 * max(1.0, abs(g))


def judge(payload: dict[str, str]) -> dict[str, Any]:
    """Decide ``payload["answer"]`` against ``payload["gold"]`` with math-verify."""
    gold = _parse(payload["gold"])
    if not gold:
        return {"correct": False, "status": "bad_reference", "parsed": "", "reference": ""}
    answer = _parse(payload["answer"])
    reference = str(gold[0])[:200]
    if not answer:
        return {"correct": False, "status": "unparsable", "parsed": "", "reference": reference}
    if _numbers_differ(gold[0], answer[0], payload):
        ok = False
    else:
        ok = bool(verify(list(gold), list(answer), timeout_seconds=None))
    return {
        "correct": ok,
        "status": "correct" if ok else "incorrect",
        "parsed": str(answer[0])[:200],
        "reference": reference,
    }
