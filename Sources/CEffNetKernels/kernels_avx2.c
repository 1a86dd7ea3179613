// The kernels for x86-64 CPUs with AVX2 and FMA: 8-float ymm vectors, 4 x 16 GEMM micro-tiles
// (8 accumulators of the 16 registers; an 8 x 32 tile would spill).
#if defined(__x86_64__) || defined(__i386__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,bmi,bmi2"))), apply_to = function)
#define SFX avx2
#define W 8
#define GEMM_R 6
#define GEMM_NV 2
#include "kernels_impl.h"
#pragma clang attribute pop
#endif
