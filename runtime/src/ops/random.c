/* random.c — front-end of the random ops: validation, generator bookkeeping, dispatch.
 *
 * Kernel contract (kind RANDOM): ptr = a const vt_generator* holding (seed, offset) at the start
 * of the op (a copy: kernels never write it); out[0] = the tensor to fill (any strides, no
 * broadcast dims, nelem > 0); the words per element K of each op follow from its parameters by
 * core/philox.h (vt_rand_k_*), and the front-end advances the generator by
 * vt_rand_blocks(nelem, K) only after the kernel succeeded.
 *   uniform    f[0] = lo, f[1] = hi
 *   normal     f[0] = mean, f[1] = std
 *   randint    i[0] = lo, i[1] = range hi - lo (as uint64 bits)
 *   bernoulli  in[0] = p expanded to out's shape, or nin = 0 and f[0] = p; the kernel checks
 *              every p is in [0, 1] before writing anything (VT_ERR_ARG otherwise)
 *   randperm   i[0] = base; out[0] is (n)
 */
#include <float.h>
#include <math.h>
#include <string.h>
#include "core/philox.h"
#include "core/util.h"
#include "ops/op.h"
#include "volt/random.h"

/* The largest finite value of a float dtype. */
static double vt_float_max(vt_dtype dt) {
  switch (dt) {
    case VT_DTYPE_F16: return 65504.0;
    case VT_DTYPE_BF16: return 3.38953138925153547590e38;
    case VT_DTYPE_F32: return FLT_MAX;
    default: return DBL_MAX;
  }
}

/* Whole numbers of magnitude up to 2^digits are exact in a float dtype. */
static int64_t vt_float_int_limit(vt_dtype dt) {
  switch (dt) {
    case VT_DTYPE_F16: return (int64_t)1 << 11;
    case VT_DTYPE_BF16: return (int64_t)1 << 8;
    case VT_DTYPE_F32: return (int64_t)1 << 24;
    default: return (int64_t)1 << 53;
  }
}

/* The integers [lo, hi] a dtype holds exactly. */
static void vt_dtype_int_range(vt_dtype dt, int64_t* lo, int64_t* hi) {
  switch (dt) {
    case VT_DTYPE_I32: *lo = INT32_MIN; *hi = INT32_MAX; break;
    case VT_DTYPE_I64: *lo = INT64_MIN; *hi = INT64_MAX; break;
    case VT_DTYPE_U8: *lo = 0; *hi = 255; break;
    case VT_DTYPE_BOOL: *lo = 0; *hi = 1; break;
    default: *hi = vt_float_int_limit(dt); *lo = -*hi; break;
  }
}

static vt_status vt_check_target(const char* op, const vt_tensor* t) {
  VT_TRY(vt_check_tensor(op, "tensor", t));
  for (int i = 0; i < t->ndim; i++)
    if (t->strides[i] == 0 && t->sizes[i] > 1)
      return vt_set_error(VT_ERR_ARG, "%s: cannot write into a broadcast (expanded) tensor of shape %s",
                          op, vt_shape_s(t));
  return VT_OK;
}

static vt_status vt_check_float(const char* op, const vt_tensor* t, const char* hint) {
  if (!vt_dtype_is_float((vt_dtype)t->dt))
    return vt_set_error(VT_ERR_DTYPE, "%s: needs a floating-point tensor (got %s)%s", op,
                        vt_dtype_name((vt_dtype)t->dt), hint);
  return VT_OK;
}

/* Runs the kernel on a copy of g's state; advances g by ceil(nelem*k/4) blocks on success. */
static vt_status vt_random_run(vt_generator* g, vt_op_args* a, int k) {
  if (!g) g = vt_default_generator();
  vt_tensor* t = a->out[0];
  if (t->nelem == 0) return VT_OK;
  vt_generator cur = *g;
  a->ptr = &cur;
  VT_TRY(vt_dispatch(t->dev, a));
  g->offset += vt_rand_blocks((uint64_t)t->nelem, k);
  return VT_OK;
}

vt_status vt_random_uniform_(vt_generator* g, vt_tensor* t, double lo, double hi) {
  VT_TRY(vt_check_target("uniform", t));
  VT_TRY(vt_check_float("uniform", t, "; use randint (random_) for integers"));
  if (!isfinite(lo) || !isfinite(hi))
    return vt_set_error(VT_ERR_ARG, "uniform: bounds must be finite (got [%g, %g))", lo, hi);
  if (!(lo < hi))
    return vt_set_error(VT_ERR_ARG, "uniform: needs lo < hi (got lo %g, hi %g)", lo, hi);
  if (!isfinite(hi - lo))
    return vt_set_error(VT_ERR_ARG, "uniform: range [%g, %g) is too wide (hi - lo overflows)", lo, hi);
  double m = vt_float_max((vt_dtype)t->dt);
  if (fabs(lo) > m || fabs(hi) > m)
    return vt_set_error(VT_ERR_ARG, "uniform: range [%g, %g) exceeds the finite range of %s (+-%g)", lo,
                        hi, vt_dtype_name((vt_dtype)t->dt), m);
  vt_op_args a = {.op = VT_OP_uniform, .out = {t}, .f = {lo, hi}};
  return vt_random_run(g, &a, vt_rand_k_real(t->dt));
}

vt_status vt_random_normal_(vt_generator* g, vt_tensor* t, double mean, double std) {
  VT_TRY(vt_check_target("normal", t));
  VT_TRY(vt_check_float("normal", t, ""));
  if (!isfinite(mean)) return vt_set_error(VT_ERR_ARG, "normal: mean must be finite (got %g)", mean);
  if (!isfinite(std) || std < 0)
    return vt_set_error(VT_ERR_ARG, "normal: std must be finite and >= 0 (got %g)", std);
  vt_op_args a = {.op = VT_OP_normal, .out = {t}, .f = {mean, std}};
  return vt_random_run(g, &a, vt_rand_k_real(t->dt));
}

vt_status vt_random_randint_(vt_generator* g, vt_tensor* t, int64_t lo, int64_t hi) {
  VT_TRY(vt_check_target("randint", t));
  if (hi <= lo)
    return vt_set_error(VT_ERR_ARG, "randint: needs lo < hi (got lo %lld, hi %lld; hi is exclusive)",
                        (long long)lo, (long long)hi);
  int64_t dlo, dhi;
  vt_dtype dt = (vt_dtype)t->dt;
  vt_dtype_int_range(dt, &dlo, &dhi);
  if (lo < dlo || hi - 1 > dhi)
    return vt_set_error(VT_ERR_ARG, "randint: range [%lld, %lld) does not fit dtype %s (%lld..%lld)",
                        (long long)lo, (long long)hi, vt_dtype_name(dt), (long long)dlo, (long long)dhi);
  uint64_t range = (uint64_t)hi - (uint64_t)lo;
  vt_op_args a = {.op = VT_OP_randint, .out = {t}};
  a.i[0] = lo;
  a.i[1] = (int64_t)range;
  return vt_random_run(g, &a, vt_rand_k_randint(range));
}

vt_status vt_random_bernoulli_(vt_generator* g, vt_tensor* t, const vt_tensor* p, double p_scalar) {
  VT_TRY(vt_check_target("bernoulli", t));
  vt_op_args a = {.op = VT_OP_bernoulli, .out = {t}};
  vt_tensor pv;
  if (p) {
    VT_TRY(vt_check_tensor("bernoulli", "probability tensor", p));
    if (!vt_same_device(p->dev, t->dev))
      return vt_set_error(VT_ERR_DEVICE, "bernoulli: probabilities are on %s:%d but the output is on %s:%d",
                          vt_device_type_name(p->dev.type), p->dev.index,
                          vt_device_type_name(t->dev.type), t->dev.index);
    int nd;
    int64_t sh[VT_MAX_DIMS];
    vt_status s = vt_broadcast_shapes("bernoulli", p->ndim, p->sizes, t->ndim, t->sizes, &nd, sh);
    if (s != VT_OK || nd != t->ndim || memcmp(sh, t->sizes, sizeof(int64_t) * (size_t)nd) != 0)
      return vt_set_error(VT_ERR_SHAPE, "bernoulli: probabilities of shape %s do not broadcast to the output shape %s",
                          vt_shape_s(p), vt_shape_s(t));
    vt_tensor_expand_view(p, t->ndim, t->sizes, &pv);
    a.nin = 1;
    a.in[0] = &pv;
  } else {
    if (!(p_scalar >= 0 && p_scalar <= 1))
      return vt_set_error(VT_ERR_ARG, "bernoulli: probability must be in [0, 1] (got %g)", p_scalar);
    a.f[0] = p_scalar;
  }
  return vt_random_run(g, &a, VT_RAND_K_BERNOULLI);
}

vt_status vt_randperm(vt_generator* g, int64_t n, int64_t base, vt_dtype dt, vt_device dev,
                      vt_tensor* out, vt_tensor** res) {
  if (n < 0) return vt_set_error(VT_ERR_ARG, "randperm: n must be >= 0 (got %lld)", (long long)n);
  if (!vt_dtype_is_valid(dt))
    return vt_set_error(VT_ERR_DTYPE, "randperm: invalid dtype %d", (int)dt);
  if (dt == VT_DTYPE_BOOL)
    return vt_set_error(VT_ERR_DTYPE, "randperm: bool cannot hold a permutation (use an integer dtype)");
  if (n > 0) {
    int64_t dlo, dhi;
    vt_dtype_int_range(dt, &dlo, &dhi);
    if (base < dlo || base > dhi || (uint64_t)(n - 1) > (uint64_t)dhi - (uint64_t)base)
      return vt_set_error(VT_ERR_ARG, "randperm: %lld values from %lld do not fit dtype %s (%lld..%lld)",
                          (long long)n, (long long)base, vt_dtype_name(dt), (long long)dlo, (long long)dhi);
  }
  vt_tensor* target;
  VT_TRY(vt_prepare_out("randperm", out, 1, &n, dt, dev, res, &target));
  vt_op_args a = {.op = VT_OP_randperm, .out = {target}};
  a.i[0] = base;
  vt_status s = vt_random_run(g, &a, VT_RAND_K_RANDPERM);
  if (s != VT_OK) vt_out_abandon(out, res, target);
  return s;
}
