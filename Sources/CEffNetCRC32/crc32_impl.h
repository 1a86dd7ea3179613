// The implementations dispatch.c chooses among. Each takes and returns the CRC register itself
// (zlib's crc inverted), so that they can hand a tail to the table code without re-inverting.
// Not public.
#ifndef CEFFNETCRC32_IMPL_H
#define CEFFNETCRC32_IMPL_H
#include <stddef.h>
#include <stdint.h>

uint32_t effnet_crc32_table_update(uint32_t state, const uint8_t *p, size_t n);
#if defined(__x86_64__)
uint32_t effnet_crc32_pclmul_update(uint32_t state, const uint8_t *p, size_t n);
uint32_t effnet_crc32_vpclmul_update(uint32_t state, const uint8_t *p, size_t n);
#endif
#if defined(__aarch64__)
uint32_t effnet_crc32_armv8_update(uint32_t state, const uint8_t *p, size_t n);
#endif
#endif
