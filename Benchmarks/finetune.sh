#!/usr/bin/env bash
# Head training and feature extraction, Swift (effnet-finetune-bench) against PyTorch
# (bench_finetune.py) in one run; see BENCHMARKS.md ("Fine-tuning a head").
#
#   Benchmarks/finetune.sh
#
# Environment: PYTHON, a python with torch and torchvision (default: the benchmarks' own venv in
# .cache/venv-bench, made on first use by Benchmarks/python-env.sh).
# Training runs on one thread on both sides (Swift's head training is single-threaded; torch is
# set to one thread); feature extraction uses two threads on both sides.
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/python-env.sh

echo "== swift build -c release --product effnet-finetune-bench" >&2
swift build -c release --product effnet-finetune-bench 2>&1 | grep -E "error|Build complete" >&2 || true
BENCH=.build/release/effnet-finetune-bench
[ -x "$BENCH" ] || { echo "build failed" >&2; exit 1; }

for head in linear mlp:256; do
  for opt in sgd adamw; do
    taskset -c 0 "$BENCH" train "$head" "$opt"
    BENCH_THREADS=1 taskset -c 0 "$PYTHON" Benchmarks/bench_finetune.py train "$head" "$opt"
  done
done
"$BENCH" features b0 16
BENCH_THREADS=2 "$PYTHON" Benchmarks/bench_finetune.py features b0 16
