#!/usr/bin/env bash
# Images end to end (issue 18 §4): effnet-predict on a folder of real JPEGs against, in the same
# run, Pillow decode + torchvision's weights' transforms + PyTorch, and the same preprocessing +
# ONNX Runtime, on 1 and 2 threads; images per second, CPU time, ratios (BENCHMARKS.md).
#
#   Benchmarks/images.sh
#
# The images (~250 JPEGs: scikit-image's photos and crops of them re-encoded at six sizes from
# 320 to 1920 px and two qualities) and the model (torchvision efficientnet_b0, random weights and
# BN statistics, as .pth, .onnx and the .effw effnet-convert makes of the .pth) are generated into
# Benchmarks/.cache at the first run (git-ignored), never committed.
#
# Environment:
#   PYTHON        python with torch, torchvision, onnx, onnxruntime, scikit-image (default: the
#                 benchmarks' venv, Benchmarks/python-env.sh; scikit-image is added to it)
#   BENCH_ROUNDS  timed runs per engine and thread count (default 3; the median is reported)
set -euo pipefail
cd "$(dirname "$0")/.."

source Benchmarks/python-env.sh
"$PYTHON" -c "import skimage" 2>/dev/null || "$PYTHON" -m pip install -q scikit-image
CACHE=Benchmarks/.cache
ROUNDS=${BENCH_ROUNDS:-3}
mkdir -p "$CACHE"

echo "== swift build -c release --product effnet-predict / effnet-convert" >&2
swift build -c release --product effnet-predict 2>&1 | grep -E "error|Build complete" >&2 || true
swift build -c release --product effnet-convert 2>&1 | grep -E "error|Build complete" >&2 || true
BIN=$(swift build -c release --show-bin-path)

[ -e "$CACHE/images/.ready" ] || { "$PYTHON" Benchmarks/bench_images.py make "$CACHE" >&2 && touch "$CACHE/images/.ready"; }
[ -e "$CACHE/b0_images.effw" ] || "$BIN/effnet-convert" "$CACHE/b0_images.pth" "$CACHE/b0_images.effw" --quiet
IMAGES=("$CACHE"/images/*.jpg)
N=${#IMAGES[@]}

# median of the numbers on stdin
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# prints "wall cpu" (seconds) of one effnet-predict run
swift_run() { # threads, extra flags...
  local t=$1; shift
  local out
  out=$( { /usr/bin/time -f "%e %U %S" "$BIN/effnet-predict" "$CACHE/b0_images.effw" "${IMAGES[@]}" --threads "$t" --batch 8 "$@" >/dev/null; } 2>&1 | tail -1)
  awk '{print $1, $2 + $3}' <<<"$out"
}

# prints "wall cpu" of one Python run (its own timer: model loading excluded, as a server pays it once)
python_run() { # engine, threads
  "$PYTHON" Benchmarks/bench_images.py "$1" "$CACHE" "$2" | awk '{print $2, $3}'
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-28s %8s %10s %10s %9s\n" "engine" "threads" "images/s" "cpu s" "wall s"
declare -A RATE
for t in 1 2; do
  for engine in swift swift-draft torch ort; do
    walls=() cpus=()
    for ((r = 0; r < ROUNDS; r++)); do
      case $engine in
        swift) res=$(swift_run "$t") ;;
        swift-draft) res=$(swift_run "$t" --jpeg-draft) ;;
        *) res=$(python_run "$engine" "$t") ;;
      esac
      walls+=("${res% *}") cpus+=("${res#* }")
    done
    wall=$(printf "%s\n" "${walls[@]}" | median)
    cpu=$(printf "%s\n" "${cpus[@]}" | median)
    rate=$(awk -v n="$N" -v w="$wall" 'BEGIN {printf "%.1f", n / w}')
    RATE[$engine:$t]=$rate
    printf "%-28s %8d %10s %10.2f %9.2f\n" "$engine" "$t" "$rate" "$cpu" "$wall"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "ratios (effnet-predict images/s over the other's; > 1 is faster), $N images, B0 224, batch 8:"
for t in 1 2; do
  for s in swift swift-draft; do
    awk -v s="${RATE[$s:$t]}" -v a="${RATE[torch:$t]}" -v b="${RATE[ort:$t]}" -v name="$s" -v t="$t" \
      'BEGIN {printf "  %-12s %d thread(s): %.2fx Pillow+torchvision+PyTorch, %.2fx Pillow+torchvision+ONNX Runtime\n", name, t, s / a, s / b}'
  done
done
echo
echo "--jpeg-draft's pixels against the full decode (Pillow's own draft() through the same transforms):"
"$PYTHON" Benchmarks/bench_images.py diff "$CACHE" "$CACHE/draft_diff.json"
