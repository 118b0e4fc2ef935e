/* cpu_gemm.h — the CPU backend's one way into BLAS GEMM. Internal.
 *
 * vt_cpu_sgemm / vt_cpu_dgemm take cblas_?gemm's arguments and compute the same result; every CPU
 * kernel that multiplies matrices (linear, matmul, conv, attention) calls these instead of cblas
 * directly, so the two policies below apply everywhere:
 *   - small products stay on one thread: below VT_GEMM_SERIAL_MACS multiply-adds (M*N*K) the
 *     call runs with OpenBLAS set to one thread (OpenBLAS's own cut-off, 262 144, leaves products
 *     such as (128, 10, 512) on two threads, where waking the second costs more than it saves);
 *   - beta == 0 is turned into "zero C, then beta = 1": OpenBLAS implements beta = 0 as a
 *     separate pass over C (sgemm_beta) that measured ~10 % of a (512, 784, 128) weight-gradient
 *     GEMM on 2 threads, and 10 % of all attention time when attention still went through BLAS
 *     with its 32 x 64 score blocks; a memset is cheaper at every size (split over the threads
 *     from 256 KiB).
 * Inside a parallel region (omp_in_parallel) OpenBLAS is single-threaded already; nothing changes.
 */
#pragma once
#include <cblas.h>

/* Multiply-adds below which a GEMM runs on one thread (2^21: ~30 us on one AVX2 core). */
#define VT_GEMM_SERIAL_MACS (1 << 21)

void vt_cpu_sgemm(enum CBLAS_ORDER o, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N,
                  int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta,
                  float* C, int ldc);
void vt_cpu_dgemm(enum CBLAS_ORDER o, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N,
                  int K, double alpha, const double* A, int lda, const double* B, int ldb,
                  double beta, double* C, int ldc);
