"""Turning assertion-style tests (HumanEval, MBPP) into function-call tests.

The argument lists of the calls to the function under test that appear in the assertions,
when they are literals, become function-call tests; their expected values are what the
trusted reference solution returns on them, run by a :class:`~rolegym.tasks.base.CallRunner`
that the caller passes in (the code verifier's sandbox, :class:`rolegym.verifiers.CodeVerifier`;
task sources sit below the verifiers and import none). When no call can be converted, the
assertions are kept under the clearly labelled ``"assert"`` fallback protocol, where the
untrusted program decides (see :mod:`rolegym.verifiers.code`).
"""

from __future__ import annotations

import ast
import json
from typing import Any

from rolegym.tasks.base import CALL_FAILED, CallRunner, TestCase

__all__ = [
    "CALL_FAILED",
    "FALLBACK_NOTE",
    "CallRunner",
    "convert_assertions",
    "literal_calls",
    "need_runner",
]


def need_runner(runner: CallRunner | None, what: str) -> CallRunner:
    """``runner``, or a clear error naming what needed one."""
    if runner is None:
        raise ValueError(
            f"converting {what} runs reference solutions: pass runner= (a CallRunner such as "
            "rolegym.verifiers.CodeVerifier; rolegym.make's environments pass one)"
        )
    return runner


FALLBACK_NOTE = (
    "assertions run inside the sandbox after the program: the untrusted process decides, so "
    "reward hacks such as an always-equal return value can pass these tests"
)


def literal_calls(test_source: str, callee: str) -> list[list[Any]]:
    """Argument lists of the ``callee(...)`` calls in ``test_source`` (literal arguments only)."""
    calls: list[list[Any]] = []
    for node in ast.walk(ast.parse(test_source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if node.func.id != callee or node.keywords:
            continue
        try:
            args = [ast.literal_eval(a) for a in node.args]
        except (ValueError, SyntaxError, TypeError):
            continue
        try:
            args = json.loads(json.dumps(args))  # what crosses the sandbox boundary
        except (TypeError, ValueError):
            continue  # sets, complex numbers, bytes: not JSON
        if args not in calls:
            calls.append(args)
    return calls


def convert_assertions(
    reference: str,
    entry: str,
    test_source: str,
    callee: str,
    fallback_source: str,
    verifier: CallRunner,
    fallback_prelude: str = "",
) -> tuple[list[TestCase], str | None]:
    """Function-call tests derived from assertions, or the fallback.

    Args:
        reference: A trusted solution defining ``entry``.
        entry: The function's name.
        test_source: The assertion code to read calls from.
        callee: The name the assertions call (``"candidate"`` in HumanEval, ``entry`` in MBPP).
        fallback_source: Test code to run after a program when nothing converts.
        verifier: What runs the reference (a :class:`CallRunner`, such as
            :class:`rolegym.verifiers.CodeVerifier`).
        fallback_prelude: Code to run before the program in the fallback (helpers the task
            provides, which the program may redefine).

    Returns:
        The tests, and the fallback note when the fallback was used (else ``None``).
    """
    calls = literal_calls(test_source, callee)
    outputs = verifier.call_outputs(reference, entry, calls) if calls else []
    tests = [
        TestCase(json.dumps(c), json.dumps(o), "call")
        for c, o in zip(calls, outputs, strict=True)
        if o is not CALL_FAILED
    ]
    if tests:
        return tests, None
    return [TestCase(fallback_source, fallback_prelude, "assert")], FALLBACK_NOTE
