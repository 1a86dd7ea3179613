// Per-level entry points (kernels_*.c); dispatch.c chooses among them. Not public.
#ifndef CEFFNETKERNELS_LEVELS_H
#define CEFFNETKERNELS_LEVELS_H
#include "include/CEffNetKernels.h"

#define EFFNET_LEVEL_DECLS(sfx)                                                                      \
    void effnet_gemm_##sfx(int32_t, intptr_t, intptr_t, const float *, intptr_t, const float *,      \
                           intptr_t, const float *, float *, intptr_t, int32_t, intptr_t, intptr_t,  \
                           intptr_t, intptr_t);                                                       \
    void effnet_depthwise_row_##sfx(int32_t, const effnet_depthwise_shape *, intptr_t,               \
                                    const float *const *, const float *, const float *, float *,     \
                                    double *, float *);                                      \
    void effnet_winograd_rows_##sfx(int32_t, const effnet_winograd_shape *, intptr_t, const float *, \
                                    const float *, const float *, const float *, float *, int32_t,   \
                                    float *, float *);                                               \
    void effnet_resample_row_##sfx(const uint8_t *, const uint8_t *, intptr_t, intptr_t,             \
                                   const intptr_t *, const intptr_t *, const int32_t *, intptr_t,    \
                                   uint8_t *);                                                       \
    void effnet_resample_column_##sfx(const uint8_t *, intptr_t, const int32_t *, intptr_t, uint8_t *, \
                                      intptr_t);                                                       \
    void effnet_pack_panel_##sfx(const float *, intptr_t, intptr_t, intptr_t, const float *, float *);

EFFNET_LEVEL_DECLS(generic)
#if defined(__x86_64__) || defined(__i386__)
EFFNET_LEVEL_DECLS(avx2)
EFFNET_LEVEL_DECLS(avx512)
#endif
#endif
