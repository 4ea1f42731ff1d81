r"""The math-verify tier, as run inside a worker process (see :mod:`rolegym.verifiers.workers`).

Both sides are parsed with math-verify's LaTeX extraction only (the answer wrapped in
``\boxed{}``, boxed priority 0, no unanchored extraction), so a plain-text equation never
collapses to its trailing number; math-verify's own signal-based timeouts are off because the
parent enforces the deadline. A reference math-verify cannot parse gives
``status="bad_reference"`` (never a pass); an answer it cannot parse is incorrect.

This module imports math-verify and SymPy; only worker processes import it.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from math_verify import LatexExtractionConfig, parse, verify

__all__ = ["judge"]

logging.getLogger("math_verify").setLevel(logging.ERROR)  # it warns on every untimed call

_EXTRACTION = [LatexExtractionConfig(boxed_match_priority=0, try_extract_without_anchor=False)]


@lru_cache(maxsize=8192)
def _parse(text: str) -> tuple[Any, ...]:
    return tuple(
        parse("\\boxed{" + text + "}", extraction_config=_EXTRACTION, parsing_timeout=None)
    )


def judge(payload: dict[str, str]) -> dict[str, Any]:
    """Decide ``payload["answer"]`` against ``payload["gold"]`` with math-verify."""
    gold = _parse(payload["gold"])
    if not gold:
        return {"correct": False, "status": "bad_reference", "parsed": "", "reference": ""}
    answer = _parse(payload["answer"])
    reference = str(gold[0])[:200]
    if not answer:
        return {"correct": False, "status": "unparsable", "parsed": "", "reference": reference}
    ok = bool(verify(list(gold), list(answer), timeout_seconds=None))
    return {
        "correct": ok,
        "status": "correct" if ok else "incorrect",
        "parsed": str(answer[0])[:200],
        "reference": reference,
    }
