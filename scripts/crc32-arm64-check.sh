#!/usr/bin/env bash
# The ARMv8 CRC-32 code (Sources/CEffNetCRC32/crc32_arm.c) on an x86-64 machine: cross-compiled
# with clang and run under qemu-user against a bitwise reference (scripts/crc32-check.c).
# Needs Debian's qemu-user, libc6-dev-arm64-cross and libgcc-12-dev-arm64-cross; skips (exit 0,
# saying so) when they are missing, since CI machines need not have them.
set -euo pipefail
cd "$(dirname "$0")/.."
sysroot=/usr/aarch64-linux-gnu
gccdir=$(dirname "$(ls /usr/lib/gcc-cross/aarch64-linux-gnu/*/crtbeginS.o 2>/dev/null | head -1)" 2>/dev/null || true)
if ! command -v qemu-aarch64 >/dev/null || [ ! -d "$sysroot/include" ] || [ -z "$gccdir" ] || [ "$gccdir" = . ]; then
  echo "crc32 arm64: skipped (needs qemu-user, libc6-dev-arm64-cross, libgcc-12-dev-arm64-cross)"
  exit 0
fi
out=.build/crc32-check-arm64
mkdir -p .build
clang --target=aarch64-linux-gnu -isystem "$sysroot/include" -O2 -ISources/CEffNetCRC32/include \
  scripts/crc32-check.c Sources/CEffNetCRC32/*.c -fuse-ld=lld -L"$sysroot/lib" -B"$gccdir" -B"$sysroot/lib" \
  -L"$gccdir" -o "$out"
echo "crc32 arm64 (qemu, default CPU):"
qemu-aarch64 -L "$sysroot" "$out"
