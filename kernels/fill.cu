// fill.cu — fill kernel: writes one bit pattern into every element of a strided tensor.
// Accumulation contract: none (a pure store). One thread per element, grid-stride loop.
#include "kernels.h"

template <typename T>
__global__ void vt_fill_kernel(char* data, vt_cuda_geom g, T v) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < g.numel;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t rem = i, off = 0;
    for (int d = g.ndim - 1; d >= 0; d--) {
      off += (rem % g.shape[d]) * g.stride[d];
      rem /= g.shape[d];
    }
    reinterpret_cast<T*>(data)[off] = v;
  }
}

extern "C" cudaError_t vt_cuda_fill_fwd(void* data, vt_cuda_geom g, int itemsize, uint64_t bits,
                                        cudaStream_t s) {
  if (g.numel == 0) return cudaSuccess;
  int threads = 256;
  int64_t blocks64 = (g.numel + threads - 1) / threads;
  int blocks = (int)(blocks64 > 65535 ? 65535 : blocks64);
  char* p = static_cast<char*>(data);
  switch (itemsize) {
    case 1: vt_fill_kernel<uint8_t><<<blocks, threads, 0, s>>>(p, g, (uint8_t)bits); break;
    case 2: vt_fill_kernel<uint16_t><<<blocks, threads, 0, s>>>(p, g, (uint16_t)bits); break;
    case 4: vt_fill_kernel<uint32_t><<<blocks, threads, 0, s>>>(p, g, (uint32_t)bits); break;
    default: vt_fill_kernel<uint64_t><<<blocks, threads, 0, s>>>(p, g, (uint64_t)bits); break;
  }
  return cudaGetLastError();
}
