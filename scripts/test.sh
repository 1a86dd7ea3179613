#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing, builds, runs every test.
#   1. Debian packages the C targets need (scripts/install-deps.sh)
#   2. ONNX's own node tests for the reference interpreter, written by the pip onnx package
#      (a small venv in .cache/; docs/ONNX_CONFORMANCE.md)
#   3. swift test (release build: the forward passes are heavy in debug)
#   4. Python's safetensors reading a Swift-written .effw, Python's pickle (allowlisted torch
#      globals only) reading a Swift-written PyTorch archive (a small venv in .cache/), and ONNX
#      Runtime running the ONNX models the Swift tests exported (the onnx venv of step 2)
#   5. a separate package depending on EffNet alone builds and links no system library, and
#      EffNetTests depends on and calls none (scripts/check-core-portable.sh)
#   6. every documentation link stays inside the repository and resolves
#   7. every CRC-32 implementation at -O0 and -O2; the arm64 one under qemu when it is installed
#   8. the DocC documentation of EffNet builds (swift-docc-plugin)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

echo "== ONNX node tests: generating them with the onnx package"
bash scripts/onnx-conformance.sh
# ONNXConformanceTests fails, rather than skips, without them.
export EFFNET_REQUIRE_ONNX_CONFORMANCE=1

echo "== swift test"
# TorchArchiveWriterTests leaves a Swift-written PyTorch archive here for step 4.
export EFFNET_EXPORT_ARCHIVE_DIR="$PWD/.build/torch-archive-check"
rm -rf "$EFFNET_EXPORT_ARCHIVE_DIR"
# The ONNX export tests also write their exports here for ONNX Runtime (step 4).
export EFFNET_ONNX_EXPORT_OUT="$PWD/.cache/onnx-export"
rm -rf "$EFFNET_ONNX_EXPORT_OUT"
# Build output is long; keep the test lines and the closing summary.
set +e
swift test -c release 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Linking|Write|Build)'
status=${PIPESTATUS[0]}
set -e
[ "$status" -eq 0 ] || { echo "swift test failed (exit $status)"; exit "$status"; }

echo "== python: safetensors reads Swift-written .effw; pickle reads a Swift-written torch archive"
bash scripts/python-interop.sh

echo "== python: ONNX Runtime runs the Swift-exported ONNX models"
bash scripts/check-onnx-export.sh

bash scripts/check-core-portable.sh

echo "== documentation links"
python3 scripts/check-doc-links.py

echo "== CRC-32 at every optimisation level and on arm64"
bash scripts/crc32-check.sh

echo "== DocC: swift package generate-documentation --target EffNet"
set +e
swift package generate-documentation --target EffNet > .build/docc-effnet.log 2>&1
status=$?
set -e
tail -3 .build/docc-effnet.log
[ "$status" -eq 0 ] || { cat .build/docc-effnet.log; echo "DocC failed (exit $status)"; exit "$status"; }
