// CRC-32 with the ARMv8 CRC32 instructions (CRC32X: 8 bytes per instruction, the zip
// polynomial). Optional in ARMv8.0, present on every Apple arm64 CPU and most Linux servers;
// dispatch.c checks for them at run time.
#if defined(__aarch64__)
#include <arm_acle.h>
#include <string.h>
#include "crc32_impl.h"

__attribute__((target("crc")))
uint32_t effnet_crc32_armv8_update(uint32_t state, const uint8_t *p, size_t n) {
    for (; n > 0 && ((uintptr_t)p & 7); p++, n--) state = __crc32b(state, *p);
    for (; n >= 32; p += 32, n -= 32) {
        uint64_t a, b, c, d;
        memcpy(&a, p, 8), memcpy(&b, p + 8, 8), memcpy(&c, p + 16, 8), memcpy(&d, p + 24, 8);
        state = __crc32d(__crc32d(__crc32d(__crc32d(state, a), b), c), d);
    }
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t a;
        memcpy(&a, p, 8);
        state = __crc32d(state, a);
    }
    for (; n > 0; p++, n--) state = __crc32b(state, *p);
    return state;
}
#endif
