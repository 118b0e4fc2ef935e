/* cpu_gelu.c — GELU kernels on the CPU: a fast path of the exact (erf) forward over contiguous
 * f32 (vector erf, cpu_vmath.h) that takes VT_OP_gelu over from the elementwise kernel (which
 * still runs every other case: strides, broadcasting views, f64, f16/bf16), and gelu_backward,
 * the fused derivative dx = g · GELU'(x) in one pass:
 *   exact  GELU'(x) = Φ(x) + x φ(x),  Φ(x) = (1 + erf(x/√2)) / 2,  φ(x) = exp(-x²/2) / √(2π)
 *   tanh   u = √(2/π)(x + 0.044715 x³), GELU'(x) = (1 + tanh u)/2 + x (1 - tanh² u) √(2/π)(1 + 3·0.044715 x²) / 2
 * Both are parallel over blocks of elements; each element's result does not depend on threads.
 */
#include <math.h>
#include "backend/cpu/cpu.h"
#include "backend/cpu/cpu_vmath.h"
#include "ops/op.h"

#define GELU_BLOCK 512 /* elements per inner step (stack buffers) */
#define GELU_GRAIN 8192

static vt_kernel gelu_generic; /* the elementwise kernel of VT_OP_gelu */

typedef struct {
  const void *x, *g; /* x (n), g (n) */
  void* y;           /* y (n)        */
  int tanh_form;
} gelu_ctx;

/* y = x Φ(x), f32 */
VT_CPU_CLONES static void gelu_fwd_f32(int64_t i0, int64_t i1, void* p) {
  const gelu_ctx* c = p;
  const float* x = c->x;
  float* y = c->y;
  float t[GELU_BLOCK];
  for (int64_t b = i0; b < i1; b += GELU_BLOCK) {
    int64_t n = i1 - b < GELU_BLOCK ? i1 - b : GELU_BLOCK;
    for (int64_t j = 0; j < n; j++) t[j] = x[b + j] * 0.70710678118654752440f;
    vt_verff(t, t, n);
    for (int64_t j = 0; j < n; j++) y[b + j] = 0.5f * x[b + j] * (1.0f + t[j]);
  }
}

static vt_status cpu_gelu(const vt_op_args* a) {
  const vt_tensor *x = a->in[0], *y = a->out[0];
  if (x->dt == VT_DTYPE_F32 && y->dt == VT_DTYPE_F32 && a->i[0] == VT_DTYPE_F32 &&
      x->nelem == y->nelem && vt_tensor_is_contiguous(x) && vt_tensor_is_contiguous(y)) {
    gelu_ctx c = {.x = x->ptr, .y = y->ptr};
    vt_cpu_parallel_for(y->nelem, GELU_GRAIN, gelu_fwd_f32, &c);
    return VT_OK;
  }
  return gelu_generic(a);
}

/* dx = g GELU'(x), f32 */
VT_CPU_CLONES static void gelu_bwd_f32(int64_t i0, int64_t i1, void* p) {
  const gelu_ctx* c = p;
  const float* x = c->x;
  const float* g = c->g;
  float* y = c->y;
  if (c->tanh_form) {
    const float k0 = 0.7978845608028654f;
    for (int64_t i = i0; i < i1; i++) {
      float v = x[i], u = k0 * (v + 0.044715f * v * v * v), th = tanhf(u);
      y[i] = g[i] * (0.5f * (1 + th) + 0.5f * v * (1 - th * th) * k0 * (1 + 3 * 0.044715f * v * v));
    }
    return;
  }
  float e[GELU_BLOCK], q[GELU_BLOCK];
  for (int64_t b = i0; b < i1; b += GELU_BLOCK) {
    int64_t n = i1 - b < GELU_BLOCK ? i1 - b : GELU_BLOCK;
    for (int64_t j = 0; j < n; j++) {
      float v = x[b + j];
      e[j] = v * 0.70710678118654752440f;
      q[j] = -0.5f * v * v;
    }
    vt_verff(e, e, n);
    vt_vexpf(q, q, n);
    for (int64_t j = 0; j < n; j++) {
      float v = x[b + j];
      y[b + j] = g[b + j] * (0.5f * (1.0f + e[j]) + v * q[j] * 0.3989422804014327f);
    }
  }
}

/* dx = g GELU'(x), f64 */
static void gelu_bwd_f64(int64_t i0, int64_t i1, void* p) {
  const gelu_ctx* c = p;
  const double* x = c->x;
  const double* g = c->g;
  double* y = c->y;
  const double k0 = 0.7978845608028654;
  for (int64_t i = i0; i < i1; i++) {
    double v = x[i], d;
    if (c->tanh_form) {
      double u = k0 * (v + 0.044715 * v * v * v), th = tanh(u);
      d = 0.5 * (1 + th) + 0.5 * v * (1 - th * th) * k0 * (1 + 3 * 0.044715 * v * v);
    } else {
      d = 0.5 * (1 + erf(v * 0.7071067811865476)) + v * exp(-0.5 * v * v) * 0.3989422804014327;
    }
    y[i] = g[i] * d;
  }
}

/* in[0] g (n), in[1] x (n), out[0] dx (n): contiguous, one dtype (f32 or f64); i[0] tanh form. */
static vt_status cpu_gelu_backward(const vt_op_args* a) {
  gelu_ctx c = {.g = a->in[0]->ptr, .x = a->in[1]->ptr, .y = a->out[0]->ptr, .tanh_form = (int)a->i[0]};
  vt_cpu_parallel_for(a->out[0]->nelem, GELU_GRAIN,
                      a->out[0]->dt == VT_DTYPE_F64 ? gelu_bwd_f64 : gelu_bwd_f32, &c);
  return VT_OK;
}

/* Registered after the elementwise family (keeps its gelu kernel as the general path). */
void vt_cpu_register_gelu(vt_kernel* table) {
  gelu_generic = table[VT_OP_gelu];
  if (gelu_generic) table[VT_OP_gelu] = cpu_gelu;
  table[VT_OP_gelu_backward] = cpu_gelu_backward;
}
