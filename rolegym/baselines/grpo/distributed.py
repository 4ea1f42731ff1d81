"""The trainer's data-parallel context: one process, or one of an accelerate/torchrun launch."""

from __future__ import annotations

import os
from typing import Any

import torch

__all__ = ["DataParallel"]


class DataParallel:
    """The data-parallel context (one process unless launched with accelerate/torchrun).

    Constructing it joins the launcher's process group when ``WORLD_SIZE`` > 1 and none is set
    up yet (through accelerate's ``PartialState``); with one process every operation is the
    identity.

    Attributes:
        on: Whether a process group is initialised.
        rank: This process's rank (0 with one process).
        world: The number of processes.
    """

    def __init__(self) -> None:
        import torch.distributed as dist

        if not dist.is_initialized() and int(os.environ.get("WORLD_SIZE", "1")) > 1:
            from accelerate import PartialState  # sets up the process group from the launcher

            PartialState()
        self.on = dist.is_available() and dist.is_initialized()
        self.rank = dist.get_rank() if self.on else 0
        self.world = dist.get_world_size() if self.on else 1

    def sum_(self, tensor: torch.Tensor) -> None:
        """Sum ``tensor`` over all processes, in place."""
        if self.on:
            import torch.distributed as dist

            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)

    def summed(self, tensor: torch.Tensor) -> torch.Tensor:
        """A copy of ``tensor`` summed over all processes."""
        out = tensor.clone()
        self.sum_(out)
        return out

    def gather(self, obj: Any) -> list[Any]:
        """Every process's ``obj`` (picklable), in rank order."""
        if not self.on:
            return [obj]
        import torch.distributed as dist

        out: list[Any] = [None] * self.world
        dist.all_gather_object(out, obj)
        return out
