"""Task sources: arith, fixtures, local JSONL, splits and the catalog."""

from __future__ import annotations

import json
import operator
from pathlib import Path

import pytest

from rolegym.tasks import (
    ArithSource,
    DatasetUnavailableError,
    MalformedRowError,
    Task,
    TestCase,
    load_fixture,
    load_jsonl,
    load_tasks,
    split_indices,
)

OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul}


def _reference_value(expression: str) -> int:
    """Independent evaluation: apply * first, then + and - left to right."""
    tokens = expression.split()
    values, ops = [int(tokens[0])], []
    for op, num in zip(tokens[1::2], tokens[2::2], strict=True):
        if op == "*":
            values[-1] *= int(num)
        else:
            ops.append(op)
            values.append(int(num))
    total = values[0]
    for op, v in zip(ops, values[1:], strict=True):
        total = OPS[op](total, v)
    return total


@pytest.mark.parametrize("options", [{}, {"terms": 4, "ops": "+-*", "max_value": 99}])
def test_arith_answers_are_exact(options: dict) -> None:
    src = ArithSource("train", **options)
    for i in range(300):
        task = src[i]
        assert task.answer == str(_reference_value(task.meta["expression"]))
        assert task.prompt == f"Compute {task.meta['expression']}."


def test_arith_is_deterministic_and_indexable() -> None:
    a, b = ArithSource("train", seed=3), ArithSource("train", seed=3)
    assert [a[i] for i in (0, 99, 12345)] == [b[i] for i in (0, 99, 12345)]
    assert a[5] != ArithSource("train", seed=4)[5] or a[6] != ArithSource("train", seed=4)[6]
    assert a.index_of(a[777].id) == 777
    assert a.get(a[42].id) == a[42]
    assert len(ArithSource("test")) == 1000 and a[-1] == a[len(a) - 1]
    assert ArithSource("test")[0].id == "arith-test-000000"
    with pytest.raises(KeyError):
        a.index_of("arith-test-000001")
    with pytest.raises(IndexError):
        a[len(a)]
    with pytest.raises(ValueError, match="ops"):
        ArithSource(ops="/")


def test_split_indices_deterministic_and_disjoint() -> None:
    s1, s2 = split_indices(1000, 0.1, 42), split_indices(1000, 0.1, 42)
    assert s1 == s2
    assert len(s1["test"]) == 100 and not set(s1["test"]) & set(s1["train"])
    assert split_indices(1000, 0.1, 43)["test"] != s1["test"]


def test_fixtures_load() -> None:
    math, code = load_fixture("math"), load_fixture("code")
    assert len(math) == 12 and len(code) == 6
    train, test = load_fixture("math", "train"), load_fixture("math", "test")
    assert len(train) + len(test) == 12 and not {t.id for t in train} & {t.id for t in test}
    assert all(t.meta.get("reference_solution") for t in code)
    protocols = {t.tests[0].protocol for t in code}
    assert protocols == {"stdio", "call"}


def test_jsonl_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    rows = [{"id": f"q{i}", "prompt": f"{i}+1?", "answer": i + 1} for i in range(20)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    src = load_jsonl(path, "math")
    assert len(src) == 20 and src.get("q3").answer == "4" and src.name == "mine"
    train = load_jsonl(path, "math", split="train", test_fraction=0.25)
    assert len(train) == 15
    assert [t.id for t in load_tasks("math", f"jsonl:{path}", "test", test_fraction=0.25)] == [
        t.id for t in load_jsonl(path, "math", split="test", test_fraction=0.25)
    ]


@pytest.mark.parametrize(
    ("family", "row", "message"),
    [
        ("math", {"prompt": "x"}, "answer"),
        ("math", {"prompt": "", "answer": "1"}, "prompt"),
        ("math", [1, 2], "JSON object"),
        ("code", {"prompt": "x", "tests": []}, "tests"),
        ("code", {"prompt": "x", "tests": [{"input": "1"}]}, "output"),
        (
            "code",
            {"prompt": "x", "tests": [{"input": "[1]", "output": "1", "protocol": "call"}]},
            "fn_name",
        ),
        (
            "code",
            {
                "prompt": "x",
                "fn_name": "f",
                "tests": [{"input": "{", "output": "1", "protocol": "call"}],
            },
            "JSON",
        ),
    ],
)
def test_malformed_rows_are_reported_with_line(
    tmp_path: Path, family: str, row: object, message: str
) -> None:
    good = (
        {"prompt": "ok", "answer": "1"}
        if family == "math"
        else {"prompt": "ok", "tests": [{"input": "", "output": "1"}]}
    )
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(MalformedRowError, match=rf"bad.jsonl:2: .*{message}"):
        load_jsonl(path, family)


def test_task_validation() -> None:
    with pytest.raises(ValueError, match="no reference answer"):
        Task(id="a", prompt="p")
    with pytest.raises(ValueError, match="no tests"):
        Task(id="a", prompt="p", family="code")
    Task(id="a", prompt="p", family="code", tests=(TestCase("", "1"),))


def test_catalog_errors() -> None:
    with pytest.raises(DatasetUnavailableError, match="agentica-org/DeepCoder-Preview-Dataset"):
        load_tasks("code", "deepcoder")
    with pytest.raises(ValueError, match="code dataset, not math"):
        load_tasks("math", "deepcoder")
    with pytest.raises(ValueError, match="unknown dataset 'nope'; known: arith, fixture"):
        load_tasks("math", "nope")


def test_parquet_files(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    rows = [
        {"id": "p1", "prompt": "Print 1.", "fn_name": None,
         "tests": [{"input": "", "output": "1\n", "protocol": "stdio"}]},
        {"id": "p2", "prompt": "Add.", "fn_name": "add",
         "tests": [{"input": "[1, 2]", "output": "3", "protocol": "call"}]},
    ]  # fmt: skip
    path = tmp_path / "mine.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    src = load_tasks("code", f"parquet:{path}", "all")
    assert [t.id for t in src] == ["p1", "p2"]
    assert src.get("p2").meta["fn_name"] == "add" and src.get("p2").tests[0].protocol == "call"
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pylist([{"id": "x", "prompt": "p", "answer": None}]), bad)
    with pytest.raises(MalformedRowError, match="row 0: math row needs a non-empty 'answer'"):
        load_tasks("math", str(bad), "all")


def test_humaneval_refuses_to_serve_its_test_problems_as_training_data() -> None:
    """HumanEval has one split: asking for ``train`` must not serve the benchmark's problems."""
    import rolegym

    with pytest.raises(ValueError, match=r"only a 'test' split") as refused:
        load_tasks("code", "humaneval", "train")
    message = str(refused.value)
    for alternative in ("split='test'", "deepcoder", "mbpp", "fixture", "jsonl:PATH"):
        assert alternative in message
    env = rolegym.make("single-code-v0", dataset="humaneval")  # an env's split is 'train'
    with pytest.raises(ValueError, match=r"only a 'test' split"):
        env.reset(seed=0)
