/* cpu.h — the CPU backend's shared machinery. Internal.
 *
 * Threads: every parallel region is OpenMP, the same pool OpenBLAS (OpenMP build) uses, so BLAS
 * and Volt kernels never run two pools against each other. Work is split in fixed-size chunks
 * that do not depend on the thread count wherever the result could (reductions), so results are
 * the same on 1 or N threads.
 *
 * Kernel authors use:
 *   vt_cpu_foreach     — walks k same-shape tensors (any strides) in row-major order, calling a
 *                        1-D loop on runs of the innermost (coalesced) dim, split across threads;
 *   vt_cpu_parallel_for — splits [0, n) into chunks across threads;
 *   vt_cpu_load_* / vt_cpu_store_* — strided load/convert into a compute buffer and back, so one
 *                        kernel body per compute type (f32, f64, i64) serves every dtype.
 * Each kernel family registers itself into the backend's table (vt_cpu_register_<family>).
 */
#pragma once
#include <stdint.h>
#include "backend/backend.h"
#include "core/util.h"

/* Elements per chunk of the load/compute/store loops (fits several buffers on the stack). */
#define VT_CPU_CHUNK 256
/* Default element count below which an op stays on one thread. */
#define VT_CPU_GRAIN 32768

/* VT_CPU_CLONES before a hot kernel function: on x86-64 Linux with GCC it is compiled twice,
   for AVX2 and for the portable baseline (SSE2), and the loader picks one (ifunc). AVX2 without
   FMA computes the same IEEE results as SSE2 (no contraction into fused multiply-adds), so the
   choice changes speed, never a value. Elsewhere it is empty. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define VT_CPU_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VT_CPU_CLONES
#endif

/* One run: ptrs[j] points at the first element of tensor j, strides[j] is its byte stride. */
typedef void (*vt_cpu_loop)(char** ptrs, const int64_t* strides, int64_t n, void* ctx);

/* Calls fn over all elements of k tensors of identical shape (ts[0]'s shape), k <= 8. */
void vt_cpu_foreach(int k, const vt_tensor* const* ts, vt_cpu_loop fn, void* ctx, int64_t grain);

/* Calls fn(begin, end, ctx) on chunks of [0, n) across threads; one call when n < grain. */
typedef void (*vt_cpu_range_fn)(int64_t begin, int64_t end, void* ctx);
void vt_cpu_parallel_for(int64_t n, int64_t grain, vt_cpu_range_fn fn, void* ctx);

/* Strided loads converting from dtype dt; stride in bytes (0 broadcasts one element). */
void vt_cpu_load_f32(float* dst, const char* src, int64_t stride, int dt, int64_t n);
void vt_cpu_load_f64(double* dst, const char* src, int64_t stride, int dt, int64_t n);
void vt_cpu_load_i64(int64_t* dst, const char* src, int64_t stride, int dt, int64_t n);
/* Strided stores converting to dtype dt. */
void vt_cpu_store_f32(char* dst, int64_t stride, int dt, const float* src, int64_t n);
void vt_cpu_store_f64(char* dst, int64_t stride, int dt, const double* src, int64_t n);
void vt_cpu_store_i64(char* dst, int64_t stride, int dt, const int64_t* src, int64_t n);

/* The compute type for a dtype: VT_DTYPE_F32 for f32/f16/bf16, F64, or I64 for integers. */
static inline int vt_cpu_ctype(int dt) {
  if (dt == VT_DTYPE_F64) return VT_DTYPE_F64;
  if (dt <= VT_DTYPE_BF16) return VT_DTYPE_F32;
  return VT_DTYPE_I64;
}

/* Kernel family registration (one per file). */
void vt_cpu_register_elementwise(vt_kernel* table);
void vt_cpu_register_reduce(vt_kernel* table);
void vt_cpu_register_index(vt_kernel* table);
void vt_cpu_register_linalg(vt_kernel* table);
void vt_cpu_register_random(vt_kernel* table);
void vt_cpu_register_pool(vt_kernel* table);
void vt_cpu_register_norm(vt_kernel* table);
void vt_cpu_register_conv(vt_kernel* table);
void vt_cpu_register_fused(vt_kernel* table);
void vt_cpu_register_gelu(vt_kernel* table);
