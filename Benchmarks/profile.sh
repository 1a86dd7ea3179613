#!/usr/bin/env bash
# Where the forward pass's time goes, per layer kind, for the Swift fast path and ONNX Runtime on
# the same weights (BENCHMARKS.md, "Where the time goes"):
#
#   Benchmarks/profile.sh                  b0:224:1:1 b4:380:1:1 b7:600:1:1 v2s:384:1:1
#   Benchmarks/profile.sh b0:224:1:2 ...   chosen cases (model:size:batch:threads)
#
# Swift: `effnet-bench profile` (LayerProfile: wall time around each layer on the thread running
# the image, its thread split included). ONNX Runtime: its own per-node profile
# (enable_profiling), each node's kernel time summed by the same kinds, from the Conv weight
# shapes (bench_python.py --profile). Both: ms per inference over >= BENCH_MIN_RUNS runs (default
# 10) and >= BENCH_MIN_SECONDS (default 3); profile one image at a time (batch 1).
# Environment: PYTHON as for run.sh; --no-build reuses the run.sh build.
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/python-env.sh
CACHE=Benchmarks/.cache
BUILD=1
CASES=()
for a in "$@"; do
  case $a in
    --no-build) BUILD=0 ;;
    *) CASES+=("$a") ;;
  esac
done
[ ${#CASES[@]} -gt 0 ] || CASES=(b0:224:1:1 b4:380:1:1 b7:600:1:1 v2s:384:1:1)
SCRATCH=${BENCH_SCRATCH_NATIVE:-.build-bench-native}
if [ $BUILD = 1 ]; then
  swift build -c release --product effnet-bench --scratch-path "$SCRATCH" \
    -Xswiftc -target-cpu -Xswiftc native -Xswiftc -DEFFNET_FMA 2>&1 | grep -E "error|Build complete" >&2 || true
fi
BENCH=$SCRATCH/release/effnet-bench
[ -x "$BENCH" ] || { echo "error: $BENCH is missing (run without --no-build)" >&2; exit 2; }
models=$(printf '%s\n' "${CASES[@]}" | cut -d: -f1 | sort -u)
# shellcheck disable=SC2086
"$PYTHON" Benchmarks/make_models.py "$CACHE" "$BENCH" $models >&2
export BENCH_MIN_SECONDS=${BENCH_MIN_SECONDS:-3} BENCH_MIN_RUNS=${BENCH_MIN_RUNS:-10}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
echo "Load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for c in "${CASES[@]}"; do
  echo "== $c" >&2
  "$BENCH" --min-seconds "$BENCH_MIN_SECONDS" --min-runs "$BENCH_MIN_RUNS" profile "$CACHE" "$c" >> "$OUT/profile.jsonl"
  "$PYTHON" Benchmarks/bench_python.py "$CACHE" --profile "$c" >> "$OUT/profile.jsonl"
done
echo "Load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PYTHON" - "$OUT/profile.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
cases = list(dict.fromkeys(r["case"] for r in rows))
for case in cases:
    rs = [r for r in rows if r["case"] == case]
    kinds = list(dict.fromkeys(r["kind"] for r in rs))
    got = {(r["engine"], r["kind"]): r["ms_per_inference"] for r in rs}
    total = {e: sum(v for (en, _), v in got.items() if en == e) for e in ("swift", "onnxruntime")}
    med = {r["engine"]: r["median_ms"] for r in rs}
    print(f"\n{case} (median inference: Swift {med.get('swift', 0):.1f} ms, ONNX Runtime {med.get('onnxruntime', 0):.1f} ms; "
          f"profiled layers sum to {total['swift']:.1f} and {total['onnxruntime']:.1f} ms)\n")
    print("| layer kind | Swift ms | Swift share | ORT ms | ORT share | Swift/ORT |")
    print("|---|---|---|---|---|---|")
    for k in kinds:
        s, o = got.get(("swift", k)), got.get(("onnxruntime", k))
        cell = lambda v, e: (f"{v:.2f}", f"{100 * v / total[e]:.0f}%") if v is not None and total[e] else ("-", "-")
        ratio = f"{s / o:.2f}" if s and o else "-"
        print(f"| {k} | {' | '.join(cell(s, 'swift'))} | {' | '.join(cell(o, 'onnxruntime'))} | {ratio} |")
PY
