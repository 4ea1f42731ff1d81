"""Code answer checking: run the last fenced Python block against the task's tests.

Two test protocols:

- ``stdio``: the program reads the test's input on standard input; its standard output is
  compared with the expected output in the parent. Rule: both are split into lines and
  trailing blank lines are ignored; the line counts must agree, and each pair of lines must
  have the same whitespace-separated tokens, where two tokens that both read as floats (and
  are not both integers) match within an absolute or relative tolerance of 1e-6.
- ``call``: a small driver inside the sandbox executes the program, calls the task's
  ``fn_name`` with each test's arguments and writes each result as JSON. Only exact builtin
  types cross back (``int``, ``float``, ``str``, ``bool``, ``None``, ``list``/``tuple``,
  ``dict`` with string keys); anything else is a wrong answer. Expected outputs never enter
  the sandbox: the parent compares.

Verdicts: ``AC``, ``WA``, ``TLE``, ``MLE``, ``OLE``, ``RE``, ``SANDBOX_ERROR`` (an
infrastructure failure, never a pass) and ``no_code``. By default grading stops at the first
failing test (the 0/1 reward); ``run_all=True`` runs every test and reports the pass fraction.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rolegym.tasks.base import Task, TestCase
from rolegym.verifiers.base import Verdict, Verifier
from rolegym.verifiers.extract import after_thinking, last_code_block
from rolegym.verifiers.sandbox import Isolation, Limits, RunResult, run_python

__all__ = ["CodeVerifier", "outputs_match"]

_STATUS_TO_VERDICT = {
    "timeout": "TLE",
    "memory": "MLE",
    "output_limit": "OLE",
    "error": "RE",
    "sandbox_error": "SANDBOX_ERROR",
}

_DRIVER = r"""
import json, sys
_EXACT = (int, float, str, bool, type(None))
def _plain(x, depth=0):
    if depth > 100:
        raise TypeError("too deep")
    t = type(x)
    if t in _EXACT:
        return x
    if t in (list, tuple):
        return [_plain(v, depth + 1) for v in x]
    if t is dict and all(type(k) is str for k in x):
        return {k: _plain(v, depth + 1) for k, v in x.items()}
    raise TypeError("result of type %s is not a plain builtin value" % t.__name__)
_calls = json.loads(sys.stdin.read())
_out = sys.stdout
sys.stdout = sys.stderr  # the program's prints must not mix with results
_ns = {"__name__": "solution"}
exec(compile(open("solution.py", encoding="utf-8").read(), "solution.py", "exec"), _ns)
_fn = _ns.get(__FN__)
if not callable(_fn):
    raise SystemExit("no function " + __FN__)
for _args in _calls:
    try:
        _line = json.dumps({"ok": _plain(_fn(*_args))}, allow_nan=True)
    except Exception as _e:
        _line = json.dumps({"error": type(_e).__name__})
    _out.write(_line + "\n")
    _out.flush()
"""


def _floaty(token: str) -> float | None:
    try:
        return float(token)
    except ValueError:
        return None


def _tokens_match(a: str, b: str) -> bool:
    if a == b:
        return True
    fa, fb = _floaty(a), _floaty(b)
    if fa is None or fb is None or (a.lstrip("-").isdigit() and b.lstrip("-").isdigit()):
        return False
    return math.isclose(fa, fb, rel_tol=1e-6, abs_tol=1e-6)


def outputs_match(got: str, expected: str) -> bool:
    """Compare standard outputs by the documented line, whitespace and float rule."""

    def lines(s: str) -> list[str]:
        out = [line.rstrip() for line in s.splitlines()]
        while out and not out[-1]:
            out.pop()
        return out

    g, e = lines(got), lines(expected)
    if len(g) != len(e):
        return False
    for gl, el in zip(g, e, strict=False):
        if gl == el:
            continue
        gt, et = gl.split(), el.split()
        if len(gt) != len(et) or not all(_tokens_match(x, y) for x, y in zip(gt, et, strict=False)):
            return False
    return True


def _values_equal(got: Any, expected: Any) -> bool:
    if isinstance(expected, float) or isinstance(got, float):
        if isinstance(got, bool) or isinstance(expected, bool):
            return got is expected
        if isinstance(got, (int, float)) and isinstance(expected, (int, float)):
            return math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-6)
        return False
    if isinstance(expected, list) and isinstance(got, list):
        return len(got) == len(expected) and all(map(_values_equal, got, expected))
    if isinstance(expected, dict) and isinstance(got, dict):
        return got.keys() == expected.keys() and all(
            _values_equal(got[k], expected[k]) for k in expected
        )
    return type(got) is type(expected) and got == expected


class CodeVerifier(Verifier):
    """Grades Python programs against stdin/stdout or function-call tests in a sandbox.

    Args:
        isolation: ``"bwrap"`` (default) or the weaker ``"rlimits"``, which must be asked for.
        limits: Per-test resource limits (3 s wall per test by default, as the paper).
        run_all: Run every test and report the pass fraction instead of stopping at the
            first failure.
        max_workers: Threads grading different responses at once (default: CPU count).
        cache_size: How many (program, task) verdicts to memoise (GRPO groups repeat).
    """

    family = "code"

    def __init__(
        self,
        *,
        isolation: Isolation = "bwrap",
        limits: Limits | None = None,
        run_all: bool = False,
        max_workers: int | None = None,
        cache_size: int = 4096,
    ) -> None:
        self.isolation = isolation
        self.limits = limits or Limits()
        self.run_all = run_all
        self.max_workers = max_workers or os.cpu_count() or 1
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str], Verdict] = OrderedDict()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = OrderedDict()
        return state

    def extract(self, response: str) -> str | None:
        """The last closed fenced Python block after any ``</think>``."""
        return last_code_block(after_thinking(response))

    def _run_stdio(self, program: str, test: TestCase) -> tuple[str, str]:
        r = run_python(
            {"solution.py": program},
            "solution.py",
            test.input.encode("utf-8"),
            limits=self.limits,
            isolation=self.isolation,
        )
        if r.status != "ok":
            return _STATUS_TO_VERDICT[r.status], _tail(r)
        got = r.stdout.decode("utf-8", errors="replace")
        return ("AC", "") if outputs_match(got, test.output) else ("WA", "output differs")

    def _run_calls(self, program: str, fn: str, tests: Sequence[TestCase]) -> list[tuple[str, str]]:
        calls = [json.loads(t.input) for t in tests]
        limits = Limits(**{**self.limits.__dict__, "wall_s": self.limits.wall_s * len(tests)})
        r = run_python(
            {"solution.py": program, "driver.py": _DRIVER.replace("__FN__", repr(fn))},
            "driver.py",
            json.dumps(calls).encode(),
            limits=limits,
            isolation=self.isolation,
        )
        lines = r.stdout.decode("utf-8", errors="replace").splitlines()
        results: list[tuple[str, str]] = []
        for k, test in enumerate(tests):
            if k >= len(lines):
                status = _STATUS_TO_VERDICT.get(r.status, "RE")
                results.append((status, _tail(r)))
                if not self.run_all:
                    break
                continue
            try:
                got = json.loads(lines[k])
            except json.JSONDecodeError:
                results.append(("RE", "malformed result line"))
                continue
            if not isinstance(got, dict) or "ok" not in got:
                results.append(
                    ("RE", str(got.get("error", "error")) if isinstance(got, dict) else "error")
                )
            elif _values_equal(got["ok"], json.loads(test.output)):
                results.append(("AC", ""))
            else:
                results.append(("WA", "return value differs"))
            if results[-1][0] != "AC" and not self.run_all:
                break
        return results

    def _grade(self, task: Task, response: str) -> Verdict:
        start = time.perf_counter()
        program = self.extract(response)
        if program is None:
            return Verdict(
                False,
                "no_code",
                None,
                "no closed ```python block",
                elapsed_s=time.perf_counter() - start,
            )
        key = (task.id, program)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        call_tests = [t for t in task.tests if t.protocol == "call"]
        results: list[tuple[str, str]] = []
        if call_tests:
            results += self._run_calls(program, str(task.meta.get("fn_name")), call_tests)
        for test in task.tests:
            if test.protocol != "stdio" or (
                results and results[-1][0] != "AC" and not self.run_all
            ):
                continue
            results.append(self._run_stdio(program, test))
        statuses = [s for s, _ in results]
        passed = statuses.count("AC")
        failing = next((i for i, s in enumerate(statuses) if s != "AC"), None)
        ok = failing is None and passed == len(task.tests)
        status = "AC" if ok else (statuses[failing] if failing is not None else "RE")
        reason = (
            "all tests passed" if ok else f"test {failing}: {status} {results[failing][1]}".strip()
        )
        verdict = Verdict(
            ok, status, program, reason,
            {"tests": [{"index": i, "status": s} for i, s in enumerate(statuses)],
             "passed": passed, "total": len(task.tests),
             "pass_fraction": passed / len(task.tests), "isolation": self.isolation},
            time.perf_counter() - start,
        )  # fmt: skip
        if status != "SANDBOX_ERROR":
            self._cache[key] = verdict
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return verdict

    def verify_many(self, items: Sequence[tuple[Task, str]]) -> list[Verdict]:
        """Grade the pairs, several at once on threads (each run is its own process)."""
        if len(items) <= 1 or self.max_workers == 1:
            return [self._grade(t, r) for t, r in items]
        with ThreadPoolExecutor(min(self.max_workers, len(items))) as pool:
            return list(pool.map(lambda item: self._grade(*item), items))


def _tail(r: RunResult) -> str:
    return (
        r.stderr.decode("utf-8", errors="replace").strip().splitlines()[-1:][0][:200]
        if r.stderr.strip()
        else r.status
    )
