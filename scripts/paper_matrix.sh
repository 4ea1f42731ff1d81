#!/usr/bin/env bash
# The paper's matrix on GPUs: train each selected run, evaluate every checkpoint of it on its
# own cell (held-out split, the paper's protocol), then gather everything into a leaderboard.
#
#   scripts/paper_matrix.sh                         # all 42 runs, one after another
#   scripts/paper_matrix.sh 'voting-math-qwen3-1.7b-*'   # a selection (shell pattern)
#   PROBLEMS=1412 scripts/paper_matrix.sh ...       # the full DAPO-Math held-out split
#   EVAL_ENGINE=hf scripts/paper_matrix.sh ...      # evaluate with transformers (default vllm)
#
# A run that was interrupted resumes from its last checkpoint. Needs the [train,vllm,data]
# extras and the hub (or HF_HOME with the models and datasets).
set -euo pipefail
pattern="${1:-*}"
problems="${PROBLEMS:-200}"
engine="${EVAL_ENGINE:-vllm}"  # one vLLM serves every checkpoint's adapters in turn
rolegym=${ROLEGYM:-rolegym}
for config in configs/paper/${pattern}.yaml; do
  name=$(basename "$config" .yaml)
  run="runs/paper/$name"
  resume=()
  if compgen -G "$run/checkpoint-*" > /dev/null; then resume=(--resume); fi
  "$rolegym" train --config "$config" --output_dir "$run" "${resume[@]}"
  "$rolegym" eval "$run" --all-checkpoints --engine "$engine" --problems "$problems" -o "results/paper/$name/eval.json"
  "$rolegym" report "$run"
done
"$rolegym" leaderboard results/paper -o leaderboard/paper --title "rolegym: the paper's matrix"
