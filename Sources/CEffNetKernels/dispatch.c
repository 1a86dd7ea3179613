// Chooses the kernels' level once, on first use: the best the CPU (and the OS, which must save
// the wider registers) supports, or a lower one named by EFFNET_KERNELS.
#include <stdlib.h>
#include <string.h>
#include "levels.h"

typedef void (*gemm_fn)(int32_t, intptr_t, intptr_t, const float *, intptr_t, const float *,
                        intptr_t, const float *, float *, intptr_t, int32_t, intptr_t, intptr_t,
                        intptr_t, intptr_t);
typedef void (*depthwise_fn)(int32_t, const effnet_depthwise_shape *, intptr_t,
                             const float *const *, const float *, const float *, float *, double *,
                             float *);
typedef void (*winograd_fn)(int32_t, const effnet_winograd_shape *, intptr_t, const float *,
                            const float *, const float *, const float *, float *, int32_t, float *,
                            float *);

typedef void (*resample_fn)(const uint8_t *, const uint8_t *, intptr_t, intptr_t, const intptr_t *,
                            const intptr_t *, const int32_t *, intptr_t, uint8_t *);

typedef void (*column_fn)(const uint8_t *, intptr_t, const int32_t *, intptr_t, uint8_t *, intptr_t);

typedef void (*pack_fn)(const float *, intptr_t, intptr_t, intptr_t, const float *, float *);

typedef struct {
    const char *name;
    gemm_fn gemm;
    depthwise_fn depthwise;
    winograd_fn winograd;
    resample_fn resample;
    column_fn column;
    pack_fn pack;
} level;

static const level generic = {"generic", effnet_gemm_generic, effnet_depthwise_row_generic,
                              effnet_winograd_rows_generic, effnet_resample_row_generic,
                              effnet_resample_column_generic, effnet_pack_panel_generic};
#if defined(__x86_64__) || defined(__i386__)
static const level avx2 = {"avx2", effnet_gemm_avx2, effnet_depthwise_row_avx2, effnet_winograd_rows_avx2,
                           effnet_resample_row_avx2, effnet_resample_column_avx2,
                           effnet_pack_panel_avx2};
static const level avx512 = {"avx512", effnet_gemm_avx512, effnet_depthwise_row_avx512,
                             effnet_winograd_rows_avx512, effnet_resample_row_avx512, effnet_resample_column_avx512,
                             effnet_pack_panel_avx512};
#endif

// Written once by choose() (every thread that races there writes the same pointer).
static const level *_Atomic chosen;

static const level *choose(void) {
    const level *best = &generic;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    // __builtin_cpu_supports also checks (XGETBV) that the OS saves the ymm/zmm state.
    const char *want = getenv("EFFNET_KERNELS");
    int allow512 = !want || strcmp(want, "avx512") == 0;
    int allow2 = allow512 || strcmp(want, "avx2") == 0;
    if (allow512 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("fma"))
        best = &avx512;
    else if (allow2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        best = &avx2;
#endif
    chosen = best;
    return best;
}

static inline const level *current(void) {
    const level *l = chosen;
    return __builtin_expect(l != 0, 1) ? l : choose();
}

void effnet_gemm(int32_t activation, intptr_t m, intptr_t k, const float *a, intptr_t lda,
                 const float *b, intptr_t np, const float *bias, float *c, intptr_t ldc,
                 int32_t residual, intptr_t tile0, intptr_t tile1, intptr_t panel0, intptr_t panel1) {
    current()->gemm(activation, m, k, a, lda, b, np, bias, c, ldc, residual, tile0, tile1, panel0, panel1);
}

void effnet_depthwise_row(int32_t activation, const effnet_depthwise_shape *shape, intptr_t oy,
                          const float *const *inputRows, const float *weights, const float *bias,
                          float *y, double *pool, float *rowSum) {
    current()->depthwise(activation, shape, oy, inputRows, weights, bias, y, pool, rowSum);
}

void effnet_winograd_rows(int32_t activation, const effnet_winograd_shape *shape, intptr_t tileRow,
                          const float *x, const float *u, const float *bias, const float *zeros,
                          float *y, int32_t residual, float *v, float *m) {
    current()->winograd(activation, shape, tileRow, x, u, bias, zeros, y, residual, v, m);
}

void effnet_resample_row(const uint8_t *row, const uint8_t *end, intptr_t origin, intptr_t outputs,
                         const intptr_t *first, const intptr_t *taps, const int32_t *weights, intptr_t chunks,
                         uint8_t *out) {
    current()->resample(row, end, origin, outputs, first, taps, weights, chunks, out);
}

void effnet_resample_column(const uint8_t *src, intptr_t stride, const int32_t *weights, intptr_t taps, uint8_t *out,
                            intptr_t count) {
    current()->column(src, stride, weights, taps, out, count);
}

void effnet_pack_panel(const float *src, intptr_t k, intptr_t cols, intptr_t pw, const float *scale, float *dst) {
    current()->pack(src, k, cols, pw, scale, dst);
}

const char *effnet_kernels_level(void) { return current()->name; }
