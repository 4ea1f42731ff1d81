"""``arith``: procedurally generated small-integer arithmetic, for CPU-sized models.

Each problem is an expression such as ``12 + 7 - 3`` over small non-negative integers; the
reference answer is its exact integer value (Python integer arithmetic, usual precedence).
Problem ``i`` of a split is a pure function of ``(seed, split, i)``: its numbers come from a
SplitMix64 hash of that triple. Access is O(1), any index can be replayed, and nothing
depends on which other problems were drawn. (A numpy ``Generator`` per problem would do the
same at about ten times the cost of the rest of an arith episode, which matters for
environment-overhead benchmarks.)
"""

from __future__ import annotations

from rolegym.tasks.base import Task, TaskSource

__all__ = ["ArithSource"]

_SPLIT_CODES = {"train": 0, "test": 1, "validation": 2}
_MASK = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    """SplitMix64's output function: a fast, well-mixed 64-bit hash of ``x``."""
    z = (x + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def _draws(seed: int, split: int, index: int, n: int) -> list[int]:
    """``n`` pseudo-random 64-bit integers determined by ``(seed, split, index)``."""
    base = _splitmix64(_splitmix64(_splitmix64(seed & _MASK) ^ split) ^ index)
    return [_splitmix64((base + k) & _MASK) for k in range(n)]


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
        draws = _draws(self.seed, _SPLIT_CODES[self.split], index, 2 * self.terms - 1)
        numbers = [d % (self.max_value + 1) for d in draws[: self.terms]]
        ops = [self.ops[d % len(self.ops)] for d in draws[self.terms :]]
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
