"""Rules of the test suite itself, checked on its source.

Helpers come from helper modules, never from a ``conftest.py`` (which holds fixtures only);
no assertion bets on how fast the machine is (a duration may only be compared with another
duration measured in the same test); the heavy tests carry the ``slow`` marker, so that
``pytest -m "not slow"`` is a quick check while the whole suite still runs them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
FILES = sorted(TESTS.rglob("*.py"))
CLOCKS = {"monotonic", "perf_counter", "time", "monotonic_ns", "perf_counter_ns", "time_ns"}

#: Tests that take tens of seconds or more on two CPU cores (file -> test functions).
SLOW = {
    "baselines/test_resume.py": {"test_killed_run_resumes_exactly"},
    "baselines/test_trainer.py": {"test_learns_a_single_role_micro_task"},
    "baselines/test_ddp.py": {
        "test_two_process_gloo_matches_one_process",
        "test_launch_with_torchrun",
    },
    "tasks/test_humaneval.py": {"test_derived_tests_reject_a_wrong_mutant"},
}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _is_clock(node: ast.AST, derived: set[str]) -> bool:
    """Whether an expression holds a clock reading or a name computed from one."""
    for sub in ast.walk(node):
        call = isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)
        if call and sub.func.attr in CLOCKS and getattr(sub.func.value, "id", "") == "time":
            return True
        if isinstance(sub, ast.Name) and sub.id in derived:
            return True
    return False


def _clock_names(fn: ast.AST, known: set[str]) -> set[str]:
    """``known`` plus the names ``fn`` assigns from clock readings (or from those names)."""
    derived = set(known)
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign | ast.AugAssign) and _is_clock(node.value, derived):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            derived |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif (  # times.append(time.monotonic() - start)
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.attr in ("append", "extend")
            and any(_is_clock(a, derived) for a in node.args)
        ):
            derived.add(node.func.value.id)
    return derived


def _wall_clock_asserts(tree: ast.Module) -> list[int]:
    """Lines of asserts comparing a duration with something that was not measured."""
    functions = [f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)]
    timers = set()  # functions that return a duration (passed to map(), called, ...)
    for fn in functions:
        derived = _clock_names(fn, set())
        returns = [n.value for n in ast.walk(fn) if isinstance(n, ast.Return) and n.value]
        if any(_is_clock(v, derived) for v in returns):
            timers.add(fn.name)
    found = []
    for fn in functions:
        derived = _clock_names(fn, timers)
        for node in ast.walk(fn):
            if not isinstance(node, ast.Assert):
                continue
            for cmp in ast.walk(node.test):
                if isinstance(cmp, ast.Compare):
                    sides = [_is_clock(x, derived) for x in (cmp.left, *cmp.comparators)]
                    if any(sides) and not all(sides):
                        found.append(node.lineno)
    return found


def test_helpers_are_not_imported_from_a_conftest() -> None:
    bad = [
        f"{path.relative_to(TESTS)}:{node.lineno}"
        for path in FILES
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == "conftest"
    ]
    assert not bad, bad


def test_no_assertion_bets_on_the_machines_speed() -> None:
    bad = [f"{p.relative_to(TESTS)}:{n}" for p in FILES for n in _wall_clock_asserts(_tree(p))]
    assert not bad, bad


def test_the_rule_catches_a_fixed_bound() -> None:
    caught = _wall_clock_asserts(
        ast.parse(
            "def f():\n    start = time.monotonic()\n    g()\n"
            "    assert time.monotonic() - start < 1.5\n"
            "    took = time.monotonic() - start\n    assert took < 2 * LIMIT\n"
            "    base = time.perf_counter() - start\n    assert took < 3 * base + 1\n"
            "def timed():\n    start = time.monotonic()\n    return time.monotonic() - start\n"
            "def h():\n    took = list(map(timed, [1]))\n    assert max(took) < 2\n"
            "def measured():\n    times = []\n    times.append(time.monotonic())\n"
            "    return 2 * max(times)\n"
            "def k():\n    bound = measured()\n    took = time.monotonic()\n"
            "    assert took < bound\n"
        )
    )
    assert caught == [4, 6, 14]  # not 22: that bound was measured


@pytest.mark.parametrize("name", sorted(SLOW))
def test_heavy_tests_are_marked_slow(name: str) -> None:
    marked = set()
    for node in _tree(TESTS / name).body:
        if isinstance(node, ast.FunctionDef):
            for dec in node.decorator_list:
                if ast.unparse(dec) == "pytest.mark.slow":
                    marked.add(node.name)
    assert SLOW[name] <= marked, SLOW[name] - marked
