/* cpu_gemm.c — GEMM through OpenBLAS with Volt's thread and beta policies (see cpu_gemm.h). */
#include "backend/cpu/cpu_gemm.h"
#include <omp.h>
#include <string.h>

/* Runs the GEMM on one thread when the product is small (openblas_set_num_threads, from OpenBLAS's
 * cblas.h; in its OpenMP build it also sets omp_set_num_threads); returns the thread count to restore
 * afterwards (0: nothing to restore). */
static int gemm_serial_begin(int M, int N, int K) {
  if ((double)M * N * K >= VT_GEMM_SERIAL_MACS || omp_in_parallel()) return 0;
  int n = omp_get_max_threads();
  if (n <= 1) return 0;
  openblas_set_num_threads(1);
  return n;
}
static void gemm_serial_end(int n) {
  if (n) openblas_set_num_threads(n); /* also restores omp_set_num_threads(n) */
}

/* Zeroes C (rows x cols in its own order, rows ldc apart) when beta is 0; returns the beta to
 * pass on. From GEMM_ZERO_PAR bytes on, the rows are split over the OpenMP threads: a fresh
 * gradient buffer is cold in cache, and one core's stores reach only part of the memory
 * bandwidth (the mlp step's dW memsets were 7 % of its main thread on 2 threads). */
#define GEMM_ZERO_PAR (256 << 10)
#define GEMM_ZERO(T)                                                                           \
  static T gemm_zero_##T(enum CBLAS_ORDER o, int M, int N, T beta, T* C, int ldc) {            \
    if (beta != 0) return beta;                                                                \
    int rows = o == CblasRowMajor ? M : N, cols = o == CblasRowMajor ? N : M;                  \
    size_t bytes = sizeof(T) * (size_t)rows * (size_t)cols;                                    \
    if (bytes >= GEMM_ZERO_PAR && rows > 1 && !omp_in_parallel() && omp_get_max_threads() > 1) { \
      _Pragma("omp parallel for schedule(static)")                                             \
      for (int r = 0; r < rows; r++) memset(C + (size_t)r * ldc, 0, sizeof(T) * (size_t)cols);  \
    } else if (ldc == cols) {                                                                  \
      memset(C, 0, bytes);                                                                     \
    } else {                                                                                   \
      for (int r = 0; r < rows; r++) memset(C + (size_t)r * ldc, 0, sizeof(T) * (size_t)cols);  \
    }                                                                                          \
    return 1;                                                                                  \
  }
GEMM_ZERO(float)
GEMM_ZERO(double)

void vt_cpu_sgemm(enum CBLAS_ORDER o, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N,
                  int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta,
                  float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  beta = gemm_zero_float(o, M, N, beta, C, ldc);
  int restore = gemm_serial_begin(M, N, K);
  cblas_sgemm(o, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  gemm_serial_end(restore);
}

void vt_cpu_dgemm(enum CBLAS_ORDER o, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N,
                  int K, double alpha, const double* A, int lda, const double* B, int ldb,
                  double beta, double* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  beta = gemm_zero_double(o, M, N, beta, C, ldc);
  int restore = gemm_serial_begin(M, N, K);
  cblas_dgemm(o, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  gemm_serial_end(restore);
}
