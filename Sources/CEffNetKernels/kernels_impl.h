// The kernels, written once over a vector of W floats and included by each kernels_<level>.c,
// which defines beforehand:
//   SFX        the level's suffix for the entry points (generic, avx2, avx512)
//   W          floats per vector (16 for AVX-512, 8 for AVX2, 4 for SSE2/NEON)
//   GEMM_R     rows of A per GEMM micro-tile
//   GEMM_NV    vectors of C per micro-tile row (GEMM_NV * W divides 32)
// and compiles it for its target (`#pragma clang attribute push` with `target`). Clang's
// generic vectors become whatever instructions that target has; a * b + c is contracted to an
// FMA where the target has one (FP_CONTRACT ON below), as the Swift kernels' `madd` is in a
// -DEFFNET_FMA build. Algorithms, summation orders and constants are those of the Swift
// kernels they replace (GemmKernels.swift, DepthwiseKernels.swift, VectorMath.swift), which the
// tests compare against the reference kernels.
#include <stddef.h>
#include <stdint.h>
#include "include/CEffNetKernels.h"

#pragma STDC FP_CONTRACT ON
// Vectors wider than the target's registers (the generic x86 build's 16 floats on SSE2) only pass
// between always-inlined static functions, so their ABI never matters.
#pragma clang diagnostic ignored "-Wpsabi"

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define INLINE static inline __attribute__((always_inline))

typedef float VT __attribute__((vector_size(W * 4)));
typedef int32_t VI __attribute__((vector_size(W * 4)));
typedef uint32_t VU __attribute__((vector_size(W * 4)));

INLINE VT ld(const float *p) { VT v; __builtin_memcpy(&v, p, sizeof v); return v; }
INLINE void st(float *p, VT v) { __builtin_memcpy(p, &v, sizeof v); }
// x - 0 is x for every x (also -0), so this folds to a plain broadcast; 0 + x would not.
INLINE VT splat(float x) { return x - (VT){0}; }
// b < a ? b : a and b > a ? b : a, as the Swift vmin/vmax (minps/maxps operand order).
INLINE VT vmin(VT a, VT b) { VI m = b < a; return (VT)(((VI)b & m) | ((VI)a & ~m)); }
INLINE VT vmax(VT a, VT b) { VI m = b > a; return (VT)(((VI)b & m) | ((VI)a & ~m)); }

// e^x: Cephes' expf, as vexp in VectorMath.swift.
INLINE VT vexp(VT x0) {
    VT x = vmin(vmax(x0, splat(-87.33654f)), splat(88.72283f));
    const VT magic = splat(12582912.0f);
    VT t = x * 1.4426950408889634f + magic;
    VT n = t - magic;
    VT r = n * -0.693359375f + x;
    r = n * 2.1219444e-4f + r;
    VT z = r * r;
    VT y = splat(1.9875691500e-4f);
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    y = y * z + (r + 1.0f);
    VU e = (((VU)t - (VU)magic) + 127u) << 23;
    return y * (VT)e;
}

INLINE VT activate(const int act, VT v) {
    if (act == EFFNET_ACT_SILU) return v / (1.0f + vexp(-v));
    if (act == EFFNET_ACT_RELU6) return vmin(vmax(v, splat(0.0f)), splat(6.0f));
    return v;
}

// ---------------------------------------------------------------------------------------------
// GEMM: micro-tiles of R rows x NV vectors, accumulators in registers, a row's element of A
// broadcast against the NV vectors of B. Rows past `rows` re-read the last valid row and are not
// stored.
#define DEFINE_MICRO(R, NV) DEFINE_MICRO_(R, NV)
#define DEFINE_MICRO_(R, NV)                                                                        \
    INLINE void micro_##R##_##NV(const int act, const int residual, intptr_t k, const float *a,     \
                                 intptr_t lda, intptr_t rows, const float *b, intptr_t bstride,     \
                                 const float *bias, float *c, intptr_t ldc) {                       \
        const float *ap[R];                                                                         \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++)                              \
            ap[r] = a + (r < rows ? r : rows - 1) * lda;                                            \
        VT acc[R][NV];                                                                              \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++)                              \
            _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) acc[r][v] = splat(0);  \
        for (intptr_t kk = 0; kk < k; kk++) {                                                       \
            VT bv[NV];                                                                              \
            _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) bv[v] = ld(b + v * W);  \
            _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                        \
                VT x = splat(ap[r][kk]);                                                            \
                _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++)                     \
                    acc[r][v] = x * bv[v] + acc[r][v];                                              \
            }                                                                                       \
            b += bstride;                                                                           \
        }                                                                                           \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                            \
            if (r >= rows) break;                                                                   \
            _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) {                       \
                float *p = c + r * ldc + v * W;                                                     \
                VT y = activate(act, acc[r][v] + ld(bias + v * W));                                 \
                if (residual) y += ld(p);                                                           \
                st(p, y);                                                                           \
            }                                                                                       \
        }                                                                                           \
    }

DEFINE_MICRO(GEMM_R, GEMM_NV)
#if GEMM_NV > 1
DEFINE_MICRO(GEMM_R, 1)
#endif

#define MICRO_(R, NV) micro_##R##_##NV
#define MICRO(R, NV) MICRO_(R, NV)

// Rows [tile0 * 8, min(m, tile1 * 8)) in blocks of GEMM_R (which need not divide 8: the Swift
// side's tiles only say which rows this call owns), each block against every panel in turn.
INLINE void gemm_run(const int act, const int residual, intptr_t m, intptr_t k, const float *a,
                     intptr_t lda, const float *b, intptr_t np, const float *bias, float *c,
                     intptr_t ldc, intptr_t tile0, intptr_t tile1, intptr_t panel0, intptr_t panel1) {
    enum { CW = GEMM_NV * W };
    intptr_t rowEnd = tile1 * 8 < m ? tile1 * 8 : m;
    for (intptr_t r0 = tile0 * 8; r0 < rowEnd; r0 += GEMM_R) {
        intptr_t rows = rowEnd - r0 < GEMM_R ? rowEnd - r0 : GEMM_R;
        const float *at = a + r0 * lda;
        float *ct = c + r0 * ldc;
        for (intptr_t j = panel0; j < panel1; j++) {
            intptr_t n0 = j * 32;
            intptr_t pw = np - n0 < 32 ? np - n0 : 32;
            const float *bp = b + n0 * k;
            intptr_t col = 0;
            for (; col + CW <= pw; col += CW)
                MICRO(GEMM_R, GEMM_NV)(act, residual, k, at, lda, rows, bp + col, pw, bias + n0 + col,
                                       ct + n0 + col, ldc);
#if GEMM_NV > 1
            for (; col < pw; col += W)
                MICRO(GEMM_R, 1)(act, residual, k, at, lda, rows, bp + col, pw, bias + n0 + col,
                                 ct + n0 + col, ldc);
#endif
        }
    }
}

void CAT(effnet_gemm, SFX)(int32_t act, intptr_t m, intptr_t k, const float *a, intptr_t lda,
                           const float *b, intptr_t np, const float *bias, float *c, intptr_t ldc,
                           int32_t residual, intptr_t tile0, intptr_t tile1, intptr_t panel0,
                           intptr_t panel1) {
#define GEMM_CASE(A, RES) gemm_run(A, RES, m, k, a, lda, b, np, bias, c, ldc, tile0, tile1, panel0, panel1)
    switch (act) {
    case EFFNET_ACT_SILU: if (residual) GEMM_CASE(EFFNET_ACT_SILU, 1); else GEMM_CASE(EFFNET_ACT_SILU, 0); break;
    case EFFNET_ACT_RELU6: if (residual) GEMM_CASE(EFFNET_ACT_RELU6, 1); else GEMM_CASE(EFFNET_ACT_RELU6, 0); break;
    default: if (residual) GEMM_CASE(EFFNET_ACT_IDENTITY, 1); else GEMM_CASE(EFFNET_ACT_IDENTITY, 0); break;
    }
#undef GEMM_CASE
}

// ---------------------------------------------------------------------------------------------
// Depthwise: vectorised along channels; interior pixels eight or four at a time (one weight load
// per eight or four FMAs), border pixels one at a time with their window clipped to the image.

// One output pixel, window clipped to kx in [kxLo, kxHi), ky in [kyLo, kyHi).
INLINE void dw_one(const int act, const float *const *rows, const float *wt, const float *bias,
                   float *out, float *rowSum, int pooling, intptr_t cp, intptr_t k, intptr_t ix0,
                   intptr_t kyLo, intptr_t kyHi, intptr_t kxLo, intptr_t kxHi) {
    intptr_t cv = 0;
    for (; cv + 4 * W <= cp; cv += 4 * W) {
        VT a0 = ld(bias + cv), a1 = ld(bias + cv + W), a2 = ld(bias + cv + 2 * W), a3 = ld(bias + cv + 3 * W);
        for (intptr_t ky = kyLo; ky < kyHi; ky++) {
            const float *xp = rows[ky] + (ix0 + kxLo) * cp + cv;
            const float *wp = wt + (ky * k + kxLo) * cp + cv;
            for (intptr_t kx = kxLo; kx < kxHi; kx++) {
                a0 = ld(xp) * ld(wp) + a0;
                a1 = ld(xp + W) * ld(wp + W) + a1;
                a2 = ld(xp + 2 * W) * ld(wp + 2 * W) + a2;
                a3 = ld(xp + 3 * W) * ld(wp + 3 * W) + a3;
                xp += cp;
                wp += cp;
            }
        }
        VT v0 = activate(act, a0), v1 = activate(act, a1), v2 = activate(act, a2), v3 = activate(act, a3);
        st(out + cv, v0); st(out + cv + W, v1); st(out + cv + 2 * W, v2); st(out + cv + 3 * W, v3);
        if (pooling) {
            st(rowSum + cv, ld(rowSum + cv) + v0);
            st(rowSum + cv + W, ld(rowSum + cv + W) + v1);
            st(rowSum + cv + 2 * W, ld(rowSum + cv + 2 * W) + v2);
            st(rowSum + cv + 3 * W, ld(rowSum + cv + 3 * W) + v3);
        }
    }
    for (; cv < cp; cv += W) {
        VT acc = ld(bias + cv);
        for (intptr_t ky = kyLo; ky < kyHi; ky++) {
            const float *xp = rows[ky] + (ix0 + kxLo) * cp + cv;
            const float *wp = wt + (ky * k + kxLo) * cp + cv;
            for (intptr_t kx = kxLo; kx < kxHi; kx++) {
                acc = ld(xp) * ld(wp) + acc;
                xp += cp;
                wp += cp;
            }
        }
        VT v = activate(act, acc);
        st(out + cv, v);
        if (pooling) st(rowSum + cv, ld(rowSum + cv) + v);
    }
}

// Eight horizontally adjacent interior output pixels.
INLINE void dw_eight(const int act, const float *const *rows, const float *wt, const float *bias,
                     float *out, float *rowSum, int pooling, intptr_t cp, intptr_t k, intptr_t s,
                     intptr_t ix0, intptr_t kyLo, intptr_t kyHi) {
    const intptr_t step = s * cp;
    for (intptr_t cv = 0; cv < cp; cv += W) {
        VT bv = ld(bias + cv);
        VT a0 = bv, a1 = bv, a2 = bv, a3 = bv, a4 = bv, a5 = bv, a6 = bv, a7 = bv;
        for (intptr_t ky = kyLo; ky < kyHi; ky++) {
            const float *xp = rows[ky] + ix0 * cp + cv;
            const float *wp = wt + ky * k * cp + cv;
            for (intptr_t kx = 0; kx < k; kx++) {
                VT wv = ld(wp);
                a0 = ld(xp) * wv + a0;
                a1 = ld(xp + step) * wv + a1;
                a2 = ld(xp + 2 * step) * wv + a2;
                a3 = ld(xp + 3 * step) * wv + a3;
                a4 = ld(xp + 4 * step) * wv + a4;
                a5 = ld(xp + 5 * step) * wv + a5;
                a6 = ld(xp + 6 * step) * wv + a6;
                a7 = ld(xp + 7 * step) * wv + a7;
                xp += cp;
                wp += cp;
            }
        }
        VT v0 = activate(act, a0), v1 = activate(act, a1), v2 = activate(act, a2), v3 = activate(act, a3);
        VT v4 = activate(act, a4), v5 = activate(act, a5), v6 = activate(act, a6), v7 = activate(act, a7);
        st(out + cv, v0); st(out + cp + cv, v1); st(out + 2 * cp + cv, v2); st(out + 3 * cp + cv, v3);
        st(out + 4 * cp + cv, v4); st(out + 5 * cp + cv, v5); st(out + 6 * cp + cv, v6); st(out + 7 * cp + cv, v7);
        if (pooling)
            st(rowSum + cv, ld(rowSum + cv) + (((v0 + v1) + (v2 + v3)) + ((v4 + v5) + (v6 + v7))));
    }
}

// Four horizontally adjacent interior output pixels.
INLINE void dw_four(const int act, const float *const *rows, const float *wt, const float *bias,
                    float *out, float *rowSum, int pooling, intptr_t cp, intptr_t k, intptr_t s,
                    intptr_t ix0, intptr_t kyLo, intptr_t kyHi) {
    const intptr_t step = s * cp;
    for (intptr_t cv = 0; cv < cp; cv += W) {
        VT bv = ld(bias + cv);
        VT a0 = bv, a1 = bv, a2 = bv, a3 = bv;
        for (intptr_t ky = kyLo; ky < kyHi; ky++) {
            const float *xp = rows[ky] + ix0 * cp + cv;
            const float *wp = wt + ky * k * cp + cv;
            for (intptr_t kx = 0; kx < k; kx++) {
                VT wv = ld(wp);
                a0 = ld(xp) * wv + a0;
                a1 = ld(xp + step) * wv + a1;
                a2 = ld(xp + 2 * step) * wv + a2;
                a3 = ld(xp + 3 * step) * wv + a3;
                xp += cp;
                wp += cp;
            }
        }
        VT v0 = activate(act, a0), v1 = activate(act, a1), v2 = activate(act, a2), v3 = activate(act, a3);
        st(out + cv, v0); st(out + cp + cv, v1); st(out + 2 * cp + cv, v2); st(out + 3 * cp + cv, v3);
        if (pooling) st(rowSum + cv, ld(rowSum + cv) + ((v0 + v1) + (v2 + v3)));
    }
}

INLINE void dw_row(const int act, const effnet_depthwise_shape *sh, intptr_t oy,
                   const float *const *inputRows, const float *wt, const float *bias, float *y,
                   double *pool, float *rowSum) {
    const intptr_t k = sh->k, s = sh->stride, cp = sh->cp, w = sh->w, ow = sh->ow;
    // Output columns whose whole window is inside the image: 0 <= ox*s - left, ox*s - left + k <= w.
    intptr_t oxLo = (sh->padLeft + s - 1) / s;
    if (oxLo > ow) oxLo = ow;
    intptr_t span = w - k + sh->padLeft, oxHi = oxLo;
    if (span >= 0) {
        oxHi = span / s + 1;
        if (oxHi > ow) oxHi = ow;
        if (oxHi < oxLo) oxHi = oxLo;
    }
    intptr_t iy0 = oy * s - sh->padTop;
    intptr_t kyLo = -iy0 > 0 ? -iy0 : 0;
    intptr_t kyHi = sh->h - iy0 < k ? sh->h - iy0 : k;
    if (kyHi < kyLo) kyHi = kyLo;  // empty when the window is all padding
    float *yrow = y + oy * ow * cp;
    const int pooling = pool != 0;
    if (pooling) __builtin_memset(rowSum, 0, (size_t)cp * sizeof(float));
    intptr_t ox = 0;
    while (ox < ow) {
        intptr_t ix0 = ox * s - sh->padLeft;
        if (ox >= oxLo && ox + 8 <= oxHi) {
            dw_eight(act, inputRows, wt, bias, yrow + ox * cp, rowSum, pooling, cp, k, s, ix0, kyLo, kyHi);
            ox += 8;
        } else if (ox >= oxLo && ox + 4 <= oxHi) {
            dw_four(act, inputRows, wt, bias, yrow + ox * cp, rowSum, pooling, cp, k, s, ix0, kyLo, kyHi);
            ox += 4;
        } else {
            intptr_t kxLo = -ix0 > 0 ? -ix0 : 0;
            intptr_t kxHi = w - ix0 < k ? w - ix0 : k;
            if (kxHi < kxLo) kxHi = kxLo;
            dw_one(act, inputRows, wt, bias, yrow + ox * cp, rowSum, pooling, cp, k, ix0, kyLo, kyHi, kxLo, kxHi);
            ox += 1;
        }
    }
    if (pooling)
        for (intptr_t c = 0; c < cp; c++) pool[c] += (double)rowSum[c];
}

void CAT(effnet_depthwise_row, SFX)(int32_t act, const effnet_depthwise_shape *sh, intptr_t oy,
                                    const float *const *inputRows, const float *wt,
                                    const float *bias, float *y, double *pool, float *rowSum) {
    switch (act) {
    case EFFNET_ACT_SILU: dw_row(EFFNET_ACT_SILU, sh, oy, inputRows, wt, bias, y, pool, rowSum); break;
    case EFFNET_ACT_RELU6: dw_row(EFFNET_ACT_RELU6, sh, oy, inputRows, wt, bias, y, pool, rowSum); break;
    default: dw_row(EFFNET_ACT_IDENTITY, sh, oy, inputRows, wt, bias, y, pool, rowSum); break;
    }
}

// ---------------------------------------------------------------------------------------------
// 3x3 stride-1 convolution by Winograd F(2x2, 3x3) (Lavin & Gray 2015): each 2x2 block of
// outputs ("tile") is A^T [U_xi . V_xi] A over the 16 positions xi of the 4x4 transform, where
// V = B^T d B is the tile's 4x4 input window transformed and U = G g G^T the kernel transformed
// (done once, in the plan). The 16 products U_xi . V_xi over the input channels are matrix
// products (tiles x cin times cin x cout), run by this level's GEMM. 16 multiplies per 4 outputs
// instead of 36. One call computes one row of tiles (two output rows), so how the rows are split
// over threads never changes a result.
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  A^T = [1 1 1 0; 0 1 -1 -1]

// d0..d3 -> B^T d (one column of four values).
#define WINO_IN(d0, d1, d2, d3, e0, e1, e2, e3) \
    do { e0 = (d0) - (d2); e1 = (d1) + (d2); e2 = (d2) - (d1); e3 = (d1) - (d3); } while (0)

void CAT(effnet_winograd_rows, SFX)(int32_t act, const effnet_winograd_shape *sh, intptr_t ty,
                                    const float *x, const float *u, const float *bias,
                                    const float *zeros, float *y, int32_t residual, float *v,
                                    float *m) {
    const intptr_t cin = sh->cin, ldx = sh->ldx, np = sh->np, h = sh->h, w = sh->w;
    const intptr_t tiles = (sh->ow + 1) / 2, cinp = (cin + 15) / 16 * 16;
    const intptr_t vStride = tiles * cinp, mStride = tiles * np;
    const intptr_t iy0 = 2 * ty - sh->padTop;
    // Input transform: v[xi][t][c] for the row's tiles, zero outside the image.
    for (intptr_t t = 0; t < tiles; t++) {
        const intptr_t ix0 = 2 * t - sh->padLeft;
        const float *px[4][4];
        for (int r = 0; r < 4; r++)
            for (int s = 0; s < 4; s++) {
                intptr_t iy = iy0 + r, ix = ix0 + s;
                px[r][s] = iy >= 0 && iy < h && ix >= 0 && ix < w ? x + (iy * w + ix) * ldx : 0;
            }
        float *vt = v + t * cinp;
        for (intptr_t c = 0; c < cinp; c += W) {
            VT d[4][4], e[4][4];
            _Pragma("clang loop unroll(full)") for (int r = 0; r < 4; r++)
                _Pragma("clang loop unroll(full)") for (int s = 0; s < 4; s++)
                    d[r][s] = px[r][s] ? ld(px[r][s] + c) : splat(0);
            _Pragma("clang loop unroll(full)") for (int s = 0; s < 4; s++)
                WINO_IN(d[0][s], d[1][s], d[2][s], d[3][s], e[0][s], e[1][s], e[2][s], e[3][s]);
            _Pragma("clang loop unroll(full)") for (int r = 0; r < 4; r++) {
                VT f0, f1, f2, f3;
                WINO_IN(e[r][0], e[r][1], e[r][2], e[r][3], f0, f1, f2, f3);
                st(vt + (r * 4 + 0) * vStride + c, f0);
                st(vt + (r * 4 + 1) * vStride + c, f1);
                st(vt + (r * 4 + 2) * vStride + c, f2);
                st(vt + (r * 4 + 3) * vStride + c, f3);
            }
        }
    }
    // Panel by panel (32 output channels): the 16 products, then the output transform, while
    // that panel's columns of m are in cache.
    const intptr_t panels = (np + 31) / 32, rowTiles = (tiles + 7) / 8;
    for (intptr_t j = 0; j < panels; j++) {
        for (int xi = 0; xi < 16; xi++)
            CAT(effnet_gemm, SFX)(EFFNET_ACT_IDENTITY, tiles, cin, v + xi * vStride, cinp,
                                  u + xi * cin * np, np, zeros, m + xi * mStride, np, 0, 0,
                                  rowTiles, j, j + 1);
        const intptr_t c0 = j * 32, c1 = np - c0 < 32 ? np : c0 + 32;
        for (intptr_t t = 0; t < tiles; t++) {
            const float *mt = m + t * np;
            for (intptr_t c = c0; c < c1; c += W) {
                VT g[2][4];
                _Pragma("clang loop unroll(full)") for (int s = 0; s < 4; s++) {
                    VT m0 = ld(mt + (0 * 4 + s) * mStride + c), m1 = ld(mt + (1 * 4 + s) * mStride + c);
                    VT m2 = ld(mt + (2 * 4 + s) * mStride + c), m3 = ld(mt + (3 * 4 + s) * mStride + c);
                    g[0][s] = (m0 + m1) + m2;
                    g[1][s] = (m1 - m2) - m3;
                }
                VT b = ld(bias + c);
                _Pragma("clang loop unroll(full)") for (int r = 0; r < 2; r++) {
                    intptr_t oy = 2 * ty + r;
                    if (oy >= sh->oh) break;
                    VT o[2] = {(g[r][0] + g[r][1]) + g[r][2], (g[r][1] - g[r][2]) - g[r][3]};
                    _Pragma("clang loop unroll(full)") for (int s = 0; s < 2; s++) {
                        intptr_t ox = 2 * t + s;
                        if (ox >= sh->ow) break;
                        float *p = y + (oy * sh->ow + ox) * np + c;
                        VT val = activate(act, o[s] + b);
                        if (residual) val += ld(p);
                        st(p, val);
                    }
                }
            }
        }
    }
}
#undef WINO_IN

// ---------------------------------------------------------------------------------------------
// Pillow's horizontal resampling pass over one row of 8-bit RGB (EffNetImage's PillowResampler):
// output pixel j is, per channel, the sum of its taps' 22-bit fixed-point weights times the
// source bytes, rounded and clamped as Pillow's clip8. The weights come per byte in 16-lane
// chunks of 4 taps x 3 channels (lanes 12-15 zero), so the inner loop is 16 independent integer
// multiply-adds, which this level's vectors take at once; integer sums in any order are Pillow's.
// A chunk reads 16 bytes: where that would pass `end`, the pixel is summed byte by byte.
void CAT(effnet_resample_row, SFX)(const uint8_t *row, const uint8_t *end, intptr_t origin,
                                   intptr_t outputs, const intptr_t *first, const intptr_t *taps,
                                   const int32_t *weights, intptr_t chunks, uint8_t *out) {
    for (intptr_t j = 0; j < outputs; j++) {
        const uint8_t *p = row + (first[j] - origin) * 3;
        const int32_t *w = weights + j * chunks * 16;
        intptr_t used = (taps[j] + 3) / 4;
        int32_t acc[16] = {0};
        if (used > 0 && (uintptr_t)(end - p) >= (uintptr_t)(12 * (used - 1) + 16)) {
            // Explicit 16-lane vectors: one zmm (two ymm, four xmm) multiply-add per chunk.
            typedef int32_t v16i __attribute__((vector_size(64), aligned(4)));
            typedef uint8_t v16b __attribute__((vector_size(16), aligned(1)));
            v16i sum = {0};
            for (intptr_t c = 0; c < used; c++) {
                v16b bytes;
                v16i wc;
                __builtin_memcpy(&bytes, p + 12 * c, 16);
                __builtin_memcpy(&wc, w + 16 * c, 64);
                sum += __builtin_convertvector(bytes, v16i) * wc;
            }
            __builtin_memcpy(acc, &sum, 64);
        } else {
            for (intptr_t b = 0; b < 3 * taps[j]; b++) acc[b % 12] += (int32_t)p[b] * w[16 * (b / 12) + b % 12];
        }
        for (int ch = 0; ch < 3; ch++) {
            int32_t s = (1 << 21) + acc[ch] + acc[ch + 3] + acc[ch + 6] + acc[ch + 9];
            s >>= 22;
            out[j * 3 + ch] = (uint8_t)(s < 0 ? 0 : s > 255 ? 255 : s);
        }
    }
}

// The vertical pass: one output row of `count` bytes, out[c] = clip8(sum_k w[k] * src[k * stride
// + c]) over `taps` source rows; 16 bytes at a time.
void CAT(effnet_resample_column, SFX)(const uint8_t *src, intptr_t stride, const int32_t *w, intptr_t taps,
                                      uint8_t *out, intptr_t count) {
    typedef int32_t v16i __attribute__((vector_size(64), aligned(4)));
    typedef uint8_t v16b __attribute__((vector_size(16), aligned(1)));
    intptr_t c = 0;
    for (; c + 16 <= count; c += 16) {
        v16i sum = {0};
        for (intptr_t k = 0; k < taps; k++) {
            v16b bytes;
            __builtin_memcpy(&bytes, src + k * stride + c, 16);
            sum += __builtin_convertvector(bytes, v16i) * w[k];
        }
        int32_t s[16];
        __builtin_memcpy(s, &sum, 64);
        for (int l = 0; l < 16; l++) {
            int32_t v = ((1 << 21) + s[l]) >> 22;
            out[c + l] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
    for (; c < count; c++) {
        int32_t s = 1 << 21;
        for (intptr_t k = 0; k < taps; k++) s += (int32_t)src[k * stride + c] * w[k];
        s >>= 22;
        out[c] = (uint8_t)(s < 0 ? 0 : s > 255 ? 255 : s);
    }
}

// ---------------------------------------------------------------------------------------------
// Packing a 1x1 convolution's weight (O, I) for the GEMM while a model loads (PackedMatrix): one
// column panel, dst[kk * pw + c] = src[c * k + kk] * scale[c] for c < cols, i.e. a transpose of
// `cols` rows of length k with each row scaled (its batch norm folded in). By 8 x 8 blocks
// transposed in registers, so every load and store is 8 consecutive floats; the edges go
// element by element. Columns cols ..< pw are left as they are (zero in fresh memory).
typedef float v8f __attribute__((vector_size(32), aligned(4)));

INLINE void transpose8(v8f r[8]) {
    v8f t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (int i = 0; i < 8; i += 4) {
        for (int j = 0; j < 2; j++) {
            u[i + 2 * j] = __builtin_shufflevector(t[i + j], t[i + j + 2], 0, 1, 8, 9, 4, 5, 12, 13);
            u[i + 2 * j + 1] = __builtin_shufflevector(t[i + j], t[i + j + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        }
    }
    for (int i = 0; i < 4; i++) {
        r[i] = __builtin_shufflevector(u[i], u[i + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        r[i + 4] = __builtin_shufflevector(u[i], u[i + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    }
}

void CAT(effnet_pack_panel, SFX)(const float *src, intptr_t k, intptr_t cols, intptr_t pw, const float *scale,
                                 float *dst) {
    intptr_t k8 = k & ~(intptr_t)7, c8 = cols & ~(intptr_t)7;
    for (intptr_t c0 = 0; c0 < c8; c0 += 8) {
        v8f s;
        __builtin_memcpy(&s, scale + c0, 32);
        for (intptr_t k0 = 0; k0 < k8; k0 += 8) {
            v8f r[8];
            for (int i = 0; i < 8; i++) __builtin_memcpy(&r[i], src + (c0 + i) * k + k0, 32);
            transpose8(r);
            for (int i = 0; i < 8; i++) {
                v8f v = r[i] * s;
                __builtin_memcpy(dst + (k0 + i) * pw + c0, &v, 32);
            }
        }
        for (intptr_t kk = k8; kk < k; kk++)
            for (intptr_t c = c0; c < c0 + 8; c++) dst[kk * pw + c] = src[c * k + kk] * scale[c];
    }
    for (intptr_t c = c8; c < cols; c++)
        for (intptr_t kk = 0; kk < k; kk++) dst[kk * pw + c] = src[c * k + kk] * scale[c];
}
