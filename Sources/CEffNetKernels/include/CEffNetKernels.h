#ifndef CEFFNETKERNELS_H
#define CEFFNETKERNELS_H

// The hot inner loops of EffNet's fast forward pass (Sources/EffNet/Inference), in C so that
// they can be compiled once per CPU level and chosen when first called: Swift has no run-time
// CPU dispatch, so Swift SIMD code is only as fast as the -target-cpu it was built with, which a
// plain `swift build -c release` leaves at baseline x86-64 (SSE2, no FMA). Levels: AVX-512
// (avx512f/bw/dq/vl), AVX2 + FMA, and a generic build (SSE2 on x86-64, NEON on aarch64).
// EFFNET_KERNELS=avx512|avx2|generic in the environment picks a lower level (for measurement);
// a level the CPU lacks is never chosen.
//
// Layouts are the Swift side's (see GemmKernels.swift, PackedMatrix.swift, DepthwiseKernels.swift):
// NHWC activations with the channel count rounded up to 16.

#include <stdint.h>
#include "effnet_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Activation fused into a kernel's epilogue.
enum {
    EFFNET_ACT_IDENTITY = 0,
    EFFNET_ACT_SILU = 1,
    EFFNET_ACT_RELU6 = 2,
};

/// C = act(A * B + bias) [+ C] for row tiles [tile0, tile1) (8 rows each; rows past m are not
/// stored) x column panels [panel0, panel1) of B. A is m x k row-major with row stride lda; B is
/// packed in panels of 32 columns (the last one 16 wide when np is not a multiple of 32), panel j
/// at b + j * 32 * k, k rows of its width; np = N rounded up to 16; C has row stride ldc.
/// residual != 0 adds C's previous contents after the activation.
void effnet_gemm(int32_t activation, intptr_t m, intptr_t k, const float *a, intptr_t lda,
                 const float *b, intptr_t np, const float *bias, float *c, intptr_t ldc,
                 int32_t residual, intptr_t tile0, intptr_t tile1, intptr_t panel0, intptr_t panel1);

/// A depthwise convolution's geometry (input h x w x cp, cp a multiple of 16, k x k window).
typedef struct {
    intptr_t h, w, cp, k, stride, padTop, padLeft, oh, ow;
} effnet_depthwise_shape;

/// Output row oy of a depthwise convolution (BN folded into weights/bias, activation fused) into
/// y ([oh][ow][cp]). inputRows[ky] points at input row oy * stride - padTop + ky for every ky
/// inside the image. Weights are [k][k][cp]. When pool is not NULL, the row's per-channel sums of
/// the activated output are added to pool (cp doubles); rowSum is cp floats of scratch.
void effnet_depthwise_row(int32_t activation, const effnet_depthwise_shape *shape, intptr_t oy,
                          const float *const *inputRows, const float *weights, const float *bias,
                          float *y, double *pool, float *rowSum);

/// One row of Pillow's horizontal resampling pass on 8-bit RGB (EffNetImage's PillowResampler):
/// output pixel j (of `outputs`) from source pixels first[j] - origin ..< + taps[j] of `row`,
/// with per-byte 22-bit weights in 16-lane chunks (`chunks` per pixel: 4 taps x 3 channels,
/// lanes 12-15 zero); `end` bounds the buffer `row` lies in. Pillow's rounding and clip8.
void effnet_resample_row(const uint8_t *row, const uint8_t *end, intptr_t origin, intptr_t outputs,
                         const intptr_t *first, const intptr_t *taps, const int32_t *weights, intptr_t chunks,
                         uint8_t *out);

/// One row of the vertical pass: out[c] = clip8(sum over k < taps of weights[k] * src[k * stride
/// + c]) for c < count, Pillow's rounding.
void effnet_resample_column(const uint8_t *src, intptr_t stride, const int32_t *weights, intptr_t taps, uint8_t *out,
                            intptr_t count);

/// One column panel of a packed GEMM right-hand matrix from a (O, I) weight: dst[kk * pw + c] =
/// src[c * k + kk] * scale[c] for kk < k, c < cols (src points at row n0 of the weight, scale at
/// its n0th entry); columns cols ..< pw are not written.
void effnet_pack_panel(const float *src, intptr_t k, intptr_t cols, intptr_t pw, const float *scale, float *dst);

/// The level in use: "avx512", "avx2" or "generic".
/// A 3x3 stride-1 convolution's sizes for effnet_winograd_rows: input h x w with cin channels at
/// channel stride ldx (NHWC), output oh x ow with np channels (a multiple of 16) at stride np.
typedef struct {
    intptr_t h, w, cin, ldx, np, padTop, padLeft, oh, ow;
} effnet_winograd_shape;

/// Output rows 2*tileRow and 2*tileRow + 1 (those below oh) of a 3x3 stride-1 convolution by
/// Winograd F(2x2, 3x3): y = act(conv(x) + bias) [+ y]. u holds the 16 transformed kernels
/// (each a cin x np matrix packed as the GEMM's B); zeros is np zeros; v and m are scratch of
/// 16 * ceil(ow/2) * cin rounded up to 16 and 16 * ceil(ow/2) * np floats.
void effnet_winograd_rows(int32_t activation, const effnet_winograd_shape *shape, intptr_t tileRow,
                          const float *x, const float *u, const float *bias, const float *zeros,
                          float *y, int32_t residual, float *v, float *m);

const char *effnet_kernels_level(void);

#ifdef __cplusplus
}
#endif

#endif
