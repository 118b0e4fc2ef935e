/* tensor.h — n-dimensional strided views of a storage, and the view operations.
 *
 * A tensor is (storage, dtype, ndim <= 8, sizes, strides, offset). Strides and the offset count
 * elements, not bytes; a stride may be 0 (broadcast) but never negative. A 0-d tensor has ndim 0
 * and one element; a tensor with a 0 in its shape is empty and needs no storage bytes.
 *
 * Ownership: tensors are refcounted. Every function that gives a tensor back ([out] vt_tensor**)
 * gives a new reference the caller owns and releases with vt_tensor_release. A view retains the
 * storage of its base, so views stay valid after the base is released. The struct is public so
 * that Lua reads shape and strides without a call; only the runtime writes it.
 *
 * Dimensions and indices in this C API are 0-based; a negative dim counts from the end (-1 is the
 * last). The Lua library converts from its 1-based convention.
 *
 *   int64_t shape[2] = {2, 3};
 *   vt_tensor *a, *at;
 *   vt_tensor_empty(2, shape, VT_DTYPE_F32, (vt_device){VT_DEVICE_CPU, 0}, &a);   // (2, 3)
 *   vt_tensor_transpose(a, 0, 1, &at);                                           // (3, 2) view
 *   vt_tensor_release(at); vt_tensor_release(a);
 */
#pragma once
#include <stdint.h>
#include "volt/status.h"
#include "volt/dtype.h"
#include "volt/device.h"
#include "volt/storage.h"

typedef struct vt_autograd_meta vt_autograd_meta;

/* Field names differ from the Lua-side names on purpose: LuaJIT resolves struct fields before a
   metatype's __index, so a field called `shape` would hide the Lua property t.shape (a table)
   and a field called `numel` would hide the method t:numel(). */
typedef struct vt_tensor {
  int32_t refcount;        /* owned by the runtime: use retain/release                       */
  int32_t ndim;            /* 0..8                                                           */
  int32_t dt;              /* vt_dtype                                                       */
  int32_t flags;           /* VT_TENSOR_* bits below                                         */
  int64_t nelem;           /* product of sizes (1 for 0-d)                                   */
  int64_t offset;          /* first element, in elements from the start of storage           */
  int64_t sizes[8];        /* (ndim) sizes                                                   */
  int64_t strides[8];      /* (ndim) strides in elements, >= 0                               */
  vt_storage* storage;     /* holds one reference; NULL only for tensors with no elements    */
  void* ptr;               /* storage data + offset * itemsize, cached (NULL if empty)       */
  vt_device dev;           /* copy of the storage's device                                   */
  vt_autograd_meta* ag;    /* autograd state (grad, grad_fn, requires_grad); NULL if none    */
} vt_tensor;

/* flags */
enum {
  VT_TENSOR_CONTIGUOUS = 1, /* row-major contiguous: kept up to date by the runtime */
  VT_TENSOR_FREED = 2       /* storage released by vt_tensor_free_storage; any use is an error */
};
/* A dim argument meaning "every dim" (squeeze). */
enum { VT_ALL_DIMS = -1000 };

/* ---- construction ------------------------------------------------------------------------ */
/* Uninitialised tensor. shape: (ndim) sizes >= 0, ndim <= 8. [out] t */
vt_status vt_tensor_empty(int ndim, const int64_t* shape, vt_dtype dt, vt_device dev, vt_tensor** t);
vt_status vt_tensor_zeros(int ndim, const int64_t* shape, vt_dtype dt, vt_device dev, vt_tensor** t);
vt_status vt_tensor_full(int ndim, const int64_t* shape, vt_dtype dt, vt_device dev, double value,
                         vt_tensor** t);
/* A tensor over existing storage (retained). stride NULL means contiguous. [out] t */
vt_status vt_tensor_from_storage(vt_storage* s, vt_dtype dt, int ndim, const int64_t* shape,
                                 const int64_t* stride, int64_t offset, vt_tensor** t);
/* Copies n = prod(shape) contiguous elements of dtype src_dt from host memory into a new CPU
   tensor of dtype dt (converting). [out] t */
vt_status vt_tensor_from_buffer(const void* src, vt_dtype src_dt, int ndim, const int64_t* shape,
                                vt_dtype dt, vt_tensor** t);
/* Evenly spaced values: start, start+step, ... < end (> end for negative step). [out] t (n) */
vt_status vt_tensor_arange(double start, double end, double step, vt_dtype dt, vt_device dev,
                           vt_tensor** t);
vt_status vt_tensor_linspace(double start, double end, int64_t n, vt_dtype dt, vt_device dev,
                             vt_tensor** t);

void vt_tensor_retain(vt_tensor* t);
void vt_tensor_release(vt_tensor* t);
/* Releases n (0..64) tensors given as their addresses converted to double, in the variadic
   arguments. Lua's garbage-collector batch release (lua/volt/capi.lua): one call from the
   collector's finaliser costs less than one per tensor. Addresses must be exact (< 2^53). */
void vt_tensor_release_addrs(int n, ...);
/* Drops t's reference to its storage now (memory is freed unless views still hold it) and marks
   t freed: every later use fails with an error instead of touching memory. The header itself
   lives until its last reference is released. (Lua's t:free().) */
void vt_tensor_free_storage(vt_tensor* t);

/* ---- inspection -------------------------------------------------------------------------- */
int vt_tensor_is_contiguous(const vt_tensor* t);
/* Reads element at a linear row-major index as double (CPU only; for printing, item(), tests).
   A NaN comes back as the plain quiet NaN with its sign (payload bits dropped, so Lua never sees
   a NaN pattern LuaJIT reserves for its own tagged values). */
vt_status vt_tensor_get_f64(const vt_tensor* t, int64_t linear_index, double* value);
vt_status vt_tensor_set_f64(vt_tensor* t, int64_t linear_index, double value);
/* Reads/writes an i64 exactly (for i64 tensors beyond 2^53). */
vt_status vt_tensor_get_i64(const vt_tensor* t, int64_t linear_index, int64_t* value);
/* Copies all elements in row-major order into dst as dst_dt (host memory, CPU tensors). NaNs in a
   float destination are written as plain quiet NaNs (see vt_tensor_get_f64). */
vt_status vt_tensor_to_buffer(const vt_tensor* t, void* dst, vt_dtype dst_dt);
/* "[2, 3]" into buf; returns buf. */
const char* vt_shape_str(int ndim, const int64_t* shape, char* buf, size_t n);

/* ---- views (no copy; [out] a new tensor sharing storage) --------------------------------- */
/* shape may contain one -1; fails if the strides cannot express it (use reshape). */
vt_status vt_tensor_view(const vt_tensor* t, int ndim, const int64_t* shape, vt_tensor** out);
/* A view when possible, else a contiguous copy. */
vt_status vt_tensor_reshape(const vt_tensor* t, int ndim, const int64_t* shape, vt_tensor** out);
vt_status vt_tensor_transpose(const vt_tensor* t, int d0, int d1, vt_tensor** out);
/* perm: (ndim) a permutation of 0..ndim-1 */
vt_status vt_tensor_permute(const vt_tensor* t, const int* perm, vt_tensor** out);
/* Elements [start, start+length) of dim. */
vt_status vt_tensor_narrow(const vt_tensor* t, int dim, int64_t start, int64_t length, vt_tensor** out);
/* Removes dim, taking index i (negative counts from the end). */
vt_status vt_tensor_select(const vt_tensor* t, int dim, int64_t index, vt_tensor** out);
/* Python-style slice of dim: start (inclusive), stop (exclusive), step > 0; both clamped to the
   size; negative start/stop count from the end. */
vt_status vt_tensor_slice(const vt_tensor* t, int dim, int64_t start, int64_t stop, int64_t step,
                          vt_tensor** out);
/* Broadcasts to shape (NumPy rules; -1 keeps a size); new leading dims allowed. */
vt_status vt_tensor_expand(const vt_tensor* t, int ndim, const int64_t* shape, vt_tensor** out);
/* Removes dim if its size is 1 (else a no-op view); VT_ALL_DIMS removes every size-1 dim. */
vt_status vt_tensor_squeeze(const vt_tensor* t, int dim, vt_tensor** out);
vt_status vt_tensor_unsqueeze(const vt_tensor* t, int dim, vt_tensor** out);
/* Same storage, new shape/strides/offset (checked against the storage size). */
vt_status vt_tensor_as_strided(const vt_tensor* t, int ndim, const int64_t* shape,
                               const int64_t* stride, int64_t offset, vt_tensor** out);
/* Collapses dims start..end (inclusive) into one, copying if needed. */
vt_status vt_tensor_flatten(const vt_tensor* t, int start, int end, vt_tensor** out);

/* ---- copies ------------------------------------------------------------------------------ */
/* t itself (retained) if already contiguous, else a contiguous copy. */
vt_status vt_tensor_contiguous(const vt_tensor* t, vt_tensor** out);
/* A new contiguous tensor with the same values. */
vt_status vt_tensor_clone(const vt_tensor* t, vt_tensor** out);
/* dst <- src: src broadcast to dst's shape, converted to dst's dtype, across devices. */
vt_status vt_tensor_copy_(vt_tensor* dst, const vt_tensor* src);
/* A copy with dtype dt (t retained if already dt). */
vt_status vt_tensor_cast(const vt_tensor* t, vt_dtype dt, vt_tensor** out);
/* A copy on device dev (t retained if already there). */
vt_status vt_tensor_to_device(const vt_tensor* t, vt_device dev, vt_tensor** out);
