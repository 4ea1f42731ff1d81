"""Hostile inputs get a verdict on time, execute nothing, and leave no process behind.

The verifier also gives the same answers from threads, asyncio and many processes.
"""

from __future__ import annotations

import asyncio
import os
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest

from rolegym.tasks import Task
from rolegym.verifiers import MathVerifier
from rolegym.verifiers.math import shutdown
from tests.verifiers.math_corpus import CORPUS

DEADLINE = 1.0
SLOW = "\\boxed{(x+y+z)^{60}}"  # passes every limit; math-verify needs many seconds on it


def _late_bound(verifier: MathVerifier) -> float:
    """The latest a deadline-bound verdict may arrive, from a baseline measured now.

    The baseline is the slowest of five round trips of a cheap math-verify call under the
    machine's current load; the parent may be that much late to notice the deadline and kill
    the worker, so the bound is the deadline plus a second plus twenty baselines (on an idle
    machine about ``DEADLINE + 1.2`` s, far below the ~40 s ``SLOW`` runs unbounded).
    """
    task = Task(id="baseline", prompt="p", answer="2\\sqrt{2}")
    times = []
    for _ in range(5):
        start = time.monotonic()
        assert verifier.verify(task, "\\boxed{\\sqrt{8}}").correct
        times.append(time.monotonic() - start)
    return DEADLINE + 1.0 + 20 * max(times)


def _hostile(marker: Path) -> list[tuple[str, str, bool]]:
    """(response, reference, expected) for items 1-4 of the survey's list."""
    inject = f"__import__('os').system('touch {marker}')"
    return [
        ("", "2", False),
        ("   \n\t", "2", False),
        ("filler " * 150_000 + "\\boxed{2}", "2", True),
        ("$" * 100_000, "2", False),
        ("\x00\x01\x7f \\boxed{2}", "2", True),
        ("\udcff\ud800 \\boxed{2}", "2", True),
        ("\u202e\u200b\\boxed{\u200b2}", "2", True),
        ("\\boxed{}", "2", False),
        ("\\boxed{3", "3", False),
        ("\\boxed 3", "3", False),
        ("\\fbox{}", "2", False),
        ("\\boxed{" + "{" * 3000 + "2" + "}" * 3000 + "}", "2", False),
        ("\\boxed{" + "\\frac{1}{" * 300 + "2" + "}" * 300 + "}", "2", False),
        ("\\boxed{\\left(2}", "2", False),
        ("\\boxed{9^{9^{9^9}}}", "2", False),
        ("\\boxed{2003^{2002^{2001}}}", "2", False),
        ("\\boxed{10^{10^{100}}}", "2", False),
        ("\\boxed{(10^{100})!}", "2", False),
        ("\\boxed{\\sum_{k=1}^{10^{100}} k}", "2", False),
        ("\\boxed{\\prod_{k=1}^{10^{6}} k}", "2", False),
        ("\\boxed{\\int_0^{10^{100}} x\\,dx}", "2", False),
        (f"\\boxed{{{inject}}}", "0", False),
        (f'Answer: exec("{inject}")', "0", False),
        (f"\\boxed{{\\text{{{inject}}}}}", "0", False),
        (SLOW, "(x+y+z)^{61}", False),
    ]


def _children() -> list[int]:
    """This process's math-verify worker processes."""
    me = os.getpid()
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == me:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                if b"rolegym.verifiers.workers" in cmdline:  # math-verify workers only
                    kids.append(int(entry))
    return kids


@pytest.fixture
def verifier():
    v = MathVerifier(deadline_s=DEADLINE, workers=2, fallbacks=["answer_line"], cache=False)
    v.warm()
    yield v
    shutdown()


def test_hostile_inputs_on_time_and_harmless(verifier: MathVerifier, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    bound = _late_bound(verifier)
    for response, reference, expected in _hostile(marker):
        start = time.monotonic()
        verdict = verifier.verify(Task(id="h", prompt="p", answer=reference), response)
        took = time.monotonic() - start
        assert took < bound, (response[:60], took, bound)
        assert verdict.correct is expected, (response[:60], verdict)
        if response == SLOW:
            assert verdict.status == "timeout"  # the deadline fired; the work did not finish
        time.sleep(0.01)
    assert not marker.exists()
    shutdown()
    assert _children() == []  # killed workers were reaped; the rest were stopped


def test_a_stuck_call_times_out_and_the_pool_recovers(verifier: MathVerifier) -> None:
    task = Task(id="s", prompt="p", answer="(x+y+z)^{61}")
    bound = _late_bound(verifier)
    start = time.monotonic()
    verdict = verifier.verify(task, SLOW)
    took = time.monotonic() - start
    assert verdict.status == "timeout" and not verdict.correct  # the deadline fired
    assert took < bound, (took, bound)
    again = verifier.verify(Task(id="s2", prompt="p", answer="2\\sqrt{2}"), "\\boxed{\\sqrt{8}}")
    assert again.correct and again.detail["tier"] == "math-verify"


def test_unparseable_reference_is_never_a_pass(verifier: MathVerifier) -> None:
    verdict = verifier.verify(Task(id="g", prompt="p", answer="}{"), "\\boxed{x}")
    assert verdict.status == "bad_reference" and not verdict.correct


def test_deadlines_hold_from_threads(verifier: MathVerifier) -> None:
    task = Task(id="s", prompt="p", answer="(x+y+z)^{61}")
    bound = _late_bound(verifier)

    def one(k: int) -> float:
        start = time.monotonic()
        assert verifier.verify(task, SLOW.replace("60", str(70 + k))).status == "timeout"
        return time.monotonic() - start

    with ThreadPoolExecutor(2) as pool:
        took = list(pool.map(one, range(2)))
    assert max(took) < bound, (took, bound)


def _items() -> list[tuple[Task, str]]:
    return [
        (Task(id=f"c{i}", prompt="p", answer=ref), resp)
        for i, (_, resp, ref, _) in enumerate(CORPUS)
    ]


def _verify_chunk(indices: list[int]) -> list[bool]:
    items = _items()
    v = MathVerifier(cache=False)
    return [v.verify(*items[i]).correct for i in indices]


def test_same_answers_from_threads_asyncio_and_processes() -> None:
    items = _items()
    expected = [exp for *_, exp in CORPUS]
    v = MathVerifier(cache=False)
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda item: v.verify(*item).correct, items))
    assert threaded == expected

    async def gather() -> list[bool]:
        verdicts = await asyncio.gather(*(asyncio.to_thread(v.verify, *item) for item in items))
        return [x.correct for x in verdicts]

    assert asyncio.run(gather()) == expected
    chunks = [list(range(k, len(items), 3)) for k in range(3)]
    with ProcessPoolExecutor(3, mp_context=get_context("spawn")) as pool:
        results = list(pool.map(_verify_chunk, chunks))
    merged = [None] * len(items)
    for chunk, result in zip(chunks, results, strict=True):
        for i, ok in zip(chunk, result, strict=True):
            merged[i] = ok
    assert merged == expected
    shutdown()
