"""Math problems generated offline by ``reasoning-gym`` (``pip install 'rolegym[data]'``).

``dataset="reasoning-gym:NAME"`` picks a generator, for example ``gsm_symbolic`` (GSM8K-style
word problems), ``basic_arithmetic`` or ``chain_sum``. Each split is its own seeded dataset
(train uses ``seed``, test ``seed + 1``, validation ``seed + 2``), so splits are
reproducible and a problem's index is stable; extra options go to the generator's config.
"""

from __future__ import annotations

from typing import Any

from rolegym.tasks.base import ListTaskSource, Task

__all__ = ["load_reasoning_gym"]

_SPLIT_OFFSET = {"train": 0, "test": 1, "validation": 2}


def load_reasoning_gym(
    generator: str, split: str = "train", *, seed: int = 0, size: int = 1000, **config: Any
) -> ListTaskSource:
    """Generate ``size`` problems with a reasoning-gym generator.

    Args:
        generator: The generator's name (``"gsm_symbolic"``, ``"basic_arithmetic"``, ...).
        split: ``"train"``, ``"test"`` or ``"validation"``.
        seed: Base seed.
        size: Problems in the split.
        **config: Options of the generator's config.
    """
    if split not in _SPLIT_OFFSET:
        raise ValueError(f"reasoning-gym splits are {sorted(_SPLIT_OFFSET)}, not {split!r}")
    try:
        import reasoning_gym
    except ImportError:
        raise ModuleNotFoundError(
            "reasoning-gym generators need the reasoning-gym package: pip install 'rolegym[data]'"
        ) from None
    data = reasoning_gym.create_dataset(
        generator, seed=seed + _SPLIT_OFFSET[split], size=size, **config
    )
    tasks = []
    for i, item in enumerate(data):
        meta = {"source": f"reasoning-gym:{generator}", "seed": seed}
        difficulty = item.get("metadata", {}).get("difficulty")
        if isinstance(difficulty, (int, float)):
            meta["difficulty"] = difficulty
        tasks.append(
            Task(
                id=f"rg-{generator}-{split}-{i:06d}",
                prompt=item["question"],
                family="math",
                answer=str(item["answer"]),
                meta=meta,
            )
        )
    return ListTaskSource(tasks, name=f"reasoning-gym:{generator}", split=split)
