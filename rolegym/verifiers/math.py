r"""The math verifier: extraction, hard limits, an exact tier, math-verify, a cache, a deadline.

A response is graded in tiers, cheapest first:

1. **Extraction** (:func:`rolegym.verifiers.extract.final_answer`): the text after the last
   ``</think>`` (nothing if a ``<think>`` is left open), then the last top-level
   ``\boxed{}``/``\fbox{}`` by brace matching; optional fallbacks (``"answer_line"``,
   ``"final_answer_sentence"``, ``"hashes"``), off by default. Nothing found: ``no_answer``.
2. **Limits** (:mod:`rolegym.verifiers.math_guard`): over-long answers, deep nesting, huge
   numbers, power towers, giant factorials and sums are ``rejected`` unparsed.
3. **Cache**: verdicts are memoised per ``(reference, answer)`` in the process (GRPO groups
   repeat answers).
4. **Exact tier** (:mod:`rolegym.verifiers.math_exact`): canonical strings, exact rationals
   with the percent rule, multiple-choice letters, equations given for values.
5. **math-verify** (:mod:`rolegym.verifiers.math_engine`) in worker processes, each call under
   a hard wall-clock deadline enforced by the parent (:mod:`rolegym.verifiers.workers`): an
   overrunning worker is killed and replaced and the answer is graded ``timeout``.

Model text is never evaluated as Python anywhere. The API is safe from threads, asyncio
(``await asyncio.to_thread(v.verify_many, items)``) and many processes.

Deviations from math-verify's verdicts (as TRL's accuracy reward runs it), each deliberate and
checked by the differential test in ``tests/verifiers/test_math_corpus.py``:

- ``9=2`` (or ``2=2``) for ``2`` is wrong: an equation counts for a value only when its left
  side is a variable (math-verify takes the right side whatever the left);
- only the text after ``</think>`` is graded, and an unfinished ``<think>`` has no answer;
- the last box wins (math-verify merges nearby boxes into a set); ``\fbox`` counts too;
- ``\varnothing`` equals ``\emptyset``; ``30°`` equals ``30``; full-width and other
  Unicode decimal digits are digits; ``\frac ab`` shorthand is read;
- a choice letter may carry parentheses and a period (``(C).``);
- answers past the limits are wrong without being parsed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from rolegym.tasks.base import Task
from rolegym.verifiers.base import Verdict, Verifier
from rolegym.verifiers.extract import FALLBACKS, final_answer
from rolegym.verifiers.math_exact import decide, strip_invisible
from rolegym.verifiers.math_guard import check
from rolegym.verifiers.shared import LRUCache, PoolRegistry
from rolegym.verifiers.workers import DeadlinePool

__all__ = ["MathVerifier", "clear_cache", "shutdown"]

_ENGINE = "rolegym.verifiers.math_engine:judge"
_POOLS: PoolRegistry[DeadlinePool] = PoolRegistry(
    lambda workers, deadline_s, memory_mb: DeadlinePool(
        _ENGINE, workers=workers, deadline_s=deadline_s, memory_mb=memory_mb
    )
)
_CACHE: LRUCache[Verdict] = LRUCache(200_000)


def clear_cache() -> None:
    """Forget every memoised verdict (for benchmarks that must start cold)."""
    _CACHE.clear()


def shutdown() -> None:
    """Stop every math-verify worker process of this process (also done at exit)."""
    _POOLS.shutdown()


class MathVerifier(Verifier):
    r"""Grades math responses against a reference answer (see the module docstring).

    Args:
        fallbacks: Extraction fallbacks to enable, in order (names of
            :data:`rolegym.verifiers.extract.FALLBACKS`); none by default, so only ``\boxed{}``
            counts, as the environments ask.
        engine: ``"math-verify"`` (default) or ``"exact"`` (the exact tier alone; what it
            cannot decide is graded ``unresolved``, incorrect).
        deadline_s: Wall-clock budget of one math-verify call.
        workers: math-verify worker processes (default: up to 2, at most the CPU count).
        memory_mb: Address-space limit of each worker.
        cache: Memoise verdicts (process-wide).
    """

    family = "math"

    def __init__(
        self,
        *,
        fallbacks: Sequence[str] = (),
        engine: str = "math-verify",
        deadline_s: float = 3.0,
        workers: int | None = None,
        memory_mb: int = 2048,
        cache: bool = True,
    ) -> None:
        unknown = [f for f in fallbacks if f not in FALLBACKS]
        if unknown:
            raise ValueError(f"unknown fallbacks {unknown}; choose from {sorted(FALLBACKS)}")
        if engine not in ("math-verify", "exact"):
            raise ValueError(f"engine must be 'math-verify' or 'exact', got {engine!r}")
        if deadline_s <= 0:
            raise ValueError("deadline_s must be positive")
        self.fallbacks = tuple(fallbacks)
        self.engine = engine
        self.deadline_s = deadline_s
        self.workers = workers or max(1, min(2, os.cpu_count() or 1))
        self.memory_mb = memory_mb
        self.cache = cache

    def warm(self) -> None:
        """Start the math-verify worker processes now (they otherwise start on first use)."""
        if self.engine == "math-verify":
            _POOLS.get(self.workers, self.deadline_s, self.memory_mb).warm()

    def extract(self, response: str) -> str | None:
        """The answer that would be graded (see :func:`~rolegym.verifiers.extract.final_answer`)."""
        found = final_answer(response, self.fallbacks)
        return found[0] if found else None

    def _key(self, reference: str, answer: str) -> tuple[str, ...]:
        return (self.engine, reference, answer)

    def verify_many(self, items: Sequence[tuple[Task, str]]) -> list[Verdict]:
        """Grade the pairs; what needs math-verify goes to the worker pool in one batch."""
        start = time.perf_counter()
        verdicts: list[Verdict | None] = [None] * len(items)
        deferred: dict[tuple[str, ...], tuple[str, list[int], dict[str, Any]]] = {}
        for i, (task, response) in enumerate(items):
            reference = str(task.answer)
            found = final_answer(response, self.fallbacks)
            if found is None:
                verdicts[i] = Verdict(False, "no_answer", None, "no final answer found")
                continue
            answer, how = strip_invisible(found[0]), found[1]
            key = self._key(reference, answer)
            if key in deferred:
                deferred[key][1].append(i)
                continue
            hit = _CACHE.get(key) if self.cache else None
            if hit is not None:
                verdicts[i] = hit
                continue
            verdict = self._fast(reference, answer, how)
            if isinstance(verdict, Verdict):
                verdicts[i] = verdict
                if self.cache:
                    _CACHE.put(key, verdict)
            else:
                deferred[key] = (verdict[0], [i], verdict[1])
        if deferred:
            self._run_engine(deferred, verdicts)
        elapsed = time.perf_counter() - start
        per_item = elapsed / max(1, len(items))
        return [
            Verdict(v.correct, v.status, v.answer, v.reason, v.detail, per_item) for v in verdicts
        ]

    def _fast(self, reference: str, answer: str, how: str) -> Verdict | tuple[str, dict[str, Any]]:
        """A verdict from the cheap tiers, or what to send to math-verify."""
        limit = check(answer)
        if limit is not None:
            return Verdict(
                False, "rejected", answer, limit, {"tier": "limits", "extracted_by": how}
            )
        exact = decide(reference, answer)
        detail: dict[str, Any] = {"tier": exact.tier, "extracted_by": how, **exact.detail}
        if exact.correct is not None:
            status = "correct" if exact.correct else "incorrect"
            return Verdict(
                exact.correct, status, answer, f"decided by the {exact.tier} rule", detail
            )
        if self.engine == "exact":
            return Verdict(False, "unresolved", answer, "the exact tier could not decide", detail)
        return exact.answer, detail

    def _run_engine(
        self,
        deferred: dict[tuple[str, ...], tuple[str, list[int], dict[str, Any]]],
        verdicts: list[Verdict | None],
    ) -> None:
        keys = list(deferred)
        payloads = [{"gold": key[1], "answer": deferred[key][0]} for key in keys]
        results = _POOLS.get(self.workers, self.deadline_s, self.memory_mb).run_many(payloads)
        for key, result in zip(keys, results, strict=True):
            _, indices, detail = deferred[key]
            detail = {**detail, "tier": "math-verify"}
            answer = key[2]
            if result.status == "timeout":
                late = f"math-verify ran past the {self.deadline_s:g} s deadline"
                verdict = Verdict(False, "timeout", answer, late, detail)
            elif result.status == "error":
                verdict = Verdict(False, "engine_error", answer, str(result.value), detail)
            else:
                out = result.value
                detail.update(parsed=out["parsed"], reference=out["reference"])
                reason = {
                    "bad_reference": "math-verify cannot parse the reference; skip this task",
                    "unparsable": "math-verify cannot parse the answer",
                }.get(out["status"], "decided by math-verify")
                verdict = Verdict(out["correct"], out["status"], answer, reason, detail)
            for i in indices:
                verdicts[i] = verdict
            if self.cache and verdict.status not in ("engine_error", "timeout"):
                _CACHE.put(key, verdict)  # a timeout depends on the deadline and the load
