/* backend.c — the registry of backends, one per device type, and op dispatch. */
#include "backend/backend.h"
#include "core/util.h"
#include "volt/ops.h"

vt_backend* vt_backend_get(vt_device_type type) {
  switch (type) {
    case VT_DEVICE_CPU: return vt_cpu_backend();
    case VT_DEVICE_CUDA: return vt_cuda_backend();
    default: return NULL;
  }
}

vt_status vt_backend_for(const char* op, vt_device dev, vt_backend** out) {
  vt_backend* b = (dev.type >= 0 && dev.type < VT_DEVICE_TYPE_COUNT) ? vt_backend_get(dev.type) : NULL;
  if (!b)
    return vt_set_error(VT_ERR_DEVICE, "%s: the %s backend is not available in this build%s", op,
                        vt_device_type_name(dev.type),
                        dev.type == VT_DEVICE_CUDA ? " (rebuild with nvcc found, VOLT_CUDA=ON)" : "");
  int n = b->device_count();
  if (dev.index < 0 || dev.index >= n)
    return vt_set_error(VT_ERR_DEVICE, "%s: device %s:%d does not exist (%d available)", op, b->name,
                        dev.index, n);
  *out = b;
  return VT_OK;
}

vt_status vt_dispatch(vt_device dev, const vt_op_args* a) {
  vt_backend* b = NULL; /* set when VT_TRY passes (initialised for -Wmaybe-uninitialized) */
  VT_TRY(vt_backend_for(vt_op_name(a->op), dev, &b));
  vt_kernel k = b->kernels[a->op];
  if (!k)
    return vt_set_error(VT_ERR_UNSUPPORTED, "%s: not implemented on the %s backend", vt_op_name(a->op),
                        b->name);
  return k(a);
}

int vt_device_available(vt_device_type type) {
  vt_backend* b = (type >= 0 && type < VT_DEVICE_TYPE_COUNT) ? vt_backend_get(type) : NULL;
  return b && b->device_count() > 0;
}

int vt_device_count(vt_device_type type) {
  vt_backend* b = (type >= 0 && type < VT_DEVICE_TYPE_COUNT) ? vt_backend_get(type) : NULL;
  return b ? b->device_count() : 0;
}

const char* vt_device_type_name(vt_device_type type) {
  switch (type) {
    case VT_DEVICE_CPU: return "cpu";
    case VT_DEVICE_CUDA: return "cuda";
    default: return "unknown";
  }
}

vt_status vt_device_synchronize(vt_device dev) {
  vt_backend* b = NULL;
  VT_TRY(vt_backend_for("synchronize", dev, &b));
  return b->synchronize ? b->synchronize(dev.index) : VT_OK;
}

#ifndef VOLT_HAVE_CUDA
vt_backend* vt_cuda_backend(void) { return NULL; }
#endif
