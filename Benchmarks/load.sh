#!/usr/bin/env bash
# Load-to-ready (issue 18, section 1): how long an application waits from opening a model file to
# having run its first image, each run in a fresh process, engines interleaved, B0 and B7:
#
#   swift        EfficientNet(contentsOf:) (header, every CRC-32, fold + pack), then the first
#                inference; ready = load + first inference - a warm inference
#   safetensors  safetensors.torch.load_file on the same .effw
#   torchvision  the torchvision constructor + torch.load(mmap=True) + load_state_dict
#   onnxruntime  InferenceSession creation + first run (ready = session + first - warm)
#
# Usage: Benchmarks/load.sh [--runs N] [--threads T] [--no-build] [b0 b7 ...]
#   PYTHON   python with torch, torchvision, onnx, onnxruntime, safetensors (default: the
#            benchmarks' venv, made on first use by Benchmarks/python-env.sh)
#   SCRATCH  SwiftPM scratch path of the release build (default .build: a plain
#            `swift build -c release`, what users get)
# The models (random weights and batch-norm statistics, Benchmarks/make_models.py) are written once
# to Benchmarks/.cache (git-ignored); B7's .effw is 267 MB. The page cache is warmed before timing.
# Prints one JSON line per run on stderr and the summary table (medians, ratios) on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=11
THREADS=2
BUILD=1
MODELS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    b[0-9]) MODELS+=("$1"); shift ;;
    *) echo "usage: $0 [--runs N] [--threads T] [--no-build] [b0 b7 ...]" >&2; exit 2 ;;
  esac
done
[ ${#MODELS[@]} -gt 0 ] || MODELS=(b0 b7)

source Benchmarks/python-env.sh
CACHE=Benchmarks/.cache
SCRATCH="${SCRATCH:-.build}"
if [ "$BUILD" = 1 ]; then
  swift build -c release --product effnet-bench --scratch-path "$SCRATCH" 2>&1 \
    | grep -E "error|Compiling effnet|Build complete" >&2 || true
fi
BENCH="$SCRATCH/release/effnet-bench"
[ -x "$BENCH" ] || { echo "error: $BENCH not built" >&2; exit 2; }
"$PYTHON" Benchmarks/make_models.py "$CACHE" "$BENCH" "${MODELS[@]}" >&2

OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
size_of() { case "$1" in b0) echo 224 ;; b1) echo 240 ;; b2) echo 260 ;; b3) echo 300 ;; b4) echo 380 ;;
  b5) echo 456 ;; b6) echo 528 ;; b7) echo 600 ;; esac; }

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for m in "${MODELS[@]}"; do
  base="$CACHE/efficientnet_$m"
  cat "$base.effw" "$base.pt" "$base.onnx" > /dev/null   # warm page cache for every contender
  size=$(size_of "$m")
  for ((r = 0; r < RUNS; r++)); do
    # Rotate the order each round so that a slow spell on a shared machine hits all alike.
    runs=("swift" "safetensors" "torchvision" "onnxruntime")
    for ((k = 0; k < 4; k++)); do
      e=${runs[$(( (k + r) % 4 ))]}
      case "$e" in
        swift) line=$("$BENCH" load "$base.effw" "$size" "$THREADS") ;;
        safetensors) line=$("$PYTHON" Benchmarks/bench_load.py safetensors "$base.effw") ;;
        torchvision) line=$("$PYTHON" Benchmarks/bench_load.py torchvision "$m" "$base.pt") ;;
        onnxruntime) line=$("$PYTHON" Benchmarks/bench_load.py onnxruntime "$base.onnx" "$size") ;;
      esac
      echo "{\"model\": \"$m\", \"run\": $r, $(echo "$line" | sed 's/^{//')" | tee -a "$OUT" >&2
    done
  done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

"$PYTHON" - "$OUT" "$LOAD_START" "$LOAD_END" "$THREADS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = lambda m, e, k: statistics.median(r[k] for r in rows if r["model"] == m and r["engine"] == e)
print(f"load average at start {sys.argv[2]}, at end {sys.argv[3]}; {sys.argv[4]} threads; "
      f"median of {len([r for r in rows if r['engine'] == 'swift' and r['model'] == rows[0]['model']])} fresh processes each")
print()
print("| model | swift load | swift ready | safetensors load_file | torchvision construct + load_state_dict | ORT session + first run - warm | ready / safetensors | ready / torchvision | ready / ORT |")
print("|---|---|---|---|---|---|---|---|---|")
for m in dict.fromkeys(r["model"] for r in rows):
    s_load, s_ready = med(m, "swift", "load_ms"), med(m, "swift", "ready_ms")
    st, tv, ort = med(m, "safetensors", "load_ms"), med(m, "torchvision", "ready_ms"), med(m, "onnxruntime", "ready_ms")
    c = lambda e, k: med(m, e, k)
    print(f"| {m.upper()} wall | {s_load:.1f} | {s_ready:.1f} | {st:.1f} | {tv:.1f} | {ort:.1f} | {s_ready / st:.2f}x | {s_ready / tv:.2f}x | {s_ready / ort:.2f}x |")
    cs, cst, ctv, cort = c("swift", "cpu_ready_ms"), c("safetensors", "cpu_load_ms"), c("torchvision", "cpu_ready_ms"), c("onnxruntime", "cpu_ready_ms")
    print(f"| {m.upper()} CPU | {c('swift', 'cpu_load_ms'):.1f} | {cs:.1f} | {cst:.1f} | {ctv:.1f} | {cort:.1f} | {cs / cst:.2f}x | {cs / ctv:.2f}x | {cs / cort:.2f}x |")
print()
for m in dict.fromkeys(r["model"] for r in rows):
    print(f"{m.upper()}: swift first inference {med(m, 'swift', 'first_ms'):.1f} ms, warm {med(m, 'swift', 'warm_ms'):.1f} ms; "
          f"ORT session {med(m, 'onnxruntime', 'session_ms'):.1f} ms, first run {med(m, 'onnxruntime', 'first_ms'):.1f} ms, warm {med(m, 'onnxruntime', 'warm_ms'):.1f} ms; "
          f"torchvision construct {med(m, 'torchvision', 'construct_ms'):.1f} ms + torch.load/load_state_dict {med(m, 'torchvision', 'load_ms'):.1f} ms")
PY
