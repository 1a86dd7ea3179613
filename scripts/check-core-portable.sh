#!/usr/bin/env bash
# EffNet, the library apps import, needs no system library: builds Examples/UsesEffNet (a
# separate package that depends on the EffNet product alone), runs it on a committed .effw, and
# fails if the binary links any of the C libraries the readers use.
set -euo pipefail
cd "$(dirname "$0")/.."
example=Examples/UsesEffNet

echo "== a separate package depending on EffNet alone"
set +e
swift build --package-path "$example" 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Linking|Write|Build)'
status=${PIPESTATUS[0]}
set -e
[ "$status" -eq 0 ] || { echo "Examples/UsesEffNet failed to build (exit $status)"; exit "$status"; }
bin="$(swift build --package-path "$example" --show-bin-path)/uses-effnet"

"$bin"
"$bin" Fixtures/core/tv_b0_w050_d050.effw Fixtures/core/input_1x3x57x71.npy

if command -v ldd >/dev/null; then
  linked=$(ldd "$bin" | grep -E 'lib(z|deflate|hdf5|protobuf-c|jpeg|png[0-9]*)\.so' || true)
  if [ -n "$linked" ]; then
    echo "uses-effnet links system libraries EffNet must not need:"
    echo "$linked"
    exit 1
  fi
  echo "uses-effnet links no zlib, libdeflate, libhdf5, protobuf-c, libjpeg or libpng"
fi
