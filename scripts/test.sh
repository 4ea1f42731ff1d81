#!/usr/bin/env bash
# The test command: set everything up from nothing, then run the whole suite in parallel, then
# the vLLM lane (the tests marked `vllm`, against the real vLLM in .venv-vllm).
#
# Extra arguments go to the main suite's pytest and skip the vLLM lane (for example:
# bash scripts/test.sh -k voting); ROLEGYM_VLLM_LANE=1 runs the lane as well, =0 never. The
# tests marked `slow` run too (CI runs everything); -m "not slow" leaves them out.
set -euo pipefail
cd "$(dirname "$0")/.."
lane=${ROLEGYM_VLLM_LANE:-$([ $# -eq 0 ] && echo 1 || echo 0)}
if [ "$lane" = 1 ]; then bash scripts/setup.sh --vllm; else bash scripts/setup.sh; fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest -n auto "$@"
if [ "$lane" = 1 ]; then
  # One test file per worker: each file starts its vLLM engines once, in module fixtures.
  .venv-vllm/bin/python -m pytest -m vllm -n 2 --dist loadfile tests/vllm
fi
