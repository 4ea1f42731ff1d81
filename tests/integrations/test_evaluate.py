"""rolegym's verifiers as ``evaluate`` metric modules, loaded from the package offline.

tests/conftest.py sets ``HF_HUB_OFFLINE``/``HF_EVALUATE_OFFLINE`` and points
``HF_MODULES_CACHE`` (where ``evaluate.load`` copies a metric script and imports it from; read
once, when ``evaluate`` is imported, and a package of that cache is imported once per process)
at the test process's own directory. The metrics keep their predictions in memory, and
whatever ``evaluate`` still writes goes to the test's ``cache_dir``, never the user's cache.
"""

from __future__ import annotations

import json
import math
import os
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

evaluate = pytest.importorskip("evaluate")

from rolegym.integrations.evaluate import load, metric_path  # noqa: E402
from rolegym.verifiers import sandbox  # noqa: E402


@pytest.fixture
def metric(tmp_path: Path) -> Any:
    """``metric(kind)``: the loaded metric, with its cache under ``tmp_path``."""
    return lambda kind: load(kind, cache_dir=str(tmp_path / "metrics"), keep_in_memory=True)


def test_loads_offline_from_the_package_into_the_modules_cache(metric: Any) -> None:
    assert evaluate.config.HF_EVALUATE_OFFLINE and os.environ["HF_HUB_OFFLINE"] == "1"
    math_metric = metric("math")
    assert type(math_metric).__name__ == "RolegymMath"
    cache = Path(os.environ["HF_MODULES_CACHE"])
    assert cache == evaluate.config.HF_MODULES_CACHE
    copies = list(cache.rglob("rolegym_math.py"))  # evaluate imports this copy
    source = Path(metric_path("math"), "rolegym_math.py").read_text()
    assert copies and all(c.read_text() == source for c in copies)
    assert type(metric("code")).__name__ == "RolegymCode"


def test_unknown_metric_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"unknown metric 'chess'; expected one of \['code'"):
        metric_path("chess")
    with pytest.raises(ValueError, match="unknown metric 'chess'"):
        load("chess")
    assert Path(metric_path("code"), "rolegym_code.py").is_file()


def test_math_metric_grades_with_the_verifier(metric: Any) -> None:
    m = metric("math")
    preds = [
        "half of it: \\boxed{1/2}",  # equivalent to 0.5 (exact tier)
        "\\boxed{\\frac{3}{4}}",  # equivalent to 0.75
        "<think>maybe \\boxed{8}</think> so \\boxed{7}",  # the answer after thinking: wrong
        "#### 0.5",  # GSM8K style, no box: no answer by default
        "\\boxed{}",  # a box with nothing readable in it
        "\\boxed{x \\cdot x}",  # symbolic, decided by math-verify: x^2
    ]
    refs = ["0.5", "0.75", "8", "0.5", "3", "x^2"]
    out = m.compute(predictions=preds, references=refs, per_item=True)
    assert out["status"] == [
        "correct",
        "correct",
        "incorrect",
        "no_answer",
        "unparsable",
        "correct",
    ]
    assert out["accuracy"] == pytest.approx(3 / 6)
    assert out["parse_rate"] == pytest.approx(4 / 6)
    assert set(m.compute(predictions=preds[:1], references=refs[:1])) == {"accuracy", "parse_rate"}
    lenient = m.compute(predictions=preds[3:4], references=refs[3:4], fallbacks="hashes")
    assert lenient == {"accuracy": 1.0, "parse_rate": 1.0}
    with pytest.raises(ValueError, match="unknown fallbacks"):
        m.compute(predictions=preds[:1], references=refs[:1], fallbacks=["hash"])


def _by_definition(n: int, c: int, k: int) -> float:
    """pass@k by its definition: the share of k-subsets of the candidates holding a pass."""
    subsets = list(combinations([True] * c + [False] * (n - c), k))
    return sum(any(s) for s in subsets) / len(subsets)


def test_pass_at_k_is_code_evals_estimator() -> None:
    from rolegym.integrations.metrics.rolegym_code.rolegym_code import pass_at_k

    # By hand: 5 candidates, 2 pass, draw 3: 1 - C(3, 3) / C(5, 3) = 1 - 1/10.
    assert pass_at_k(5, 2, 3) == pytest.approx(0.9)
    assert pass_at_k(10, 1, 1) == pytest.approx(0.1) and math.isclose(pass_at_k(3, 3, 3), 1.0)
    assert pass_at_k(6, 0, 2) == 0.0
    for n, c, k in [(5, 2, 1), (4, 4, 2), (7, 3, 5), (8, 1, 4), (9, 2, 2)]:
        closed_form = 1 - math.comb(n - c, k) / math.comb(n, k)  # comb is 0 when n - c < k
        assert pass_at_k(n, c, k) == pytest.approx(closed_form)
        assert pass_at_k(n, c, k) == pytest.approx(_by_definition(n, c, k))


def test_code_metric_refuses_to_run_unsandboxed(
    metric: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    m = metric("code")
    monkeypatch.setattr(sandbox, "bwrap_available", lambda: False)
    canary = tmp_path / "ran"
    program = f"open({str(canary)!r}, 'w').write('ran')"
    with pytest.raises(RuntimeError, match="under bubblewrap"):
        m.compute(predictions=[[program]], references=["assert True"])
    assert not canary.exists()


def test_code_metric_rejects_bad_input(metric: Any) -> None:
    m = metric("code")
    one = {"predictions": [["x = 1"]]}
    with pytest.raises(ValueError, match="k must hold positive integers"):
        m.compute(**one, references=["assert x == 1"], k=[0])
    with pytest.raises(ValueError, match=r"problems \[1\] have no candidate programs"):
        m.compute(predictions=[["x = 1"], []], references=["assert x == 1"] * 2)
    bad = {
        '{"tests": 3}': "expected an object",
        '{"tests": []}': "no tests",
        '{"tests": [{"input": "1", "protocol": "shell"}]}': "protocol must be one of",
        '{"tests": [{"input": "[1]", "output": "1", "protocol": "call"}]}': "need a function name",
        '{"tests": [{"input": "1", "output": "1", "protocol": "call"}], "fn_name": "f"}': "array",
        '{"tests": [{"input": "1", "expected": "1"}]}': "unknown keys",
        "{not json": "not rolegym's test JSON",
    }  # fmt: skip
    for reference, why in bad.items():
        with pytest.raises(ValueError, match=why):
            m.compute(**one, references=[reference])


needs_bwrap = pytest.mark.skipif(
    not sandbox.bwrap_available(), reason="the code metric runs programs under bubblewrap"
)


@needs_bwrap
def test_code_metric_is_code_evals_drop_in(metric: Any, tmp_path: Path) -> None:
    m = metric("code")
    canary, shelled = tmp_path / "canary", tmp_path / "shelled"
    hostile = (
        "import os\n"
        f"os.system('touch {shelled}')\n"
        f"open({str(canary)!r}, 'w').write('escaped')\n"
        "def add(a, b):\n    return a + b\n"
    )
    loop = "def add(a, b):\n    while True:\n        pass\n"
    predictions = [
        ["def add(a, b):\n    return a + b", "def add(a, b):\n    return a - b", loop],
        ["Here it is:\n```python\nprint(sum(map(int, input().split())))\n```", hostile],
    ]
    stdio = json.dumps({"tests": [{"input": "1 2\n", "output": "3\n", "protocol": "stdio"}]})
    references = ["assert add(1, 2) == 3\nassert add(-1, 1) == 0", stdio]
    out = m.compute(predictions=predictions, references=references, k=[1, 2, 3], per_item=True)
    assert out["status"][0][:2] == ["AC", "WA"]
    assert out["status"][0][2] == "TLE"  # the endless loop: a verdict, not a hang
    assert out["status"][1][0] == "AC"  # a model response: its fenced block is the program
    # The hostile program reached nothing outside its sandbox (and prints nothing for stdio).
    assert out["status"][1][1] != "AC" and not canary.exists() and not shelled.exists()
    assert out["pass@1"] == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert out["pass@2"] == pytest.approx((_by_definition(3, 1, 2) + 1.0) / 2)
    assert "pass@3" not in out  # as code_eval: problem 2 has only 2 candidates


@needs_bwrap
def test_code_metric_call_protocol(metric: Any) -> None:
    m = metric("code")
    call = json.dumps(
        {
            "tests": [
                {"input": "[2, 3]", "output": "5", "protocol": "call"},
                {"input": "[[1], [2]]", "output": "[1, 2]", "protocol": "call"},
            ],
            "fn_name": "add",
        }
    )
    right = "def add(a, b):\n    return a + b"
    ints_only = "def add(a, b):\n    return a + b if isinstance(a, int) else None"
    out = m.compute(predictions=[[right, ints_only]], references=[call], k=1, per_item=True)
    assert out == {"pass@1": 0.5, "status": [["AC", "WA"]]}
