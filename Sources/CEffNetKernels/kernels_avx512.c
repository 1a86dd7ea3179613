// The kernels for x86-64 CPUs with AVX-512 (F, BW, DQ, VL): one zmm per 16-float vector, 8 x 32
// GEMM micro-tiles (16 accumulators: half the register file).
#if defined(__x86_64__) || defined(__i386__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c,bmi,bmi2"))), apply_to = function)
#define SFX avx512
#define W 16
#define GEMM_R 8
#define GEMM_NV 2
#include "kernels_impl.h"
#pragma clang attribute pop
#endif
