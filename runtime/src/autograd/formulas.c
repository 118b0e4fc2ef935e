/* formulas.c — the backward formula of every differentiable op, written with the public op
 * functions (grad mode is off while they run). Each formula reads the node's output gradient
 * g = gbuf[0], its saved tensors and parameters, and produces the gradient of each input that
 * needs one. Results may keep the broadcast shape or the compute dtype: the engine sums them to
 * each input's shape and casts them to its dtype (engine.c, vt_ag_fit).
 *
 * Conventions follow PyTorch: relu'(0) = 0, abs'(0) = sign(0) = 0; maximum/minimum split the
 * gradient in half between tied operands; amax/amin (and max/min without a dim) share it evenly
 * among tied elements; max/min along a dim give it to the index they returned; pow's gradients
 * are 0 where PyTorch masks them (exponent 0; base 0 with a non-negative exponent).
 */
#include <math.h>
#include <string.h>
#include "autograd/node.h"
#include "core/util.h"
#include "ops/op.h"
#include "volt/elementwise.h"
#include "volt/index.h"
#include "volt/linalg.h"
#include "volt/ops.h"
#include "volt/reduce.h"

/* ---------------------------------------------------------------------------------------- */
/* a scope of temporaries: helpers return NULL once an error happened, and every temporary is  */
/* released at the end; `ret` hands a result out (retained)                                  */
/* ---------------------------------------------------------------------------------------- */
#define AG_MAX_TMP 64
typedef struct {
  vt_tensor* t[AG_MAX_TMP];
  int n;
  vt_status s;
} ag_ctx;

static vt_tensor* keep(ag_ctx* c, vt_status s, vt_tensor* r) {
  if (s != VT_OK) {
    c->s = s;
    return NULL;
  }
  if (c->n == AG_MAX_TMP) {
    vt_tensor_release(r);
    c->s = vt_set_error(VT_ERR_INTERNAL, "backward: too many temporaries");
    return NULL;
  }
  c->t[c->n++] = r;
  return r;
}
#define OK_(c) ((c)->s == VT_OK)
#define ARGS_OK(c, ...) (OK_(c) && ag_all(__VA_ARGS__, (const vt_tensor*)1))

static int ag_all(const vt_tensor* a, ...) {
  /* every argument up to the sentinel 1 must be non-NULL */
  va_list ap;
  va_start(ap, a);
  const vt_tensor* x = a;
  int ok = 1;
  while (x != (const vt_tensor*)1) {
    if (!x) ok = 0;
    x = va_arg(ap, const vt_tensor*);
  }
  va_end(ap);
  return ok;
}

static void ag_end(ag_ctx* c) {
  for (int k = 0; k < c->n; k++) vt_tensor_release(c->t[k]);
  c->n = 0;
}

static vt_tensor* ret(ag_ctx* c, const vt_tensor* t) {
  if (!OK_(c) || !t) return NULL;
  vt_tensor_retain((vt_tensor*)t);
  return (vt_tensor*)t;
}

static vt_tensor* U(ag_ctx* c, int op, const vt_tensor* x) {
  if (!ARGS_OK(c, x)) return NULL;
  vt_tensor* r = NULL;
  vt_status s = vt_unary(op, x, NULL, &r);
  return keep(c, s, r);
}
static vt_tensor* B(ag_ctx* c, int op, const vt_tensor* a, const vt_tensor* b) {
  if (!ARGS_OK(c, a, b)) return NULL;
  vt_tensor* r = NULL;
  vt_status s = vt_binary(op, a, b, NULL, &r);
  return keep(c, s, r);
}
static vt_tensor* BS(ag_ctx* c, int op, const vt_tensor* a, double v) {
  if (!ARGS_OK(c, a)) return NULL;
  vt_tensor* r = NULL;
  vt_status s = vt_binary_scalar(op, a, v, 0, NULL, &r);
  return keep(c, s, r);
}
static vt_tensor* SB(ag_ctx* c, int op, double v, const vt_tensor* a) {
  if (!ARGS_OK(c, a)) return NULL;
  vt_tensor* r = NULL;
  vt_status s = vt_binary_scalar(op, a, v, 1, NULL, &r);
  return keep(c, s, r);
}
static vt_tensor* MASKED(ag_ctx* c, const vt_tensor* x, const vt_tensor* mask, double v) {
  if (!ARGS_OK(c, x, mask)) return NULL;
  vt_tensor* r = NULL;
  vt_status s = vt_masked_fill(x, mask, v, NULL, &r);
  return keep(c, s, r);
}
static vt_tensor* WHERE(ag_ctx* c, const vt_tensor* cond, const vt_tensor* a, const vt_tensor* b) {
  if (!ARGS_OK(c, cond, a, b)) return NULL;
  vt_tensor* r = NULL;
  vt_status s = vt_where(cond, a, b, NULL, &r);
  return keep(c, s, r);
}
static vt_tensor* CAST(ag_ctx* c, const vt_tensor* x, int dt) {
  if (!ARGS_OK(c, x)) return NULL;
  vt_tensor* r = NULL;
  vt_status s = vt_tensor_cast(x, (vt_dtype)dt, &r);
  return keep(c, s, r);
}
static vt_tensor* ZEROS(ag_ctx* c, int ndim, const int64_t* sizes, int dt, vt_device dev) {
  if (!OK_(c)) return NULL;
  vt_tensor* r = NULL;
  vt_status s = vt_tensor_zeros(ndim, sizes, (vt_dtype)dt, dev, &r);
  return keep(c, s, r);
}
static vt_tensor* RESHAPE(ag_ctx* c, const vt_tensor* x, int ndim, const int64_t* sizes) {
  if (!ARGS_OK(c, x)) return NULL;
  vt_tensor* r = NULL;
  vt_status s = vt_tensor_reshape(x, ndim, sizes, &r);
  return keep(c, s, r);
}
static vt_tensor* EXPAND(ag_ctx* c, const vt_tensor* x, int ndim, const int64_t* sizes) {
  if (!ARGS_OK(c, x)) return NULL;
  vt_tensor* r = NULL;
  vt_status s = vt_tensor_expand(x, ndim, sizes, &r);
  return keep(c, s, r);
}
/* sum over the dims in mask, keepdim */
static vt_tensor* SUMK(ag_ctx* c, const vt_tensor* x, uint32_t mask) {
  if (!ARGS_OK(c, x)) return NULL;
  int dims[VT_MAX_DIMS], nd = 0;
  for (int d = 0; d < x->ndim; d++)
    if (mask >> d & 1) dims[nd++] = d;
  if (nd == 0) return (vt_tensor*)x;
  vt_tensor* r = NULL;
  vt_status s = vt_reduce(VT_OP_sum, x, nd, dims, 1, 0, NULL, &r);
  return keep(c, s, r);
}
static vt_tensor* REDK(ag_ctx* c, int op, const vt_tensor* x, uint32_t mask, double param) {
  if (!ARGS_OK(c, x)) return NULL;
  int dims[VT_MAX_DIMS], nd = 0;
  for (int d = 0; d < x->ndim; d++)
    if (mask >> d & 1) dims[nd++] = d;
  if (nd == 0 && x->ndim > 0) return (vt_tensor*)x;
  vt_tensor* r = NULL;
  vt_status s = vt_reduce(op, x, nd, dims, 1, param, NULL, &r);
  return keep(c, s, r);
}
static vt_tensor* MATMUL(ag_ctx* c, const vt_tensor* a, const vt_tensor* b) {
  if (!ARGS_OK(c, a, b)) return NULL;
  vt_tensor* r = NULL;
  vt_status s = vt_matmul(a, b, NULL, &r);
  return keep(c, s, r);
}
static vt_tensor* TRANSPOSE(ag_ctx* c, const vt_tensor* x, int d0, int d1) {
  if (!ARGS_OK(c, x)) return NULL;
  vt_tensor* r = NULL;
  vt_status s = vt_tensor_transpose(x, d0, d1, &r);
  return keep(c, s, r);
}
static vt_tensor* UNSQUEEZE(ag_ctx* c, const vt_tensor* x, int d) {
  if (!ARGS_OK(c, x)) return NULL;
  vt_tensor* r = NULL;
  vt_status s = vt_tensor_unsqueeze(x, d, &r);
  return keep(c, s, r);
}
static vt_tensor* SQUEEZE(ag_ctx* c, const vt_tensor* x, int d) {
  if (!ARGS_OK(c, x)) return NULL;
  vt_tensor* r = NULL;
  vt_status s = vt_tensor_squeeze(x, d, &r);
  return keep(c, s, r);
}
static void ag_fail(ag_ctx* c, vt_status s) {
  if (OK_(c) && s != VT_OK) c->s = s;
}

/* x's float dtype for masks and zeros */
static int fdt(const vt_tensor* g) { return g->dt; }

/* g of a reduction over mask (keepdim or not), viewed with x's ndim and expanded to x's shape */
static vt_tensor* unreduce(ag_ctx* c, const vt_tensor* g, int ndim, const int64_t* sizes,
                           uint32_t mask, int keepdim) {
  if (!ARGS_OK(c, g)) return NULL;
  int64_t ks[VT_MAX_DIMS];
  for (int d = 0; d < ndim; d++) ks[d] = (mask >> d & 1) ? 1 : sizes[d];
  const vt_tensor* gk = g;
  if (!keepdim || g->ndim != ndim) gk = RESHAPE(c, g, ndim, ks);
  return EXPAND(c, gk, ndim, sizes);
}

/* ---------------------------------------------------------------------------------------- */
/* sum_to                                                                                   */
/* ---------------------------------------------------------------------------------------- */
vt_status vt_ag_sum_to(const vt_tensor* g, int ndim, const int64_t* sizes, vt_tensor** out) {
  *out = NULL;
  if (g->ndim < ndim) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= sizes[d];
    if (n == g->nelem) return vt_tensor_reshape(g, ndim, sizes, out);
    return vt_set_error(VT_ERR_INTERNAL, "backward: gradient of shape %s does not fit %s",
                        vt_shape_s(g), vt_shape_s2(ndim, sizes));
  }
  int lead = g->ndim - ndim;
  int dims[VT_MAX_DIMS], nd = 0;
  for (int d = 0; d < g->ndim; d++) {
    if (d < lead) dims[nd++] = d;
    else if (sizes[d - lead] != g->sizes[d]) {
      if (sizes[d - lead] != 1)
        return vt_set_error(VT_ERR_INTERNAL, "backward: gradient of shape %s does not fit %s",
                            vt_shape_s(g), vt_shape_s2(ndim, sizes));
      dims[nd++] = d;
    }
  }
  if (nd == 0) {
    vt_tensor_retain((vt_tensor*)g);
    *out = (vt_tensor*)g;
    return VT_OK;
  }
  vt_tensor* r;
  VT_TRY(vt_reduce(VT_OP_sum, g, nd, dims, 1, 0, NULL, &r));
  vt_status s = vt_tensor_reshape(r, ndim, sizes, out);
  vt_tensor_release(r);
  return s;
}

/* ---------------------------------------------------------------------------------------- */
/* pointwise derivatives without an op (gelu needs erf): a loop over f64 copies (CPU)         */
/* ---------------------------------------------------------------------------------------- */
static vt_tensor* gelu_grad(ag_ctx* c, const vt_tensor* x, int tanh_form) {
  if (!ARGS_OK(c, x)) return NULL;
  vt_tensor* xd = CAST(c, x, VT_DTYPE_F64);
  if (!OK_(c)) return NULL;
  if (xd->dev.type != VT_DEVICE_CPU) {
    c->s = vt_set_error(VT_ERR_UNSUPPORTED, "backward of gelu: only on the CPU for now");
    return NULL;
  }
  vt_tensor* d = ZEROS(c, x->ndim, x->sizes, VT_DTYPE_F64, x->dev);
  vt_tensor* xc = NULL;
  if (OK_(c)) {
    vt_status s = vt_tensor_contiguous(xd, &xc);
    xc = keep(c, s, xc);
  }
  if (!OK_(c)) return NULL;
  const double* px = xc->ptr;
  double* pd = d->ptr;
  const double k0 = 0.7978845608028654; /* sqrt(2/pi) */
  for (int64_t i = 0; i < x->nelem; i++) {
    double v = px[i];
    if (tanh_form) {
      double u = k0 * (v + 0.044715 * v * v * v);
      double t = tanh(u);
      pd[i] = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k0 * (1 + 3 * 0.044715 * v * v);
    } else {
      double cdf = 0.5 * (1 + erf(v * 0.7071067811865476));
      double pdf = exp(-0.5 * v * v) * 0.3989422804014327;
      pd[i] = cdf + v * pdf;
    }
  }
  return CAST(c, d, x->dt);
}

/* ---------------------------------------------------------------------------------------- */
/* the formulas                                                                             */
/* ---------------------------------------------------------------------------------------- */
static uint32_t full_mask(int ndim) { return ndim ? (1u << ndim) - 1 : 0; }

/* reduction mask from the recorded dims (i[0] holds the mask already) */
static int64_t reduced_count(const vt_ag_edge* e, uint32_t mask) {
  int64_t r = 1;
  for (int d = 0; d < e->ndim; d++)
    if (mask >> d & 1) r *= e->sizes[d];
  return r;
}

/* gradient of an "evenly shared among ties" extremum (amax, amin, norm inf) */
static vt_tensor* evenly(ag_ctx* c, const vt_tensor* gk, const vt_tensor* x, const vt_tensor* yk,
                         uint32_t mask) {
  vt_tensor* m = CAST(c, B(c, VT_OP_eq, x, yk), fdt(gk));
  vt_tensor* cnt = SUMK(c, m, mask);
  return B(c, VT_OP_mul, gk, B(c, VT_OP_div, m, cnt));
}

/* gsrc of scatter/scatter_add: gather(g) padded with zeros to src's shape */
static vt_tensor* gather_padded(ag_ctx* c, const vt_tensor* g, int dim, const vt_tensor* index,
                                int64_t base, const vt_ag_edge* src) {
  if (!ARGS_OK(c, g, index)) return NULL;
  vt_tensor* r = NULL;
  vt_status s = vt_gather(g, dim, index, base, NULL, &r);
  vt_tensor* gg = keep(c, s, r);
  if (!OK_(c)) return NULL;
  if (gg->ndim == src->ndim && memcmp(gg->sizes, src->sizes, sizeof(int64_t) * (size_t)src->ndim) == 0)
    return gg;
  vt_tensor* z = ZEROS(c, src->ndim, src->sizes, gg->dt, gg->dev);
  if (!OK_(c)) return NULL;
  vt_tensor* v = z;
  vt_tensor* hold[VT_MAX_DIMS] = {0};
  for (int d = 0; d < src->ndim && d < gg->ndim && s == VT_OK; d++) {
    vt_tensor* nv;
    s = vt_tensor_narrow(v, d, 0, gg->sizes[d], &nv);
    if (s == VT_OK) hold[d] = v = nv;
  }
  if (s == VT_OK) s = vt_tensor_copy_(v, gg);
  for (int d = 0; d < VT_MAX_DIMS; d++) vt_tensor_release(hold[d]);
  ag_fail(c, s);
  return OK_(c) ? z : NULL;
}

/* zeros of the input's shape with g written into the region a view function selects */
typedef vt_status (*ag_view_fn)(const vt_tensor* z, const int64_t* p, vt_tensor** v);
static vt_status v_narrow(const vt_tensor* z, const int64_t* p, vt_tensor** v) {
  return vt_tensor_narrow(z, (int)p[0], p[1], p[2], v);
}
static vt_status v_select(const vt_tensor* z, const int64_t* p, vt_tensor** v) {
  return vt_tensor_select(z, (int)p[0], p[1], v);
}
static vt_status v_slice(const vt_tensor* z, const int64_t* p, vt_tensor** v) {
  return vt_tensor_slice(z, (int)p[0], p[1], p[2], p[3], v);
}
static vt_tensor* embed(ag_ctx* c, const vt_tensor* g, const vt_ag_edge* e, ag_view_fn fn,
                        const int64_t* p) {
  vt_tensor* z = ZEROS(c, e->ndim, e->sizes, g->dt, g->dev);
  if (!OK_(c)) return NULL;
  vt_tensor* v = NULL;
  vt_status s = fn(z, p, &v);
  if (s == VT_OK) s = vt_tensor_copy_(v, g);
  vt_tensor_release(v);
  ag_fail(c, s);
  return OK_(c) ? z : NULL;
}

/* as_strided: scatter-add g through the output's geometry into a buffer over the storage, then
   read it back through the input's geometry */
static vt_tensor* as_strided_grad(ag_ctx* c, const vt_tensor* g, const vt_tensor* xin,
                                  const vt_tensor* yout) {
  if (!ARGS_OK(c, g, xin, yout)) return NULL;
  int64_t ext = 0;
  const vt_tensor* ts[2] = {xin, yout};
  for (int k = 0; k < 2; k++) {
    const vt_tensor* t = ts[k];
    if (t->nelem == 0) continue;
    int64_t m = t->offset;
    for (int d = 0; d < t->ndim; d++) m += (t->sizes[d] - 1) * t->strides[d];
    if (m + 1 > ext) ext = m + 1;
  }
  vt_tensor* buf = ZEROS(c, 1, &ext, g->dt, g->dev);
  int64_t n = yout->nelem;
  vt_tensor* idx = ZEROS(c, 1, &n, VT_DTYPE_I64, (vt_device){VT_DEVICE_CPU, 0});
  if (!OK_(c)) return NULL;
  int64_t* pi = idx->ptr;
  int64_t pos[VT_MAX_DIMS] = {0};
  for (int64_t k = 0; k < n; k++) {
    int64_t off = yout->offset;
    for (int d = 0; d < yout->ndim; d++) off += pos[d] * yout->strides[d];
    pi[k] = off;
    for (int d = yout->ndim - 1; d >= 0; d--) {
      if (++pos[d] < yout->sizes[d]) break;
      pos[d] = 0;
    }
  }
  vt_tensor* gflat = RESHAPE(c, g, 1, &n);
  if (!OK_(c)) return NULL;
  vt_tensor* idxd = idx;
  if (!vt_same_device(idx->dev, g->dev)) {
    vt_tensor* r = NULL;
    vt_status s = vt_tensor_to_device(idx, g->dev, &r);
    idxd = keep(c, s, r);
    if (!OK_(c)) return NULL;
  }
  ag_fail(c, vt_index_add(buf, 0, idxd, 0, gflat, 1.0, buf, NULL));
  if (!OK_(c)) return NULL;
  vt_tensor* v = NULL;
  vt_status s = vt_tensor_as_strided(buf, xin->ndim, xin->sizes, xin->strides, xin->offset, &v);
  vt_tensor* vv = keep(c, s, v);
  if (!OK_(c)) return NULL;
  vt_tensor* r = NULL;
  s = vt_tensor_clone(vv, &r);
  return keep(c, s, r);
}

vt_status vt_ag_backward_op(vt_ag_node* n, const int* need, vt_tensor** gin) {
  vt_status fs = VT_OK;
  if (vt_ag_backward_conv(n, need, gin, &fs) || vt_ag_backward_pool(n, need, gin, &fs) ||
      vt_ag_backward_norm(n, need, gin, &fs) || vt_ag_backward_fused(n, need, gin, &fs))
    return fs;
  ag_ctx cc = {.n = 0, .s = VT_OK};
  ag_ctx* c = &cc;
  const vt_tensor* g = n->gbuf[0];
  const vt_tensor* x = n->saved[VT_SV_IN0].present ? &n->saved[VT_SV_IN0].t : NULL;
  const vt_tensor* b = n->saved[VT_SV_IN1].present ? &n->saved[VT_SV_IN1].t : NULL;
  const vt_tensor* w = n->saved[VT_SV_IN2].present ? &n->saved[VT_SV_IN2].t : NULL;
  const vt_tensor* y = n->saved[VT_SV_OUT].present ? &n->saved[VT_SV_OUT].t : NULL;
  const vt_tensor* x0 = n->saved[VT_SV_X0].present ? &n->saved[VT_SV_X0].t : NULL;
  const vt_ag_edge* e0 = n->nin > 0 ? &n->edges[0] : NULL;
  int n0 = n->nin > 0 && need[0], n1 = n->nin > 1 && need[1], n2 = n->nin > 2 && need[2];
  const int64_t* ip = n->i;
  const double* fp = n->f;
  switch (n->op) {
    /* ---- unary ------------------------------------------------------------------------- */
    case VT_OP_neg: gin[0] = ret(c, U(c, VT_OP_neg, g)); break;
    case VT_OP_abs: gin[0] = ret(c, B(c, VT_OP_mul, g, U(c, VT_OP_sign, x))); break;
    case VT_OP_sign: gin[0] = ret(c, ZEROS(c, g->ndim, g->sizes, g->dt, g->dev)); break;
    case VT_OP_exp: gin[0] = ret(c, B(c, VT_OP_mul, g, y)); break;
    case VT_OP_log: gin[0] = ret(c, B(c, VT_OP_div, g, x)); break;
    case VT_OP_log1p: gin[0] = ret(c, B(c, VT_OP_div, g, BS(c, VT_OP_add, x, 1.0))); break;
    case VT_OP_sqrt: gin[0] = ret(c, B(c, VT_OP_div, g, BS(c, VT_OP_mul, y, 2.0))); break;
    case VT_OP_rsqrt:
      gin[0] = ret(c, B(c, VT_OP_mul, g,
                        BS(c, VT_OP_mul, B(c, VT_OP_mul, B(c, VT_OP_mul, y, y), y), -0.5)));
      break;
    case VT_OP_sin: gin[0] = ret(c, B(c, VT_OP_mul, g, U(c, VT_OP_cos, x))); break;
    case VT_OP_cos: gin[0] = ret(c, B(c, VT_OP_mul, g, U(c, VT_OP_neg, U(c, VT_OP_sin, x)))); break;
    case VT_OP_tanh:
      gin[0] = ret(c, B(c, VT_OP_mul, g, SB(c, VT_OP_sub, 1.0, B(c, VT_OP_mul, y, y))));
      break;
    case VT_OP_sigmoid:
      gin[0] = ret(c, B(c, VT_OP_mul, g, B(c, VT_OP_mul, y, SB(c, VT_OP_sub, 1.0, y))));
      break;
    case VT_OP_relu: gin[0] = ret(c, B(c, VT_OP_relu_backward, g, y)); break; /* one pass */
    case VT_OP_gelu: gin[0] = ret(c, B(c, VT_OP_mul, g, gelu_grad(c, x, 0))); break;
    case VT_OP_gelu_tanh: gin[0] = ret(c, B(c, VT_OP_mul, g, gelu_grad(c, x, 1))); break;
    case VT_OP_silu: {
      vt_tensor* s = U(c, VT_OP_sigmoid, x);
      vt_tensor* d = B(c, VT_OP_mul, s, BS(c, VT_OP_add, B(c, VT_OP_mul, x, SB(c, VT_OP_sub, 1.0, s)), 1.0));
      gin[0] = ret(c, B(c, VT_OP_mul, g, d));
      break;
    }
    case VT_OP_square: gin[0] = ret(c, B(c, VT_OP_mul, g, BS(c, VT_OP_mul, x, 2.0))); break;
    case VT_OP_reciprocal:
      gin[0] = ret(c, B(c, VT_OP_mul, g, U(c, VT_OP_neg, B(c, VT_OP_mul, y, y))));
      break;

    /* ---- binary (scalar forms: variant 1, f[0] = the number, i[0] = reversed) ------------ */
    case VT_OP_add:
      if (n0) gin[0] = ret(c, g);
      if (n1) gin[1] = ret(c, g);
      break;
    case VT_OP_sub:
      if (n->variant) {
        gin[0] = ret(c, ip[0] ? U(c, VT_OP_neg, g) : g);
        break;
      }
      if (n0) gin[0] = ret(c, g);
      if (n1) gin[1] = ret(c, U(c, VT_OP_neg, g));
      break;
    case VT_OP_mul:
      if (n->variant) {
        gin[0] = ret(c, BS(c, VT_OP_mul, g, fp[0]));
        break;
      }
      if (n0) gin[0] = ret(c, B(c, VT_OP_mul, g, b));
      if (n1) gin[1] = ret(c, B(c, VT_OP_mul, g, x));
      break;
    case VT_OP_div:
      if (n->variant) {
        if (ip[0]) /* s / x: -g * y / x */
          gin[0] = ret(c, U(c, VT_OP_neg, B(c, VT_OP_div, B(c, VT_OP_mul, g, y), x)));
        else
          gin[0] = ret(c, BS(c, VT_OP_div, g, fp[0]));
        break;
      }
      if (n0) gin[0] = ret(c, B(c, VT_OP_div, g, b));
      if (n1)
        gin[1] = ret(c, U(c, VT_OP_neg, B(c, VT_OP_div, B(c, VT_OP_mul, g, x), B(c, VT_OP_mul, b, b))));
      break;
    case VT_OP_pow:
      if (n->variant) {
        double s = fp[0];
        if (!ip[0]) { /* x ^ s */
          if (s == 0) gin[0] = ret(c, ZEROS(c, g->ndim, g->sizes, g->dt, g->dev));
          else gin[0] = ret(c, B(c, VT_OP_mul, g, BS(c, VT_OP_mul, BS(c, VT_OP_pow, x, s - 1), s)));
        } else { /* s ^ x: g * y * log(s) */
          vt_tensor* r = BS(c, VT_OP_mul, B(c, VT_OP_mul, g, y), log(s));
          if (s == 0) r = MASKED(c, r, BS(c, VT_OP_ge, x, 0.0), 0.0);
          gin[0] = ret(c, r);
        }
        break;
      }
      if (n0) {
        vt_tensor* d = B(c, VT_OP_mul, b, B(c, VT_OP_pow, x, BS(c, VT_OP_sub, b, 1.0)));
        d = MASKED(c, d, BS(c, VT_OP_eq, b, 0.0), 0.0);
        gin[0] = ret(c, B(c, VT_OP_mul, g, d));
      }
      if (n1) {
        vt_tensor* d = B(c, VT_OP_mul, B(c, VT_OP_mul, g, y), U(c, VT_OP_log, x));
        d = MASKED(c, d, B(c, VT_OP_logical_and, BS(c, VT_OP_eq, x, 0.0), BS(c, VT_OP_ge, b, 0.0)), 0.0);
        gin[1] = ret(c, d);
      }
      break;
    case VT_OP_maximum:
    case VT_OP_minimum: {
      int mx = n->op == VT_OP_maximum;
      if (n->variant) {
        vt_tensor* h = WHERE(c, BS(c, VT_OP_eq, x, fp[0]), BS(c, VT_OP_mul, g, 0.5), g);
        gin[0] = ret(c, MASKED(c, h, BS(c, mx ? VT_OP_lt : VT_OP_gt, x, fp[0]), 0.0));
        break;
      }
      vt_tensor* h = WHERE(c, B(c, VT_OP_eq, x, b), BS(c, VT_OP_mul, g, 0.5), g);
      if (n0) gin[0] = ret(c, MASKED(c, h, B(c, mx ? VT_OP_lt : VT_OP_gt, x, b), 0.0));
      if (n1) gin[1] = ret(c, MASKED(c, h, B(c, mx ? VT_OP_gt : VT_OP_lt, x, b), 0.0));
      break;
    }

    /* ---- where, clamp, lerp, copy ------------------------------------------------------ */
    case VT_OP_where: /* inputs a, b; X0 = cond */
      if (n0) gin[0] = ret(c, MASKED(c, g, U(c, VT_OP_logical_not, x0), 0.0));
      if (n1) gin[1] = ret(c, MASKED(c, g, x0, 0.0));
      break;
    case VT_OP_clamp: {
      vt_tensor* m = B(c, VT_OP_logical_and, BS(c, VT_OP_ge, x, fp[0]), BS(c, VT_OP_le, x, fp[1]));
      gin[0] = ret(c, B(c, VT_OP_mul, g, m));
      break;
    }
    case VT_OP_lerp:
      if (n->variant) {
        if (n0) gin[0] = ret(c, BS(c, VT_OP_mul, g, 1.0 - fp[0]));
        if (n1) gin[1] = ret(c, BS(c, VT_OP_mul, g, fp[0]));
        break;
      }
      if (n0) gin[0] = ret(c, B(c, VT_OP_mul, g, SB(c, VT_OP_sub, 1.0, w)));
      if (n1) gin[1] = ret(c, B(c, VT_OP_mul, g, w));
      if (n2) gin[2] = ret(c, B(c, VT_OP_mul, g, B(c, VT_OP_sub, b, x)));
      break;
    case VT_OP_copy: gin[0] = ret(c, g); break;

    /* ---- reductions: i[0] = mask of reduced dims, i[1] = keepdim, f[0] = param ---------- */
    case VT_OP_sum:
    case VT_OP_mean:
    case VT_OP_prod:
    case VT_OP_amax:
    case VT_OP_amin:
    case VT_OP_var:
    case VT_OP_std:
    case VT_OP_logsumexp:
    case VT_OP_norm: {
      uint32_t mask = (uint32_t)ip[0];
      int kd = (int)ip[1];
      vt_tensor* gk = unreduce(c, g, e0->ndim, e0->sizes, mask, kd);
      vt_tensor* yk = y ? unreduce(c, y, e0->ndim, e0->sizes, mask, kd) : NULL;
      double R = (double)reduced_count(e0, mask);
      switch (n->op) {
        case VT_OP_sum: gin[0] = ret(c, gk); break;
        case VT_OP_mean: gin[0] = ret(c, BS(c, VT_OP_div, gk, R)); break;
        case VT_OP_prod: {
          vt_tensor* z = BS(c, VT_OP_eq, x, 0.0);
          vt_tensor* cnt = SUMK(c, CAST(c, z, x->dt), mask);
          vt_tensor* x1 = MASKED(c, x, z, 1.0);
          vt_tensor* p1 = REDK(c, VT_OP_prod, x1, mask, 0);
          vt_tensor* none = B(c, VT_OP_div, p1, x1); /* no zero in the slice: y / x */
          vt_tensor* one = MASKED(c, p1 ? EXPAND(c, p1, x->ndim, x->sizes) : NULL, U(c, VT_OP_logical_not, z), 0.0);
          one = MASKED(c, one, U(c, VT_OP_logical_not, BS(c, VT_OP_eq, cnt, 1.0)), 0.0);
          vt_tensor* d = WHERE(c, BS(c, VT_OP_eq, cnt, 0.0), none, one);
          gin[0] = ret(c, B(c, VT_OP_mul, gk, d));
          break;
        }
        case VT_OP_amax:
        case VT_OP_amin: gin[0] = ret(c, evenly(c, gk, x, yk, mask)); break;
        case VT_OP_var:
        case VT_OP_std: {
          vt_tensor* mean = REDK(c, VT_OP_mean, x, mask, 0);
          vt_tensor* dx = B(c, VT_OP_sub, x, mean);
          double den = R - fp[0];
          if (den < 0) den = 0;
          if (n->op == VT_OP_var)
            gin[0] = ret(c, B(c, VT_OP_mul, gk, BS(c, VT_OP_mul, dx, 2.0 / den)));
          else
            gin[0] = ret(c, B(c, VT_OP_mul, gk, B(c, VT_OP_div, dx, BS(c, VT_OP_mul, yk, den))));
          break;
        }
        case VT_OP_logsumexp:
          gin[0] = ret(c, B(c, VT_OP_mul, gk, U(c, VT_OP_exp, B(c, VT_OP_sub, x, yk))));
          break;
        case VT_OP_norm: {
          double p = fp[0];
          vt_tensor* r;
          if (p == 0) {
            r = ZEROS(c, x->ndim, x->sizes, g->dt, g->dev);
          } else if (p == 1) {
            r = B(c, VT_OP_mul, gk, U(c, VT_OP_sign, x));
          } else if (isinf(p)) {
            r = B(c, VT_OP_mul, U(c, VT_OP_sign, x), evenly(c, gk, U(c, VT_OP_abs, x), yk, mask));
          } else if (p == 2) {
            r = MASKED(c, B(c, VT_OP_div, B(c, VT_OP_mul, gk, x), yk), BS(c, VT_OP_eq, yk, 0.0), 0.0);
          } else {
            vt_tensor* num = B(c, VT_OP_mul, U(c, VT_OP_sign, x), BS(c, VT_OP_pow, U(c, VT_OP_abs, x), p - 1));
            r = B(c, VT_OP_div, B(c, VT_OP_mul, gk, num), BS(c, VT_OP_pow, yk, p - 1));
            r = MASKED(c, r, BS(c, VT_OP_eq, yk, 0.0), 0.0);
          }
          gin[0] = ret(c, r);
          break;
        }
      }
      break;
    }
    case VT_OP_max:
    case VT_OP_min: { /* i[0] = dim or VT_ALL_DIMS, i[1] = keepdim, i[2] = base; X0 = indices */
      int dim = (int)ip[0];
      int kd = (int)ip[1];
      if (dim == VT_ALL_DIMS || e0->ndim == 0) {
        uint32_t mask = full_mask(e0->ndim);
        vt_tensor* gk = unreduce(c, g, e0->ndim, e0->sizes, mask, kd);
        vt_tensor* yk = unreduce(c, y, e0->ndim, e0->sizes, mask, kd);
        gin[0] = ret(c, evenly(c, gk, x, yk, mask));
        break;
      }
      const vt_tensor* gk = g;
      const vt_tensor* ik = x0;
      if (!kd) {
        gk = UNSQUEEZE(c, g, dim);
        ik = UNSQUEEZE(c, x0, dim);
      }
      vt_tensor* z = ZEROS(c, e0->ndim, e0->sizes, g->dt, g->dev);
      if (OK_(c)) ag_fail(c, vt_scatter(z, dim, ik, ip[2], gk, z, NULL));
      gin[0] = ret(c, z);
      break;
    }
    case VT_OP_softmax: { /* i[0] = dim */
      uint32_t mask = e0->ndim ? 1u << ip[0] : 0;
      vt_tensor* gy = B(c, VT_OP_mul, g, y);
      gin[0] = ret(c, B(c, VT_OP_sub, gy, B(c, VT_OP_mul, y, SUMK(c, gy, mask))));
      break;
    }
    case VT_OP_log_softmax: {
      uint32_t mask = e0->ndim ? 1u << ip[0] : 0;
      gin[0] = ret(c, B(c, VT_OP_sub, g, B(c, VT_OP_mul, U(c, VT_OP_exp, y), SUMK(c, g, mask))));
      break;
    }
    case VT_OP_cumsum: {
      uint32_t mask = e0->ndim ? 1u << ip[0] : 0;
      vt_tensor* cs = NULL;
      if (OK_(c)) {
        vt_status s = vt_cumsum(g, (int)ip[0], -1, NULL, &cs);
        cs = keep(c, s, cs);
      }
      gin[0] = ret(c, B(c, VT_OP_add, B(c, VT_OP_sub, SUMK(c, g, mask), cs), g));
      break;
    }

    /* ---- matmul ------------------------------------------------------------------------- */
    case VT_OP_matmul: {
      const vt_ag_edge* ea = &n->edges[0];
      const vt_ag_edge* eb = &n->edges[1];
      const vt_tensor* g2 = g;
      if (ea->ndim == 1 && eb->ndim == 1) {
        int64_t one[2] = {1, 1};
        g2 = RESHAPE(c, g, 2, one);
      } else {
        if (ea->ndim == 1) g2 = UNSQUEEZE(c, g2, -2);
        if (eb->ndim == 1) g2 = UNSQUEEZE(c, g2, -1);
      }
      if (n0) { /* ga = g2 @ b2^T */
        const vt_tensor* b2 = eb->ndim == 1 ? UNSQUEEZE(c, b, 1) : b;
        vt_tensor* ga = MATMUL(c, g2, TRANSPOSE(c, b2, -1, -2));
        if (ea->ndim == 1) ga = SQUEEZE(c, ga, -2);
        gin[0] = ret(c, ga);
      }
      if (n1) { /* gb = a2^T @ g2 */
        const vt_tensor* a2 = ea->ndim == 1 ? UNSQUEEZE(c, x, 0) : x;
        vt_tensor* gb = MATMUL(c, TRANSPOSE(c, a2, -1, -2), g2);
        if (eb->ndim == 1) gb = SQUEEZE(c, gb, -1);
        gin[1] = ret(c, gb);
      }
      break;
    }

    /* ---- indexing: i[0] = dim, i[1] = base; X0 = index / mask ---------------------------- */
    case VT_OP_index_select: {
      vt_tensor* z = ZEROS(c, e0->ndim, e0->sizes, g->dt, g->dev);
      if (OK_(c)) ag_fail(c, vt_index_add(z, (int)ip[0], x0, ip[1], g, 1.0, z, NULL));
      gin[0] = ret(c, z);
      break;
    }
    case VT_OP_gather: {
      vt_tensor* z = ZEROS(c, e0->ndim, e0->sizes, g->dt, g->dev);
      if (OK_(c)) ag_fail(c, vt_scatter_add(z, (int)ip[0], x0, ip[1], g, z, NULL));
      gin[0] = ret(c, z);
      break;
    }
    case VT_OP_scatter:
    case VT_OP_scatter_add: /* inputs x, src */
      if (n0) {
        if (n->op == VT_OP_scatter_add) {
          gin[0] = ret(c, g);
        } else {
          vt_tensor* r = NULL;
          vt_status s = vt_scatter_value(g, (int)ip[0], x0, ip[1], 0.0, NULL, &r);
          gin[0] = ret(c, keep(c, s, r));
        }
      }
      if (n1) gin[1] = ret(c, gather_padded(c, g, (int)ip[0], x0, ip[1], &n->edges[1]));
      break;
    case VT_OP_index_add: /* inputs x, src; f[0] = alpha */
      if (n0) gin[0] = ret(c, g);
      if (n1) {
        vt_tensor* r = NULL;
        vt_status s = vt_index_select(g, (int)ip[0], x0, ip[1], NULL, &r);
        gin[1] = ret(c, BS(c, VT_OP_mul, keep(c, s, r), fp[0]));
      }
      break;
    case VT_OP_masked_fill: gin[0] = ret(c, MASKED(c, g, x0, 0.0)); break;
    case VT_OP_tril:
    case VT_OP_triu: {
      vt_tensor* r = NULL;
      vt_status s = n->op == VT_OP_tril ? vt_tril(g, ip[0], NULL, &r) : vt_triu(g, ip[0], NULL, &r);
      gin[0] = ret(c, keep(c, s, r));
      break;
    }
    case VT_OP_cat: { /* i[0] = dim (wrapped against the result) */
      int dim = (int)ip[0];
      int64_t off = 0;
      for (int j = 0; j < n->nin && OK_(c); j++) {
        const vt_ag_edge* e = &n->edges[j];
        if (e->ndim == 1 && e->sizes[0] == 0 && g->ndim != 1) continue; /* skipped by cat */
        int64_t len = e->ndim > dim ? e->sizes[dim] : 0;
        if (need[j]) {
          vt_tensor* r = NULL;
          vt_status s = vt_tensor_narrow(g, dim, off, len, &r);
          gin[j] = ret(c, keep(c, s, r));
        }
        off += len;
      }
      break;
    }

    /* ---- views ------------------------------------------------------------------------- */
    case VT_AG_VIEW: gin[0] = ret(c, RESHAPE(c, g, e0->ndim, e0->sizes)); break;
    case VT_AG_EXPAND: gin[0] = ret(c, g); break;
    case VT_AG_TRANSPOSE: gin[0] = ret(c, TRANSPOSE(c, g, (int)ip[0], (int)ip[1])); break;
    case VT_AG_PERMUTE: {
      int inv[VT_MAX_DIMS];
      for (int d = 0; d < e0->ndim; d++) inv[ip[d]] = d;
      vt_tensor* r = NULL;
      vt_status s = OK_(c) ? vt_tensor_permute(g, inv, &r) : c->s;
      gin[0] = ret(c, keep(c, s, r));
      break;
    }
    case VT_AG_NARROW: gin[0] = ret(c, embed(c, g, e0, v_narrow, ip)); break;
    case VT_AG_SELECT: gin[0] = ret(c, embed(c, g, e0, v_select, ip)); break;
    case VT_AG_SLICE: gin[0] = ret(c, embed(c, g, e0, v_slice, ip)); break;
    case VT_AG_AS_STRIDED: gin[0] = ret(c, as_strided_grad(c, g, x, y)); break;

    default:
      c->s = vt_set_error(VT_ERR_INTERNAL, "backward: no formula for %s", vt_ag_node_name(n));
  }
  vt_status s = c->s;
  ag_end(c);
  if (s != VT_OK)
    for (int j = 0; j < n->nin; j++) {
      vt_tensor_release(gin[j]);
      gin[j] = NULL;
    }
  return s;
}
