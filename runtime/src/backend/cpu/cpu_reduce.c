/* cpu_reduce.c — CPU kernels for REDUCE (sum mean prod amax amin var std logsumexp norm all any),
 * REDUCE_IDX (max min argmax argmin), SOFTMAX (softmax log_softmax) and SCAN (cumsum).
 *
 * Accumulation contract: floating-point inputs are read as double and accumulate in double
 * (sums with 8 independent partial sums, combined in a fixed order); integer sums, products and
 * comparisons run in int64 (sums and products wrap). var/std: each chunk is summed two-pass
 * (mean, then squared deviations) and chunks merge with Chan's formula (Welford per element in
 * the column path). logsumexp/softmax subtract the running maximum; for f32/f16/bf16 they take
 * exp in float with rd_expf (vectorisable, ~2 ulp) and sum in double; f64 uses libm's exp.
 * Results round once, on store.
 *
 * Layout: the input's dims split into kept dims (one output per index) and reduced dims; size-1
 * dims are dropped, reduced dims are ordered by stride (REDUCE only: its ops do not care about
 * order), and neighbours contiguous with each other are merged. (N, C) summed over N becomes
 * "kept C (stride 1), reduced N (stride C)". Then one of two paths:
 *   row     each output walks its reduced elements in runs of the innermost reduced dim, loaded in
 *           chunks of RD_CH into a double (or int64) buffer; contiguous f64 runs (and f32 runs for
 *           sum/mean) are read in place. Row reductions ((N, C) over C) take this path.
 *   column  the innermost kept dim is contiguous in x and the reduced ones are not (column sums,
 *           bias gradients): a tile of up to RD_CH adjacent outputs advances together over the
 *           reduced elements, one contiguous load per reduced index, no copy of x.
 * Parallelism: over outputs (row) or tiles (column) with vt_cpu_parallel_for. With fewer than
 * RD_FEW of those and a long reduction, the reduced range is also cut into blocks whose length
 * depends only on the shapes; per-block partial states are merged in block order afterwards.
 * Nothing depends on the thread count, so results are bitwise identical on 1 or N threads.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "backend/cpu/cpu.h"
#include "volt/ops.h"

#define RD_CH 512    /* elements per load buffer; outputs per column tile                     */
#define RD_RB 16384  /* reduced elements per block when one reduction is split across threads */
#define RD_FEW 64    /* split reductions into blocks when there are fewer work items than this */

static inline int64_t rd_min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t rd_max64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t rd_cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* NaN-propagating max/min: once NaN, stays NaN. */
static inline double rd_fmax(double a, double v) { return (v > a || v != v) ? v : a; }
static inline double rd_fmin(double a, double v) { return (v < a || v != v) ? v : a; }

/* exp for the f32 compute paths: branch-free so loops over it vectorise (Cephes polynomial,
   max relative error ~2 ulp of float). exp(-inf) = 0 (below -87 gives 0), exp(+inf) = inf,
   NaN stays NaN. f64 paths use libm's exp. */
static inline float rd_expf(float x) {
  const float hi = 88.7228f, lo = -87.0f;
  float xc = x < hi ? x : hi; /* NaN -> hi: the polynomial never sees NaN */
  xc = xc > lo ? xc : lo;
  float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round to nearest */
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float e = p * r * r + r + 1.0f;
  int32_t bits = ((int32_t)n + 126) * (1 << 23); /* 2^(n-1), n in [-125, 128] */
  float scale;
  memcpy(&scale, &bits, 4);
  float y = (e * scale) * 2.0f;
  y = x < lo ? 0.0f : y;
  y = x > hi ? INFINITY : y;
  return x != x ? x : y;
}

/* ============================================================================================ */
/* layout: kept and reduced dims                                                                */
/* ============================================================================================ */
typedef struct {
  int nt;                                            /* tensors: [0] x, [1], [2] results      */
  char* base[3];
  int nk, nr;                                        /* kept / reduced dims after merging     */
  int64_t ks[VT_MAX_DIMS], rs[VT_MAX_DIMS];          /* their sizes                           */
  int64_t kst[3][VT_MAX_DIMS], rst[3][VT_MAX_DIMS];  /* their strides per tensor, in bytes    */
  int64_t M, R;                                      /* outputs, reduced elements per output  */
} rd_layout;

/* Merges neighbour dims (outer w, inner d) that are contiguous with each other in every tensor. */
static int rd_coalesce(int n, int64_t* s, int nt, int64_t st[][VT_MAX_DIMS]) {
  if (n == 0) return 0;
  int w = 0;
  for (int d = 1; d < n; d++) {
    int ok = 1;
    for (int t = 0; t < nt; t++)
      if (st[t][w] != st[t][d] * s[d]) ok = 0;
    if (ok) {
      s[w] *= s[d];
    } else {
      w++;
      s[w] = s[d];
    }
    for (int t = 0; t < nt; t++) st[t][w] = st[t][d];
  }
  return w + 1;
}

/* ts[0] = x; ts[1..nt) have x's ndim (keepdim views, or x's shape). mask marks reduced dims.
   reorder: drop size-1 reduced dims and order the rest by x's stride, largest first (REDUCE);
   otherwise the reduced dims stay as they are (the along-dim kinds have exactly one). */
static void rd_layout_init(rd_layout* L, int nt, const vt_tensor* const* ts, uint32_t mask,
                           int reorder) {
  const vt_tensor* x = ts[0];
  memset(L, 0, sizeof *L);
  L->nt = nt;
  L->M = L->R = 1;
  int64_t es[3];
  for (int t = 0; t < nt; t++) {
    es[t] = (int64_t)vt_dtype_size(ts[t]->dt);
    L->base[t] = (char*)ts[t]->ptr;
  }
  for (int d = 0; d < x->ndim; d++) {
    int64_t n = x->sizes[d];
    if (mask >> d & 1) {
      L->R *= n;
      if (n == 1 && reorder) continue;
      int r = L->nr++;
      L->rs[r] = n;
      for (int t = 0; t < nt; t++) L->rst[t][r] = n == 1 ? es[t] : ts[t]->strides[d] * es[t];
    } else {
      L->M *= n;
      if (n == 1) continue;
      int k = L->nk++;
      L->ks[k] = n;
      for (int t = 0; t < nt; t++) L->kst[t][k] = ts[t]->strides[d] * es[t];
    }
  }
  if (reorder) {
    for (int i = 1; i < L->nr; i++) /* insertion sort, stable: largest x stride first */
      for (int j = i; j > 0 && L->rst[0][j - 1] < L->rst[0][j]; j--) {
        int64_t tmp = L->rs[j];
        L->rs[j] = L->rs[j - 1];
        L->rs[j - 1] = tmp;
        for (int t = 0; t < nt; t++) {
          tmp = L->rst[t][j];
          L->rst[t][j] = L->rst[t][j - 1];
          L->rst[t][j - 1] = tmp;
        }
      }
    if (L->nr == 0) { /* nothing left to reduce: one element per output */
      L->nr = 1;
      L->rs[0] = 1;
      for (int t = 0; t < nt; t++) L->rst[t][0] = es[t];
    }
    L->nr = rd_coalesce(L->nr, L->rs, nt, L->rst);
  }
  L->nk = rd_coalesce(L->nk, L->ks, nt, L->kst);
}

/* Byte offsets of kept linear index m in every tensor (off has room for 3). */
static void rd_kept_offsets(const rd_layout* L, int64_t m, int64_t* off) {
  off[0] = off[1] = off[2] = 0;
  for (int d = L->nk - 1; d >= 0; d--) {
    int64_t i = m % L->ks[d];
    m /= L->ks[d];
    for (int t = 0; t < L->nt; t++) off[t] += i * L->kst[t][d];
  }
}

/* ============================================================================================ */
/* REDUCE and REDUCE_IDX: per-op state                                                          */
/* ============================================================================================ */
/* norm kinds */
enum { NK_SUM_SQ, NK_SUM_ABS, NK_MAX_ABS, NK_MIN_ABS, NK_COUNT, NK_POW };

typedef struct {
  int op;       /* VT_OP_*                                                   */
  int ints;     /* compute in int64 (integer sum/prod/amax/amin/max/...)     */
  int xdt;      /* input dtype                                               */
  int nk;       /* norm kind                                                 */
  double p;     /* norm p, or var/std correction                             */
  int fexp;     /* logsumexp of f32/f16/bf16: exp in float (rd_expf)          */
} rd_op;

/* One reduction's running state. Double compute: a (sum, product, extreme, mean, max of
   logsumexp), b (M2 of var, sum of logsumexp); int compute: j (sum, product, extreme).
   i: count (var), flag (all/any) or position (max/min/argmax/argmin; -1 before the first). */
typedef struct {
  double a, b;
  int64_t i, j;
} rd_state;

/* Structure-of-arrays states for a column tile (vectorisable updates). */
typedef struct {
  double a[RD_CH], b[RD_CH];
  int64_t i[RD_CH], j[RD_CH];
} rd_cols;

static inline int rd_is_maxlike(int op) { return op == VT_OP_max || op == VT_OP_argmax; }

static void rd_init(const rd_op* o, rd_state* s) {
  s->a = s->b = 0;
  s->i = s->j = 0;
  switch (o->op) {
    case VT_OP_prod: s->a = 1; s->j = 1; break;
    case VT_OP_amax: s->a = -INFINITY; s->j = INT64_MIN; break;
    case VT_OP_amin: s->a = INFINITY; s->j = INT64_MAX; break;
    case VT_OP_logsumexp: s->a = -INFINITY; break;
    case VT_OP_norm: if (o->nk == NK_MIN_ABS) s->a = INFINITY; break;
    case VT_OP_all: s->i = 1; break;
    case VT_OP_max: case VT_OP_min: case VT_OP_argmax: case VT_OP_argmin: s->i = -1; break;
    default: break;
  }
}

/* v replaces the current extreme a (max side): a is not NaN and v is NaN or larger. */
static inline int rd_better_max(double v, double a) { return a == a && (v != v || v > a); }
static inline int rd_better_min(double v, double a) { return a == a && (v != v || v < a); }

/* ---- contiguous helpers ---- */
static double rd_sum_d(const double* v, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) acc[k] += v[i + k];
  for (int k = 0; i < n; i++, k++) acc[k] += v[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

static double rd_sum_f(const float* v, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) acc[k] += (double)v[i + k];
  for (int k = 0; i < n; i++, k++) acc[k] += (double)v[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

static double rd_sumsq_d(const double* v, int64_t n, double c) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) {
      double d = v[i + k] - c;
      acc[k] += d * d;
    }
  for (int k = 0; i < n; i++, k++) {
    double d = v[i] - c;
    acc[k] += d * d;
  }
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* Largest / smallest of n values, NaN if any is NaN (-inf / +inf when n == 0). Eight lanes so
   the loop vectorises; u[k] keeps a NaN seen in lane k (all-T lanes vectorise); the result does
   not depend on the order. One body for each (name, type, identity, comparison). */
#define VT_LANE_EXTREME(NAME, T, INIT, BETTER)                       \
  static T NAME(const T* v, int64_t n) {                             \
    T m[8], u[8];                                                    \
    for (int k = 0; k < 8; k++) {                                    \
      m[k] = INIT;                                                   \
      u[k] = 0;                                                      \
    }                                                                \
    int64_t i = 0;                                                   \
    for (; i + 8 <= n; i += 8)                                       \
      for (int k = 0; k < 8; k++) {                                  \
        T x = v[i + k];                                              \
        m[k] = x BETTER m[k] ? x : m[k];                             \
        u[k] = x != x ? x : u[k];                                    \
      }                                                              \
    for (int k = 0; i < n; i++, k++) {                               \
      m[k] = v[i] BETTER m[k] ? v[i] : m[k];                         \
      u[k] = v[i] != v[i] ? v[i] : u[k];                             \
    }                                                                \
    T r = INIT, nan = 0;                                             \
    for (int k = 0; k < 8; k++) {                                    \
      r = m[k] BETTER r ? m[k] : r;                                  \
      nan = u[k] != u[k] ? u[k] : nan;                               \
    }                                                                \
    return nan != nan ? nan : r;                                     \
  }
VT_LANE_EXTREME(rd_max_d, double, -INFINITY, >)
VT_LANE_EXTREME(rd_min_d, double, INFINITY, <)
VT_LANE_EXTREME(sm_max_f32, float, -INFINITY, >)

/* a[k] += (double)f[k], k < w (the column path's f32 sum: a linear layer's bias gradient). In
   vector types (GCC's own vectorisation of the plain loop spilled half of every float4 through
   the stack): one 4-lane convert-and-add per step, 256-bit in the AVX2 clone. */
typedef float rd_v4f __attribute__((vector_size(16)));
typedef double rd_v4d __attribute__((vector_size(32)));
VT_CPU_CLONES static void rd_add_f32(double* restrict a, const float* restrict f, int64_t w) {
  int64_t k = 0;
  for (; k + 4 <= w; k += 4) {
    rd_v4f v;
    rd_v4d d;
    memcpy(&v, f + k, sizeof v);
    memcpy(&d, a + k, sizeof d);
    d += __builtin_convertvector(v, rd_v4d);
    memcpy(a + k, &d, sizeof d);
  }
  for (; k < w; k++) a[k] += (double)f[k];
}

/* Chan's merge of (nb, mean mb, M2 m2b) into a var state. */
static void rd_var_merge(rd_state* s, int64_t nb, double mb, double m2b) {
  if (nb == 0) return;
  int64_t na = s->i;
  if (na == 0) {
    s->i = nb;
    s->a = mb;
    s->b = m2b;
    return;
  }
  double n = (double)(na + nb), d = mb - s->a;
  s->a += d * ((double)nb / n);
  s->b += m2b + d * d * ((double)na * (double)nb / n);
  s->i = na + nb;
}

/* ---- row updates: n contiguous values into one state; idx0 = position of v[0] ---- */
static void rd_row_d(const rd_op* o, rd_state* s, const double* v, int64_t n, int64_t idx0) {
  switch (o->op) {
    case VT_OP_sum:
    case VT_OP_mean: s->a += rd_sum_d(v, n); break;
    case VT_OP_prod: {
      double p = s->a;
      for (int64_t i = 0; i < n; i++) p *= v[i];
      s->a = p;
      break;
    }
    case VT_OP_amax: s->a = rd_fmax(s->a, rd_max_d(v, n)); break;
    case VT_OP_amin: s->a = rd_fmin(s->a, rd_min_d(v, n)); break;
    case VT_OP_var:
    case VT_OP_std: {
      if (n == 0) break;
      double mean = rd_sum_d(v, n) / (double)n;
      rd_var_merge(s, n, mean, rd_sumsq_d(v, n, mean));
      break;
    }
    case VT_OP_logsumexp: {
      double m = rd_fmax(s->a, rd_max_d(v, n));
      if (!isfinite(m)) { /* +inf, NaN, or everything -inf so far: the result is m */
        s->a = m;
        break;
      }
      double acc = 0;
      if (o->fexp) {
        float e[RD_CH];
        for (int64_t k = 0; k < n; k += RD_CH) {
          int64_t c = rd_min64(RD_CH, n - k);
          for (int64_t i = 0; i < c; i++) e[i] = rd_expf((float)(v[k + i] - m));
          acc += rd_sum_f(e, c);
        }
      } else {
        for (int64_t i = 0; i < n; i++) acc += exp(v[i] - m);
      }
      s->b = s->b * exp(s->a - m) + acc;
      s->a = m;
      break;
    }
    case VT_OP_norm: {
      double a = s->a;
      switch (o->nk) {
        case NK_SUM_SQ: a += rd_sumsq_d(v, n, 0.0); break;
        case NK_SUM_ABS: for (int64_t i = 0; i < n; i++) a += fabs(v[i]); break;
        case NK_MAX_ABS: for (int64_t i = 0; i < n; i++) a = rd_fmax(a, fabs(v[i])); break;
        case NK_MIN_ABS: for (int64_t i = 0; i < n; i++) a = rd_fmin(a, fabs(v[i])); break;
        case NK_COUNT: for (int64_t i = 0; i < n; i++) a += v[i] != 0; break;
        default: for (int64_t i = 0; i < n; i++) a += pow(fabs(v[i]), o->p); break;
      }
      s->a = a;
      break;
    }
    case VT_OP_all:
      if (s->i)
        for (int64_t i = 0; i < n; i++)
          if (v[i] == 0) {
            s->i = 0;
            break;
          }
      break;
    case VT_OP_any:
      if (!s->i)
        for (int64_t i = 0; i < n; i++)
          if (v[i] != 0) {
            s->i = 1;
            break;
          }
      break;
    case VT_OP_max:
    case VT_OP_argmax:
      for (int64_t i = 0; i < n; i++)
        if (s->i < 0 || rd_better_max(v[i], s->a)) {
          s->a = v[i];
          s->i = idx0 + i;
        }
      break;
    case VT_OP_min:
    case VT_OP_argmin:
      for (int64_t i = 0; i < n; i++)
        if (s->i < 0 || rd_better_min(v[i], s->a)) {
          s->a = v[i];
          s->i = idx0 + i;
        }
      break;
    default: break;
  }
}

static void rd_row_i(const rd_op* o, rd_state* s, const int64_t* v, int64_t n, int64_t idx0) {
  switch (o->op) {
    case VT_OP_sum: {
      uint64_t acc = (uint64_t)s->j;
      for (int64_t i = 0; i < n; i++) acc += (uint64_t)v[i];
      s->j = (int64_t)acc;
      break;
    }
    case VT_OP_prod: {
      uint64_t acc = (uint64_t)s->j;
      for (int64_t i = 0; i < n; i++) acc *= (uint64_t)v[i];
      s->j = (int64_t)acc;
      break;
    }
    case VT_OP_amax: {
      int64_t m = s->j;
      for (int64_t i = 0; i < n; i++) m = v[i] > m ? v[i] : m;
      s->j = m;
      break;
    }
    case VT_OP_amin: {
      int64_t m = s->j;
      for (int64_t i = 0; i < n; i++) m = v[i] < m ? v[i] : m;
      s->j = m;
      break;
    }
    case VT_OP_max:
    case VT_OP_argmax:
      for (int64_t i = 0; i < n; i++)
        if (s->i < 0 || v[i] > s->j) {
          s->j = v[i];
          s->i = idx0 + i;
        }
      break;
    case VT_OP_min:
    case VT_OP_argmin:
      for (int64_t i = 0; i < n; i++)
        if (s->i < 0 || v[i] < s->j) {
          s->j = v[i];
          s->i = idx0 + i;
        }
      break;
    default: break;
  }
}

/* ---- column updates: value v[k] into lane k (k < w); idx = position of this row ---- */
static void rd_col_d(const rd_op* o, rd_cols* c, const double* v, int64_t w, int64_t idx) {
  double* restrict a = c->a;
  double* restrict b = c->b;
  switch (o->op) {
    case VT_OP_sum:
    case VT_OP_mean: for (int64_t k = 0; k < w; k++) a[k] += v[k]; break;
    case VT_OP_prod: for (int64_t k = 0; k < w; k++) a[k] *= v[k]; break;
    case VT_OP_amax: for (int64_t k = 0; k < w; k++) a[k] = rd_fmax(a[k], v[k]); break;
    case VT_OP_amin: for (int64_t k = 0; k < w; k++) a[k] = rd_fmin(a[k], v[k]); break;
    case VT_OP_var:
    case VT_OP_std: /* Welford; every lane has seen the same count */
      for (int64_t k = 0; k < w; k++) {
        double n = (double)++c->i[k], d = v[k] - a[k];
        a[k] += d / n;
        b[k] += d * (v[k] - a[k]);
      }
      break;
    case VT_OP_logsumexp:
      for (int64_t k = 0; k < w; k++) {
        double m = rd_fmax(a[k], v[k]);
        if (!isfinite(m)) {
          a[k] = m;
        } else if (v[k] <= a[k]) {
          b[k] += exp(v[k] - a[k]);
        } else {
          b[k] = b[k] * exp(a[k] - v[k]) + 1;
          a[k] = v[k];
        }
      }
      break;
    case VT_OP_norm:
      switch (o->nk) {
        case NK_SUM_SQ: for (int64_t k = 0; k < w; k++) a[k] += v[k] * v[k]; break;
        case NK_SUM_ABS: for (int64_t k = 0; k < w; k++) a[k] += fabs(v[k]); break;
        case NK_MAX_ABS: for (int64_t k = 0; k < w; k++) a[k] = rd_fmax(a[k], fabs(v[k])); break;
        case NK_MIN_ABS: for (int64_t k = 0; k < w; k++) a[k] = rd_fmin(a[k], fabs(v[k])); break;
        case NK_COUNT: for (int64_t k = 0; k < w; k++) a[k] += v[k] != 0; break;
        default: for (int64_t k = 0; k < w; k++) a[k] += pow(fabs(v[k]), o->p); break;
      }
      break;
    case VT_OP_all: for (int64_t k = 0; k < w; k++) c->i[k] &= v[k] != 0; break;
    case VT_OP_any: for (int64_t k = 0; k < w; k++) c->i[k] |= v[k] != 0; break;
    case VT_OP_max:
    case VT_OP_argmax:
      for (int64_t k = 0; k < w; k++)
        if (c->i[k] < 0 || rd_better_max(v[k], a[k])) {
          a[k] = v[k];
          c->i[k] = idx;
        }
      break;
    case VT_OP_min:
    case VT_OP_argmin:
      for (int64_t k = 0; k < w; k++)
        if (c->i[k] < 0 || rd_better_min(v[k], a[k])) {
          a[k] = v[k];
          c->i[k] = idx;
        }
      break;
    default: break;
  }
}

static void rd_col_i(const rd_op* o, rd_cols* c, const int64_t* v, int64_t w, int64_t idx) {
  int64_t* restrict j = c->j;
  switch (o->op) {
    case VT_OP_sum:
      for (int64_t k = 0; k < w; k++) j[k] = (int64_t)((uint64_t)j[k] + (uint64_t)v[k]);
      break;
    case VT_OP_prod:
      for (int64_t k = 0; k < w; k++) j[k] = (int64_t)((uint64_t)j[k] * (uint64_t)v[k]);
      break;
    case VT_OP_amax: for (int64_t k = 0; k < w; k++) j[k] = v[k] > j[k] ? v[k] : j[k]; break;
    case VT_OP_amin: for (int64_t k = 0; k < w; k++) j[k] = v[k] < j[k] ? v[k] : j[k]; break;
    case VT_OP_max:
    case VT_OP_argmax:
      for (int64_t k = 0; k < w; k++)
        if (c->i[k] < 0 || v[k] > j[k]) {
          j[k] = v[k];
          c->i[k] = idx;
        }
      break;
    case VT_OP_min:
    case VT_OP_argmin:
      for (int64_t k = 0; k < w; k++)
        if (c->i[k] < 0 || v[k] < j[k]) {
          j[k] = v[k];
          c->i[k] = idx;
        }
      break;
    default: break;
  }
}

/* ---- merge a later block's state t into s ---- */
static void rd_merge(const rd_op* o, rd_state* s, const rd_state* t) {
  switch (o->op) {
    case VT_OP_sum:
    case VT_OP_mean:
      s->a += t->a;
      s->j = (int64_t)((uint64_t)s->j + (uint64_t)t->j);
      break;
    case VT_OP_prod:
      s->a *= t->a;
      s->j = (int64_t)((uint64_t)s->j * (uint64_t)t->j);
      break;
    case VT_OP_amax:
      s->a = rd_fmax(s->a, t->a);
      s->j = t->j > s->j ? t->j : s->j;
      break;
    case VT_OP_amin:
      s->a = rd_fmin(s->a, t->a);
      s->j = t->j < s->j ? t->j : s->j;
      break;
    case VT_OP_var:
    case VT_OP_std: rd_var_merge(s, t->i, t->a, t->b); break;
    case VT_OP_logsumexp: {
      double m = rd_fmax(s->a, t->a);
      if (!isfinite(m)) {
        s->a = m;
        break;
      }
      s->b = s->b * exp(s->a - m) + t->b * exp(t->a - m);
      s->a = m;
      break;
    }
    case VT_OP_norm:
      if (o->nk == NK_MAX_ABS) s->a = rd_fmax(s->a, t->a);
      else if (o->nk == NK_MIN_ABS) s->a = rd_fmin(s->a, t->a);
      else s->a += t->a;
      break;
    case VT_OP_all: s->i = s->i && t->i; break;
    case VT_OP_any: s->i = s->i || t->i; break;
    case VT_OP_max:
    case VT_OP_argmax:
    case VT_OP_min:
    case VT_OP_argmin: {
      if (t->i < 0) break;
      int mx = rd_is_maxlike(o->op), take;
      if (s->i < 0) take = 1;
      else if (o->ints) take = mx ? t->j > s->j : t->j < s->j;
      else take = mx ? rd_better_max(t->a, s->a) : rd_better_min(t->a, s->a);
      if (take) *s = *t;
      break;
    }
    default: break;
  }
}

/* ---- final value: *dv (double compute) or *iv (int compute); R = elements reduced ---- */
static void rd_final(const rd_op* o, const rd_state* s, int64_t R, double* dv, int64_t* iv) {
  *dv = s->a;
  *iv = s->j;
  switch (o->op) {
    case VT_OP_mean: *dv = s->a / (double)R; break;
    case VT_OP_var:
    case VT_OP_std: {
      double den = (double)s->i - o->p;
      double v = s->b / (den > 0 ? den : 0.0);
      *dv = o->op == VT_OP_std ? sqrt(v) : v;
      break;
    }
    case VT_OP_logsumexp: *dv = isfinite(s->a) ? s->a + log(s->b) : s->a; break;
    case VT_OP_norm:
      if (o->nk == NK_SUM_SQ) *dv = sqrt(s->a);
      else if (o->nk == NK_POW) *dv = pow(s->a, 1.0 / o->p);
      break;
    case VT_OP_all:
    case VT_OP_any: *dv = (double)s->i; break;
    default: break;
  }
}

/* ============================================================================================ */
/* REDUCE and REDUCE_IDX: the driver                                                            */
/* ============================================================================================ */
typedef struct {
  rd_layout L;
  rd_op o;
  int col;                /* column path                                                   */
  int has_vals, has_idx;  /* outputs: values/result in slot 1, indices in slot 2           */
  int odt;                /* dtype of slot 1                                               */
  int64_t base;           /* index base                                                    */
  int64_t T, tiles;       /* column path: tile width, tiles per outer kept index           */
  int64_t items;          /* outputs (row) or tiles (column)                               */
  int64_t nb, rb;         /* blocks of the reduced range and their length                  */
  rd_state* part;         /* nb > 1: items * nb * (col ? T : 1) partial states             */
} rd_job;

/* Finishes w states and stores them at byte offsets off1 / off2 in slots 1 / 2, stepping by
   step1 / step2 bytes. w <= RD_CH. */
static void rd_emit(const rd_job* J, const rd_state* st, int64_t w, int64_t off1, int64_t off2,
                    int64_t step1, int64_t step2) {
  double dv[RD_CH];
  int64_t iv[RD_CH], ix[RD_CH];
  for (int64_t k = 0; k < w; k++) {
    rd_final(&J->o, &st[k], J->L.R, &dv[k], &iv[k]);
    ix[k] = (int64_t)((uint64_t)st[k].i + (uint64_t)J->base);
  }
  if (J->has_vals) {
    char* p = J->L.base[1] + off1;
    if (J->o.ints) vt_cpu_store_i64(p, step1, J->odt, iv, w);
    else vt_cpu_store_f64(p, step1, J->odt, dv, w);
  }
  if (J->has_idx) vt_cpu_store_i64(J->L.base[2] + off2, step2, VT_DTYPE_I64, ix, w);
}

/* ---- row path ---- */
/* A run of n elements at p (byte stride st) into s; idx0 = position of the first. */
static void rd_run(const rd_op* o, rd_state* s, const char* p, int64_t st, int64_t n, int64_t idx0) {
  int dt = o->xdt;
  if (o->ints) {
    if (dt == VT_DTYPE_I64 && st == 8) {
      rd_row_i(o, s, (const int64_t*)p, n, idx0);
      return;
    }
    int64_t buf[RD_CH];
    for (int64_t k = 0; k < n; k += RD_CH) {
      int64_t m = rd_min64(RD_CH, n - k);
      vt_cpu_load_i64(buf, p + k * st, st, dt, m);
      rd_row_i(o, s, buf, m, idx0 + k);
    }
    return;
  }
  if (dt == VT_DTYPE_F64 && st == 8) {
    rd_row_d(o, s, (const double*)p, n, idx0);
    return;
  }
  if (dt == VT_DTYPE_F32 && st == 4 && (o->op == VT_OP_sum || o->op == VT_OP_mean)) {
    s->a += rd_sum_f((const float*)p, n);
    return;
  }
  double buf[RD_CH];
  for (int64_t k = 0; k < n; k += RD_CH) {
    int64_t m = rd_min64(RD_CH, n - k);
    vt_cpu_load_f64(buf, p + k * st, st, dt, m);
    rd_row_d(o, s, buf, m, idx0 + k);
  }
}

/* Reduced elements [r0, r1) (row-major over the reduced dims) of the output at x + xoff. */
static void rd_row_range(const rd_job* J, int64_t xoff, int64_t r0, int64_t r1, rd_state* s) {
  if (r0 >= r1) return;
  const rd_layout* L = &J->L;
  int nr = L->nr;
  int64_t idx[VT_MAX_DIMS], rem = r0;
  const char* p = L->base[0] + xoff;
  for (int d = nr - 1; d >= 0; d--) {
    idx[d] = rem % L->rs[d];
    rem /= L->rs[d];
    p += idx[d] * L->rst[0][d];
  }
  int64_t inner = L->rs[nr - 1], ist = L->rst[0][nr - 1];
  for (int64_t pos = r0; pos < r1;) {
    int64_t n = rd_min64(inner - idx[nr - 1], r1 - pos);
    rd_run(&J->o, s, p, ist, n, idx[nr - 1]);
    pos += n;
    if (pos >= r1) break;
    p += n * ist;
    idx[nr - 1] += n;
    for (int d = nr - 1; d > 0 && idx[d] == L->rs[d]; d--) {
      p += L->rst[0][d - 1] - L->rs[d] * L->rst[0][d];
      idx[d] = 0;
      idx[d - 1]++;
    }
  }
}

static void rd_row_work(int64_t b, int64_t e, void* ctx) {
  const rd_job* J = ctx;
  for (int64_t it = b; it < e; it++) {
    int64_t m = it / J->nb, blk = it % J->nb;
    int64_t r0 = blk * J->rb, r1 = rd_min64(J->L.R, r0 + J->rb);
    int64_t off[3];
    rd_kept_offsets(&J->L, m, off);
    rd_state s;
    rd_init(&J->o, &s);
    rd_row_range(J, off[0], r0, r1, &s);
    if (J->nb > 1) J->part[it] = s;
    else rd_emit(J, &s, 1, off[1], off[2], 0, 0);
  }
}

static void rd_row_finish(int64_t b, int64_t e, void* ctx) {
  const rd_job* J = ctx;
  for (int64_t m = b; m < e; m++) {
    rd_state s = J->part[m * J->nb];
    for (int64_t k = 1; k < J->nb; k++) rd_merge(&J->o, &s, &J->part[m * J->nb + k]);
    int64_t off[3];
    rd_kept_offsets(&J->L, m, off);
    rd_emit(J, &s, 1, off[1], off[2], 0, 0);
  }
}

/* ---- column path ---- */
static void rd_cols_init(const rd_op* o, rd_cols* c, int64_t w) {
  rd_state s;
  rd_init(o, &s);
  for (int64_t k = 0; k < w; k++) {
    c->a[k] = s.a;
    c->b[k] = s.b;
    c->i[k] = s.i;
    c->j[k] = s.j;
  }
}

static inline rd_state rd_lane(const rd_cols* c, int64_t k) {
  rd_state s = {c->a[k], c->b[k], c->i[k], c->j[k]};
  return s;
}

/* One reduced index: w contiguous inputs at p into the tile's lanes. */
static void rd_col_step(const rd_op* o, rd_cols* c, const char* p, int64_t es, int64_t w,
                        int64_t idx) {
  int dt = o->xdt;
  if (o->ints) {
    if (dt == VT_DTYPE_I64) {
      rd_col_i(o, c, (const int64_t*)p, w, idx);
    } else {
      int64_t buf[RD_CH];
      vt_cpu_load_i64(buf, p, es, dt, w);
      rd_col_i(o, c, buf, w, idx);
    }
  } else if (dt == VT_DTYPE_F64) {
    rd_col_d(o, c, (const double*)p, w, idx);
  } else if (dt == VT_DTYPE_F32 && (o->op == VT_OP_sum || o->op == VT_OP_mean)) {
    rd_add_f32(c->a, (const float*)p, w);
  } else {
    double buf[RD_CH];
    vt_cpu_load_f64(buf, p, es, dt, w);
    rd_col_d(o, c, buf, w, idx);
  }
}

static void rd_col_work(int64_t b, int64_t e, void* ctx) {
  const rd_job* J = ctx;
  const rd_layout* L = &J->L;
  int nr = L->nr;
  int64_t K = L->ks[L->nk - 1], es = (int64_t)vt_dtype_size(J->o.xdt);
  rd_cols c;
  for (int64_t it = b; it < e; it++) {
    int64_t tile = it / J->nb, blk = it % J->nb;
    int64_t mo = tile / J->tiles, c0 = (tile % J->tiles) * J->T, w = rd_min64(J->T, K - c0);
    int64_t r0 = blk * J->rb, r1 = rd_min64(L->R, r0 + J->rb);
    int64_t off[3];
    rd_kept_offsets(L, mo * K + c0, off);
    rd_cols_init(&J->o, &c, w);
    /* walk the reduced indices r0 .. r1-1 one at a time */
    int64_t idx[VT_MAX_DIMS], rem = r0;
    const char* p = L->base[0] + off[0];
    for (int d = nr - 1; d >= 0; d--) {
      idx[d] = rem % L->rs[d];
      rem /= L->rs[d];
      p += idx[d] * L->rst[0][d];
    }
    for (int64_t pos = r0; pos < r1; pos++) {
      rd_col_step(&J->o, &c, p, es, w, idx[nr - 1]);
      if (pos + 1 == r1) break;
      int d = nr - 1;
      idx[d]++;
      p += L->rst[0][d];
      for (; d > 0 && idx[d] == L->rs[d]; d--) {
        p += L->rst[0][d - 1] - L->rs[d] * L->rst[0][d];
        idx[d] = 0;
        idx[d - 1]++;
      }
    }
    if (J->nb > 1) {
      rd_state* dst = J->part + it * J->T;
      for (int64_t k = 0; k < w; k++) dst[k] = rd_lane(&c, k);
    } else {
      int64_t s1 = L->kst[1][L->nk - 1], s2 = L->kst[2 % L->nt][L->nk - 1];
      rd_state tmp[64];
      for (int64_t k0 = 0; k0 < w; k0 += 64) {
        int64_t g = rd_min64(64, w - k0);
        for (int64_t k = 0; k < g; k++) tmp[k] = rd_lane(&c, k0 + k);
        rd_emit(J, tmp, g, off[1] + k0 * s1, off[2 % L->nt] + k0 * s2, s1, s2);
      }
    }
  }
}

static void rd_col_finish(int64_t b, int64_t e, void* ctx) {
  const rd_job* J = ctx;
  const rd_layout* L = &J->L;
  int64_t K = L->ks[L->nk - 1];
  int64_t s1 = L->kst[1][L->nk - 1], s2 = L->kst[2 % L->nt][L->nk - 1];
  for (int64_t tile = b; tile < e; tile++) {
    int64_t mo = tile / J->tiles, c0 = (tile % J->tiles) * J->T, w = rd_min64(J->T, K - c0);
    int64_t off[3];
    rd_kept_offsets(L, mo * K + c0, off);
    rd_state tmp[64];
    for (int64_t k0 = 0; k0 < w; k0 += 64) {
      int64_t g = rd_min64(64, w - k0);
      for (int64_t k = 0; k < g; k++) {
        const rd_state* ps = J->part + tile * J->nb * J->T + k0 + k;
        tmp[k] = ps[0];
        for (int64_t blk = 1; blk < J->nb; blk++) rd_merge(&J->o, &tmp[k], &ps[blk * J->T]);
      }
      rd_emit(J, tmp, g, off[1] + k0 * s1, off[2 % L->nt] + k0 * s2, s1, s2);
    }
  }
}

static vt_status rd_execute(rd_job* J) {
  rd_layout* L = &J->L;
  int64_t es = (int64_t)vt_dtype_size(J->o.xdt);
  int inner_contig = L->rst[0][L->nr - 1] == es;
  J->col = L->R > 0 && !inner_contig && L->nk > 0 && L->kst[0][L->nk - 1] == es;
  int64_t minr;
  if (J->col) {
    int64_t K = L->ks[L->nk - 1];
    J->T = rd_min64(K, RD_CH);
    J->tiles = rd_cdiv(K, J->T);
    J->items = (L->M / K) * J->tiles;
    minr = rd_max64(16, RD_RB / J->T);
  } else {
    J->items = L->M;
    minr = RD_RB;
  }
  J->nb = 1;
  J->rb = L->R;
  if (J->items < RD_FEW && L->R > 2 * minr) {
    int64_t nb = rd_min64(rd_cdiv(L->R, minr), rd_cdiv(RD_FEW, J->items));
    J->rb = rd_cdiv(L->R, nb);
    J->nb = rd_cdiv(L->R, J->rb);
  }
  int64_t width = J->col ? J->T : 1;
  J->part = NULL;
  if (J->nb > 1) {
    J->part = malloc((size_t)(J->items * J->nb * width) * sizeof(rd_state));
    if (!J->part)
      return vt_set_error(VT_ERR_OOM, "%s: out of memory for partial results", vt_op_name(J->o.op));
  }
  int64_t work = rd_max64(1, J->rb * width);
  int64_t grain = rd_max64(1, VT_CPU_GRAIN / work);
  vt_cpu_parallel_for(J->items * J->nb, grain, J->col ? rd_col_work : rd_row_work, J);
  if (J->nb > 1) {
    int64_t fgrain = rd_max64(1, VT_CPU_GRAIN / rd_max64(1, J->nb * width));
    vt_cpu_parallel_for(J->items, fgrain, J->col ? rd_col_finish : rd_row_finish, J);
    free(J->part);
  }
  return VT_OK;
}

static vt_status cpu_reduce(const vt_op_args* a) {
  rd_job J;
  memset(&J, 0, sizeof J);
  const vt_tensor* x = a->in[0];
  const vt_tensor* ts[2] = {x, a->out[0]};
  rd_layout_init(&J.L, 2, ts, (uint32_t)a->i[0], 1);
  int op = a->op;
  J.o.op = op;
  J.o.xdt = x->dt;
  J.o.ints = !vt_dtype_is_float(x->dt) &&
             (op == VT_OP_sum || op == VT_OP_prod || op == VT_OP_amax || op == VT_OP_amin);
  J.o.p = a->f[0];
  J.o.fexp = x->dt != VT_DTYPE_F64;
  if (op == VT_OP_norm) {
    double p = a->f[0];
    J.o.nk = p == 2 ? NK_SUM_SQ : p == 1 ? NK_SUM_ABS : p == INFINITY ? NK_MAX_ABS
           : p == -INFINITY ? NK_MIN_ABS : p == 0 ? NK_COUNT : NK_POW;
  }
  J.has_vals = 1;
  J.odt = a->out[0]->dt;
  return rd_execute(&J);
}

static vt_status cpu_reduce_idx(const vt_op_args* a) {
  rd_job J;
  memset(&J, 0, sizeof J);
  const vt_tensor* x = a->in[0];
  const vt_tensor* ts[3] = {x, a->out[0] ? a->out[0] : a->out[1], a->out[1]};
  rd_layout_init(&J.L, 3, ts, 1u << a->i[0], 0);
  J.o.op = a->op;
  J.o.xdt = x->dt;
  J.o.ints = !vt_dtype_is_float(x->dt);
  J.has_vals = a->out[0] != NULL;
  J.has_idx = 1;
  J.odt = ts[1]->dt;
  J.base = a->i[1];
  return rd_execute(&J);
}

/* ============================================================================================ */
/* SOFTMAX                                                                                      */
/* ============================================================================================ */
typedef struct {
  rd_layout L;     /* [0] x, [1] y; the one reduced dim is the softmax dim */
  int log, xdt, ydt;
  int64_t T, tiles;
} sm_job;

/* Contiguous f32 row: float exp (rd_expf), double sum. y may be x. */
static void sm_row_f32(int take_log, const float* x, float* y, int64_t C) {
  float m = sm_max_f32(x, C);
  if (!take_log) {
    for (int64_t i = 0; i < C; i++) y[i] = rd_expf(x[i] - m);
    float inv = (float)(1.0 / rd_sum_f(y, C));
    for (int64_t i = 0; i < C; i++) y[i] *= inv;
  } else {
    float e[RD_CH];
    double s = 0;
    for (int64_t k = 0; k < C; k += RD_CH) {
      int64_t n = rd_min64(RD_CH, C - k);
      for (int64_t i = 0; i < n; i++) e[i] = rd_expf(x[k + i] - m);
      s += rd_sum_f(e, n);
    }
    float ls = (float)log(s);
    for (int64_t i = 0; i < C; i++) y[i] = (x[i] - m) - ls;
  }
}

/* Any dtypes and strides, in double through a buffer. */
static void sm_row_gen(const sm_job* J, const char* xp, int64_t xs, char* yp, int64_t ys, int64_t C) {
  double buf[RD_CH];
  double m = -INFINITY;
  int nan = 0;
  for (int64_t k = 0; k < C; k += RD_CH) {
    int64_t n = rd_min64(RD_CH, C - k);
    vt_cpu_load_f64(buf, xp + k * xs, xs, J->xdt, n);
    for (int64_t i = 0; i < n; i++) {
      m = buf[i] > m ? buf[i] : m;
      nan |= buf[i] != buf[i];
    }
  }
  if (nan) m = NAN;
  double s = 0;
  for (int64_t k = 0; k < C; k += RD_CH) {
    int64_t n = rd_min64(RD_CH, C - k);
    vt_cpu_load_f64(buf, xp + k * xs, xs, J->xdt, n);
    for (int64_t i = 0; i < n; i++) s += exp(buf[i] - m);
  }
  double ls = log(s);
  for (int64_t k = 0; k < C; k += RD_CH) {
    int64_t n = rd_min64(RD_CH, C - k);
    vt_cpu_load_f64(buf, xp + k * xs, xs, J->xdt, n);
    if (J->log)
      for (int64_t i = 0; i < n; i++) buf[i] = (buf[i] - m) - ls;
    else
      for (int64_t i = 0; i < n; i++) buf[i] = exp(buf[i] - m) / s;
    vt_cpu_store_f64(yp + k * ys, ys, J->ydt, buf, n);
  }
}

static void sm_row_work(int64_t b, int64_t e, void* ctx) {
  const sm_job* J = ctx;
  const rd_layout* L = &J->L;
  int64_t C = L->rs[0], xs = L->rst[0][0], ys = L->rst[1][0];
  int fast = J->xdt == VT_DTYPE_F32 && J->ydt == VT_DTYPE_F32 && xs == 4 && ys == 4;
  for (int64_t m = b; m < e; m++) {
    int64_t off[3];
    rd_kept_offsets(L, m, off);
    const char* xp = L->base[0] + off[0];
    char* yp = L->base[1] + off[1];
    if (fast) sm_row_f32(J->log, (const float*)xp, (float*)yp, C);
    else sm_row_gen(J, xp, xs, yp, ys, C);
  }
}

/* Tiles of adjacent positions (contiguous in x and y) advancing together along the dim. */
static void sm_col_work(int64_t b, int64_t e, void* ctx) {
  const sm_job* J = ctx;
  const rd_layout* L = &J->L;
  int64_t C = L->rs[0], xs = L->rst[0][0], ys = L->rst[1][0];
  int64_t K = L->ks[L->nk - 1];
  int64_t xes = (int64_t)vt_dtype_size(J->xdt), yes = (int64_t)vt_dtype_size(J->ydt);
  double buf[RD_CH], m[RD_CH], s[RD_CH];
  int fexp = J->xdt != VT_DTYPE_F64 && J->ydt != VT_DTYPE_F64;
  for (int64_t tile = b; tile < e; tile++) {
    int64_t mo = tile / J->tiles, c0 = (tile % J->tiles) * J->T, w = rd_min64(J->T, K - c0);
    int64_t off[3];
    rd_kept_offsets(L, mo * K + c0, off);
    const char* xp = L->base[0] + off[0];
    char* yp = L->base[1] + off[1];
    for (int64_t k = 0; k < w; k++) {
      m[k] = -INFINITY;
      s[k] = 0;
    }
    for (int64_t c = 0; c < C; c++) {
      vt_cpu_load_f64(buf, xp + c * xs, xes, J->xdt, w);
      for (int64_t k = 0; k < w; k++) m[k] = rd_fmax(m[k], buf[k]);
    }
    for (int64_t c = 0; c < C; c++) {
      vt_cpu_load_f64(buf, xp + c * xs, xes, J->xdt, w);
      if (fexp)
        for (int64_t k = 0; k < w; k++) s[k] += rd_expf((float)(buf[k] - m[k]));
      else
        for (int64_t k = 0; k < w; k++) s[k] += exp(buf[k] - m[k]);
    }
    for (int64_t k = 0; k < w; k++) s[k] = J->log ? log(s[k]) : 1.0 / s[k];
    for (int64_t c = 0; c < C; c++) {
      vt_cpu_load_f64(buf, xp + c * xs, xes, J->xdt, w);
      if (J->log)
        for (int64_t k = 0; k < w; k++) buf[k] = (buf[k] - m[k]) - s[k];
      else if (fexp)
        for (int64_t k = 0; k < w; k++) buf[k] = rd_expf((float)(buf[k] - m[k])) * s[k];
      else
        for (int64_t k = 0; k < w; k++) buf[k] = exp(buf[k] - m[k]) * s[k];
      vt_cpu_store_f64(yp + c * ys, yes, J->ydt, buf, w);
    }
  }
}

static vt_status cpu_softmax(const vt_op_args* a) {
  sm_job J;
  memset(&J, 0, sizeof J);
  const vt_tensor* ts[2] = {a->in[0], a->out[0]};
  rd_layout_init(&J.L, 2, ts, 1u << a->i[0], 0);
  J.log = a->op == VT_OP_log_softmax;
  J.xdt = a->in[0]->dt;
  J.ydt = a->out[0]->dt;
  const rd_layout* L = &J.L;
  int64_t xes = (int64_t)vt_dtype_size(J.xdt), yes = (int64_t)vt_dtype_size(J.ydt);
  int64_t C = L->rs[0];
  int rows = L->rst[0][0] == xes && L->rst[1][0] == yes;
  int col = !rows && L->nk > 0 && L->kst[0][L->nk - 1] == xes && L->kst[1][L->nk - 1] == yes;
  if (col) {
    int64_t K = L->ks[L->nk - 1];
    J.T = rd_min64(K, RD_CH);
    J.tiles = rd_cdiv(K, J.T);
    int64_t items = (L->M / K) * J.tiles;
    vt_cpu_parallel_for(items, rd_max64(1, VT_CPU_GRAIN / rd_max64(1, C * J.T)), sm_col_work, &J);
  } else {
    vt_cpu_parallel_for(L->M, rd_max64(1, VT_CPU_GRAIN / rd_max64(1, C)), sm_row_work, &J);
  }
  return VT_OK;
}

/* ============================================================================================ */
/* SCAN (cumsum)                                                                                */
/* ============================================================================================ */
typedef struct {
  rd_layout L;     /* [0] x, [1] y; the reduced dim is the scan dim */
  int xdt, ydt, ints;
  int64_t T, tiles;
} sc_job;

static void sc_row_work(int64_t b, int64_t e, void* ctx) {
  const sc_job* J = ctx;
  const rd_layout* L = &J->L;
  int64_t C = L->rs[0], xs = L->rst[0][0], ys = L->rst[1][0];
  for (int64_t m = b; m < e; m++) {
    int64_t off[3];
    rd_kept_offsets(L, m, off);
    const char* xp = L->base[0] + off[0];
    char* yp = L->base[1] + off[1];
    if (J->ints) {
      int64_t buf[RD_CH];
      uint64_t acc = 0;
      for (int64_t k = 0; k < C; k += RD_CH) {
        int64_t n = rd_min64(RD_CH, C - k);
        vt_cpu_load_i64(buf, xp + k * xs, xs, J->xdt, n);
        for (int64_t i = 0; i < n; i++) buf[i] = (int64_t)(acc += (uint64_t)buf[i]);
        vt_cpu_store_i64(yp + k * ys, ys, J->ydt, buf, n);
      }
    } else {
      double buf[RD_CH], acc = 0;
      for (int64_t k = 0; k < C; k += RD_CH) {
        int64_t n = rd_min64(RD_CH, C - k);
        vt_cpu_load_f64(buf, xp + k * xs, xs, J->xdt, n);
        for (int64_t i = 0; i < n; i++) buf[i] = (acc += buf[i]);
        vt_cpu_store_f64(yp + k * ys, ys, J->ydt, buf, n);
      }
    }
  }
}

static void sc_col_work(int64_t b, int64_t e, void* ctx) {
  const sc_job* J = ctx;
  const rd_layout* L = &J->L;
  int64_t C = L->rs[0], xs = L->rst[0][0], ys = L->rst[1][0];
  int64_t K = L->ks[L->nk - 1];
  int64_t xes = (int64_t)vt_dtype_size(J->xdt), yes = (int64_t)vt_dtype_size(J->ydt);
  for (int64_t tile = b; tile < e; tile++) {
    int64_t mo = tile / J->tiles, c0 = (tile % J->tiles) * J->T, w = rd_min64(J->T, K - c0);
    int64_t off[3];
    rd_kept_offsets(L, mo * K + c0, off);
    const char* xp = L->base[0] + off[0];
    char* yp = L->base[1] + off[1];
    if (J->ints) {
      int64_t buf[RD_CH];
      uint64_t acc[RD_CH];
      for (int64_t k = 0; k < w; k++) acc[k] = 0;
      for (int64_t c = 0; c < C; c++) {
        vt_cpu_load_i64(buf, xp + c * xs, xes, J->xdt, w);
        for (int64_t k = 0; k < w; k++) buf[k] = (int64_t)(acc[k] += (uint64_t)buf[k]);
        vt_cpu_store_i64(yp + c * ys, yes, J->ydt, buf, w);
      }
    } else {
      double buf[RD_CH], acc[RD_CH];
      for (int64_t k = 0; k < w; k++) acc[k] = 0;
      for (int64_t c = 0; c < C; c++) {
        vt_cpu_load_f64(buf, xp + c * xs, xes, J->xdt, w);
        for (int64_t k = 0; k < w; k++) buf[k] = (acc[k] += buf[k]);
        vt_cpu_store_f64(yp + c * ys, yes, J->ydt, buf, w);
      }
    }
  }
}

static vt_status cpu_scan(const vt_op_args* a) {
  sc_job J;
  memset(&J, 0, sizeof J);
  const vt_tensor* ts[2] = {a->in[0], a->out[0]};
  rd_layout_init(&J.L, 2, ts, 1u << a->i[0], 0);
  J.xdt = a->in[0]->dt;
  J.ydt = a->out[0]->dt;
  J.ints = !vt_dtype_is_float(J.ydt);
  const rd_layout* L = &J.L;
  int64_t xes = (int64_t)vt_dtype_size(J.xdt), yes = (int64_t)vt_dtype_size(J.ydt);
  int64_t C = L->rs[0];
  int rows = L->rst[0][0] == xes && L->rst[1][0] == yes;
  int col = !rows && L->nk > 0 && L->kst[0][L->nk - 1] == xes && L->kst[1][L->nk - 1] == yes;
  if (col) {
    int64_t K = L->ks[L->nk - 1];
    J.T = rd_min64(K, RD_CH);
    J.tiles = rd_cdiv(K, J.T);
    int64_t items = (L->M / K) * J.tiles;
    vt_cpu_parallel_for(items, rd_max64(1, VT_CPU_GRAIN / rd_max64(1, C * J.T)), sc_col_work, &J);
  } else {
    vt_cpu_parallel_for(L->M, rd_max64(1, VT_CPU_GRAIN / rd_max64(1, C)), sc_row_work, &J);
  }
  return VT_OK;
}

/* ============================================================================================ */
void vt_cpu_register_reduce(vt_kernel* table) {
  for (int op = 0; op < VT_OP_COUNT; op++) {
    switch (vt_op_kind_of(op)) {
      case VT_KIND_REDUCE: table[op] = cpu_reduce; break;
      case VT_KIND_REDUCE_IDX: table[op] = cpu_reduce_idx; break;
      case VT_KIND_SOFTMAX: table[op] = cpu_softmax; break;
      case VT_KIND_SCAN: table[op] = cpu_scan; break;
      default: break;
    }
  }
}
