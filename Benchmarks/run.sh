#!/usr/bin/env bash
# Benchmarks the Swift forward pass against ONNX Runtime and PyTorch eager on the same weights,
# in one run, and prints median latencies and ratios (see BENCHMARKS.md for the numbers).
#
#   Benchmarks/run.sh                 all cases
#   Benchmarks/run.sh b0:224:1:1 ...  chosen cases (model:size:batch:threads)
#
# Environment:
#   PYTHON             python with torch, torchvision, onnx, onnxruntime, safetensors (default: a
#                      venv that this script makes once in .cache/venv-bench with pip)
#   BENCH_MIN_SECONDS  minimum timing per case and engine (default 3)
#   BENCH_MIN_RUNS     minimum runs per case and engine (default 20)
#   BENCH_ROUNDS       rounds per case (default 1): every engine times the case once per round,
#                      ONNX Runtime/PyTorch first in every other round, and the report takes the
#                      median of the rounds' medians: on a shared machine, load that comes and
#                      goes then falls on every engine alike
#   DEFAULT_BUILD=0    skip the second Swift build: the default one, `swift build -c release`
#                      without -Xswiftc flags (what users and dependent packages get), timed as
#                      the "swift-default" column (on by default; PORTABLE=0/1 is the old name)
#   BENCH_SCRATCH_NATIVE, BENCH_SCRATCH_DEFAULT
#                      SwiftPM scratch folders of the two builds (default .build-bench-native,
#                      .build-bench-portable)
#   OPENBLAS=1         also time the Swift pass with its 1x1 convolutions through Debian's
#                      OpenBLAS (libopenblas-dev; OPENBLAS_CORETYPE defaults to SkylakeX, since
#                      OpenBLAS 0.3.21 does not know this CPU and falls back to SSE3 kernels)
#
# Every engine runs each case in a fresh process, whose peak resident memory (the load and the
# case's runs) is reported per case.
#
# Weights: torchvision EfficientNet-B0/B4/B7 and EfficientNetV2-S (case model "v2s") with random
# weights and BN statistics, made once by make_models.py into Benchmarks/.cache (git-ignored) as
# .effw, .onnx and .pt.
set -euo pipefail
cd "$(dirname "$0")/.."

source Benchmarks/python-env.sh
CACHE=Benchmarks/.cache
MIN_SECONDS=${BENCH_MIN_SECONDS:-3}
MIN_RUNS=${BENCH_MIN_RUNS:-20}
CASES=("$@")
[ ${#CASES[@]} -gt 0 ] || CASES=(b0:224:1:1 b0:224:1:2 b0:224:8:1 b0:224:8:2 b4:380:1:1 b4:380:1:2 b7:600:1:1 b7:600:1:2
                                   v2s:384:1:1 v2s:384:1:2)

# The inner loops (GEMM tiles, depthwise rows) are C in Sources/CEffNetKernels, compiled for
# AVX-512, AVX2+FMA and the baseline, and chosen at run time, so the default build runs them at
# full speed; these flags only speed up the Swift around them (-DEFFNET_FMA: fused multiply-adds
# in VectorMath.swift). The "swift" column is this build, "swift-default" the default build.
NATIVE_FLAGS=(-Xswiftc -target-cpu -Xswiftc native -Xswiftc -DEFFNET_FMA)

build() { # scratch-path, flags...
  local scratch=$1; shift
  echo "== swift build -c release --product effnet-bench $*" >&2
  swift build -c release --product effnet-bench --scratch-path "$scratch" "$@" 2>&1 \
    | grep -E "error|warning: unre|Compiling effnet|Build complete" >&2 || true
  echo "$scratch/release/effnet-bench"
}

BENCH=$(build "${BENCH_SCRATCH_NATIVE:-.build-bench-native}" "${NATIVE_FLAGS[@]}")
[ -x "$BENCH" ] || { echo "build failed" >&2; exit 1; }
if [ "${DEFAULT_BUILD:-${PORTABLE:-1}}" = 1 ]; then
  BENCH_PORTABLE=$(build "${BENCH_SCRATCH_DEFAULT:-.build-bench-portable}")
  [ -x "$BENCH_PORTABLE" ] || { echo "default build failed" >&2; exit 1; }
fi

models=$(printf '%s\n' "${CASES[@]}" | cut -d: -f1 | sort -u)
echo "== models (cached in $CACHE)" >&2
# shellcheck disable=SC2086
"$PYTHON" Benchmarks/make_models.py "$CACHE" "$BENCH" $models >&2

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

echo "== machine" >&2
{
  lscpu | grep -E "^(Model name|CPU\(s\)|Thread|Core|Socket|L1d|L2|L3)" | sed 's/  */ /g'
  echo "Flags (vector): $(grep -o -w -E 'avx2|fma|avx512f|avx512_bf16|avx512_fp16|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ')"
  echo "Memory: $(free -h | awk '/^Mem:/{print $2}')"
  echo "Load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "onnxruntime $("$PYTHON" -c 'import onnxruntime; print(onnxruntime.__version__)'), torch $("$PYTHON" -c 'import torch; print(torch.__version__)'), $(swift --version 2>&1 | head -1)"
} | tee "$OUT/machine.txt" >&2

# ONNX Runtime's logits on a fixed input, which effnet-bench compares its own with before timing.
# shellcheck disable=SC2086
"$PYTHON" Benchmarks/bench_python.py "$CACHE" --write-checks $models >&2

swift_engines() { # case
  local c=$1
  echo "== $c: swift" >&2
  "$BENCH" --min-seconds "$MIN_SECONDS" --min-runs "$MIN_RUNS" run "$CACHE" "$c" | tee -a "$OUT/swift.jsonl" >&2
  if [ -n "${BENCH_PORTABLE:-}" ]; then
    echo "== $c: swift (default build, no -Xswiftc flags)" >&2
    "$BENCH_PORTABLE" --min-seconds "$MIN_SECONDS" --min-runs "$MIN_RUNS" run "$CACHE" "$c" \
      | sed 's/"engine":"swift"/"engine":"swift-default"/' | tee -a "$OUT/swift.jsonl" >&2
  fi
  if [ "${OPENBLAS:-0}" = 1 ]; then
    echo "== $c: swift, 1x1 convolutions through OpenBLAS (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX})" >&2
    OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX} "$BENCH" --gemm openblas --min-seconds "$MIN_SECONDS" \
      --min-runs "$MIN_RUNS" run "$CACHE" "$c" | tee -a "$OUT/swift.jsonl" >&2
  fi
}

python_engines() { # case
  local c=$1 engine
  # One process per engine, so that each one's peak RSS is its own.
  for engine in onnxruntime pytorch; do
    echo "== $c: $engine" >&2
    BENCH_ENGINES=$engine BENCH_MIN_SECONDS=$MIN_SECONDS BENCH_MIN_RUNS=$MIN_RUNS \
      "$PYTHON" Benchmarks/bench_python.py "$CACHE" "$c" | tee -a "$OUT/python.jsonl" >&2
  done
}

# Case by case, every engine back to back, so that all see the same machine load.
for c in "${CASES[@]}"; do
  for ((round = 0; round < ${BENCH_ROUNDS:-1}; round++)); do
    if ((round % 2 == 0)); then
      swift_engines "$c"; python_engines "$c"
    else
      python_engines "$c"; swift_engines "$c"
    fi
  done
done

"$PYTHON" Benchmarks/report.py "$OUT"
