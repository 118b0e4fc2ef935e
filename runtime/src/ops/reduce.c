/* reduce.c — front-end of the reduction family (REDUCE, REDUCE_IDX, SOFTMAX, SCAN): validation,
 * result shapes and dtypes, output allocation, dispatch. The kernels (backend/<dev>/..._reduce)
 * only compute.
 *
 * Kernel contract (shapes use x's ndim; "keepdim view" = the result seen with every reduced dim
 * kept, size 1, stride 0):
 *   REDUCE      in[0]=x; i[0]=bitmask of reduced dims; f[0]=param (var/std correction, norm p);
 *               out[0]=keepdim view of the result. Called only when the result is non-empty;
 *               the reduced count may be 0 (the kernel writes each op's empty value). amax/amin
 *               are never called with zero reduced elements.
 *   REDUCE_IDX  in[0]=x (at least 1-d); i[0]=dim; i[1]=index base; out[0]=keepdim view of the
 *               values or NULL; out[1]=keepdim view of the i64 indices (always given). Called
 *               only with a non-empty result and a non-empty dim.
 *   SOFTMAX     in[0]=x (at least 1-d); i[0]=dim; out[0]=y (x's shape, a float dtype; may be x).
 *   SCAN        in[0]=x (at least 1-d); i[0]=dim; out[0]=y (x's shape; may be x).
 * Outputs never partially overlap the input (checked here).
 */
#include <math.h>
#include <string.h>
#include "autograd/ag.h"
#include "core/util.h"
#include "ops/op.h"
#include "volt/ops.h"
#include "volt/reduce.h"

/* ---------------------------------------------------------------------------------------- */
/* helpers                                                                                  */
/* ---------------------------------------------------------------------------------------- */
static vt_status rd_check_kind(int op, vt_op_kind kind, const char* api, const char* what) {
  if (vt_op_kind_of(op) != kind)
    return vt_set_error(VT_ERR_ARG, "%s: op %d (%s) is not %s", api, op,
                        vt_op_name(op) ? vt_op_name(op) : "unknown", what);
  return VT_OK;
}

/* Byte range [lo, hi) that t's elements may touch. */
static void rd_extent(const vt_tensor* t, const char** lo, const char** hi) {
  int64_t last = 0;
  for (int i = 0; i < t->ndim; i++) last += (t->sizes[i] - 1) * t->strides[i];
  size_t es = vt_dtype_size(t->dt);
  *lo = (const char*)t->ptr;
  *hi = (const char*)t->ptr + (last + 1) * (int64_t)es;
}

/* out must not overlap x, except (when allow_same) by being exactly x's elements. */
static vt_status rd_check_alias(const char* op, const vt_tensor* x, const vt_tensor* out,
                                int allow_same) {
  if (!out->storage || out->storage != x->storage || out->nelem == 0 || x->nelem == 0) return VT_OK;
  if (allow_same && out->ptr == x->ptr && out->dt == x->dt && out->ndim == x->ndim &&
      memcmp(out->sizes, x->sizes, sizeof(int64_t) * (size_t)x->ndim) == 0 &&
      memcmp(out->strides, x->strides, sizeof(int64_t) * (size_t)x->ndim) == 0)
    return VT_OK;
  const char *xl, *xh, *ol, *oh;
  rd_extent(x, &xl, &xh);
  rd_extent(out, &ol, &oh);
  if (ol < xh && xl < oh)
    return vt_set_error(VT_ERR_ARG, "%s: out shares memory with the input%s", op,
                        allow_same ? " (only out == input, in place, is allowed)" : "; pass a separate tensor");
  return VT_OK;
}

/* The keepdim view of a result tensor r: x's ndim, size 1 / stride 0 in the dims of mask, r's
   sizes and strides (in order) in the others. */
static void rd_keepdim_view(const vt_tensor* r, int ndim, const int64_t* xsizes, uint32_t mask,
                            vt_tensor* v) {
  *v = *r;
  v->ndim = ndim;
  int k = 0;
  int has_reduced = r->ndim == ndim; /* keepdim result: r has the reduced dims, size 1 */
  for (int d = 0; d < ndim; d++) {
    if (mask >> d & 1) {
      v->sizes[d] = 1;
      v->strides[d] = 0;
      if (has_reduced) k++;
    } else {
      v->sizes[d] = xsizes[d];
      v->strides[d] = r->strides[k++];
    }
  }
}

/* Runs the kernel; on failure drops the result reference. */
static vt_status rd_run(vt_op_args* a, vt_device dev, vt_tensor* out, vt_tensor** res,
                        vt_tensor* target) {
  vt_status s = vt_dispatch(dev, a);
  if (s != VT_OK) vt_out_abandon(out, res, target);
  return s;
}

static int rd_is_float_op(int op) {
  return op == VT_OP_mean || op == VT_OP_var || op == VT_OP_std || op == VT_OP_logsumexp ||
         op == VT_OP_norm;
}

/* ---------------------------------------------------------------------------------------- */
/* vt_reduce                                                                                */
/* ---------------------------------------------------------------------------------------- */
static vt_status vt_reduce_impl(int op, const vt_tensor* x, int ndims, const int* dims, int keepdim,
                                double param, vt_tensor* out, vt_tensor** res) {
  VT_TRY(rd_check_kind(op, VT_KIND_REDUCE, "vt_reduce", "a reduction (sum, mean, ..., any)"));
  const char* name = vt_op_name(op);
  VT_TRY(vt_check_tensor(name, "input", x));
  if (ndims < 0 || ndims > VT_MAX_DIMS)
    return vt_set_error(VT_ERR_ARG, "%s: %d dims given; between 0 and 8 expected", name, ndims);
  if (ndims > 0 && !dims) return vt_set_error(VT_ERR_ARG, "%s: NULL dims list with %d dims", name, ndims);
  uint32_t mask = 0;
  for (int i = 0; i < ndims; i++) {
    int d;
    VT_TRY(vt_wrap_dim(name, dims[i], x->ndim, &d));
    if (mask >> d & 1)
      return vt_set_error(VT_ERR_ARG, "%s: the dims list names dim %d twice (dims must be distinct)",
                          name, dims[i]);
    mask |= 1u << d;
  }
  if (x->ndim == 0) mask = 0;
  else if (ndims == 0) mask = (1u << x->ndim) - 1;
  if ((op == VT_OP_var || op == VT_OP_std) && isnan(param))
    return vt_set_error(VT_ERR_ARG, "%s: correction is NaN", name);
  if (op == VT_OP_norm && isnan(param)) return vt_set_error(VT_ERR_ARG, "norm: p is NaN");

  /* result shape and the reduced / kept element counts */
  int64_t sh[VT_MAX_DIMS];
  int nd = 0;
  int64_t R = 1, M = 1;
  for (int d = 0; d < x->ndim; d++) {
    if (mask >> d & 1) {
      R *= x->sizes[d];
      if (keepdim) sh[nd++] = 1;
    } else {
      M *= x->sizes[d];
      sh[nd++] = x->sizes[d];
    }
  }
  if ((op == VT_OP_amax || op == VT_OP_amin) && R == 0 && M > 0)
    return vt_set_error(VT_ERR_SHAPE,
                        "%s: cannot reduce over zero elements (input shape %s): the %s of "
                        "nothing is undefined",
                        name, vt_shape_s(x), op == VT_OP_amax ? "maximum" : "minimum");

  vt_dtype xd = (vt_dtype)x->dt, yd;
  if (op == VT_OP_all || op == VT_OP_any) yd = VT_DTYPE_BOOL;
  else if (op == VT_OP_sum || op == VT_OP_prod) yd = vt_dtype_is_float(xd) ? xd : VT_DTYPE_I64;
  else if (rd_is_float_op(op)) yd = vt_dtype_is_float(xd) ? xd : VT_DTYPE_F32;
  else yd = xd; /* amax, amin */

  vt_tensor* target;
  VT_TRY(vt_prepare_out(name, out, nd, sh, yd, x->dev, res, &target));
  vt_status s = rd_check_alias(name, x, target, 0);
  if (s != VT_OK) {
    vt_out_abandon(out, res, target);
    return s;
  }
  if (target->nelem == 0) return VT_OK;
  vt_tensor yv;
  rd_keepdim_view(target, x->ndim, x->sizes, mask, &yv);
  vt_op_args a = {.op = op, .nin = 1, .in = {x}, .out = {&yv}};
  a.i[0] = mask;
  a.f[0] = param;
  return rd_run(&a, x->dev, out, res, target);
}

vt_status vt_reduce(int op, const vt_tensor* x, int ndims, const int* dims, int keepdim,
                    double param, vt_tensor* out, vt_tensor** res) {
  vt_status s = vt_reduce_impl(op, x, ndims, dims, keepdim, param, out, res);
  if (s == VT_OK && vt_ag_on1(x)) {
    uint32_t mask = 0; /* the dims were validated by the impl */
    for (int i = 0; i < ndims; i++) mask |= 1u << (dims[i] < 0 ? dims[i] + x->ndim : dims[i]);
    if (x->ndim == 0) mask = 0;
    else if (ndims == 0) mask = (1u << x->ndim) - 1;
    s = vt_ag_record(&(vt_ag_rec){.op = op, .nin = 1, .in = {x}, .i = {mask, keepdim}, .f = {param}}, out, res);
  }
  return s;
}

/* ---------------------------------------------------------------------------------------- */
/* vt_reduce_index                                                                          */
/* ---------------------------------------------------------------------------------------- */
static vt_status vt_reduce_index_impl(int op, const vt_tensor* x, int dim, int keepdim, int64_t base,
                                      vt_tensor** values, vt_tensor** indices) {
  VT_TRY(rd_check_kind(op, VT_KIND_REDUCE_IDX, "vt_reduce_index", "max, min, argmax or argmin"));
  const char* name = vt_op_name(op);
  if (values) *values = NULL;
  if (indices) *indices = NULL;
  VT_TRY(vt_check_tensor(name, "input", x));
  if (!values && !indices)
    return vt_set_error(VT_ERR_ARG, "%s: neither values nor indices requested", name);

  vt_tensor xv;            /* the tensor the kernel reduces (at least 1-d) */
  vt_tensor* flat = NULL;  /* owned reference when x had to be flattened */
  int rdim;
  int64_t sh[VT_MAX_DIMS];
  int nd = 0;
  if (dim == VT_ALL_DIMS) {
    if (x->nelem == 0)
      return vt_set_error(VT_ERR_SHAPE, "%s: the input is empty (shape %s): the %s of nothing is undefined",
                          name, vt_shape_s(x), (op == VT_OP_max || op == VT_OP_argmax) ? "maximum" : "minimum");
    int64_t n = x->nelem;
    VT_TRY(vt_tensor_reshape(x, 1, &n, &flat));
    xv = *flat;
    rdim = 0;
    if (keepdim)
      for (int d = 0; d < x->ndim; d++) sh[nd++] = 1;
  } else {
    VT_TRY(vt_wrap_dim(name, dim, x->ndim, &rdim));
    xv = *x;
    if (x->ndim == 0) { /* a 0-d tensor reduces like a 1-d tensor of one element */
      xv.ndim = 1;
      xv.sizes[0] = 1;
      xv.strides[0] = 1;
    }
    if (xv.sizes[rdim] == 0 && x->nelem == 0) {
      int64_t m = 1;
      for (int d = 0; d < xv.ndim; d++)
        if (d != rdim) m *= xv.sizes[d];
      if (m > 0)
        return vt_set_error(VT_ERR_SHAPE,
                            "%s: cannot reduce over zero elements (input shape %s): the %s of "
                            "nothing is undefined",
                            name, vt_shape_s(x),
                            (op == VT_OP_max || op == VT_OP_argmax) ? "maximum" : "minimum");
    }
    for (int d = 0; d < x->ndim; d++) {
      if (d == rdim) {
        if (keepdim) sh[nd++] = 1;
      } else {
        sh[nd++] = x->sizes[d];
      }
    }
  }

  vt_status s = VT_OK;
  vt_tensor *vals = NULL, *idx = NULL;
  if (values) s = vt_tensor_empty(nd, sh, (vt_dtype)x->dt, x->dev, &vals);
  if (s == VT_OK) s = vt_tensor_empty(nd, sh, VT_DTYPE_I64, x->dev, &idx);
  if (s == VT_OK && idx->nelem > 0) {
    uint32_t mask = 1u << rdim;
    vt_tensor vv, iv;
    if (vals) rd_keepdim_view(vals, xv.ndim, xv.sizes, mask, &vv);
    rd_keepdim_view(idx, xv.ndim, xv.sizes, mask, &iv);
    /* with VT_ALL_DIMS and keepdim the results have x's ndim, not the flat one: they hold one
       element, so the view just needs the right ndim and a size-1 shape */
    vt_op_args a = {.op = op, .nin = 1, .in = {&xv}, .out = {vals ? &vv : NULL, &iv}};
    a.i[0] = rdim;
    a.i[1] = base;
    s = vt_dispatch(x->dev, &a);
  }
  if (flat) vt_tensor_release(flat);
  if (s != VT_OK) {
    if (vals) vt_tensor_release(vals);
    if (idx) vt_tensor_release(idx);
    return s;
  }
  if (values) *values = vals;
  if (indices) *indices = idx;
  else vt_tensor_release(idx);
  return VT_OK;
}

vt_status vt_reduce_index(int op, const vt_tensor* x, int dim, int keepdim, int64_t base,
                          vt_tensor** values, vt_tensor** indices) {
  if (!values || !vt_ag_on1(x)) return vt_reduce_index_impl(op, x, dim, keepdim, base, values, indices);
  if (indices) *indices = NULL;
  vt_tensor* idx = NULL;
  vt_status s = vt_reduce_index_impl(op, x, dim, keepdim, base, values, &idx);
  if (s == VT_OK) {
    int d = dim == VT_ALL_DIMS || x->ndim == 0 ? dim : (dim < 0 ? dim + x->ndim : dim);
    s = vt_ag_record(&(vt_ag_rec){.op = op, .nin = 1, .in = {x}, .extra = {idx}, .i = {d, keepdim, base}},
                     NULL, values);
  }
  if (s == VT_OK && indices) *indices = idx;
  else vt_tensor_release(idx);
  return s;
}

/* ---------------------------------------------------------------------------------------- */
/* vt_softmax, vt_cumsum                                                                    */
/* ---------------------------------------------------------------------------------------- */
/* Common part of the along-one-dim ops: y has x's shape and dtype yd; kernel kind in op. */
static vt_status rd_along_dim(int op, const char* name, const vt_tensor* x, int dim, vt_dtype yd,
                              vt_tensor* out, vt_tensor** res) {
  int d;
  VT_TRY(vt_wrap_dim(name, dim, x->ndim, &d));
  vt_tensor* target;
  VT_TRY(vt_prepare_out(name, out, x->ndim, x->sizes, yd, x->dev, res, &target));
  vt_status s = rd_check_alias(name, x, target, 1);
  if (s != VT_OK) {
    vt_out_abandon(out, res, target);
    return s;
  }
  if (target->nelem == 0) return VT_OK;
  vt_tensor xv = *x, yv = *target;
  if (x->ndim == 0) { /* 0-d: one element, seen as 1-d */
    xv.ndim = yv.ndim = 1;
    xv.sizes[0] = yv.sizes[0] = 1;
    xv.strides[0] = yv.strides[0] = 1;
  }
  vt_op_args a = {.op = op, .nin = 1, .in = {&xv}, .out = {&yv}};
  a.i[0] = d;
  return rd_run(&a, x->dev, out, res, target);
}

vt_status vt_softmax(int op, const vt_tensor* x, int dim, vt_tensor* out, vt_tensor** res) {
  VT_TRY(rd_check_kind(op, VT_KIND_SOFTMAX, "vt_softmax", "softmax or log_softmax"));
  const char* name = vt_op_name(op);
  VT_TRY(vt_check_tensor(name, "input", x));
  vt_dtype yd = vt_dtype_is_float((vt_dtype)x->dt) ? (vt_dtype)x->dt : VT_DTYPE_F32;
  vt_status s = rd_along_dim(op, name, x, dim, yd, out, res);
  if (s == VT_OK && vt_ag_on1(x))
    s = vt_ag_record(&(vt_ag_rec){.op = op, .nin = 1, .in = {x}, .i = {dim < 0 ? dim + (x->ndim ? x->ndim : 1) : dim}}, out, res);
  return s;
}

vt_status vt_cumsum(const vt_tensor* x, int dim, int dt, vt_tensor* out, vt_tensor** res) {
  VT_TRY(vt_check_tensor("cumsum", "input", x));
  vt_dtype yd;
  if (dt == -1) yd = vt_dtype_is_float((vt_dtype)x->dt) ? (vt_dtype)x->dt : VT_DTYPE_I64;
  else if (vt_dtype_is_valid(dt)) yd = (vt_dtype)dt;
  else return vt_set_error(VT_ERR_DTYPE, "cumsum: invalid result dtype %d (a vt_dtype or -1 expected)", dt);
  vt_status s = rd_along_dim(VT_OP_cumsum, "cumsum", x, dim, yd, out, res);
  if (s == VT_OK && vt_ag_on1(x))
    s = vt_ag_record(&(vt_ag_rec){.op = VT_OP_cumsum, .nin = 1, .in = {x}, .i = {dim < 0 ? dim + (x->ndim ? x->ndim : 1) : dim}}, out, res);
  return s;
}
