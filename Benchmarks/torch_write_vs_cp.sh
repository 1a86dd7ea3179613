#!/usr/bin/env bash
# Writing a full-size PyTorch archive (TorchArchiveWriter) against `cp` of the same file.
#
# TorchArchiveWriterBenchmark (Tests/EffNetTorchTests) writes a torchvision efficientnet_b7 state
# dict (random values, 267 MB) RUNS times through AtomicFileWriter (fsync included) and into
# memory; then `cp` copies the result RUNS times, with and without `sync` of the copy.
# Wall and CPU seconds per run are printed; compare the medians. Needs a quiet machine.
#
# Usage: Benchmarks/torch_write_vs_cp.sh
#   RUNS   runs of each (default 5)
#   WORK   scratch folder (default /tmp/effnet-torch-write-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-5}"
WORK="${WORK:-/tmp/effnet-torch-write-bench}"
mkdir -p "$WORK"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
EFFNET_TORCH_WRITE_BENCH="$WORK" EFFNET_TORCH_WRITE_RUNS="$RUNS" \
  swift test -c release --filter TorchArchiveWriterBenchmark 2>&1 | grep -E '^(b7:|run )'
ls -l "$WORK/b7.pth"
for i in $(seq "$RUNS"); do
  rm -f "$WORK/copy.pth"
  /usr/bin/time -f "cp run $i: %e s wall %U+%S s cpu" cp "$WORK/b7.pth" "$WORK/copy.pth"
done
for i in $(seq "$RUNS"); do
  rm -f "$WORK/copy.pth"
  /usr/bin/time -f "cp+sync run $i: %e s wall %U+%S s cpu" sh -c 'cp "$1" "$2" && sync "$2"' sh "$WORK/b7.pth" "$WORK/copy.pth"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
