// One source for every level: the kernels are written with clang's vector extension
// (8 floats) as always-inline bodies, instantiated in functions compiled for AVX2 + FMA and for
// the baseline; the first call picks one (EFFNET_KERNELS=generic forces the baseline).
#include <stdlib.h>
#include <string.h>
#include "include/CHeadKernels.h"

// Vectors passed between always-inline helpers never cross a real call, so the ABI note about
// AVX vectors in baseline functions does not apply.
#pragma clang diagnostic ignored "-Wpsabi"

typedef float v8 __attribute__((ext_vector_type(8)));

#define INLINE static inline __attribute__((always_inline))

INLINE v8 load8(const float *p) { v8 v; memcpy(&v, p, sizeof v); return v; }
INLINE void store8(float *p, v8 v) { memcpy(p, &v, sizeof v); }
INLINE float sum8(v8 v) { return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7])); }

// MR rows of A against NR rows of B: MR x NR dot products, 8 lanes at a time.
INLINE void nt_block(int mr, int nr, intptr_t k, const float *a, intptr_t lda, const float *b,
                     intptr_t ldb, float *c, intptr_t ldc, int32_t accumulate) {
    v8 acc[4][2];
    for (int r = 0; r < mr; r++) for (int s = 0; s < nr; s++) acc[r][s] = (v8)0;
    intptr_t p = 0;
    for (; p + 8 <= k; p += 8) {
        v8 bv[2];
        for (int s = 0; s < nr; s++) bv[s] = load8(b + s * ldb + p);
        for (int r = 0; r < mr; r++) {
            v8 av = load8(a + r * lda + p);
            for (int s = 0; s < nr; s++) acc[r][s] += av * bv[s];
        }
    }
    for (int r = 0; r < mr; r++) {
        for (int s = 0; s < nr; s++) {
            float t = sum8(acc[r][s]);
            for (intptr_t q = p; q < k; q++) t += a[r * lda + q] * b[s * ldb + q];
            float *out = c + r * ldc + s;
            *out = accumulate ? *out + t : t;
        }
    }
}

INLINE void gemm_nt_body(intptr_t m, intptr_t n, intptr_t k, const float *a, intptr_t lda,
                         const float *b, intptr_t ldb, float *c, intptr_t ldc, int32_t accumulate) {
    intptr_t i = 0;
    for (; i + 4 <= m; i += 4) {
        intptr_t j = 0;
        for (; j + 2 <= n; j += 2) nt_block(4, 2, k, a + i * lda, lda, b + j * ldb, ldb, c + i * ldc + j, ldc, accumulate);
        for (; j < n; j++) nt_block(4, 1, k, a + i * lda, lda, b + j * ldb, ldb, c + i * ldc + j, ldc, accumulate);
    }
    for (; i < m; i++) {
        intptr_t j = 0;
        for (; j + 2 <= n; j += 2) nt_block(1, 2, k, a + i * lda, lda, b + j * ldb, ldb, c + i * ldc + j, ldc, accumulate);
        for (; j < n; j++) nt_block(1, 1, k, a + i * lda, lda, b + j * ldb, ldb, c + i * ldc + j, ldc, accumulate);
    }
}

// MR rows of C, 32 columns (4 vectors) at a time, summed over p in order.
INLINE void xn_rows(int mr, intptr_t n, intptr_t k, const float *a, intptr_t ars, intptr_t acs,
                    const float *b, intptr_t ldb, float *c, intptr_t ldc, int32_t accumulate) {
    intptr_t j = 0;
    for (; j + 32 <= n; j += 32) {
        v8 acc[2][4];
        for (int r = 0; r < mr; r++) for (int v = 0; v < 4; v++) acc[r][v] = accumulate ? load8(c + r * ldc + j + 8 * v) : (v8)0;
        for (intptr_t p = 0; p < k; p++) {
            const float *bp = b + p * ldb + j;
            v8 b0 = load8(bp), b1 = load8(bp + 8), b2 = load8(bp + 16), b3 = load8(bp + 24);
            for (int r = 0; r < mr; r++) {
                v8 s = (v8)a[r * ars + p * acs];
                acc[r][0] += s * b0; acc[r][1] += s * b1; acc[r][2] += s * b2; acc[r][3] += s * b3;
            }
        }
        for (int r = 0; r < mr; r++) for (int v = 0; v < 4; v++) store8(c + r * ldc + j + 8 * v, acc[r][v]);
    }
    for (; j + 8 <= n; j += 8) {
        v8 acc[2];
        for (int r = 0; r < mr; r++) acc[r] = accumulate ? load8(c + r * ldc + j) : (v8)0;
        for (intptr_t p = 0; p < k; p++) {
            v8 bv = load8(b + p * ldb + j);
            for (int r = 0; r < mr; r++) acc[r] += (v8)a[r * ars + p * acs] * bv;
        }
        for (int r = 0; r < mr; r++) store8(c + r * ldc + j, acc[r]);
    }
    for (; j < n; j++) {
        for (int r = 0; r < mr; r++) {
            float t = accumulate ? c[r * ldc + j] : 0;
            for (intptr_t p = 0; p < k; p++) t += a[r * ars + p * acs] * b[p * ldb + j];
            c[r * ldc + j] = t;
        }
    }
}

INLINE void gemm_xn_body(intptr_t m, intptr_t n, intptr_t k, const float *a, intptr_t ars, intptr_t acs,
                         const float *b, intptr_t ldb, float *c, intptr_t ldc, int32_t accumulate) {
    intptr_t i = 0;
    for (; i + 2 <= m; i += 2) xn_rows(2, n, k, a + i * ars, ars, acs, b, ldb, c + i * ldc, ldc, accumulate);
    for (; i < m; i++) xn_rows(1, n, k, a + i * ars, ars, acs, b, ldb, c + i * ldc, ldc, accumulate);
}

// Elementwise optimiser steps: plain loops the compiler vectorises for the level.
INLINE void sgd_body(intptr_t n, float *restrict w, const float *restrict g, float *restrict buf, float negLr,
                     float wd, float mu, float keep, int32_t first, int32_t nesterov) {
    if (!buf) {
        for (intptr_t i = 0; i < n; i++) w[i] += negLr * (g[i] + wd * w[i]);
        return;
    }
    if (first) {
        for (intptr_t i = 0; i < n; i++) buf[i] = g[i] + wd * w[i];
    } else {
        for (intptr_t i = 0; i < n; i++) buf[i] = buf[i] * mu + keep * (g[i] + wd * w[i]);
    }
    if (nesterov) {
        for (intptr_t i = 0; i < n; i++) w[i] += negLr * ((g[i] + wd * w[i]) + mu * buf[i]);
    } else {
        for (intptr_t i = 0; i < n; i++) w[i] += negLr * buf[i];
    }
}

INLINE void adamw_body(intptr_t n, float *restrict w, const float *restrict g, float *restrict m, float *restrict v,
                       float decay, float w1, float b2, float oneMinusB2, float negStep, float bias2Sqrt, float eps) {
    // torch's lerp: start + w * (end - start) for w < 0.5, else end - (end - start) * (1 - w).
    if (w1 < 0.5f) {
        for (intptr_t i = 0; i < n; i++) m[i] += w1 * (g[i] - m[i]);
    } else {
        for (intptr_t i = 0; i < n; i++) m[i] = g[i] - (g[i] - m[i]) * (1 - w1);
    }
    // Eight at a time with an explicit vector square root: a scalar sqrtf may set errno, which
    // keeps the compiler from vectorising the loop.
    intptr_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v8 wv = load8(w + i) * decay, gv = load8(g + i);
        v8 vv = load8(v + i) * b2 + ((v8)oneMinusB2 * gv) * gv;
        store8(v + i, vv);
        v8 denom = __builtin_elementwise_sqrt(vv) / bias2Sqrt + eps;
        store8(w + i, wv + ((v8)negStep * load8(m + i)) / denom);
    }
    for (; i < n; i++) {
        w[i] *= decay;
        v[i] = v[i] * b2 + (oneMinusB2 * g[i]) * g[i];
        float denom = __builtin_sqrtf(v[i]) / bias2Sqrt + eps;
        w[i] += negStep * m[i] / denom;
    }
}

typedef void (*sgd_fn)(intptr_t, float *, const float *, float *, float, float, float, float, int32_t, int32_t);
typedef void (*adamw_fn)(intptr_t, float *, const float *, float *, float *, float, float, float, float, float, float, float);
typedef void (*nt_fn)(intptr_t, intptr_t, intptr_t, const float *, intptr_t, const float *, intptr_t, float *, intptr_t, int32_t);
typedef void (*xn_fn)(intptr_t, intptr_t, intptr_t, const float *, intptr_t, intptr_t, const float *, intptr_t, float *, intptr_t, int32_t);

#define LEVEL(sfx, attr)                                                                                    \
    attr static void nt_##sfx(intptr_t m, intptr_t n, intptr_t k, const float *a, intptr_t lda,             \
                              const float *b, intptr_t ldb, float *c, intptr_t ldc, int32_t acc) {         \
        gemm_nt_body(m, n, k, a, lda, b, ldb, c, ldc, acc);                                                 \
    }                                                                                                       \
    attr static void xn_##sfx(intptr_t m, intptr_t n, intptr_t k, const float *a, intptr_t ars,             \
                              intptr_t acs, const float *b, intptr_t ldb, float *c, intptr_t ldc,          \
                              int32_t acc) {                                                                \
        gemm_xn_body(m, n, k, a, ars, acs, b, ldb, c, ldc, acc);                                            \
    }                                                                                                       \
    attr static void sgd_##sfx(intptr_t n, float *w, const float *g, float *buf, float negLr, float wd,    \
                               float mu, float keep, int32_t first, int32_t nesterov) {                    \
        sgd_body(n, w, g, buf, negLr, wd, mu, keep, first, nesterov);                                       \
    }                                                                                                       \
    attr static void adamw_##sfx(intptr_t n, float *w, const float *g, float *m, float *v, float decay,    \
                                 float w1, float b2, float omb2, float negStep, float b2s, float eps) {    \
        adamw_body(n, w, g, m, v, decay, w1, b2, omb2, negStep, b2s, eps);                                  \
    }

LEVEL(generic, )
#if defined(__x86_64__)
LEVEL(avx2, __attribute__((target("avx2,fma"))))
#endif

typedef struct { const char *name; nt_fn nt; xn_fn xn; sgd_fn sgd; adamw_fn adamw; } level;
static const level generic = {"generic", nt_generic, xn_generic, sgd_generic, adamw_generic};
#if defined(__x86_64__)
static const level avx2 = {"avx2", nt_avx2, xn_avx2, sgd_avx2, adamw_avx2};
#endif

static const level *_Atomic chosen;

static const level *choose(void) {
    const level *l = chosen;
    if (l) return l;
    l = &generic;
#if defined(__x86_64__)
    __builtin_cpu_init();
    const char *want = getenv("EFFNET_KERNELS");
    if (!(want && strcmp(want, "generic") == 0) && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        l = &avx2;
#endif
    chosen = l;
    return l;
}

void effnet_head_gemm_nt(intptr_t m, intptr_t n, intptr_t k, const float *a, intptr_t lda,
                         const float *b, intptr_t ldb, float *c, intptr_t ldc, int32_t accumulate) {
    choose()->nt(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}

void effnet_head_gemm_xn(intptr_t m, intptr_t n, intptr_t k, const float *a, intptr_t aRowStride,
                         intptr_t aColumnStride, const float *b, intptr_t ldb, float *c, intptr_t ldc,
                         int32_t accumulate) {
    choose()->xn(m, n, k, a, aRowStride, aColumnStride, b, ldb, c, ldc, accumulate);
}

void effnet_head_sgd(intptr_t n, float *w, const float *g, float *buf, float negLr, float wd, float mu,
                     float keep, int32_t first, int32_t nesterov) {
    choose()->sgd(n, w, g, buf, negLr, wd, mu, keep, first, nesterov);
}

void effnet_head_adamw(intptr_t n, float *w, const float *g, float *m, float *v, float decay, float w1,
                       float b2, float oneMinusB2, float negStep, float bias2Sqrt, float eps) {
    choose()->adamw(n, w, g, m, v, decay, w1, b2, oneMinusB2, negStep, bias2Sqrt, eps);
}

const char *effnet_head_kernels_level(void) { return choose()->name; }
