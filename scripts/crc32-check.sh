#!/usr/bin/env bash
# Every CRC-32 implementation (Sources/CEffNetCRC32) against a bitwise reference
# (scripts/crc32-check.c), built with clang at -O0 and -O2: natively (the x86-64 code; -O0 is
# what a debug build of EffNet runs, which `swift test -c release` never compiles), then for
# arm64 under qemu-user (the ARMv8 CRC32 code), when Debian's qemu-user, libc6-dev-arm64-cross
# and libgcc-12-dev-arm64-cross are installed; CI machines need not have them, so that part
# says it skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .build
cc=$(command -v clang || true)
[ -n "$cc" ] || { echo "crc32: clang not found (it comes with the Swift toolchain)"; exit 1; }
sources=(scripts/crc32-check.c Sources/CEffNetCRC32/*.c)
for opt in -O0 -O2; do
  "$cc" "$opt" -ISources/CEffNetCRC32/include "${sources[@]}" -o .build/crc32-check
  echo "crc32 native $opt:"
  .build/crc32-check
done

sysroot=/usr/aarch64-linux-gnu
gccdir=$(dirname "$(ls /usr/lib/gcc-cross/aarch64-linux-gnu/*/crtbeginS.o 2>/dev/null | head -1)" 2>/dev/null || true)
if ! command -v qemu-aarch64 >/dev/null || [ ! -d "$sysroot/include" ] || [ -z "$gccdir" ] || [ "$gccdir" = . ]; then
  echo "crc32 arm64: skipped (needs qemu-user, libc6-dev-arm64-cross, libgcc-12-dev-arm64-cross)"
  exit 0
fi
for opt in -O0 -O2; do
  "$cc" --target=aarch64-linux-gnu "$opt" -isystem "$sysroot/include" -ISources/CEffNetCRC32/include "${sources[@]}" \
    -fuse-ld=lld -L"$sysroot/lib" -B"$gccdir" -B"$sysroot/lib" -L"$gccdir" -o .build/crc32-check-arm64
  echo "crc32 arm64 $opt (qemu):"
  qemu-aarch64 -L "$sysroot" .build/crc32-check-arm64
done
