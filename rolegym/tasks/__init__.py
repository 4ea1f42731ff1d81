"""Problem sources: math, code and the procedural micro task ``arith``."""

from __future__ import annotations

from rolegym.tasks.arith import ArithSource
from rolegym.tasks.base import ListTaskSource, Task, TaskFamily, TaskSource, TestCase, split_indices
from rolegym.tasks.catalog import TASK_KINDS, DatasetUnavailableError, load_tasks
from rolegym.tasks.local import MalformedRowError, load_fixture, load_jsonl

__all__ = [
    "TASK_KINDS",
    "ArithSource",
    "DatasetUnavailableError",
    "ListTaskSource",
    "MalformedRowError",
    "Task",
    "TaskFamily",
    "TaskSource",
    "TestCase",
    "load_fixture",
    "load_jsonl",
    "load_tasks",
    "split_indices",
]
