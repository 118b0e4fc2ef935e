/* util.c — internal helpers: dim wrapping, broadcasting, shape strings, output preparation. */
#include <string.h>
#include "autograd/ag.h"
#include "core/util.h"

vt_status vt_wrap_dim(const char* op, int dim, int ndim, int* out) {
  int n = ndim == 0 ? 1 : ndim;
  if (dim < -n || dim >= n)
    return vt_set_error(VT_ERR_ARG, "%s: dim %d out of range for a %d-d tensor (valid %d..%d)", op,
                        dim, ndim, -n, n - 1);
  *out = dim < 0 ? dim + n : dim;
  return VT_OK;
}

vt_status vt_check_tensor(const char* op, const char* what, const vt_tensor* t) {
  if (!t) return vt_set_error(VT_ERR_ARG, "%s: %s is nil (expected a tensor)", op, what);
  if (!vt_dtype_is_valid(t->dt) || t->ndim < 0 || t->ndim > VT_MAX_DIMS || t->refcount <= 0)
    return vt_set_error(VT_ERR_ARG, "%s: %s is not a valid tensor", op, what);
  if (t->flags & VT_TENSOR_FREED)
    return vt_set_error(VT_ERR_ARG, "%s: %s was freed (t:free()) and cannot be used", op, what);
  return VT_OK;
}

static _Thread_local char vt_shape_bufs[4][160];
static _Thread_local int vt_shape_slot;

const char* vt_shape_s2(int ndim, const int64_t* shape) {
  char* b = vt_shape_bufs[vt_shape_slot++ & 3];
  return vt_shape_str(ndim, shape, b, sizeof vt_shape_bufs[0]);
}
const char* vt_shape_s(const vt_tensor* t) { return vt_shape_s2(t->ndim, t->sizes); }

const char* vt_shape_str(int ndim, const int64_t* shape, char* buf, size_t n) {
  if (!buf || n == 0) return buf;
  size_t k = 0;
  k += (size_t)snprintf(buf + k, n - k, "[");
  for (int i = 0; i < ndim && i < VT_MAX_DIMS && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, i ? ", %lld" : "%lld", (long long)shape[i]);
  if (k < n) snprintf(buf + k, n - k, "]");
  return buf;
}

vt_status vt_broadcast_shapes(const char* op, int na, const int64_t* sa, int nb, const int64_t* sb,
                              int* nout, int64_t* sout) {
  int n = na > nb ? na : nb;
  for (int i = 0; i < n; i++) {
    int ia = na - n + i, ib = nb - n + i;
    int64_t a = ia >= 0 ? sa[ia] : 1, b = ib >= 0 ? sb[ib] : 1;
    if (a != b && a != 1 && b != 1)
      return vt_set_error(VT_ERR_SHAPE, "%s: shapes %s and %s cannot be broadcast (dim %d from the end: %lld vs %lld)",
                          op, vt_shape_s2(na, sa), vt_shape_s2(nb, sb), n - i, (long long)a, (long long)b);
    sout[i] = a == 1 ? b : a;
  }
  *nout = n;
  return VT_OK;
}

void vt_tensor_update(vt_tensor* t) {
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++) n *= t->sizes[i];
  t->nelem = n;
  int contig = 1;
  int64_t expect = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    if (t->sizes[i] != 1 && t->strides[i] != expect) contig = 0;
    expect *= t->sizes[i];
  }
  t->flags = contig ? (t->flags | VT_TENSOR_CONTIGUOUS) : (t->flags & ~VT_TENSOR_CONTIGUOUS);
  /* headers without storage (stack views over foreign memory) keep the pointer they were given */
  if (t->storage) {
    char* base = vt_storage_data(t->storage); /* NULL for a 0-byte storage */
    t->ptr = (base && n > 0) ? base + t->offset * (int64_t)vt_dtype_size(t->dt) : base;
  }
}

void vt_tensor_expand_view(const vt_tensor* t, int ndim, const int64_t* shape, vt_tensor* v) {
  VT_ASSERT(ndim >= t->ndim && ndim <= VT_MAX_DIMS);
  *v = *t;
  v->ndim = ndim;
  int off = ndim - t->ndim;
  for (int i = 0; i < ndim; i++) {
    int j = i - off;
    if (j < 0) {
      v->sizes[i] = shape[i];
      v->strides[i] = 0;
    } else {
      VT_ASSERT(t->sizes[j] == shape[i] || t->sizes[j] == 1);
      v->sizes[i] = shape[i];
      v->strides[i] = t->sizes[j] == shape[i] ? t->strides[j] : 0;
    }
  }
  vt_tensor_update(v);
}

vt_status vt_prepare_out(const char* op, vt_tensor* out, int ndim, const int64_t* shape, vt_dtype dt,
                         vt_device dev, vt_tensor** res, vt_tensor** target) {
  if (!out) {
    VT_CHECK_ARG(res != NULL, "%s: NULL result pointer", op);
    *res = NULL;
    VT_TRY(vt_tensor_empty(ndim, shape, dt, dev, res));
    *target = *res;
    return VT_OK;
  }
  VT_TRY(vt_check_tensor(op, "out", out));
  VT_TRY(vt_ag_on_write(op, out));
  if (out->ndim != ndim || memcmp(out->sizes, shape, sizeof(int64_t) * (size_t)ndim) != 0)
    return vt_set_error(VT_ERR_SHAPE, "%s: output has shape %s but the result has shape %s", op,
                        vt_shape_s(out), vt_shape_s2(ndim, shape));
  if (out->dt != (int32_t)dt)
    return vt_set_error(VT_ERR_DTYPE, "%s: output has dtype %s but the result is %s", op,
                        vt_dtype_name(out->dt), vt_dtype_name(dt));
  if (!vt_same_device(out->dev, dev))
    return vt_set_error(VT_ERR_DEVICE, "%s: output is on %s:%d but the inputs are on %s:%d", op,
                        vt_device_type_name(out->dev.type), out->dev.index,
                        vt_device_type_name(dev.type), dev.index);
  for (int i = 0; i < ndim; i++)
    if (out->strides[i] == 0 && out->sizes[i] > 1)
      return vt_set_error(VT_ERR_ARG, "%s: cannot write into a broadcast (expanded) tensor", op);
  if (res) {
    vt_tensor_retain(out);
    *res = out;
  }
  *target = out;
  return VT_OK;
}

void vt_out_abandon(vt_tensor* out, vt_tensor** res, vt_tensor* target) {
  if (res && *res) {
    vt_tensor_release(*res);
    *res = NULL;
  }
}
