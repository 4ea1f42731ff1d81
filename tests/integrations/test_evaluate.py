"""rolegym's verifiers as ``evaluate`` metric modules, loaded from the package offline."""

from __future__ import annotations

import json
import math
from itertools import combinations
from pathlib import Path

import pytest

pytest.importorskip("evaluate")

from rolegym.integrations.evaluate import load, metric_path
from rolegym.verifiers import sandbox


def test_math_metric_grades_with_the_verifier() -> None:
    metric = load("math")
    preds = [
        "half of it: \\boxed{1/2}",  # equivalent to 0.5
        "\\boxed{\\frac{3}{4}}",  # equivalent to 0.75
        "so \\boxed{7}",  # wrong
        "#### 0.5",  # GSM8K style, no box: not answered by default
    ]
    refs = ["0.5", "0.75", "8", "0.5"]
    out = metric.compute(predictions=preds, references=refs, per_item=True)
    assert out["status"] == ["correct", "correct", "incorrect", "no_answer"]
    assert out["accuracy"] == pytest.approx(0.5)
    assert out["answered"] == pytest.approx(0.75)
    lenient = metric.compute(predictions=preds[3:], references=refs[3:], fallbacks=["hashes"])
    assert lenient["accuracy"] == 1.0


def test_unknown_metric_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown metric 'chess'"):
        metric_path("chess")
    assert Path(metric_path("code"), "rolegym_code.py").is_file()


def _estimator(n: int, c: int, k: int) -> float:
    """pass@k by its definition: the share of k-subsets holding a passing candidate."""
    subsets = list(combinations([True] * c + [False] * (n - c), k))
    return sum(any(s) for s in subsets) / len(subsets)


def test_pass_at_k_matches_its_definition() -> None:
    from rolegym.integrations.metrics.rolegym_code.rolegym_code import pass_at_k

    for n, c, k in [(5, 2, 1), (5, 2, 3), (6, 0, 2), (4, 4, 2), (7, 3, 5)]:
        assert pass_at_k(n, c, k) == pytest.approx(_estimator(n, c, k))
    assert pass_at_k(10, 1, 1) == pytest.approx(0.1) and math.isclose(pass_at_k(3, 3, 3), 1.0)


needs_bwrap = pytest.mark.skipif(
    not sandbox.bwrap_available(), reason="the code metric runs programs under bubblewrap"
)


@needs_bwrap
def test_code_metric_is_code_evals_drop_in(tmp_path: Path) -> None:
    metric = load("code")
    canary = tmp_path / "canary"
    hostile = (
        "import os\n"
        f"open({str(canary)!r}, 'w').write('escaped')\n"
        "def add(a, b):\n    return a + b\n"
    )
    loop = "def add(a, b):\n    while True:\n        pass\n"
    predictions = [
        ["def add(a, b):\n    return a + b", "def add(a, b):\n    return a - b", loop],
        ["```python\nprint(sum(map(int, input().split())))\n```", hostile],
    ]
    stdio = json.dumps({"tests": [{"input": "1 2\n", "output": "3\n", "protocol": "stdio"}]})
    references = ["assert add(1, 2) == 3\nassert add(-1, 1) == 0", stdio]
    out = metric.compute(
        predictions=predictions, references=references, k=[1, 2], per_item=True, timeout_s=2.0
    )
    assert out["status"][0][0] == "AC" and out["status"][0][1] == "WA"
    assert out["status"][0][2] not in ("AC", "WA")  # the endless loop: a verdict, not a hang
    assert out["status"][1][0] == "AC"
    # The hostile program wrote nowhere outside its sandbox (and has no `add` to pass stdio).
    assert not canary.exists() and out["status"][1][1] != "AC"
    assert out["pass@1"] == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert out["pass@2"] == pytest.approx((_estimator(3, 1, 2) + _estimator(2, 1, 2)) / 2)


@needs_bwrap
def test_code_metric_call_protocol_and_bad_references() -> None:
    metric = load("code")
    call = json.dumps(
        {"tests": [{"input": "[2, 3]", "output": "5", "protocol": "call"}], "fn_name": "add"}
    )
    out = metric.compute(predictions=[["def add(a, b):\n    return a + b"]], references=[call])
    assert out["pass@1"] == 1.0
    with pytest.raises(ValueError, match="not rolegym's test JSON"):
        metric.compute(predictions=[["x = 1"]], references=['{"tests": 3}'])
    with pytest.raises(ValueError, match="k must hold positive integers"):
        metric.compute(predictions=[["x = 1"]], references=["assert x == 1"], k=[0])
