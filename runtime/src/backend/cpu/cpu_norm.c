/* cpu_norm.c — CPU kernels of the normalisation family: layer_norm, batch_norm, group_norm and
 * their fused backward kernels (see ops/norm.c for the argument layout of each op).
 *
 * Dimension letters: R = rows, D = normalised size (layer norm); N = batch, C = channels,
 * S = spatial size, G = groups, Cg = C / G (batch and group norm).
 * Every tensor reaching a kernel is contiguous except batch_norm's running statistics (any
 * strides); statistics tensors are (.., 2) holding (mean, rstd).
 *
 * Accumulation contract: every kernel loads its data into f64 buffers, accumulates in f64 (sums
 * in four interleaved lanes, a fixed order) and stores once in the output dtype (f16/bf16 round
 * once). Layer norm's f32 path (the transformer hot path) instead works on the f32 rows in place:
 * elementwise math in f32 (as PyTorch), row sums in eight f32 lanes flushed every 64 elements
 * into eight f64 lanes (ln_sum_f32, ln_bwd_sums_f32), still a fixed order. Statistics are
 * two-pass (mean, then the centred sum of squares). Work is split over independent rows /
 * channels / (sample, group) blocks; layer norm's dweight/dbias are summed per fixed chunk of
 * rows (the chunk size depends only on R) and the chunks reduced in order, so results never
 * depend on the thread count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "backend/cpu/cpu.h"
#include "ops/op.h"

/* ---------------------------------------------------------------------------------------- */
/* helpers                                                                                  */
/* ---------------------------------------------------------------------------------------- */
static inline int64_t isz(const vt_tensor* t) { return (int64_t)vt_dtype_size(t->dt); }

/* n elements of contiguous t from element offset off into dst (f64), and back. f32 and f64 take
   unit-stride loops the compiler vectorises; f16/bf16 go through the shared converters. */
static inline void ld(double* restrict dst, const vt_tensor* t, int64_t off, int64_t n) {
  if (t->dt == VT_DTYPE_F32) {
    const float* restrict p = (const float*)t->ptr + off;
    for (int64_t j = 0; j < n; j++) dst[j] = (double)p[j];
  } else if (t->dt == VT_DTYPE_F64) {
    memcpy(dst, (const double*)t->ptr + off, sizeof(double) * (size_t)n);
  } else {
    vt_cpu_load_f64(dst, (const char*)t->ptr + off * isz(t), isz(t), t->dt, n);
  }
}
static inline void st(vt_tensor* t, int64_t off, const double* restrict src, int64_t n) {
  if (t->dt == VT_DTYPE_F32) {
    float* restrict p = (float*)t->ptr + off;
    for (int64_t j = 0; j < n; j++) p[j] = (float)src[j];
  } else if (t->dt == VT_DTYPE_F64) {
    memcpy((double*)t->ptr + off, src, sizeof(double) * (size_t)n);
  } else {
    vt_cpu_store_f64((char*)t->ptr + off * isz(t), isz(t), t->dt, src, n);
  }
}
/* The whole of an optional (C) or (D) parameter as f64, or `fill` when t is NULL. */
static void ld_param(double* dst, const vt_tensor* t, int64_t n, double fill) {
  if (t) {
    ld(dst, t, 0, n);
  } else {
    for (int64_t j = 0; j < n; j++) dst[j] = fill;
  }
}
/* Sum of v[0..n) in 4 interleaved lanes (a fixed order: deterministic, and not bound by the
   latency of one chain of additions). */
static double sum4(const double* restrict v, int64_t n) {
  double a[4] = {0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 4 <= n; j += 4)
    for (int l = 0; l < 4; l++) a[l] += v[j + l];
  for (; j < n; j++) a[0] += v[j];
  return (a[0] + a[1]) + (a[2] + a[3]);
}
/* Sum of u[j] * v[j], the same way. */
static double dot4(const double* restrict u, const double* restrict v, int64_t n) {
  double a[4] = {0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 4 <= n; j += 4)
    for (int l = 0; l < 4; l++) a[l] += u[j + l] * v[j + l];
  for (; j < n; j++) a[0] += u[j] * v[j];
  return (a[0] + a[1]) + (a[2] + a[3]);
}
/* Mean and biased variance of v (n >= 1) in two passes. */
static void moments(const double* restrict v, int64_t n, double* mean, double* var) {
  double m = sum4(v, n) / (double)n;
  double a[4] = {0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 4 <= n; j += 4)
    for (int l = 0; l < 4; l++) a[l] += (v[j + l] - m) * (v[j + l] - m);
  for (; j < n; j++) a[0] += (v[j] - m) * (v[j] - m);
  *mean = m;
  *var = ((a[0] + a[1]) + (a[2] + a[3])) / (double)n;
}
/* Row sums of layer norm's f32 path, in GCC/Clang vector types (8 f32 lanes; the AVX2 clone keeps
   each in one register): terms summed in f32 lanes over 64 elements at a time (8 per lane), then
   flushed into 8 f64 lanes; a fixed order. */
typedef float ln_v8f __attribute__((vector_size(32)));
typedef float ln_v4f __attribute__((vector_size(16)));
typedef double ln_v4d __attribute__((vector_size(32)));
/* 8 f64 lanes as two registers (a 64-byte vector type would be split element by element) */
typedef struct {
  ln_v4d lo, hi;
} ln_v8d;
/* d += f, lane by lane */
#define LN_ADD8(d, f)                                                                     \
  do {                                                                                    \
    ln_v4f lo_ = {(f)[0], (f)[1], (f)[2], (f)[3]}, hi_ = {(f)[4], (f)[5], (f)[6], (f)[7]}; \
    (d).lo += __builtin_convertvector(lo_, ln_v4d);                                       \
    (d).hi += __builtin_convertvector(hi_, ln_v4d);                                       \
  } while (0)
#define LN_LD8(v, p) memcpy(&(v), (p), sizeof(ln_v8f)) /* v = 8 floats at p (any alignment) */
#define LN_INLINE static inline __attribute__((always_inline)) /* inlined into each clone */
LN_INLINE double ln_hsum(const ln_v8d* d) {
  ln_v4d t = d->lo + d->hi;
  return (t[0] + t[1]) + (t[2] + t[3]);
}
/* Σ x, or with m_on set Σ (x - m)² */
LN_INLINE double ln_sum_f32(const float* x, int64_t n, int m_on, float m) {
  ln_v8d d = {{0, 0, 0, 0}, {0, 0, 0, 0}};
  int64_t j = 0;
  for (; j + 64 <= n; j += 64) {
    ln_v8f f = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int u = 0; u < 64; u += 8) {
      ln_v8f v;
      LN_LD8(v, x + j + u);
      if (m_on) {
        v = v - m;
        v = v * v;
      }
      f += v;
    }
    LN_ADD8(d, f);
  }
  for (; j + 8 <= n; j += 8) {
    ln_v8f v;
    LN_LD8(v, x + j);
    if (m_on) {
      v = v - m;
      v = v * v;
    }
    LN_ADD8(d, v);
  }
  double t = ln_hsum(&d);
  for (; j < n; j++) t += m_on ? (double)((x[j] - m) * (x[j] - m)) : (double)x[j];
  return t;
}
/* backward: *sa = Σ g w, *sax = Σ g w xhat with xhat = (x - m) r */
LN_INLINE void ln_bwd_sums_f32(const float* g, const float* x, const float* w, float m, float r,
                               int64_t n, double* sa, double* sax) {
  ln_v8d d1 = {{0, 0, 0, 0}, {0, 0, 0, 0}}, d2 = d1;
  int64_t j = 0;
  for (; j + 64 <= n; j += 64) {
    ln_v8f f1 = {0, 0, 0, 0, 0, 0, 0, 0}, f2 = f1;
    for (int u = 0; u < 64; u += 8) {
      ln_v8f gv, wv, xv;
      LN_LD8(gv, g + j + u);
      LN_LD8(wv, w + j + u);
      LN_LD8(xv, x + j + u);
      ln_v8f o = gv * wv;
      f1 += o;
      f2 += o * ((xv - m) * r);
    }
    LN_ADD8(d1, f1);
    LN_ADD8(d2, f2);
  }
  for (; j + 8 <= n; j += 8) {
    ln_v8f gv, wv, xv;
    LN_LD8(gv, g + j);
    LN_LD8(wv, w + j);
    LN_LD8(xv, x + j);
    ln_v8f o = gv * wv;
    LN_ADD8(d1, o);
    ln_v8f ox = o * ((xv - m) * r);
    LN_ADD8(d2, ox);
  }
  double t1 = ln_hsum(&d1), t2 = ln_hsum(&d2);
  for (; j < n; j++) {
    float o = g[j] * w[j];
    t1 += (double)o;
    t2 += (double)(o * ((x[j] - m) * r));
  }
  *sa = t1;
  *sax = t2;
}

static inline int64_t grain_of(int64_t work_per_item) {
  int64_t g = VT_CPU_GRAIN / (work_per_item > 0 ? work_per_item : 1);
  return g > 0 ? g : 1;
}

/* ---------------------------------------------------------------------------------------- */
/* layer norm                                                                               */
/* ---------------------------------------------------------------------------------------- */
/* x and the optional weight / bias all f32: the in-place f32 path */
static int ln_f32(const vt_tensor* x, const vt_tensor* w, const vt_tensor* b) {
  return x->dt == VT_DTYPE_F32 && (!w || w->dt == VT_DTYPE_F32) && (!b || b->dt == VT_DTYPE_F32);
}
typedef struct {
  const vt_op_args* a;
  int64_t R, D;
  int64_t chunk; /* backward: rows per dweight/dbias chunk                                  */
  double* part;  /* backward: (nchunks, 2, D) partial dweight, dbias                        */
  int oom;
} ln_ctx;

VT_CPU_CLONES static void ln_fwd(int64_t r0, int64_t r1, void* vc) {
  ln_ctx* c = vc;
  const vt_op_args* a = c->a;
  int64_t D = c->D;
  double* buf = malloc(sizeof(double) * (size_t)(3 * D)); /* x row, weight, bias (D) each */
  if (!buf) {
    c->oom = 1;
    return;
  }
  double *v = buf, *w = buf + D, *b = buf + 2 * D;
  if (ln_f32(a->in[0], a->in[1], a->in[2]) && a->out[0]->dt == VT_DTYPE_F32 &&
      a->out[1]->dt == VT_DTYPE_F32) {
    /* f32 rows in place (see the accumulation contract above); buf's first 2D floats: w, b */
    float *wf = (float*)buf, *bf = wf + D;
    for (int64_t j = 0; j < D; j++) {
      wf[j] = a->in[1] ? ((const float*)a->in[1]->ptr)[j] : 1.0f;
      bf[j] = a->in[2] ? ((const float*)a->in[2]->ptr)[j] : 0.0f;
    }
    for (int64_t r = r0; r < r1; r++) {
      const float* x = (const float*)a->in[0]->ptr + r * D; /* (D) */
      float* y = (float*)a->out[0]->ptr + r * D;           /* (D) */
      float mf = (float)(ln_sum_f32(x, D, 0, 0) / (double)D);
      double q = ln_sum_f32(x, D, 1, mf);
      float rf = (float)(1.0 / sqrt(q / (double)D + a->f[0]));
      for (int64_t j = 0; j < D; j++) y[j] = (x[j] - mf) * rf * wf[j] + bf[j];
      float* sv = (float*)a->out[1]->ptr + r * 2;
      sv[0] = mf;
      sv[1] = rf;
    }
    free(buf);
    return;
  }
  ld_param(w, a->in[1], D, 1.0);
  ld_param(b, a->in[2], D, 0.0);
  for (int64_t r = r0; r < r1; r++) {
    ld(v, a->in[0], r * D, D); /* x row (D) */
    double mean, var;
    moments(v, D, &mean, &var);
    double rstd = 1.0 / sqrt(var + a->f[0]);
    for (int64_t j = 0; j < D; j++) v[j] = (v[j] - mean) * rstd * w[j] + b[j];
    st(a->out[0], r * D, v, D);
    double sv[2] = {mean, rstd};
    st(a->out[1], r * 2, sv, 2);
  }
  free(buf);
}

/* One chunk of rows: dx rows and the chunk's partial dweight/dbias. */
VT_CPU_CLONES static void ln_bwd_chunks(int64_t k0, int64_t k1, void* vc) {
  ln_ctx* c = vc;
  const vt_op_args* a = c->a;
  int64_t D = c->D;
  vt_tensor* dx = a->out[0];
  double* buf = malloc(sizeof(double) * (size_t)(4 * D)); /* g, x -> xhat, weight, g*weight -> dx (D) */
  if (!buf) {
    c->oom = 1;
    return;
  }
  double *g = buf, *xh = buf + D, *w = buf + 2 * D, *o = buf + 3 * D;
  int f32 = ln_f32(a->in[0], a->in[3], NULL) && a->in[1]->dt == VT_DTYPE_F32 &&
            a->in[2]->dt == VT_DTYPE_F32 && (!dx || dx->dt == VT_DTYPE_F32);
  /* f32: buf's floats hold w (D) and this chunk's partial dweight, dbias (D each) */
  float *wf = (float*)buf, *pwf = wf + D, *pbf = pwf + D;
  if (f32) {
    for (int64_t j = 0; j < D; j++) wf[j] = a->in[3] ? ((const float*)a->in[3]->ptr)[j] : 1.0f;
  } else {
    ld_param(w, a->in[3], D, 1.0);
  }
  for (int64_t k = k0; k < k1; k++) {
    int64_t r0 = k * c->chunk, r1 = r0 + c->chunk < c->R ? r0 + c->chunk : c->R;
    double *pw = NULL, *pb = NULL; /* (D) partial dweight, (D) partial dbias of this chunk */
    if (c->part) {
      pw = c->part + k * 2 * D;
      pb = pw + D;
      memset(pw, 0, sizeof(double) * (size_t)(2 * D));
    }
    if (f32) {
      /* f32 rows in place (the accumulation contract above); dweight/dbias partials in f32 over
         at most 32 rows at a time, added into the chunk's f64 partials */
      if (pw)
        for (int64_t j = 0; j < D; j++) pwf[j] = pbf[j] = 0;
      for (int64_t r = r0; r < r1; r++) {
        const float* gr = (const float*)a->in[0]->ptr + r * D; /* (D) */
        const float* xr = (const float*)a->in[1]->ptr + r * D; /* (D) */
        const float* sv = (const float*)a->in[2]->ptr + r * 2;
        float mf = sv[0], rf = sv[1];
        double sa, sax;
        ln_bwd_sums_f32(gr, xr, wf, mf, rf, D, &sa, &sax);
        if (dx) {
          float* dr = (float*)dx->ptr + r * D; /* (D) */
          float ma = (float)(sa / (double)D), max = (float)(sax / (double)D);
          for (int64_t j = 0; j < D; j++) dr[j] = rf * (gr[j] * wf[j] - ma - (xr[j] - mf) * rf * max);
        }
        if (pw) {
          for (int64_t j = 0; j < D; j++) {
            pwf[j] += gr[j] * ((xr[j] - mf) * rf);
            pbf[j] += gr[j];
          }
          if ((r - r0) % 32 == 31 || r + 1 == r1)
            for (int64_t j = 0; j < D; j++) {
              pw[j] += pwf[j];
              pb[j] += pbf[j];
              pwf[j] = pbf[j] = 0;
            }
        }
      }
      continue;
    }
    for (int64_t r = r0; r < r1; r++) {
      double sv[2];
      ld(g, a->in[0], r * D, D);
      ld(xh, a->in[1], r * D, D);
      ld(sv, a->in[2], r * 2, 2);
      double mean = sv[0], rstd = sv[1];
      for (int64_t j = 0; j < D; j++) {
        xh[j] = (xh[j] - mean) * rstd;
        o[j] = g[j] * w[j];
      }
      double sa = sum4(o, D), sax = dot4(o, xh, D);
      if (dx) {
        double ma = sa / (double)D, max = sax / (double)D;
        for (int64_t j = 0; j < D; j++) o[j] = rstd * (o[j] - ma - xh[j] * max);
        st(dx, r * D, o, D);
      }
      if (pw)
        for (int64_t j = 0; j < D; j++) {
          pw[j] += g[j] * xh[j];
          pb[j] += g[j];
        }
    }
  }
  free(buf);
}

/* Ordered reduction of the chunks' partials into dweight/dbias, over columns. */
static void ln_bwd_reduce(int64_t j0, int64_t j1, void* vc) {
  ln_ctx* c = vc;
  const vt_op_args* a = c->a;
  int64_t D = c->D, nk = (c->R + c->chunk - 1) / c->chunk;
  vt_tensor *dw = a->out[1], *db = (vt_tensor*)a->ptr;
  for (int64_t j = j0; j < j1; j++) {
    double sw = 0, sb = 0;
    for (int64_t k = 0; k < nk; k++) {
      sw += c->part[k * 2 * D + j];
      sb += c->part[k * 2 * D + D + j];
    }
    if (dw) st(dw, j, &sw, 1);
    if (db) st(db, j, &sb, 1);
  }
}

/* in[0] = x (R, D), in[1] = weight (D) | NULL, in[2] = bias (D) | NULL; out[0] = y (R, D),
   out[1] = stats (R, 2); i[0] = R, i[1] = D; f[0] = eps. */
static vt_status cpu_layer_norm(const vt_op_args* a) {
  ln_ctx c = {.a = a, .R = a->i[0], .D = a->i[1]};
  vt_cpu_parallel_for(c.R, grain_of(c.D), ln_fwd, &c);
  if (c.oom) return vt_set_error(VT_ERR_OOM, "layer_norm: out of host memory");
  return VT_OK;
}

/* in[0] = grad (R, D), in[1] = x (R, D), in[2] = stats (R, 2), in[3] = weight (D) | NULL;
   out[0] = dx (R, D) | NULL, out[1] = dweight (D) | NULL, ptr = dbias (D) | NULL. */
static vt_status cpu_layer_norm_backward(const vt_op_args* a) {
  ln_ctx c = {.a = a, .R = a->i[0], .D = a->i[1]};
  int64_t chunk = (c.R + 255) / 256;
  c.chunk = chunk < 32 ? 32 : chunk;
  int64_t nk = (c.R + c.chunk - 1) / c.chunk;
  int sums = a->out[1] || a->ptr;
  if (sums) {
    c.part = malloc(sizeof(double) * (size_t)(nk * 2 * c.D));
    if (!c.part) return vt_set_error(VT_ERR_OOM, "layer_norm_backward: out of host memory");
  } else {
    c.part = NULL;
  }
  vt_cpu_parallel_for(nk, grain_of(c.chunk * c.D), ln_bwd_chunks, &c);
  if (!c.oom && sums) vt_cpu_parallel_for(c.D, grain_of(nk), ln_bwd_reduce, &c);
  free(c.part);
  if (c.oom) return vt_set_error(VT_ERR_OOM, "layer_norm_backward: out of host memory");
  return VT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* batch norm                                                                               */
/* ---------------------------------------------------------------------------------------- */
typedef struct {
  const vt_op_args* a;
  int64_t N, C, S;
  int oom;
} bn_ctx;

/* Channel c of x (N, C, S) into v (N*S): one strided load when S = 1, else N runs of S. */
static void bn_load(double* v, const vt_tensor* t, int64_t N, int64_t C, int64_t S, int64_t c) {
  if (S == 1) {
    vt_cpu_load_f64(v, (const char*)t->ptr + c * isz(t), C * isz(t), t->dt, N);
  } else {
    for (int64_t n = 0; n < N; n++) ld(v + n * S, t, (n * C + c) * S, S);
  }
}
static void bn_store(vt_tensor* t, const double* v, int64_t N, int64_t C, int64_t S, int64_t c) {
  if (S == 1) {
    vt_cpu_store_f64((char*)t->ptr + c * isz(t), C * isz(t), t->dt, v, N);
  } else {
    for (int64_t n = 0; n < N; n++) st(t, (n * C + c) * S, v + n * S, S);
  }
}
/* Element c of a (C) tensor with any stride. */
static double get1(const vt_tensor* t, int64_t c) {
  double v;
  vt_cpu_load_f64(&v, (const char*)t->ptr + c * t->strides[0] * isz(t), isz(t), t->dt, 1);
  return v;
}
static void set1(vt_tensor* t, int64_t c, double v) {
  vt_cpu_store_f64((char*)t->ptr + c * t->strides[0] * isz(t), isz(t), t->dt, &v, 1);
}

static void bn_fwd(int64_t c0, int64_t c1, void* vc) {
  bn_ctx* c = vc;
  const vt_op_args* a = c->a;
  int64_t N = c->N, C = c->C, S = c->S, M = N * S;
  vt_tensor** run = a->ptr; /* running_mean (C), running_var (C), or NULLs */
  int training = (int)a->i[3];
  double eps = a->f[0], mom = a->f[1];
  double* v = malloc(sizeof(double) * (size_t)M); /* channel values (N*S) */
  if (!v) {
    c->oom = 1;
    return;
  }
  for (int64_t ch = c0; ch < c1; ch++) {
    bn_load(v, a->in[0], N, C, S, ch);
    double mean, var;
    if (training) {
      moments(v, M, &mean, &var);
      if (run[0]) {
        double uv = M > 1 ? var * (double)M / (double)(M - 1) : NAN;
        set1(run[0], ch, (1 - mom) * get1(run[0], ch) + mom * mean);
        set1(run[1], ch, (1 - mom) * get1(run[1], ch) + mom * uv);
      }
    } else {
      mean = get1(run[0], ch);
      var = get1(run[1], ch);
    }
    double rstd = 1.0 / sqrt(var + eps);
    double w = a->in[1] ? get1(a->in[1], ch) : 1.0, b = a->in[2] ? get1(a->in[2], ch) : 0.0;
    double sc = rstd * w, sh = b - mean * rstd * w;
    for (int64_t j = 0; j < M; j++) v[j] = v[j] * sc + sh;
    bn_store(a->out[0], v, N, C, S, ch);
    double sv[2] = {mean, rstd};
    st(a->out[1], ch * 2, sv, 2);
  }
  free(v);
}

static void bn_bwd(int64_t c0, int64_t c1, void* vc) {
  bn_ctx* c = vc;
  const vt_op_args* a = c->a;
  int64_t N = c->N, C = c->C, S = c->S, M = N * S;
  int training = (int)a->i[3];
  vt_tensor *dx = a->out[0], *dw = a->out[1], *db = (vt_tensor*)a->ptr;
  double* buf = malloc(sizeof(double) * (size_t)(2 * M)); /* g (N*S), x -> xhat (N*S) */
  if (!buf) {
    c->oom = 1;
    return;
  }
  double *g = buf, *xh = buf + M;
  for (int64_t ch = c0; ch < c1; ch++) {
    double sv[2];
    ld(sv, a->in[2], ch * 2, 2);
    double mean = sv[0], rstd = sv[1], w = a->in[3] ? get1(a->in[3], ch) : 1.0;
    bn_load(g, a->in[0], N, C, S, ch);
    bn_load(xh, a->in[1], N, C, S, ch);
    for (int64_t j = 0; j < M; j++) xh[j] = (xh[j] - mean) * rstd;
    double sg = sum4(g, M), sgx = dot4(g, xh, M);
    if (dw) set1(dw, ch, sgx);
    if (db) set1(db, ch, sg);
    if (dx) {
      double k = w * rstd;
      if (training) {
        double mg = sg / (double)M, mgx = sgx / (double)M;
        for (int64_t j = 0; j < M; j++) g[j] = k * (g[j] - mg - xh[j] * mgx);
      } else {
        for (int64_t j = 0; j < M; j++) g[j] = k * g[j];
      }
      bn_store(dx, g, N, C, S, ch);
    }
  }
  free(buf);
}

/* in[0] = x (N, C, S), in[1] = weight (C) | NULL, in[2] = bias (C) | NULL; out[0] = y (N, C, S),
   out[1] = stats (C, 2); ptr = vt_tensor*[2] running_mean, running_var (C, any strides) or
   NULLs; i[0..3] = N, C, S, training; f[0] = eps, f[1] = momentum. */
static vt_status cpu_batch_norm(const vt_op_args* a) {
  bn_ctx c = {.a = a, .N = a->i[0], .C = a->i[1], .S = a->i[2]};
  vt_cpu_parallel_for(c.C, grain_of(c.N * c.S), bn_fwd, &c);
  if (c.oom) return vt_set_error(VT_ERR_OOM, "batch_norm: out of host memory");
  return VT_OK;
}

/* in[0] = grad (N, C, S), in[1] = x (N, C, S), in[2] = stats (C, 2), in[3] = weight (C) | NULL;
   out[0] = dx | NULL, out[1] = dweight (C) | NULL, ptr = dbias (C) | NULL; i as batch_norm. */
static vt_status cpu_batch_norm_backward(const vt_op_args* a) {
  bn_ctx c = {.a = a, .N = a->i[0], .C = a->i[1], .S = a->i[2]};
  vt_cpu_parallel_for(c.C, grain_of(c.N * c.S), bn_bwd, &c);
  if (c.oom) return vt_set_error(VT_ERR_OOM, "batch_norm_backward: out of host memory");
  return VT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* group norm                                                                               */
/* ---------------------------------------------------------------------------------------- */
typedef struct {
  const vt_op_args* a;
  int64_t N, C, S, G;
  int oom;
} gn_ctx;

/* One (sample, group) block per item: x[n, g*Cg:(g+1)*Cg, :] is contiguous (Cg*S). */
static void gn_fwd(int64_t k0, int64_t k1, void* vc) {
  gn_ctx* c = vc;
  const vt_op_args* a = c->a;
  int64_t C = c->C, S = c->S, G = c->G, Cg = C / G, M = Cg * S;
  double* buf = malloc(sizeof(double) * (size_t)(M + 2 * Cg)); /* block (M), weight, bias (Cg) */
  if (!buf) {
    c->oom = 1;
    return;
  }
  double *v = buf, *w = buf + M, *b = buf + M + Cg;
  for (int64_t k = k0; k < k1; k++) {
    int64_t grp = k % G;
    if (a->in[1]) ld(w, a->in[1], grp * Cg, Cg); else ld_param(w, NULL, Cg, 1.0);
    if (a->in[2]) ld(b, a->in[2], grp * Cg, Cg); else ld_param(b, NULL, Cg, 0.0);
    ld(v, a->in[0], k * M, M);
    double mean, var;
    moments(v, M, &mean, &var);
    double rstd = 1.0 / sqrt(var + a->f[0]);
    for (int64_t cc = 0; cc < Cg; cc++) {
      double sc = rstd * w[cc], sh = b[cc] - mean * rstd * w[cc];
      double* p = v + cc * S;
      for (int64_t s = 0; s < S; s++) p[s] = p[s] * sc + sh;
    }
    st(a->out[0], k * M, v, M);
    double sv[2] = {mean, rstd};
    st(a->out[1], k * 2, sv, 2);
  }
  free(buf);
}

/* dx per (sample, group) block. */
static void gn_bwd_dx(int64_t k0, int64_t k1, void* vc) {
  gn_ctx* c = vc;
  const vt_op_args* a = c->a;
  int64_t C = c->C, S = c->S, G = c->G, Cg = C / G, M = Cg * S;
  double* buf = malloc(sizeof(double) * (size_t)(2 * M + Cg)); /* g, x -> xhat (M), weight (Cg) */
  if (!buf) {
    c->oom = 1;
    return;
  }
  double *g = buf, *xh = buf + M, *w = buf + 2 * M;
  for (int64_t k = k0; k < k1; k++) {
    int64_t grp = k % G;
    if (a->in[3]) ld(w, a->in[3], grp * Cg, Cg); else ld_param(w, NULL, Cg, 1.0);
    double sv[2];
    ld(sv, a->in[2], k * 2, 2);
    double mean = sv[0], rstd = sv[1];
    ld(g, a->in[0], k * M, M);
    ld(xh, a->in[1], k * M, M);
    for (int64_t cc = 0; cc < Cg; cc++)
      for (int64_t s = 0; s < S; s++) {
        int64_t j = cc * S + s;
        xh[j] = (xh[j] - mean) * rstd;
        g[j] *= w[cc]; /* g * weight */
      }
    double sa = sum4(g, M), sax = dot4(g, xh, M);
    double ma = sa / (double)M, max = sax / (double)M;
    for (int64_t j = 0; j < M; j++) g[j] = rstd * (g[j] - ma - xh[j] * max);
    st(a->out[0], k * M, g, M);
  }
  free(buf);
}

/* dweight, dbias per channel (sums over samples and space). */
static void gn_bwd_dw(int64_t c0, int64_t c1, void* vc) {
  gn_ctx* c = vc;
  const vt_op_args* a = c->a;
  int64_t N = c->N, C = c->C, S = c->S, G = c->G, Cg = C / G;
  vt_tensor *dw = a->out[1], *db = (vt_tensor*)a->ptr;
  double* buf = malloc(sizeof(double) * (size_t)(2 * S)); /* g, x (S) */
  if (!buf) {
    c->oom = 1;
    return;
  }
  double *g = buf, *x = buf + S;
  for (int64_t ch = c0; ch < c1; ch++) {
    double sw = 0, sb = 0;
    for (int64_t n = 0; n < N; n++) {
      double sv[2];
      ld(sv, a->in[2], (n * G + ch / Cg) * 2, 2);
      ld(g, a->in[0], (n * C + ch) * S, S);
      ld(x, a->in[1], (n * C + ch) * S, S);
      for (int64_t s = 0; s < S; s++) x[s] = (x[s] - sv[0]) * sv[1];
      sw += dot4(g, x, S);
      sb += sum4(g, S);
    }
    if (dw) st(dw, ch, &sw, 1);
    if (db) st(db, ch, &sb, 1);
  }
  free(buf);
}

/* in[0] = x (N, C, S), in[1] = weight (C) | NULL, in[2] = bias (C) | NULL; out[0] = y (N, C, S),
   out[1] = stats (N*G, 2); i[0..3] = N, C, S, G; f[0] = eps. */
static vt_status cpu_group_norm(const vt_op_args* a) {
  gn_ctx c = {.a = a, .N = a->i[0], .C = a->i[1], .S = a->i[2], .G = a->i[3]};
  vt_cpu_parallel_for(c.N * c.G, grain_of(c.C / c.G * c.S), gn_fwd, &c);
  if (c.oom) return vt_set_error(VT_ERR_OOM, "group_norm: out of host memory");
  return VT_OK;
}

/* in[0] = grad (N, C, S), in[1] = x (N, C, S), in[2] = stats (N*G, 2), in[3] = weight (C) | NULL;
   out[0] = dx | NULL, out[1] = dweight (C) | NULL, ptr = dbias (C) | NULL; i as group_norm. */
static vt_status cpu_group_norm_backward(const vt_op_args* a) {
  gn_ctx c = {.a = a, .N = a->i[0], .C = a->i[1], .S = a->i[2], .G = a->i[3]};
  if (a->out[0]) vt_cpu_parallel_for(c.N * c.G, grain_of(c.C / c.G * c.S), gn_bwd_dx, &c);
  if (!c.oom && (a->out[1] || a->ptr)) vt_cpu_parallel_for(c.C, grain_of(c.N * c.S), gn_bwd_dw, &c);
  if (c.oom) return vt_set_error(VT_ERR_OOM, "group_norm_backward: out of host memory");
  return VT_OK;
}

void vt_cpu_register_norm(vt_kernel* table) {
  table[VT_OP_layer_norm] = cpu_layer_norm;
  table[VT_OP_layer_norm_backward] = cpu_layer_norm_backward;
  table[VT_OP_batch_norm] = cpu_batch_norm;
  table[VT_OP_batch_norm_backward] = cpu_batch_norm_backward;
  table[VT_OP_group_norm] = cpu_group_norm;
  table[VT_OP_group_norm_backward] = cpu_group_norm_backward;
}
