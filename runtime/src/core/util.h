/* util.h — internal helpers shared by the whole runtime: error recording, invariant checks,
 * dimension wrapping and small tensor utilities. Not part of the public API.
 */
#pragma once
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "volt/status.h"
#include "volt/tensor.h"

#define VT_MAX_DIMS 8

/* Records a formatted error for this thread and returns status. */
vt_status vt_set_error(vt_status status, const char* fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Propagates a non-OK status. */
#define VT_TRY(expr)                       \
  do {                                     \
    vt_status vt__s = (expr);              \
    if (vt__s != VT_OK) return vt__s;      \
  } while (0)

/* Invariant: a bug in Volt if it fails; reports file:line and aborts. Never on user input. */
#define VT_ASSERT(cond)                                                                     \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      fprintf(stderr, "volt: internal error: %s at %s:%d (please report)\n", #cond,        \
              __FILE__, __LINE__);                                                          \
      abort();                                                                              \
    }                                                                                       \
  } while (0)

/* Argument checks that return VT_ERR_ARG with a message naming the op. */
#define VT_CHECK_ARG(cond, ...)                                \
  do {                                                         \
    if (!(cond)) return vt_set_error(VT_ERR_ARG, __VA_ARGS__); \
  } while (0)

/* Wraps a possibly-negative dim into [0, ndim); error names op. ndim 0 accepts -1 and 0. */
vt_status vt_wrap_dim(const char* op, int dim, int ndim, int* out);
/* Checks t is a valid tensor pointer with a known dtype. */
vt_status vt_check_tensor(const char* op, const char* what, const vt_tensor* t);
/* Shape as "[2, 3]" in a thread-local rotating buffer (4 slots) for messages. */
const char* vt_shape_s(const vt_tensor* t);
const char* vt_shape_s2(int ndim, const int64_t* shape);
/* NumPy broadcast of two shapes. [out] ndim, shape. */
vt_status vt_broadcast_shapes(const char* op, int na, const int64_t* sa, int nb, const int64_t* sb,
                              int* nout, int64_t* sout);
/* A view of t with shape (ndim, shape) that broadcasts (stride 0) — no checks beyond asserts. */
void vt_tensor_expand_view(const vt_tensor* t, int ndim, const int64_t* shape, vt_tensor* view);
/* Makes a non-owning stack copy of t's header (no refcount change) for kernels. */
static inline void vt_tensor_header_copy(vt_tensor* dst, const vt_tensor* src) { *dst = *src; }
/* Recomputes numel, the contiguous flag and the data pointer. */
void vt_tensor_update(vt_tensor* t);
/* True if a and b are on the same device. */
static inline int vt_same_device(vt_device a, vt_device b) {
  return a.type == b.type && a.index == b.index;
}
/* Output handling for ops: if out is NULL allocate (ndim, shape, dt, dev) into *res; else check
   out's shape/device (dtype must be dt unless allow_cast) and retain it into *res (res may be NULL
   then). op names the op in messages. */
vt_status vt_prepare_out(const char* op, vt_tensor* out, int ndim, const int64_t* shape,
                         vt_dtype dt, vt_device dev, vt_tensor** res, vt_tensor** target);
/* Releases *res after an error. */
void vt_out_abandon(vt_tensor* out, vt_tensor** res, vt_tensor* target);
