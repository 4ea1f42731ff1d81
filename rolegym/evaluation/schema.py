"""The evaluation result format, ``rolegym.eval/1``, and a validator.

One JSON file per evaluated system (a model, a checkpoint with its adapters, or an endpoint)::

    {
      "schema": "rolegym.eval/1",
      "label": "micro-sft+grpo-isolated",        # how the system is shown on a leaderboard
      "system": {
        "kind": "model" | "checkpoint" | "openai" | "micro",
        "name": "Qwen/Qwen3-1.7B",               # model id, path or served name
        "checkpoint": "runs/x/final" | null,      # adapters/models evaluated, if any
        "policy": "base" | "shared" | "isolated", # base: no training
        "policy_map": {"generator": "generator", ...} | null,
        "train_env": "voting-math-v0" | null,     # what it was trained on
        "step": 300 | null                        # training step of the checkpoint
      },
      "protocol": {
        "split": "test", "problems": 100, "samples": 1, "seed": 0,
        "temperature": 0.7, "max_new_tokens": 1024
      },
      "cells": [
        {
          "env_id": "voting-arith-v0", "workflow": "voting", "task": "arith",
          "accuracy": 0.42,                       # mean episode correctness (pass@1 per sample)
          "correct": 42, "episodes": 100, "problems": 100, "samples": 1,
          "tokens_per_problem": 123.4,            # completion tokens of all calls / problems
          "calls_per_episode": 4.0,
          "roles": {
            "<role>": {
              "calls": 300, "mean_tokens": 30.1, "mean_chars": 80.2,
              "parse_failure_rate": 0.05,         # turns with infos' parse_error
              "truncated_rate": 0.01,             # turns that hit the token cap
              # generator, worker, synthesizer: share of their answers that are correct
              "answer_accuracy": 0.40,
              # aggregator: chosen candidate correct, among episodes where one was
              "choice_accuracy": 0.8, "choice_possible": 60,
              # evaluator: "Correct" is the positive class, against the judged answer
              "precision": 0.9, "recall": 0.7, "verdict_accuracy": 0.8
            }
          }
        }
      ],
      "created": "2026-11-25T17:00:00+00:00",
      "rolegym_version": "0.1.0"
    }

Role-specific keys appear only for the roles they concern (``null`` when undefined, e.g.
precision with no "Correct" verdict).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA", "SchemaError", "load_result", "validate_result"]

SCHEMA = "rolegym.eval/1"

_CELL_KEYS = {
    "env_id": str,
    "workflow": str,
    "task": str,
    "accuracy": (int, float),
    "correct": int,
    "episodes": int,
    "problems": int,
    "samples": int,
    "tokens_per_problem": (int, float),
    "calls_per_episode": (int, float),
    "roles": dict,
}
_ROLE_KEYS = {
    "calls": int,
    "mean_tokens": (int, float),
    "mean_chars": (int, float),
    "parse_failure_rate": (int, float),
    "truncated_rate": (int, float),
}
_SYSTEM_KINDS = ("model", "checkpoint", "openai", "micro")
_POLICIES = ("base", "shared", "isolated")


class SchemaError(ValueError):
    """A result file that does not follow ``rolegym.eval/1`` (the message says where)."""


def _check(cond: bool, where: str, message: str) -> None:
    if not cond:
        raise SchemaError(f"{where}: {message}")


def validate_result(data: Mapping[str, Any], where: str = "result") -> None:
    """Raise :class:`SchemaError` unless ``data`` is a valid ``rolegym.eval/1`` result."""
    _check(isinstance(data, Mapping), where, "not a JSON object")
    _check(data.get("schema") == SCHEMA, where, f"schema must be {SCHEMA!r}")
    _check(isinstance(data.get("label"), str) and bool(data["label"]), where, "label missing")
    system = data.get("system")
    _check(isinstance(system, Mapping), where, "system missing")
    _check(system.get("kind") in _SYSTEM_KINDS, where, f"system.kind must be in {_SYSTEM_KINDS}")
    _check(system.get("policy") in _POLICIES, where, f"system.policy must be in {_POLICIES}")
    protocol = data.get("protocol")
    _check(isinstance(protocol, Mapping), where, "protocol missing")
    for key in ("split", "problems", "samples", "seed", "temperature", "max_new_tokens"):
        _check(key in protocol, where, f"protocol.{key} missing")
    cells = data.get("cells")
    _check(isinstance(cells, list) and bool(cells), where, "cells must be a non-empty list")
    for i, cell in enumerate(cells):
        at = f"{where}: cells[{i}]"
        _check(isinstance(cell, Mapping), at, "not an object")
        for key, kind in _CELL_KEYS.items():
            _check(isinstance(cell.get(key), kind), at, f"{key} missing or not {kind}")
        _check(0.0 <= cell["accuracy"] <= 1.0, at, "accuracy outside [0, 1]")
        _check(cell["correct"] <= cell["episodes"], at, "more correct than episodes")
        for role, stats in cell["roles"].items():
            for key, kind in _ROLE_KEYS.items():
                _check(isinstance(stats.get(key), kind), f"{at}.roles.{role}", f"{key} missing")


def load_result(path: str | Path) -> dict[str, Any]:
    """Read and validate one result file."""
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as e:
        raise SchemaError(f"{path}: not JSON ({e})") from None
    validate_result(data, str(path))
    return data
