"""``arith``: procedurally generated small-integer arithmetic, for CPU-sized models.

Each problem is an expression such as ``12 + 7 - 3`` over small non-negative integers; the
reference answer is its exact integer value (Python integer arithmetic, usual precedence).
Problem ``i`` of a split is generated from its own generator seeded with
``(seed, split, i)``, so access is O(1), any index can be replayed, and the sequence does
not depend on which other problems were drawn.
"""

from __future__ import annotations

import numpy as np

from rolegym.tasks.base import Task, TaskSource

__all__ = ["ArithSource"]

_SPLIT_CODES = {"train": 0, "test": 1, "validation": 2}


def _evaluate(numbers: list[int], ops: list[str]) -> int:
    """Evaluate ``n0 op0 n1 op1 ...`` with ``*`` binding tighter than ``+``/``-``."""
    terms: list[int] = [numbers[0]]
    signs: list[int] = [1]
    for op, value in zip(ops, numbers[1:], strict=False):
        if op == "*":
            terms[-1] *= value
        else:
            terms.append(value)
            signs.append(1 if op == "+" else -1)
    return sum(s * t for s, t in zip(signs, terms, strict=False))


class ArithSource(TaskSource):
    """Small-integer arithmetic problems.

    Args:
        split: ``"train"``, ``"test"`` or ``"validation"``; each uses its own stream.
        size: Number of problems in the split (default 100 000 for train, 1 000 otherwise).
        seed: Base seed of the generator.
        terms: Number of operands per expression (at least 2).
        max_value: Operands are drawn from ``0..max_value``.
        ops: Operators to draw from, a subset of ``"+-*"``.
    """

    family = "math"

    def __init__(
        self,
        split: str = "train",
        *,
        size: int | None = None,
        seed: int = 0,
        terms: int = 2,
        max_value: int = 20,
        ops: str = "+-",
    ) -> None:
        if split not in _SPLIT_CODES:
            raise ValueError(f"arith has splits {sorted(_SPLIT_CODES)}, not {split!r}")
        if terms < 2:
            raise ValueError("terms must be at least 2")
        if max_value < 1:
            raise ValueError("max_value must be at least 1")
        if not ops or set(ops) - set("+-*"):
            raise ValueError(f"ops must be a non-empty subset of '+-*', got {ops!r}")
        self.name = "arith"
        self.split = split
        self.size = size if size is not None else (100_000 if split == "train" else 1_000)
        self.seed = seed
        self.terms = terms
        self.max_value = max_value
        self.ops = ops

    def __len__(self) -> int:
        return self.size

    def _get(self, index: int) -> Task:
        rng = np.random.default_rng([self.seed, _SPLIT_CODES[self.split], index])
        numbers = rng.integers(0, self.max_value + 1, size=self.terms).tolist()
        ops = [self.ops[int(k)] for k in rng.integers(0, len(self.ops), size=self.terms - 1)]
        pairs = zip(ops, numbers[1:], strict=True)
        expression = str(numbers[0]) + "".join(f" {o} {n}" for o, n in pairs)
        return Task(
            id=f"arith-{self.split}-{index:06d}",
            prompt=f"Compute {expression}.",
            family="math",
            answer=str(_evaluate(numbers, ops)),
            meta={"source": "arith", "expression": expression, "seed": self.seed},
        )

    def index_of(self, task_id: str) -> int:
        """Parse the index out of an ``arith-<split>-<index>`` id."""
        prefix = f"arith-{self.split}-"
        if task_id.startswith(prefix) and task_id[len(prefix) :].isdigit():
            index = int(task_id[len(prefix) :])
            if index < self.size:
                return index
        raise KeyError(f"no task {task_id!r} in {self!r}")
