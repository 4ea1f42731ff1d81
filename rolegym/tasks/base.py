"""Tasks and task sources.

A :class:`Task` is frozen data: an id, the problem text, and either a reference answer
(math) or tests (code). A :class:`TaskSource` is a sized, indexable, deterministic
collection of tasks for one split; environments draw from it with their own seeded
generator and replay a task by id.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

__all__ = [
    "CALL_FAILED",
    "CallRunner",
    "ListTaskSource",
    "Task",
    "TaskFamily",
    "TaskSource",
    "TestCase",
    "split_indices",
]

TaskFamily = Literal["math", "code"]

#: What a :class:`CallRunner` gives for a call whose result could not be obtained.
CALL_FAILED: Any = object()


class CallRunner(Protocol):
    """Runs a trusted program's function on argument lists, to derive a task's tests.

    Code sources whose tests come from a reference solution (HumanEval, MBPP) are handed one
    by their caller: :class:`rolegym.verifiers.CodeVerifier` implements it in its sandbox
    (task sources import no verifier).
    """

    def call_outputs(self, program: str, fn: str, calls: Sequence[list[Any]]) -> list[Any]:
        """What ``fn`` of ``program`` returns on each argument list.

        A call that fails, or returns something other than plain builtin data, gives
        :data:`CALL_FAILED`.
        """
        ...


@dataclass(frozen=True)
class TestCase:
    """One code test.

    Attributes:
        input: For ``"stdio"`` tests, the text fed to standard input. For ``"call"`` tests,
            a JSON array of the positional arguments.
        output: For ``"stdio"`` tests, the expected standard output. For ``"call"`` tests,
            the JSON of the expected return value.
        protocol: ``"stdio"`` (run the program, compare output), ``"call"`` (call the
            task's ``fn_name`` on the arguments, compare the return value) or ``"assert"``
            (a fallback: ``input`` is test code run after the program, ``output`` a prelude run
            before it).
    """

    __test__ = False  # not a pytest class

    input: str
    output: str
    protocol: Literal["stdio", "call", "assert"] = "stdio"


@dataclass(frozen=True)
class Task:
    """One problem.

    Attributes:
        id: Stable, unique id within its source (``"arith-train-00042"``).
        prompt: The problem statement, without any workflow instructions.
        family: ``"math"`` (graded against ``answer``) or ``"code"`` (graded by ``tests``).
        answer: The reference answer (math).
        tests: The tests (code).
        meta: Extra facts: source, difficulty, ``fn_name`` and ``starter_code`` for
            function-call code tasks, ``reference_solution`` where a source provides one.
    """

    id: str
    prompt: str
    family: TaskFamily = "math"
    answer: str | None = None
    tests: tuple[TestCase, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.family not in ("math", "code"):
            raise ValueError(f"task {self.id!r}: unknown family {self.family!r}")
        if self.family == "math" and self.answer is None:
            raise ValueError(f"math task {self.id!r} has no reference answer")
        if self.family == "code" and not self.tests:
            raise ValueError(f"code task {self.id!r} has no tests")


class TaskSource(Sequence[Task]):
    """A sized, indexable, deterministic collection of tasks (one split of one dataset).

    Subclasses implement ``__len__`` and ``_get(index)``; ``index_of`` maps an id back to
    its index (the default scans once and caches).

    Attributes:
        name: The dataset name (``"arith"``, ``"fixture"``, ...).
        split: The split name.
        family: Which family of task it yields.
    """

    name: str = "tasks"
    split: str = "train"
    family: TaskFamily = "math"

    def _get(self, index: int) -> Task:
        raise NotImplementedError

    def __getitem__(self, index: int | slice) -> Any:
        n = len(self)
        if isinstance(index, slice):
            return [self._get(i) for i in range(*index.indices(n))]
        if not -n <= index < n:
            raise IndexError(f"task index {index} out of range for {self!r} ({n} tasks)")
        return self._get(index % n)

    def __iter__(self) -> Iterator[Task]:
        for i in range(len(self)):
            yield self._get(i)

    def index_of(self, task_id: str) -> int:
        """The index of the task with id ``task_id``.

        Raises:
            KeyError: If no task has that id.
        """
        ids = self.__dict__.get("_id_index")
        if ids is None:
            ids = {t.id: i for i, t in enumerate(self)}
            self.__dict__["_id_index"] = ids
        try:
            return ids[task_id]
        except KeyError:
            raise KeyError(f"no task {task_id!r} in {self!r}") from None

    def get(self, task_id: str) -> Task:
        """The task with id ``task_id``."""
        return self._get(self.index_of(task_id))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, split={self.split!r}, n={len(self)})"


class ListTaskSource(TaskSource):
    """A task source over an in-memory list."""

    def __init__(self, tasks: Sequence[Task], *, name: str = "list", split: str = "all") -> None:
        if not tasks:
            raise ValueError(f"task source {name!r} split {split!r} is empty")
        families = {t.family for t in tasks}
        if len(families) != 1:
            raise ValueError(f"task source {name!r} mixes families {sorted(families)}")
        ids = [t.id for t in tasks]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise ValueError(f"task source {name!r} has duplicate task id {dup!r}")
        self._tasks = tuple(tasks)
        self._id_index = {t.id: i for i, t in enumerate(self._tasks)}
        self.name = name
        self.split = split
        self.family = self._tasks[0].family

    def __len__(self) -> int:
        return len(self._tasks)

    def _get(self, index: int) -> Task:
        return self._tasks[index]


def split_indices(n: int, test_fraction: float, seed: int) -> dict[str, list[int]]:
    """A deterministic random train/test split of ``range(n)``.

    The order comes from ``numpy.random.default_rng(seed).permutation(n)``; the first
    ``round(n * test_fraction)`` indices (at least one when ``n > 1``) form ``"test"``.

    Args:
        n: Number of items.
        test_fraction: Fraction held out for ``"test"``.
        seed: Seed of the permutation.

    Returns:
        ``{"train": [...], "test": [...], "all": [...]}`` with sorted index lists.
    """
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}")
    order = np.random.default_rng(seed).permutation(n).tolist()
    n_test = round(n * test_fraction)
    if n > 1 and test_fraction > 0:
        n_test = min(max(n_test, 1), n - 1)
    return {
        "train": sorted(order[n_test:]),
        "test": sorted(order[:n_test]),
        "all": list(range(n)),
    }
