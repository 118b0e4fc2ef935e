/* cpu_vmath.h — vector exp and erf over float arrays for the CPU kernels' hot loops (GELU,
 * attention softmax). With glibc's libmvec (VOLT_HAVE_LIBMVEC, found by CMake) four lanes at a
 * time (_ZGVbN4v_*: SSE2 ABI), or eight on CPUs with AVX2 (_ZGVdN8v_*); otherwise
 * scalar expf/erff. Accuracy is libmvec's (a few ulp), special values as libm's (exp(-inf) = 0,
 * erf(±inf) = ±1, NaN stays NaN). y may alias x.
 */
#ifndef VT_CPU_VMATH_H
#define VT_CPU_VMATH_H
#include <math.h>
#include <stdint.h>
#ifdef VOLT_HAVE_LIBMVEC
#include <immintrin.h>
__m128 _ZGVbN4v_expf(__m128 x);
__m128 _ZGVbN4v_erff(__m128 x);
__m256 _ZGVdN8v_expf(__m256 x);
__m256 _ZGVdN8v_erff(__m256 x);

/* 1 when the CPU has AVX2 (checked once) */
static inline int vt_vmath_avx2(void) {
  static int has = -1;
  if (has < 0) has = __builtin_cpu_supports("avx2") ? 1 : 0;
  return has;
}

/* all n elements through the 8-lane function, the last n % 8 padded with zeros in a stack
   buffer (one call instead of a 4-lane call and a padded one: attention's causal rows have
   every length) */
__attribute__((target("avx2"))) static inline void vt_vmath_run8(const float* x, float* y, int64_t n,
                                                                 int erf) {
  int64_t i = 0;
  if (erf)
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _ZGVdN8v_erff(_mm256_loadu_ps(x + i)));
  else
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _ZGVdN8v_expf(_mm256_loadu_ps(x + i)));
  if (i < n) {
    float t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t j = i; j < n; j++) t[j - i] = x[j];
    __m256 v = _mm256_loadu_ps(t);
    _mm256_storeu_ps(t, erf ? _ZGVdN8v_erff(v) : _ZGVdN8v_expf(v));
    for (int64_t j = i; j < n; j++) y[j] = t[j - i];
  }
}
#endif

/* y (n) = exp(x (n)) */
static inline void vt_vexpf(const float* x, float* y, int64_t n) {
  int64_t i = 0;
#ifdef VOLT_HAVE_LIBMVEC
  if (vt_vmath_avx2()) {
    vt_vmath_run8(x, y, n, 0);
    return;
  }
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(y + i, _ZGVbN4v_expf(_mm_loadu_ps(x + i)));
  if (i < n) {
    float t[4] = {0, 0, 0, 0};
    for (int64_t j = i; j < n; j++) t[j - i] = x[j];
    _mm_storeu_ps(t, _ZGVbN4v_expf(_mm_loadu_ps(t)));
    for (int64_t j = i; j < n; j++) y[j] = t[j - i];
  }
#else
  for (; i < n; i++) y[i] = expf(x[i]);
#endif
}

/* y (n) = erf(x (n)) */
static inline void vt_verff(const float* x, float* y, int64_t n) {
  int64_t i = 0;
#ifdef VOLT_HAVE_LIBMVEC
  if (vt_vmath_avx2()) {
    vt_vmath_run8(x, y, n, 1);
    return;
  }
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(y + i, _ZGVbN4v_erff(_mm_loadu_ps(x + i)));
  if (i < n) {
    float t[4] = {0, 0, 0, 0};
    for (int64_t j = i; j < n; j++) t[j - i] = x[j];
    _mm_storeu_ps(t, _ZGVbN4v_erff(_mm_loadu_ps(t)));
    for (int64_t j = i; j < n; j++) y[j] = t[j - i];
  }
#else
  for (; i < n; i++) y[i] = erff(x[i]);
#endif
}
#endif
