/* optim.c — the fused optimizer updates (SGD, Adam/AdamW, RMSprop, Adagrad), clip by value and
 * in-place scaling, on the driver of fused.h. Update rules: see volt/optim.h.
 */
#include <math.h>
#include <string.h>
#include "volt/optim.h"
#include "optim/fused.h"
#include "autograd/ag.h"
#include "volt/autograd.h"

/* ---------------------------------------------------------------------------------------------
 * the driver
 * ------------------------------------------------------------------------------------------- */
static int same_shape(const vt_tensor* a, const vt_tensor* b) {
  if (a->ndim != b->ndim) return 0;
  for (int d = 0; d < a->ndim; d++)
    if (a->sizes[d] != b->sizes[d]) return 0;
  return 1;
}

static int has_overlap(const vt_tensor* t) {
  for (int d = 0; d < t->ndim; d++)
    if (t->strides[d] == 0 && t->sizes[d] > 1) return 1;
  return 0;
}

static vt_status check_row_tensor(const vt_fused* f, int s, int i, const vt_tensor* t,
                                  const vt_tensor* p) {
  char what[96];
  snprintf(what, sizeof what, "%s of parameter #%d", f->name[s], i + 1);
  if (!t) return vt_set_error(VT_ERR_ARG, "%s: %s is NULL", f->op, what);
  VT_TRY(vt_check_tensor(f->op, what, t));
  if (t->dev.type != VT_DEVICE_CPU)
    return vt_set_error(VT_ERR_UNSUPPORTED,
                        "%s: %s is on %s:%d; the fused optimizer kernels run on the CPU only "
                        "(move the model to the CPU)", f->op, what,
                        vt_device_type_name((vt_device_type)t->dev.type), t->dev.index);
  if (!vt_dtype_is_float((vt_dtype)t->dt))
    return vt_set_error(VT_ERR_DTYPE, "%s: %s has dtype %s (expected f32, f64, f16 or bf16)",
                        f->op, what, vt_dtype_name((vt_dtype)t->dt));
  if (s > 0 && !same_shape(t, p))
    return vt_set_error(VT_ERR_SHAPE, "%s: %s has shape %s but the parameter has shape %s", f->op,
                        what, vt_shape_s(t), vt_shape_s(p));
  if (f->write[s] && has_overlap(t))
    return vt_set_error(VT_ERR_ARG,
                        "%s: %s is an expanded view (stride 0 over a dim of size > 1) and cannot "
                        "be updated in place", f->op, what);
  return VT_OK;
}

static void run_f32(const vt_fused* f, int i, int64_t o, int64_t m) {
  float buf[VT_FUSED_MAX_SLOTS][VT_CPU_CHUNK];
  float* b[VT_FUSED_MAX_SLOTS];
  vt_tensor* const* w = f->work + (int64_t)i * f->k;
  for (int s = 0; s < f->k; s++) {
    b[s] = NULL;
    if (!w[s]) continue;
    if (w[s]->dt == VT_DTYPE_F32) {       /* same type: update in place, no copy */
      b[s] = (float*)w[s]->ptr + o;
      continue;
    }
    int64_t isz = (int64_t)vt_dtype_size((vt_dtype)w[s]->dt);
    vt_cpu_load_f32(buf[s], (const char*)w[s]->ptr + o * isz, isz, w[s]->dt, m);
    b[s] = buf[s];
  }
  f->f32(f, i, b, m);
  for (int s = 0; s < f->k; s++) {
    if (!w[s] || !f->write[s] || w[s]->dt == VT_DTYPE_F32) continue;
    int64_t isz = (int64_t)vt_dtype_size((vt_dtype)w[s]->dt);
    vt_cpu_store_f32((char*)w[s]->ptr + o * isz, isz, w[s]->dt, buf[s], m);
  }
}

static void run_f64(const vt_fused* f, int i, int64_t o, int64_t m) {
  double buf[VT_FUSED_MAX_SLOTS][VT_CPU_CHUNK];
  double* b[VT_FUSED_MAX_SLOTS];
  vt_tensor* const* w = f->work + (int64_t)i * f->k;
  for (int s = 0; s < f->k; s++) {
    b[s] = NULL;
    if (!w[s]) continue;
    if (w[s]->dt == VT_DTYPE_F64) {       /* same type: update in place, no copy */
      b[s] = (double*)w[s]->ptr + o;
      continue;
    }
    int64_t isz = (int64_t)vt_dtype_size((vt_dtype)w[s]->dt);
    vt_cpu_load_f64(buf[s], (const char*)w[s]->ptr + o * isz, isz, w[s]->dt, m);
    b[s] = buf[s];
  }
  f->f64(f, i, b, m);
  for (int s = 0; s < f->k; s++) {
    if (!w[s] || !f->write[s] || w[s]->dt == VT_DTYPE_F64) continue;
    int64_t isz = (int64_t)vt_dtype_size((vt_dtype)w[s]->dt);
    vt_cpu_store_f64((char*)w[s]->ptr + o * isz, isz, w[s]->dt, buf[s], m);
  }
}

/* One thread's share [b, e) of the flattened element range of all rows. */
static void run_range(int64_t b, int64_t e, void* ctx) {
  const vt_fused* f = ctx;
  const int64_t* offs = f->offs;
  int lo = 0, hi = f->n - 1;              /* the last row i with offs[i] <= b */
  while (lo < hi) {
    int mid = lo + (hi - lo + 1) / 2;
    if (offs[mid] <= b) lo = mid; else hi = mid - 1;
  }
  int i = lo;
  while (b < e && i < f->n) {
    if (offs[i + 1] <= b) { i++; continue; }
    int64_t re = (e < offs[i + 1] ? e : offs[i + 1]) - offs[i];
    int is64 = f->work[(int64_t)i * f->k]->dt == VT_DTYPE_F64;
    /* every slot already in the compute dtype: the kernel runs in place over the whole range
       (no chunk buffers needed; per-call setup such as Adam's bias corrections paid once) */
    int native = 1;
    for (int s = 0; s < f->k; s++) {
      const vt_tensor* t = f->work[(int64_t)i * f->k + s];
      if (t && t->dt != (is64 ? VT_DTYPE_F64 : VT_DTYPE_F32)) native = 0;
    }
    int64_t chunk = native ? re : VT_CPU_CHUNK;
    for (int64_t o = b - offs[i]; o < re; o += chunk) {
      int64_t m = re - o < chunk ? re - o : chunk;
      if (is64) run_f64(f, i, o, m); else run_f32(f, i, o, m);
    }
    b = offs[i] + re;
    i++;
  }
}

vt_status vt_fused_run(vt_fused* f) {
  VT_CHECK_ARG(f->n >= 0, "%s: the number of parameters must be >= 0 (got %d)", f->op, f->n);
  if (f->n == 0) return VT_OK;
  for (int s = 0; s < f->k; s++)
    if (f->required[s] && !f->arr[s])
      return vt_set_error(VT_ERR_ARG, "%s: the %s list is NULL", f->op, f->name[s]);
  int n = f->n, k = f->k;
  /* validate everything before touching anything */
  for (int i = 0; i < n; i++) {
    if (f->skip_slot >= 0 && !f->arr[f->skip_slot][i]) continue;
    const vt_tensor* p = f->arr[0][i];
    for (int s = 0; s < k; s++) {
      if (!f->arr[s]) continue;
      VT_TRY(check_row_tensor(f, s, i, f->arr[s][i], p));
    }
  }
  f->work = calloc((size_t)n * k, sizeof *f->work);
  f->offs = calloc((size_t)n + 1, sizeof *f->offs);
  vt_status st = VT_OK;
  if (!f->work || !f->offs) {
    st = vt_set_error(VT_ERR_OOM, "%s: out of memory", f->op);
    goto done;
  }
  for (int i = 0; i < n; i++) {
    int skip = f->skip_slot >= 0 && !f->arr[f->skip_slot][i];
    f->offs[i + 1] = f->offs[i] + (skip ? 0 : f->arr[0][i]->nelem);
    if (skip) continue;   /* zero length: run_range never visits it */
    for (int s = 0; s < k; s++) {
      if (!f->arr[s]) continue;
      st = vt_tensor_contiguous(f->arr[s][i], &f->work[(int64_t)i * k + s]);
      if (st != VT_OK) goto done;
    }
  }
  vt_cpu_parallel_for(f->offs[n], VT_CPU_GRAIN / 2, run_range, f);
  /* The update is no part of any graph (PyTorch's optimizers run under no_grad), so the
     copy-back of non-contiguous written tensors runs with grad mode off. It is still a write:
     every written tensor's version moves on, so a graph that saved a parameter before this step
     refuses to backward through the stale value. */
  int grad_mode = vt_autograd_set_enabled(0);
  for (int i = 0; i < n && st == VT_OK; i++)
    for (int s = 0; s < k && st == VT_OK; s++) {
      vt_tensor* w = f->work[(int64_t)i * k + s];
      if (w && f->write[s] && w != f->arr[s][i]) st = vt_tensor_copy_(f->arr[s][i], w);
    }
  vt_autograd_set_enabled(grad_mode);
  for (int i = 0; i < n; i++)
    for (int s = 0; s < k; s++)
      if (f->write[s] && f->arr[s] && f->arr[s][i] && f->work[(int64_t)i * k + s])
        vt_storage_bump_version(f->arr[s][i]->storage);
done:
  if (f->work)
    for (int64_t j = 0; j < (int64_t)n * k; j++)
      if (f->work[j]) vt_tensor_release(f->work[j]);
  free(f->work);
  free(f->offs);
  f->work = NULL;
  f->offs = NULL;
  return st;
}

/* Defines NAME_f32 and NAME_f64 from NAME_BODY(T, SQRT), each also compiled for AVX2
   (VT_CPU_CLONES, backend/cpu/cpu.h: the same values, picked at load time). */
#define VT_FUSED_KERNELS(NAME)                                                      \
  VT_CPU_CLONES static void NAME##_f32(const vt_fused* f, int i, float** b, int64_t m) { \
    NAME##_BODY(float, sqrtf)                                                       \
  }                                                                                 \
  VT_CPU_CLONES static void NAME##_f64(const vt_fused* f, int i, double** b, int64_t m) { \
    NAME##_BODY(double, sqrt)                                                       \
  }

static vt_status check_hyper(const char* op, const char* what, double v, double lo, int lo_open,
                             double hi, int hi_open) {
  int ok = v == v && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  if (!ok)
    return vt_set_error(VT_ERR_ARG, "%s: invalid %s %g (expected a value in %c%g, %g%c)", op, what,
                        v, lo_open ? '(' : '[', lo, hi, hi_open ? ')' : ']');
  return VT_OK;
}

static vt_status check_steps(const char* op, int n, vt_tensor* const* params,
                             vt_tensor* const* grads, const int64_t* steps) {
  VT_CHECK_ARG(steps != NULL, "%s: the steps array is NULL", op);
  for (int i = 0; i < n; i++)
    if (grads && grads[i] && steps[i] < 1)
      return vt_set_error(VT_ERR_ARG, "%s: step count of parameter #%d is %lld (expected >= 1)",
                          op, i + 1, (long long)steps[i]);
  return VT_OK;
}

/* ---------------------------------------------------------------------------------------------
 * SGD
 * ------------------------------------------------------------------------------------------- */
typedef struct {
  double lr, momentum, dampening, weight_decay;
  int nesterov, maximize;
  const uint8_t* fresh;
} sgd_ctx;

#define sgd_BODY(T, SQRT)                                                          \
  const sgd_ctx* c = f->ctx;                                                       \
  T *p = b[0], *g = b[1], *buf = b[2];                                             \
  const T lr = (T)c->lr, mom = (T)c->momentum, d1 = (T)(1 - c->dampening);         \
  const T wd = (T)c->weight_decay;                                                 \
  const int fresh = c->fresh && c->fresh[i], nest = c->nesterov, maxi = c->maximize; \
  for (int64_t j = 0; j < m; j++) {                                                \
    T d = maxi ? -g[j] : g[j];                                                     \
    if (wd != 0) d += wd * p[j];                                                   \
    if (buf) {                                                                     \
      buf[j] = fresh ? d : mom * buf[j] + d1 * d;                                  \
      d = nest ? d + mom * buf[j] : buf[j];                                        \
    }                                                                              \
    p[j] -= lr * d;                                                                \
  }
VT_FUSED_KERNELS(sgd)

vt_status vt_optim_sgd(int n, vt_tensor* const* params, vt_tensor* const* grads,
                       vt_tensor* const* bufs, const uint8_t* fresh, double lr, double momentum,
                       double dampening, double weight_decay, int nesterov, int maximize) {
  const char* op = "sgd";
  VT_TRY(check_hyper(op, "learning rate", lr, 0, 0, INFINITY, 1));
  VT_TRY(check_hyper(op, "momentum", momentum, 0, 0, INFINITY, 1));
  VT_TRY(check_hyper(op, "dampening", dampening, -INFINITY, 1, INFINITY, 1));
  VT_TRY(check_hyper(op, "weight_decay", weight_decay, 0, 0, INFINITY, 1));
  if (nesterov && (momentum <= 0 || dampening != 0))
    return vt_set_error(VT_ERR_ARG, "%s: nesterov momentum requires a momentum > 0 and zero "
                        "dampening (got momentum %g, dampening %g)", op, momentum, dampening);
  VT_CHECK_ARG(momentum == 0 || bufs != NULL,
               "%s: momentum %g needs the momentum buffer list (got NULL)", op, momentum);
  sgd_ctx c = {lr, momentum, dampening, weight_decay, nesterov, maximize, fresh};
  vt_fused f = {.op = op, .n = n, .k = 3, .arr = {params, grads, momentum != 0 ? bufs : NULL},
                .name = {"param", "grad", "momentum buffer"}, .write = {1, 0, 1},
                .required = {1, 1, 0}, .skip_slot = 1, .f32 = sgd_f32, .f64 = sgd_f64, .ctx = &c};
  return vt_fused_run(&f);
}

/* ---------------------------------------------------------------------------------------------
 * Adam / AdamW
 * ------------------------------------------------------------------------------------------- */
typedef struct {
  double lr, beta1, beta2, eps, weight_decay;
  int decoupled, amsgrad, maximize;
  const int64_t* steps;
} adam_ctx;

/* Without amsgrad the loops have no control flow (the weight-decay mode is split outside), so
   they vectorise; amsgrad keeps the general loop. */
#define adam_UPDATE(j, d, v)                                                       \
  ea[j] += w1 * (d - ea[j]);                                                       \
  es[j] = b2 * es[j] + w2 * d * d;                                                 \
  v = es[j];
#define adam_BODY(T, SQRT)                                                         \
  const adam_ctx* c = f->ctx;                                                      \
  T *p = b[0], *g = b[1], *ea = b[2], *es = b[3], *mx = b[4];                      \
  const double t = (double)c->steps[i];                                            \
  const T step_size = (T)(c->lr / (1 - pow(c->beta1, t)));                         \
  const T bc2s = (T)sqrt(1 - pow(c->beta2, t));                                    \
  const T w1 = (T)(1 - c->beta1), b2 = (T)c->beta2, w2 = (T)(1 - c->beta2);        \
  const T eps = (T)c->eps, wd = (T)c->weight_decay;                                \
  const T decay = (T)(1 - c->lr * c->weight_decay);                                \
  const int maxi = c->maximize, dec = c->decoupled;                                \
  if (!mx && dec) {                                                                \
    for (int64_t j = 0; j < m; j++) {                                              \
      T d = maxi ? -g[j] : g[j], v;                                                \
      p[j] *= decay;                                                               \
      adam_UPDATE(j, d, v)                                                         \
      p[j] -= step_size * ea[j] / (SQRT(v) / bc2s + eps);                          \
    }                                                                              \
  } else if (!mx && wd == 0) {                                                     \
    for (int64_t j = 0; j < m; j++) {                                              \
      T d = maxi ? -g[j] : g[j], v;                                                \
      adam_UPDATE(j, d, v)                                                         \
      p[j] -= step_size * ea[j] / (SQRT(v) / bc2s + eps);                          \
    }                                                                              \
  } else if (!mx) {                                                                \
    for (int64_t j = 0; j < m; j++) {                                              \
      T d = (maxi ? -g[j] : g[j]) + wd * p[j], v;                                  \
      adam_UPDATE(j, d, v)                                                         \
      p[j] -= step_size * ea[j] / (SQRT(v) / bc2s + eps);                          \
    }                                                                              \
  } else {                                                                         \
    for (int64_t j = 0; j < m; j++) {                                              \
      T d = maxi ? -g[j] : g[j], v;                                                \
      if (dec) p[j] *= decay;                                                      \
      else if (wd != 0) d += wd * p[j];                                            \
      adam_UPDATE(j, d, v)                                                         \
      if (mx[j] < v || v != v) mx[j] = v;                                          \
      v = mx[j];                                                                   \
      p[j] -= step_size * ea[j] / (SQRT(v) / bc2s + eps);                          \
    }                                                                              \
  }
VT_FUSED_KERNELS(adam)

vt_status vt_optim_adam(int n, vt_tensor* const* params, vt_tensor* const* grads,
                        vt_tensor* const* exp_avg, vt_tensor* const* exp_avg_sq,
                        vt_tensor* const* max_exp_avg_sq, const int64_t* steps, double lr,
                        double beta1, double beta2, double eps, double weight_decay,
                        int decoupled, int amsgrad, int maximize) {
  const char* op = decoupled ? "adamw" : "adam";
  VT_TRY(check_hyper(op, "learning rate", lr, 0, 0, INFINITY, 1));
  VT_TRY(check_hyper(op, "beta1", beta1, 0, 0, 1, 1));
  VT_TRY(check_hyper(op, "beta2", beta2, 0, 0, 1, 1));
  VT_TRY(check_hyper(op, "eps", eps, 0, 0, INFINITY, 1));
  VT_TRY(check_hyper(op, "weight_decay", weight_decay, 0, 0, INFINITY, 1));
  VT_CHECK_ARG(!amsgrad || max_exp_avg_sq != NULL,
               "%s: amsgrad needs the max_exp_avg_sq list (got NULL)", op);
  if (n > 0) VT_TRY(check_steps(op, n, params, grads, steps));
  adam_ctx c = {lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize, steps};
  vt_fused f = {.op = op, .n = n, .k = 5,
                .arr = {params, grads, exp_avg, exp_avg_sq, amsgrad ? max_exp_avg_sq : NULL},
                .name = {"param", "grad", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
                .write = {1, 0, 1, 1, 1}, .required = {1, 1, 1, 1, 0}, .skip_slot = 1,
                .f32 = adam_f32, .f64 = adam_f64, .ctx = &c};
  return vt_fused_run(&f);
}

/* ---------------------------------------------------------------------------------------------
 * RMSprop
 * ------------------------------------------------------------------------------------------- */
typedef struct {
  double lr, alpha, eps, weight_decay, momentum;
  int centered, maximize;
} rmsprop_ctx;

#define rmsprop_BODY(T, SQRT)                                                      \
  const rmsprop_ctx* c = f->ctx;                                                   \
  T *p = b[0], *g = b[1], *sq = b[2], *ga = b[3], *buf = b[4];                     \
  const T lr = (T)c->lr, a = (T)c->alpha, a1 = (T)(1 - c->alpha), eps = (T)c->eps; \
  const T wd = (T)c->weight_decay, mom = (T)c->momentum;                           \
  const int maxi = c->maximize;                                                    \
  for (int64_t j = 0; j < m; j++) {                                                \
    T d = maxi ? -g[j] : g[j];                                                     \
    if (wd != 0) d += wd * p[j];                                                   \
    sq[j] = a * sq[j] + a1 * d * d;                                                \
    T avg;                                                                         \
    if (ga) {                                                                      \
      ga[j] += a1 * (d - ga[j]);                                                   \
      avg = SQRT(sq[j] - ga[j] * ga[j]) + eps;                                     \
    } else {                                                                       \
      avg = SQRT(sq[j]) + eps;                                                     \
    }                                                                              \
    if (buf) {                                                                     \
      buf[j] = mom * buf[j] + d / avg;                                             \
      p[j] -= lr * buf[j];                                                         \
    } else {                                                                       \
      p[j] -= lr * d / avg;                                                        \
    }                                                                              \
  }
VT_FUSED_KERNELS(rmsprop)

vt_status vt_optim_rmsprop(int n, vt_tensor* const* params, vt_tensor* const* grads,
                           vt_tensor* const* square_avg, vt_tensor* const* grad_avg,
                           vt_tensor* const* bufs, double lr, double alpha, double eps,
                           double weight_decay, double momentum, int centered, int maximize) {
  const char* op = "rmsprop";
  VT_TRY(check_hyper(op, "learning rate", lr, 0, 0, INFINITY, 1));
  VT_TRY(check_hyper(op, "alpha", alpha, 0, 0, 1, 0));
  VT_TRY(check_hyper(op, "eps", eps, 0, 0, INFINITY, 1));
  VT_TRY(check_hyper(op, "weight_decay", weight_decay, 0, 0, INFINITY, 1));
  VT_TRY(check_hyper(op, "momentum", momentum, 0, 0, INFINITY, 1));
  VT_CHECK_ARG(!centered || grad_avg != NULL, "%s: centered needs the grad_avg list (got NULL)", op);
  VT_CHECK_ARG(momentum == 0 || bufs != NULL,
               "%s: momentum %g needs the momentum buffer list (got NULL)", op, momentum);
  rmsprop_ctx c = {lr, alpha, eps, weight_decay, momentum, centered, maximize};
  vt_fused f = {.op = op, .n = n, .k = 5,
                .arr = {params, grads, square_avg, centered ? grad_avg : NULL,
                        momentum > 0 ? bufs : NULL},
                .name = {"param", "grad", "square_avg", "grad_avg", "momentum buffer"},
                .write = {1, 0, 1, 1, 1}, .required = {1, 1, 1, 0, 0}, .skip_slot = 1,
                .f32 = rmsprop_f32, .f64 = rmsprop_f64, .ctx = &c};
  return vt_fused_run(&f);
}

/* ---------------------------------------------------------------------------------------------
 * Adagrad
 * ------------------------------------------------------------------------------------------- */
typedef struct {
  double lr, lr_decay, weight_decay, eps;
  int maximize;
  const int64_t* steps;
} adagrad_ctx;

#define adagrad_BODY(T, SQRT)                                                      \
  const adagrad_ctx* c = f->ctx;                                                   \
  T *p = b[0], *g = b[1], *sum = b[2];                                             \
  const T clr = (T)(c->lr / (1 + (double)(c->steps[i] - 1) * c->lr_decay));        \
  const T wd = (T)c->weight_decay, eps = (T)c->eps;                                \
  const int maxi = c->maximize;                                                    \
  for (int64_t j = 0; j < m; j++) {                                                \
    T d = maxi ? -g[j] : g[j];                                                     \
    if (wd != 0) d += wd * p[j];                                                   \
    sum[j] += d * d;                                                               \
    p[j] -= clr * d / (SQRT(sum[j]) + eps);                                        \
  }
VT_FUSED_KERNELS(adagrad)

vt_status vt_optim_adagrad(int n, vt_tensor* const* params, vt_tensor* const* grads,
                           vt_tensor* const* state_sum, const int64_t* steps, double lr,
                           double lr_decay, double weight_decay, double eps, int maximize) {
  const char* op = "adagrad";
  VT_TRY(check_hyper(op, "learning rate", lr, 0, 0, INFINITY, 1));
  VT_TRY(check_hyper(op, "lr_decay", lr_decay, 0, 0, INFINITY, 1));
  VT_TRY(check_hyper(op, "weight_decay", weight_decay, 0, 0, INFINITY, 1));
  VT_TRY(check_hyper(op, "eps", eps, 0, 0, INFINITY, 1));
  if (n > 0) VT_TRY(check_steps(op, n, params, grads, steps));
  adagrad_ctx c = {lr, lr_decay, weight_decay, eps, maximize, steps};
  vt_fused f = {.op = op, .n = n, .k = 3, .arr = {params, grads, state_sum},
                .name = {"param", "grad", "state_sum"}, .write = {1, 0, 1},
                .required = {1, 1, 1}, .skip_slot = 1, .f32 = adagrad_f32, .f64 = adagrad_f64,
                .ctx = &c};
  return vt_fused_run(&f);
}

/* ---------------------------------------------------------------------------------------------
 * clip by value, scale
 * ------------------------------------------------------------------------------------------- */
#define clamp_BODY(T, SQRT)                                                        \
  const T hi = (T)*(const double*)f->ctx, lo = -hi;                                \
  T* x = b[0];                                                                     \
  for (int64_t j = 0; j < m; j++) x[j] = x[j] < lo ? lo : x[j] > hi ? hi : x[j];
VT_FUSED_KERNELS(clamp)

vt_status vt_optim_clip_value(int n, vt_tensor* const* grads, double clip_value) {
  const char* op = "clip_grad_value";
  VT_TRY(check_hyper(op, "clip value", clip_value, 0, 0, INFINITY, 0));
  vt_fused f = {.op = op, .n = n, .k = 1, .arr = {grads}, .name = {"gradient"}, .write = {1},
                .required = {1}, .skip_slot = -1, .f32 = clamp_f32, .f64 = clamp_f64,
                .ctx = &clip_value};
  return vt_fused_run(&f);
}

#define scale_BODY(T, SQRT)                                                        \
  const T s = (T)*(const double*)f->ctx;                                           \
  T* x = b[0];                                                                     \
  for (int64_t j = 0; j < m; j++) x[j] *= s;
VT_FUSED_KERNELS(scale)

vt_status vt_fused_scale(const char* op, int n, vt_tensor* const* ts, double coef) {
  vt_fused f = {.op = op, .n = n, .k = 1, .arr = {ts}, .name = {"gradient"}, .write = {1},
                .required = {1}, .skip_slot = -1, .f32 = scale_f32, .f64 = scale_f64,
                .ctx = &coef};
  return vt_fused_run(&f);
}
