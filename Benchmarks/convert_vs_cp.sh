#!/usr/bin/env bash
# Conversion speed and memory against `cp` (issue 3, Performance):
#   converting a ~78 MB checkpoint without verification must take at most 3x the time `cp` needs
#   for the same file, and peak memory (max RSS) must stay below the file's size + 100 MB.
#
# The checkpoint is a random-init torchvision efficientnet_b4 state_dict (19.3M parameters, 77 MB)
# written by real torch.save into $WORK (never committed).
#
# Usage: Benchmarks/convert_vs_cp.sh [--format pth|legacy|safetensors] [--runs N] [--no-build]
#   PYTHON   python with torch + torchvision  (default .cache/venv-bench/bin/python, the venv
#            Benchmarks/run.sh makes)
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
    *) echo "usage: $0 [--format pth|legacy|safetensors] [--runs N] [--no-build]" >&2; exit 2 ;;
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

case "$FORMAT" in
  pth) SRC="$WORK/efficientnet_b4.pth" ;;
  legacy) SRC="$WORK/efficientnet_b4_legacy.pth" ;;
  safetensors) SRC="$WORK/efficientnet_b4.safetensors" ;;
  *) echo "error: unknown format $FORMAT" >&2; exit 2 ;;
esac
if [ ! -f "$SRC" ]; then
  "$PYTHON" - "$WORK" <<'EOF'
import os, sys, torch, torchvision
from safetensors.torch import save_file
work = sys.argv[1]
torch.manual_seed(0)
sd = torchvision.models.efficientnet_b4(weights=None).state_dict()
torch.save(sd, os.path.join(work, "efficientnet_b4.pth"))
torch.save(sd, os.path.join(work, "efficientnet_b4_legacy.pth"), _use_new_zipfile_serialization=False)
save_file({k: v.contiguous() for k, v in sd.items()}, os.path.join(work, "efficientnet_b4.safetensors"))
EOF
fi

SIZE=$(stat -c %s "$SRC")
cat "$SRC" > /dev/null   # warm the page cache: both contenders read from memory

now_ns() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# CPU seconds (user + sys) of one command, from /usr/bin/time, in microseconds.
cpu_us() { awk '{printf "%d", ($1 + $2) * 1000000}' "$WORK/time.txt"; }

# Runs alternate (cp, cp + fsync, convert, ...) so that a slow spell on a shared machine hits
# all three alike; medians are compared.
CP_TIMES=(); CP_CPU=(); CPSYNC_TIMES=(); CONV_TIMES=(); CONV_CPU=()
MAX_RSS=0
for _ in $(seq "$RUNS"); do
  # cp, as a person would run it (no fsync)
  rm -f "$WORK/copy.bin"
  t0=$(now_ns); /usr/bin/time -f "%U %S" -o "$WORK/time.txt" cp "$SRC" "$WORK/copy.bin"; t1=$(now_ns)
  CP_TIMES+=($(( (t1 - t0) / 1000 ))); CP_CPU+=($(cpu_us))
  # cp followed by fsync of the copy: for context, since the converter's writes are durable
  rm -f "$WORK/copy.bin"
  t0=$(now_ns); cp "$SRC" "$WORK/copy.bin"; sync "$WORK/copy.bin"; t1=$(now_ns)
  CPSYNC_TIMES+=($(( (t1 - t0) / 1000 )))
  rm -f "$WORK/copy.bin"
  # the converter, no verification (nothing to verify against)
  rm -f "$WORK/out.effw"
  t0=$(now_ns)
  /usr/bin/time -f "%U %S %M" -o "$WORK/time.txt" "$CONVERT" "$SRC" "$WORK/out.effw" --family torchvision --quiet
  t1=$(now_ns)
  CONV_TIMES+=($(( (t1 - t0) / 1000 ))); CONV_CPU+=($(cpu_us))
  rss=$(awk '{print $3}' "$WORK/time.txt")
  [ "$rss" -gt "$MAX_RSS" ] && MAX_RSS=$rss
done
rm -f "$WORK/out.effw"

CP_US=$(printf '%s\n' "${CP_TIMES[@]}" | median)
CPSYNC_US=$(printf '%s\n' "${CPSYNC_TIMES[@]}" | median)
CONV_US=$(printf '%s\n' "${CONV_TIMES[@]}" | median)
CP_CPU_US=$(printf '%s\n' "${CP_CPU[@]}" | median)
CONV_CPU_US=$(printf '%s\n' "${CONV_CPU[@]}" | median)
LIMIT_KB=$(( SIZE / 1024 + 100 * 1024 ))

awk -v size="$SIZE" -v cp="$CP_US" -v cps="$CPSYNC_US" -v conv="$CONV_US" -v rss="$MAX_RSS" -v lim="$LIMIT_KB" \
    -v src="$SRC" -v runs="$RUNS" -v cpcpu="$CP_CPU_US" -v convcpu="$CONV_CPU_US" -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
  ratio = conv / cp
  printf "source          %s (%.1f MB)\n", src, size / 1048576
  printf "cp              %8.1f ms (median of %d)\n", cp / 1000, runs
  printf "cp + fsync      %8.1f ms (context: the converter fsyncs its output; %.2fx this)\n", cps / 1000, conv / cps
  printf "effnet-convert  %8.1f ms (median of %d, no verification)   %.2fx cp  (limit 3x)   %s\n", conv / 1000, runs, ratio, (ratio <= 3 ? "PASS" : "FAIL")
  printf "CPU (user+sys)  cp %.1f ms, effnet-convert %.1f ms (%.2fx); load average %s on %d cores\n", cpcpu / 1000, convcpu / 1000, convcpu / (cpcpu > 0 ? cpcpu : 1), load, '"$(nproc)"'
  printf "max RSS         %8.1f MB   (limit file + 100 MB = %.1f MB)   %s\n", rss / 1024, lim / 1024, (rss < lim ? "PASS" : "FAIL")
  exit (ratio <= 3 && rss < lim) ? 0 : 1
}'
