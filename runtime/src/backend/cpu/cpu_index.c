/* cpu_index.c — CPU kernels of the INDEX ops: index_select, gather, scatter, scatter_add,
 * index_add, masked_fill, cat, one_hot, tril, triu (argument layout: ops/index.c).
 *
 * Index checks: every kernel that reads an index tensor first checks all of its values (a
 * parallel pass; on failure a sequential pass finds the first bad value in row-major order for
 * the message), so nothing is written when an index is out of range.
 *
 * Accumulation contract: scatter, scatter_add and index_add split the work across threads over
 * the dims that are NOT indexed (vt_cpu_foreach over the tensors with the indexed dim removed);
 * each thread walks the indexed dim in order. Two updates of one element therefore always happen
 * on one thread, in index order: scatter's last write wins and sums are bitwise the same on any
 * thread count. f16/bf16 add in f32 and round once per contribution; integers wrap.
 * index_select, gather, masked_fill, one_hot, cat and tril/triu have no conflicts and run
 * element-parallel.
 */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "backend/cpu/cpu.h"

/* ---------------------------------------------------------------------------------------- */
/* helpers                                                                                  */
/* ---------------------------------------------------------------------------------------- */
static inline int64_t ix_load(const char* p, int dt) {
  return dt == VT_DTYPE_I64 ? *(const int64_t*)p : (int64_t) * (const int32_t*)p;
}

static void ix_set_nelem(vt_tensor* v) {
  int64_t n = 1;
  for (int i = 0; i < v->ndim; i++) n *= v->sizes[i];
  v->nelem = n;
}

/* A header over t's memory with dim d removed. */
static void ix_drop_dim(const vt_tensor* t, int d, vt_tensor* v) {
  *v = *t;
  for (int i = d; i + 1 < t->ndim; i++) {
    v->sizes[i] = t->sizes[i + 1];
    v->strides[i] = t->strides[i + 1];
  }
  v->ndim = t->ndim - 1;
  ix_set_nelem(v);
}

/* A header over t's memory (same start) with the given sizes (each <= t's). */
static void ix_resize(const vt_tensor* t, const int64_t* sizes, vt_tensor* v) {
  *v = *t;
  memcpy(v->sizes, sizes, sizeof(int64_t) * (size_t)t->ndim);
  ix_set_nelem(v);
}

static inline int64_t ix_bytes(const vt_tensor* t, int d) {
  return t->strides[d] * (int64_t)vt_dtype_size(t->dt);
}

/* Grain for a foreach whose every element does `work` units. */
static inline int64_t ix_grain(int64_t work) {
  int64_t g = VT_CPU_GRAIN / (work > 1 ? work : 1);
  return g > 0 ? g : 1;
}

/* Copies n elements of es bytes between strided runs (no overlap). */
static void ix_copy_run(char* y, int64_t ys, const char* x, int64_t xs, int64_t n, size_t es) {
  if (ys == (int64_t)es && xs == (int64_t)es) {
    memcpy(y, x, (size_t)n * es);
    return;
  }
  switch (es) {
    case 1: for (int64_t i = 0; i < n; i++) *(uint8_t*)(y + i * ys) = *(const uint8_t*)(x + i * xs); break;
    case 2: for (int64_t i = 0; i < n; i++) *(uint16_t*)(y + i * ys) = *(const uint16_t*)(x + i * xs); break;
    case 4: for (int64_t i = 0; i < n; i++) *(uint32_t*)(y + i * ys) = *(const uint32_t*)(x + i * xs); break;
    default: for (int64_t i = 0; i < n; i++) *(uint64_t*)(y + i * ys) = *(const uint64_t*)(x + i * xs); break;
  }
}

static inline void ix_copy1(char* y, const char* x, size_t es) {
  switch (es) {
    case 1: *(uint8_t*)y = *(const uint8_t*)x; break;
    case 2: *(uint16_t*)y = *(const uint16_t*)x; break;
    case 4: *(uint32_t*)y = *(const uint32_t*)x; break;
    default: *(uint64_t*)y = *(const uint64_t*)x; break;
  }
}

/* Non-zero test for any dtype (-0.0 is zero, NaN is not). */
static inline int ix_nonzero(const char* p, int dt) {
  switch (dt) {
    case VT_DTYPE_F32: return *(const float*)p != 0;
    case VT_DTYPE_F64: return *(const double*)p != 0;
    case VT_DTYPE_F16:
    case VT_DTYPE_BF16: return (*(const uint16_t*)p & 0x7fff) != 0;
    case VT_DTYPE_I32: return *(const int32_t*)p != 0;
    case VT_DTYPE_I64: return *(const int64_t*)p != 0;
    default: return *(const uint8_t*)p != 0;
  }
}

/* ---------------------------------------------------------------------------------------- */
/* index value checks                                                                       */
/* ---------------------------------------------------------------------------------------- */
typedef struct {
  int dt;
  int64_t lo, hi;       /* valid values: [lo, hi)                        */
  int bad;              /* set when a value is out of range               */
  int64_t first;        /* sequential pass: the first bad value           */
  int64_t mn, mx;       /* min/max pass                                   */
} ix_check_ctx;

static void ix_check_loop(char** p, const int64_t* st, int64_t n, void* vctx) {
  ix_check_ctx* c = vctx;
  int bad = 0;
  if (c->dt == VT_DTYPE_I64) {
    for (int64_t i = 0; i < n; i++) {
      int64_t v = *(const int64_t*)(p[0] + i * st[0]);
      bad |= v < c->lo || v >= c->hi;
    }
  } else {
    for (int64_t i = 0; i < n; i++) {
      int64_t v = *(const int32_t*)(p[0] + i * st[0]);
      bad |= v < c->lo || v >= c->hi;
    }
  }
  if (bad) {
#pragma omp atomic write
    c->bad = 1;
  }
}

static void ix_first_bad_loop(char** p, const int64_t* st, int64_t n, void* vctx) {
  ix_check_ctx* c = vctx;
  for (int64_t i = 0; i < n && !c->bad; i++) {
    int64_t v = ix_load(p[0] + i * st[0], c->dt);
    if (v < c->lo || v >= c->hi) {
      c->bad = 1;
      c->first = v;
    }
  }
}

/* Checks that every value of index lies in [base, base + size) of dim d (0-based). */
static vt_status ix_validate(const char* op, const vt_tensor* index, int64_t base, int64_t size, int d) {
  if (index->nelem == 0) return VT_OK;
  ix_check_ctx c = {.dt = index->dt, .lo = base, .hi = base + size};
  const vt_tensor* ts[1] = {index};
  vt_cpu_foreach(1, ts, ix_check_loop, &c, VT_CPU_GRAIN);
  if (!c.bad) return VT_OK;
  c.bad = 0;
  vt_cpu_foreach(1, ts, ix_first_bad_loop, &c, INT64_MAX);
  if (size == 0)
    return vt_set_error(VT_ERR_ARG, "%s: index %lld out of range: dim %lld has size 0", op,
                        (long long)c.first, (long long)(d + base));
  return vt_set_error(VT_ERR_ARG, "%s: index %lld out of range for dim %lld of size %lld (valid %lld..%lld)",
                      op, (long long)c.first, (long long)(d + base), (long long)size,
                      (long long)base, (long long)(base + size - 1));
}

/* ---------------------------------------------------------------------------------------- */
/* index_select, gather: y[p] = x[p with p[d] = index(p)], element-parallel                  */
/* ---------------------------------------------------------------------------------------- */
/* p[0] = y, p[1] = x at p with p[d] = 0 (x's stride in d is 0 in this view), p[2] = index. */
typedef struct {
  int64_t xsd;   /* x's byte stride in d */
  int64_t base;
  size_t es;
  int idt;
} take_ctx;

#define TAKE_LOOP(T, IT)                                                                     \
  for (int64_t i = 0; i < n; i++) {                                                          \
    int64_t v = (int64_t) * (const IT*)(ix + i * st[2]) - c->base;                           \
    *(T*)(y + i * st[0]) = *(const T*)(x + i * st[1] + v * c->xsd);                          \
  }

static void take_loop(char** p, const int64_t* st, int64_t n, void* vctx) {
  const take_ctx* c = vctx;
  char* y = p[0];
  const char* x = p[1];
  const char* ix = p[2];
  if (st[2] == 0) { /* one index value for the whole run: a strided row copy */
    ix_copy_run(y, st[0], x + (ix_load(ix, c->idt) - c->base) * c->xsd, st[1], n, c->es);
    return;
  }
  if (c->idt == VT_DTYPE_I64) {
    switch (c->es) {
      case 1: TAKE_LOOP(uint8_t, int64_t) break;
      case 2: TAKE_LOOP(uint16_t, int64_t) break;
      case 4: TAKE_LOOP(uint32_t, int64_t) break;
      default: TAKE_LOOP(uint64_t, int64_t) break;
    }
  } else {
    switch (c->es) {
      case 1: TAKE_LOOP(uint8_t, int32_t) break;
      case 2: TAKE_LOOP(uint16_t, int32_t) break;
      case 4: TAKE_LOOP(uint32_t, int32_t) break;
      default: TAKE_LOOP(uint64_t, int32_t) break;
    }
  }
}

/* y (shape S), xv (S, stride 0 in d), iv (S) */
static void take_run(vt_tensor* y, const vt_tensor* x, int d, const vt_tensor* iv, int64_t base) {
  vt_tensor xv;
  ix_resize(x, y->sizes, &xv);
  xv.sizes[d] = y->sizes[d];
  xv.strides[d] = 0;
  ix_set_nelem(&xv);
  take_ctx c = {.xsd = ix_bytes(x, d), .base = base, .es = vt_dtype_size(y->dt), .idt = iv->dt};
  const vt_tensor* ts[3] = {y, &xv, iv};
  vt_cpu_foreach(3, ts, take_loop, &c, VT_CPU_GRAIN);
}

static vt_status cpu_index_select(const vt_op_args* a) {
  const vt_tensor *x = a->in[0], *index = a->in[1];
  vt_tensor* y = a->out[0];
  int d = (int)a->i[0];
  int64_t base = a->i[1];
  VT_TRY(ix_validate("index_select", index, base, x->sizes[d], d));
  if (y->nelem == 0) return VT_OK;
  /* the index as a view of y's shape: stride only along d */
  vt_tensor iv = *y;
  iv.dt = index->dt;
  iv.ptr = index->ptr;
  for (int e = 0; e < y->ndim; e++) iv.strides[e] = e == d ? index->strides[0] : 0;
  take_run(y, x, d, &iv, base);
  return VT_OK;
}

static vt_status cpu_gather(const vt_op_args* a) {
  const vt_tensor *x = a->in[0], *index = a->in[1];
  int d = (int)a->i[0];
  int64_t base = a->i[1];
  VT_TRY(ix_validate("gather", index, base, x->sizes[d], d));
  take_run(a->out[0], x, d, index, base);
  return VT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* scatter, scatter_add: parallel over the dims other than d, in index order along d         */
/* ---------------------------------------------------------------------------------------- */
/* p[0] = index, p[1] = y, p[2] = src (absent for a value), all at p with p[d] = 0. */
typedef struct {
  int op, dt, idt, has_src;
  size_t es;
  int64_t nd;             /* index.size(d)                     */
  int64_t isd, ysd, ssd;  /* byte strides along d              */
  int64_t base;
  _Alignas(8) unsigned char value[8]; /* scatter of a value: y's dtype */
} scat_ctx;

static inline void scat_add1(char* y, const char* s, int dt) {
  switch (dt) {
    case VT_DTYPE_F32: *(float*)y += *(const float*)s; break;
    case VT_DTYPE_F64: *(double*)y += *(const double*)s; break;
    case VT_DTYPE_F16:
      *(uint16_t*)y = vt_f32_to_f16(vt_f16_to_f32(*(uint16_t*)y) + vt_f16_to_f32(*(const uint16_t*)s));
      break;
    case VT_DTYPE_BF16:
      *(uint16_t*)y = vt_f32_to_bf16(vt_bf16_to_f32(*(uint16_t*)y) + vt_bf16_to_f32(*(const uint16_t*)s));
      break;
    case VT_DTYPE_I32: *(uint32_t*)y += *(const uint32_t*)s; break;
    case VT_DTYPE_I64: *(uint64_t*)y += *(const uint64_t*)s; break;
    default: *(uint8_t*)y += *(const uint8_t*)s; break;
  }
}

static void scat_loop(char** p, const int64_t* st, int64_t n, void* vctx) {
  const scat_ctx* c = vctx;
  for (int64_t j = 0; j < c->nd; j++) {
    const char* ix = p[0] + j * c->isd;
    if (!c->has_src) { /* scatter of a value */
      for (int64_t i = 0; i < n; i++) {
        int64_t v = ix_load(ix + i * st[0], c->idt) - c->base;
        ix_copy1(p[1] + i * st[1] + v * c->ysd, (const char*)c->value, c->es);
      }
      continue;
    }
    const char* s = p[2] + j * c->ssd;
    if (c->op == VT_OP_scatter) {
      for (int64_t i = 0; i < n; i++) {
        int64_t v = ix_load(ix + i * st[0], c->idt) - c->base;
        ix_copy1(p[1] + i * st[1] + v * c->ysd, s + i * st[2], c->es);
      }
    } else if (c->dt == VT_DTYPE_F32) {
      for (int64_t i = 0; i < n; i++) {
        int64_t v = ix_load(ix + i * st[0], c->idt) - c->base;
        *(float*)(p[1] + i * st[1] + v * c->ysd) += *(const float*)(s + i * st[2]);
      }
    } else {
      for (int64_t i = 0; i < n; i++) {
        int64_t v = ix_load(ix + i * st[0], c->idt) - c->base;
        scat_add1(p[1] + i * st[1] + v * c->ysd, s + i * st[2], c->dt);
      }
    }
  }
}

static vt_status cpu_scatter(const vt_op_args* a) {
  const char* op = a->op == VT_OP_scatter ? "scatter" : "scatter_add";
  vt_tensor* y = a->out[0];
  const vt_tensor *index = a->in[0], *src = a->in[1];
  int d = (int)a->i[0];
  int64_t base = a->i[1];
  VT_TRY(ix_validate(op, index, base, y->sizes[d], d));
  scat_ctx c = {.op = a->op, .dt = y->dt, .idt = index->dt, .es = vt_dtype_size(y->dt),
                .nd = index->sizes[d], .isd = ix_bytes(index, d), .ysd = ix_bytes(y, d),
                .ssd = src ? ix_bytes(src, d) : 0, .base = base, .has_src = src != NULL};
  if (!src) {
    double v = a->f[0];
    vt_cpu_store_f64((char*)c.value, 0, y->dt, &v, 1);
  }
  /* the other dims, restricted to the index's sizes */
  vt_tensor iv, yv, sv, t;
  ix_drop_dim(index, d, &iv);
  ix_resize(y, index->sizes, &t);
  ix_drop_dim(&t, d, &yv);
  const vt_tensor* ts[3] = {&iv, &yv, NULL};
  if (src) {
    ix_resize(src, index->sizes, &t);
    ix_drop_dim(&t, d, &sv);
    ts[2] = &sv;
  }
  vt_cpu_foreach(src ? 3 : 2, ts, scat_loop, &c, ix_grain(c.nd));
  return VT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* index_add: y[..., index[j], ...] += alpha * src[..., j, ...]                              */
/* ---------------------------------------------------------------------------------------- */
/* p[0] = y, p[1] = src, both at p with p[d] = 0. */
typedef struct {
  int dt;
  int64_t k;
  const int64_t* idx;   /* (k) 0-based */
  int64_t ysd, ssd;
  double alpha;
  int64_t ialpha;
} iadd_ctx;

static void iadd_loop(char** p, const int64_t* st, int64_t n, void* vctx) {
  const iadd_ctx* c = vctx;
  for (int64_t j = 0; j < c->k; j++) {
    char* y = p[0] + c->idx[j] * c->ysd;
    const char* s = p[1] + j * c->ssd;
    switch (c->dt) {
      case VT_DTYPE_F32: {
        float al = (float)c->alpha;
        for (int64_t i = 0; i < n; i++) *(float*)(y + i * st[0]) += al * *(const float*)(s + i * st[1]);
        break;
      }
      case VT_DTYPE_F64:
        for (int64_t i = 0; i < n; i++) *(double*)(y + i * st[0]) += c->alpha * *(const double*)(s + i * st[1]);
        break;
      case VT_DTYPE_F16: {
        float al = (float)c->alpha;
        for (int64_t i = 0; i < n; i++) {
          uint16_t* q = (uint16_t*)(y + i * st[0]);
          *q = vt_f32_to_f16(vt_f16_to_f32(*q) + al * vt_f16_to_f32(*(const uint16_t*)(s + i * st[1])));
        }
        break;
      }
      case VT_DTYPE_BF16: {
        float al = (float)c->alpha;
        for (int64_t i = 0; i < n; i++) {
          uint16_t* q = (uint16_t*)(y + i * st[0]);
          *q = vt_f32_to_bf16(vt_bf16_to_f32(*q) + al * vt_bf16_to_f32(*(const uint16_t*)(s + i * st[1])));
        }
        break;
      }
      case VT_DTYPE_I32: {
        uint32_t al = (uint32_t)c->ialpha;
        for (int64_t i = 0; i < n; i++) *(uint32_t*)(y + i * st[0]) += al * *(const uint32_t*)(s + i * st[1]);
        break;
      }
      case VT_DTYPE_I64: {
        uint64_t al = (uint64_t)c->ialpha;
        for (int64_t i = 0; i < n; i++) *(uint64_t*)(y + i * st[0]) += al * *(const uint64_t*)(s + i * st[1]);
        break;
      }
      default: {
        uint8_t al = (uint8_t)c->ialpha;
        for (int64_t i = 0; i < n; i++) *(uint8_t*)(y + i * st[0]) += (uint8_t)(al * *(const uint8_t*)(s + i * st[1]));
        break;
      }
    }
  }
}

static vt_status cpu_index_add(const vt_op_args* a) {
  vt_tensor* y = a->out[0];
  const vt_tensor *index = a->in[0], *src = a->in[1];
  int d = (int)a->i[0];
  int64_t base = a->i[1];
  VT_TRY(ix_validate("index_add", index, base, y->sizes[d], d));
  int64_t k = index->nelem;
  int64_t* idx = malloc(sizeof(int64_t) * (size_t)(k > 0 ? k : 1));
  if (!idx) return vt_set_error(VT_ERR_OOM, "index_add: out of host memory for %lld indices", (long long)k);
  int64_t ist = index->ndim ? ix_bytes(index, 0) : 0;
  for (int64_t j = 0; j < k; j++) idx[j] = ix_load((const char*)index->ptr + j * ist, index->dt) - base;
  iadd_ctx c = {.dt = y->dt, .k = k, .idx = idx, .ysd = ix_bytes(y, d), .ssd = ix_bytes(src, d),
                .alpha = a->f[0]};
  double al = a->f[0];
  c.ialpha = al >= -0x1p63 && al < 0x1p63 ? (int64_t)al : 0;
  vt_tensor yv, sv;
  ix_drop_dim(y, d, &yv);
  ix_drop_dim(src, d, &sv);
  const vt_tensor* ts[2] = {&yv, &sv};
  vt_cpu_foreach(2, ts, iadd_loop, &c, ix_grain(k));
  free(idx);
  return VT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* masked_fill                                                                              */
/* ---------------------------------------------------------------------------------------- */
typedef struct {
  size_t es;
  int mdt;
  _Alignas(8) unsigned char value[8];
} mfill_ctx;

static void mfill_loop(char** p, const int64_t* st, int64_t n, void* vctx) {
  const mfill_ctx* c = vctx;
  for (int64_t i = 0; i < n; i++) {
    char* y = p[0] + i * st[0];
    if (ix_nonzero(p[2] + i * st[2], c->mdt)) ix_copy1(y, (const char*)c->value, c->es);
    else if (y != p[1] + i * st[1]) ix_copy1(y, p[1] + i * st[1], c->es);
  }
}

static vt_status cpu_masked_fill(const vt_op_args* a) {
  vt_tensor* y = a->out[0];
  mfill_ctx c = {.es = vt_dtype_size(y->dt), .mdt = a->in[1]->dt};
  double v = a->f[0];
  vt_cpu_store_f64((char*)c.value, 0, y->dt, &v, 1);
  const vt_tensor* ts[3] = {y, a->in[0], a->in[1]};
  vt_cpu_foreach(3, ts, mfill_loop, &c, VT_CPU_GRAIN);
  return VT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* cat: each part copied (and converted) into its slice of y by the backend's copy kernel    */
/* ---------------------------------------------------------------------------------------- */
static vt_status cpu_cat(const vt_op_args* a) {
  const vt_tensor* const* parts = a->ptr;
  int64_t m = a->i[0];
  int d = (int)a->i[1];
  vt_tensor* y = a->out[0];
  vt_kernel copy = vt_cpu_backend()->kernels[VT_OP_copy];
  if (!copy) return vt_set_error(VT_ERR_INTERNAL, "cat: the CPU copy kernel is missing");
  int64_t off = 0;
  for (int64_t j = 0; j < m; j++) {
    const vt_tensor* t = parts[j];
    vt_tensor slice = *y;
    slice.sizes[d] = t->sizes[d];
    ix_set_nelem(&slice);
    slice.ptr = (char*)y->ptr + off * ix_bytes(y, d);
    off += t->sizes[d];
    if (slice.nelem == 0) continue;
    vt_op_args c = {.op = VT_OP_copy, .nin = 1, .in = {t}, .out = {&slice}};
    VT_TRY(copy(&c));
  }
  return VT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* one_hot                                                                                  */
/* ---------------------------------------------------------------------------------------- */
/* p[0] = labels, p[1] = y at class 0. */
typedef struct {
  int idt;
  int64_t nc, ycs, base;
} ohot_ctx;

static void ohot_loop(char** p, const int64_t* st, int64_t n, void* vctx) {
  const ohot_ctx* c = vctx;
  for (int64_t i = 0; i < n; i++) {
    int64_t v = ix_load(p[0] + i * st[0], c->idt) - c->base;
    char* row = p[1] + i * st[1];
    if (c->ycs == 8) {
      memset(row, 0, (size_t)c->nc * 8);
      ((int64_t*)row)[v] = 1;
    } else {
      for (int64_t k = 0; k < c->nc; k++) *(int64_t*)(row + k * c->ycs) = k == v;
    }
  }
}

static void minmax_loop(char** p, const int64_t* st, int64_t n, void* vctx) {
  ix_check_ctx* c = vctx;
  int64_t mn = INT64_MAX, mx = INT64_MIN;
  for (int64_t i = 0; i < n; i++) {
    int64_t v = ix_load(p[0] + i * st[0], c->dt);
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
#pragma omp critical(vt_cpu_index_minmax)
  {
    if (mn < c->mn) c->mn = mn;
    if (mx > c->mx) c->mx = mx;
  }
}

static vt_status cpu_one_hot(const vt_op_args* a) {
  const vt_tensor* labels = a->in[0];
  int64_t base = a->i[1];
  const vt_tensor* ts[2] = {labels, NULL};
  if (!a->out[0]) { /* probe: min and max label */
    ix_check_ctx c = {.dt = labels->dt, .mn = INT64_MAX, .mx = INT64_MIN};
    vt_cpu_foreach(1, ts, minmax_loop, &c, VT_CPU_GRAIN);
    ((int64_t*)a->ptr)[0] = c.mn;
    ((int64_t*)a->ptr)[1] = c.mx;
    return VT_OK;
  }
  vt_tensor* y = a->out[0];
  int64_t nc = a->i[0];
  if (labels->nelem > 0) {
    ix_check_ctx c = {.dt = labels->dt, .lo = base, .hi = base + nc};
    vt_cpu_foreach(1, ts, ix_check_loop, &c, VT_CPU_GRAIN);
    if (c.bad) {
      c.bad = 0;
      vt_cpu_foreach(1, ts, ix_first_bad_loop, &c, INT64_MAX);
      if (nc == 0)
        return vt_set_error(VT_ERR_ARG, "one_hot: label %lld out of range: num_classes is 0",
                            (long long)c.first);
      return vt_set_error(VT_ERR_ARG, "one_hot: label %lld out of range for %lld classes (valid %lld..%lld)",
                          (long long)c.first, (long long)nc, (long long)base,
                          (long long)(base + nc - 1));
    }
  }
  if (y->nelem == 0) return VT_OK;
  ohot_ctx c = {.idt = labels->dt, .nc = nc, .ycs = ix_bytes(y, y->ndim - 1), .base = base};
  vt_tensor yv;
  ix_drop_dim(y, y->ndim - 1, &yv);
  ts[1] = &yv;
  vt_cpu_foreach(2, ts, ohot_loop, &c, ix_grain(nc));
  return VT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* tril, triu: parallel over the rows of all the matrices                                   */
/* ---------------------------------------------------------------------------------------- */
typedef struct {
  const vt_tensor *x, *y;
  int upper;
  int64_t k;
} tri_ctx;

static char* tri_row(const vt_tensor* t, int64_t g) {
  int64_t off = 0;
  for (int e = t->ndim - 2; e >= 0; e--) {
    off += (g % t->sizes[e]) * t->strides[e];
    g /= t->sizes[e];
  }
  return (char*)t->ptr + off * (int64_t)vt_dtype_size(t->dt);
}

static void tri_range(int64_t begin, int64_t end, void* vctx) {
  const tri_ctx* c = vctx;
  const vt_tensor *x = c->x, *y = c->y;
  int nd = y->ndim;
  int64_t R = y->sizes[nd - 2], C = y->sizes[nd - 1];
  size_t es = vt_dtype_size(y->dt);
  int64_t xs = ix_bytes(x, nd - 1), ys = ix_bytes(y, nd - 1);
  for (int64_t g = begin; g < end; g++) {
    int64_t r = g % R;
    char* yr = tri_row(y, g);
    const char* xr = tri_row(x, g);
    /* kept columns [lo, hi) */
    int64_t lo = 0, hi = C;
    if (c->upper) lo = r + c->k;
    else hi = r + c->k + 1;
    if (lo < 0) lo = 0;
    if (lo > C) lo = C;
    if (hi < lo) hi = lo;
    if (hi > C) hi = C;
    if (yr != xr || ys != xs) ix_copy_run(yr + lo * ys, ys, xr + lo * xs, xs, hi - lo, es);
    if (ys == (int64_t)es) {
      memset(yr, 0, (size_t)lo * es);
      memset(yr + hi * ys, 0, (size_t)(C - hi) * es);
    } else {
      for (int64_t j = 0; j < lo; j++) memset(yr + j * ys, 0, es);
      for (int64_t j = hi; j < C; j++) memset(yr + j * ys, 0, es);
    }
  }
}

static vt_status cpu_tri(const vt_op_args* a) {
  tri_ctx c = {.x = a->in[0], .y = a->out[0], .upper = a->op == VT_OP_triu, .k = a->i[0]};
  const vt_tensor* y = a->out[0];
  int64_t C = y->sizes[y->ndim - 1];
  int64_t rows = C > 0 ? y->nelem / C : 0;
  vt_cpu_parallel_for(rows, ix_grain(C), tri_range, &c);
  return VT_OK;
}

void vt_cpu_register_index(vt_kernel* table) {
  table[VT_OP_index_select] = cpu_index_select;
  table[VT_OP_gather] = cpu_gather;
  table[VT_OP_scatter] = cpu_scatter;
  table[VT_OP_scatter_add] = cpu_scatter;
  table[VT_OP_index_add] = cpu_index_add;
  table[VT_OP_masked_fill] = cpu_masked_fill;
  table[VT_OP_cat] = cpu_cat;
  table[VT_OP_one_hot] = cpu_one_hot;
  table[VT_OP_tril] = cpu_tri;
  table[VT_OP_triu] = cpu_tri;
}
