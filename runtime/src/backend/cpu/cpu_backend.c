/* cpu_backend.c — the CPU backend: host memory (64-byte aligned) and the kernel table, filled by
 * each kernel family's registration function.
 */
#include <pthread.h>
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <string.h>
#include "backend/cpu/cpu.h"

static int cpu_device_count(void) { return 1; }

static void* cpu_alloc(int index, size_t nbytes) {
  size_t n = (nbytes + 63) & ~(size_t)63;
  void* p = aligned_alloc(64, n ? n : 64);
  if (!p) vt_set_error(VT_ERR_OOM, "out of host memory allocating %zu bytes", nbytes);
  return p;
}

static void cpu_free(int index, void* p, size_t nbytes) { free(p); }

static vt_status cpu_copy(void* dst, vt_device ddev, const void* src, vt_device sdev, size_t n) {
  if (ddev.type != VT_DEVICE_CPU || sdev.type != VT_DEVICE_CPU)
    return vt_set_error(VT_ERR_DEVICE, "cpu backend cannot copy to or from %s",
                        vt_device_type_name(ddev.type != VT_DEVICE_CPU ? ddev.type : sdev.type));
  if (n) memmove(dst, src, n);
  return VT_OK;
}

static vt_backend vt_cpu = {.name = "cpu",
                            .device_count = cpu_device_count,
                            .alloc = cpu_alloc,
                            .free = cpu_free,
                            .copy = cpu_copy,
                            .synchronize = NULL};
static pthread_once_t vt_cpu_once = PTHREAD_ONCE_INIT;

/* glibc serves blocks above its mmap threshold (128 KiB, growing dynamically) with fresh mmap
   pages and gives the top of the heap back above its trim threshold: a training step that frees
   and reallocates the same MiB-sized activations and gradients every iteration then pays a page
   fault and a kernel page clear per 4 KiB (the mlp bench's dW GEMMs ran 1.5-1.8x slower than on
   reused memory). Raise both so freed tensor memory stays in the heap for reuse. */
static void vt_cpu_tune_malloc(void) {
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20); /* glibc's maximum on 64-bit */
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

static void vt_cpu_init(void) {
  vt_cpu_tune_malloc();
  vt_cpu_register_elementwise(vt_cpu.kernels);
  vt_cpu_register_reduce(vt_cpu.kernels);
  vt_cpu_register_index(vt_cpu.kernels);
  vt_cpu_register_linalg(vt_cpu.kernels);
  vt_cpu_register_random(vt_cpu.kernels);
  vt_cpu_register_pool(vt_cpu.kernels);
  vt_cpu_register_norm(vt_cpu.kernels);
  vt_cpu_register_conv(vt_cpu.kernels);
  vt_cpu_register_fused(vt_cpu.kernels);
  vt_cpu_register_gelu(vt_cpu.kernels); /* after elementwise: overrides gelu's f32 fast path */
}

vt_backend* vt_cpu_backend(void) {
  pthread_once(&vt_cpu_once, vt_cpu_init);
  return &vt_cpu;
}
