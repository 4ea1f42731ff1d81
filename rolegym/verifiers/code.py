"""Code answer checking: run the last fenced Python block against the task's tests.

The untrusted program only produces data; this trusted parent decides. Each program runs in
one sandbox (:mod:`rolegym.verifiers.sandbox`) with the trusted runner
(:mod:`rolegym.verifiers.runner`), which forks the started interpreter once per test, so a
program costs one sandbox start however many tests it has. Expected outputs never enter the
sandbox.

Two test protocols:

- ``stdio``: the test's input is fed on standard input; standard output is compared here.
  Rule: both are split into lines and trailing blank lines are ignored; the line counts must
  agree, and each pair of lines must have the same whitespace-separated tokens, where an
  integer expected token needs an equal integer and any other number matches within an
  absolute or relative tolerance of 1e-6.
- ``call``: the runner calls the task's ``fn_name`` with each test's arguments and returns
  each result as JSON of exact builtin types only (``int``, ``float``, ``str``, ``bool``,
  ``None``, ``list``/``tuple``, ``dict`` with string keys); anything else, an always-equal
  object or an ``int`` subclass included, is a runtime error. Results are compared here. A
  result is only what the function returned: the calls are served by a process that none of
  the program's threads, exit handlers or helper processes live in, over a connection only it
  holds, each reply tied to its call by a fresh nonce (see
  :mod:`rolegym.verifiers.runner`); records that other code writes are refused.
- ``assert`` (a labelled fallback for assertion-style tests that cannot be converted, such as
  HumanEval problems whose checks draw random inputs): the test's ``output`` (a prelude, such
  as helpers the prompt defines), the program and the test's ``input`` run in that order in the
  sandbox, and the test passes if nothing raises. Here the untrusted process decides, so the
  reward hacks the other protocols stop (an always-equal return value) can pass; tasks that
  use it say so in ``meta["tests_fallback"]``.

Verdicts: ``AC``, ``WA``, ``TLE``, ``MLE``, ``OLE``, ``RE``, ``SANDBOX_ERROR`` (an
infrastructure failure, never a pass) and ``no_code``. By default the run stops at the first
failing test (the 0/1 reward); ``run_all=True`` runs every test and reports the pass fraction.
Identical (task, program) pairs are graded once (GRPO groups repeat programs); verification
of many responses runs on a bounded thread pool, which is also the back-pressure: at most
``max_workers`` sandboxes exist at once, each within its memory limit.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any

# CALL_FAILED marks a call whose result could not be obtained (CodeVerifier.call_outputs); it
# is defined with the CallRunner protocol that call_outputs implements, below the verifiers.
from rolegym.tasks.base import CALL_FAILED, Task, TestCase
from rolegym.verifiers import sandbox
from rolegym.verifiers.base import Verdict, Verifier
from rolegym.verifiers.extract import after_thinking, last_code_block
from rolegym.verifiers.sandbox import Isolation, Limits
from rolegym.verifiers.shared import LRUCache, PoolRegistry
from rolegym.verifiers.zygote import ZygotePool

__all__ = ["CALL_FAILED", "CodeVerifier", "outputs_match", "shutdown", "values_equal"]

_RUNNER = resources.files("rolegym.verifiers").joinpath("runner.py").read_text("utf-8")
_STATUS = {
    "timeout": "TLE",
    "memory": "MLE",
    "output_limit": "OLE",
    "error": "RE",
    "killed": "RE",
    "sandbox_error": "SANDBOX_ERROR",
}


_POOLS: PoolRegistry[ZygotePool] = PoolRegistry(ZygotePool)
_CACHE: LRUCache[Verdict] = LRUCache(16_384)
_RUN = threading.local()  # per grading thread: did the sandbox time out or break?


def shutdown() -> None:
    """Stop every warm sandbox of this process (also done at exit)."""
    _POOLS.shutdown()


def _floaty(token: str) -> float | None:
    try:
        return float(token)
    except ValueError:
        return None


_INTEGER = re.compile(r"[+-]?[0-9]+")


def _tokens_match(got: str, expected: str) -> bool:
    if got == expected:
        return True
    if _INTEGER.fullmatch(expected):  # an integer answer must be that integer, exactly
        return bool(_INTEGER.fullmatch(got)) and int(got) == int(expected)
    fg, fe = _floaty(got), _floaty(expected)
    if fg is None or fe is None:
        return False
    return math.isclose(fg, fe, rel_tol=1e-6, abs_tol=1e-6)


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
    for gl, el in zip(g, e, strict=True):
        if gl == el:
            continue
        gt, et = gl.split(), el.split()
        if len(gt) != len(et) or not all(_tokens_match(x, y) for x, y in zip(gt, et, strict=True)):
            return False
    return True


def values_equal(got: Any, expected: Any) -> bool:
    """Compare decoded JSON values: exact types; a float expected value within 1e-6.

    An integer expected value needs an equal integer (``1e9`` is not ``1000000007``).
    """
    if isinstance(got, bool) or isinstance(expected, bool):
        return got is expected
    if isinstance(expected, float):
        if isinstance(got, (int, float)):
            return math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-6)
        return False
    if isinstance(got, float):
        return False
    if isinstance(expected, list) and isinstance(got, list):
        return len(got) == len(expected) and all(map(values_equal, got, expected))
    if isinstance(expected, dict) and isinstance(got, dict):
        return got.keys() == expected.keys() and all(
            values_equal(got[k], expected[k]) for k in expected
        )
    return type(got) is type(expected) and got == expected


class CodeVerifier(Verifier):
    """Grades Python programs against stdin/stdout or function-call tests in a sandbox.

    Args:
        isolation: ``"bwrap"`` (default) or the weaker ``"rlimits"``, which must be asked for.
        timeout_s: Wall-clock budget of one test (3 s, as the paper).
        limits: Other sandbox limits (the wall deadline of a run is derived from the tests).
        run_all: Run every test and report the pass fraction instead of stopping at the
            first failure.
        max_workers: Sandboxes at once when grading many responses (default: CPU count).
        cache: Memoise verdicts per (tests, program, settings), process-wide, so that the
            episodes of a GRPO group share them.
        warm: Reuse warm sandboxes (:mod:`rolegym.verifiers.zygote`) instead of starting one
            per program.
    """

    family = "code"

    def __init__(
        self,
        *,
        isolation: Isolation = "bwrap",
        timeout_s: float = 3.0,
        limits: Limits | None = None,
        run_all: bool = False,
        max_workers: int | None = None,
        cache: bool = True,
        warm: bool = True,
    ) -> None:
        self.isolation = isolation
        self.warm = warm
        self.timeout_s = timeout_s
        self.limits = limits or Limits()
        self.run_all = run_all
        self.max_workers = max_workers or os.cpu_count() or 1
        self.cache = cache

    def extract(self, response: str) -> str | None:
        """The last closed fenced Python block after any ``</think>``."""
        return last_code_block(after_thinking(response))

    def _limits(self, n_tests: int) -> Limits:
        wall = 2.0 + n_tests * (self.timeout_s + 0.25)
        cpu = max(self.limits.cpu_s, math.ceil(self.timeout_s) + 1)
        return Limits(**{**self.limits.__dict__, "wall_s": wall, "cpu_s": cpu})

    def _run(self, program: str, spec: dict[str, Any], judge: Any) -> tuple[list[str], str]:
        """Run the runner over ``spec``; ``judge(i, record)`` gives each test's verdict."""
        statuses: list[str] = []
        n_tests = len(spec.get("inputs") or spec.get("calls") or spec.get("sources") or [])
        limits = self._limits(n_tests)

        def on_record(record: dict[str, Any]) -> bool:
            statuses.append(judge(len(statuses), record))
            return statuses[-1] == "AC" or self.run_all

        if self.warm and self.isolation == "bwrap" and sandbox.bwrap_available():
            outcome, _ = _POOLS.get(self.limits, self.max_workers).run(
                program, spec, limits.wall_s, on_record
            )
            if outcome in ("timeout", "died"):
                _RUN.unsettled = True
            if outcome == "timeout" and (not statuses or statuses[-1] == "AC"):
                statuses.append("TLE")
            elif outcome == "died" and (not statuses or statuses[-1] == "AC"):
                statuses.append("RE")  # the program took its runner down
            return statuses or ["RE"], ""

        def on_output(data: bytes) -> bool:
            lines = data.decode("utf-8", "replace").split("\n")[:-1]
            while len(statuses) < len(lines):
                try:
                    record = json.loads(lines[len(statuses)])
                except ValueError:
                    record = {"error": "malformed result"}
                if not isinstance(record, dict):
                    record = {"error": "malformed result"}
                if not on_record(record):
                    return False
            return True

        files = {"solution.py": program, "runner.py": _RUNNER}
        result = sandbox.run_python(
            files,
            "runner.py",
            json.dumps(spec).encode(),
            limits=limits,
            isolation=self.isolation,
            on_output=on_output,
        )
        if result.status not in ("ok", "stopped") or not statuses:
            on_output(result.stdout)
        if result.status == "sandbox_error":
            return ["SANDBOX_ERROR"], result.stderr.decode("utf-8", "replace")[-200:]
        if result.status in ("timeout", "memory", "output_limit") and (
            not statuses or statuses[-1] == "AC"
        ):
            statuses.append(_STATUS[result.status])
        if not statuses:
            return ["RE"], result.stderr.decode("utf-8", "replace").strip()[-200:]
        return statuses, ""

    def call_outputs(self, program: str, fn: str, calls: Sequence[list[Any]]) -> list[Any]:
        """What ``fn`` of ``program`` returns on each argument list, run in the sandbox.

        Used to derive expected outputs from a trusted reference solution (for example when
        converting assertion-style tests). A call that fails, or returns something other than
        plain builtin data, gives :data:`CALL_FAILED`.

        Raises:
            RuntimeError: If the sandbox cannot run, or the reference times out: the outputs
                would be incomplete, and a cache built from them would persist the loss.
        """
        records: dict[int, dict[str, Any]] = {}

        def judge(i: int, record: dict[str, Any]) -> str:
            records[i] = record
            return "AC"

        spec = {
            "mode": "call",
            "fn": fn,
            "calls": [list(c) for c in calls],
            "timeout": self.timeout_s,
        }
        _RUN.unsettled = False
        statuses, note = self._run(program, spec, judge)
        if statuses == ["SANDBOX_ERROR"] or _RUN.unsettled or "TLE" in statuses:
            raise RuntimeError(
                f"could not run the reference solution in the sandbox ({note or statuses[-1]}); "
                "derived tests would be incomplete"
            )
        return [
            records[i]["ok"] if "ok" in records.get(i, {}) else CALL_FAILED
            for i in range(len(calls))
        ]

    def _stdio(self, program: str, tests: Sequence[TestCase]) -> tuple[list[str], str]:
        def judge(i: int, record: dict[str, Any]) -> str:
            if "compile_error" in record:
                return "RE"
            if record.get("status") != "ok":
                return _STATUS.get(record.get("status", "error"), "RE")
            return "AC" if outputs_match(record["out"], tests[i].output) else "WA"

        spec = {
            "mode": "stdio",
            "inputs": [t.input for t in tests],
            "timeout": self.timeout_s,
            "output_limit": self.limits.output_mb * 1024 * 1024,
        }
        return self._run(program, spec, judge)

    def _calls(self, program: str, fn: str, tests: Sequence[TestCase]) -> tuple[list[str], str]:
        def judge(i: int, record: dict[str, Any]) -> str:
            if "compile_error" in record or "error" in record:
                return "RE"
            if "ok" not in record:
                return _STATUS.get(record.get("status", "error"), "RE")
            return "AC" if values_equal(record["ok"], json.loads(tests[i].output)) else "WA"

        spec = {
            "mode": "call",
            "fn": fn,
            "calls": [json.loads(t.input) for t in tests],
            "timeout": self.timeout_s,
        }
        return self._run(program, spec, judge)

    def _asserts(self, program: str, tests: Sequence[TestCase]) -> tuple[list[str], str]:
        def judge(i: int, record: dict[str, Any]) -> str:
            if "compile_error" in record:
                return "RE"
            status = record.get("status", "error")
            return {"ok": "AC", "assert_failed": "WA"}.get(status) or _STATUS.get(status, "RE")

        spec = {
            "mode": "assert",
            "sources": [t.input for t in tests],
            "preludes": [t.output for t in tests],
            "timeout": self.timeout_s,
        }
        return self._run(program, spec, judge)

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
        key = self._key(task, program)
        _RUN.unsettled = False
        cached = _CACHE.get(key) if self.cache else None
        if cached is not None:
            return cached
        fn = str(task.meta.get("fn_name"))
        runs = {
            "call": lambda tests: self._calls(program, fn, tests),
            "stdio": lambda tests: self._stdio(program, tests),
            "assert": lambda tests: self._asserts(program, tests),
        }
        statuses: list[str] = []
        note = ""
        for protocol, run in runs.items():
            tests = [t for t in task.tests if t.protocol == protocol]
            if not tests or (statuses and not self.run_all and statuses[-1] != "AC"):
                continue
            more, more_note = run(tests)
            statuses += more
            note = note or more_note
        passed = statuses.count("AC")
        failing = next((i for i, s in enumerate(statuses) if s != "AC"), None)
        ok = failing is None and passed == len(task.tests)
        status = "AC" if ok else (statuses[failing] if failing is not None else "RE")
        reason = "all tests passed" if ok else f"test {failing}: {status} {note}".strip()
        verdict = Verdict(
            ok,
            status,
            program,
            reason,
            {
                "tests": [{"index": i, "status": s} for i, s in enumerate(statuses)],
                "passed": passed,
                "total": len(task.tests),
                "pass_fraction": passed / len(task.tests),
                "isolation": self.isolation,
            },
            time.perf_counter() - start,
        )
        if self.cache and status not in ("SANDBOX_ERROR", "TLE") and not _RUN.unsettled:
            _CACHE.put(key, verdict)  # timeouts and broken slots may go differently next time
        return verdict

    def _key(self, task: Task, program: str) -> tuple[Any, ...]:
        tests = hashlib.sha256(repr((task.tests, task.meta.get("fn_name"))).encode()).hexdigest()
        return (
            tests,
            program,
            self.isolation,
            self.warm,
            self.timeout_s,
            self.run_all,
            self.limits,
        )

    def verify_many(self, items: Sequence[tuple[Task, str]]) -> list[Verdict]:
        """Grade the pairs, up to ``max_workers`` sandboxes at a time."""
        if len(items) <= 1 or self.max_workers == 1:
            return [self._grade(t, r) for t, r in items]
        with ThreadPoolExecutor(min(self.max_workers, len(items))) as pool:
            return list(pool.map(lambda item: self._grade(*item), items))
