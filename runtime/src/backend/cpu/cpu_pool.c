/* cpu_pool.c — CPU kernels of the pooling family (see ops/pool.c for the argument layout of
 * each op): max/avg/adaptive-avg 2-d pooling and their backward kernels.
 *
 * Every tensor here is contiguous (the front-end copies); the work is one H x W plane at a time,
 * planes split across threads with vt_cpu_parallel_for, so results do not depend on the thread
 * count (each plane is computed by one thread in a fixed order). f32 and f64 run on the data
 * directly; f16/bf16 planes are loaded into f32 buffers, computed in f32 and stored back.
 * Accumulation contract: avg/adaptive sums accumulate in double; backward kernels overwrite
 * their output (=), scatter-adding within a plane in output order.
 *
 * Letters: H, W input plane; Ho, Wo output plane; kh, kw kernel; sh, sw stride; ph, pw padding;
 * dh, dw dilation.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "backend/cpu/cpu.h"
#include "ops/op.h"
#include "volt/ops.h"

typedef struct {
  int64_t H, W, Ho, Wo;
  int64_t kh, kw, sh, sw, ph, pw, dh, dw;
  int64_t count_include_pad, divisor; /* avg: divisor 0 = none */
} pool_geom;

static inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }

/* avg_pool2d's window along one dim, as PyTorch: [lo, hi) clipped to the input; *span = the
   window's size clipped to the padded input (count_include_pad's divisor factor). */
static inline void avg_window(int64_t o, int64_t k, int64_t s, int64_t p, int64_t n, int64_t* lo,
                              int64_t* hi, int64_t* span) {
  int64_t a = o * s - p, b = imin(a + k, n + p);
  *span = b - a;
  *lo = imax(a, 0);
  *hi = imin(b, n);
}

static inline int64_t avg_divisor(const pool_geom* g, int64_t span, int64_t count) {
  if (g->divisor > 0) return g->divisor;
  return g->count_include_pad ? span : count;
}

/* m (all ones or zero) ? a : b, without a branch */
static inline float sel_f32(int64_t m, float a, float b) {
  uint32_t ua, ub, um = (uint32_t)m;
  memcpy(&ua, &a, 4);
  memcpy(&ub, &b, 4);
  ua = (ua & um) | (ub & ~um);
  memcpy(&a, &ua, 4);
  return a;
}
static inline double sel_f64(int64_t m, double a, double b) {
  uint64_t ua, ub, um = (uint64_t)m;
  memcpy(&ua, &a, 8);
  memcpy(&ub, &b, 8);
  ua = (ua & um) | (ub & ~um);
  memcpy(&a, &ua, 8);
  return a;
}

/* ---------------------------------------------------------------------------------------- */
/* plane bodies, one set per compute type T                                                  */
/* ---------------------------------------------------------------------------------------- */
#define VT_POOL_PLANES(T, SFX)                                                                 \
  /* x (H, W) -> y (Ho, Wo), idx (Ho, Wo) 1-based or NULL; scratch (Wo). A row of outputs is   \
     updated together (window element by window element, in row-major window order, the order  \
     PyTorch visits them), so the compare chains of neighbouring outputs overlap. */           \
  static void max_plane_##SFX(const pool_geom* g, const T* x, T* y, int64_t* idx, int64_t* scratch) {\
    for (int64_t oh = 0; oh < g->Ho; oh++) {                                                   \
      int64_t h0 = oh * g->sh - g->ph;                                                         \
      int64_t h1 = imin(h0 + (g->kh - 1) * g->dh + 1, g->H);                                   \
      while (h0 < 0) h0 += g->dh;                                                              \
      T* yr = y + oh * g->Wo;                          /* (Wo) running maxima */               \
      int64_t* mr = idx ? idx + oh * g->Wo : scratch;  /* (Wo) their 0-based plane indices */  \
      for (int64_t ow = 0; ow < g->Wo; ow++) {                                                 \
        int64_t w0 = ow * g->sw - g->pw;                                                       \
        int64_t w1 = imin(w0 + (g->kw - 1) * g->dw + 1, g->W);                                 \
        while (w0 < 0) w0 += g->dw;                                                            \
        /* PyTorch: the first element of the window unless a larger value (or a NaN) comes */  \
        mr[ow] = h0 < h1 && w0 < w1 ? h0 * g->W + w0 : -1;                                     \
        yr[ow] = (T)-INFINITY;                                                                 \
      }                                                                                        \
      for (int64_t ih = h0; ih < h1; ih += g->dh) {                                            \
        const T* xr = x + ih * g->W;                                                           \
        for (int64_t j = 0; j < g->kw; j++) {                                                  \
          int64_t off = j * g->dw - g->pw; /* w = ow * sw + off must lie in [0, W) */          \
          int64_t olo = off >= 0 ? 0 : (-off + g->sw - 1) / g->sw;                             \
          int64_t ohi = g->W - 1 - off < 0 ? 0 : imin((g->W - 1 - off) / g->sw + 1, g->Wo);    \
          for (int64_t ow = olo; ow < ohi; ow++) {                                             \
            int64_t w = ow * g->sw + off;                                                      \
            T v = xr[w], cur = yr[ow];                                                         \
            /* branch-free (random data would mispredict): NaN wins, the last one as PyTorch */\
            int64_t m = -(int64_t)((v > cur) | (v != v));                                      \
            mr[ow] = (mr[ow] & ~m) | ((ih * g->W + w) & m);                                    \
            yr[ow] = sel_##SFX(m, v, cur);                                                     \
          }                                                                                    \
        }                                                                                      \
      }                                                                                        \
      if (idx)                                                                                 \
        for (int64_t ow = 0; ow < g->Wo; ow++) mr[ow] += 1; /* 1-based; 0: a window without input */\
    }                                                                                          \
  }                                                                                            \
  /* x (H, W) -> y (Ho, Wo) */                                                                 \
  static void avg_plane_##SFX(const pool_geom* g, const T* x, T* y) {                          \
    for (int64_t oh = 0; oh < g->Ho; oh++) {                                                   \
      int64_t h0, h1, hs;                                                                      \
      avg_window(oh, g->kh, g->sh, g->ph, g->H, &h0, &h1, &hs);                                \
      for (int64_t ow = 0; ow < g->Wo; ow++) {                                                 \
        int64_t w0, w1, ws;                                                                    \
        avg_window(ow, g->kw, g->sw, g->pw, g->W, &w0, &w1, &ws);                              \
        if (h0 >= h1 || w0 >= w1) {                                                            \
          y[oh * g->Wo + ow] = 0;                                                              \
          continue;                                                                            \
        }                                                                                      \
        double acc = 0;                                                                        \
        for (int64_t ih = h0; ih < h1; ih++)                                                   \
          for (int64_t iw = w0; iw < w1; iw++) acc += x[ih * g->W + iw];                       \
        y[oh * g->Wo + ow] = (T)(acc / (double)avg_divisor(g, hs * ws, (h1 - h0) * (w1 - w0)));\
      }                                                                                        \
    }                                                                                          \
  }                                                                                            \
  /* x (H, W) -> y (Ho, Wo) */                                                                 \
  static void adaptive_plane_##SFX(const pool_geom* g, const T* x, T* y) {                     \
    for (int64_t oh = 0; oh < g->Ho; oh++) {                                                   \
      int64_t h0 = oh * g->H / g->Ho, h1 = ((oh + 1) * g->H + g->Ho - 1) / g->Ho;              \
      for (int64_t ow = 0; ow < g->Wo; ow++) {                                                 \
        int64_t w0 = ow * g->W / g->Wo, w1 = ((ow + 1) * g->W + g->Wo - 1) / g->Wo;            \
        double acc = 0;                                                                        \
        for (int64_t ih = h0; ih < h1; ih++)                                                   \
          for (int64_t iw = w0; iw < w1; iw++) acc += x[ih * g->W + iw];                       \
        y[oh * g->Wo + ow] = (T)(acc / (double)((h1 - h0) * (w1 - w0)));                       \
      }                                                                                        \
    }                                                                                          \
  }                                                                                            \
  /* gy (Ho, Wo), idx (Ho, Wo) -> gx (H, W); returns 0, or 1 on an index out of range */       \
  static int max_back_plane_##SFX(const pool_geom* g, const T* gy, const int64_t* idx, T* gx) {\
    int64_t n = g->H * g->W, bad = 0;                                                          \
    memset(gx, 0, sizeof(T) * (size_t)n);                                                      \
    for (int64_t o = 0; o < g->Ho * g->Wo; o++) {                                              \
      int64_t i = idx[o];                                                                      \
      if (i == 0) continue;                                                                    \
      if (i < 0 || i > n) {                                                                    \
        bad = 1;                                                                               \
        continue;                                                                              \
      }                                                                                        \
      gx[i - 1] += gy[o];                                                                      \
    }                                                                                          \
    return (int)bad;                                                                           \
  }                                                                                            \
  /* gy (Ho, Wo) -> gx (H, W) */                                                               \
  static void avg_back_plane_##SFX(const pool_geom* g, const T* gy, T* gx) {                   \
    memset(gx, 0, sizeof(T) * (size_t)(g->H * g->W));                                         \
    for (int64_t oh = 0; oh < g->Ho; oh++) {                                                   \
      int64_t h0, h1, hs;                                                                      \
      avg_window(oh, g->kh, g->sh, g->ph, g->H, &h0, &h1, &hs);                                \
      for (int64_t ow = 0; ow < g->Wo; ow++) {                                                 \
        int64_t w0, w1, ws;                                                                    \
        avg_window(ow, g->kw, g->sw, g->pw, g->W, &w0, &w1, &ws);                              \
        if (h0 >= h1 || w0 >= w1) continue;                                                    \
        T v = (T)(gy[oh * g->Wo + ow] /                                                        \
                  (double)avg_divisor(g, hs * ws, (h1 - h0) * (w1 - w0)));                     \
        for (int64_t ih = h0; ih < h1; ih++)                                                   \
          for (int64_t iw = w0; iw < w1; iw++) gx[ih * g->W + iw] += v;                        \
      }                                                                                        \
    }                                                                                          \
  }                                                                                            \
  /* gy (Ho, Wo) -> gx (H, W) */                                                               \
  static void adaptive_back_plane_##SFX(const pool_geom* g, const T* gy, T* gx) {              \
    memset(gx, 0, sizeof(T) * (size_t)(g->H * g->W));                                         \
    for (int64_t oh = 0; oh < g->Ho; oh++) {                                                   \
      int64_t h0 = oh * g->H / g->Ho, h1 = ((oh + 1) * g->H + g->Ho - 1) / g->Ho;              \
      for (int64_t ow = 0; ow < g->Wo; ow++) {                                                 \
        int64_t w0 = ow * g->W / g->Wo, w1 = ((ow + 1) * g->W + g->Wo - 1) / g->Wo;            \
        T v = (T)(gy[oh * g->Wo + ow] / (double)((h1 - h0) * (w1 - w0)));                      \
        for (int64_t ih = h0; ih < h1; ih++)                                                   \
          for (int64_t iw = w0; iw < w1; iw++) gx[ih * g->W + iw] += v;                        \
      }                                                                                        \
    }                                                                                          \
  }                                                                                            \
  static int run_plane_##SFX(int op, const pool_geom* g, const T* src, T* dst, int64_t* io,   \
                             const int64_t* ii, int64_t* scratch) {                            \
    switch (op) {                                                                              \
      case VT_OP_max_pool2d: max_plane_##SFX(g, src, dst, io, scratch); return 0;              \
      case VT_OP_avg_pool2d: avg_plane_##SFX(g, src, dst); return 0;                           \
      case VT_OP_adaptive_avg_pool2d: adaptive_plane_##SFX(g, src, dst); return 0;             \
      case VT_OP_max_pool2d_backward: return max_back_plane_##SFX(g, src, ii, dst);            \
      case VT_OP_avg_pool2d_backward: avg_back_plane_##SFX(g, src, dst); return 0;             \
      default: adaptive_back_plane_##SFX(g, src, dst); return 0;                               \
    }                                                                                          \
  }

VT_POOL_PLANES(float, f32)
VT_POOL_PLANES(double, f64)

/* ---------------------------------------------------------------------------------------- */
/* the plane loop                                                                            */
/* ---------------------------------------------------------------------------------------- */
typedef struct {
  int op, dt;
  pool_geom g;
  const char* src;       /* (P, src_n) planes: x forward, gy backward  */
  char* dst;             /* (P, dst_n) planes: y forward, gx backward  */
  int64_t* idx_out;      /* (P, dst_n) max_pool2d indices or NULL      */
  const int64_t* idx_in; /* (P, src_n) max_pool2d_backward indices     */
  int64_t src_n, dst_n;
  int bad, oom;
} pool_ctx;

static void pool_range(int64_t begin, int64_t end, void* vctx) {
  pool_ctx* c = vctx;
  int64_t es = (int64_t)vt_dtype_size((vt_dtype)c->dt);
  int half = c->dt != VT_DTYPE_F32 && c->dt != VT_DTYPE_F64;
  /* one allocation: f32 planes for the halves, then a row of int64 for max_pool2d */
  int64_t nf = half ? c->src_n + c->dst_n : 0;
  int64_t ni = c->op == VT_OP_max_pool2d ? c->g.Wo : 0;
  char* buf = malloc(sizeof(float) * (size_t)nf + sizeof(int64_t) * (size_t)ni + 8);
  if (!buf) {
    __atomic_store_n(&c->oom, 1, __ATOMIC_RELAXED);
    return;
  }
  int64_t* scratch = (int64_t*)buf;
  float* sb = (float*)(buf + sizeof(int64_t) * (size_t)ni);
  float* db = sb + c->src_n;
  int bad = 0;
  for (int64_t p = begin; p < end; p++) {
    const char* s = c->src + p * c->src_n * es;
    char* d = c->dst + p * c->dst_n * es;
    int64_t* io = c->idx_out ? c->idx_out + p * c->dst_n : NULL;
    const int64_t* ii = c->idx_in ? c->idx_in + p * c->src_n : NULL;
    if (c->dt == VT_DTYPE_F32) {
      bad |= run_plane_f32(c->op, &c->g, (const float*)s, (float*)d, io, ii, scratch);
    } else if (c->dt == VT_DTYPE_F64) {
      bad |= run_plane_f64(c->op, &c->g, (const double*)s, (double*)d, io, ii, scratch);
    } else {
      vt_cpu_load_f32(sb, s, es, c->dt, c->src_n);
      bad |= run_plane_f32(c->op, &c->g, sb, db, io, ii, scratch);
      vt_cpu_store_f32(d, es, c->dt, db, c->dst_n);
    }
  }
  free(buf);
  if (bad) __atomic_store_n(&c->bad, 1, __ATOMIC_RELAXED);
}

/* One kernel for the six ops: the geometry comes from the tensors' shapes and i[]. */
static vt_status cpu_pool(const vt_op_args* a) {
  int fwd = a->op == VT_OP_max_pool2d || a->op == VT_OP_avg_pool2d ||
            a->op == VT_OP_adaptive_avg_pool2d;
  const vt_tensor* src = a->in[0]; /* forward: x (N, C, H, W); backward: gy (N, C, Ho, Wo) */
  vt_tensor* dst = a->out[0];      /* forward: y (N, C, Ho, Wo); backward: gx (N, C, H, W) */
  const vt_tensor* xs = fwd ? src : dst;
  const vt_tensor* ys = fwd ? dst : src;
  pool_ctx c = {.op = a->op, .dt = src->dt, .src = (const char*)src->ptr, .dst = (char*)dst->ptr};
  c.g.H = xs->sizes[2];
  c.g.W = xs->sizes[3];
  c.g.Ho = ys->sizes[2];
  c.g.Wo = ys->sizes[3];
  if (a->op == VT_OP_max_pool2d || a->op == VT_OP_avg_pool2d || a->op == VT_OP_avg_pool2d_backward) {
    c.g.kh = a->i[0], c.g.kw = a->i[1], c.g.sh = a->i[2], c.g.sw = a->i[3];
    c.g.ph = a->i[4], c.g.pw = a->i[5];
  }
  if (a->op == VT_OP_max_pool2d) {
    c.g.dh = a->i[6], c.g.dw = a->i[7];
    c.idx_out = a->out[1] ? (int64_t*)a->out[1]->ptr : NULL;
  } else if (a->op == VT_OP_avg_pool2d || a->op == VT_OP_avg_pool2d_backward) {
    c.g.count_include_pad = a->i[6], c.g.divisor = a->i[7];
  } else if (a->op == VT_OP_max_pool2d_backward) {
    c.idx_in = (const int64_t*)a->in[1]->ptr;
  }
  c.src_n = src->sizes[2] * src->sizes[3];
  c.dst_n = dst->sizes[2] * dst->sizes[3];
  int64_t planes = xs->sizes[0] * xs->sizes[1];
  if (planes == 0 || c.dst_n == 0) return VT_OK;
  /* work per plane ~ outputs x window (or the plane itself) */
  int64_t per = c.g.Ho * c.g.Wo * (c.g.kh ? c.g.kh * c.g.kw : 1) + c.g.H * c.g.W;
  int64_t grain = VT_CPU_GRAIN / (per > 0 ? per : 1);
  vt_cpu_parallel_for(planes, grain > 0 ? grain : 1, pool_range, &c);
  if (c.oom) return vt_set_error(VT_ERR_OOM, "%s: out of host memory", vt_op_name(a->op));
  if (c.bad)
    return vt_set_error(VT_ERR_ARG, "max_pool2d_backward: an index is outside the %lld x %lld "
                                    "input plane (indices are 1-based, 0 means none)",
                        (long long)c.g.H, (long long)c.g.W);
  return VT_OK;
}

void vt_cpu_register_pool(vt_kernel* table) {
  table[VT_OP_max_pool2d] = cpu_pool;
  table[VT_OP_avg_pool2d] = cpu_pool;
  table[VT_OP_adaptive_avg_pool2d] = cpu_pool;
  table[VT_OP_max_pool2d_backward] = cpu_pool;
  table[VT_OP_avg_pool2d_backward] = cpu_pool;
  table[VT_OP_adaptive_avg_pool2d_backward] = cpu_pool;
}
