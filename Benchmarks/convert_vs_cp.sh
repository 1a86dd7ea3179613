#!/usr/bin/env bash
# Conversion speed and memory against `cp` (issue 3, Performance; issue 18 section 3; issue 20):
#   converting a checkpoint takes at most 2x the time `cp` needs for the same file (the B4 .pth
#   without verification is the headline case), and peak memory (max RSS, children included)
#   stays below the file's size + 100 MB.
#
# Sources (random weights, written by the real frameworks into $WORK, never committed):
#   pth          torchvision efficientnet_b4 state_dict, torch.save (zip), 77 MB
#   legacy       the same, torch.save(_use_new_zipfile_serialization=False)
#   safetensors  the same, safetensors
#   pth-check    the B4 .pth with --check-input/--check-output (a torch reference pair, 1 image
#                at 380 px): the verification pass included
#   pth-b7       torchvision efficientnet_b7 state_dict (zip), 267 MB
#   keras        keras.applications.EfficientNetB4(weights=None) saved as a full-model .h5 (the
#                libhdf5 child process is included in the CPU and RSS numbers)
#   onnx         torch.onnx.export of the B4 (verified against its own graph, always)
#   onnx-check   the same with a reference pair as well
#   tf-b7        a B7 TensorFlow checkpoint in the tensorflow/tpu layout with EMA copies and
#                RMSProp slots (Fixtures/generate_tf_checkpoints.py bench), 1.07 GB shard; cp
#                copies the data shard
#
# Usage: Benchmarks/convert_vs_cp.sh [--format F] [--runs N] [--no-build]
#   PYTHON     python with torch + torchvision + onnx (default .cache/venv-bench/bin/python,
#              the venv Benchmarks/run.sh makes)
#   TF_PYTHON  python with tensorflow + keras (keras and tf-b7 only)
#   WORK     scratch folder                   (default /tmp/effnet-convert-bench)
#   SCRATCH  SwiftPM scratch path             (default .build-bench)
#   STATIC   1: build the tool with --static-swift-stdlib, the way to ship a Swift tool on Linux
#            (default 1); 0: plain `swift build -c release`, as scripts/demo.sh builds it
#            (start-up a few ms slower: the Swift runtime and Foundation are bound at load)
# Exit status 0 when both limits hold, 1 otherwise.
set -euo pipefail

FORMAT=pth
RUNS=15
BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --format) FORMAT="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    *) echo "usage: $0 [--format pth|legacy|safetensors|pth-check|pth-b7|keras|onnx|onnx-check|tf-b7] [--runs N] [--no-build]" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "${PYTHON:-}" ]; then
  # The benchmarks' own venv (made on first use, in a subshell: python-env.sh works from the root).
  (cd "$ROOT" && source Benchmarks/python-env.sh)
  PYTHON="$ROOT/.cache/venv-bench/bin/python"
fi
WORK="${WORK:-/tmp/effnet-convert-bench}"
SCRATCH="${SCRATCH:-$ROOT/.build-bench}"
mkdir -p "$WORK"

if [ "$BUILD" = 1 ]; then
  STATIC_FLAG=()
  [ "${STATIC:-1}" = 1 ] && STATIC_FLAG=(--static-swift-stdlib)
  (cd "$ROOT" && swift build -c release --product effnet-convert --scratch-path "$SCRATCH" "${STATIC_FLAG[@]}" >&2)
fi
CONVERT="$SCRATCH/release/effnet-convert"
[ -x "$CONVERT" ] || { echo "error: $CONVERT not built" >&2; exit 2; }

EXTRA=()
case "$FORMAT" in
  pth|pth-check) SRC="$WORK/efficientnet_b4.pth" ;;
  legacy) SRC="$WORK/efficientnet_b4_legacy.pth" ;;
  safetensors) SRC="$WORK/efficientnet_b4.safetensors" ;;
  pth-b7) SRC="$WORK/efficientnet_b7.pth" ;;
  keras) SRC="$WORK/efficientnetb4_keras.h5" ;;
  onnx|onnx-check) SRC="$WORK/efficientnet_b4.onnx" ;;
  tf-b7) SRC="$WORK/tf_b7" ;;
  *) echo "error: unknown format $FORMAT" >&2; exit 2 ;;
esac
FAMILY=(--family torchvision)
case "$FORMAT" in keras|tf-b7|onnx|onnx-check) FAMILY=() ;; esac
NEED="$SRC"   # the file whose absence means the sources are to be written
case "$FORMAT" in pth-check|onnx-check) NEED="$WORK/b4_output.npy" ;; esac
if [ ! -e "$NEED" ]; then
  case "$FORMAT" in
    keras)
      "${TF_PYTHON:?keras needs TF_PYTHON (a python with tensorflow and keras)}" - "$SRC" <<'EOF'
import sys, keras
keras.utils.set_random_seed(0)
keras.applications.EfficientNetB4(weights=None).save(sys.argv[1])
EOF
      ;;
    tf-b7)
      "${TF_PYTHON:?tf-b7 needs TF_PYTHON (a python with tensorflow)}" "$ROOT/Fixtures/generate_tf_checkpoints.py" bench \
        --torch-python "$PYTHON" --out "$SRC" >&2 ;;
    *)
      "$PYTHON" - "$WORK" <<'EOF'
import os, sys, numpy as np, torch, torchvision
from safetensors.torch import save_file
work = sys.argv[1]
torch.manual_seed(0)
m = torchvision.models.efficientnet_b4(weights=None).eval()
sd = m.state_dict()
torch.save(sd, os.path.join(work, "efficientnet_b4.pth"))
torch.save(sd, os.path.join(work, "efficientnet_b4_legacy.pth"), _use_new_zipfile_serialization=False)
save_file({k: v.contiguous() for k, v in sd.items()}, os.path.join(work, "efficientnet_b4.safetensors"))
x = torch.randn(1, 3, 380, 380)
with torch.no_grad():
    np.save(os.path.join(work, "b4_input.npy"), x.numpy())
    np.save(os.path.join(work, "b4_output.npy"), m(x).numpy())
torch.onnx.export(m, (x,), os.path.join(work, "efficientnet_b4.onnx"), opset_version=17, dynamo=False)
torch.save(torchvision.models.efficientnet_b7(weights=None).state_dict(), os.path.join(work, "efficientnet_b7.pth"))
EOF
      ;;
  esac
fi
case "$FORMAT" in
  pth-check|onnx-check) EXTRA=(--check-input "$WORK/b4_input.npy" --check-output "$WORK/b4_output.npy") ;;
esac
# What cp copies: the file, or a TF checkpoint's data shard.
CP_SRC="$SRC"
[ "$FORMAT" = tf-b7 ] && CP_SRC=$(ls "$SRC"/*.data-00000-of-00001 | head -1)

SIZE=$(stat -c %s "$CP_SRC")
if [ -d "$SRC" ]; then cat "$SRC"/* > /dev/null; else cat "$SRC" > /dev/null; fi   # warm the page cache: both contenders read from memory

now_ns() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# CPU seconds (user + sys) of one command, from /usr/bin/time, in microseconds.
cpu_us() { awk '{printf "%d", ($1 + $2) * 1000000}' "$WORK/time.txt"; }

# Runs alternate (cp, cp + fsync, convert, ...) so that a slow spell on a shared machine hits
# all three alike; medians are compared.
CP_TIMES=(); CP_CPU=(); CPSYNC_TIMES=(); CONV_TIMES=(); CONV_CPU=(); VERIFY_TIMES=()
MAX_RSS=0
for _ in $(seq "$RUNS"); do
  # cp, as a person would run it (no fsync)
  rm -f "$WORK/copy.bin"
  t0=$(now_ns); /usr/bin/time -f "%U %S" -o "$WORK/time.txt" cp "$CP_SRC" "$WORK/copy.bin"; t1=$(now_ns)
  CP_TIMES+=($(( (t1 - t0) / 1000 ))); CP_CPU+=($(cpu_us))
  # cp followed by fsync of the copy: for context, since the converter's writes are durable
  rm -f "$WORK/copy.bin"
  t0=$(now_ns); cp "$CP_SRC" "$WORK/copy.bin"; sync "$WORK/copy.bin"; t1=$(now_ns)
  CPSYNC_TIMES+=($(( (t1 - t0) / 1000 )))
  rm -f "$WORK/copy.bin"
  # the converter (verification only where the format asks for it: pth-check, onnx*)
  rm -f "$WORK/out.effw"
  t0=$(now_ns)
  /usr/bin/time -f "%U %S %M" -o "$WORK/time.txt" "$CONVERT" "$SRC" "$WORK/out.effw" "${FAMILY[@]}" "${EXTRA[@]}" --json > "$WORK/report.json"
  t1=$(now_ns)
  CONV_TIMES+=($(( (t1 - t0) / 1000 ))); CONV_CPU+=($(cpu_us))
  # The checks' own wall time (--json "seconds"): the conversion without verification is the
  # rest (an ONNX source cannot be converted unverified; this is how its cost is separated).
  VERIFY_TIMES+=($(python3 -c 'import json,sys; print(int(sum(c["seconds"] or 0 for c in json.load(open(sys.argv[1]))["verification"]["checks"]) * 1e6))' "$WORK/report.json"))
  rss=$(awk '{print $3}' "$WORK/time.txt")
  [ "$rss" -gt "$MAX_RSS" ] && MAX_RSS=$rss
done
rm -f "$WORK/out.effw"

CP_US=$(printf '%s\n' "${CP_TIMES[@]}" | median)
CPSYNC_US=$(printf '%s\n' "${CPSYNC_TIMES[@]}" | median)
CONV_US=$(printf '%s\n' "${CONV_TIMES[@]}" | median)
UNVERIFIED_US=$(for i in "${!CONV_TIMES[@]}"; do echo $(( CONV_TIMES[i] - VERIFY_TIMES[i] )); done | median)
VERIFY_US=$(printf '%s\n' "${VERIFY_TIMES[@]}" | median)
CP_CPU_US=$(printf '%s\n' "${CP_CPU[@]}" | median)
CONV_CPU_US=$(printf '%s\n' "${CONV_CPU[@]}" | median)
LIMIT_KB=$(( SIZE / 1024 + 100 * 1024 ))

awk -v size="$SIZE" -v cp="$CP_US" -v cps="$CPSYNC_US" -v conv="$CONV_US" -v rss="$MAX_RSS" -v lim="$LIMIT_KB" \
    -v src="$SRC" -v runs="$RUNS" -v cpcpu="$CP_CPU_US" -v convcpu="$CONV_CPU_US" -v load="$(cut -d' ' -f1 /proc/loadavg)" \
    -v verify="$VERIFY_US" -v unverified="$UNVERIFIED_US" 'BEGIN {
  ratio = conv / cp
  printf "source          %s (%.1f MB)\n", src, size / 1048576
  printf "cp              %8.1f ms (median of %d)\n", cp / 1000, runs
  printf "cp + fsync      %8.1f ms (context: the converter fsyncs its output; %.2fx this)\n", cps / 1000, conv / cps
  printf "effnet-convert  %8.1f ms (median of %d)   %.2fx cp  (limit 2x)   %s\n", conv / 1000, runs, ratio, (ratio <= 2 ? "PASS" : "FAIL")
  if (verify > 0)
    printf "  of which checks %6.1f ms (median; --json seconds); without them %.1f ms = %.2fx cp\n", verify / 1000, unverified / 1000, unverified / cp
  printf "CPU (user+sys)  cp %.1f ms, effnet-convert %.1f ms (%.2fx); load average %s on %d cores\n", cpcpu / 1000, convcpu / 1000, convcpu / (cpcpu > 0 ? cpcpu : 1), load, '"$(nproc)"'
  printf "max RSS         %8.1f MB   (limit file + 100 MB = %.1f MB)   %s\n", rss / 1024, lim / 1024, (rss < lim ? "PASS" : "FAIL")
  exit (ratio <= 2 && rss < lim) ? 0 : 1
}'
