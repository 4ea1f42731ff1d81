"""Math verifier throughput and accuracy: rolegym against math-verify's own parse + verify.

Both grade the same stream in the same run. The stream imitates GRPO rollouts: tasks in
groups of 8 responses, half GSM8K-style integer answers and half MATH-style LaTeX answers
(twelve families: fractions, radicals, multiples of pi, intervals, sets, tuples, polynomials,
equations, percentages, ...), each task with its own reference; each response is a correct
answer (half the time spelled exactly as the reference, otherwise another correct spelling), a
wrong answer, or text with no box, so answers repeat inside a group as they do in practice.
The peer is math-verify used the way TRL's accuracy reward uses it (gold parsed with the
defaults, prediction with LaTeX extraction, boxed first), one call after another in the main
thread with its own signal timeouts. rolegym runs with one worker process ("single") and
with a pool of two.

Also measured, for both:

- **accuracy on labels someone else wrote**: Math-Verify's own labelled test cases
  (``benchmarks/data/math_verify_suite.jsonl``, converted from its repository's ``tests/``;
  see ``benchmarks/data/README.md``), the cases whose answer is boxed or is a bare answer;
- **agreement with rolegym's own policy**: the golden regression corpus of
  ``tests/verifiers/math_corpus.py``, whose labels are rolegym's documented policy (so
  rolegym agrees with it by construction; this is not an accuracy);
- agreement with the stream's labels (written by this script, by construction), and the
  worst-case latency of each on hostile inputs (power towers, giant factorials, a slow
  symbolic comparison).

Goal (issue 3): at least 3x math-verify's throughput with accuracy equal or better on the
external labels, and a worst-case latency on hostile inputs bounded by the deadline.

Run: ``python benchmarks/math_verifier.py`` (options: ``--help``).
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import tyro

from rolegym.tasks import Task
from rolegym.verifiers.math import MathVerifier, clear_cache, shutdown

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the peer lives in tests/
from tests.verifiers.math_corpus import CORPUS
from tests.verifiers.math_peer import trl_style_grader

SUITE = Path(__file__).parent / "data" / "math_verify_suite.jsonl"
SCORED_SCOPES = ("answer", "boxed")


# ---------------------------------------------------------------------------- config
@dataclass
class Config:
    """Benchmark settings."""

    tasks: int = 128
    """tasks in the stream (each gets a group of responses)"""
    group_size: int = 8
    """responses per task, as in GRPO"""
    batch_tasks: int = 64
    """tasks per verify_many call (the paper's 64 tasks per step)"""
    deadline_s: float = 3.0
    """rolegym's per-call deadline"""
    pool_workers: int = 2
    """worker processes of the pooled run"""
    reference_spelling: float = 0.5
    """share of correct responses written exactly as the reference (the rest use other spellings)"""
    seed: int = 0
    """seed of the stream"""
    hostile: bool = True
    """also time hostile inputs (math-verify may need a minute on them)"""
    out: Path = Path(__file__).parent / "results" / "math_verifier.json"
    """where to write the JSON result"""


# ---------------------------------------------------------------------------- the stream
# MATH-style answer families, each a function of a task number k giving
# (reference, other correct spellings, wrong answers); every task gets its own reference.
def _families(k: int) -> list[tuple[str, list[str], list[str]]]:
    a, b = k % 7 + 1, k % 7 + 2
    return [
        (f"\\frac{{{a}}}{{{b}}}", [f"\\dfrac{{{a}}}{{{b}}}", f"{a}/{b}"],
         [f"\\frac{{{b}}}{{{a}}}", f"\\frac{{{a + 2}}}{{{b}}}"]),
        (f"{k}\\sqrt{{2}}", [f"\\sqrt{{{2 * k * k}}}", f"\\sqrt{{2}} \\cdot {k}"],
         [f"\\sqrt{{{2 * k}}}", f"{2 * k}"]),
        (f"{k}\\pi", [f"\\pi {k}", f"{k} \\pi"], [f"{2 * k}\\pi", f"{k}"]),
        (f"({k},\\infty)", [f"({k}, \\infty)"], [f"[{k},\\infty)", f"(-\\infty,{k})"]),
        (f"\\{{{k},{k + 1}\\}}", [f"\\{{{k + 1},{k}\\}}"],
         [f"\\{{{k}\\}}", f"\\{{{k},{k + 2}\\}}"]),
        (f"({k},-{k})", [f"({k}, -{k})"], [f"(-{k},{k})", f"({k},{k})"]),
        (f"(x+{k})^2", [f"x^2+{2 * k}x+{k * k}"], [f"x^2+{k * k}", f"(x-{k})^2"]),
        (f"\\frac{{x}}{{{k}}}", [f"x/{k}", f"\\frac{{1}}{{{k}}}x"],
         [f"{k}x", f"\\frac{{{k}}}{{x}}"]),
        (f"y={k}x+1", [f"y = 1 + {k}x"], [f"y={k}x-1", f"y={k + 1}x+1"]),
        (f"{k}\\%", [f"{k}", f"{k / 100:g}"], [f"{k + 5}\\%", f"{k / 10:g}"]),
        (f"-\\frac{{1}}{{{k}}}", [f"\\frac{{-1}}{{{k}}}", f"-1/{k}"],
         [f"\\frac{{1}}{{{k}}}", f"-{k}"]),
        (f"\\frac{{\\sqrt{{{k}}}}}{{2}}", [f"\\sqrt{{{k}}}/2", f"\\frac{{1}}{{2}}\\sqrt{{{k}}}"],
         [f"\\sqrt{{{k}}}", f"2\\sqrt{{{k}}}"]),
    ]  # fmt: skip


def _say(answer: str) -> str:
    return f"Working step by step we get the result. Therefore the answer is $\\boxed{{{answer}}}$."


def build_stream(cfg: Config) -> list[tuple[Task, str, bool]]:
    """(task, response, is it correct) in groups of ``group_size`` per task.

    Each response is correct with probability 1/2 (written exactly as the reference with
    probability ``cfg.reference_spelling``, else in another correct spelling), wrong with
    probability 2/5 (one of two wrong answers), and has no boxed answer otherwise.
    """
    rng = np.random.default_rng(cfg.seed)
    stream = []
    for t in range(cfg.tasks):
        k = t // 2 + 3
        if t % 2 == 0:  # GSM8K style
            ref = int(rng.integers(1, 100_000))
            reference, others = str(ref), [f"{ref:,}", f"{ref}.0", f"\\${ref}"]
            wrong = [str(ref + int(rng.integers(1, 50))), str(ref * 10)]
        else:
            families = _families(k)
            reference, others, wrong = families[int(rng.integers(len(families)))]
        task = Task(id=f"bench-{t}", prompt="p", answer=reference)
        for _ in range(cfg.group_size):
            u = rng.random()
            if u < 0.5:
                same = rng.random() < cfg.reference_spelling
                text = reference if same else others[int(rng.integers(len(others)))]
                stream.append((task, _say(text), True))
            elif u < 0.9:
                stream.append((task, _say(wrong[int(rng.integers(len(wrong)))]), False))
            else:
                stream.append((task, "I am not sure how to finish this one.", False))
    return stream


HOSTILE = [
    ("\\boxed{9^{9^{9^9}}}", "1"),
    ("\\boxed{2003^{2002^{2001}}}", "1"),
    ("\\boxed{(10^{100})!}", "1"),
    ("\\boxed{" + "{" * 3000 + "1" + "}" * 3000 + "}", "1"),
    ("\\boxed{(x+y+z)^{60}}", "(x+y+z)^{61}"),
]


# ---------------------------------------------------------------------------- the peer
def _math_verify():
    grade = trl_style_grader()
    return lambda reference, response: bool(grade(reference, response))


def _peer_hostile_latency() -> list[float | None]:
    """math-verify on the hostile inputs, each in a fresh interpreter capped at 60 s."""
    code = (
        "import sys, time, json; sys.path.insert(0, 'benchmarks'); from math_verifier import "
        "_math_verify, HOSTILE; g = _math_verify(); r, a = HOSTILE[int(sys.argv[1])]; "
        "t = time.perf_counter(); g(a, r); print(json.dumps(time.perf_counter() - t))"
    )

    def one(i: int) -> float | None:
        try:
            res = subprocess.run(
                [sys.executable, "-c", code, str(i)],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
        except subprocess.TimeoutExpired:
            return None  # still running after 60 s
        return float(res.stdout.strip().splitlines()[-1])

    return [one(i) for i in range(len(HOSTILE))]


# ---------------------------------------------------------------------------- runs
def run_rolegym(stream, cfg: Config, workers: int) -> dict:
    clear_cache()
    verifier = MathVerifier(deadline_s=cfg.deadline_s, workers=workers)
    verifier.warm()
    batch = cfg.batch_tasks * cfg.group_size
    start = time.perf_counter()
    verdicts = []
    for i in range(0, len(stream), batch):
        verdicts += verifier.verify_many([(t, r) for t, r, _ in stream[i : i + batch]])
    seconds = time.perf_counter() - start
    right = sum(v.correct == label for v, (_, _, label) in zip(verdicts, stream, strict=True))
    shutdown()
    return {
        "seconds": seconds,
        "per_s": len(stream) / seconds,
        "stream_accuracy": right / len(stream),
    }


def run_peer(stream) -> dict:
    grade = _math_verify()
    start = time.perf_counter()
    results = [grade(str(t.answer), r) for t, r, _ in stream]
    seconds = time.perf_counter() - start
    right = sum(ok == label for ok, (_, _, label) in zip(results, stream, strict=True))
    return {
        "seconds": seconds,
        "per_s": len(stream) / seconds,
        "stream_accuracy": right / len(stream),
    }


def corpus_agreement() -> dict:
    """Agreement of both with the golden corpus, whose labels are rolegym's own policy."""
    items = [
        (Task(id=f"c{i}", prompt="p", answer=ref), resp)
        for i, (_, resp, ref, _) in enumerate(CORPUS)
    ]
    ours = [v.correct for v in MathVerifier(cache=False).verify_many(items)]
    grade = _math_verify()
    theirs = [grade(ref, resp) for _, resp, ref, _ in CORPUS]
    labels = [exp for *_, exp in CORPUS]
    shutdown()
    return {
        "labels": "rolegym's own documented policy (tests/verifiers/math_corpus.py)",
        "cases": len(CORPUS),
        "rolegym": sum(a == b for a, b in zip(ours, labels, strict=True)) / len(CORPUS),
        "math_verify": sum(a == b for a, b in zip(theirs, labels, strict=True)) / len(CORPUS),
    }


def load_suite(path: Path = SUITE) -> tuple[dict, list[dict]]:
    """The external suite's provenance record and its cases (see ``benchmarks/data``)."""
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return lines[0]["_meta"], lines[1:]


def external_accuracy(path: Path = SUITE) -> dict:
    """Accuracy of both on Math-Verify's own labelled cases (labels rolegym did not write)."""
    meta, cases = load_suite(path)
    scored = [c for c in cases if c["scope"] in SCORED_SCOPES]
    items = [(Task(id=c["id"], prompt="p", answer=c["reference"]), c["response"]) for c in scored]
    ours = [v.correct for v in MathVerifier(cache=False).verify_many(items)]
    shutdown()
    grade = _math_verify()
    theirs = [grade(c["reference"], c["response"]) for c in scored]
    labels = [c["expected"] for c in scored]

    def wrong(verdicts: list[bool]) -> list[str]:
        return [c["id"] for c, v, y in zip(scored, verdicts, labels, strict=True) if v != y]

    excluded: dict[str, int] = {}
    for c in cases:
        if c["scope"] not in SCORED_SCOPES:
            excluded[c["scope"]] = excluded.get(c["scope"], 0) + 1
    return {
        "labels": f"Math-Verify's own test-suite, {meta['source']} at {meta['commit'][:12]}",
        "cases": len(scored),
        "excluded": dict(sorted(excluded.items())),
        "rolegym": sum(a == b for a, b in zip(ours, labels, strict=True)) / len(scored),
        "math_verify": sum(a == b for a, b in zip(theirs, labels, strict=True)) / len(scored),
        "rolegym_wrong": wrong(ours),
        "math_verify_wrong": wrong(theirs),
    }


def hostile_latency(cfg: Config) -> dict:
    verifier = MathVerifier(deadline_s=cfg.deadline_s, cache=False)
    verifier.warm()
    ours = []
    for response, reference in HOSTILE:
        start = time.perf_counter()
        verifier.verify(Task(id="h", prompt="p", answer=reference), response)
        ours.append(time.perf_counter() - start)
        time.sleep(0.2)
    shutdown()
    theirs = _peer_hostile_latency()
    return {
        "inputs": [r[:40] for r, _ in HOSTILE],
        "rolegym_s": ours,
        "math_verify_s": theirs,
        "rolegym_worst_s": max(ours),
        "math_verify_worst_s": None if None in theirs else max(theirs),
        "deadline_s": cfg.deadline_s,
    }


def main(cfg: Config) -> dict:
    stream = build_stream(cfg)
    peer = run_peer(stream)
    single = run_rolegym(stream, cfg, workers=1)
    pool = run_rolegym(stream, cfg, workers=cfg.pool_workers)
    result = {
        "benchmark": "math_verifier",
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "peer": "math-verify parse + verify, TRL accuracy_reward configuration, main thread",
        "verifications": len(stream),
        "math_verify": peer,
        "rolegym_single": {**single, "ratio_to_peer": single["per_s"] / peer["per_s"]},
        "rolegym_pool": {**pool, "ratio_to_peer": pool["per_s"] / peer["per_s"]},
        "external_accuracy": external_accuracy(),
        "corpus_agreement": corpus_agreement(),
        "hostile_latency": hostile_latency(cfg) if cfg.hostile else None,
    }
    print(f"math-verify      {peer['per_s']:9.0f} verifications/s")
    for name, run in (("1 worker", single), (f"{cfg.pool_workers} workers", pool)):
        print(f"rolegym, {name} {run['per_s']:8.0f} /s ({run['per_s'] / peer['per_s']:.1f}x)")
    ext, agr = result["external_accuracy"], result["corpus_agreement"]
    print(
        f"accuracy on Math-Verify's labelled suite ({ext['cases']} cases): "
        f"rolegym {ext['rolegym']:.3f}, math-verify {ext['math_verify']:.3f}"
    )
    print(
        f"agreement with rolegym's own corpus ({agr['cases']} cases): "
        f"rolegym {agr['rolegym']:.3f}, math-verify {agr['math_verify']:.3f}"
    )
    lat = result["hostile_latency"]
    if lat:
        peer_worst = lat["math_verify_worst_s"]
        print(f"worst hostile: rolegym {lat['rolegym_worst_s']:.2f} s, math-verify {peer_worst}")
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    cfg.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {cfg.out}")
    return result


if __name__ == "__main__":
    main(tyro.cli(Config))
