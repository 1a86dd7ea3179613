#!/usr/bin/env bash
# ONNX export benchmark: how long ONNXExport takes on torchvision B0 / B4 / B7 (random weights),
# and ONNX Runtime's latency on the Swift-exported B0 (BN nodes and BN folded) against
# torch.onnx.export's B0 of the same weights, each output checked against PyTorch's logits.
#   Benchmarks/onnx-export.sh            (PYTHON: a python with torch, torchvision, onnxruntime;
#                                         default: the venv of Benchmarks/python-env.sh)
# Prints the load average first: on a shared machine the numbers are only indicative.
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/python-env.sh
out=Benchmarks/.cache/onnx-export
mkdir -p "$out"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)"
[ -e "$out/b7.pth" ] || "$PYTHON" Benchmarks/onnx_export.py make "$out" b0 b4 b7
if ! EFFNET_ONNX_EXPORT_BENCH="$PWD/$out" swift test -c release --filter ONNXExportBenchmarkTests > "$out/swift.log" 2>&1; then
  grep -E "error|failed" "$out/swift.log" >&2 || tail -20 "$out/swift.log" >&2
  exit 1
fi
grep "onnx-export-bench" "$out/swift.log"
"$PYTHON" Benchmarks/onnx_export.py latency "$out" b0
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)"
