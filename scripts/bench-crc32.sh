#!/usr/bin/env bash
# CRC-32 throughput of EffNet's implementations against zlib, and libdeflate when its headers are
# installed (pkg-config libdeflate; Debian: libdeflate-dev; not a dependency of the project).
#   bash scripts/bench-crc32.sh [buffer bytes ...]     (default: 262144 and 67108864)
set -euo pipefail
cd "$(dirname "$0")/.."
out=.build/bench-crc32
mkdir -p .build
extra=()
if pkg-config --exists libdeflate 2>/dev/null; then
  extra=(-DWITH_LIBDEFLATE $(pkg-config --cflags --libs libdeflate))
fi
cc=${CC:-$(command -v clang || command -v cc)}
"$cc" -O2 -ISources/CEffNetCRC32/include scripts/bench-crc32.c Sources/CEffNetCRC32/*.c \
  "${extra[@]}" -lz -o "$out"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(262144 67108864)
for s in "${sizes[@]}"; do "$out" "$s"; done
