// Chooses the CRC-32 implementation once, at the first call: the fastest the CPU supports, or a
// lower one named by EFFNET_CRC32 (see include/CEffNetCRC32.h).
#include <stdlib.h>
#include <string.h>
#include "crc32_impl.h"
#include "include/CEffNetCRC32.h"
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif
#endif
#if defined(__aarch64__) && defined(__APPLE__)
#include <sys/sysctl.h>
#endif

typedef uint32_t (*update_fn)(uint32_t, const uint8_t *, size_t);
typedef struct {
    const char *name;
    update_fn update;
} implementation;

static int has_armv8_crc32(void) {
#if defined(__aarch64__) && defined(__linux__)
    return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0;
#elif defined(__aarch64__) && defined(__APPLE__)
    int value = 0;
    size_t size = sizeof value;
    return sysctlbyname("hw.optional.armv8_crc32", &value, &size, NULL, 0) == 0 && value != 0;
#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
    return 1;
#else
    return 0;
#endif
}

// Fastest first.
static const implementation implementations[] = {
#if defined(__x86_64__)
    {"vpclmul-avx512", effnet_crc32_vpclmul_update},
    {"pclmul", effnet_crc32_pclmul_update},
#endif
#if defined(__aarch64__)
    {"armv8-crc32", effnet_crc32_armv8_update},
#endif
    {"table", effnet_crc32_table_update},
};
enum { count = sizeof implementations / sizeof implementations[0] };

static int supported(const implementation *impl) {
    const char *name = impl->name;
#if defined(__x86_64__)
    __builtin_cpu_init();
    // __builtin_cpu_supports("avx512*") also checks (XGETBV) that the OS saves the zmm state.
    if (strcmp(name, "vpclmul-avx512") == 0)
        return __builtin_cpu_supports("vpclmulqdq") && __builtin_cpu_supports("pclmul") &&
               __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("sse4.1");
    if (strcmp(name, "pclmul") == 0) return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
#endif
    if (strcmp(name, "armv8-crc32") == 0) return has_armv8_crc32();
    return strcmp(name, "table") == 0;
}

// Written once by choose() (every thread that races there writes the same pointer).
static const implementation *_Atomic chosen;

static const implementation *choose(void) {
    const char *want = getenv("EFFNET_CRC32");
    const implementation *best = &implementations[count - 1];
    int allowed = !want;  // a requested name allows itself and everything after it (slower)
    for (int i = 0; i < count; i++) {
        if (want && strcmp(want, implementations[i].name) == 0) allowed = 1;
        if (allowed && supported(&implementations[i])) {
            best = &implementations[i];
            break;
        }
    }
    chosen = best;
    return best;
}

static inline const implementation *current(void) {
    const implementation *c = chosen;
    return __builtin_expect(c != 0, 1) ? c : choose();
}

uint32_t effnet_crc32(uint32_t crc, const void *p, size_t n) {
    if (n == 0) return crc;
    return ~current()->update(~crc, (const uint8_t *)p, n);
}

const char *effnet_crc32_implementation(void) { return current()->name; }

int effnet_crc32_using(const char *name, uint32_t crc, const void *p, size_t n, uint32_t *out) {
    for (int i = 0; i < count; i++) {
        if (strcmp(name, implementations[i].name) == 0 && supported(&implementations[i])) {
            *out = n == 0 ? crc : ~implementations[i].update(~crc, (const uint8_t *)p, n);
            return 1;
        }
    }
    return 0;
}
