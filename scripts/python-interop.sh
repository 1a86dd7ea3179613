#!/usr/bin/env bash
# Checks that Python's `safetensors` (pip-installed into .cache/venv-interop) reads .effw files
# written by the Swift tools, with the same tensors, metadata and checksums; and that Python's
# zipfile and pickle, allowing only the globals torch.load(weights_only=True) allows, read a
# PyTorch archive written by TorchArchiveWriter (scripts/check-torch-pickle.py; CI has no torch).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.cache/venv-interop
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q safetensors numpy
fi
bin=$(swift build -c release --show-bin-path)
# scripts/test.sh has just built the tools (swift test -c release builds every product);
# building again here without test flags would recompile everything.
if [ ! -x "$bin/effnet-convert" ]; then
  swift build -c release --product effnet-convert >/dev/null
fi
"$venv/bin/python" Tests/python/test_effw_interop.py "$bin"

# The archive TorchArchiveWriterTests wrote during scripts/test.sh's swift test, or now.
archive_dir=${EFFNET_EXPORT_ARCHIVE_DIR:-$PWD/.build/torch-archive-check}
if [ ! -f "$archive_dir/swift_written.pth" ]; then
  EFFNET_EXPORT_ARCHIVE_DIR="$archive_dir" swift test -c release \
    --filter TorchArchiveWriterTests/testWritesArchiveForPythonChecks >/dev/null
fi
"$venv/bin/python" scripts/check-torch-pickle.py "$archive_dir/swift_written.pth" "$archive_dir/swift_written.npz"
