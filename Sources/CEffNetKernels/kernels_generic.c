// The kernels for the build's baseline target: SSE2 on x86-64, NEON on aarch64 (32 registers:
// 6 x 16 GEMM micro-tiles), plain scalar code elsewhere as the compiler sees fit.
#define SFX generic
#if defined(__aarch64__)
#define W 4
#define GEMM_R 6
#define GEMM_NV 4
#else
#define W 16
#define GEMM_R 8
#define GEMM_NV 2
#endif
#include "kernels_impl.h"
