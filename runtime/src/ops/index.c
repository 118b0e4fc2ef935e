/* index.c — front-end of the indexing ops (index.h): validation, result shapes and dtypes, output
 * allocation, aliasing, dispatch. The kernels (backend/<dev>/..._index) only compute — and check
 * index values, since only the device can read them.
 *
 * Kernel contract for the INDEX kind, op by op (dims are 0-based and wrapped; tensors with 0 dims
 * are passed as 1-d views of size 1, so every indexed tensor has ndim >= 1; "base" is the value
 * that means the first element; kernels fail with VT_ERR_ARG, naming the op, the value and the
 * valid range, before writing anything when an index is out of range):
 *
 *   index_select  in[0]=x, in[1]=index (k) i32|i64         i[0]=dim, i[1]=base
 *                 out[0]=y (x's shape, size(dim)=k), y.dt == x.dt
 *   gather        in[0]=x, in[1]=index (x's ndim)           i[0]=dim, i[1]=base
 *                 out[0]=y (index's shape); index.size(e) <= x.size(e) for e != dim
 *   scatter       out[0]=y (already holds x), in[0]=index, in[1]=src (y's dtype) or NULL with
 *                 f[0]=value; i[0]=dim, i[1]=base; index.size(e) <= src.size(e) for all e and
 *                 <= y.size(e) for e != dim. Writes in row-major index order (last one wins).
 *   scatter_add   as scatter (src required), y += ; contributions added in index order.
 *   index_add     out[0]=y (already holds x), in[0]=index (k), in[1]=src (y's dtype, y's shape with
 *                 size(dim)=k); i[0]=dim, i[1]=base, f[0]=alpha. Contributions in index order.
 *   masked_fill   in[0]=x, in[1]=mask (any dtype), both expanded to out's shape; f[0]=value;
 *                 out[0]=y (x's dtype). out may be x itself.
 *   cat           ptr = const vt_tensor* const* parts, i[0]=count, i[1]=dim; every part has y's
 *                 ndim and y's sizes except in dim (any dtype: converted); the parts' sizes in dim
 *                 sum to y's; out[0]=y.
 *   one_hot       in[0]=labels i32|i64, i[0]=num_classes C, i[1]=base; out[0]=y (labels' shape +
 *                 (C)) i64. Probe form: out[0]=NULL, labels non-empty: writes the minimum and the
 *                 maximum label to ((int64_t*)ptr)[0], [1] (used to infer C).
 *   tril, triu    in[0]=x (..., R, C), i[0]=k (clamped to [-(R+C), R+C]); out[0]=y, x's shape and
 *                 dtype; out may be x itself.
 *
 * Aliasing: the front-end guarantees outputs never partially overlap inputs (a temporary or a
 * clone of the read-only input is used), except the exact in-place forms named above.
 */
#include <math.h>
#include <string.h>
#include "autograd/ag.h"
#include "core/util.h"
#include "ops/op.h"
#include "volt/index.h"
#include "volt/ops.h"

/* ---------------------------------------------------------------------------------------- */
/* helpers                                                                                  */
/* ---------------------------------------------------------------------------------------- */
static vt_status vt_ix_same_device(const char* op, const vt_tensor* a, const char* what,
                                   const vt_tensor* b) {
  if (!vt_same_device(a->dev, b->dev))
    return vt_set_error(VT_ERR_DEVICE, "%s: %s is on %s:%d but the input is on %s:%d", op, what,
                        vt_device_type_name(b->dev.type), b->dev.index,
                        vt_device_type_name(a->dev.type), a->dev.index);
  return VT_OK;
}

static vt_status vt_ix_check_index(const char* op, const char* what, const vt_tensor* x,
                                   const vt_tensor* idx) {
  VT_TRY(vt_check_tensor(op, what, idx));
  if (idx->dt != VT_DTYPE_I64 && idx->dt != VT_DTYPE_I32)
    return vt_set_error(VT_ERR_DTYPE, "%s: %s must be an i64 or i32 tensor (got %s)", op, what,
                        vt_dtype_name(idx->dt));
  return vt_ix_same_device(op, x, what, idx);
}

/* A header over t's memory; a 0-d tensor becomes 1-d of size 1. */
static void vt_ix_promote0(const vt_tensor* t, vt_tensor* v) {
  *v = *t;
  if (t->ndim == 0) {
    v->ndim = 1;
    v->sizes[0] = 1;
    v->strides[0] = 1;
  }
}

static int vt_ix_shares(const vt_tensor* a, const vt_tensor* b) {
  return a && b && a->storage && a->storage == b->storage && a->nelem > 0 && b->nelem > 0;
}

/* Shares memory with b but is not the very same view (same start, shape and strides). */
static int vt_ix_partial_overlap(const vt_tensor* a, const vt_tensor* b) {
  if (!vt_ix_shares(a, b)) return 0;
  if (a->ptr != b->ptr || a->ndim != b->ndim || a->dt != b->dt) return 1;
  for (int i = 0; i < a->ndim; i++)
    if (a->sizes[i] != b->sizes[i] || (a->sizes[i] > 1 && a->strides[i] != b->strides[i])) return 1;
  return 0;
}

/* Copies a temporary result into out (checked like any out) and drops the temporary. */
static vt_status vt_ix_finish_temp(const char* op, vt_tensor* tmp, vt_tensor* out, vt_tensor** res) {
  vt_tensor* target;
  vt_status s = vt_prepare_out(op, out, tmp->ndim, tmp->sizes, (vt_dtype)tmp->dt, tmp->dev, res, &target);
  if (s == VT_OK) {
    s = vt_tensor_copy_(target, tmp);
    if (s != VT_OK) vt_out_abandon(out, res, target);
  }
  vt_tensor_release(tmp);
  return s;
}

/* Dispatches into a prepared target; drops the result reference on failure. */
static vt_status vt_ix_run(vt_op_args* a, vt_device dev, vt_tensor* out, vt_tensor** res,
                           vt_tensor* target) {
  vt_status s = vt_dispatch(dev, a);
  if (s != VT_OK) vt_out_abandon(out, res, target);
  return s;
}

/* ---------------------------------------------------------------------------------------- */
/* index_select, gather                                                                     */
/* ---------------------------------------------------------------------------------------- */
static vt_status vt_index_select_impl(const vt_tensor* x, int dim, const vt_tensor* index, int64_t base,
                          vt_tensor* out, vt_tensor** res) {
  const char* op = "index_select";
  if (res) *res = NULL;
  VT_TRY(vt_check_tensor(op, "input", x));
  VT_TRY(vt_ix_check_index(op, "index", x, index));
  if (index->ndim > 1)
    return vt_set_error(VT_ERR_SHAPE, "%s: index must be 1-d (got shape %s)", op, vt_shape_s(index));
  if (out && (vt_ix_shares(out, x) || vt_ix_shares(out, index))) {
    vt_tensor* tmp;
    VT_TRY(vt_index_select_impl(x, dim, index, base, NULL, &tmp));
    return vt_ix_finish_temp(op, tmp, out, res);
  }
  vt_tensor xv, iv;
  vt_ix_promote0(x, &xv);
  vt_ix_promote0(index, &iv);
  int d;
  VT_TRY(vt_wrap_dim(op, dim, x->ndim, &d));
  int64_t sh[VT_MAX_DIMS];
  memcpy(sh, xv.sizes, sizeof sh);
  sh[d] = iv.sizes[0];
  vt_tensor* target;
  VT_TRY(vt_prepare_out(op, out, xv.ndim, sh, (vt_dtype)x->dt, x->dev, res, &target));
  if (iv.sizes[0] == 0) return VT_OK; /* else the kernel still checks the index values */
  vt_op_args a = {.op = VT_OP_index_select, .nin = 2, .in = {&xv, &iv}, .out = {target}};
  a.i[0] = d;
  a.i[1] = base;
  return vt_ix_run(&a, x->dev, out, res, target);
}

static vt_status vt_gather_impl(const vt_tensor* x, int dim, const vt_tensor* index, int64_t base,
                    vt_tensor* out, vt_tensor** res) {
  const char* op = "gather";
  if (res) *res = NULL;
  VT_TRY(vt_check_tensor(op, "input", x));
  VT_TRY(vt_ix_check_index(op, "index", x, index));
  if (out && (vt_ix_shares(out, x) || vt_ix_shares(out, index))) {
    vt_tensor* tmp;
    VT_TRY(vt_gather_impl(x, dim, index, base, NULL, &tmp));
    return vt_ix_finish_temp(op, tmp, out, res);
  }
  vt_tensor xv, iv;
  vt_ix_promote0(x, &xv);
  vt_ix_promote0(index, &iv);
  if (xv.ndim != iv.ndim)
    return vt_set_error(VT_ERR_SHAPE, "%s: index has %d dims but the input has %d (they must match)",
                        op, index->ndim, x->ndim);
  int d;
  VT_TRY(vt_wrap_dim(op, dim, x->ndim, &d));
  for (int e = 0; e < xv.ndim; e++)
    if (e != d && iv.sizes[e] > xv.sizes[e])
      return vt_set_error(VT_ERR_SHAPE,
                          "%s: index of shape %s is larger than the input %s in dim %lld "
                          "(only the gathered dim %lld may be larger)",
                          op, vt_shape_s(index), vt_shape_s(x), (long long)(e + base),
                          (long long)(d + base));
  vt_tensor* target;
  VT_TRY(vt_prepare_out(op, out, index->ndim, index->sizes, (vt_dtype)x->dt, x->dev, res, &target));
  if (target->nelem == 0) return VT_OK;
  vt_tensor tv;
  vt_ix_promote0(target, &tv);
  vt_op_args a = {.op = VT_OP_gather, .nin = 2, .in = {&xv, &iv}, .out = {&tv}};
  a.i[0] = d;
  a.i[1] = base;
  return vt_ix_run(&a, x->dev, out, res, target);
}

/* The gradient formulas use the dim wrapped against x (0-d counts as 1-d). */
static int vt_ix_wrap(int dim, const vt_tensor* x) {
  int n = x->ndim ? x->ndim : 1;
  return dim < 0 ? dim + n : dim;
}

vt_status vt_index_select(const vt_tensor* x, int dim, const vt_tensor* index, int64_t base,
                          vt_tensor* out, vt_tensor** res) {
  vt_status s = vt_index_select_impl(x, dim, index, base, out, res);
  if (s == VT_OK && vt_ag_on1(x))
    s = vt_ag_record(&(vt_ag_rec){.op = VT_OP_index_select, .nin = 1, .in = {x}, .extra = {index},
                                  .i = {vt_ix_wrap(dim, x), base}}, out, res);
  return s;
}

vt_status vt_gather(const vt_tensor* x, int dim, const vt_tensor* index, int64_t base,
                    vt_tensor* out, vt_tensor** res) {
  vt_status s = vt_gather_impl(x, dim, index, base, out, res);
  if (s == VT_OK && vt_ag_on1(x))
    s = vt_ag_record(&(vt_ag_rec){.op = VT_OP_gather, .nin = 1, .in = {x}, .extra = {index},
                                  .i = {vt_ix_wrap(dim, x), base}}, out, res);
  return s;
}

/* ---------------------------------------------------------------------------------------- */
/* scatter, scatter_add, index_add: y = x, then writes through the index                    */
/* ---------------------------------------------------------------------------------------- */
/* Makes *p safe to read while target is written: a clone when it shares target's memory, and
   converted to dt when dt >= 0. *tmp receives the new reference (or stays NULL). */
static vt_status vt_ix_detach(const vt_tensor** p, const vt_tensor* target, int dt, vt_tensor** tmp) {
  *tmp = NULL;
  if (dt >= 0 && (*p)->dt != dt) {
    VT_TRY(vt_tensor_cast(*p, (vt_dtype)dt, tmp));
  } else if (vt_ix_shares(*p, target)) {
    VT_TRY(vt_tensor_clone(*p, tmp));
  }
  if (*tmp) *p = *tmp;
  return VT_OK;
}

/* Prepares target = out or a new tensor holding x's values, with index and src made safe to
   read; then dispatches a (whose tensors are filled in here). */
static vt_status vt_ix_update(vt_op_args* a, const char* op, const vt_tensor* x, int d,
                              const vt_tensor* index, const vt_tensor* src, vt_tensor* out,
                              vt_tensor** res) {
  vt_tensor* target;
  VT_TRY(vt_prepare_out(op, out, x->ndim, x->sizes, (vt_dtype)x->dt, x->dev, res, &target));
  vt_tensor *itmp = NULL, *stmp = NULL;
  vt_status s = vt_ix_detach(&index, target, -1, &itmp);
  if (s == VT_OK && src) s = vt_ix_detach(&src, target, x->dt, &stmp);
  if (s == VT_OK && target != x) s = vt_tensor_copy_(target, x);
  if (s == VT_OK && index->nelem > 0) {
    vt_tensor tv, iv, sv;
    vt_ix_promote0(target, &tv);
    vt_ix_promote0(index, &iv);
    if (src) vt_ix_promote0(src, &sv);
    a->nin = src ? 2 : 1;
    a->in[0] = &iv;
    a->in[1] = src ? &sv : NULL;
    a->out[0] = &tv;
    a->i[0] = d;
    s = vt_dispatch(x->dev, a);
  }
  if (itmp) vt_tensor_release(itmp);
  if (stmp) vt_tensor_release(stmp);
  if (s != VT_OK) vt_out_abandon(out, res, target);
  return s;
}

static vt_status vt_scatter_impl(int opid, const vt_tensor* x, int dim, const vt_tensor* index,
                                 int64_t base, const vt_tensor* src, double value, vt_tensor* out,
                                 vt_tensor** res, int has_src) {
  const char* op = vt_op_name(opid);
  if (res) *res = NULL;
  VT_TRY(vt_check_tensor(op, "input", x));
  VT_TRY(vt_ix_check_index(op, "index", x, index));
  if (has_src) {
    VT_TRY(vt_check_tensor(op, "src", src));
    VT_TRY(vt_ix_same_device(op, x, "src", src));
  }
  if (opid == VT_OP_scatter_add && x->dt == VT_DTYPE_BOOL)
    return vt_set_error(VT_ERR_DTYPE, "%s: not supported for bool tensors (cast to an integer dtype)", op);
  vt_tensor xv, iv, sv;
  vt_ix_promote0(x, &xv);
  vt_ix_promote0(index, &iv);
  if (iv.ndim != xv.ndim)
    return vt_set_error(VT_ERR_SHAPE, "%s: index has %d dims but the input has %d (they must match)",
                        op, index->ndim, x->ndim);
  if (has_src) {
    vt_ix_promote0(src, &sv);
    if (sv.ndim != xv.ndim)
      return vt_set_error(VT_ERR_SHAPE, "%s: src has %d dims but the input has %d (they must match)",
                          op, src->ndim, x->ndim);
  }
  int d;
  VT_TRY(vt_wrap_dim(op, dim, x->ndim, &d));
  for (int e = 0; e < xv.ndim; e++) {
    if (e != d && iv.sizes[e] > xv.sizes[e])
      return vt_set_error(VT_ERR_SHAPE,
                          "%s: index of shape %s is larger than the input %s in dim %lld "
                          "(only the scattered dim %lld may be larger)",
                          op, vt_shape_s(index), vt_shape_s(x), (long long)(e + base),
                          (long long)(d + base));
    if (has_src && iv.sizes[e] > sv.sizes[e])
      return vt_set_error(VT_ERR_SHAPE, "%s: index of shape %s is larger than src %s in dim %lld", op,
                          vt_shape_s(index), vt_shape_s(src), (long long)(e + base));
  }
  vt_op_args a = {.op = opid};
  a.i[1] = base;
  a.f[0] = value;
  vt_status s = vt_ix_update(&a, op, x, d, index, has_src ? src : NULL, out, res);
  if (s == VT_OK && vt_ag_on2(x, has_src ? src : NULL))
    s = vt_ag_record(&(vt_ag_rec){.op = opid, .nin = has_src ? 2 : 1, .in = {x, has_src ? src : NULL},
                                  .extra = {index}, .i = {d, base}}, out, res);
  return s;
}

vt_status vt_scatter(const vt_tensor* x, int dim, const vt_tensor* index, int64_t base,
                     const vt_tensor* src, vt_tensor* out, vt_tensor** res) {
  return vt_scatter_impl(VT_OP_scatter, x, dim, index, base, src, 0.0, out, res, 1);
}

vt_status vt_scatter_value(const vt_tensor* x, int dim, const vt_tensor* index, int64_t base,
                           double value, vt_tensor* out, vt_tensor** res) {
  return vt_scatter_impl(VT_OP_scatter, x, dim, index, base, NULL, value, out, res, 0);
}

vt_status vt_scatter_add(const vt_tensor* x, int dim, const vt_tensor* index, int64_t base,
                         const vt_tensor* src, vt_tensor* out, vt_tensor** res) {
  return vt_scatter_impl(VT_OP_scatter_add, x, dim, index, base, src, 0.0, out, res, 1);
}

vt_status vt_index_add(const vt_tensor* x, int dim, const vt_tensor* index, int64_t base,
                       const vt_tensor* src, double alpha, vt_tensor* out, vt_tensor** res) {
  const char* op = "index_add";
  if (res) *res = NULL;
  VT_TRY(vt_check_tensor(op, "input", x));
  VT_TRY(vt_ix_check_index(op, "index", x, index));
  VT_TRY(vt_check_tensor(op, "src", src));
  VT_TRY(vt_ix_same_device(op, x, "src", src));
  if (x->dt == VT_DTYPE_BOOL)
    return vt_set_error(VT_ERR_DTYPE, "%s: not supported for bool tensors (cast to an integer dtype)", op);
  if (!vt_dtype_is_float((vt_dtype)x->dt) && (!isfinite(alpha) || alpha != floor(alpha)))
    return vt_set_error(VT_ERR_ARG, "%s: alpha %g must be an integer for a %s tensor", op, alpha,
                        vt_dtype_name(x->dt));
  if (index->ndim > 1)
    return vt_set_error(VT_ERR_SHAPE, "%s: index must be 1-d (got shape %s)", op, vt_shape_s(index));
  vt_tensor xv, sv;
  vt_ix_promote0(x, &xv);
  vt_ix_promote0(src, &sv);
  int64_t k = index->nelem;
  int d;
  VT_TRY(vt_wrap_dim(op, dim, x->ndim, &d));
  int ok = sv.ndim == xv.ndim && sv.sizes[d] == k;
  for (int e = 0; ok && e < xv.ndim; e++)
    if (e != d && sv.sizes[e] != xv.sizes[e]) ok = 0;
  if (!ok) {
    int64_t want[VT_MAX_DIMS];
    memcpy(want, xv.sizes, sizeof want);
    want[d] = k;
    return vt_set_error(VT_ERR_SHAPE, "%s: src has shape %s but must have shape %s (the input's, "
                        "with the indexed dim %lld of the index's length %lld)",
                        op, vt_shape_s(src), vt_shape_s2(xv.ndim, want), (long long)(d + base),
                        (long long)k);
  }
  vt_op_args a = {.op = VT_OP_index_add};
  a.i[1] = base;
  a.f[0] = alpha;
  vt_status s = vt_ix_update(&a, op, x, d, index, src, out, res);
  if (s == VT_OK && vt_ag_on2(x, src))
    s = vt_ag_record(&(vt_ag_rec){.op = VT_OP_index_add, .nin = 2, .in = {x, src}, .extra = {index},
                                  .i = {d, base}, .f = {alpha}}, out, res);
  return s;
}

/* ---------------------------------------------------------------------------------------- */
/* masked_fill, tril, triu                                                                  */
/* ---------------------------------------------------------------------------------------- */
static vt_status vt_masked_fill_impl(const vt_tensor* x, const vt_tensor* mask, double value,
                                     vt_tensor* out, vt_tensor** res) {
  const char* op = "masked_fill";
  if (res) *res = NULL;
  VT_TRY(vt_check_tensor(op, "input", x));
  VT_TRY(vt_check_tensor(op, "mask", mask));
  VT_TRY(vt_ix_same_device(op, x, "mask", mask));
  int nd;
  int64_t sh[VT_MAX_DIMS];
  VT_TRY(vt_broadcast_shapes(op, x->ndim, x->sizes, mask->ndim, mask->sizes, &nd, sh));
  vt_tensor* target;
  VT_TRY(vt_prepare_out(op, out, nd, sh, (vt_dtype)x->dt, x->dev, res, &target));
  if (target->nelem == 0) return VT_OK;
  vt_tensor *xtmp = NULL, *mtmp = NULL;
  vt_status s = VT_OK;
  if (vt_ix_partial_overlap(x, target)) s = vt_tensor_clone(x, &xtmp);
  if (s == VT_OK && vt_ix_shares(mask, target)) s = vt_tensor_clone(mask, &mtmp);
  if (s == VT_OK) {
    vt_tensor xv, mv;
    vt_tensor_expand_view(xtmp ? xtmp : x, nd, sh, &xv);
    vt_tensor_expand_view(mtmp ? mtmp : mask, nd, sh, &mv);
    vt_op_args a = {.op = VT_OP_masked_fill, .nin = 2, .in = {&xv, &mv}, .out = {target}};
    a.f[0] = value;
    s = vt_dispatch(x->dev, &a);
  }
  if (xtmp) vt_tensor_release(xtmp);
  if (mtmp) vt_tensor_release(mtmp);
  if (s != VT_OK) vt_out_abandon(out, res, target);
  return s;
}

vt_status vt_masked_fill(const vt_tensor* x, const vt_tensor* mask, double value, vt_tensor* out,
                         vt_tensor** res) {
  vt_status s = vt_masked_fill_impl(x, mask, value, out, res);
  if (s == VT_OK && vt_ag_on1(x))
    s = vt_ag_record(&(vt_ag_rec){.op = VT_OP_masked_fill, .nin = 1, .in = {x}, .extra = {mask}}, out, res);
  return s;
}

static vt_status vt_tri_impl(int opid, const vt_tensor* x, int64_t k, vt_tensor* out, vt_tensor** res);

static vt_status vt_tri(int opid, const vt_tensor* x, int64_t k, vt_tensor* out, vt_tensor** res) {
  vt_status s = vt_tri_impl(opid, x, k, out, res);
  if (s == VT_OK && vt_ag_on1(x))
    s = vt_ag_record(&(vt_ag_rec){.op = opid, .nin = 1, .in = {x}, .i = {k}}, out, res);
  return s;
}

static vt_status vt_tri_impl(int opid, const vt_tensor* x, int64_t k, vt_tensor* out, vt_tensor** res) {
  const char* op = vt_op_name(opid);
  if (res) *res = NULL;
  VT_TRY(vt_check_tensor(op, "input", x));
  if (x->ndim < 2)
    return vt_set_error(VT_ERR_SHAPE, "%s: needs a tensor with at least 2 dims (got shape %s)", op,
                        vt_shape_s(x));
  vt_tensor* target;
  VT_TRY(vt_prepare_out(op, out, x->ndim, x->sizes, (vt_dtype)x->dt, x->dev, res, &target));
  if (target->nelem == 0) return VT_OK;
  vt_tensor* xtmp = NULL;
  vt_status s = VT_OK;
  if (vt_ix_partial_overlap(x, target)) s = vt_tensor_clone(x, &xtmp);
  if (s == VT_OK) {
    int64_t lim = x->sizes[x->ndim - 2] + x->sizes[x->ndim - 1];
    vt_op_args a = {.op = opid, .nin = 1, .in = {xtmp ? xtmp : x}, .out = {target}};
    a.i[0] = k > lim ? lim : k < -lim ? -lim : k;
    s = vt_dispatch(x->dev, &a);
  }
  if (xtmp) vt_tensor_release(xtmp);
  if (s != VT_OK) vt_out_abandon(out, res, target);
  return s;
}

vt_status vt_tril(const vt_tensor* x, int64_t k, vt_tensor* out, vt_tensor** res) {
  return vt_tri(VT_OP_tril, x, k, out, res);
}
vt_status vt_triu(const vt_tensor* x, int64_t k, vt_tensor* out, vt_tensor** res) {
  return vt_tri(VT_OP_triu, x, k, out, res);
}

/* ---------------------------------------------------------------------------------------- */
/* cat                                                                                      */
/* ---------------------------------------------------------------------------------------- */
/* PyTorch's legacy rule: 1-d empty tensors take part in nothing but the dtype. */
static int vt_cat_skipped(const vt_tensor* t) { return t->ndim == 1 && t->sizes[0] == 0; }

static vt_status vt_cat_impl(int n, const vt_tensor* const* ts, int dim, vt_tensor* out, vt_tensor** res);

vt_status vt_cat(int n, const vt_tensor* const* ts, int dim, vt_tensor* out, vt_tensor** res) {
  vt_status s = vt_cat_impl(n, ts, dim, out, res);
  if (s == VT_OK && vt_ag_on_list(n, ts)) {
    vt_tensor* y = out ? out : *res;
    s = vt_ag_record(&(vt_ag_rec){.op = VT_OP_cat, .nin = n, .list = ts,
                                  .i = {dim < 0 ? dim + y->ndim : dim}}, out, res);
  }
  return s;
}

static vt_status vt_cat_impl(int n, const vt_tensor* const* ts, int dim, vt_tensor* out, vt_tensor** res) {
  const char* op = "cat";
  if (res) *res = NULL;
  if (n < 1 || !ts) return vt_set_error(VT_ERR_ARG, "%s: expected a non-empty list of tensors (got %d)", op, n);
  for (int j = 0; j < n; j++) {
    if (!ts[j]) return vt_set_error(VT_ERR_ARG, "%s: tensor %d of %d is nil", op, j + 1, n);
    VT_TRY(vt_check_tensor(op, "a tensor in the list", ts[j]));
    if (ts[j]->ndim == 0)
      return vt_set_error(VT_ERR_SHAPE, "%s: tensor %d of %d is 0-d and cannot be concatenated "
                          "(unsqueeze it, or use stack)", op, j + 1, n);
    if (!vt_same_device(ts[j]->dev, ts[0]->dev))
      return vt_set_error(VT_ERR_DEVICE, "%s: tensor %d of %d is on %s:%d but tensor 1 is on %s:%d",
                          op, j + 1, n, vt_device_type_name(ts[j]->dev.type), ts[j]->dev.index,
                          vt_device_type_name(ts[0]->dev.type), ts[0]->dev.index);
  }
  if (out) {
    for (int j = 0; j < n; j++)
      if (vt_ix_shares(out, ts[j])) {
        vt_tensor* tmp;
        VT_TRY(vt_cat_impl(n, ts, dim, NULL, &tmp));
        return vt_ix_finish_temp(op, tmp, out, res);
      }
  }
  vt_dtype dt = (vt_dtype)ts[0]->dt;
  for (int j = 1; j < n; j++) dt = vt_dtype_promote(dt, (vt_dtype)ts[j]->dt);
  int ref = -1;
  for (int j = 0; j < n && ref < 0; j++)
    if (!vt_cat_skipped(ts[j])) ref = j;
  vt_tensor* target;
  if (ref < 0) { /* only 1-d empty tensors: an empty 1-d result */
    int64_t zero = 0;
    return vt_prepare_out(op, out, 1, &zero, dt, ts[0]->dev, res, &target);
  }
  const vt_tensor* r = ts[ref];
  int d;
  VT_TRY(vt_wrap_dim(op, dim, r->ndim, &d));
  int64_t sh[VT_MAX_DIMS];
  memcpy(sh, r->sizes, sizeof sh);
  sh[d] = 0;
  int m = 0;
  for (int j = 0; j < n; j++) {
    const vt_tensor* t = ts[j];
    if (vt_cat_skipped(t)) continue;
    int ok = t->ndim == r->ndim;
    for (int e = 0; ok && e < r->ndim; e++)
      if (e != d && t->sizes[e] != r->sizes[e]) ok = 0;
    if (!ok)
      return vt_set_error(VT_ERR_SHAPE, "%s: tensor %d of %d has shape %s but tensor %d has shape %s "
                          "(sizes must match except in the concatenated dim)", op, j + 1, n,
                          vt_shape_s(t), ref + 1, vt_shape_s(r));
    sh[d] += t->sizes[d];
    if (t->nelem > 0) m++;
  }
  VT_TRY(vt_prepare_out(op, out, r->ndim, sh, dt, r->dev, res, &target));
  if (target->nelem == 0) return VT_OK;
  const vt_tensor** parts = malloc(sizeof(*parts) * (size_t)m);
  if (!parts) {
    vt_out_abandon(out, res, target);
    return vt_set_error(VT_ERR_OOM, "%s: out of host memory", op);
  }
  m = 0;
  for (int j = 0; j < n; j++)
    if (!vt_cat_skipped(ts[j]) && ts[j]->nelem > 0) parts[m++] = ts[j];
  vt_op_args a = {.op = VT_OP_cat, .nin = m, .out = {target}, .ptr = (void*)parts};
  a.i[0] = m;
  a.i[1] = d;
  vt_status s = vt_dispatch(r->dev, &a);
  free(parts);
  if (s != VT_OK) vt_out_abandon(out, res, target);
  return s;
}

/* ---------------------------------------------------------------------------------------- */
/* one_hot                                                                                  */
/* ---------------------------------------------------------------------------------------- */
vt_status vt_one_hot(const vt_tensor* labels, int64_t num_classes, int64_t base, vt_tensor* out,
                     vt_tensor** res) {
  const char* op = "one_hot";
  if (res) *res = NULL;
  VT_TRY(vt_check_tensor(op, "labels", labels));
  if (labels->dt != VT_DTYPE_I64 && labels->dt != VT_DTYPE_I32)
    return vt_set_error(VT_ERR_DTYPE, "%s: labels must be an i64 or i32 tensor (got %s)", op,
                        vt_dtype_name(labels->dt));
  if (num_classes < -1)
    return vt_set_error(VT_ERR_ARG, "%s: num_classes %lld is invalid (>= 0, or -1 to infer it)", op,
                        (long long)num_classes);
  if (labels->ndim >= VT_MAX_DIMS)
    return vt_set_error(VT_ERR_SHAPE, "%s: labels have %d dims; the result would exceed 8", op,
                        labels->ndim);
  if (out && vt_ix_shares(out, labels)) {
    vt_tensor* tmp;
    VT_TRY(vt_one_hot(labels, num_classes, base, NULL, &tmp));
    return vt_ix_finish_temp(op, tmp, out, res);
  }
  if (num_classes == -1) {
    if (labels->nelem == 0)
      return vt_set_error(VT_ERR_ARG, "%s: cannot infer the number of classes from empty labels "
                          "(pass num_classes)", op);
    int64_t mm[2] = {0, 0};
    vt_op_args p = {.op = VT_OP_one_hot, .nin = 1, .in = {labels}, .out = {NULL}, .ptr = mm};
    p.i[1] = base;
    VT_TRY(vt_dispatch(labels->dev, &p));
    if (mm[0] < base)
      return vt_set_error(VT_ERR_ARG, "%s: label %lld out of range (labels count from %lld)", op,
                          (long long)mm[0], (long long)base);
    if (mm[1] - base >= ((int64_t)1 << 40))
      return vt_set_error(VT_ERR_ARG, "%s: the largest label %lld gives too many classes to infer "
                          "(pass num_classes)", op, (long long)mm[1]);
    num_classes = mm[1] - base + 1;
  }
  int64_t sh[VT_MAX_DIMS];
  memcpy(sh, labels->sizes, sizeof sh);
  sh[labels->ndim] = num_classes;
  vt_tensor* target;
  VT_TRY(vt_prepare_out(op, out, labels->ndim + 1, sh, VT_DTYPE_I64, labels->dev, res, &target));
  if (labels->nelem == 0) return VT_OK;
  vt_op_args a = {.op = VT_OP_one_hot, .nin = 1, .in = {labels}, .out = {target}};
  a.i[0] = num_classes;
  a.i[1] = base;
  return vt_ix_run(&a, labels->dev, out, res, target);
}
