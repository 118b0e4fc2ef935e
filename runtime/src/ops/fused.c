/* fused.c — front-end of the fused family (volt/fused.h): linear, cross_entropy, sdpa and their
 * backward kernels. Validates, converts the inputs to contiguous tensors of the compute dtype
 * (f32 for f32/f16/bf16, f64), allocates the outputs, dispatches, converts the result back to
 * the input dtype and records autograd with the caller's tensors.
 *
 * Kernel contracts (all tensors contiguous, in the compute dtype unless said otherwise):
 *   linear                  in[0] x (M, In), in[1] w (Out, In), in[2] b (Out) | NULL;
 *                           out[0] y (M, Out). M, In, Out >= 1.
 *   cross_entropy           in[0] logits (M, C), in[1] target (M) i64/i32, in[2] weight (C) | NULL;
 *                           out[0] loss (M) (reduction none) or (), out[1] lse (M);
 *                           i[0] ignore_index, i[1] reduction, f[0] label smoothing. M, C >= 1.
 *                           The kernel checks the targets (error naming a bad one).
 *   cross_entropy_backward  as cross_entropy plus in[3] lse (M) and ptr = g (M) or (1);
 *                           out[0] dlogits (M, C).
 *   sdpa                    in[0] q (BH, T, D), in[1] k (BH, S, D), in[2] v (BH, S, Dv);
 *                           out[0] o (BH, T, Dv), out[1] lse (BH, T); i[0] causal, f[0] scale.
 *                           All sizes >= 1.
 *   sdpa_backward           in[0..2] q, k, v, in[3] g (BH, T, Dv); out[0] dq, out[1] dk;
 *                           ptr = vt_tensor*[3] {o (BH, T, Dv), lse (BH, T), dv (BH, S, Dv)}.
 *   sdpa_qkv                in[0] qkv (B, T, 3E); out[0] y (B, T, E), out[1] lse (B·H, T);
 *                           i[0] causal, i[1] H, f[0] scale.
 *   sdpa_qkv_backward       in[0] qkv, in[1] g (B, T, E); out[0] dqkv (B, T, 3E);
 *                           ptr = vt_tensor*[2] {y (B, T, E), lse (B·H, T)}.
 *   gelu_backward           in[0] g (n), in[1] x (n); out[0] dx (n); i[0] tanh form (the
 *                           elementwise op gelu's backward, kernel in backend/cpu/cpu_gelu.c).
 * Autograd nodes: linear in {x, w, b}; cross_entropy in {logits, target, weight}, X0 = lse,
 * i[0] ignore_index, i[1] reduction, f[0] smoothing; sdpa in {q, k, v}, OUT = o, X0 = lse,
 * i[0] causal, f[0] scale (the resolved one); sdpa_qkv in {qkv}, X0 = lse, X1 = y, i[0] causal,
 * i[1] H, f[0] scale.
 */
#include <math.h>
#include <string.h>
#include "autograd/ag.h"
#include "core/util.h"
#include "ops/op.h"
#include "volt/fused.h"

/* ---------------------------------------------------------------------------------------- */
/* helpers                                                                                  */
/* ---------------------------------------------------------------------------------------- */
#define FZ_MAX_TMP 16
typedef struct {
  vt_tensor* t[FZ_MAX_TMP];
  int n;
  int mode; /* the caller's grad mode, restored by fz_end */
} fz_scope;

/* Temporaries are made with grad mode off (the op records one node itself). */
static void fz_begin(fz_scope* z) {
  z->n = 0;
  z->mode = vt_ag_mode;
  vt_ag_mode = 0;
}
static vt_tensor* fz_keep(fz_scope* z, vt_tensor* t) {
  VT_ASSERT(z->n < FZ_MAX_TMP);
  z->t[z->n++] = t;
  return t;
}
static void fz_end(fz_scope* z) {
  for (int j = 0; j < z->n; j++) vt_tensor_release(z->t[j]);
  z->n = 0;
  vt_ag_mode = z->mode;
}

/* The compute dtype of a float dtype, or -1 (error naming op) for anything else. */
static vt_status fz_ctype(const char* op, const char* what, const vt_tensor* t, int* ct) {
  switch (t->dt) {
    case VT_DTYPE_F32: case VT_DTYPE_F16: case VT_DTYPE_BF16: *ct = VT_DTYPE_F32; return VT_OK;
    case VT_DTYPE_F64: *ct = VT_DTYPE_F64; return VT_OK;
    default:
      return vt_set_error(VT_ERR_DTYPE, "%s: %s must be a float tensor (f32, f64, f16 or bf16), got %s",
                          op, what, vt_dtype_name(t->dt));
  }
}

/* t as a contiguous tensor of dtype dt (kept in z), or NULL on error. */
static vt_tensor* fz_prep(fz_scope* z, const vt_tensor* t, int dt, vt_status* s) {
  vt_tensor *c = NULL, *r = NULL;
  if (t->dt != dt) {
    *s = vt_tensor_cast(t, (vt_dtype)dt, &c);
    if (*s != VT_OK) return NULL;
    fz_keep(z, c);
    t = c;
  }
  *s = vt_tensor_contiguous(t, &r);
  if (*s != VT_OK) return NULL;
  return fz_keep(z, r);
}

/* A new contiguous tensor (ndim, shape) of dtype dt (kept in z), or NULL. */
static vt_tensor* fz_new(fz_scope* z, int ndim, const int64_t* shape, int dt, vt_device dev,
                         int zero, vt_status* s) {
  vt_tensor* r = NULL;
  *s = zero ? vt_tensor_zeros(ndim, shape, (vt_dtype)dt, dev, &r)
            : vt_tensor_empty(ndim, shape, (vt_dtype)dt, dev, &r);
  return *s == VT_OK ? fz_keep(z, r) : NULL;
}

/* *res = t converted to dtype dt and reshaped to (ndim, shape) (a new reference). */
static vt_status fz_finish(const vt_tensor* t, int dt, int ndim, const int64_t* shape,
                           vt_tensor** res) {
  vt_tensor* c = NULL;
  if (t->dt != dt) {
    VT_TRY(vt_tensor_cast(t, (vt_dtype)dt, &c));
    t = c;
  }
  vt_status s = vt_tensor_reshape(t, ndim, shape, res);
  if (c) vt_tensor_release(c);
  return s;
}

static vt_status fz_same_device(const char* op, const vt_tensor* a, const vt_tensor* b) {
  if (b && !vt_same_device(a->dev, b->dev))
    return vt_set_error(VT_ERR_DEVICE, "%s: tensors are on different devices (%s:%d and %s:%d)", op,
                        vt_device_type_name(a->dev.type), a->dev.index,
                        vt_device_type_name(b->dev.type), b->dev.index);
  return VT_OK;
}

#define FZ_CHECK(expr)  \
  do {                  \
    s = (expr);         \
    if (s != VT_OK) goto done; \
  } while (0)
#define FZ_NEED(p)                  \
  do {                              \
    if (!(p)) goto done;            \
  } while (0)

/* ---------------------------------------------------------------------------------------- */
/* linear                                                                                   */
/* ---------------------------------------------------------------------------------------- */
static vt_status vt_linear_impl(const vt_tensor* x, const vt_tensor* w, const vt_tensor* b,
                                vt_tensor** y) {
  VT_TRY(vt_check_tensor("linear", "x", x));
  VT_TRY(vt_check_tensor("linear", "weight", w));
  if (b) VT_TRY(vt_check_tensor("linear", "bias", b));
  VT_CHECK_ARG(y != NULL, "linear: the result pointer is NULL");
  *y = NULL;
  int ct = VT_DTYPE_F32;
  VT_TRY(fz_ctype("linear", "x", x, &ct));
  if (w->dt != x->dt || (b && b->dt != x->dt))
    return vt_set_error(VT_ERR_DTYPE, "linear: x (%s), weight (%s) and bias (%s) must have the same dtype",
                        vt_dtype_name(x->dt), vt_dtype_name(w->dt), b ? vt_dtype_name(b->dt) : "none");
  VT_TRY(fz_same_device("linear", x, w));
  VT_TRY(fz_same_device("linear", x, b));
  if (w->ndim != 2)
    return vt_set_error(VT_ERR_SHAPE, "linear: weight must be 2-d (out_features, in_features), got shape %s",
                        vt_shape_s(w));
  int64_t Out = w->sizes[0], In = w->sizes[1];
  if (x->ndim < 1 || x->sizes[x->ndim - 1] != In)
    return vt_set_error(VT_ERR_SHAPE, "linear: x has %lld features (shape %s), weight %s expects %lld",
                        (long long)(x->ndim ? x->sizes[x->ndim - 1] : 0), vt_shape_s(x), vt_shape_s(w),
                        (long long)In);
  if (b && (b->ndim != 1 || b->sizes[0] != Out))
    return vt_set_error(VT_ERR_SHAPE, "linear: bias must have shape [%lld] (one per output feature), got %s",
                        (long long)Out, vt_shape_s(b));
  int64_t M = x->nelem / (In > 0 ? In : 1);
  if (In == 0) {
    M = 1;
    for (int d = 0; d < x->ndim - 1; d++) M *= x->sizes[d];
  }
  int64_t ysh[VT_MAX_DIMS];
  memcpy(ysh, x->sizes, sizeof(int64_t) * (size_t)x->ndim);
  ysh[x->ndim - 1] = Out;

  fz_scope z;
  fz_begin(&z);
  vt_status s = VT_OK;
  if (M == 0 || Out == 0 || In == 0) { /* empty, or no inputs: y = b broadcast (or 0) */
    vt_tensor* r = fz_new(&z, x->ndim, ysh, x->dt, x->dev, 1, &s);
    FZ_NEED(r);
    if (b && M * Out > 0) {
      vt_tensor bv;
      vt_tensor_expand_view(b, x->ndim, ysh, &bv);
      FZ_CHECK(vt_tensor_copy_(r, &bv));
    }
    vt_tensor_retain(r);
    *y = r;
    goto done;
  }
  {
    vt_tensor* xc = fz_prep(&z, x, ct, &s);
    FZ_NEED(xc);
    int64_t x2[2] = {M, In}, y2[2] = {M, Out};
    vt_tensor* xm = NULL;
    FZ_CHECK(vt_tensor_view(xc, 2, x2, &xm));
    fz_keep(&z, xm);
    vt_tensor* wc = fz_prep(&z, w, ct, &s);
    FZ_NEED(wc);
    vt_tensor* bc = NULL;
    if (b) FZ_NEED(bc = fz_prep(&z, b, ct, &s));
    vt_tensor* ym = fz_new(&z, 2, y2, ct, x->dev, 0, &s);
    FZ_NEED(ym);
    vt_op_args args = {.op = VT_OP_linear, .nin = 3, .in = {xm, wc, bc}, .out = {ym}};
    FZ_CHECK(vt_dispatch(x->dev, &args));
    FZ_CHECK(fz_finish(ym, x->dt, x->ndim, ysh, y));
  }
done:
  fz_end(&z);
  return s;
}

vt_status vt_linear(const vt_tensor* x, const vt_tensor* w, const vt_tensor* b, vt_tensor** y) {
  vt_status s = vt_linear_impl(x, w, b, y);
  if (s == VT_OK && vt_ag_on3(x, w, b))
    s = vt_ag_record(&(vt_ag_rec){.op = VT_OP_linear, .nin = 3, .in = {x, w, b}}, NULL, y);
  return s;
}

/* ---------------------------------------------------------------------------------------- */
/* cross-entropy                                                                            */
/* ---------------------------------------------------------------------------------------- */
static vt_status ce_check(const char* op, const vt_tensor* x, const vt_tensor* t,
                          const vt_tensor* w, double eps, int reduction, int* ct) {
  VT_TRY(vt_check_tensor(op, "logits", x));
  VT_TRY(vt_check_tensor(op, "target", t));
  if (w) VT_TRY(vt_check_tensor(op, "weight", w));
  VT_TRY(fz_ctype(op, "logits", x, ct));
  if (t->dt != VT_DTYPE_I64 && t->dt != VT_DTYPE_I32)
    return vt_set_error(VT_ERR_DTYPE, "%s: target must be an i64 or i32 tensor of 1-based class "
                                      "indices, got %s", op, vt_dtype_name(t->dt));
  if (w && !vt_dtype_is_float((vt_dtype)w->dt))
    return vt_set_error(VT_ERR_DTYPE, "%s: weight must be a float tensor, got %s", op,
                        vt_dtype_name(w->dt));
  VT_TRY(fz_same_device(op, x, t));
  VT_TRY(fz_same_device(op, x, w));
  if (x->ndim != 2)
    return vt_set_error(VT_ERR_SHAPE, "%s: logits must be 2-d (N, C), got shape %s", op, vt_shape_s(x));
  if (t->ndim != 1 || t->sizes[0] != x->sizes[0])
    return vt_set_error(VT_ERR_SHAPE, "%s: target must have shape [%lld] for logits %s, got %s", op,
                        (long long)x->sizes[0], vt_shape_s(x), vt_shape_s(t));
  if (w && (w->ndim != 1 || w->sizes[0] != x->sizes[1]))
    return vt_set_error(VT_ERR_SHAPE, "%s: weight must have shape [%lld] (one per class), got %s", op,
                        (long long)x->sizes[1], vt_shape_s(w));
  if (!(eps >= 0 && eps <= 1))
    return vt_set_error(VT_ERR_ARG, "%s: label_smoothing must be in [0, 1], got %g", op, eps);
  if (reduction < VT_REDUCTION_NONE || reduction > VT_REDUCTION_SUM)
    return vt_set_error(VT_ERR_ARG, "%s: reduction must be 0 (none), 1 (mean) or 2 (sum), got %d", op,
                        reduction);
  if (x->sizes[1] == 0 && x->sizes[0] > 0)
    return vt_set_error(VT_ERR_SHAPE, "%s: logits %s have no classes", op, vt_shape_s(x));
  return VT_OK;
}

static vt_status vt_cross_entropy_impl(const vt_tensor* x, const vt_tensor* t, const vt_tensor* w,
                                       int64_t ignore, double eps, int red, vt_tensor** loss,
                                       vt_tensor** lse_out) {
  int ct = VT_DTYPE_F32;
  VT_TRY(ce_check("cross_entropy", x, t, w, eps, red, &ct));
  VT_CHECK_ARG(loss != NULL, "cross_entropy: the result pointer is NULL");
  *loss = NULL;
  *lse_out = NULL;
  int64_t M = x->sizes[0];
  fz_scope z;
  fz_begin(&z);
  vt_status s = VT_OK;
  int64_t lsh[1] = {M};
  if (M == 0) { /* PyTorch: mean of nothing is NaN, sum 0 */
    vt_tensor* r = NULL;
    if (red == VT_REDUCTION_NONE) s = vt_tensor_zeros(1, lsh, (vt_dtype)x->dt, x->dev, &r);
    else s = vt_tensor_full(0, NULL, (vt_dtype)x->dt, x->dev, red == VT_REDUCTION_MEAN ? NAN : 0.0, &r);
    if (s == VT_OK) *loss = r;
    goto done;
  }
  {
    vt_tensor* xc = fz_prep(&z, x, ct, &s);
    FZ_NEED(xc);
    vt_tensor* tc = fz_prep(&z, t, t->dt, &s);
    FZ_NEED(tc);
    vt_tensor* wc = NULL;
    if (w) FZ_NEED(wc = fz_prep(&z, w, ct, &s));
    vt_tensor* l = fz_new(&z, red == VT_REDUCTION_NONE ? 1 : 0, lsh, ct, x->dev, 0, &s);
    FZ_NEED(l);
    vt_tensor* lse = NULL;
    FZ_CHECK(vt_tensor_empty(1, lsh, (vt_dtype)ct, x->dev, &lse));
    vt_op_args args = {.op = VT_OP_cross_entropy, .nin = 3, .in = {xc, tc, wc}, .out = {l, lse}};
    args.i[0] = ignore;
    args.i[1] = red;
    args.f[0] = eps;
    s = vt_dispatch(x->dev, &args);
    if (s == VT_OK) s = fz_finish(l, x->dt, l->ndim, l->sizes, loss);
    if (s == VT_OK) *lse_out = lse;
    else vt_tensor_release(lse);
  }
done:
  fz_end(&z);
  return s;
}

vt_status vt_cross_entropy(const vt_tensor* logits, const vt_tensor* target,
                           const vt_tensor* weight, int64_t ignore_index, double label_smoothing,
                           int reduction, vt_tensor** loss) {
  vt_tensor* lse = NULL;
  vt_status s = vt_cross_entropy_impl(logits, target, weight, ignore_index, label_smoothing,
                                      reduction, loss, &lse);
  if (s == VT_OK && lse && vt_ag_on1(logits)) {
    vt_ag_rec r = {.op = VT_OP_cross_entropy, .nin = 3, .in = {logits, target, weight},
                   .extra = {lse}};
    r.i[0] = ignore_index;
    r.i[1] = reduction;
    r.f[0] = label_smoothing;
    s = vt_ag_record(&r, NULL, loss);
  }
  if (lse) vt_tensor_release(lse);
  return s;
}

vt_status vt_cross_entropy_backward(const vt_tensor* g, const vt_tensor* x, const vt_tensor* t,
                                    const vt_tensor* w, const vt_tensor* lse, int64_t ignore,
                                    double eps, int red, vt_tensor** dx) {
  int ct = VT_DTYPE_F32;
  VT_TRY(ce_check("cross_entropy_backward", x, t, w, eps, red, &ct));
  VT_TRY(vt_check_tensor("cross_entropy_backward", "g", g));
  VT_TRY(vt_check_tensor("cross_entropy_backward", "lse", lse));
  VT_CHECK_ARG(dx != NULL, "cross_entropy_backward: the result pointer is NULL");
  *dx = NULL;
  int64_t M = x->sizes[0], C = x->sizes[1];
  if (red == VT_REDUCTION_NONE ? (g->ndim != 1 || g->sizes[0] != M) : g->nelem != 1)
    return vt_set_error(VT_ERR_SHAPE, "cross_entropy_backward: g has shape %s, expected %s", vt_shape_s(g),
                        red == VT_REDUCTION_NONE ? vt_shape_s2(1, &M) : "[]");
  if (lse->ndim != 1 || lse->sizes[0] != M)
    return vt_set_error(VT_ERR_SHAPE, "cross_entropy_backward: lse has shape %s, expected [%lld]",
                        vt_shape_s(lse), (long long)M);
  int gct;
  VT_TRY(fz_ctype("cross_entropy_backward", "g", g, &gct));
  fz_scope z;
  fz_begin(&z);
  vt_status s = VT_OK;
  if (M == 0) {
    s = vt_tensor_zeros(2, x->sizes, (vt_dtype)g->dt, x->dev, dx);
    goto done;
  }
  {
    vt_tensor* xc = fz_prep(&z, x, ct, &s);
    FZ_NEED(xc);
    vt_tensor* tc = fz_prep(&z, t, t->dt, &s);
    FZ_NEED(tc);
    vt_tensor* wc = NULL;
    if (w) FZ_NEED(wc = fz_prep(&z, w, ct, &s));
    vt_tensor* lc = fz_prep(&z, lse, ct, &s);
    FZ_NEED(lc);
    vt_tensor* gc = fz_prep(&z, g, ct, &s);
    FZ_NEED(gc);
    int64_t sh[2] = {M, C};
    vt_tensor* d = fz_new(&z, 2, sh, ct, x->dev, 0, &s);
    FZ_NEED(d);
    vt_op_args args = {.op = VT_OP_cross_entropy_backward, .nin = 4, .in = {xc, tc, wc, lc},
                       .out = {d}, .ptr = gc};
    args.i[0] = ignore;
    args.i[1] = red;
    args.f[0] = eps;
    FZ_CHECK(vt_dispatch(x->dev, &args));
    FZ_CHECK(fz_finish(d, g->dt, 2, sh, dx));
  }
done:
  fz_end(&z);
  return s;
}

/* ---------------------------------------------------------------------------------------- */
/* scaled dot-product attention                                                             */
/* ---------------------------------------------------------------------------------------- */
/* Checks q, k, v (and their shapes); [out] ct, BH, T, S, D, Dv and the resolved scale. */
static vt_status sdpa_check(const char* op, const vt_tensor* q, const vt_tensor* k,
                            const vt_tensor* v, double* scale, int* ct, int64_t* BH, int64_t* T,
                            int64_t* S, int64_t* D, int64_t* Dv) {
  VT_TRY(vt_check_tensor(op, "q", q));
  VT_TRY(vt_check_tensor(op, "k", k));
  VT_TRY(vt_check_tensor(op, "v", v));
  VT_TRY(fz_ctype(op, "q", q, ct));
  if (k->dt != q->dt || v->dt != q->dt)
    return vt_set_error(VT_ERR_DTYPE, "%s: q (%s), k (%s) and v (%s) must have the same dtype", op,
                        vt_dtype_name(q->dt), vt_dtype_name(k->dt), vt_dtype_name(v->dt));
  VT_TRY(fz_same_device(op, q, k));
  VT_TRY(fz_same_device(op, q, v));
  int nd = q->ndim;
  if (nd < 2 || k->ndim != nd || v->ndim != nd)
    return vt_set_error(VT_ERR_SHAPE, "%s: q, k and v must have the same number of dims (at least 2: "
                                      "(B.., T, D)), got shapes %s, %s and %s",
                        op, vt_shape_s(q), vt_shape_s(k), vt_shape_s(v));
  *BH = 1;
  for (int d = 0; d < nd - 2; d++) {
    if (k->sizes[d] != q->sizes[d] || v->sizes[d] != q->sizes[d])
      return vt_set_error(VT_ERR_SHAPE, "%s: q, k and v must have the same batch dims, got shapes %s, "
                                        "%s and %s", op, vt_shape_s(q), vt_shape_s(k), vt_shape_s(v));
    *BH *= q->sizes[d];
  }
  *T = q->sizes[nd - 2];
  *D = q->sizes[nd - 1];
  *S = k->sizes[nd - 2];
  *Dv = v->sizes[nd - 1];
  if (k->sizes[nd - 1] != *D)
    return vt_set_error(VT_ERR_SHAPE, "%s: q has width %lld but k has %lld (shapes %s and %s)", op,
                        (long long)*D, (long long)k->sizes[nd - 1], vt_shape_s(q), vt_shape_s(k));
  if (v->sizes[nd - 2] != *S)
    return vt_set_error(VT_ERR_SHAPE, "%s: k has %lld keys but v has %lld values (shapes %s and %s)", op,
                        (long long)*S, (long long)v->sizes[nd - 2], vt_shape_s(k), vt_shape_s(v));
  if (*S == 0 && *BH * *T > 0)
    return vt_set_error(VT_ERR_SHAPE, "%s: k and v have no keys (shape %s)", op, vt_shape_s(k));
  if (*D == 0 && *BH * *T > 0)
    return vt_set_error(VT_ERR_SHAPE, "%s: q and k have width 0 (shape %s)", op, vt_shape_s(q));
  if (isnan(*scale) || isinf(*scale))
    return vt_set_error(VT_ERR_ARG, "%s: scale must be finite, got %g", op, *scale);
  if (*scale <= 0) *scale = 1.0 / sqrt((double)(*D > 0 ? *D : 1));
  return VT_OK;
}

static vt_status vt_sdpa_impl(const vt_tensor* q, const vt_tensor* k, const vt_tensor* v,
                              int causal, double* scale, vt_tensor** o, vt_tensor** lse) {
  int ct = VT_DTYPE_F32;
  int64_t BH, T, S, D, Dv;
  VT_TRY(sdpa_check("sdpa", q, k, v, scale, &ct, &BH, &T, &S, &D, &Dv));
  VT_CHECK_ARG(o != NULL, "sdpa: the result pointer is NULL");
  *o = NULL;
  if (lse) *lse = NULL;
  int nd = q->ndim;
  int64_t osh[VT_MAX_DIMS];
  memcpy(osh, q->sizes, sizeof(int64_t) * (size_t)nd);
  osh[nd - 1] = Dv;
  fz_scope z;
  fz_begin(&z);
  vt_status s = VT_OK;
  if (BH * T * Dv == 0) {
    s = vt_tensor_zeros(nd, osh, (vt_dtype)q->dt, q->dev, o);
    if (s == VT_OK && lse) s = vt_tensor_zeros(nd - 1, q->sizes, (vt_dtype)ct, q->dev, lse);
    goto done;
  }
  {
    int64_t q3[3] = {BH, T, D}, k3[3] = {BH, S, D}, v3[3] = {BH, S, Dv}, o3[3] = {BH, T, Dv};
    int64_t l2[2] = {BH, T};
    vt_tensor *qm = NULL, *km = NULL, *vm = NULL;
    vt_tensor* qc = fz_prep(&z, q, ct, &s);
    FZ_NEED(qc);
    FZ_CHECK(vt_tensor_view(qc, 3, q3, &qm));
    fz_keep(&z, qm);
    vt_tensor* kc = fz_prep(&z, k, ct, &s);
    FZ_NEED(kc);
    FZ_CHECK(vt_tensor_view(kc, 3, k3, &km));
    fz_keep(&z, km);
    vt_tensor* vc = fz_prep(&z, v, ct, &s);
    FZ_NEED(vc);
    FZ_CHECK(vt_tensor_view(vc, 3, v3, &vm));
    fz_keep(&z, vm);
    vt_tensor* om = fz_new(&z, 3, o3, ct, q->dev, 0, &s);
    FZ_NEED(om);
    vt_tensor* lm = fz_new(&z, 2, l2, ct, q->dev, 0, &s);
    FZ_NEED(lm);
    vt_op_args args = {.op = VT_OP_sdpa, .nin = 3, .in = {qm, km, vm}, .out = {om, lm}};
    args.i[0] = causal ? 1 : 0;
    args.f[0] = *scale;
    FZ_CHECK(vt_dispatch(q->dev, &args));
    FZ_CHECK(fz_finish(om, q->dt, nd, osh, o));
    if (lse) {
      s = vt_tensor_reshape(lm, nd - 1, q->sizes, lse);
      if (s != VT_OK) {
        vt_tensor_release(*o);
        *o = NULL;
      }
    }
  }
done:
  fz_end(&z);
  return s;
}

vt_status vt_sdpa(const vt_tensor* q, const vt_tensor* k, const vt_tensor* v, int causal,
                  double scale, vt_tensor** o, vt_tensor** lse) {
  vt_tensor* l = NULL;
  vt_status s = vt_sdpa_impl(q, k, v, causal, &scale, o, &l);
  if (s == VT_OK && vt_ag_on3(q, k, v)) {
    vt_ag_rec r = {.op = VT_OP_sdpa, .nin = 3, .in = {q, k, v}, .extra = {l}};
    r.i[0] = causal ? 1 : 0;
    r.f[0] = scale;
    s = vt_ag_record(&r, NULL, o);
  }
  if (lse && s == VT_OK) *lse = l;
  else if (l) vt_tensor_release(l);
  return s;
}

vt_status vt_sdpa_backward(const vt_tensor* g, const vt_tensor* q, const vt_tensor* k,
                           const vt_tensor* v, const vt_tensor* o, const vt_tensor* lse,
                           int causal, double scale, vt_tensor** dq, vt_tensor** dk,
                           vt_tensor** dv) {
  int ct = VT_DTYPE_F32;
  int64_t BH, T, S, D, Dv;
  VT_TRY(sdpa_check("sdpa_backward", q, k, v, &scale, &ct, &BH, &T, &S, &D, &Dv));
  VT_TRY(vt_check_tensor("sdpa_backward", "g", g));
  VT_TRY(vt_check_tensor("sdpa_backward", "o", o));
  VT_TRY(vt_check_tensor("sdpa_backward", "lse", lse));
  VT_CHECK_ARG(dq && dk && dv, "sdpa_backward: a result pointer is NULL");
  *dq = *dk = *dv = NULL;
  int nd = q->ndim;
  if (g->ndim != nd || o->ndim != nd || g->nelem != BH * T * Dv || o->nelem != BH * T * Dv ||
      g->sizes[nd - 1] != Dv || o->sizes[nd - 1] != Dv)
    return vt_set_error(VT_ERR_SHAPE, "sdpa_backward: g %s and o %s must have the output's shape "
                                      "(q %s, v %s)", vt_shape_s(g), vt_shape_s(o), vt_shape_s(q), vt_shape_s(v));
  if (lse->nelem != BH * T)
    return vt_set_error(VT_ERR_SHAPE, "sdpa_backward: lse has shape %s, expected q's shape %s without "
                                      "the last dim", vt_shape_s(lse), vt_shape_s(q));
  fz_scope z;
  fz_begin(&z);
  vt_status s = VT_OK;
  vt_tensor *rq = NULL, *rk = NULL, *rv = NULL;
  if (BH * T * Dv == 0 || BH * S == 0) {
    FZ_CHECK(vt_tensor_zeros(nd, q->sizes, (vt_dtype)q->dt, q->dev, &rq));
    FZ_CHECK(vt_tensor_zeros(nd, k->sizes, (vt_dtype)k->dt, k->dev, &rk));
    FZ_CHECK(vt_tensor_zeros(nd, v->sizes, (vt_dtype)v->dt, v->dev, &rv));
    goto done;
  }
  {
    int64_t q3[3] = {BH, T, D}, k3[3] = {BH, S, D}, v3[3] = {BH, S, Dv}, o3[3] = {BH, T, Dv};
    int64_t l2[2] = {BH, T};
    const vt_tensor* src[6] = {q, k, v, g, o, lse};
    const int64_t* shp[6] = {q3, k3, v3, o3, o3, l2};
    vt_tensor* m[6];
    for (int j = 0; j < 6; j++) {
      vt_tensor* c = fz_prep(&z, src[j], ct, &s);
      FZ_NEED(c);
      m[j] = NULL;
      FZ_CHECK(vt_tensor_view(c, j == 5 ? 2 : 3, shp[j], &m[j]));
      fz_keep(&z, m[j]);
    }
    vt_tensor* gq = fz_new(&z, 3, q3, ct, q->dev, 0, &s);
    FZ_NEED(gq);
    vt_tensor* gk = fz_new(&z, 3, k3, ct, q->dev, 0, &s);
    FZ_NEED(gk);
    vt_tensor* gv = fz_new(&z, 3, v3, ct, q->dev, 0, &s);
    FZ_NEED(gv);
    vt_tensor* extra[3] = {m[4], m[5], gv};
    vt_op_args args = {.op = VT_OP_sdpa_backward, .nin = 4, .in = {m[0], m[1], m[2], m[3]},
                       .out = {gq, gk}, .ptr = extra};
    args.i[0] = causal ? 1 : 0;
    args.f[0] = scale;
    FZ_CHECK(vt_dispatch(q->dev, &args));
    FZ_CHECK(fz_finish(gq, q->dt, nd, q->sizes, &rq));
    FZ_CHECK(fz_finish(gk, k->dt, nd, k->sizes, &rk));
    FZ_CHECK(fz_finish(gv, v->dt, nd, v->sizes, &rv));
  }
done:
  fz_end(&z);
  if (s != VT_OK) {
    if (rq) vt_tensor_release(rq);
    if (rk) vt_tensor_release(rk);
    if (rv) vt_tensor_release(rv);
    return s;
  }
  *dq = rq;
  *dk = rk;
  *dv = rv;
  return VT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* gelu backward                                                                            */
/* ---------------------------------------------------------------------------------------- */
vt_status vt_gelu_backward(const vt_tensor* g, const vt_tensor* x, int tanh_form, vt_tensor** dx) {
  VT_TRY(vt_check_tensor("gelu_backward", "g", g));
  VT_TRY(vt_check_tensor("gelu_backward", "x", x));
  VT_CHECK_ARG(dx != NULL, "gelu_backward: the result pointer is NULL");
  *dx = NULL;
  int ct = VT_DTYPE_F32;
  VT_TRY(fz_ctype("gelu_backward", "x", x, &ct));
  if (g->dt != x->dt)
    return vt_set_error(VT_ERR_DTYPE, "gelu_backward: g (%s) and x (%s) must have the same dtype",
                        vt_dtype_name(g->dt), vt_dtype_name(x->dt));
  VT_TRY(fz_same_device("gelu_backward", x, g));
  int same = g->ndim == x->ndim;
  for (int d = 0; same && d < x->ndim; d++) same = g->sizes[d] == x->sizes[d];
  if (!same)
    return vt_set_error(VT_ERR_SHAPE, "gelu_backward: g has shape %s, x has %s (they must match)",
                        vt_shape_s(g), vt_shape_s(x));
  fz_scope z;
  fz_begin(&z);
  vt_status s = VT_OK;
  if (x->nelem == 0) {
    s = vt_tensor_zeros(x->ndim, x->sizes, (vt_dtype)x->dt, x->dev, dx);
    goto done;
  }
  {
    vt_tensor* gc = fz_prep(&z, g, ct, &s);
    FZ_NEED(gc);
    vt_tensor* xc = fz_prep(&z, x, ct, &s);
    FZ_NEED(xc);
    vt_tensor* d = fz_new(&z, x->ndim, x->sizes, ct, x->dev, 0, &s);
    FZ_NEED(d);
    vt_op_args args = {.op = VT_OP_gelu_backward, .nin = 2, .in = {gc, xc}, .out = {d}};
    args.i[0] = tanh_form ? 1 : 0;
    FZ_CHECK(vt_dispatch(x->dev, &args));
    FZ_CHECK(fz_finish(d, x->dt, x->ndim, x->sizes, dx));
  }
done:
  fz_end(&z);
  return s;
}

/* ---------------------------------------------------------------------------------------- */
/* attention from a packed qkv projection                                                   */
/* ---------------------------------------------------------------------------------------- */
static vt_status sdpa_qkv_check(const char* op, const vt_tensor* qkv, int64_t H, double* scale,
                                int* ct) {
  VT_TRY(vt_check_tensor(op, "qkv", qkv));
  VT_TRY(fz_ctype(op, "qkv", qkv, ct));
  if (qkv->ndim != 3 || qkv->sizes[2] % 3 != 0)
    return vt_set_error(VT_ERR_SHAPE, "%s: qkv must be (B, T, 3E) (q, k, v side by side), got shape %s",
                        op, vt_shape_s(qkv));
  int64_t E = qkv->sizes[2] / 3;
  if (H < 1 || E % H != 0)
    return vt_set_error(VT_ERR_ARG, "%s: num_heads must be positive and divide E = %lld (qkv %s), got %lld",
                        op, (long long)E, vt_shape_s(qkv), (long long)H);
  if (isnan(*scale) || isinf(*scale))
    return vt_set_error(VT_ERR_ARG, "%s: scale must be finite, got %g", op, *scale);
  if (*scale <= 0) *scale = 1.0 / sqrt((double)(E / H > 0 ? E / H : 1));
  return VT_OK;
}

static vt_status vt_sdpa_qkv_impl(const vt_tensor* qkv, int64_t H, int causal, double* scale,
                                  vt_tensor** y, vt_tensor** lse) {
  int ct = VT_DTYPE_F32;
  VT_TRY(sdpa_qkv_check("sdpa_qkv", qkv, H, scale, &ct));
  VT_CHECK_ARG(y != NULL, "sdpa_qkv: the result pointer is NULL");
  *y = NULL;
  *lse = NULL;
  int64_t B = qkv->sizes[0], T = qkv->sizes[1], E = qkv->sizes[2] / 3;
  int64_t ysh[3] = {B, T, E}, lsh[3] = {B, H, T}, l2[2] = {B * H, T};
  fz_scope z;
  fz_begin(&z);
  vt_status s = VT_OK;
  if (B * T * E == 0) {
    s = vt_tensor_zeros(3, ysh, (vt_dtype)qkv->dt, qkv->dev, y);
    if (s == VT_OK) s = vt_tensor_zeros(3, lsh, (vt_dtype)ct, qkv->dev, lse);
    goto done;
  }
  {
    vt_tensor* xc = fz_prep(&z, qkv, ct, &s);
    FZ_NEED(xc);
    vt_tensor* ym = fz_new(&z, 3, ysh, ct, qkv->dev, 0, &s);
    FZ_NEED(ym);
    vt_tensor* lm = fz_new(&z, 2, l2, ct, qkv->dev, 0, &s);
    FZ_NEED(lm);
    vt_op_args args = {.op = VT_OP_sdpa_qkv, .nin = 1, .in = {xc}, .out = {ym, lm}};
    args.i[0] = causal ? 1 : 0;
    args.i[1] = H;
    args.f[0] = *scale;
    FZ_CHECK(vt_dispatch(qkv->dev, &args));
    FZ_CHECK(fz_finish(ym, qkv->dt, 3, ysh, y));
    s = vt_tensor_reshape(lm, 3, lsh, lse);
    if (s != VT_OK) {
      vt_tensor_release(*y);
      *y = NULL;
    }
  }
done:
  fz_end(&z);
  return s;
}

vt_status vt_sdpa_qkv(const vt_tensor* qkv, int64_t num_heads, int causal, double scale,
                      vt_tensor** y, vt_tensor** lse) {
  vt_tensor* l = NULL;
  vt_status s = vt_sdpa_qkv_impl(qkv, num_heads, causal, &scale, y, &l);
  if (s == VT_OK && vt_ag_on1(qkv)) {
    vt_ag_rec r = {.op = VT_OP_sdpa_qkv, .nin = 1, .in = {qkv}, .extra = {l, *y}};
    r.i[0] = causal ? 1 : 0;
    r.i[1] = num_heads;
    r.f[0] = scale;
    s = vt_ag_record(&r, NULL, y);
  }
  if (lse && s == VT_OK) *lse = l;
  else if (l) vt_tensor_release(l);
  return s;
}

vt_status vt_sdpa_qkv_backward(const vt_tensor* g, const vt_tensor* qkv, const vt_tensor* y,
                               const vt_tensor* lse, int64_t H, int causal, double scale,
                               vt_tensor** dqkv) {
  int ct = VT_DTYPE_F32;
  VT_TRY(sdpa_qkv_check("sdpa_qkv_backward", qkv, H, &scale, &ct));
  VT_TRY(vt_check_tensor("sdpa_qkv_backward", "g", g));
  VT_TRY(vt_check_tensor("sdpa_qkv_backward", "y", y));
  VT_TRY(vt_check_tensor("sdpa_qkv_backward", "lse", lse));
  VT_CHECK_ARG(dqkv != NULL, "sdpa_qkv_backward: the result pointer is NULL");
  *dqkv = NULL;
  int64_t B = qkv->sizes[0], T = qkv->sizes[1], E = qkv->sizes[2] / 3;
  int64_t ysh[3] = {B, T, E}, l2[2] = {B * H, T};
  if (g->ndim != 3 || y->ndim != 3 || g->sizes[0] != B || g->sizes[1] != T || g->sizes[2] != E ||
      y->sizes[0] != B || y->sizes[1] != T || y->sizes[2] != E)
    return vt_set_error(VT_ERR_SHAPE, "sdpa_qkv_backward: g %s and y %s must have shape %s (qkv %s)",
                        vt_shape_s(g), vt_shape_s(y), vt_shape_s2(3, ysh), vt_shape_s(qkv));
  if (lse->nelem != B * H * T)
    return vt_set_error(VT_ERR_SHAPE, "sdpa_qkv_backward: lse has shape %s, expected (%lld, %lld, %lld)",
                        vt_shape_s(lse), (long long)B, (long long)H, (long long)T);
  fz_scope z;
  fz_begin(&z);
  vt_status s = VT_OK;
  if (B * T * E == 0) {
    s = vt_tensor_zeros(3, qkv->sizes, (vt_dtype)qkv->dt, qkv->dev, dqkv);
    goto done;
  }
  {
    vt_tensor* xc = fz_prep(&z, qkv, ct, &s);
    FZ_NEED(xc);
    vt_tensor* gc = fz_prep(&z, g, ct, &s);
    FZ_NEED(gc);
    vt_tensor* yc = fz_prep(&z, y, ct, &s);
    FZ_NEED(yc);
    vt_tensor* lc = fz_prep(&z, lse, ct, &s);
    FZ_NEED(lc);
    vt_tensor* lm = NULL;
    FZ_CHECK(vt_tensor_view(lc, 2, l2, &lm));
    fz_keep(&z, lm);
    vt_tensor* d = fz_new(&z, 3, qkv->sizes, ct, qkv->dev, 0, &s);
    FZ_NEED(d);
    vt_tensor* extra[2] = {yc, lm};
    vt_op_args args = {.op = VT_OP_sdpa_qkv_backward, .nin = 2, .in = {xc, gc}, .out = {d},
                       .ptr = extra};
    args.i[0] = causal ? 1 : 0;
    args.i[1] = H;
    args.f[0] = scale;
    FZ_CHECK(vt_dispatch(qkv->dev, &args));
    FZ_CHECK(fz_finish(d, qkv->dt, 3, qkv->sizes, dqkv));
  }
done:
  fz_end(&z);
  return s;
}
