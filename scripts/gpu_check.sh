#!/usr/bin/env bash
# The GPU check (benchmarks/gpu_check.py) from a plain checkout: rolegym is imported from the
# repo (PYTHONPATH=.), nothing is installed from the network. Arguments go to the script, for
# example: bash scripts/gpu_check.sh --tiny --out /tmp/gpu_check.json
#
# PYTHON picks the interpreter (default: .venv/bin/python if there, else python3). A machine
# without rolegym's pure-Python dependencies (tyro, gymnasium, pettingzoo, ...) can be given
# them as wheels: put them in .whl/ (or GPU_CHECK_WHEELS=DIR) and they are installed offline
# into a temporary folder first.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"

wheels="${GPU_CHECK_WHEELS:-.whl}"
if compgen -G "$wheels/*.whl" >/dev/null; then
  site="$(mktemp -d "${TMPDIR:-/tmp}/gpu_check-site.XXXXXX")"
  trap 'rm -rf "$site"' EXIT
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" \
    "$wheels"/*.whl
  export PYTHONPATH="$PYTHONPATH:$site"  # after the repo and anything given: extras only
fi

# Fail early, naming every missing module, rather than at the first import.
"$PYTHON" - <<'EOF'
import importlib.util, sys
need = ["torch", "transformers", "peft", "accelerate", "tokenizers", "tyro", "gymnasium",
        "pettingzoo", "rich", "numpy", "yaml", "rolegym"]
missing = [m for m in need if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"gpu_check: missing Python modules {missing} (carry their wheels in .whl/)")
EOF

out=benchmarks/results/gpu_check.json help=0
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --out=*) out="${args[i]#--out=}" ;;
    --out) out="${args[i + 1]:-$out}" ;;
    -h | --help) help=1 ;;
  esac
done
[[ "$out" = /* ]] || out="$PWD/$out"

"$PYTHON" benchmarks/gpu_check.py "$@"
((help)) || echo "gpu_check: JSON written to $out"
