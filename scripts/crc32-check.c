// Checks every CRC-32 implementation this CPU runs (Sources/CEffNetCRC32) against a bitwise
// reference: every length 0-1024 at 64 alignments, a 1 MiB buffer, and a chained pair of calls.
// Built at -O0 and -O2, natively and for arm64 under qemu, by scripts/crc32-check.sh, so that the
// ARMv8 code is tested on an x86-64 machine and every code at the debug build's optimisation
// level (CRC32Tests checks the release build against zlib). Exits 1 on any mismatch.
#include <stdio.h>
#include <stdlib.h>
#include "CEffNetCRC32.h"
static uint32_t bitwise(uint32_t crc, const unsigned char *p, size_t n) {
  crc = ~crc; while (n--) { crc ^= *p++; for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1)); } return ~crc; }
int main(void) {
  size_t N = (1 << 20) + 4096; unsigned char *b = malloc(N); for (size_t i = 0; i < N; i++) b[i] = rand();
  const char *names[] = {"vpclmul-avx512", "pclmul", "armv8-crc32", "table"}; int bad = 0, ran = 0;
  printf("chosen: %s\n", effnet_crc32_implementation());
  for (int k = 0; k < 4; k++) {
    uint32_t o;
    if (!effnet_crc32_using(names[k], 0, b, 1, &o)) { printf("%s unavailable\n", names[k]); continue; }
    for (int off = 0; off < 64; off++) for (int len = 0; len <= 1024; len++) {
      effnet_crc32_using(names[k], 0, b + off, len, &o); ran++;
      if (o != bitwise(0, b + off, len)) { if (bad++ < 3) printf("%s off %d len %d\n", names[k], off, len); } }
    size_t L = (1 << 20) + 4095; uint32_t whole = bitwise(0, b + 1, L), head, all;
    effnet_crc32_using(names[k], 0, b + 1, L, &all); effnet_crc32_using(names[k], 0, b + 1, L / 3, &head);
    effnet_crc32_using(names[k], head, b + 1 + L / 3, L - L / 3, &o);
    if (all != whole || o != whole) { bad++; printf("%s large/chained wrong\n", names[k]); }
  }
  printf("%d checks, %d bad\n", ran, bad); return bad != 0;
}
