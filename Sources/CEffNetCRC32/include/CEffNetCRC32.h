#ifndef CEFFNETCRC32_H
#define CEFFNETCRC32_H

// CRC-32 with the zip/gzip/PNG polynomial in zlib's convention (seed 0; the result of one call
// is the seed of the next to continue a stream), so EffNet checksums without any system library.
// Every conversion and every .effw load checksums all of its bytes, so it is vectorised and the
// code is chosen once, at the first call, for the CPU it runs on (like CEffNetKernels' levels):
//   "vpclmul-avx512"  x86-64 with VPCLMULQDQ + AVX-512: four 512-bit carry-less-multiply folds
//   "pclmul"          x86-64 with PCLMULQDQ + SSE4.1: four 128-bit folds
//   "armv8-crc32"     arm64 with the ARMv8 CRC32 instructions (every Apple arm64 CPU has them)
//   "table"           anything else: slice-by-8 tables
// EFFNET_CRC32=<name> in the environment picks a lower implementation (for measurement); one the
// CPU lacks is never chosen.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// CRC-32 of n bytes at p, continuing from crc (0 to start).
uint32_t effnet_crc32(uint32_t crc, const void *p, size_t n);

/// The implementation effnet_crc32 uses (one of the names above).
const char *effnet_crc32_implementation(void);

/// Runs the named implementation directly (for tests and benchmarks). Returns 0 and leaves *out
/// alone when this build or this CPU has no such implementation, 1 otherwise.
int effnet_crc32_using(const char *name, uint32_t crc, const void *p, size_t n, uint32_t *out);

#ifdef __cplusplus
}
#endif

#endif
