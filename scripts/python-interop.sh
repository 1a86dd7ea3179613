#!/usr/bin/env bash
# Checks that Python's `safetensors` (pip-installed into .cache/venv-interop) reads .effw files
# written by the Swift tools, with the same tensors, metadata and checksums.
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
