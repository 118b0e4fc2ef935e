/* tensor.c — tensor headers: construction, refcounting, views and copies.
 *
 * Owns: the vt_tensor struct's invariants (numel, contiguous flag, cached data pointer), the
 * view algebra (no data moves here), and copies, which go through the COPY op of the tensors'
 * backend (so a CUDA backend gets them without changes here).
 */
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include "backend/backend.h"
#include "autograd/ag.h"
#include "core/pool.h"
#include "core/util.h"
#include "volt/elementwise.h"
#include "volt/tensor.h"

/* Set by the autograd module when it is linked in; frees a tensor's autograd state. */
void (*vt_autograd_meta_free_fn)(vt_autograd_meta*) = NULL;

static const vt_device vt_cpu0 = {VT_DEVICE_CPU, 0};

/* ---------------------------------------------------------------------------------------- */
/* construction                                                                             */
/* ---------------------------------------------------------------------------------------- */
static vt_tensor* vt_header_new(void) {
  vt_tensor* t = vt_pool_take(VT_POOL_HEADER); /* zeroed */
  if (t) t->refcount = 1;
  return t;
}

static void vt_contiguous_strides(int ndim, const int64_t* shape, int64_t* stride) {
  int64_t s = 1;
  for (int i = ndim - 1; i >= 0; i--) {
    stride[i] = s;
    s *= shape[i] > 0 ? shape[i] : 1;
  }
}

static vt_status vt_check_shape(const char* op, int ndim, const int64_t* shape, int64_t* numel) {
  if (ndim < 0 || ndim > VT_MAX_DIMS)
    return vt_set_error(VT_ERR_SHAPE, "%s: %d dims requested; tensors have at most 8", op, ndim);
  if (ndim > 0 && !shape) return vt_set_error(VT_ERR_ARG, "%s: NULL shape", op);
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0)
      return vt_set_error(VT_ERR_SHAPE, "%s: negative size %lld in shape %s", op,
                          (long long)shape[i], vt_shape_s2(ndim, shape));
    if (shape[i] > 0 && n > INT64_MAX / 16 / shape[i])
      return vt_set_error(VT_ERR_SHAPE, "%s: shape %s is too large", op, vt_shape_s2(ndim, shape));
    n *= shape[i];
  }
  *numel = n;
  return VT_OK;
}

vt_status vt_tensor_empty(int ndim, const int64_t* shape, vt_dtype dt, vt_device dev, vt_tensor** out) {
  VT_CHECK_ARG(out != NULL, "empty: NULL output");
  *out = NULL;
  int64_t n = 0;
  VT_TRY(vt_check_shape("empty", ndim, shape, &n));
  if (!vt_dtype_is_valid(dt)) return vt_set_error(VT_ERR_DTYPE, "empty: invalid dtype %d", (int)dt);
  vt_tensor* t = vt_header_new();
  if (!t) return vt_set_error(VT_ERR_OOM, "empty: out of host memory");
  vt_status s = vt_storage_new(dev, (size_t)n * vt_dtype_size(dt), &t->storage);
  if (s != VT_OK) {
    vt_pool_give(VT_POOL_HEADER, t);
    return s;
  }
  t->ndim = ndim;
  t->dt = dt;
  t->dev = dev;
  for (int i = 0; i < ndim; i++) t->sizes[i] = shape[i];
  vt_contiguous_strides(ndim, shape, t->strides);
  vt_tensor_update(t);
  *out = t;
  return VT_OK;
}

vt_status vt_tensor_full(int ndim, const int64_t* shape, vt_dtype dt, vt_device dev, double v,
                         vt_tensor** out) {
  VT_TRY(vt_tensor_empty(ndim, shape, dt, dev, out));
  vt_status s = vt_fill_(*out, v);
  if (s != VT_OK) {
    vt_tensor_release(*out);
    *out = NULL;
  }
  return s;
}

vt_status vt_tensor_zeros(int ndim, const int64_t* shape, vt_dtype dt, vt_device dev, vt_tensor** out) {
  return vt_tensor_full(ndim, shape, dt, dev, 0.0, out);
}

/* Largest element offset reachable by (shape, stride, offset); -1 for an empty shape. */
static int64_t vt_max_extent(int ndim, const int64_t* shape, const int64_t* stride, int64_t offset) {
  int64_t m = offset;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] == 0) return -1;
    m += (shape[i] - 1) * stride[i];
  }
  return m;
}

vt_status vt_tensor_from_storage(vt_storage* s, vt_dtype dt, int ndim, const int64_t* shape,
                                 const int64_t* stride, int64_t offset, vt_tensor** out) {
  VT_CHECK_ARG(out != NULL, "from_storage: NULL output");
  *out = NULL;
  VT_CHECK_ARG(s != NULL, "from_storage: NULL storage");
  int64_t n;
  VT_TRY(vt_check_shape("from_storage", ndim, shape, &n));
  if (!vt_dtype_is_valid(dt)) return vt_set_error(VT_ERR_DTYPE, "from_storage: invalid dtype %d", (int)dt);
  int64_t st[VT_MAX_DIMS];
  if (stride) {
    for (int i = 0; i < ndim; i++) {
      if (stride[i] < 0)
        return vt_set_error(VT_ERR_ARG, "from_storage: negative stride %lld", (long long)stride[i]);
      st[i] = stride[i];
    }
  } else {
    vt_contiguous_strides(ndim, shape, st);
  }
  VT_CHECK_ARG(offset >= 0, "from_storage: negative offset %lld", (long long)offset);
  int64_t cap = (int64_t)(vt_storage_nbytes(s) / vt_dtype_size(dt));
  int64_t ext = vt_max_extent(ndim, shape, st, offset);
  if (ext >= cap)
    return vt_set_error(VT_ERR_SHAPE,
                        "from_storage: shape %s with offset %lld needs %lld elements but the storage "
                        "holds %lld",
                        vt_shape_s2(ndim, shape), (long long)offset, (long long)(ext + 1), (long long)cap);
  vt_tensor* t = vt_header_new();
  if (!t) return vt_set_error(VT_ERR_OOM, "from_storage: out of host memory");
  vt_storage_retain(s);
  t->storage = s;
  t->ndim = ndim;
  t->dt = dt;
  t->offset = offset;
  t->dev = vt_storage_device(s);
  for (int i = 0; i < ndim; i++) {
    t->sizes[i] = shape[i];
    t->strides[i] = st[i];
  }
  vt_tensor_update(t);
  *out = t;
  return VT_OK;
}

/* A non-owning tensor header over host memory (contiguous), for kernels to read or write. */
static void vt_host_view(vt_tensor* v, void* data, vt_dtype dt, int ndim, const int64_t* shape) {
  memset(v, 0, sizeof *v);
  v->refcount = 1;
  v->ndim = ndim;
  v->dt = dt;
  v->dev = vt_cpu0;
  for (int i = 0; i < ndim; i++) v->sizes[i] = shape[i];
  vt_contiguous_strides(ndim, shape, v->strides);
  vt_tensor_update(v);
  v->ptr = data;
}

vt_status vt_tensor_from_buffer(const void* src, vt_dtype sdt, int ndim, const int64_t* shape,
                                vt_dtype dt, vt_tensor** out) {
  VT_CHECK_ARG(out != NULL, "from_buffer: NULL output");
  *out = NULL;
  if (!vt_dtype_is_valid(sdt)) return vt_set_error(VT_ERR_DTYPE, "from_buffer: invalid source dtype");
  VT_TRY(vt_tensor_empty(ndim, shape, dt, vt_cpu0, out));
  if ((*out)->nelem > 0) {
    VT_CHECK_ARG(src != NULL, "from_buffer: NULL source");
    vt_dtype_convert((*out)->ptr, dt, src, sdt, (*out)->nelem);
  }
  return VT_OK;
}

static vt_status vt_to_dev_replace(vt_tensor** t, vt_device dev) {
  if (vt_same_device((*t)->dev, dev)) return VT_OK;
  vt_tensor* d;
  vt_status s = vt_tensor_to_device(*t, dev, &d);
  vt_tensor_release(*t);
  *t = s == VT_OK ? d : NULL;
  return s;
}

vt_status vt_tensor_arange(double start, double end, double step, vt_dtype dt, vt_device dev,
                           vt_tensor** out) {
  VT_CHECK_ARG(out != NULL, "arange: NULL output");
  *out = NULL;
  VT_CHECK_ARG(step != 0 && isfinite(step) && isfinite(start) && isfinite(end),
               "arange: step must be non-zero and bounds finite (got %g, %g, %g)", start, end, step);
  double nd = ceil((end - start) / step);
  if (nd < 0) nd = 0;
  VT_CHECK_ARG(nd < 0x1p40, "arange: %g elements is too many", nd);
  int64_t n = (int64_t)nd;
  VT_TRY(vt_tensor_empty(1, &n, VT_DTYPE_F64, vt_cpu0, out));
  double* p = (*out)->ptr;
  for (int64_t i = 0; i < n; i++) p[i] = start + (double)i * step;
  vt_tensor* c;
  vt_status s = vt_tensor_cast(*out, dt, &c);
  vt_tensor_release(*out);
  *out = s == VT_OK ? c : NULL;
  VT_TRY(s);
  return vt_to_dev_replace(out, dev);
}

vt_status vt_tensor_linspace(double start, double end, int64_t n, vt_dtype dt, vt_device dev,
                             vt_tensor** out) {
  VT_CHECK_ARG(out != NULL, "linspace: NULL output");
  *out = NULL;
  VT_CHECK_ARG(n >= 0, "linspace: negative count %lld", (long long)n);
  VT_TRY(vt_tensor_empty(1, &n, VT_DTYPE_F64, vt_cpu0, out));
  double* p = (*out)->ptr;
  double step = n > 1 ? (end - start) / (double)(n - 1) : 0;
  /* symmetric, as PyTorch: the second half counts back from end so end is exact */
  for (int64_t i = 0; i < n; i++) p[i] = i < n / 2 ? start + step * (double)i : end - step * (double)(n - 1 - i);
  if (n == 1) p[0] = start; /* one point is start, as PyTorch */
  vt_tensor* c;
  vt_status s = vt_tensor_cast(*out, dt, &c);
  vt_tensor_release(*out);
  *out = s == VT_OK ? c : NULL;
  VT_TRY(s);
  return vt_to_dev_replace(out, dev);
}

void vt_tensor_retain(vt_tensor* t) {
  if (t) __atomic_fetch_add(&t->refcount, 1, __ATOMIC_RELAXED);
}

void vt_tensor_release(vt_tensor* t) {
  if (!t) return;
  if (__atomic_fetch_sub(&t->refcount, 1, __ATOMIC_ACQ_REL) != 1) return;
  if (t->ag && vt_autograd_meta_free_fn) vt_autograd_meta_free_fn(t->ag);
  vt_storage_release(t->storage);
  t->refcount = -1; /* poison: a use after free is caught by vt_check_tensor more often */
  vt_pool_give(VT_POOL_HEADER, t);
}

void vt_tensor_release_addrs(int n, ...) {
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n && i < 64; i++) {
    double a = va_arg(ap, double);
    vt_tensor_release((vt_tensor*)(uintptr_t)a);
  }
  va_end(ap);
}

/* ---------------------------------------------------------------------------------------- */
/* inspection                                                                               */
/* ---------------------------------------------------------------------------------------- */
void vt_tensor_free_storage(vt_tensor* t) {
  if (!t || (t->flags & VT_TENSOR_FREED)) return;
  vt_storage_release(t->storage);
  t->storage = NULL;
  t->ptr = NULL;
  t->nelem = 0;
  t->ndim = 1;
  t->sizes[0] = 0;
  t->flags = VT_TENSOR_FREED;
}

int vt_tensor_is_contiguous(const vt_tensor* t) { return t && (t->flags & VT_TENSOR_CONTIGUOUS); }

static vt_status vt_element_ptr(const char* op, const vt_tensor* t, int64_t li, char** p) {
  VT_TRY(vt_check_tensor(op, "tensor", t));
  if (t->dev.type != VT_DEVICE_CPU)
    return vt_set_error(VT_ERR_DEVICE, "%s: tensor is on %s; copy it to the CPU first", op,
                        vt_device_type_name(t->dev.type));
  if (li < 0 || li >= t->nelem)
    return vt_set_error(VT_ERR_ARG, "%s: index %lld out of range for %lld elements", op,
                        (long long)li, (long long)t->nelem);
  int64_t off = 0;
  for (int i = t->ndim - 1; i >= 0; i--) {
    off += (li % t->sizes[i]) * t->strides[i];
    li /= t->sizes[i];
  }
  *p = (char*)t->ptr + off * (int64_t)vt_dtype_size(t->dt);
  return VT_OK;
}

/* NaNs handed to Lua become the canonical quiet NaN (sign kept). LuaJIT stores values NaN-tagged:
 * a double whose top bits are 0xfff9..0xffff (a negative NaN with a payload, e.g. from a bf16
 * 0xff88 or a quieted signalling NaN) reads back as a corrupt value that can crash or hang the VM. */
static void vt_canonical_nans(void* p, vt_dtype dt, int64_t n) {
  if (dt == VT_DTYPE_F64) {
    double* d = p;
    for (int64_t i = 0; i < n; i++)
      if (isnan(d[i])) d[i] = signbit(d[i]) ? -(double)NAN : (double)NAN;
  } else if (dt == VT_DTYPE_F32) {
    float* f = p;
    for (int64_t i = 0; i < n; i++)
      if (isnan(f[i])) f[i] = signbit(f[i]) ? -NAN : NAN;
  }
}

vt_status vt_tensor_get_f64(const vt_tensor* t, int64_t li, double* v) {
  char* p;
  VT_TRY(vt_element_ptr("get", t, li, &p));
  vt_dtype_convert(v, VT_DTYPE_F64, p, t->dt, 1);
  vt_canonical_nans(v, VT_DTYPE_F64, 1);
  return VT_OK;
}

vt_status vt_tensor_get_i64(const vt_tensor* t, int64_t li, int64_t* v) {
  char* p;
  VT_TRY(vt_element_ptr("get", t, li, &p));
  vt_dtype_convert(v, VT_DTYPE_I64, p, t->dt, 1);
  return VT_OK;
}

vt_status vt_tensor_set_f64(vt_tensor* t, int64_t li, double v) {
  char* p;
  VT_TRY(vt_element_ptr("set", t, li, &p));
  VT_TRY(vt_ag_on_write("set", t));
  vt_dtype_convert(p, t->dt, &v, VT_DTYPE_F64, 1);
  return VT_OK;
}

vt_status vt_tensor_to_buffer(const vt_tensor* t, void* dst, vt_dtype ddt) {
  VT_TRY(vt_check_tensor("to_buffer", "tensor", t));
  VT_CHECK_ARG(vt_dtype_is_valid(ddt), "to_buffer: invalid dtype %d", (int)ddt);
  if (t->nelem == 0) return VT_OK;
  VT_CHECK_ARG(dst != NULL, "to_buffer: NULL destination");
  vt_tensor v;
  vt_host_view(&v, dst, ddt, t->ndim, t->sizes);
  VT_TRY(vt_tensor_copy_(&v, t));
  vt_canonical_nans(dst, ddt, t->nelem);
  return VT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* views                                                                                    */
/* ---------------------------------------------------------------------------------------- */
/* A new header sharing t's storage, with the given geometry. */
static vt_status vt_make_view(const vt_tensor* t, int ndim, const int64_t* shape, const int64_t* stride,
                              int64_t offset, vt_tensor** out) {
  vt_tensor* v = vt_header_new();
  if (!v) return vt_set_error(VT_ERR_OOM, "view: out of host memory");
  v->ndim = ndim;
  v->dt = t->dt;
  v->dev = t->dev;
  v->offset = offset;
  v->storage = t->storage;
  vt_storage_retain(v->storage);
  for (int i = 0; i < ndim; i++) {
    v->sizes[i] = shape[i];
    v->strides[i] = stride[i];
  }
  vt_tensor_update(v);
  *out = v;
  return VT_OK;
}

/* Resolves one -1 in shape against numel. [out] res */
static vt_status vt_infer_shape(const char* op, const vt_tensor* t, int ndim, const int64_t* shape,
                                int64_t* res) {
  if (ndim < 0 || ndim > VT_MAX_DIMS)
    return vt_set_error(VT_ERR_SHAPE, "%s: %d dims requested; tensors have at most 8", op, ndim);
  int infer = -1;
  int64_t prod = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] == -1) {
      if (infer >= 0) return vt_set_error(VT_ERR_SHAPE, "%s: only one dimension can be -1", op);
      infer = i;
    } else if (shape[i] < 0) {
      return vt_set_error(VT_ERR_SHAPE, "%s: invalid size %lld", op, (long long)shape[i]);
    } else {
      prod *= shape[i];
    }
    res[i] = shape[i];
  }
  if (infer >= 0) {
    if (prod == 0 || t->nelem % prod != 0)
      return vt_set_error(VT_ERR_SHAPE, "%s: shape %s is invalid for a tensor of %lld elements", op,
                          vt_shape_s2(ndim, shape), (long long)t->nelem);
    res[infer] = t->nelem / prod;
    prod *= res[infer];
  }
  if (prod != t->nelem)
    return vt_set_error(VT_ERR_SHAPE, "%s: shape %s is invalid for a tensor of %lld elements (shape %s)",
                        op, vt_shape_s2(ndim, shape), (long long)t->nelem, vt_shape_s(t));
  return VT_OK;
}

/* Strides for viewing t as shape without copying (PyTorch's algorithm); 0 if impossible. */
static int vt_view_strides(const vt_tensor* t, int ndim, const int64_t* shape, int64_t* stride) {
  if (t->nelem == 0 || vt_tensor_is_contiguous(t)) {
    vt_contiguous_strides(ndim, shape, stride);
    return 1;
  }
  int view_d = ndim - 1;
  int64_t chunk = t->ndim ? t->strides[t->ndim - 1] : 1;
  int64_t tn = 1, vn = 1;
  for (int td = t->ndim - 1; td >= 0; td--) {
    tn *= t->sizes[td];
    if (td == 0 || (t->sizes[td - 1] != 1 && t->strides[td - 1] != tn * chunk)) {
      while (view_d >= 0 && (vn < tn || shape[view_d] == 1)) {
        stride[view_d] = vn * chunk;
        vn *= shape[view_d];
        view_d--;
      }
      if (vn != tn) return 0;
      if (td > 0) {
        chunk = t->strides[td - 1];
        tn = 1;
        vn = 1;
      }
    }
  }
  while (view_d >= 0 && shape[view_d] == 1) stride[view_d--] = 1;
  return view_d == -1;
}

static vt_status vt_tensor_view_impl(const vt_tensor* t, int ndim, const int64_t* shape, vt_tensor** out) {
  VT_CHECK_ARG(out != NULL, "view: NULL output");
  *out = NULL;
  VT_TRY(vt_check_tensor("view", "tensor", t));
  int64_t sh[VT_MAX_DIMS], st[VT_MAX_DIMS];
  VT_TRY(vt_infer_shape("view", t, ndim, shape, sh));
  if (!vt_view_strides(t, ndim, sh, st))
    return vt_set_error(VT_ERR_SHAPE,
                        "view: a tensor of shape %s with these strides cannot be viewed as %s; "
                        "use reshape (copies) or call contiguous() first",
                        vt_shape_s(t), vt_shape_s2(ndim, sh));
  return vt_make_view(t, ndim, sh, st, t->offset, out);
}

static vt_status vt_tensor_reshape_impl(const vt_tensor* t, int ndim, const int64_t* shape, vt_tensor** out) {
  VT_CHECK_ARG(out != NULL, "reshape: NULL output");
  *out = NULL;
  VT_TRY(vt_check_tensor("reshape", "tensor", t));
  int64_t sh[VT_MAX_DIMS], st[VT_MAX_DIMS];
  VT_TRY(vt_infer_shape("reshape", t, ndim, shape, sh));
  if (vt_view_strides(t, ndim, sh, st)) return vt_make_view(t, ndim, sh, st, t->offset, out);
  vt_tensor* c;
  VT_TRY(vt_tensor_clone(t, &c));
  vt_status s = vt_tensor_view(c, ndim, sh, out);
  vt_tensor_release(c);
  return s;
}

static vt_status vt_tensor_transpose_impl(const vt_tensor* t, int d0, int d1, vt_tensor** out) {
  VT_CHECK_ARG(out != NULL, "transpose: NULL output");
  *out = NULL;
  VT_TRY(vt_check_tensor("transpose", "tensor", t));
  if (t->ndim == 0) return vt_make_view(t, 0, t->sizes, t->strides, t->offset, out);
  int a, b;
  VT_TRY(vt_wrap_dim("transpose", d0, t->ndim, &a));
  VT_TRY(vt_wrap_dim("transpose", d1, t->ndim, &b));
  int64_t sh[VT_MAX_DIMS], st[VT_MAX_DIMS];
  memcpy(sh, t->sizes, sizeof sh);
  memcpy(st, t->strides, sizeof st);
  sh[a] = t->sizes[b]; sh[b] = t->sizes[a];
  st[a] = t->strides[b]; st[b] = t->strides[a];
  return vt_make_view(t, t->ndim, sh, st, t->offset, out);
}

static vt_status vt_tensor_permute_impl(const vt_tensor* t, const int* perm, vt_tensor** out) {
  VT_CHECK_ARG(out != NULL, "permute: NULL output");
  *out = NULL;
  VT_TRY(vt_check_tensor("permute", "tensor", t));
  VT_CHECK_ARG(perm != NULL || t->ndim == 0, "permute: NULL permutation");
  int seen[VT_MAX_DIMS] = {0};
  int64_t sh[VT_MAX_DIMS], st[VT_MAX_DIMS];
  for (int i = 0; i < t->ndim; i++) {
    int d;
    VT_TRY(vt_wrap_dim("permute", perm[i], t->ndim, &d));
    if (seen[d]) return vt_set_error(VT_ERR_ARG, "permute: dim %d repeats in the permutation", perm[i]);
    seen[d] = 1;
    sh[i] = t->sizes[d];
    st[i] = t->strides[d];
  }
  return vt_make_view(t, t->ndim, sh, st, t->offset, out);
}

static vt_status vt_tensor_narrow_impl(const vt_tensor* t, int dim, int64_t start, int64_t length, vt_tensor** out) {
  VT_CHECK_ARG(out != NULL, "narrow: NULL output");
  *out = NULL;
  VT_TRY(vt_check_tensor("narrow", "tensor", t));
  VT_CHECK_ARG(t->ndim > 0, "narrow: cannot narrow a 0-d tensor");
  int d;
  VT_TRY(vt_wrap_dim("narrow", dim, t->ndim, &d));
  int64_t n = t->sizes[d];
  if (start < 0) start += n;
  if (start < 0 || length < 0 || start > n || start + length > n)
    return vt_set_error(VT_ERR_ARG, "narrow: range [%lld, %lld) out of bounds for dim %d of size %lld",
                        (long long)start, (long long)(start + length), dim, (long long)n);
  int64_t sh[VT_MAX_DIMS];
  memcpy(sh, t->sizes, sizeof sh);
  sh[d] = length;
  return vt_make_view(t, t->ndim, sh, t->strides, t->offset + (length ? start * t->strides[d] : 0), out);
}

static vt_status vt_tensor_select_impl(const vt_tensor* t, int dim, int64_t index, vt_tensor** out) {
  VT_CHECK_ARG(out != NULL, "select: NULL output");
  *out = NULL;
  VT_TRY(vt_check_tensor("select", "tensor", t));
  VT_CHECK_ARG(t->ndim > 0, "select: cannot index a 0-d tensor");
  int d;
  VT_TRY(vt_wrap_dim("select", dim, t->ndim, &d));
  int64_t n = t->sizes[d];
  if (index < -n || index >= n)
    return vt_set_error(VT_ERR_ARG, "select: index %lld out of range for dim %d of size %lld",
                        (long long)index, dim, (long long)n);
  if (index < 0) index += n;
  int64_t sh[VT_MAX_DIMS], st[VT_MAX_DIMS];
  int k = 0;
  for (int i = 0; i < t->ndim; i++)
    if (i != d) {
      sh[k] = t->sizes[i];
      st[k++] = t->strides[i];
    }
  return vt_make_view(t, t->ndim - 1, sh, st, t->offset + index * t->strides[d], out);
}

static vt_status vt_tensor_slice_impl(const vt_tensor* t, int dim, int64_t start, int64_t stop, int64_t step,
                          vt_tensor** out) {
  VT_CHECK_ARG(out != NULL, "slice: NULL output");
  *out = NULL;
  VT_TRY(vt_check_tensor("slice", "tensor", t));
  VT_CHECK_ARG(t->ndim > 0, "slice: cannot slice a 0-d tensor");
  VT_CHECK_ARG(step > 0, "slice: step must be positive (got %lld)", (long long)step);
  int d;
  VT_TRY(vt_wrap_dim("slice", dim, t->ndim, &d));
  int64_t n = t->sizes[d];
  if (start < 0) start += n;
  if (stop < 0) stop += n;
  if (start < 0) start = 0;
  if (start > n) start = n;
  if (stop > n) stop = n;
  if (stop < start) stop = start;
  int64_t len = (stop - start + step - 1) / step;
  int64_t sh[VT_MAX_DIMS], st[VT_MAX_DIMS];
  memcpy(sh, t->sizes, sizeof sh);
  memcpy(st, t->strides, sizeof st);
  sh[d] = len;
  st[d] = t->strides[d] * step;
  return vt_make_view(t, t->ndim, sh, st, t->offset + (len ? start * t->strides[d] : 0), out);
}

static vt_status vt_tensor_expand_impl(const vt_tensor* t, int ndim, const int64_t* shape, vt_tensor** out) {
  VT_CHECK_ARG(out != NULL, "expand: NULL output");
  *out = NULL;
  VT_TRY(vt_check_tensor("expand", "tensor", t));
  if (ndim < t->ndim || ndim > VT_MAX_DIMS)
    return vt_set_error(VT_ERR_SHAPE, "expand: cannot expand %s to %d dims", vt_shape_s(t), ndim);
  int64_t sh[VT_MAX_DIMS], st[VT_MAX_DIMS];
  int off = ndim - t->ndim;
  for (int i = 0; i < ndim; i++) {
    int j = i - off;
    int64_t want = shape[i];
    if (j < 0) {
      if (want < 0)
        return vt_set_error(VT_ERR_SHAPE, "expand: -1 is not allowed for a new leading dim (%s to %s)",
                            vt_shape_s(t), vt_shape_s2(ndim, shape));
      sh[i] = want;
      st[i] = 0;
    } else {
      if (want == -1) want = t->sizes[j];
      if (want != t->sizes[j] && t->sizes[j] != 1)
        return vt_set_error(VT_ERR_SHAPE, "expand: cannot expand %s to %s (dim %d from the end: %lld to %lld)",
                            vt_shape_s(t), vt_shape_s2(ndim, shape), ndim - i, (long long)t->sizes[j],
                            (long long)want);
      if (want < 0) return vt_set_error(VT_ERR_SHAPE, "expand: invalid size %lld", (long long)want);
      sh[i] = want;
      st[i] = want == t->sizes[j] ? t->strides[j] : 0;
    }
  }
  return vt_make_view(t, ndim, sh, st, t->offset, out);
}

static vt_status vt_tensor_squeeze_impl(const vt_tensor* t, int dim, vt_tensor** out) {
  VT_CHECK_ARG(out != NULL, "squeeze: NULL output");
  *out = NULL;
  VT_TRY(vt_check_tensor("squeeze", "tensor", t));
  int64_t sh[VT_MAX_DIMS], st[VT_MAX_DIMS];
  int k = 0, d = -1;
  if (dim != VT_ALL_DIMS && t->ndim > 0) VT_TRY(vt_wrap_dim("squeeze", dim, t->ndim, &d));
  for (int i = 0; i < t->ndim; i++) {
    int drop = t->sizes[i] == 1 && (dim == VT_ALL_DIMS || i == d);
    if (!drop) {
      sh[k] = t->sizes[i];
      st[k++] = t->strides[i];
    }
  }
  return vt_make_view(t, k, sh, st, t->offset, out);
}

static vt_status vt_tensor_unsqueeze_impl(const vt_tensor* t, int dim, vt_tensor** out) {
  VT_CHECK_ARG(out != NULL, "unsqueeze: NULL output");
  *out = NULL;
  VT_TRY(vt_check_tensor("unsqueeze", "tensor", t));
  if (t->ndim >= VT_MAX_DIMS)
    return vt_set_error(VT_ERR_SHAPE, "unsqueeze: tensor already has 8 dims");
  int d;
  VT_TRY(vt_wrap_dim("unsqueeze", dim, t->ndim + 1, &d));
  int64_t sh[VT_MAX_DIMS], st[VT_MAX_DIMS];
  for (int i = 0, k = 0; i <= t->ndim; i++) {
    if (i == d) {
      sh[i] = 1;
      st[i] = d < t->ndim ? t->strides[d] * t->sizes[d] : 1;
    } else {
      sh[i] = t->sizes[k];
      st[i] = t->strides[k++];
    }
  }
  return vt_make_view(t, t->ndim + 1, sh, st, t->offset, out);
}

static vt_status vt_tensor_as_strided_impl(const vt_tensor* t, int ndim, const int64_t* shape, const int64_t* stride,
                               int64_t offset, vt_tensor** out) {
  VT_CHECK_ARG(out != NULL, "as_strided: NULL output");
  *out = NULL;
  VT_TRY(vt_check_tensor("as_strided", "tensor", t));
  VT_CHECK_ARG(t->storage != NULL, "as_strided: tensor has no storage");
  return vt_tensor_from_storage(t->storage, t->dt, ndim, shape, stride, offset, out);
}

/* ---- autograd: each view records a node when its input requires grad (autograd/ag.h) ---- */
vt_status vt_tensor_view(const vt_tensor* t, int ndim, const int64_t* shape, vt_tensor** out) {
  VT_TRY(vt_tensor_view_impl(t, ndim, shape, out));
  if (!vt_ag_on1(t)) return VT_OK;
  return vt_ag_record_view(&(vt_ag_rec){.op = VT_AG_VIEW, .name = "view"}, t, out);
}
vt_status vt_tensor_reshape(const vt_tensor* t, int ndim, const int64_t* shape, vt_tensor** out) {
  VT_TRY(vt_tensor_reshape_impl(t, ndim, shape, out));
  if (!vt_ag_on1(t)) return VT_OK;
  return vt_ag_record_view(&(vt_ag_rec){.op = VT_AG_VIEW, .name = "reshape"}, t, out);
}
vt_status vt_tensor_transpose(const vt_tensor* t, int d0, int d1, vt_tensor** out) {
  VT_TRY(vt_tensor_transpose_impl(t, d0, d1, out));
  if (!vt_ag_on1(t)) return VT_OK;
  if (t->ndim == 0) return vt_ag_record_view(&(vt_ag_rec){.op = VT_AG_VIEW, .name = "transpose"}, t, out);
  return vt_ag_record_view(&(vt_ag_rec){.op = VT_AG_TRANSPOSE, .i = {d0, d1}}, t, out);
}
vt_status vt_tensor_permute(const vt_tensor* t, const int* perm, vt_tensor** out) {
  VT_TRY(vt_tensor_permute_impl(t, perm, out));
  if (!vt_ag_on1(t)) return VT_OK;
  vt_ag_rec r = {.op = VT_AG_PERMUTE};
  for (int i = 0; i < t->ndim; i++) r.i[i] = perm[i] < 0 ? perm[i] + t->ndim : perm[i];
  return vt_ag_record_view(&r, t, out);
}
vt_status vt_tensor_narrow(const vt_tensor* t, int dim, int64_t start, int64_t length, vt_tensor** out) {
  VT_TRY(vt_tensor_narrow_impl(t, dim, start, length, out));
  if (!vt_ag_on1(t)) return VT_OK;
  return vt_ag_record_view(&(vt_ag_rec){.op = VT_AG_NARROW, .i = {dim, start, length}}, t, out);
}
vt_status vt_tensor_select(const vt_tensor* t, int dim, int64_t index, vt_tensor** out) {
  VT_TRY(vt_tensor_select_impl(t, dim, index, out));
  if (!vt_ag_on1(t)) return VT_OK;
  return vt_ag_record_view(&(vt_ag_rec){.op = VT_AG_SELECT, .i = {dim, index}}, t, out);
}
vt_status vt_tensor_slice(const vt_tensor* t, int dim, int64_t start, int64_t stop, int64_t step,
                          vt_tensor** out) {
  VT_TRY(vt_tensor_slice_impl(t, dim, start, stop, step, out));
  if (!vt_ag_on1(t)) return VT_OK;
  return vt_ag_record_view(&(vt_ag_rec){.op = VT_AG_SLICE, .i = {dim, start, stop, step}}, t, out);
}
vt_status vt_tensor_expand(const vt_tensor* t, int ndim, const int64_t* shape, vt_tensor** out) {
  VT_TRY(vt_tensor_expand_impl(t, ndim, shape, out));
  if (!vt_ag_on1(t)) return VT_OK;
  return vt_ag_record_view(&(vt_ag_rec){.op = VT_AG_EXPAND}, t, out);
}
vt_status vt_tensor_squeeze(const vt_tensor* t, int dim, vt_tensor** out) {
  VT_TRY(vt_tensor_squeeze_impl(t, dim, out));
  if (!vt_ag_on1(t)) return VT_OK;
  return vt_ag_record_view(&(vt_ag_rec){.op = VT_AG_VIEW, .name = "squeeze"}, t, out);
}
vt_status vt_tensor_unsqueeze(const vt_tensor* t, int dim, vt_tensor** out) {
  VT_TRY(vt_tensor_unsqueeze_impl(t, dim, out));
  if (!vt_ag_on1(t)) return VT_OK;
  return vt_ag_record_view(&(vt_ag_rec){.op = VT_AG_VIEW, .name = "unsqueeze"}, t, out);
}
vt_status vt_tensor_as_strided(const vt_tensor* t, int ndim, const int64_t* shape, const int64_t* stride,
                               int64_t offset, vt_tensor** out) {
  VT_TRY(vt_tensor_as_strided_impl(t, ndim, shape, stride, offset, out));
  if (!vt_ag_on1(t)) return VT_OK;
  return vt_ag_record_view(&(vt_ag_rec){.op = VT_AG_AS_STRIDED}, t, out);
}

vt_status vt_tensor_flatten(const vt_tensor* t, int start, int end, vt_tensor** out) {
  VT_CHECK_ARG(out != NULL, "flatten: NULL output");
  *out = NULL;
  VT_TRY(vt_check_tensor("flatten", "tensor", t));
  if (t->ndim == 0) {
    int64_t one = 1;
    return vt_tensor_reshape(t, 1, &one, out);
  }
  int a, b;
  VT_TRY(vt_wrap_dim("flatten", start, t->ndim, &a));
  VT_TRY(vt_wrap_dim("flatten", end, t->ndim, &b));
  VT_CHECK_ARG(a <= b, "flatten: start dim %d is after end dim %d", start, end);
  int64_t sh[VT_MAX_DIMS];
  int k = 0;
  for (int i = 0; i < a; i++) sh[k++] = t->sizes[i];
  int64_t m = 1;
  for (int i = a; i <= b; i++) m *= t->sizes[i];
  sh[k++] = m;
  for (int i = b + 1; i < t->ndim; i++) sh[k++] = t->sizes[i];
  return vt_tensor_reshape(t, k, sh, out);
}

/* ---------------------------------------------------------------------------------------- */
/* copies                                                                                   */
/* ---------------------------------------------------------------------------------------- */
static int vt_storage_overlap(const vt_tensor* a, const vt_tensor* b) {
  return a->storage && a->storage == b->storage && a->nelem > 0 && b->nelem > 0;
}

static vt_status vt_tensor_copy_impl(vt_tensor* dst, const vt_tensor* src);

/* Writes are checked (in-place on tensors that require grad) and counted (the storage version);
   a copy from a tensor that requires grad records into dst (autograd/ag.h). */
vt_status vt_tensor_copy_(vt_tensor* dst, const vt_tensor* src) {
  VT_TRY(vt_check_tensor("copy", "destination", dst));
  VT_TRY(vt_ag_on_write("copy_", dst));
  vt_status s = vt_tensor_copy_impl(dst, src);
  if (s == VT_OK && vt_ag_mode) s = vt_ag_record_copy(dst, src);
  return s;
}

static vt_status vt_tensor_copy_impl(vt_tensor* dst, const vt_tensor* src) {
  VT_TRY(vt_check_tensor("copy", "destination", dst));
  VT_TRY(vt_check_tensor("copy", "source", src));
  int n;
  int64_t sh[VT_MAX_DIMS];
  VT_TRY(vt_broadcast_shapes("copy", dst->ndim, dst->sizes, src->ndim, src->sizes, &n, sh));
  if (n != dst->ndim || memcmp(sh, dst->sizes, sizeof(int64_t) * (size_t)n) != 0)
    return vt_set_error(VT_ERR_SHAPE, "copy: source of shape %s does not broadcast to destination %s",
                        vt_shape_s(src), vt_shape_s(dst));
  for (int i = 0; i < dst->ndim; i++)
    if (dst->strides[i] == 0 && dst->sizes[i] > 1)
      return vt_set_error(VT_ERR_ARG, "copy: cannot write into a broadcast (expanded) tensor");
  if (dst->nelem == 0) return VT_OK;
  if (vt_storage_overlap(dst, src) && dst != src) {
    vt_tensor* tmp;
    VT_TRY(vt_tensor_clone(src, &tmp));
    vt_status s = vt_tensor_copy_(dst, tmp);
    vt_tensor_release(tmp);
    return s;
  }
  if (vt_same_device(dst->dev, src->dev)) {
    vt_tensor sv;
    vt_tensor_expand_view(src, dst->ndim, dst->sizes, &sv);
    vt_op_args a = {.op = VT_OP_copy, .nin = 1, .in = {&sv}, .out = {dst}};
    return vt_dispatch(dst->dev, &a);
  }
  /* across devices: make a contiguous copy in dst's dtype on the source device, move the bytes,
     then copy into dst on its own device (skipped when dst is contiguous and shapes agree) */
  vt_tensor* c = NULL;
  VT_TRY(vt_tensor_cast(src, (vt_dtype)dst->dt, &c));
  vt_tensor* cc = NULL;
  vt_status s = vt_tensor_contiguous(c, &cc);
  vt_tensor_release(c);
  VT_TRY(s);
  vt_backend* b;
  vt_device far = dst->dev.type != VT_DEVICE_CPU ? dst->dev : src->dev;
  s = vt_backend_for("copy", far, &b);
  if (s == VT_OK) {
    size_t nbytes = (size_t)cc->nelem * vt_dtype_size(cc->dt);
    if (vt_tensor_is_contiguous(dst) && cc->nelem == dst->nelem) {
      s = b->copy(dst->ptr, dst->dev, cc->ptr, cc->dev, nbytes);
    } else {
      vt_tensor* stage = NULL;
      s = vt_tensor_empty(cc->ndim, cc->sizes, (vt_dtype)dst->dt, dst->dev, &stage);
      if (s == VT_OK) s = b->copy(stage->ptr, stage->dev, cc->ptr, cc->dev, nbytes);
      if (s == VT_OK) s = vt_tensor_copy_(dst, stage);
      vt_tensor_release(stage);
    }
  }
  vt_tensor_release(cc);
  return s;
}

vt_status vt_tensor_clone(const vt_tensor* t, vt_tensor** out) {
  VT_CHECK_ARG(out != NULL, "clone: NULL output");
  *out = NULL;
  VT_TRY(vt_check_tensor("clone", "tensor", t));
  VT_TRY(vt_tensor_empty(t->ndim, t->sizes, (vt_dtype)t->dt, t->dev, out));
  vt_status s = vt_tensor_copy_(*out, t);
  if (s != VT_OK) {
    vt_tensor_release(*out);
    *out = NULL;
  }
  return s;
}

vt_status vt_tensor_contiguous(const vt_tensor* t, vt_tensor** out) {
  VT_CHECK_ARG(out != NULL, "contiguous: NULL output");
  *out = NULL;
  VT_TRY(vt_check_tensor("contiguous", "tensor", t));
  if (vt_tensor_is_contiguous(t)) {
    vt_tensor_retain((vt_tensor*)t);
    *out = (vt_tensor*)t;
    return VT_OK;
  }
  return vt_tensor_clone(t, out);
}

vt_status vt_tensor_cast(const vt_tensor* t, vt_dtype dt, vt_tensor** out) {
  VT_CHECK_ARG(out != NULL, "cast: NULL output");
  *out = NULL;
  VT_TRY(vt_check_tensor("cast", "tensor", t));
  if (!vt_dtype_is_valid(dt)) return vt_set_error(VT_ERR_DTYPE, "cast: invalid dtype %d", (int)dt);
  if (t->dt == (int32_t)dt) {
    vt_tensor_retain((vt_tensor*)t);
    *out = (vt_tensor*)t;
    return VT_OK;
  }
  VT_TRY(vt_tensor_empty(t->ndim, t->sizes, dt, t->dev, out));
  vt_status s = vt_tensor_copy_(*out, t);
  if (s != VT_OK) {
    vt_tensor_release(*out);
    *out = NULL;
  }
  return s;
}

vt_status vt_tensor_to_device(const vt_tensor* t, vt_device dev, vt_tensor** out) {
  VT_CHECK_ARG(out != NULL, "to: NULL output");
  *out = NULL;
  VT_TRY(vt_check_tensor("to", "tensor", t));
  if (vt_same_device(t->dev, dev)) {
    vt_tensor_retain((vt_tensor*)t);
    *out = (vt_tensor*)t;
    return VT_OK;
  }
  VT_TRY(vt_tensor_empty(t->ndim, t->sizes, (vt_dtype)t->dt, dev, out));
  vt_status s = vt_tensor_copy_(*out, t);
  if (s != VT_OK) {
    vt_tensor_release(*out);
    *out = NULL;
  }
  return s;
}
