r"""``rolegym_code``: rolegym's sandboxed code verifier as a Hugging Face ``evaluate`` metric.

A drop-in for ``code_eval`` (same inputs and arguments, same unbiased pass@k) that runs every
candidate in rolegym's bubblewrap sandbox (no network, a private filesystem, CPU, memory and
time limits), never in the evaluating process, and so needs no ``HF_ALLOW_CODE_EVAL``:

    import evaluate
    from rolegym.integrations.evaluate import metric_path

    metric = evaluate.load(metric_path("code"))  # a local directory: nothing is downloaded
    metric.compute(
        predictions=[["def add(a, b):\n    return a + b", "def add(a, b):\n    return a - b"]],
        references=["assert add(1, 2) == 3"],
        k=[1, 2],
    )
    # {"pass@1": 0.5, "pass@2": 1.0}

**Predictions**: one list of candidate programs per problem (at least one each). A candidate
is graded as rolegym grades a response: plain code is the program; a candidate with a fenced
block (```` ```python ````) is a model response, whose last closed block is the program.

**References**: one string per problem, in either format:

- ``code_eval``'s test code, run after the program in the same interpreter; the candidate
  passes if nothing raises (rolegym's ``assert`` protocol).
- A JSON object in rolegym's test format (:class:`rolegym.tasks.base.TestCase`)::

      {"tests": [{"input": "1 2\n", "output": "3\n", "protocol": "stdio"}, ...],
       "fn_name": "add"}

  ``protocol`` is ``"stdio"`` (default: ``input`` fed on standard input, standard output
  compared with ``output`` token by token), ``"call"`` (``fn_name`` called with the JSON array
  ``input`` as positional arguments, its return value compared with the JSON ``output``;
  needs ``"fn_name"``) or ``"assert"`` (``input`` is test code run after the program,
  ``output`` a prelude run before it). A reference that starts with ``{`` must be this JSON.

**Arguments** (``code_eval``'s): ``k`` (an int or a list of them; default ``[1]``), ``timeout``
(seconds per test, default 3) and ``num_workers`` (sandboxes at once; default the CPU count);
rolegym's ``per_item=True`` adds each candidate's verdict status per problem (``"AC"`` passed;
``"WA"``, ``"RE"``, ``"TLE"``, ``"MLE"``, ``"OLE"``, ``"SANDBOX_ERROR"``, ``"no_code"``).

**Result**: ``{"pass@k": ...}`` for each ``k`` that every problem has at least ``k``
candidates for (``code_eval`` leaves the others out too), the mean over problems of the
unbiased estimator ``1 - C(n - c, k) / C(n, k)`` (n candidates, c of them passing). Unlike
``code_eval`` it is one dict, not a ``(pass_at_k, results)`` pair.

Raises a ``RuntimeError`` where bubblewrap cannot run: the programs are never run unsandboxed.
"""

from __future__ import annotations

import json
from typing import Any

import datasets
import evaluate
import numpy as np

from rolegym.tasks.base import Task, TestCase
from rolegym.verifiers import CodeVerifier, sandbox

_PROTOCOLS = ("stdio", "call", "assert")


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimator of Chen et al. (2021), as ``code_eval`` computes it.

    Args:
        n: Candidates of the problem.
        c: Candidates that passed.
        k: Candidates drawn.

    Returns:
        ``1 - C(n - c, k) / C(n, k)``: the chance that ``k`` of the ``n`` candidates, drawn
        without replacement, hold a passing one.
    """
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def _test(index: int, raw: Any) -> TestCase:
    """One test of a JSON reference, checked (a bad one is the caller's error, not a 0)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("input"), str):
        raise ValueError(f"test {index} needs a string 'input', got {raw!r}")
    unknown = sorted(set(raw) - {"input", "output", "protocol"})
    if unknown:
        raise ValueError(f"test {index} has unknown keys {unknown}")
    protocol = raw.get("protocol", "stdio")
    if protocol not in _PROTOCOLS:
        raise ValueError(f"test {index}: protocol must be one of {_PROTOCOLS}, got {protocol!r}")
    output = raw.get("output", "")
    if not isinstance(output, str):
        raise ValueError(f"test {index}: 'output' must be a string, got {output!r}")
    if protocol == "call":
        args = json.loads(raw["input"])  # a JSONDecodeError is a ValueError
        if not isinstance(args, list):
            raise ValueError(f"test {index}: a call's input is a JSON array of arguments")
        json.loads(output)
    return TestCase(input=raw["input"], output=output, protocol=protocol)


def _task(index: int, reference: str) -> Task:
    """The code task that ``reference`` describes (see the module docstring)."""
    text = reference.strip()
    if not text.startswith("{"):
        test = TestCase(input=reference, output="", protocol="assert")
        return Task(id=f"problem-{index}", prompt="", family="code", tests=(test,))
    try:
        spec = json.loads(text)
        if not isinstance(spec, dict) or not isinstance(spec.get("tests"), list):
            raise ValueError('expected an object {"tests": [...], "fn_name": ...}')
        tests = tuple(_test(i, t) for i, t in enumerate(spec["tests"]))
        if not tests:
            raise ValueError("no tests")
        fn_name = spec.get("fn_name")
        if any(t.protocol == "call" for t in tests) and not (
            isinstance(fn_name, str) and fn_name.isidentifier()
        ):
            raise ValueError(f"'call' tests need a function name 'fn_name', got {fn_name!r}")
    except ValueError as e:
        raise ValueError(f"reference {index} is not rolegym's test JSON: {e}") from e
    meta = {"fn_name": fn_name} if fn_name else {}
    return Task(id=f"problem-{index}", prompt="", family="code", tests=tests, meta=meta)


def _as_response(program: str) -> str:
    """Plain code as a fenced block, for the verifier's extraction; a response as it is."""
    return program if "```" in program else f"```python\n{program}\n```"


def _ks(k: int | list[int] | tuple[int, ...]) -> list[int]:
    ks = [k] if isinstance(k, int) else list(k)
    if not ks or any(isinstance(x, bool) or not isinstance(x, int) or x < 1 for x in ks):
        raise ValueError(f"k must hold positive integers, got {k!r}")
    return ks


class RolegymCode(evaluate.Metric):
    """pass@k of candidate programs, run in rolegym's sandbox (see the module docstring)."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description="pass@k of programs run in rolegym's bubblewrap sandbox.",
            citation="",
            inputs_description=(
                "predictions: a list of candidate programs per problem; references: test code "
                "(as code_eval) or rolegym's test JSON per problem; k, timeout, num_workers "
                "as code_eval; per_item: add each candidate's verdict status."
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
        k: int | list[int] | tuple[int, ...] = (1,),
        num_workers: int | None = None,
        timeout: float = 3.0,
        per_item: bool = False,
    ) -> dict[str, Any]:
        ks = _ks(k)
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        empty = [i for i, programs in enumerate(predictions) if not programs]
        if empty:
            raise ValueError(f"problems {empty} have no candidate programs")
        tasks = [_task(i, ref) for i, ref in enumerate(references)]
        if not sandbox.bwrap_available():
            raise RuntimeError(
                "rolegym_code runs every program under bubblewrap (bwrap), which cannot run "
                "here (install the bubblewrap package, and allow unprivileged user namespaces)"
            )
        items = [
            (task, _as_response(program))
            for task, programs in zip(tasks, predictions, strict=True)
            for program in programs
        ]
        verifier = CodeVerifier(timeout_s=float(timeout), max_workers=num_workers, cache=False)
        try:
            verdicts = verifier.verify_many(items)
        finally:
            verifier.close()
        statuses: list[list[str]] = []
        counts: list[tuple[int, int]] = []
        start = 0
        for programs in predictions:
            mine = verdicts[start : start + len(programs)]
            start += len(programs)
            counts.append((len(mine), sum(v.correct for v in mine)))
            statuses.append([v.status for v in mine])
        out: dict[str, Any] = {
            f"pass@{kk}": float(np.mean([pass_at_k(n, c, kk) for n, c in counts]))
            for kk in ks
            if all(n >= kk for n, _ in counts)
        }
        if per_item:
            out["status"] = statuses
        return out
