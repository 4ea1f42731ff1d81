"""HumanEval offline: all 164 problems, canonical solutions pass, derived tests reject mutants.

The ``humaneval`` fixture (``tests/conftest.py``) converts the set once per test run, for all
xdist workers.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rolegym.tasks.base import Task, TestCase
from rolegym.tasks.humaneval import helper_source, load_humaneval, read_problems
from rolegym.verifiers import CodeVerifier, sandbox
from tests.helpers import play
from tests.mutants import single_point_mutants

pytestmark = pytest.mark.skipif(not sandbox.bwrap_available(), reason="bubblewrap cannot run here")


def _code(src: str) -> str:
    return f"```python\n{src}\n```"


def test_all_problems_load_offline_and_are_cached(humaneval, dataset_cache: Path) -> None:
    assert len(humaneval) == 164
    assert humaneval[0].id == "HumanEval/0" and humaneval.get("HumanEval/163").family == "code"
    fallback = {t.id for t in humaneval if "tests_fallback" in t.meta}
    assert fallback == {"HumanEval/32", "HumanEval/38", "HumanEval/50"}
    assert all(t.tests[0].protocol == "call" for t in humaneval if t.id not in fallback)
    assert sum(len(t.tests) for t in humaneval) > 1000
    cached = list(Path(os.environ["ROLEGYM_CACHE"]).glob("humaneval-*.jsonl"))
    assert cached and [t.id for t in load_humaneval()] == [t.id for t in humaneval]
    assert cached[0].parent == dataset_cache


def test_the_conversion_cache_is_shared_by_the_workers(
    dataset_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Every xdist worker of a run gets the same cache: the run's shared temporary directory."""
    assert Path(os.environ["ROLEGYM_CACHE"]) == dataset_cache
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    assert dataset_cache.parent == shared


def test_canonical_solutions_pass(humaneval) -> None:
    verdicts = CodeVerifier(cache=False).verify_many(
        [(t, _code(t.meta["reference_solution"])) for t in humaneval]
    )
    failed = [(t.id, v.status) for t, v in zip(humaneval, verdicts, strict=True) if not v.correct]
    assert not failed


@pytest.mark.slow
def test_derived_tests_reject_a_wrong_mutant(humaneval) -> None:
    """Converted tests reject what HumanEval's own check rejects.

    For every problem, the first mutant that the original check rejects (run in the sandbox
    as an assertion test) must be rejected by the converted tests too.
    """
    problems = {p["task_id"]: p for p in read_problems()}
    verifier = CodeVerifier(cache=False)
    checked, escaped = 0, []
    for task in humaneval:
        p = problems[task.id]
        entry = p["entry_point"]
        check = f"{p['test']}\ncheck({entry})\n"  # the prompt's helpers first, as HumanEval does
        prelude = helper_source(p["prompt"], entry)
        original = Task(
            id=task.id + "/original",
            prompt="p",
            family="code",
            tests=(TestCase(check, prelude, "assert"),),
        )
        for mutant in single_point_mutants(task.meta["reference_solution"]):
            if verifier.verify(original, _code(mutant)).correct:
                continue  # equivalent, as far as HumanEval's own check can tell
            checked += 1
            if verifier.verify(task, _code(mutant)).correct:
                escaped.append(task.id)
            break
    assert not escaped, escaped
    assert checked == len(humaneval)  # every problem has a mutant its own check rejects


@pytest.mark.parametrize("workflow", ["voting", "eval-opt", "orch-workers", "single"])
def test_code_envs_run_on_humaneval(workflow: str, humaneval) -> None:
    import rolegym
    from rolegym.envs.scripted import OraclePolicy, WrongPolicy

    for seed, (policy, expected) in enumerate([(OraclePolicy(), 1.0), (WrongPolicy(), 0.0)]):
        env = rolegym.make(f"{workflow}-code-v0", dataset="humaneval", split="test")
        env.reset(seed=seed)
        returns = play(env, policy)
        assert env.unwrapped.task.id.startswith("HumanEval/")
        assert env.unwrapped.episode.correct is (expected == 1.0)
        spoke = {t.agent for t in env.unwrapped.episode.turns}
        assert all(r == (expected if a in spoke else 0.0) for a, r in returns.items())
