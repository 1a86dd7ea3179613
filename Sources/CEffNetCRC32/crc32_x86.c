// CRC-32 by carry-less multiplication (Intel, "Fast CRC Computation for Generic Polynomials Using
// PCLMULQDQ Instruction", 2009): 128-bit blocks of the message are folded forward onto later
// blocks by multiplying with x^(D+-32) mod P (D the fold distance in bits), which keeps four
// independent multiply chains busy; the last 128 bits are reduced to 32 by Barrett reduction.
// Constants are bit-reflected and shifted left by one, as the paper gives them; the tests check
// every length and alignment against zlib. Lengths below 64 bytes and the last (n mod 16) bytes
// go through the tables.
#if defined(__x86_64__)
#include <immintrin.h>
#include "crc32_impl.h"

// Fold constants for a fold distance of D bits: {x^(D+32) mod P, x^(D-32) mod P}, bit-reflected
// and shifted left by one (the paper's k1..k6; the multiply's low qword takes the first, its high
// qword the second). Computed by reducing x^n modulo P bit by bit.
#define K(first, second) _mm_set_epi64x((long long)(second), (long long)(first))
#define K_2048 K(0x11542778aULL, 0x1322d1430ULL)
#define K_512 K(0x154442bd4ULL, 0x1c6e41596ULL)
#define K_128 K(0x1751997d0ULL, 0x0ccaa009eULL)
#define K_64 _mm_set_epi64x(0, 0x163cd6124LL)             // x^64 mod P: 96 bits to 64
#define BARRETT K(0x1db710641ULL, 0x1f7011641ULL)       // P' and floor(x^64 / P)'

#pragma clang attribute push(__attribute__((target("pclmul,sse4.1"))), apply_to = function)

static inline __m128i fold128(__m128i x, __m128i k, __m128i next) {
    return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)), next);
}

// 128 bits (the message's last block folded, no pending data) to the 32-bit CRC register.
static inline uint32_t reduce128(__m128i x) {
    const __m128i k128 = K_128;
    const __m128i mask32 = _mm_setr_epi32(~0, 0, ~0, 0);
    // 128 -> 96 bits: the low qword, times x^96 mod P, onto the high one.
    __m128i t = _mm_clmulepi64_si128(x, k128, 0x10);
    x = _mm_xor_si128(_mm_srli_si128(x, 8), t);
    // 96 -> 64 bits.
    t = _mm_srli_si128(x, 4);
    x = _mm_and_si128(x, mask32);
    x = _mm_clmulepi64_si128(x, K_64, 0x00);
    x = _mm_xor_si128(x, t);
    // Barrett reduction, 64 -> 32 bits.
    const __m128i poly = BARRETT;
    t = _mm_and_si128(x, mask32);
    t = _mm_clmulepi64_si128(t, poly, 0x10);
    t = _mm_and_si128(t, mask32);
    t = _mm_clmulepi64_si128(t, poly, 0x00);
    x = _mm_xor_si128(x, t);
    return (uint32_t)_mm_extract_epi32(x, 1);
}

// n >= 64. Folds 64 bytes a step (four 128-bit chains), then 16; returns the register after the
// first (n rounded down to 16) bytes.
static uint32_t pclmul_blocks(uint32_t state, const uint8_t *p, size_t n) {
    __m128i x0 = _mm_loadu_si128((const __m128i *)(p + 0));
    __m128i x1 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 32));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(p + 48));
    x0 = _mm_xor_si128(x0, _mm_cvtsi32_si128((int)state));
    p += 64, n -= 64;
    const __m128i k512 = K_512;
    for (; n >= 64; p += 64, n -= 64) {
        x0 = fold128(x0, k512, _mm_loadu_si128((const __m128i *)(p + 0)));
        x1 = fold128(x1, k512, _mm_loadu_si128((const __m128i *)(p + 16)));
        x2 = fold128(x2, k512, _mm_loadu_si128((const __m128i *)(p + 32)));
        x3 = fold128(x3, k512, _mm_loadu_si128((const __m128i *)(p + 48)));
    }
    const __m128i k128 = K_128;
    x0 = fold128(x0, k128, x1);
    x0 = fold128(x0, k128, x2);
    x0 = fold128(x0, k128, x3);
    for (; n >= 16; p += 16, n -= 16) x0 = fold128(x0, k128, _mm_loadu_si128((const __m128i *)p));
    return reduce128(x0);
}

uint32_t effnet_crc32_pclmul_update(uint32_t state, const uint8_t *p, size_t n) {
    if (n < 64) return effnet_crc32_table_update(state, p, n);
    size_t blocks = n & ~(size_t)15;
    state = pclmul_blocks(state, p, blocks);
    return effnet_crc32_table_update(state, p + blocks, n - blocks);
}

#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target("pclmul,sse4.1,avx512f,avx512vl,avx512bw,vpclmulqdq"))), apply_to = function)

static inline __m512i fold512(__m512i x, __m512i k, __m512i next) {
    // x.lo * k.lo ^ x.hi * k.hi ^ next, in each 128-bit lane (0x96: three-way XOR).
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00), _mm512_clmulepi64_epi128(x, k, 0x11), next, 0x96);
}

static inline __m512i load512(const uint8_t *p) { return _mm512_loadu_si512((const void *)p); }

uint32_t effnet_crc32_vpclmul_update(uint32_t state, const uint8_t *p, size_t n) {
    if (n < 256) return effnet_crc32_pclmul_update(state, p, n);
    // Four 512-bit chains (16 lanes of 128 bits), 256 bytes a step.
    __m512i x0 = load512(p), x1 = load512(p + 64), x2 = load512(p + 128), x3 = load512(p + 192);
    // zext, not cast: a cast leaves the upper 384 bits undefined (garbage at -O0).
    x0 = _mm512_xor_si512(x0, _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)state)));
    p += 256, n -= 256;
    const __m512i k2048 = _mm512_broadcast_i32x4(K_2048);
    for (; n >= 256; p += 256, n -= 256) {
        x0 = fold512(x0, k2048, load512(p));
        x1 = fold512(x1, k2048, load512(p + 64));
        x2 = fold512(x2, k2048, load512(p + 128));
        x3 = fold512(x3, k2048, load512(p + 192));
    }
    const __m512i k512 = _mm512_broadcast_i32x4(K_512);
    x0 = fold512(x0, k512, x1);
    x0 = fold512(x0, k512, x2);
    x0 = fold512(x0, k512, x3);
    for (; n >= 64; p += 64, n -= 64) x0 = fold512(x0, k512, load512(p));
    // The four lanes onto the last: lane i moves forward by (3 - i) * 128 bits (D = 384, 256, 128).
    const __m512i kLanes = _mm512_set_epi64(0, 0, 0x0ccaa009eULL, 0x1751997d0ULL, 0x15a546366ULL, 0x0f1da05aaULL,
                                            0x174359406ULL, 0x03db1ecdcULL);
    __m512i last = _mm512_maskz_mov_epi64(0xC0, x0);  // lane 3 as is, others zero
    __m512i t = _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x0, kLanes, 0x00),
                                          _mm512_clmulepi64_epi128(x0, kLanes, 0x11), last, 0x96);
    __m128i x = _mm_xor_si128(_mm_xor_si128(_mm512_castsi512_si128(t), _mm512_extracti32x4_epi32(t, 1)),
                              _mm_xor_si128(_mm512_extracti32x4_epi32(t, 2), _mm512_extracti32x4_epi32(t, 3)));
    const __m128i k128 = K_128;
    for (; n >= 16; p += 16, n -= 16)
        x = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k128, 0x00), _mm_clmulepi64_si128(x, k128, 0x11)),
                          _mm_loadu_si128((const __m128i *)p));
    state = reduce128(x);
    return effnet_crc32_table_update(state, p, n);
}

#pragma clang attribute pop
#endif
