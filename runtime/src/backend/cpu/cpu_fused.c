/* cpu_fused.c — CPU kernels of the fused family (ops/fused.c): linear (one GEMM over a
 * bias-filled output), cross-entropy forward/backward (one pass per row, parallel over rows) and
 * scaled dot-product attention forward/backward (per-head products with the row softmax in
 * between, parallel over heads and row blocks; the backward recomputes the probabilities from
 * the saved row logsumexp). The per-head products run in unpacked register tiles up to
 * ATTN_SMALL_S keys and ATTN_SMALL_D head width (packing dominated BLAS's time there) and
 * through BLAS beyond. The hot loops are compiled for AVX2 as well (VT_CPU_CLONES, cpu.h).
 * The bodies are written once in cpu_fused_body.h and instantiated for f32 and f64; the
 * front-end hands f16/bf16 over already converted to f32.
 */
#include "backend/cpu/cpu_gemm.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "backend/cpu/cpu.h"
#include "backend/cpu/cpu_vmath.h"
#include "ops/op.h"
#include "volt/fused.h"

/* Query rows per attention work item: bounds the score buffer to ATTN_BLOCK x S per thread. */
#define ATTN_BLOCK 64
/* Up to this many keys and this head width the per-head products skip BLAS (gemm_small in
   cpu_fused_body.h); beyond, BLAS's packing pays for itself. */
#define ATTN_SMALL_S 256
#define ATTN_SMALL_D 128

/* Where an attention tensor's heads live: head h = (b, hh) of H starts at b·sb + hh·sh elements,
   its rows ld elements apart. */
typedef struct {
  int64_t sb, sh, ld;
} attn_lay;
static inline int64_t attn_off(const attn_lay* l, int64_t h, int64_t H) {
  return (h / H) * l->sb + (h % H) * l->sh;
}

/* y (n) = exp(x (n)), f64 */
static inline void vexp_f64(const double* x, double* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = exp(x[i]);
}

/* target (M) i64 or i32: element i */
static inline int64_t ce_target(const char* y, int dt, int64_t i) {
  return dt == VT_DTYPE_I64 ? ((const int64_t*)y)[i] : (int64_t)((const int32_t*)y)[i];
}

static vt_status ce_check_targets(const char* op, const char* y, int dt, int64_t M, int64_t C,
                                  int64_t ignore) {
  for (int64_t i = 0; i < M; i++) {
    int64_t t = ce_target(y, dt, i);
    if (t != ignore && (t < 1 || t > C))
      return vt_set_error(VT_ERR_ARG,
                          "%s: target class index out of range (classes are 1-based 1..%lld): got "
                          "%lld at row %lld (ignore_index is %lld)",
                          op, (long long)C, (long long)t, (long long)(i + 1), (long long)ignore);
  }
  return VT_OK;
}

#define R float
#define SFX(n) n##_f32
#define GEMM vt_cpu_sgemm
#define EXP expf
#define LOG logf
#define VEXP vt_vexpf
#include "backend/cpu/cpu_fused_body.h"
#undef R
#undef SFX
#undef GEMM
#undef EXP
#undef LOG
#undef VEXP

#define R double
#define SFX(n) n##_f64
#define GEMM vt_cpu_dgemm
#define EXP exp
#define LOG log
#define VEXP vexp_f64
#include "backend/cpu/cpu_fused_body.h"
#undef R
#undef SFX
#undef GEMM
#undef EXP
#undef LOG
#undef VEXP

/* The compute dtype is in[0]'s (f32 or f64). */
static vt_status cpu_linear(const vt_op_args* a) {
  return a->in[0]->dt == VT_DTYPE_F64 ? linear_f64(a) : linear_f32(a);
}
static vt_status cpu_cross_entropy(const vt_op_args* a) {
  return a->in[0]->dt == VT_DTYPE_F64 ? cross_entropy_f64(a) : cross_entropy_f32(a);
}
static vt_status cpu_sdpa(const vt_op_args* a) {
  return a->in[0]->dt == VT_DTYPE_F64 ? sdpa_f64(a) : sdpa_f32(a);
}

void vt_cpu_register_fused(vt_kernel* table) {
  table[VT_OP_linear] = cpu_linear;
  table[VT_OP_cross_entropy] = cpu_cross_entropy;
  table[VT_OP_cross_entropy_backward] = cpu_cross_entropy;
  table[VT_OP_sdpa] = cpu_sdpa;
  table[VT_OP_sdpa_backward] = cpu_sdpa;
  table[VT_OP_sdpa_qkv] = cpu_sdpa;
  table[VT_OP_sdpa_qkv_backward] = cpu_sdpa;
}
