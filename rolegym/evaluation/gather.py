"""Result files -> leaderboard rows: one :class:`LeaderboardRow` per system x cell.

:func:`gather_files` finds and validates ``rolegym.eval/1`` result files (see
:mod:`rolegym.evaluation.schema`; directories are searched recursively, files that are not
result files skipped) and :func:`gather_rows` turns them into rows, refusing a label that names
two systems and a system x cell that appears twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rolegym.evaluation.schema import SchemaError, load_result, validate_result

__all__ = ["LeaderboardRow", "gather_files", "gather_rows"]


@dataclass
class LeaderboardRow:
    """One system evaluated on one cell (a row of ``leaderboard.json``).

    Attributes:
        label: The system's label, as shown on the leaderboard.
        env_id: The cell's environment id, e.g. ``voting-arith-v0``.
        workflow: The cell's workflow, e.g. ``voting``.
        task: The cell's task family, e.g. ``arith``.
        accuracy: Mean episode correctness.
        correct: Correct episodes.
        episodes: Episodes played.
        problems: Distinct problems.
        samples: Samples per problem.
        tokens_per_problem: Completion tokens of all calls divided by problems.
        calls_per_episode: LLM calls per episode.
        roles: Per-role statistics, as in the result file.
        system: The result file's ``system`` object.
        protocol: The result file's ``protocol`` object.
        source: The result file the row was read from.
    """

    label: str
    env_id: str
    workflow: str
    task: str
    accuracy: float
    correct: int
    episodes: int
    problems: int
    samples: int
    tokens_per_problem: float
    calls_per_episode: float
    roles: dict[str, dict[str, Any]]
    system: dict[str, Any]
    protocol: dict[str, Any]
    source: str

    def to_dict(self) -> dict[str, Any]:
        """The row as plain JSON-serialisable data."""
        return asdict(self)


def _read_candidate(path: Path) -> dict[str, Any] | None:
    """A JSON file found in a directory: its validated result, or None if not a result file."""
    raw = path.read_bytes()
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        if b'"rolegym.eval/' in raw:  # a damaged result file must not vanish silently
            raise SchemaError(f"{path}: not JSON ({e})") from None
        return None
    schema = data.get("schema") if isinstance(data, dict) else None
    if not (isinstance(schema, str) and schema.startswith("rolegym.eval/")):
        return None
    validate_result(data, str(path))  # other versions fail here, naming the file
    return data


def gather_files(paths: Iterable[str | os.PathLike[str]]) -> list[tuple[Path, dict[str, Any]]]:
    """Every result file under ``paths``, each once, validated.

    Args:
        paths: Result files (each must be one) and directories (searched for ``*.json``).

    Returns:
        (file, its validated result) pairs, in the order found.

    Raises:
        SchemaError: A result file, or a file in a directory that claims to be one, is invalid.
        FileNotFoundError: A path does not exist.
    """
    found: list[tuple[Path, dict[str, Any]]] = []
    seen: set[Path] = set()
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            for file in sorted(path.rglob("*.json")):
                if file.is_file() and file.resolve() not in seen:
                    data = _read_candidate(file)
                    if data is not None:
                        seen.add(file.resolve())
                        found.append((file, data))
        elif path.is_file():
            if path.resolve() not in seen:
                seen.add(path.resolve())
                found.append((path, load_result(path)))  # named explicitly: must be a result
        else:
            raise FileNotFoundError(f"{path}: no such file or directory")
    return found


def gather_rows(files: Sequence[tuple[Path, dict[str, Any]]]) -> list[LeaderboardRow]:
    """One row per system x cell of the result files.

    Raises:
        ValueError: The same label names two different systems, or a system x cell appears
            twice.
    """
    rows: list[LeaderboardRow] = []
    origin: dict[tuple[str, str], Path] = {}
    system_of: dict[str, tuple[dict[str, Any], Path]] = {}
    for path, data in files:
        label, system = data["label"], dict(data["system"])
        if label in system_of and system_of[label][0] != system:
            raise ValueError(
                f"{path}: label {label!r} already names a different system in "
                f"{system_of[label][1]}; give each system its own label"
            )
        system_of.setdefault(label, (system, path))
        for cell in data["cells"]:
            key = (label, cell["env_id"])
            if key in origin:
                raise ValueError(
                    f"{path}: {label!r} on {cell['env_id']} is also in {origin[key]}; "
                    "a system x cell may appear only once"
                )
            origin[key] = path
            rows.append(
                LeaderboardRow(
                    label=label,
                    env_id=cell["env_id"],
                    workflow=cell["workflow"],
                    task=cell["task"],
                    accuracy=float(cell["accuracy"]),
                    correct=cell["correct"],
                    episodes=cell["episodes"],
                    problems=cell["problems"],
                    samples=cell["samples"],
                    tokens_per_problem=float(cell["tokens_per_problem"]),
                    calls_per_episode=float(cell["calls_per_episode"]),
                    roles={role: dict(stats) for role, stats in cell["roles"].items()},
                    system=system,
                    protocol=dict(data["protocol"]),
                    source=str(path),
                )
            )
    return rows
