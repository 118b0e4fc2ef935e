/* cpu_elementwise.c — CPU kernels for UNARY, BINARY, WHERE, CLAMP, LERP, FILL and COPY.
 *
 * One body per compute type (cpu_elementwise_body.h, included for f32, f64 and i64) serves every
 * dtype: operands that are contiguous and already in the compute type are used in place (the
 * loop the compiler vectorises); anything else is converted through a stack buffer in chunks.
 * Threads: vt_cpu_foreach splits the elements across the OpenMP pool above VT_CPU_GRAIN.
 */
#include <math.h>
#include <string.h>
#include "backend/cpu/cpu.h"

typedef struct {
  int op, nin, ct;
  int dt[4];      /* dtypes: [0] output, [1..] inputs */
  double f[4];
} ew_ctx;

#define EW_CAT2(a, b) a##_##b
#define EW_CAT(a, b) EW_CAT2(a, b)

/* ---- f32 ---- */
#define CT float
#define CT_DT VT_DTYPE_F32
#define SUF f32
#define EW_NAME(x) EW_CAT(x, f32)
#define IS_FLOAT 1
#define M_EXP expf
#define M_LOG logf
#define M_LOG1P log1pf
#define M_SQRT sqrtf
#define M_SIN sinf
#define M_COS cosf
#define M_TANH tanhf
#define M_ERF erff
#define M_POW powf
#include "backend/cpu/cpu_elementwise_body.h"
#undef CT
#undef CT_DT
#undef SUF
#undef EW_NAME
#undef M_EXP
#undef M_LOG
#undef M_LOG1P
#undef M_SQRT
#undef M_SIN
#undef M_COS
#undef M_TANH
#undef M_ERF
#undef M_POW
/* ---- f64 ---- */
#define CT double
#define CT_DT VT_DTYPE_F64
#define EW_NAME(x) EW_CAT(x, f64)
#define M_EXP exp
#define M_LOG log
#define M_LOG1P log1p
#define M_SQRT sqrt
#define M_SIN sin
#define M_COS cos
#define M_TANH tanh
#define M_ERF erf
#define M_POW pow
#include "backend/cpu/cpu_elementwise_body.h"
#undef CT
#undef CT_DT
#undef EW_NAME
#undef IS_FLOAT
/* ---- i64 ---- */
#define CT int64_t
#define CT_DT VT_DTYPE_I64
#define EW_NAME(x) EW_CAT(x, i64)
#define IS_FLOAT 0
#include "backend/cpu/cpu_elementwise_body.h"
#undef CT
#undef CT_DT
#undef EW_NAME
#undef IS_FLOAT

static void ew_loop(char** p, const int64_t* st, int64_t n, void* vctx) {
  const ew_ctx* c = vctx;
  switch (c->ct) {
    case VT_DTYPE_F32: ew_run_f32(c, p, st, n); break;
    case VT_DTYPE_F64: ew_run_f64(c, p, st, n); break;
    default: ew_run_i64(c, p, st, n); break;
  }
}

/* UNARY, BINARY, WHERE, CLAMP, LERP: out[0] and in[0..nin) share a shape. */
static vt_status cpu_elementwise(const vt_op_args* a) {
  ew_ctx c = {.op = a->op, .nin = a->nin, .ct = (int)a->i[0]};
  const vt_tensor* ts[4] = {a->out[0]};
  c.dt[0] = a->out[0]->dt;
  for (int j = 0; j < a->nin; j++) {
    ts[j + 1] = a->in[j];
    c.dt[j + 1] = a->in[j]->dt;
  }
  memcpy(c.f, a->f, sizeof c.f);
  vt_cpu_foreach(a->nin + 1, ts, ew_loop, &c, VT_CPU_GRAIN);
  return VT_OK;
}

/* ---- fill ---- */
typedef struct { int dt; _Alignas(8) unsigned char bytes[8]; size_t size; } fill_ctx;

static void fill_loop(char** p, const int64_t* st, int64_t n, void* vctx) {
  const fill_ctx* c = vctx;
  char* d = p[0];
  switch (c->size) {
    case 1: { uint8_t v; memcpy(&v, c->bytes, 1); for (int64_t i = 0; i < n; i++) *(uint8_t*)(d + i * st[0]) = v; break; }
    case 2: { uint16_t v; memcpy(&v, c->bytes, 2); for (int64_t i = 0; i < n; i++) *(uint16_t*)(d + i * st[0]) = v; break; }
    case 4: { uint32_t v; memcpy(&v, c->bytes, 4); for (int64_t i = 0; i < n; i++) *(uint32_t*)(d + i * st[0]) = v; break; }
    default: { uint64_t v; memcpy(&v, c->bytes, 8); for (int64_t i = 0; i < n; i++) *(uint64_t*)(d + i * st[0]) = v; break; }
  }
}

static vt_status cpu_fill(const vt_op_args* a) {
  fill_ctx c = {.dt = a->out[0]->dt, .size = vt_dtype_size(a->out[0]->dt)};
  double v = a->f[0];
  vt_cpu_store_f64((char*)c.bytes, 0, c.dt, &v, 1);
  const vt_tensor* ts[1] = {a->out[0]};
  vt_cpu_foreach(1, ts, fill_loop, &c, VT_CPU_GRAIN * 4);
  return VT_OK;
}

/* ---- copy (any dtype to any dtype, any strides) ---- */
typedef struct { int sdt, ddt; size_t size; int f32_exact; } copy_ctx;

static void copy_loop(char** p, const int64_t* st, int64_t n, void* vctx) {
  const copy_ctx* c = vctx;
  char *d = p[0], *s = p[1];
  if (c->sdt == c->ddt) {
    if (st[0] == (int64_t)c->size && st[1] == (int64_t)c->size) {
      memcpy(d, s, (size_t)n * c->size);
      return;
    }
    switch (c->size) {
      case 1: for (int64_t i = 0; i < n; i++) *(uint8_t*)(d + i * st[0]) = *(uint8_t*)(s + i * st[1]); return;
      case 2: for (int64_t i = 0; i < n; i++) *(uint16_t*)(d + i * st[0]) = *(uint16_t*)(s + i * st[1]); return;
      case 4: for (int64_t i = 0; i < n; i++) *(uint32_t*)(d + i * st[0]) = *(uint32_t*)(s + i * st[1]); return;
      default: for (int64_t i = 0; i < n; i++) *(uint64_t*)(d + i * st[0]) = *(uint64_t*)(s + i * st[1]); return;
    }
  }
  int ints = !vt_dtype_is_float(c->sdt) && !vt_dtype_is_float(c->ddt);
  for (int64_t o = 0; o < n; o += VT_CPU_CHUNK) {
    int64_t m = n - o < VT_CPU_CHUNK ? n - o : VT_CPU_CHUNK;
    if (ints) {
      int64_t buf[VT_CPU_CHUNK];
      vt_cpu_load_i64(buf, s + o * st[1], st[1], c->sdt, m);
      vt_cpu_store_i64(d + o * st[0], st[0], c->ddt, buf, m);
    } else if (c->sdt == VT_DTYPE_I64 && c->ddt != VT_DTYPE_F64) {
      /* i64 -> f32/f16/bf16 in one rounding step: vt_dtype_convert rounds the integer itself,
         not a double or float already rounded from it */
      int64_t buf[VT_CPU_CHUNK];
      _Alignas(8) unsigned char tmp[VT_CPU_CHUNK * 4];
      vt_cpu_load_i64(buf, s + o * st[1], st[1], c->sdt, m);
      vt_dtype_convert(tmp, (vt_dtype)c->ddt, buf, VT_DTYPE_I64, m);
      for (int64_t i = 0; i < m; i++) memcpy(d + (o + i) * st[0], tmp + i * c->size, c->size);
    } else if (c->f32_exact) {
      /* every value of the source is exact in f32, so going through float rounds once, as going
         through double would, at float speed (f32 <-> f16/bf16 is the mixed-precision hot path) */
      float buf[VT_CPU_CHUNK];
      vt_cpu_load_f32(buf, s + o * st[1], st[1], c->sdt, m);
      vt_cpu_store_f32(d + o * st[0], st[0], c->ddt, buf, m);
    } else {
      double buf[VT_CPU_CHUNK];
      vt_cpu_load_f64(buf, s + o * st[1], st[1], c->sdt, m);
      vt_cpu_store_f64(d + o * st[0], st[0], c->ddt, buf, m);
    }
  }
}

static vt_status cpu_copy_kernel(const vt_op_args* a) {
  copy_ctx c = {.sdt = a->in[0]->dt, .ddt = a->out[0]->dt, .size = vt_dtype_size(a->out[0]->dt)};
  c.f32_exact = c.sdt == VT_DTYPE_F32 || c.sdt == VT_DTYPE_F16 || c.sdt == VT_DTYPE_BF16 ||
                c.sdt == VT_DTYPE_U8 || c.sdt == VT_DTYPE_BOOL;
  const vt_tensor* ts[2] = {a->out[0], a->in[0]};
  vt_cpu_foreach(2, ts, copy_loop, &c, VT_CPU_GRAIN * 2);
  return VT_OK;
}

void vt_cpu_register_elementwise(vt_kernel* table) {
  for (int op = 0; op < VT_OP_COUNT; op++) {
    vt_op_kind k = vt_op_kind_of(op);
    if (k == VT_KIND_UNARY || k == VT_KIND_BINARY || k == VT_KIND_WHERE || k == VT_KIND_CLAMP ||
        k == VT_KIND_LERP)
      table[op] = cpu_elementwise;
  }
  table[VT_OP_fill] = cpu_fill;
  table[VT_OP_copy] = cpu_copy_kernel;
}
