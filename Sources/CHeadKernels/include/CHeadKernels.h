#ifndef CHEADKERNELS_H
#define CHEADKERNELS_H

// The matrix products of EffNetTraining's head (Sources/EffNetTraining), in C so that they run
// with AVX2 + FMA when the CPU has them, chosen at run time: Swift SIMD code is only as fast as
// the -target-cpu it is built with, and a plain `swift build -c release` leaves that at baseline
// x86-64. All matrices are float32, row-major, with explicit row strides.

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// C[i][j] (+)= sum_p A[i][p] * B[j][p] for i < m, j < n, p < k: products of rows (a linear
/// layer's forward pass, x W^T). accumulate != 0 adds to C, else C is overwritten.
void effnet_head_gemm_nt(intptr_t m, intptr_t n, intptr_t k, const float *a, intptr_t lda,
                         const float *b, intptr_t ldb, float *c, intptr_t ldc, int32_t accumulate);

/// C[i][j] (+)= sum_p A(i, p) * B[p][j] for i < m, j < n, p < k, where A(i, p) is
/// a[i * aRowStride + p * aColumnStride]: with strides (1, lda) A is used transposed (a linear
/// layer's weight gradient, G^T x), with (lda, 1) as is (its input gradient, G W).
void effnet_head_gemm_xn(intptr_t m, intptr_t n, intptr_t k, const float *a, intptr_t aRowStride,
                         intptr_t aColumnStride, const float *b, intptr_t ldb, float *c, intptr_t ldc,
                         int32_t accumulate);

/// One torch.optim.SGD step of n parameters w with gradient g (see SGD.swift): d = g + wd * w;
/// with buf (momentum != 0): buf = d on the first step, else buf * mu + keep * d, then
/// d = d + mu * buf (nesterov) or buf; w += negLr * d.
void effnet_head_sgd(intptr_t n, float *w, const float *g, float *buf, float negLr, float wd, float mu,
                     float keep, int32_t first, int32_t nesterov);

/// One torch.optim.AdamW step of n parameters (see AdamW.swift): w *= decay; m = lerp(m, g, w1);
/// v = v * b2 + (oneMinusB2 * g) * g; w += negStep * m / (sqrt(v) / bias2Sqrt + eps).
void effnet_head_adamw(intptr_t n, float *w, const float *g, float *m, float *v, float decay, float w1,
                       float b2, float oneMinusB2, float negStep, float bias2Sqrt, float eps);

/// The level in use: "avx2" (AVX2 + FMA) or "generic".
const char *effnet_head_kernels_level(void);

#ifdef __cplusplus
}
#endif

#endif
