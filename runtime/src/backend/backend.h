/* backend.h — the backend vtable: what a device type must provide. Internal.
 *
 * One backend per device type. The CPU backend is complete; the CUDA backend (compiled when nvcc
 * is found) fills what it has. Callers never branch on the device: they go through
 * vt_backend_for(device) and the kernel table.
 */
#pragma once
#include <stddef.h>
#include "volt/device.h"
#include "ops/op.h"

typedef struct vt_backend {
  const char* name;                     /* "cpu", "cuda"                                   */
  int (*device_count)(void);
  /* Allocates nbytes on device index; NULL on failure (the error is recorded).            */
  void* (*alloc)(int index, size_t nbytes);
  void (*free)(int index, void* p, size_t nbytes);
  /* Copies nbytes between two devices, at least one of which is this backend's, or the CPU.  */
  vt_status (*copy)(void* dst, vt_device ddev, const void* src, vt_device sdev, size_t nbytes);
  vt_status (*synchronize)(int index);  /* (optional)                                      */
  vt_kernel kernels[VT_OP_COUNT];       /* NULL: not implemented on this backend            */
} vt_backend;

/* The backend for a device type, or NULL when not compiled in. */
vt_backend* vt_backend_get(vt_device_type type);
/* The backend for dev, with an error naming op when absent or dev.index is out of range. */
vt_status vt_backend_for(const char* op, vt_device dev, vt_backend** b);

/* Backend constructors (each fills its kernel table once). */
vt_backend* vt_cpu_backend(void);
vt_backend* vt_cuda_backend(void); /* NULL unless VOLT_HAVE_CUDA */
