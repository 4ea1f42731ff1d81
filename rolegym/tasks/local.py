r"""Local task files (JSONL or Parquet), and the small fixtures bundled with rolegym.

JSONL has one JSON object per line; Parquet has one row per task with the same columns
(``tests`` as a list of structs). Math rows::

    {"id": "q1", "prompt": "What is 2 + 2?", "answer": "4", "meta": {...}}

Code rows (``tests`` use the stdin/stdout protocol unless a test says ``"call"``; call
tests give ``input`` as a JSON array of arguments and ``output`` as the JSON of the
expected return value, and the row names the function in ``fn_name``)::

    {"id": "p1", "prompt": "...", "tests": [{"input": "1 2\\n", "output": "3\\n"}],
     "fn_name": null, "starter_code": null, "reference_solution": "...", "meta": {...}}

``id`` is optional (defaults to ``<name>-<line index>``). A malformed row raises
:class:`MalformedRowError` naming the file and line; it is never turned into a task with no
answer or no tests.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from rolegym.tasks.base import ListTaskSource, Task, TaskFamily, TestCase, split_indices

__all__ = ["MalformedRowError", "load_fixture", "load_jsonl", "load_parquet", "row_to_task"]

_CODE_KEYS = ("fn_name", "starter_code", "reference_solution")


class MalformedRowError(ValueError):
    """A row of a task file cannot become a task."""


def row_to_task(row: Any, family: TaskFamily, default_id: str) -> Task:
    """Convert one decoded row into a :class:`Task`.

    Raises:
        MalformedRowError: If a required field is missing or has the wrong type.
    """
    if not isinstance(row, dict):
        raise MalformedRowError(f"expected a JSON object, got {type(row).__name__}")
    prompt = row.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise MalformedRowError("missing or empty 'prompt'")
    task_id = row.get("id", default_id)
    if not isinstance(task_id, str) or not task_id:
        raise MalformedRowError("'id' must be a non-empty string")
    meta = dict(row.get("meta") or {})
    if family == "math":
        answer = row.get("answer")
        if isinstance(answer, (int, float)) and not isinstance(answer, bool):
            answer = str(answer)
        if not isinstance(answer, str) or not answer.strip():
            raise MalformedRowError("math row needs a non-empty 'answer'")
        return Task(id=task_id, prompt=prompt, family="math", answer=answer, meta=meta)
    tests_raw = row.get("tests")
    if not isinstance(tests_raw, list) or not tests_raw:
        raise MalformedRowError("code row needs a non-empty 'tests' list")
    tests = []
    for k, t in enumerate(tests_raw):
        if not (
            isinstance(t, dict)
            and isinstance(t.get("input"), str)
            and isinstance(t.get("output"), str)
        ):
            raise MalformedRowError(f"test {k} needs string 'input' and 'output'")
        protocol = t.get("protocol", "stdio")
        if protocol not in ("stdio", "call", "assert"):
            raise MalformedRowError(f"test {k} has unknown protocol {protocol!r}")
        if protocol == "call":
            try:
                args = json.loads(t["input"])
                json.loads(t["output"])
            except json.JSONDecodeError as e:
                raise MalformedRowError(f"call test {k} is not JSON: {e}") from None
            if not isinstance(args, list):
                raise MalformedRowError(f"call test {k}: 'input' must be a JSON array")
            if not isinstance(row.get("fn_name"), str):
                raise MalformedRowError("call tests need 'fn_name'")
        tests.append(TestCase(input=t["input"], output=t["output"], protocol=protocol))
    for key in _CODE_KEYS:
        if row.get(key) is not None:
            meta[key] = row[key]
    return Task(id=task_id, prompt=prompt, family="code", tests=tuple(tests), meta=meta)


def _read_rows(text: str, origin: str, family: TaskFamily, name: str) -> list[Task]:
    tasks = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            tasks.append(row_to_task(row, family, f"{name}-{lineno - 1:06d}"))
        except (json.JSONDecodeError, MalformedRowError) as e:
            raise MalformedRowError(f"{origin}:{lineno}: {e}") from None
    return tasks


def load_jsonl(
    path: str | Path,
    family: TaskFamily,
    *,
    split: str = "all",
    test_fraction: float = 0.1,
    seed: int = 42,
    name: str | None = None,
) -> ListTaskSource:
    """Load tasks from a local JSONL file.

    Args:
        path: The file.
        family: ``"math"`` or ``"code"``.
        split: ``"all"``, or ``"train"`` / ``"test"`` of a seeded random split.
        test_fraction: Fraction held out as ``"test"``.
        seed: Seed of the split.
        name: Dataset name (default: the file stem).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"task file {path} does not exist")
    name = name or path.stem
    tasks = _read_rows(path.read_text(encoding="utf-8"), str(path), family, name)
    return _split(tasks, name=name, split=split, test_fraction=test_fraction, seed=seed)


def load_parquet(
    path: str | Path,
    family: TaskFamily,
    *,
    split: str = "all",
    test_fraction: float = 0.1,
    seed: int = 42,
    name: str | None = None,
) -> ListTaskSource:
    """Load tasks from a local Parquet file (needs ``pyarrow``, which ``datasets`` brings).

    Arguments as :func:`load_jsonl`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"task file {path} does not exist")
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ModuleNotFoundError(
            "Parquet files need pyarrow: pip install 'rolegym[data]'"
        ) from None
    name = name or path.stem
    tasks = []
    for index, row in enumerate(pq.read_table(path).to_pylist()):
        try:
            tasks.append(row_to_task(row, family, f"{name}-{index:06d}"))
        except MalformedRowError as e:
            raise MalformedRowError(f"{path}: row {index}: {e}") from None
    return _split(tasks, name=name, split=split, test_fraction=test_fraction, seed=seed)


def load_fixture(family: TaskFamily, split: str = "all") -> ListTaskSource:
    """The tiny fixture set bundled with rolegym (12 math problems, 6 code problems).

    Useful for tests and demos with no downloads; split ``"train"`` / ``"test"`` is a seeded
    75/25 split.
    """
    text = resources.files("rolegym.tasks").joinpath(f"fixtures/{family}.jsonl").read_text("utf-8")
    tasks = _read_rows(text, f"fixtures/{family}.jsonl", family, f"fixture-{family}")
    return _split(tasks, name="fixture", split=split, test_fraction=0.25, seed=42)


def _split(
    tasks: list[Task], *, name: str, split: str, test_fraction: float, seed: int
) -> ListTaskSource:
    parts = split_indices(len(tasks), test_fraction, seed)
    if split not in parts:
        raise ValueError(f"dataset {name!r} has splits {sorted(parts)}, not {split!r}")
    return ListTaskSource([tasks[i] for i in parts[split]], name=name, split=split)
