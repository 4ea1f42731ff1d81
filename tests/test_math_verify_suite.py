"""The external math suite: provenance, labels copied verbatim, conversion rules reproducible."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

DATA = Path(__file__).parents[1] / "benchmarks" / "data"


def _converter():
    spec = importlib.util.spec_from_file_location("make_suite", DATA / "make_math_verify_suite.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_suite"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def _suite() -> tuple[dict, list[dict]]:
    lines = (DATA / "math_verify_suite.jsonl").read_text().splitlines()
    return json.loads(lines[0])["_meta"], [json.loads(line) for line in lines[1:]]


def test_provenance_is_recorded() -> None:
    meta, cases = _suite()
    assert meta["source"] == "https://github.com/huggingface/Math-Verify"
    assert len(meta["commit"]) == 40 and meta["commit"][:12] in (DATA / "README.md").read_text()
    assert "Apache-2.0" in meta["license"] and meta["cases"] == len(cases)
    assert meta["scopes"] == {s: sum(c["scope"] == s for c in cases) for s in meta["scopes"]}


def test_cases_are_labelled_and_scored_cases_are_boxed() -> None:
    _, cases = _suite()
    assert len({c["id"] for c in cases}) == len(cases)
    assert {c["expected"] for c in cases} == {True, False}
    scored = [c for c in cases if c["scope"] in ("answer", "boxed")]
    assert len(scored) >= 150
    assert all("\\boxed" in c["response"] and c["reference"] is not None for c in scored)


def test_conversion_rules_reproduce_the_file() -> None:
    make = _converter()
    _, cases = _suite()
    for c in cases:
        if c["scope"] in ("answer", "boxed", "free_text"):
            assert make.response_of(c["pred"]) == (c["response"], c["scope"]), c["id"]
        if c["scope"] != "gold_text":
            assert make.reference_of(c["gold"]) == c["reference"], c["id"]
    assert make.response_of("$\\frac13 $") == ("\\boxed{\\frac13}", "answer")
    assert make.response_of("1,000.99") == ("\\boxed{1,000.99}", "answer")
    assert make.response_of("The answer is $x \\geq 5$.")[1] == "free_text"
    assert make.reference_of("Hence \\boxed{2} \\boxed{7}.") == "7"


def _module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_benchmark_results_name_accuracy_and_agreement_apart() -> None:
    bench = Path(__file__).parents[1] / "benchmarks"
    result = json.loads((bench / "results" / "math_verifier.json").read_text())
    _, cases = _suite()
    external = result["external_accuracy"]
    assert external["cases"] == sum(c["scope"] in ("answer", "boxed") for c in cases)
    assert "corpus_accuracy" not in result  # the corpus's labels are ours: agreement only
    assert result["corpus_agreement"]["rolegym"] == 1.0
    rows = _module(bench / "readme_table.py", "readme_table_for_math").math_verifier_rows(result)
    whats = [what for what, *_ in rows]
    accuracy = [w for w in whats if w.startswith("accuracy")]
    assert len(accuracy) == 1 and "external labels" in accuracy[0]
    assert not any("corpus accuracy" in w or "golden-corpus accuracy" in w for w in whats)
    assert any("agreement" in w and "not an accuracy" in w for w in whats)
