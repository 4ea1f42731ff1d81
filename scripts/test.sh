#!/usr/bin/env bash
# The test command: set everything up from nothing, then run the whole suite in parallel.
# Extra arguments go to pytest (for example: bash scripts/test.sh -k voting).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest -n auto "$@"
