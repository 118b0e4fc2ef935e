/* cuda_backend.c — the CUDA backend: device memory, host<->dev copies, and the kernel table
 * (a growing subset of the op list; an op without a CUDA kernel fails with VT_ERR_UNSUPPORTED).
 * Every CUDA runtime call goes through VT_CUDA_CHECK, which records the call and file:line.
 * Compiled only when nvcc is found (VOLT_HAVE_CUDA).
 */
#include <cuda_runtime_api.h>
#include <pthread.h>
#include <string.h>
#include "backend/backend.h"
#include "core/util.h"
#include "kernels.h"

#define VT_CUDA_CHECK(call)                                                                     \
  do {                                                                                          \
    cudaError_t vt__e = (call);                                                                 \
    if (vt__e != cudaSuccess)                                                                   \
      return vt_set_error(VT_ERR_BACKEND, "CUDA error %s (%s) in %s at %s:%d",                  \
                          cudaGetErrorName(vt__e), cudaGetErrorString(vt__e), #call, __FILE__,  \
                          __LINE__);                                                            \
  } while (0)

static int cuda_device_count(void) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError(); /* no driver / no device: clear the sticky error, report zero */
    return 0;
  }
  return n;
}

static vt_status cuda_alloc_impl(int index, size_t nbytes, void** p) {
  VT_CUDA_CHECK(cudaSetDevice(index));
  VT_CUDA_CHECK(cudaMalloc(p, nbytes));
  return VT_OK;
}

static void* cuda_alloc(int index, size_t nbytes) {
  void* p = NULL;
  if (cuda_alloc_impl(index, nbytes, &p) != VT_OK) return NULL;
  return p;
}

static void cuda_free(int index, void* p, size_t nbytes) {
  cudaSetDevice(index);
  cudaFree(p);
}

static vt_status cuda_copy(void* dst, vt_device ddev, const void* src, vt_device sdev, size_t n) {
  if (n == 0) return VT_OK;
  enum cudaMemcpyKind kind;
  if (ddev.type == VT_DEVICE_CUDA && sdev.type == VT_DEVICE_CUDA) kind = cudaMemcpyDeviceToDevice;
  else if (ddev.type == VT_DEVICE_CUDA) kind = cudaMemcpyHostToDevice;
  else if (sdev.type == VT_DEVICE_CUDA) kind = cudaMemcpyDeviceToHost;
  else kind = cudaMemcpyHostToHost;
  VT_CUDA_CHECK(cudaSetDevice(ddev.type == VT_DEVICE_CUDA ? ddev.index : sdev.index));
  VT_CUDA_CHECK(cudaMemcpy(dst, src, n, kind));
  return VT_OK;
}

static vt_status cuda_synchronize(int index) {
  VT_CUDA_CHECK(cudaSetDevice(index));
  VT_CUDA_CHECK(cudaDeviceSynchronize());
  return VT_OK;
}

static vt_cuda_geom cuda_geom(const vt_tensor* t) {
  vt_cuda_geom g;
  memset(&g, 0, sizeof g);
  g.ndim = t->ndim;
  g.numel = t->nelem;
  for (int i = 0; i < t->ndim; i++) {
    g.shape[i] = t->sizes[i];
    g.stride[i] = t->strides[i];
  }
  return g;
}

static vt_status cuda_fill(const vt_op_args* a) {
  vt_tensor* t = a->out[0];
  uint64_t bits = 0;
  double v = a->f[0];
  vt_dtype_convert(&bits, (vt_dtype)t->dt, &v, VT_DTYPE_F64, 1);
  VT_CUDA_CHECK(cudaSetDevice(t->dev.index));
  VT_CUDA_CHECK(vt_cuda_fill_fwd(t->ptr, cuda_geom(t), (int)vt_dtype_size(t->dt), bits, 0));
  return VT_OK;
}

/* Same-device copy: contiguous, same dtype only so far. */
static vt_status cuda_copy_kernel(const vt_op_args* a) {
  const vt_tensor* s = a->in[0];
  vt_tensor* d = a->out[0];
  if (s->dt != d->dt || !vt_tensor_is_contiguous(s) || !vt_tensor_is_contiguous(d))
    return vt_set_error(VT_ERR_UNSUPPORTED,
                        "copy: strided or converting copies are not implemented on the cuda backend yet");
  VT_CUDA_CHECK(cudaSetDevice(d->dev.index));
  VT_CUDA_CHECK(cudaMemcpy(d->ptr, s->ptr, (size_t)d->nelem * vt_dtype_size(d->dt),
                           cudaMemcpyDeviceToDevice));
  return VT_OK;
}

static vt_backend vt_cuda = {.name = "cuda",
                             .device_count = cuda_device_count,
                             .alloc = cuda_alloc,
                             .free = cuda_free,
                             .copy = cuda_copy,
                             .synchronize = cuda_synchronize};
static pthread_once_t vt_cuda_once = PTHREAD_ONCE_INIT;

static void vt_cuda_init(void) {
  vt_cuda.kernels[VT_OP_fill] = cuda_fill;
  vt_cuda.kernels[VT_OP_copy] = cuda_copy_kernel;
}

vt_backend* vt_cuda_backend(void) {
  pthread_once(&vt_cuda_once, vt_cuda_init);
  return &vt_cuda;
}
