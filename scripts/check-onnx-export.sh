#!/usr/bin/env bash
# Runs the ONNX models the Swift tests exported (ONNXExportTests, ONNXExportFrameworkTests) in ONNX
# Runtime and checks them with onnx.checker (full_check), against the outputs the tests recorded:
# the model's own forward pass, or the source framework's (PyTorch, Keras) for the converted
# fixtures. Uses the pinned onnx venv of scripts/onnx-conformance.sh plus onnxruntime (pip).
#   EFFNET_ONNX_EXPORT_OUT=.cache/onnx-export swift test -c release --filter ONNXExport   # write the cases
#   bash scripts/check-onnx-export.sh                 # check .cache/onnx-export
#   bash scripts/check-onnx-export.sh --test          # both
set -euo pipefail
cd "$(dirname "$0")/.."
onnx_version=1.23.2
ort_version=1.32.0
venv=.cache/venv-onnx
out="${EFFNET_ONNX_EXPORT_OUT:-$PWD/.cache/onnx-export}"
if ! "$venv/bin/python" -c "import onnx, onnxruntime, sys; sys.exit(onnx.__version__ != '$onnx_version' or onnxruntime.__version__ != '$ort_version')" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "onnx==$onnx_version" "onnxruntime==$ort_version" numpy
fi
if [ "${1:-}" = "--test" ]; then
  rm -rf "$out"
  EFFNET_ONNX_EXPORT_OUT="$out" swift test -c release --filter 'ONNXExportTests|ONNXExportFrameworkTests'
fi
"$venv/bin/python" scripts/check-onnx-export.py "$out"
