#!/usr/bin/env bash
# Writes ONNX's own node conformance tests for every operator the reference interpreter implements
# into .cache/onnx-conformance, where Tests/EffNetONNXTests/ONNXConformanceTests.swift runs them.
# The onnx wheel (pip-installed into .cache/venv-onnx, pinned so the case list is stable) ships the
# case definitions; Fixtures/generate_onnx_conformance.py writes them with onnx's own writer.
#   bash scripts/onnx-conformance.sh          # generate (again only when the inputs changed)
#   bash scripts/onnx-conformance.sh --test   # and run the Swift test
set -euo pipefail
cd "$(dirname "$0")/.."
onnx_version=1.23.2
venv=.cache/venv-onnx
out=.cache/onnx-conformance
if ! "$venv/bin/python" -c "import onnx, sys; sys.exit(onnx.__version__ != '$onnx_version')" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "onnx==$onnx_version" numpy
fi
# Regenerated when the operator list or the generator changes.
stamp=$(cat Sources/EffNetONNX/Interpreter/Kernels.swift Fixtures/generate_onnx_conformance.py | sha256sum | cut -c1-16)
if [ "$(cat "$out/.stamp" 2>/dev/null)" != "$stamp-$onnx_version" ]; then
  "$venv/bin/python" -W ignore Fixtures/generate_onnx_conformance.py --output "$out"
  echo "$stamp-$onnx_version" > "$out/.stamp"
fi
if [ "${1:-}" = "--test" ]; then
  EFFNET_REQUIRE_ONNX_CONFORMANCE=1 swift test -c release --filter ONNXConformanceTests
fi
