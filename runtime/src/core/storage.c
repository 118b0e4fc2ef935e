/* storage.c — refcounted device memory. The backend of the storage's device allocates and frees;
 * this file owns refcounts and the live-bytes accounting the Lua GC pacing reads.
 */
#include <stdatomic.h>
#include <string.h>
#include "backend/backend.h"
#include "core/pool.h"
#include "core/util.h"
#include "volt/storage.h"

struct vt_storage {
  atomic_int refcount;
  vt_device dev;
  void* ptr;
  size_t nbytes;
  void (*deleter)(void* ctx); /* foreign memory: called instead of the backend's free */
  void* ctx;
  int foreign;
  int pooled; /* small CPU storage: this record and the data are one pool block (core/pool.h) */
  uint32_t version; /* bumped by every write through a tensor (autograd's saved-tensor check) */
};

static atomic_llong vt_live[VT_DEVICE_TYPE_COUNT];
static atomic_llong vt_total[VT_DEVICE_TYPE_COUNT];

vt_status vt_storage_new(vt_device dev, size_t nbytes, vt_storage** out) {
  VT_CHECK_ARG(out != NULL, "storage_new: NULL output");
  *out = NULL;
  if (dev.type == VT_DEVICE_CPU && dev.index == 0 && nbytes <= VT_POOL_SMALL_DATA) {
    /* small CPU storage: record and data in one pooled block, no backend allocation */
    char* blk = vt_pool_take(VT_POOL_SMALL);
    if (!blk) return vt_set_error(VT_ERR_OOM, "storage_new: out of host memory");
    vt_storage* s = (vt_storage*)blk;
    s->ptr = nbytes > 0 ? blk + VT_POOL_SMALL_HEAD : NULL;
    s->pooled = 1;
    atomic_init(&s->refcount, 1);
    s->dev = dev;
    s->nbytes = nbytes;
    atomic_fetch_add_explicit(&vt_live[dev.type], (long long)nbytes, memory_order_relaxed);
    atomic_fetch_add_explicit(&vt_total[dev.type], (long long)nbytes, memory_order_relaxed);
    *out = s;
    return VT_OK;
  }
  vt_backend* b;
  VT_TRY(vt_backend_for("storage_new", dev, &b));
  vt_storage* s = calloc(1, sizeof *s);
  if (!s) return vt_set_error(VT_ERR_OOM, "storage_new: out of host memory");
  s->ptr = NULL;
  if (nbytes > 0) {
    s->ptr = b->alloc(dev.index, nbytes);
    if (!s->ptr) {
      free(s);
      if (vt_last_status() == VT_ERR_OOM || vt_last_status() == VT_ERR_BACKEND) return vt_last_status();
      return vt_set_error(VT_ERR_OOM, "out of memory allocating %zu bytes on %s:%d", nbytes,
                          b->name, dev.index);
    }
  }
  atomic_init(&s->refcount, 1);
  s->dev = dev;
  s->nbytes = nbytes;
  atomic_fetch_add(&vt_live[dev.type], (long long)nbytes);
  atomic_fetch_add(&vt_total[dev.type], (long long)nbytes);
  *out = s;
  return VT_OK;
}

vt_status vt_storage_wrap(vt_device dev, void* data, size_t nbytes, void (*deleter)(void*),
                          void* ctx, vt_storage** out) {
  VT_CHECK_ARG(out != NULL, "storage_wrap: NULL output");
  VT_CHECK_ARG(data != NULL || nbytes == 0, "storage_wrap: NULL data with %zu bytes", nbytes);
  vt_backend* b;
  VT_TRY(vt_backend_for("storage_wrap", dev, &b));
  vt_storage* s = calloc(1, sizeof *s);
  if (!s) return vt_set_error(VT_ERR_OOM, "storage_wrap: out of host memory");
  atomic_init(&s->refcount, 1);
  s->dev = dev;
  s->ptr = data;
  s->nbytes = nbytes;
  s->deleter = deleter;
  s->ctx = ctx;
  s->foreign = 1;
  *out = s;
  return VT_OK;
}

void vt_storage_retain(vt_storage* s) {
  if (s) atomic_fetch_add_explicit(&s->refcount, 1, memory_order_relaxed);
}

void vt_storage_release(vt_storage* s) {
  if (!s) return;
  if (atomic_fetch_sub_explicit(&s->refcount, 1, memory_order_acq_rel) != 1) return;
  if (s->pooled) {
    atomic_fetch_sub_explicit(&vt_live[s->dev.type], (long long)s->nbytes, memory_order_relaxed);
    vt_pool_give(VT_POOL_SMALL, s);
    return;
  }
  if (s->foreign) {
    if (s->deleter) s->deleter(s->ctx);
  } else {
    vt_backend* b = vt_backend_get((vt_device_type)s->dev.type);
    VT_ASSERT(b != NULL);
    if (s->ptr) b->free(s->dev.index, s->ptr, s->nbytes);
    atomic_fetch_sub(&vt_live[s->dev.type], (long long)s->nbytes);
  }
  free(s);
}

void* vt_storage_data(const vt_storage* s) { return s ? s->ptr : NULL; }
size_t vt_storage_nbytes(const vt_storage* s) { return s ? s->nbytes : 0; }
vt_device vt_storage_device(const vt_storage* s) {
  return s ? s->dev : (vt_device){VT_DEVICE_CPU, 0};
}
int32_t vt_storage_refcount(const vt_storage* s) { return s ? atomic_load(&s->refcount) : 0; }

int64_t vt_storage_live_bytes(vt_device_type t) {
  return (t >= 0 && t < VT_DEVICE_TYPE_COUNT) ? atomic_load(&vt_live[t]) : 0;
}
int64_t vt_storage_total_allocated(vt_device_type t) {
  return (t >= 0 && t < VT_DEVICE_TYPE_COUNT) ? atomic_load(&vt_total[t]) : 0;
}

/* The version counter autograd compares saved tensors against (autograd/ag.h). */
uint32_t vt_storage_version(const vt_storage* s) { return s ? __atomic_load_n(&s->version, __ATOMIC_RELAXED) : 0; }
void vt_storage_bump_version(vt_storage* s) {
  if (s) __atomic_fetch_add(&s->version, 1, __ATOMIC_RELAXED);
}

_Static_assert(sizeof(vt_storage) <= VT_POOL_SMALL_HEAD, "vt_storage must fit a pool block's head");
