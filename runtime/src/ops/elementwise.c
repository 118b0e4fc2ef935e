/* elementwise.c — front-end of the elementwise ops: validation, broadcasting, result dtypes,
 * output allocation, dispatch. The kernels (backend/<dev>/..._elementwise) only compute.
 *
 * Kernel contract for UNARY/BINARY/WHERE/CLAMP/LERP: in[] have out[0]'s shape (views expanded to
 * it; same-shape contiguous operands of unary and binary ops are passed as they are);
 * i[0] is the compute dtype (f32 for f16/bf16/f32, f64, or i64 for integers and bool).
 */
#include <math.h>
#include <string.h>
#include "autograd/ag.h"
#include "core/util.h"
#include "ops/op.h"
#include "volt/elementwise.h"
#include "volt/ops.h"

static int vt_is_int_preserving(int op) {
  return op == VT_OP_neg || op == VT_OP_abs || op == VT_OP_sign || op == VT_OP_square ||
         op == VT_OP_relu;
}
static int vt_is_compare(int op) {
  return op == VT_OP_eq || op == VT_OP_ne || op == VT_OP_lt || op == VT_OP_le || op == VT_OP_gt ||
         op == VT_OP_ge || op == VT_OP_logical_and || op == VT_OP_logical_or;
}
static inline int vt_ctype(int dt) {
  if (dt == VT_DTYPE_F64) return VT_DTYPE_F64;
  if (dt <= VT_DTYPE_BF16) return VT_DTYPE_F32;
  return VT_DTYPE_I64;
}

static vt_status vt_check_kind(int op, vt_op_kind kind, const char* api) {
  if (vt_op_kind_of(op) != kind)
    return vt_set_error(VT_ERR_ARG, "%s: op %d (%s) is not a %s op", api, op,
                        vt_op_name(op) ? vt_op_name(op) : "unknown", api + 3);
  return VT_OK;
}

static vt_status vt_check_same_device(const char* op, const vt_tensor* a, const vt_tensor* b) {
  if (!vt_same_device(a->dev, b->dev))
    return vt_set_error(VT_ERR_DEVICE, "%s: tensors are on different devices (%s:%d and %s:%d)", op,
                        vt_device_type_name(a->dev.type), a->dev.index,
                        vt_device_type_name(b->dev.type), b->dev.index);
  return VT_OK;
}

/* Runs the op into the prepared target; on failure drops the result reference. */
static vt_status vt_run(vt_op_args* a, vt_tensor* target, vt_tensor* out, vt_tensor** res) {
  if (target->nelem == 0) return VT_OK;
  vt_status s = vt_dispatch(target->dev, a);
  if (s != VT_OK) vt_out_abandon(out, res, target);
  return s;
}

/* The kernel's view of input x, expanded to the result shape (nd, sh). When x shares memory
 * with the output without being exactly the output (same first element, same byte strides) --
 * a shifted or broadcast view of it, as in t[{{2,4}}]:add_(t[{{1,3}}]) -- x is copied first, so
 * the result does not depend on the order in which elements are written. [out] *hold: the copy
 * to release after the op (NULL when none was needed). */
static vt_status vt_ew_input(const vt_tensor* target, const vt_tensor* x, int nd,
                             const int64_t* sh, vt_tensor* view, vt_tensor** hold) {
  *hold = NULL;
  vt_tensor_expand_view(x, nd, sh, view);
  if (!x->storage || x->storage != target->storage || x->nelem == 0 || target->nelem == 0)
    return VT_OK;
  int same = view->ptr == target->ptr && vt_dtype_size(view->dt) == vt_dtype_size(target->dt);
  for (int i = 0; same && i < nd; i++)
    if (sh[i] > 1 && view->strides[i] != target->strides[i]) same = 0;
  if (same) return VT_OK;
  VT_TRY(vt_tensor_clone(x, hold));
  vt_tensor_expand_view(*hold, nd, sh, view);
  return VT_OK;
}

/* Row-major contiguous, from the strides: the CONTIGUOUS flag of a header built on the stack by
 * copying another may be stale. */
static int vt_ew_contiguous(const vt_tensor* t) {
  int64_t expect = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    if (t->sizes[i] != 1 && t->strides[i] != expect) return 0;
    expect *= t->sizes[i];
  }
  return 1;
}
/* Whether x can go to the kernel as it is, without an expanded view or a copy (the tiny-op fast
 * path): x is contiguous with the result's shape (the caller checked the shape), and either
 * shares no memory with the output or is exactly the output (same first element, same element
 * size, both contiguous). */
static int vt_ew_direct(const vt_tensor* target, const vt_tensor* x) {
  if (!vt_ew_contiguous(x)) return 0;
  if (!x->storage || x->storage != target->storage || x->nelem == 0) return 1;
  return x->ptr == target->ptr && vt_ew_contiguous(target) &&
         vt_dtype_size(x->dt) == vt_dtype_size(target->dt);
}

static int vt_same_shape(const vt_tensor* a, const vt_tensor* b) {
  if (a->ndim != b->ndim) return 0;
  for (int i = 0; i < a->ndim; i++)
    if (a->sizes[i] != b->sizes[i]) return 0;
  return 1;
}

static void vt_release_all(vt_tensor** h, int n) {
  for (int i = 0; i < n; i++) vt_tensor_release(h[i]);
}

vt_status vt_unary(int op, const vt_tensor* x, vt_tensor* out, vt_tensor** res) {
  VT_TRY(vt_check_kind(op, VT_KIND_UNARY, "vt_unary"));
  const char* name = vt_op_name(op);
  VT_TRY(vt_check_tensor(name, "input", x));
  vt_dtype xd = (vt_dtype)x->dt, yd;
  if (op == VT_OP_logical_not) {
    yd = VT_DTYPE_BOOL;
  } else if (vt_is_int_preserving(op)) {
    if (xd == VT_DTYPE_BOOL && op != VT_OP_relu && op != VT_OP_abs)
      return vt_set_error(VT_ERR_DTYPE, "%s: not defined for bool tensors (use logical_not or cast)", name);
    yd = xd;
  } else {
    yd = vt_dtype_is_float(xd) ? xd : VT_DTYPE_F32;
  }
  vt_tensor* target;
  VT_TRY(vt_prepare_out(name, out, x->ndim, x->sizes, yd, x->dev, res, &target));
  vt_tensor xv, *hold = NULL;
  const vt_tensor* xin = x; /* fast path: a contiguous input goes to the kernel as it is */
  if (!vt_ew_direct(target, x)) {
    vt_status s = vt_ew_input(target, x, x->ndim, x->sizes, &xv, &hold);
    if (s != VT_OK) { vt_out_abandon(out, res, target); return s; }
    xin = &xv;
  }
  vt_status s;
  vt_op_args a = {.op = op, .nin = 1, .in = {xin}, .out = {target}};
  a.i[0] = op == VT_OP_logical_not ? vt_ctype(xd) : vt_ctype(yd);
  s = vt_run(&a, target, out, res);
  vt_tensor_release(hold);
  if (s == VT_OK && vt_ag_on1(x)) s = vt_ag_record(&(vt_ag_rec){.op = op, .nin = 1, .in = {x}}, out, res);
  return s;
}

/* Result dtype of a binary op whose operands promote to ct. */
static vt_dtype vt_binary_result(int op, vt_dtype ct) {
  if (vt_is_compare(op)) return VT_DTYPE_BOOL;
  if (op == VT_OP_div && !vt_dtype_is_float(ct)) return VT_DTYPE_F32;
  if (ct == VT_DTYPE_BOOL && (op == VT_OP_sub || op == VT_OP_pow)) return VT_DTYPE_I64;
  return ct;
}

static vt_status vt_binary_impl(int op, const vt_tensor* a, const vt_tensor* b, vt_dtype ct,
                                vt_dtype rd, vt_tensor* out, vt_tensor** res) {
  const char* name = vt_op_name(op);
  vt_tensor* target;
  vt_tensor av, bv, *hold[2] = {NULL, NULL};
  const vt_tensor *ain = &av, *bin = &bv;
  vt_status s = VT_OK;
  if (vt_same_shape(a, b)) {
    /* fast path (the common case): one shape, so no broadcast; contiguous operands go to the
       kernel as they are, the others through vt_ew_input */
    VT_TRY(vt_prepare_out(name, out, a->ndim, a->sizes, rd, a->dev, res, &target));
    if (vt_ew_direct(target, a)) ain = a;
    else s = vt_ew_input(target, a, a->ndim, a->sizes, &av, &hold[0]);
    if (s == VT_OK && vt_ew_direct(target, b)) bin = b;
    else if (s == VT_OK) s = vt_ew_input(target, b, a->ndim, a->sizes, &bv, &hold[1]);
  } else {
    int nd;
    int64_t sh[VT_MAX_DIMS];
    VT_TRY(vt_broadcast_shapes(name, a->ndim, a->sizes, b->ndim, b->sizes, &nd, sh));
    VT_TRY(vt_prepare_out(name, out, nd, sh, rd, a->dev, res, &target));
    s = vt_ew_input(target, a, nd, sh, &av, &hold[0]);
    if (s == VT_OK) s = vt_ew_input(target, b, nd, sh, &bv, &hold[1]);
  }
  if (s != VT_OK) {
    vt_release_all(hold, 2);
    vt_out_abandon(out, res, target);
    return s;
  }
  vt_op_args args = {.op = op, .nin = 2, .in = {ain, bin}, .out = {target}};
  /* compute in the result's float type (div of integers), else in the operands' type
     (comparisons compute in the operands' type and store bool) */
  args.i[0] = vt_ctype(vt_dtype_is_float(rd) ? rd : ct);
  s = vt_run(&args, target, out, res);
  vt_release_all(hold, 2);
  return s;
}

vt_status vt_binary(int op, const vt_tensor* a, const vt_tensor* b, vt_tensor* out, vt_tensor** res) {
  VT_TRY(vt_check_kind(op, VT_KIND_BINARY, "vt_binary"));
  const char* name = vt_op_name(op);
  VT_TRY(vt_check_tensor(name, "first operand", a));
  VT_TRY(vt_check_tensor(name, "second operand", b));
  VT_TRY(vt_check_same_device(name, a, b));
  vt_dtype ct = vt_dtype_promote((vt_dtype)a->dt, (vt_dtype)b->dt);
  vt_status st = vt_binary_impl(op, a, b, ct, vt_binary_result(op, ct), out, res);
  if (st == VT_OK && vt_ag_on2(a, b)) st = vt_ag_record(&(vt_ag_rec){.op = op, .nin = 2, .in = {a, b}}, out, res);
  return st;
}

/* A 0-d tensor header over a double on the stack. */
static void vt_scalar_view(vt_tensor* t, double* v, vt_device dev) {
  memset(t, 0, sizeof *t);
  t->refcount = 1;
  t->dt = VT_DTYPE_F64;
  t->nelem = 1;
  t->flags = VT_TENSOR_CONTIGUOUS;
  t->ptr = v;
  t->dev = dev;
}

vt_status vt_binary_scalar(int op, const vt_tensor* a, double s, int reverse, vt_tensor* out,
                           vt_tensor** res) {
  VT_TRY(vt_check_kind(op, VT_KIND_BINARY, "vt_binary"));
  const char* name = vt_op_name(op);
  VT_TRY(vt_check_tensor(name, "tensor operand", a));
  if (a->dev.type != VT_DEVICE_CPU)
    return vt_set_error(VT_ERR_UNSUPPORTED, "%s: scalar operands on %s tensors need a device scalar path",
                        name, vt_device_type_name(a->dev.type));
  vt_dtype ad = (vt_dtype)a->dt, ct;
  int integral = isfinite(s) && s == floor(s);
  if (vt_dtype_is_float(ad)) ct = ad;
  else if (!integral) ct = VT_DTYPE_F32;
  else if (ad == VT_DTYPE_BOOL) ct = VT_DTYPE_I64; /* an integer number beats bool, as PyTorch */
  else ct = ad;
  vt_tensor sv;
  double v = s;
  vt_scalar_view(&sv, &v, a->dev);
  vt_dtype rd = vt_binary_result(op, ct);
  if (!vt_dtype_is_float(ct) && !integral) rd = vt_binary_result(op, VT_DTYPE_F32);
  vt_status st = reverse ? vt_binary_impl(op, &sv, a, ct, rd, out, res)
                         : vt_binary_impl(op, a, &sv, ct, rd, out, res);
  if (st == VT_OK && vt_ag_on1(a))
    st = vt_ag_record(&(vt_ag_rec){.op = op, .variant = 1, .nin = 1, .in = {a}, .i = {reverse}, .f = {s}}, out, res);
  return st;
}

static vt_status vt_where_impl(const vt_tensor* cond, const vt_tensor* a, const vt_tensor* b,
                               vt_tensor* out, vt_tensor** res) {
  VT_TRY(vt_check_tensor("where", "condition", cond));
  VT_TRY(vt_check_tensor("where", "first value", a));
  VT_TRY(vt_check_tensor("where", "second value", b));
  VT_TRY(vt_check_same_device("where", cond, a));
  VT_TRY(vt_check_same_device("where", a, b));
  int n1, nd;
  int64_t s1[VT_MAX_DIMS], sh[VT_MAX_DIMS];
  VT_TRY(vt_broadcast_shapes("where", a->ndim, a->sizes, b->ndim, b->sizes, &n1, s1));
  VT_TRY(vt_broadcast_shapes("where", cond->ndim, cond->sizes, n1, s1, &nd, sh));
  vt_dtype rd = vt_dtype_promote((vt_dtype)a->dt, (vt_dtype)b->dt);
  vt_tensor* target;
  VT_TRY(vt_prepare_out("where", out, nd, sh, rd, a->dev, res, &target));
  /* the kernel reads cond in the compute type: a non-bool cond is made bool first, so that
     0.5 with integer values or 1e-300 with f32 values still counts as true */
  vt_tensor* cb = NULL;
  vt_status s = VT_OK;
  if (cond->dt != VT_DTYPE_BOOL) {
    s = vt_tensor_cast(cond, VT_DTYPE_BOOL, &cb);
    if (s != VT_OK) { vt_out_abandon(out, res, target); return s; }
    cond = cb;
  }
  vt_tensor cv, av, bv, *hold[4] = {cb, NULL, NULL, NULL};
  s = vt_ew_input(target, cond, nd, sh, &cv, &hold[1]);
  if (s == VT_OK) s = vt_ew_input(target, a, nd, sh, &av, &hold[2]);
  if (s == VT_OK) s = vt_ew_input(target, b, nd, sh, &bv, &hold[3]);
  if (s == VT_OK) {
    vt_op_args args = {.op = VT_OP_where, .nin = 3, .in = {&cv, &av, &bv}, .out = {target}};
    args.i[0] = vt_ctype(rd);
    s = vt_run(&args, target, out, res);
  } else {
    vt_out_abandon(out, res, target);
  }
  vt_release_all(hold, 4);
  return s;
}

vt_status vt_where(const vt_tensor* cond, const vt_tensor* a, const vt_tensor* b, vt_tensor* out,
                   vt_tensor** res) {
  vt_status s = vt_where_impl(cond, a, b, out, res);
  if (s == VT_OK && vt_ag_on2(a, b))
    s = vt_ag_record(&(vt_ag_rec){.op = VT_OP_where, .nin = 2, .in = {a, b}, .extra = {cond}}, out, res);
  return s;
}

vt_status vt_clamp(const vt_tensor* x, double lo, double hi, vt_tensor* out, vt_tensor** res) {
  VT_TRY(vt_check_tensor("clamp", "input", x));
  if (isnan(lo) || isnan(hi)) return vt_set_error(VT_ERR_ARG, "clamp: a bound is NaN");
  if (lo > hi) return vt_set_error(VT_ERR_ARG, "clamp: min %g is greater than max %g", lo, hi);
  vt_dtype xd = (vt_dtype)x->dt, rd = xd;
  if (!vt_dtype_is_float(xd)) {
    int li = isinf(lo) || lo == floor(lo), hi_i = isinf(hi) || hi == floor(hi);
    if (!li || !hi_i) rd = VT_DTYPE_F32;
    if (xd == VT_DTYPE_BOOL) rd = li && hi_i ? VT_DTYPE_I64 : VT_DTYPE_F32;
  }
  vt_tensor* target;
  VT_TRY(vt_prepare_out("clamp", out, x->ndim, x->sizes, rd, x->dev, res, &target));
  vt_tensor xv, *hold;
  vt_status s = vt_ew_input(target, x, x->ndim, x->sizes, &xv, &hold);
  if (s != VT_OK) { vt_out_abandon(out, res, target); return s; }
  vt_op_args a = {.op = VT_OP_clamp, .nin = 1, .in = {&xv}, .out = {target}, .f = {lo, hi}};
  a.i[0] = vt_ctype(rd);
  s = vt_run(&a, target, out, res);
  vt_tensor_release(hold);
  if (s == VT_OK && vt_ag_on1(x))
    s = vt_ag_record(&(vt_ag_rec){.op = VT_OP_clamp, .nin = 1, .in = {x}, .f = {lo, hi}}, out, res);
  return s;
}

static vt_status vt_lerp_impl(const vt_tensor* a, const vt_tensor* b, const vt_tensor* w, double ws,
                              vt_tensor* out, vt_tensor** res) {
  VT_TRY(vt_check_tensor("lerp", "start", a));
  VT_TRY(vt_check_tensor("lerp", "end", b));
  VT_TRY(vt_check_same_device("lerp", a, b));
  vt_dtype rd = vt_dtype_promote((vt_dtype)a->dt, (vt_dtype)b->dt);
  int nd;
  int64_t sh[VT_MAX_DIMS];
  VT_TRY(vt_broadcast_shapes("lerp", a->ndim, a->sizes, b->ndim, b->sizes, &nd, sh));
  double wv = ws;
  vt_tensor wsv;
  if (w) {
    VT_TRY(vt_check_tensor("lerp", "weight", w));
    VT_TRY(vt_check_same_device("lerp", a, w));
    rd = vt_dtype_promote(rd, (vt_dtype)w->dt);
    int n2;
    int64_t s2[VT_MAX_DIMS];
    VT_TRY(vt_broadcast_shapes("lerp", nd, sh, w->ndim, w->sizes, &n2, s2));
    nd = n2;
    memcpy(sh, s2, sizeof sh);
  } else {
    if (a->dev.type != VT_DEVICE_CPU)
      return vt_set_error(VT_ERR_UNSUPPORTED, "lerp: scalar weight on %s needs a device scalar path",
                          vt_device_type_name(a->dev.type));
    vt_scalar_view(&wsv, &wv, a->dev);
    w = &wsv;
  }
  if (!vt_dtype_is_float(rd))
    return vt_set_error(VT_ERR_DTYPE, "lerp: needs floating-point tensors (got %s)", vt_dtype_name(rd));
  vt_tensor* target;
  VT_TRY(vt_prepare_out("lerp", out, nd, sh, rd, a->dev, res, &target));
  vt_tensor av, bv, wv2, *hold[3] = {NULL, NULL, NULL};
  vt_status s = vt_ew_input(target, a, nd, sh, &av, &hold[0]);
  if (s == VT_OK) s = vt_ew_input(target, b, nd, sh, &bv, &hold[1]);
  if (s == VT_OK) s = vt_ew_input(target, w, nd, sh, &wv2, &hold[2]);
  if (s == VT_OK) {
    vt_op_args args = {.op = VT_OP_lerp, .nin = 3, .in = {&av, &bv, &wv2}, .out = {target}};
    args.i[0] = vt_ctype(rd);
    s = vt_run(&args, target, out, res);
  } else {
    vt_out_abandon(out, res, target);
  }
  vt_release_all(hold, 3);
  return s;
}

vt_status vt_lerp(const vt_tensor* a, const vt_tensor* b, const vt_tensor* w, double ws, vt_tensor* out,
                  vt_tensor** res) {
  vt_status s = vt_lerp_impl(a, b, w, ws, out, res);
  if (s == VT_OK && vt_ag_on3(a, b, w))
    s = vt_ag_record(&(vt_ag_rec){.op = VT_OP_lerp, .variant = w == NULL, .nin = w ? 3 : 2,
                                  .in = {a, b, w}, .f = {ws}}, out, res);
  return s;
}

vt_status vt_fill_(vt_tensor* t, double value) {
  VT_TRY(vt_check_tensor("fill", "tensor", t));
  VT_TRY(vt_ag_on_write("fill", t));
  for (int i = 0; i < t->ndim; i++)
    if (t->strides[i] == 0 && t->sizes[i] > 1)
      return vt_set_error(VT_ERR_ARG, "fill: cannot write into a broadcast (expanded) tensor");
  if (t->nelem == 0) return VT_OK;
  vt_op_args a = {.op = VT_OP_fill, .out = {t}, .f = {value}};
  a.i[0] = vt_ctype(t->dt);
  return vt_dispatch(t->dev, &a);
}
