/* cpu_vmath.h — vector exp and erf over float arrays for the CPU kernels' hot loops (GELU,
 * attention softmax). With glibc's libmvec (VOLT_HAVE_LIBMVEC, found by CMake) four lanes at a
 * time (_ZGVbN4v_*: SSE2 ABI, glibc picks the best implementation for the CPU); otherwise
 * scalar expf/erff. Accuracy is libmvec's (a few ulp), special values as libm's (exp(-inf) = 0,
 * erf(±inf) = ±1, NaN stays NaN). y may alias x.
 */
#ifndef VT_CPU_VMATH_H
#define VT_CPU_VMATH_H
#include <math.h>
#include <stdint.h>
#ifdef VOLT_HAVE_LIBMVEC
#include <emmintrin.h>
__m128 _ZGVbN4v_expf(__m128 x);
__m128 _ZGVbN4v_erff(__m128 x);
#endif

/* y (n) = exp(x (n)) */
static inline void vt_vexpf(const float* x, float* y, int64_t n) {
  int64_t i = 0;
#ifdef VOLT_HAVE_LIBMVEC
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
