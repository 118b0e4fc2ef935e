/* norm.c — front-ends of the normalisation family (layer_norm, batch_norm, group_norm and their
 * backward ops): validation with messages naming the op, shapes, contiguous copies, output and
 * statistics allocation, dispatch, and the autograd record (one node per forward saving x, the
 * statistics (X0) and the weight (X1); formulas_norm.c calls the *_backward functions).
 *
 * Kernel contract (NN kind; every tensor contiguous unless said otherwise; stats are (.., 2)
 * (mean, rstd) in f64 for f64 inputs, else f32):
 *   layer_norm           in[0] = x (R, D), in[1] = weight (D) | NULL, in[2] = bias (D) | NULL;
 *                        out[0] = y (R, D), out[1] = stats (R, 2); i[0] = R, i[1] = D; f[0] = eps
 *   batch_norm           in[0] = x (N, C, S), in[1] = weight (C) | NULL, in[2] = bias (C) | NULL;
 *                        out[0] = y, out[1] = stats (C, 2); ptr = vt_tensor*[2] running_mean,
 *                        running_var ((C), any strides, updated in place in training) or NULLs;
 *                        i[0..3] = N, C, S, training; f[0] = eps, f[1] = momentum
 *   group_norm           in[0] = x (N, C, S), in[1] = weight (C) | NULL, in[2] = bias (C) | NULL;
 *                        out[0] = y, out[1] = stats (N*G, 2); i[0..3] = N, C, S, G; f[0] = eps
 *   <op>_backward        in[0] = grad (x's shape), in[1] = x, in[2] = stats, in[3] = weight | NULL;
 *                        out[0] = dx | NULL, out[1] = dweight | NULL, ptr = dbias | NULL;
 *                        i[] as the forward
 * Every size the kernels see is >= 1 (the front-ends handle empty tensors).
 */
#include <string.h>
#include "autograd/ag.h"
#include "core/util.h"
#include "ops/op.h"
#include "volt/norm.h"
#include "volt/ops.h"

/* ---------------------------------------------------------------------------------------- */
/* shared checks and helpers                                                                */
/* ---------------------------------------------------------------------------------------- */
static vt_status norm_float(const char* op, const char* what, const vt_tensor* t,
                            const vt_tensor* x) {
  VT_TRY(vt_check_tensor(op, what, t));
  if (!vt_dtype_is_float((vt_dtype)t->dt))
    return vt_set_error(VT_ERR_DTYPE, "%s: %s must be floating point (f32, f64, f16, bf16), got %s",
                        op, what, vt_dtype_name((vt_dtype)t->dt));
  if (x && !vt_same_device(t->dev, x->dev))
    return vt_set_error(VT_ERR_DEVICE, "%s: %s is on %s:%d, the input on %s:%d", op, what,
                        vt_device_type_name(t->dev.type), t->dev.index,
                        vt_device_type_name(x->dev.type), x->dev.index);
  return VT_OK;
}

/* An optional parameter t (NULL passes) of shape (nd, shape). */
static vt_status norm_param(const char* op, const char* what, const vt_tensor* t,
                            const vt_tensor* x, int nd, const int64_t* shape, const char* expl) {
  if (!t) return VT_OK;
  VT_TRY(norm_float(op, what, t, x));
  int same = t->ndim == nd;
  for (int d = 0; same && d < nd; d++) same = t->sizes[d] == shape[d];
  if (!same)
    return vt_set_error(VT_ERR_SHAPE, "%s: %s has shape %s, expected %s (%s)", op, what,
                        vt_shape_s(t), vt_shape_s2(nd, shape), expl);
  return VT_OK;
}

/* A contiguous version of t (a new reference; NULL for NULL), without recording autograd. */
static vt_status norm_contig(const vt_tensor* t, vt_tensor** c) {
  *c = NULL;
  if (!t) return VT_OK;
  int mode = vt_ag_mode;
  vt_ag_mode = 0;
  vt_status s = vt_tensor_contiguous(t, c);
  vt_ag_mode = mode;
  return s;
}

static void norm_release(int n, vt_tensor** ts) {
  for (int j = 0; j < n; j++)
    if (ts[j]) vt_tensor_release(ts[j]);
}

static vt_dtype norm_stat_dtype(const vt_tensor* x) {
  return x->dt == VT_DTYPE_F64 ? VT_DTYPE_F64 : VT_DTYPE_F32;
}

/* (N, C, S) of an input with at least 2 dims. */
static vt_status norm_ncs(const char* op, const vt_tensor* x, int64_t* N, int64_t* C, int64_t* S) {
  if (x->ndim < 2)
    return vt_set_error(VT_ERR_SHAPE, "%s: expected an input with at least 2 dims (N, C, ...), got shape %s",
                        op, vt_shape_s(x));
  *N = x->sizes[0];
  *C = x->sizes[1];
  *S = 1;
  for (int d = 2; d < x->ndim; d++) *S *= x->sizes[d];
  return VT_OK;
}

/* Runs a forward kernel: contiguous copies of x, weight, bias; y (x's shape) and stats
   (nstat, 2) allocated. [out] y, stats: new references. */
static vt_status norm_forward(vt_op_args* args, const vt_tensor* x, const vt_tensor* w,
                              const vt_tensor* b, int64_t nstat, vt_tensor** y,
                              vt_tensor** stats) {
  vt_tensor* tmp[3] = {NULL, NULL, NULL};
  int64_t ssh[2] = {nstat, 2};
  *y = *stats = NULL;
  vt_status s = vt_tensor_empty(x->ndim, x->sizes, (vt_dtype)x->dt, x->dev, y);
  if (s == VT_OK) s = vt_tensor_empty(2, ssh, norm_stat_dtype(x), x->dev, stats);
  if (s == VT_OK && x->nelem > 0) {
    s = norm_contig(x, &tmp[0]);
    if (s == VT_OK) s = norm_contig(w, &tmp[1]);
    if (s == VT_OK) s = norm_contig(b, &tmp[2]);
    if (s == VT_OK) {
      args->in[0] = tmp[0];
      args->in[1] = tmp[1];
      args->in[2] = tmp[2];
      args->nin = 3;
      args->out[0] = *y;
      args->out[1] = *stats;
      s = vt_dispatch(x->dev, args);
    }
  }
  norm_release(3, tmp);
  if (s != VT_OK) {
    if (*y) vt_tensor_release(*y);
    if (*stats) vt_tensor_release(*stats);
    *y = *stats = NULL;
  }
  return s;
}

/* Records the forward's node (x, weight, bias; X0 = stats, X1 = weight) and drops stats. */
static vt_status norm_record(int op, const vt_tensor* x, const vt_tensor* w, const vt_tensor* b,
                             vt_tensor* stats, int64_t i0, double eps, vt_tensor** res) {
  vt_status s = VT_OK;
  if (vt_ag_on3(x, w, b))
    s = vt_ag_record(&(vt_ag_rec){.op = op, .nin = 3, .in = {x, w, b}, .extra = {stats, w},
                                  .i = {i0}, .f = {eps}},
                     NULL, res);
  vt_tensor_release(stats);
  return s;
}

/* The backward functions: checks grad/x/stats/weight, makes them contiguous, allocates the
   requested outputs (dweight/dbias with wshape, zero-filled) and dispatches. */
static vt_status norm_backward(vt_op_args* args, const vt_tensor* g, const vt_tensor* x,
                               const vt_tensor* stats, const vt_tensor* w, int64_t nstat,
                               int wnd, const int64_t* wshape, vt_tensor** dx, vt_tensor** dw,
                               vt_tensor** db) {
  const char* op = vt_op_name(args->op);
  if (dx) *dx = NULL;
  if (dw) *dw = NULL;
  if (db) *db = NULL;
  VT_TRY(norm_float(op, "grad_out", g, x));
  int same = g->ndim == x->ndim;
  for (int d = 0; same && d < x->ndim; d++) same = g->sizes[d] == x->sizes[d];
  if (!same)
    return vt_set_error(VT_ERR_SHAPE, "%s: grad_out has shape %s, the input %s", op, vt_shape_s(g),
                        vt_shape_s(x));
  int64_t ssh[2] = {nstat, 2};
  VT_TRY(norm_param(op, "stats", stats, x, 2, ssh, "(mean, rstd) pairs of the forward"));
  VT_CHECK_ARG(stats != NULL, "%s: stats is required", op);
  VT_TRY(norm_param(op, "weight", w, x, wnd, wshape, "the forward's weight"));

  vt_dtype wdt = w ? (vt_dtype)w->dt : (vt_dtype)x->dt;
  vt_tensor* tmp[4] = {NULL, NULL, NULL, NULL};
  vt_tensor *rx = NULL, *rw = NULL, *rb = NULL;
  vt_status s = VT_OK;
  if (dx) s = vt_tensor_empty(x->ndim, x->sizes, (vt_dtype)x->dt, x->dev, &rx);
  if (s == VT_OK && dw) s = vt_tensor_zeros(wnd, wshape, wdt, x->dev, &rw);
  if (s == VT_OK && db) s = vt_tensor_zeros(wnd, wshape, wdt, x->dev, &rb);
  if (s == VT_OK && x->nelem > 0 && (rx || rw || rb)) {
    s = norm_contig(g, &tmp[0]);
    if (s == VT_OK) s = norm_contig(x, &tmp[1]);
    if (s == VT_OK) s = norm_contig(stats, &tmp[2]);
    if (s == VT_OK) s = norm_contig(w, &tmp[3]);
    if (s == VT_OK) {
      for (int j = 0; j < 4; j++) args->in[j] = tmp[j];
      args->nin = 4;
      args->out[0] = rx;
      args->out[1] = rw;
      args->ptr = rb;
      s = vt_dispatch(x->dev, args);
    }
  }
  norm_release(4, tmp);
  if (s != VT_OK) {
    vt_tensor* r[3] = {rx, rw, rb};
    norm_release(3, r);
    return s;
  }
  if (dx) *dx = rx;
  if (dw) *dw = rw;
  if (db) *db = rb;
  return VT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* layer norm                                                                               */
/* ---------------------------------------------------------------------------------------- */
/* R and D of x for nk normalised dims (checked against nshape when given). */
static vt_status ln_shape(const char* op, const vt_tensor* x, int nk, const int64_t* nshape,
                          int64_t* R, int64_t* D) {
  if (nk < 1 || nk > x->ndim)
    return vt_set_error(VT_ERR_SHAPE,
                        "%s: normalized_shape has %d dims, expected 1 to %d (the input has shape %s)",
                        op, nk, x->ndim, vt_shape_s(x));
  *D = 1;
  *R = 1;
  for (int d = 0; d < x->ndim; d++) {
    if (d < x->ndim - nk) {
      *R *= x->sizes[d];
    } else {
      if (nshape && x->sizes[d] != nshape[d - (x->ndim - nk)])
        return vt_set_error(VT_ERR_SHAPE, "%s: input shape %s does not end with normalized_shape %s",
                            op, vt_shape_s(x), vt_shape_s2(nk, nshape));
      *D *= x->sizes[d];
    }
  }
  return VT_OK;
}

vt_status vt_layer_norm(const vt_tensor* x, int nk, const int64_t* nshape, const vt_tensor* weight,
                        const vt_tensor* bias, double eps, vt_tensor** res) {
  VT_CHECK_ARG(res != NULL, "layer_norm: NULL result pointer");
  *res = NULL;
  VT_TRY(norm_float("layer_norm", "input", x, NULL));
  VT_CHECK_ARG(nshape != NULL, "layer_norm: NULL normalized_shape");
  int64_t R = 0, D = 0;
  VT_TRY(ln_shape("layer_norm", x, nk, nshape, &R, &D));
  VT_TRY(norm_param("layer_norm", "weight", weight, x, nk, nshape, "normalized_shape"));
  VT_TRY(norm_param("layer_norm", "bias", bias, x, nk, nshape, "normalized_shape"));
  vt_op_args args = {.op = VT_OP_layer_norm, .i = {R, D}, .f = {eps}};
  vt_tensor* stats;
  VT_TRY(norm_forward(&args, x, weight, bias, R, res, &stats));
  return norm_record(VT_OP_layer_norm, x, weight, bias, stats, nk, eps, res);
}

vt_status vt_layer_norm_backward(const vt_tensor* grad_out, const vt_tensor* x,
                                 const vt_tensor* stats, const vt_tensor* weight, int nk,
                                 vt_tensor** dx, vt_tensor** dweight, vt_tensor** dbias) {
  VT_TRY(norm_float("layer_norm_backward", "input", x, NULL));
  int64_t R = 0, D = 0;
  VT_TRY(ln_shape("layer_norm_backward", x, nk, NULL, &R, &D));
  vt_op_args args = {.op = VT_OP_layer_norm_backward, .i = {R, D}};
  return norm_backward(&args, grad_out, x, stats, weight, R, nk, x->sizes + (x->ndim - nk), dx,
                       dweight, dbias);
}

/* ---------------------------------------------------------------------------------------- */
/* batch norm                                                                               */
/* ---------------------------------------------------------------------------------------- */
vt_status vt_batch_norm(const vt_tensor* x, vt_tensor* running_mean, vt_tensor* running_var,
                        const vt_tensor* weight, const vt_tensor* bias, int training,
                        double momentum, double eps, vt_tensor** res) {
  const char* op = "batch_norm";
  VT_CHECK_ARG(res != NULL, "batch_norm: NULL result pointer");
  *res = NULL;
  VT_TRY(norm_float(op, "input", x, NULL));
  int64_t N = 0, C = 0, S = 0;
  VT_TRY(norm_ncs(op, x, &N, &C, &S));
  if ((running_mean == NULL) != (running_var == NULL))
    return vt_set_error(VT_ERR_ARG, "batch_norm: pass both running_mean and running_var, or neither");
  if (!training && !running_mean)
    return vt_set_error(VT_ERR_ARG, "batch_norm: eval mode (training = false) needs running_mean "
                                    "and running_var");
  const char* why = "the input's channels";
  VT_TRY(norm_param(op, "running_mean", running_mean, x, 1, &C, why));
  VT_TRY(norm_param(op, "running_var", running_var, x, 1, &C, why));
  VT_TRY(norm_param(op, "weight", weight, x, 1, &C, why));
  VT_TRY(norm_param(op, "bias", bias, x, 1, &C, why));
  if (training && N * S == 1)
    return vt_set_error(VT_ERR_ARG, "batch_norm: Expected more than 1 value per channel when "
                                    "training, got input size %s", vt_shape_s(x));
  int update = training && running_mean && x->nelem > 0;
  if (update) {
    VT_TRY(vt_ag_on_write(op, running_mean));
    VT_TRY(vt_ag_on_write(op, running_var));
  }
  vt_tensor* run[2] = {running_mean, running_var};
  vt_op_args args = {.op = VT_OP_batch_norm, .i = {N, C, S, training ? 1 : 0},
                     .f = {eps, momentum}, .ptr = run};
  vt_tensor* stats;
  VT_TRY(norm_forward(&args, x, weight, bias, C, res, &stats));
  return norm_record(VT_OP_batch_norm, x, weight, bias, stats, training ? 1 : 0, eps, res);
}

vt_status vt_batch_norm_backward(const vt_tensor* grad_out, const vt_tensor* x,
                                 const vt_tensor* stats, const vt_tensor* weight, int training,
                                 vt_tensor** dx, vt_tensor** dweight, vt_tensor** dbias) {
  VT_TRY(norm_float("batch_norm_backward", "input", x, NULL));
  int64_t N = 0, C = 0, S = 0;
  VT_TRY(norm_ncs("batch_norm_backward", x, &N, &C, &S));
  vt_op_args args = {.op = VT_OP_batch_norm_backward, .i = {N, C, S, training ? 1 : 0}};
  return norm_backward(&args, grad_out, x, stats, weight, C, 1, &C, dx, dweight, dbias);
}

/* ---------------------------------------------------------------------------------------- */
/* group norm                                                                               */
/* ---------------------------------------------------------------------------------------- */
static vt_status gn_check(const char* op, const vt_tensor* x, int64_t G, int64_t* N, int64_t* C,
                          int64_t* S) {
  VT_TRY(norm_ncs(op, x, N, C, S));
  if (G < 1)
    return vt_set_error(VT_ERR_ARG, "%s: num_groups must be at least 1, got %lld", op, (long long)G);
  if (*C % G != 0)
    return vt_set_error(VT_ERR_SHAPE, "%s: the number of channels (%lld) must be divisible by "
                                      "num_groups (%lld), got input of shape %s",
                        op, (long long)*C, (long long)G, vt_shape_s(x));
  return VT_OK;
}

vt_status vt_group_norm(const vt_tensor* x, int64_t num_groups, const vt_tensor* weight,
                        const vt_tensor* bias, double eps, vt_tensor** res) {
  const char* op = "group_norm";
  VT_CHECK_ARG(res != NULL, "group_norm: NULL result pointer");
  *res = NULL;
  VT_TRY(norm_float(op, "input", x, NULL));
  int64_t N = 0, C = 0, S = 0;
  VT_TRY(gn_check(op, x, num_groups, &N, &C, &S));
  const char* why = "the input's channels";
  VT_TRY(norm_param(op, "weight", weight, x, 1, &C, why));
  VT_TRY(norm_param(op, "bias", bias, x, 1, &C, why));
  vt_op_args args = {.op = VT_OP_group_norm, .i = {N, C, S, num_groups}, .f = {eps}};
  vt_tensor* stats;
  VT_TRY(norm_forward(&args, x, weight, bias, N * num_groups, res, &stats));
  return norm_record(VT_OP_group_norm, x, weight, bias, stats, num_groups, eps, res);
}

vt_status vt_group_norm_backward(const vt_tensor* grad_out, const vt_tensor* x,
                                 const vt_tensor* stats, const vt_tensor* weight,
                                 int64_t num_groups, vt_tensor** dx, vt_tensor** dweight,
                                 vt_tensor** dbias) {
  const char* op = "group_norm_backward";
  VT_TRY(norm_float(op, "input", x, NULL));
  int64_t N = 0, C = 0, S = 0;
  VT_TRY(gn_check(op, x, num_groups, &N, &C, &S));
  vt_op_args args = {.op = VT_OP_group_norm_backward, .i = {N, C, S, num_groups}};
  return norm_backward(&args, grad_out, x, stats, weight, N * num_groups, 1, &C, dx, dweight,
                       dbias);
}
