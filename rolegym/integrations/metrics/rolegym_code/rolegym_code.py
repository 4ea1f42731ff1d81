r"""``rolegym_code``: rolegym's sandboxed code verifier as a Hugging Face ``evaluate`` metric.

A drop-in for ``code_eval`` (same inputs, same unbiased pass@k) that runs every candidate in
rolegym's bubblewrap sandbox (no network, a private filesystem, CPU, memory and time limits),
never in the evaluating process:

    import evaluate
    from rolegym.integrations.evaluate import metric_path

    metric = evaluate.load(metric_path("code"))  # a local directory: nothing is downloaded
    metric.compute(
        predictions=[["def add(a, b):\n    return a + b", "def add(a, b):\n    return a - b"]],
        references=["assert add(1, 2) == 3"],
        k=[1, 2],
    )
    # {"pass@1": 0.5, "pass@2": 1.0}

Predictions: one list of candidate programs per problem (a fenced ```` ```python ```` block is
used as is; plain code is fenced for the verifier). References, one per problem, either
``code_eval``'s test code (run after the program; it passes if it raises nothing) or a JSON
object in rolegym's test format::

    {"tests": [{"input": "1 2\n", "output": "3\n", "protocol": "stdio"}, ...],
     "fn_name": "add"}   # fn_name only for protocol "call" (input: JSON args, output: JSON)

``timeout_s`` bounds each test's run (default 3 s); ``per_item=True`` adds each candidate's
verdict status per problem (``AC`` passed; ``WA``, ``RE``, ``TLE``, ... as the verifier's).
"""

from __future__ import annotations

import json
from typing import Any

import datasets
import evaluate
import numpy as np

from rolegym.tasks.base import Task, TestCase
from rolegym.verifiers import CodeVerifier


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimator of Chen et al. (2021), as ``code_eval`` computes it."""
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def _task(index: int, reference: str) -> Task:
    text = reference.strip()
    if text.startswith("{"):
        try:
            spec = json.loads(text)
            tests = tuple(TestCase(**t) for t in spec["tests"])
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"reference {index} is not rolegym's test JSON: {e}") from e
        meta = {"fn_name": spec["fn_name"]} if spec.get("fn_name") else {}
        return Task(id=f"problem-{index}", prompt="", family="code", tests=tests, meta=meta)
    test = TestCase(input=reference, output="", protocol="assert")
    return Task(id=f"problem-{index}", prompt="", family="code", tests=(test,))


def _fenced(program: str) -> str:
    return program if "```" in program else f"```python\n{program}\n```"


class RolegymCode(evaluate.Metric):
    """pass@k of candidate programs, run in rolegym's sandbox."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description="pass@k of programs run in rolegym's bubblewrap sandbox.",
            citation="",
            inputs_description=(
                "predictions: a list of candidate programs per problem; references: test code "
                "(as code_eval) or rolegym's test JSON per problem."
            ),
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("string")),
                    "references": datasets.Value("string"),
                }
            ),
            homepage="https://github.com/rolegym/rolegym",
            license="Apache-2.0",
        )

    def _compute(
        self,
        predictions: list[list[str]],
        references: list[str],
        k: list[int] | tuple[int, ...] = (1,),
        timeout_s: float = 3.0,
        per_item: bool = False,
    ) -> dict[str, Any]:
        if any(int(x) < 1 for x in k):
            raise ValueError(f"k must hold positive integers, got {list(k)}")
        tasks = [_task(i, ref) for i, ref in enumerate(references)]
        items = [
            (task, _fenced(program))
            for task, programs in zip(tasks, predictions, strict=True)
            for program in programs
        ]
        verifier = CodeVerifier(timeout_s=timeout_s, cache=False)
        try:
            verdicts = verifier.verify_many(items) if items else []
        finally:
            verifier.close()
        out: dict[str, Any] = {}
        statuses: list[list[str]] = []
        counts: list[tuple[int, int]] = []
        start = 0
        for programs in predictions:
            mine = verdicts[start : start + len(programs)]
            start += len(programs)
            counts.append((len(mine), sum(v.correct for v in mine)))
            statuses.append([v.status for v in mine])
        for kk in k:
            usable = [(n, c) for n, c in counts if n >= kk]
            if usable:
                out[f"pass@{kk}"] = float(np.mean([pass_at_k(n, c, int(kk)) for n, c in usable]))
        if per_item:
            out["status"] = statuses
        return out
