/* cpu_iter.c — the CPU iteration engine (vt_cpu_foreach, vt_cpu_parallel_for) and the strided
 * load/store converters every elementwise-style kernel is built on.
 */
#include <math.h>
#include <omp.h>
#include <string.h>
#include "backend/cpu/cpu.h"
#include "core/half.h"

/* ---------------------------------------------------------------------------------------- */
/* foreach                                                                                  */
/* ---------------------------------------------------------------------------------------- */
typedef struct {
  int k, nd;
  int64_t sizes[VT_MAX_DIMS];
  int64_t strides[8][VT_MAX_DIMS]; /* bytes */
  char* base[8];
} vt_iter;

static void vt_iter_run(const vt_iter* it, int64_t begin, int64_t end, vt_cpu_loop fn, void* ctx) {
  int nd = it->nd, k = it->k;
  int64_t idx[VT_MAX_DIMS];
  char* p[8];
  int64_t inner_st[8];
  int64_t rem = begin;
  for (int d = nd - 1; d >= 0; d--) {
    idx[d] = rem % it->sizes[d];
    rem /= it->sizes[d];
  }
  for (int j = 0; j < k; j++) {
    p[j] = it->base[j];
    for (int d = 0; d < nd; d++) p[j] += idx[d] * it->strides[j][d];
    inner_st[j] = it->strides[j][nd - 1];
  }
  int64_t pos = begin;
  int64_t inner = it->sizes[nd - 1];
  while (pos < end) {
    int64_t n = inner - idx[nd - 1];
    if (n > end - pos) n = end - pos;
    fn(p, inner_st, n, ctx);
    pos += n;
    if (pos >= end) break;
    /* advance: the inner index wraps to 0, carry into outer dims */
    for (int j = 0; j < k; j++) p[j] += n * inner_st[j];
    idx[nd - 1] += n;
    for (int d = nd - 1; d > 0 && idx[d] == it->sizes[d]; d--) {
      for (int j = 0; j < k; j++) p[j] -= it->sizes[d] * it->strides[j][d] - it->strides[j][d - 1];
      idx[d] = 0;
      idx[d - 1]++;
    }
  }
}

/* Whether t is row-major contiguous in the shape of t0 (strides checked, not the CONTIGUOUS
 * flag: kernels pass headers they made by copying another, whose flag is then stale). */
static inline int vt_iter_contiguous(const vt_tensor* t0, const vt_tensor* t) {
  int64_t expect = 1;
  for (int d = t0->ndim - 1; d >= 0; d--) {
    int64_t s = t0->sizes[d];
    if (s != 1 && t->strides[d] != expect) return 0;
    expect *= s;
  }
  return 1;
}

__attribute__((noinline)) static void vt_foreach_general(int k, const vt_tensor* const* ts, vt_cpu_loop fn, void* ctx,
                               int64_t n, int64_t grain);

void vt_cpu_foreach(int k, const vt_tensor* const* ts, vt_cpu_loop fn, void* ctx, int64_t grain) {
  VT_ASSERT(k >= 1 && k <= 8);
  const vt_tensor* t0 = ts[0];
  int64_t n = t0->nelem;
  if (n == 0) return;
  if (grain <= 0) grain = VT_CPU_GRAIN;
  if (n < grain) {
    /* one thread; when every tensor is row-major contiguous (the common case) one run of n
       elements, without building the iterator */
    char* p[8];
    int64_t st[8];
    int j = 0;
    for (; j < k && vt_iter_contiguous(t0, ts[j]); j++) {
      p[j] = (char*)ts[j]->ptr;
      st[j] = (int64_t)vt_dtype_size(ts[j]->dt);
    }
    if (j == k) {
      fn(p, st, n, ctx);
      return;
    }
  }
  vt_foreach_general(k, ts, fn, ctx, n, grain);
}

/* Any strides: drop size-1 dims, coalesce, split across threads above grain. */
__attribute__((noinline)) static void vt_foreach_general(int k, const vt_tensor* const* ts, vt_cpu_loop fn, void* ctx,
                               int64_t n, int64_t grain) {
  const vt_tensor* t0 = ts[0];
  vt_iter it;
  it.k = k;
  int nd = 0;
  /* drop size-1 dims, then coalesce dims that are contiguous with their inner neighbour in
     every tensor */
  for (int d = 0; d < t0->ndim; d++) {
    if (t0->sizes[d] == 1) continue;
    it.sizes[nd] = t0->sizes[d];
    for (int j = 0; j < k; j++)
      it.strides[j][nd] = ts[j]->strides[d] * (int64_t)vt_dtype_size(ts[j]->dt);
    nd++;
  }
  if (nd == 0) {
    it.sizes[0] = 1;
    for (int j = 0; j < k; j++) it.strides[j][0] = (int64_t)vt_dtype_size(ts[j]->dt);
    nd = 1;
  }
  int w = 0;
  for (int d = 1; d < nd; d++) {
    int ok = 1;
    for (int j = 0; j < k; j++)
      if (it.strides[j][w] != it.strides[j][d] * it.sizes[d]) ok = 0;
    if (ok) {
      it.sizes[w] *= it.sizes[d];
      for (int j = 0; j < k; j++) it.strides[j][w] = it.strides[j][d];
    } else {
      w++;
      it.sizes[w] = it.sizes[d];
      for (int j = 0; j < k; j++) it.strides[j][w] = it.strides[j][d];
    }
  }
  it.nd = w + 1;
  for (int j = 0; j < k; j++) it.base[j] = (char*)ts[j]->ptr;
  int nt = n < grain || omp_in_parallel() ? 1 : omp_get_max_threads();
  if (nt <= 1) {
    vt_iter_run(&it, 0, n, fn, ctx);
    return;
  }
  int64_t chunks = (n + grain - 1) / grain;
  if (chunks > nt) chunks = nt;
#pragma omp parallel for num_threads((int)chunks) schedule(static, 1)
  for (int64_t c = 0; c < chunks; c++) {
    int64_t b = n * c / chunks, e = n * (c + 1) / chunks;
    vt_iter_run(&it, b, e, fn, ctx);
  }
}

void vt_cpu_parallel_for(int64_t n, int64_t grain, vt_cpu_range_fn fn, void* ctx) {
  if (n <= 0) return;
  if (grain <= 0) grain = 1;
  int nt = n <= grain || omp_in_parallel() ? 1 : omp_get_max_threads();
  if (nt <= 1) {
    fn(0, n, ctx);
    return;
  }
  int64_t chunks = (n + grain - 1) / grain;
  if (chunks > nt) chunks = nt;
#pragma omp parallel for num_threads((int)chunks) schedule(static, 1)
  for (int64_t c = 0; c < chunks; c++) fn(n * c / chunks, n * (c + 1) / chunks, ctx);
}

/* ---------------------------------------------------------------------------------------- */
/* strided load / store with conversion                                                     */
/* ---------------------------------------------------------------------------------------- */
#define VT_LOAD_BODY(CT)                                                                    \
  switch (dt) {                                                                             \
    case VT_DTYPE_F32: for (int64_t i = 0; i < n; i++) dst[i] = (CT)*(const float*)(src + i * stride); break;   \
    case VT_DTYPE_F64: for (int64_t i = 0; i < n; i++) dst[i] = (CT)*(const double*)(src + i * stride); break;  \
    case VT_DTYPE_F16: for (int64_t i = 0; i < n; i++) dst[i] = (CT)vt_half_f16_to_f32(*(const uint16_t*)(src + i * stride)); break; \
    case VT_DTYPE_BF16: for (int64_t i = 0; i < n; i++) dst[i] = (CT)vt_half_bf16_to_f32(*(const uint16_t*)(src + i * stride)); break; \
    case VT_DTYPE_I32: for (int64_t i = 0; i < n; i++) dst[i] = (CT)*(const int32_t*)(src + i * stride); break; \
    case VT_DTYPE_I64: for (int64_t i = 0; i < n; i++) dst[i] = (CT)*(const int64_t*)(src + i * stride); break; \
    case VT_DTYPE_U8: for (int64_t i = 0; i < n; i++) dst[i] = (CT)*(const uint8_t*)(src + i * stride); break;  \
    case VT_DTYPE_BOOL: for (int64_t i = 0; i < n; i++) dst[i] = (CT)(*(const uint8_t*)(src + i * stride) != 0); break; \
    default: break;                                                                         \
  }

void vt_cpu_load_f32(float* dst, const char* src, int64_t stride, int dt, int64_t n) { VT_LOAD_BODY(float) }
void vt_cpu_load_f64(double* dst, const char* src, int64_t stride, int dt, int64_t n) { VT_LOAD_BODY(double) }

void vt_cpu_load_i64(int64_t* dst, const char* src, int64_t stride, int dt, int64_t n) {
  switch (dt) {
    case VT_DTYPE_F32:
    case VT_DTYPE_F64:
    case VT_DTYPE_F16:
    case VT_DTYPE_BF16: {
      double tmp[VT_CPU_CHUNK];
      for (int64_t o = 0; o < n; o += VT_CPU_CHUNK) {
        int64_t m = n - o < VT_CPU_CHUNK ? n - o : VT_CPU_CHUNK;
        vt_cpu_load_f64(tmp, src + o * stride, stride, dt, m);
        for (int64_t i = 0; i < m; i++)
          dst[o + i] = tmp[i] >= -0x1p63 && tmp[i] < 0x1p63 ? (int64_t)tmp[i] : 0;
      }
      break;
    }
    default: VT_LOAD_BODY(int64_t)
  }
}

/* float -> integer: truncation toward zero; NaN, ±Inf and values whose truncation is out of
   range give 0 (the comparisons are false for NaN). -2^31 and -2^63 themselves are in range. */
static inline int32_t vt_sat_i32(double v) {
  return v > -2147483649.0 && v < 2147483648.0 ? (int32_t)v : 0;
}
static inline int64_t vt_sat_i64(double v) { return v >= -0x1p63 && v < 0x1p63 ? (int64_t)v : 0; }
static inline uint8_t vt_sat_u8(double v) { return (uint8_t)vt_sat_i64(v); }

void vt_cpu_store_f32(char* dst, int64_t stride, int dt, const float* src, int64_t n) {
  switch (dt) {
    case VT_DTYPE_F32: for (int64_t i = 0; i < n; i++) *(float*)(dst + i * stride) = src[i]; break;
    case VT_DTYPE_F64: for (int64_t i = 0; i < n; i++) *(double*)(dst + i * stride) = src[i]; break;
    case VT_DTYPE_F16: for (int64_t i = 0; i < n; i++) *(uint16_t*)(dst + i * stride) = vt_half_f32_to_f16(src[i]); break;
    case VT_DTYPE_BF16: for (int64_t i = 0; i < n; i++) *(uint16_t*)(dst + i * stride) = vt_half_f32_to_bf16(src[i]); break;
    case VT_DTYPE_I32: for (int64_t i = 0; i < n; i++) *(int32_t*)(dst + i * stride) = vt_sat_i32(src[i]); break;
    case VT_DTYPE_I64: for (int64_t i = 0; i < n; i++) *(int64_t*)(dst + i * stride) = vt_sat_i64(src[i]); break;
    case VT_DTYPE_U8: for (int64_t i = 0; i < n; i++) *(uint8_t*)(dst + i * stride) = vt_sat_u8(src[i]); break;
    case VT_DTYPE_BOOL: for (int64_t i = 0; i < n; i++) *(uint8_t*)(dst + i * stride) = src[i] != 0; break;
    default: break;
  }
}

void vt_cpu_store_f64(char* dst, int64_t stride, int dt, const double* src, int64_t n) {
  switch (dt) {
    case VT_DTYPE_F32: for (int64_t i = 0; i < n; i++) *(float*)(dst + i * stride) = (float)src[i]; break;
    case VT_DTYPE_F64: for (int64_t i = 0; i < n; i++) *(double*)(dst + i * stride) = src[i]; break;
    case VT_DTYPE_F16: for (int64_t i = 0; i < n; i++) *(uint16_t*)(dst + i * stride) = vt_f64_to_f16(src[i]); break;
    case VT_DTYPE_BF16: for (int64_t i = 0; i < n; i++) *(uint16_t*)(dst + i * stride) = vt_f64_to_bf16(src[i]); break;
    case VT_DTYPE_I32: for (int64_t i = 0; i < n; i++) *(int32_t*)(dst + i * stride) = vt_sat_i32(src[i]); break;
    case VT_DTYPE_I64: for (int64_t i = 0; i < n; i++) *(int64_t*)(dst + i * stride) = vt_sat_i64(src[i]); break;
    case VT_DTYPE_U8: for (int64_t i = 0; i < n; i++) *(uint8_t*)(dst + i * stride) = vt_sat_u8(src[i]); break;
    case VT_DTYPE_BOOL: for (int64_t i = 0; i < n; i++) *(uint8_t*)(dst + i * stride) = src[i] != 0; break;
    default: break;
  }
}

void vt_cpu_store_i64(char* dst, int64_t stride, int dt, const int64_t* src, int64_t n) {
  switch (dt) {
    case VT_DTYPE_F32: for (int64_t i = 0; i < n; i++) *(float*)(dst + i * stride) = (float)src[i]; break;
    case VT_DTYPE_F64: for (int64_t i = 0; i < n; i++) *(double*)(dst + i * stride) = (double)src[i]; break;
    case VT_DTYPE_F16: for (int64_t i = 0; i < n; i++) *(uint16_t*)(dst + i * stride) = vt_f64_to_f16((double)src[i]); break;
    case VT_DTYPE_BF16: for (int64_t i = 0; i < n; i++) *(uint16_t*)(dst + i * stride) = vt_f64_to_bf16((double)src[i]); break;
    case VT_DTYPE_I32: for (int64_t i = 0; i < n; i++) *(int32_t*)(dst + i * stride) = (int32_t)(uint32_t)src[i]; break;
    case VT_DTYPE_I64: for (int64_t i = 0; i < n; i++) *(int64_t*)(dst + i * stride) = src[i]; break;
    case VT_DTYPE_U8: for (int64_t i = 0; i < n; i++) *(uint8_t*)(dst + i * stride) = (uint8_t)src[i]; break;
    case VT_DTYPE_BOOL: for (int64_t i = 0; i < n; i++) *(uint8_t*)(dst + i * stride) = src[i] != 0; break;
    default: break;
  }
}
