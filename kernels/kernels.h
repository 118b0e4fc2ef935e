/* kernels.h — host launchers of Volt's CUDA kernels, callable from C (extern "C").
 *
 * Naming: vt_cuda_<op>_<dir>(..., cudaStream_t). Each returns the cudaError_t of its launch;
 * the caller (runtime/src/backend/cuda) checks it with VT_CUDA_CHECK so the failing call and
 * its file:line reach vt_last_error(). Shapes are passed as a vt_cuda_geom (ndim <= 8,
 * strides in elements).
 */
#pragma once
#include <stdint.h>
#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vt_cuda_geom {
  int32_t ndim;
  int64_t numel;
  int64_t shape[8];
  int64_t stride[8];
} vt_cuda_geom;

/* Writes the itemsize-byte pattern `bits` into every element of a strided tensor. */
cudaError_t vt_cuda_fill_fwd(void* data, vt_cuda_geom g, int itemsize, uint64_t bits, cudaStream_t s);

#ifdef __cplusplus
}
#endif
