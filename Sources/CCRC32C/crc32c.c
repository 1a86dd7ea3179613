// CRC32C with a run-time choice between the CPU's instruction and a slicing-by-8 table.
// The instruction paths process 8 bytes per step; on x86-64 long buffers run three chains at
// once (see crc32c_sse42).
#include "CCRC32C.h"

#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#elif defined(__aarch64__) && defined(__linux__)
#include <arm_acle.h>
#include <sys/auxv.h>
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif
#endif

// table[k][b]: the CRC of byte b followed by k zero bytes (slicing-by-8).
static uint32_t table[8][256];
static int table_ready;  // written once by build_table; every racer writes the same values

static void build_table(void) {
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int i = 0; i < 8; i++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
        table[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; b++)
        for (int k = 1; k < 8; k++) table[k][b] = (table[k - 1][b] >> 8) ^ table[0][table[k - 1][b] & 0xff];
    __atomic_store_n(&table_ready, 1, __ATOMIC_RELEASE);
}

uint32_t effnet_crc32c_portable(uint32_t crc, const void *data, size_t n) {
    if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE)) build_table();
    const unsigned char *p = data;
    uint32_t c = ~crc;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);  // unaligned, little-endian host assumed (as everywhere in EffNetKit)
        w ^= c;
        c = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
            table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^
            table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n--) c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
    return ~c;
}

#if defined(__x86_64__)
// The CRC32 instruction takes 3 cycles but can start every cycle, so one dependency chain uses a
// third of it: long buffers run as three chains over three consecutive blocks, whose CRCs are
// then combined by "appending zeros" to the earlier ones (multiplying by x^(8 * block) modulo the
// polynomial, a linear map on the 32-bit register tabulated per byte). Mark Adler's method
// (crc32c.c, zlib licence). A TF checkpoint's shard is 1 GB for B7: 3x here was ~100 ms.
#define CRC32C_BLOCK 8192
static uint32_t shift_block[4][256];  // register -> register after CRC32C_BLOCK zero bytes
static int shift_ready;

static uint32_t gf2_times(const uint32_t *mat, uint32_t vec) {
    uint32_t sum = 0;
    while (vec) {
        if (vec & 1) sum ^= *mat;
        vec >>= 1;
        mat++;
    }
    return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *mat) {
    for (int n = 0; n < 32; n++) square[n] = gf2_times(mat, mat[n]);
}

// op = the operator appending `len` zero bytes (len a power of two).
static void zeros_operator(uint32_t *even, size_t len) {
    uint32_t odd[32];
    odd[0] = 0x82F63B78u;  // one zero bit
    uint32_t row = 1;
    for (int n = 1; n < 32; n++) { odd[n] = row; row <<= 1; }
    gf2_square(even, odd);  // two zero bits
    gf2_square(odd, even);  // four
    do {                    // eight (one byte), then doubling until len is used up
        gf2_square(even, odd);
        len >>= 1;
        if (len == 0) return;
        gf2_square(odd, even);
        len >>= 1;
    } while (len);
    for (int n = 0; n < 32; n++) even[n] = odd[n];
}

static void build_shift(void) {
    uint32_t op[32];
    zeros_operator(op, CRC32C_BLOCK);
    for (uint32_t n = 0; n < 256; n++) {
        shift_block[0][n] = gf2_times(op, n);
        shift_block[1][n] = gf2_times(op, n << 8);
        shift_block[2][n] = gf2_times(op, n << 16);
        shift_block[3][n] = gf2_times(op, n << 24);
    }
    shift_ready = 1;
}

static inline uint32_t shift(uint32_t c) {
    return shift_block[0][c & 0xff] ^ shift_block[1][(c >> 8) & 0xff] ^ shift_block[2][(c >> 16) & 0xff] ^
           shift_block[3][c >> 24];
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const void *data, size_t n) {
    const unsigned char *p = data;
    uint64_t c = ~crc;
    if (n >= 3 * CRC32C_BLOCK && !shift_ready) build_shift();
    while (n >= 3 * CRC32C_BLOCK) {
        uint64_t c1 = 0, c2 = 0;
        for (const unsigned char *end = p + CRC32C_BLOCK; p < end; p += 8) {
            uint64_t w0, w1, w2;
            memcpy(&w0, p, 8);
            memcpy(&w1, p + CRC32C_BLOCK, 8);
            memcpy(&w2, p + 2 * CRC32C_BLOCK, 8);
            c = _mm_crc32_u64(c, w0);
            c1 = _mm_crc32_u64(c1, w1);
            c2 = _mm_crc32_u64(c2, w2);
        }
        c = shift((uint32_t)c) ^ (uint32_t)c1;
        c = shift((uint32_t)c) ^ (uint32_t)c2;
        p += 2 * CRC32C_BLOCK;
        n -= 3 * CRC32C_BLOCK;
    }
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = _mm_crc32_u8(c32, *p++);
    return ~c32;
}
#elif defined(__aarch64__) && defined(__linux__)
__attribute__((target("crc"))) static uint32_t crc32c_armv8(uint32_t crc, const void *data, size_t n) {
    const unsigned char *p = data;
    uint32_t c = ~crc;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __crc32cd(c, w);
        p += 8;
        n -= 8;
    }
    while (n--) c = __crc32cb(c, *p++);
    return ~c;
}
#endif

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);
typedef struct {
    const char *name;
    crc_fn run;
} implementation;

static const implementation portable = {"table", effnet_crc32c_portable};
static const implementation *_Atomic chosen;

static const implementation *choose(void) {
    const implementation *best = &portable;
#if defined(__x86_64__)
    static const implementation sse42 = {"sse4.2", crc32c_sse42};
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2")) best = &sse42;
#elif defined(__aarch64__) && defined(__linux__)
    static const implementation armv8 = {"armv8-crc", crc32c_armv8};
    if (getauxval(AT_HWCAP) & HWCAP_CRC32) best = &armv8;
#endif
    chosen = best;
    return best;
}

static inline const implementation *current(void) {
    const implementation *i = chosen;
    return __builtin_expect(i != 0, 1) ? i : choose();
}

uint32_t effnet_crc32c(uint32_t crc, const void *data, size_t n) {
    if (n == 0) return crc;
    return current()->run(crc, data, n);
}

const char *effnet_crc32c_implementation(void) { return current()->name; }
