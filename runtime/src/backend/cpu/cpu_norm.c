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
 * once). Statistics are two-pass (mean, then the centred sum of squares). Work is split over independent rows / channels / (sample, group)
 * blocks; layer norm's dweight/dbias are summed per fixed chunk of rows (the chunk size depends
 * only on R) and the chunks reduced in order, so results never depend on the thread count.
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
static inline int64_t grain_of(int64_t work_per_item) {
  int64_t g = VT_CPU_GRAIN / (work_per_item > 0 ? work_per_item : 1);
  return g > 0 ? g : 1;
}

/* ---------------------------------------------------------------------------------------- */
/* layer norm                                                                               */
/* ---------------------------------------------------------------------------------------- */
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
  ld_param(w, a->in[1], D, 1.0);
  ld_param(b, a->in[2], D, 0.0);
  if (a->in[0]->dt == VT_DTYPE_F32 && a->out[0]->dt == VT_DTYPE_F32 && a->out[1]->dt == VT_DTYPE_F32) {
    /* f32: the same f64 arithmetic in the same order, reading and writing the rows in place */
    for (int64_t r = r0; r < r1; r++) {
      const float* x = (const float*)a->in[0]->ptr + r * D; /* (D) */
      float* y = (float*)a->out[0]->ptr + r * D;           /* (D) */
      double m4[4] = {0, 0, 0, 0}, q4[4] = {0, 0, 0, 0};
      int64_t j = 0;
      for (; j + 4 <= D; j += 4)
        for (int l = 0; l < 4; l++) m4[l] += (double)x[j + l];
      for (; j < D; j++) m4[0] += (double)x[j];
      double mean = ((m4[0] + m4[1]) + (m4[2] + m4[3])) / (double)D;
      for (j = 0; j + 4 <= D; j += 4)
        for (int l = 0; l < 4; l++) q4[l] += ((double)x[j + l] - mean) * ((double)x[j + l] - mean);
      for (; j < D; j++) q4[0] += ((double)x[j] - mean) * ((double)x[j] - mean);
      double var = ((q4[0] + q4[1]) + (q4[2] + q4[3])) / (double)D;
      double rstd = 1.0 / sqrt(var + a->f[0]);
      for (j = 0; j < D; j++) y[j] = (float)(((double)x[j] - mean) * rstd * w[j] + b[j]);
      float* sv = (float*)a->out[1]->ptr + r * 2;
      sv[0] = (float)mean;
      sv[1] = (float)rstd;
    }
    free(buf);
    return;
  }
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
  ld_param(w, a->in[3], D, 1.0);
  int f32 = a->in[0]->dt == VT_DTYPE_F32 && a->in[1]->dt == VT_DTYPE_F32 &&
            a->in[2]->dt == VT_DTYPE_F32 && (!dx || dx->dt == VT_DTYPE_F32);
  for (int64_t k = k0; k < k1; k++) {
    int64_t r0 = k * c->chunk, r1 = r0 + c->chunk < c->R ? r0 + c->chunk : c->R;
    double *pw = NULL, *pb = NULL; /* (D) partial dweight, (D) partial dbias of this chunk */
    if (c->part) {
      pw = c->part + k * 2 * D;
      pb = pw + D;
      memset(pw, 0, sizeof(double) * (size_t)(2 * D));
    }
    if (f32) {
      /* f32: the same f64 arithmetic in the same order, three passes over the row in place */
      for (int64_t r = r0; r < r1; r++) {
        const float* gr = (const float*)a->in[0]->ptr + r * D; /* (D) */
        const float* xr = (const float*)a->in[1]->ptr + r * D; /* (D) */
        const float* sv = (const float*)a->in[2]->ptr + r * 2;
        double mean = sv[0], rstd = sv[1];
        double s4[4] = {0, 0, 0, 0}, d4[4] = {0, 0, 0, 0};
        int64_t j = 0;
        for (; j + 4 <= D; j += 4)
          for (int l = 0; l < 4; l++) {
            double xh = ((double)xr[j + l] - mean) * rstd, o = (double)gr[j + l] * w[j + l];
            s4[l] += o;
            d4[l] += o * xh;
          }
        for (; j < D; j++) {
          double xh = ((double)xr[j] - mean) * rstd, o = (double)gr[j] * w[j];
          s4[0] += o;
          d4[0] += o * xh;
        }
        double sa = (s4[0] + s4[1]) + (s4[2] + s4[3]), sax = (d4[0] + d4[1]) + (d4[2] + d4[3]);
        if (dx) {
          float* dr = (float*)dx->ptr + r * D; /* (D) */
          double ma = sa / (double)D, max = sax / (double)D;
          for (j = 0; j < D; j++) {
            double xh = ((double)xr[j] - mean) * rstd;
            dr[j] = (float)(rstd * ((double)gr[j] * w[j] - ma - xh * max));
          }
        }
        if (pw)
          for (j = 0; j < D; j++) {
            double xh = ((double)xr[j] - mean) * rstd;
            pw[j] += (double)gr[j] * xh;
            pb[j] += (double)gr[j];
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
