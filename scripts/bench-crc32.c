// CRC-32 throughput: each of EffNet's implementations this CPU runs (Sources/CEffNetCRC32),
// zlib's crc32, and libdeflate's when built with -DWITH_LIBDEFLATE. Built and run by
// scripts/bench-crc32.sh; prints GB/s over a buffer of the given size (default 256 KiB, cache
// resident) and checks that every implementation agrees. Time is this thread's CPU time, so that
// other processes on a shared machine slow the numbers less (they still share caches and memory).
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <zlib.h>
#ifdef WITH_LIBDEFLATE
#include <libdeflate.h>
#endif
#include "CEffNetCRC32.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint32_t run_zlib(uint32_t c, const unsigned char *p, size_t n) { return (uint32_t)crc32(c, p, (uInt)n); }
#ifdef WITH_LIBDEFLATE
static uint32_t run_libdeflate(uint32_t c, const unsigned char *p, size_t n) { return libdeflate_crc32(c, p, n); }
#endif
static const char *current_name;
static uint32_t run_ours(uint32_t c, const unsigned char *p, size_t n) {
    uint32_t out = 0;
    effnet_crc32_using(current_name, c, p, n, &out);
    return out;
}

// Best of 5 runs of (bytes / size) checksums of the buffer, in GB per CPU second.
static double measure(uint32_t (*fn)(uint32_t, const unsigned char *, size_t), const unsigned char *p,
                      size_t size, size_t bytes, uint32_t *result) {
    double best = 1e30;
    for (int run = 0; run < 5; run++) {
        double t = now();
        uint32_t c = 0;
        for (size_t done = 0; done < bytes; done += size) c = fn(0, p, size);
        t = now() - t;
        if (t < best) best = t;
        *result = c;
    }
    return (double)bytes / best / 1e9;
}

int main(int argc, char **argv) {
    size_t size = argc > 1 ? strtoull(argv[1], NULL, 10) : 256 << 10;
    size_t bytes = (size_t)1 << 29;
    if (size == 0) return 2;
    if (bytes < size) bytes = size;
    unsigned char *buffer = malloc(size + 1);
    if (!buffer) return 2;
    for (size_t i = 0; i < size + 1; i++) buffer[i] = (unsigned char)rand();
    const unsigned char *p = buffer + 1;  // unaligned, as zip entries are
    uint32_t expected = (uint32_t)crc32(0, p, (uInt)size), got;
    int status = 0;
    printf("buffer %zu bytes, chosen: %s\n", size, effnet_crc32_implementation());
    const char *names[] = {"vpclmul-avx512", "pclmul", "armv8-crc32", "table"};
    for (int i = 0; i < 4; i++) {
        if (!effnet_crc32_using(names[i], 0, p, 1, &got)) continue;
        current_name = names[i];
        double rate = measure(run_ours, p, size, names[i][0] == 't' ? bytes / 4 : bytes, &got);
        printf("  effnet %-15s %6.1f GB/s%s\n", names[i], rate, got == expected ? "" : "  MISMATCH");
        if (got != expected) status = 1;
    }
#ifdef WITH_LIBDEFLATE
    printf("  libdeflate             %6.1f GB/s\n", measure(run_libdeflate, p, size, bytes, &got));
    if (got != expected) status = 1;
#endif
    printf("  zlib                   %6.1f GB/s\n", measure(run_zlib, p, size, bytes / 4, &got));
    free(buffer);
    return status;
}
