/* cpu_conv.c — CPU kernels of the convolutions: conv2d (forward, and its weight gradient as mode
 * 1) and conv_transpose2d, by im2col/col2im + OpenBLAS GEMM. Inputs as ops/conv.c promises:
 * contiguous, one dtype; f16/bf16 are converted to f32 here and the result rounded once.
 *
 * Dimension letters: N batch, C input channels (Cg per group), O output channels (Og per
 * group), G groups, (H, W) the image the kernel slides over, (Ho, Wo) the positions it visits,
 * (kh, kw) the kernel, K = Cg*kh*kw the length of one column.
 *
 *   im2col: img (Cg, H, W) -> col (Cg*kh*kw, Ho*Wo), col[(c*kh + i)*kw + j, oh*Wo + ow] =
 *           img[c, oh*sh - ph + i*dh, ow*sw - pw + j*dw] (0 outside)
 *   col2im: the adjoint: img (Cg, H, W) += col scattered back
 *
 *   conv2d forward, per sample n and group g:     y[n,g] (Og, Ho*Wo) = w[g] (Og, K) @ col + b
 *   conv_transpose2d, per sample and group:       col (Og*kh*kw, H*W) = w[g]^T @ x[n,g] (Cg, H*W)
 *                                                 y[n,g] (Og, Ho', Wo') = col2im(col) + b
 *   conv2d weight gradient, per group:            gw[g] (Og, K) = sum_n gy[n,g] (Og, Ho*Wo) @ col_n^T
 * A 1x1 kernel with stride 1 and no padding uses the image itself as the column matrix.
 *
 * Chunks: when one sample has few output positions, nb samples sit side by side in one column
 * buffer (col (K, nb*Ho*Wo)) so that a GEMM has about CV_COLS columns; nb depends only on the
 * shapes. The forward scatters the GEMM's (Og, nb*Ho*Wo) result into y (adding the bias); the
 * weight gradient copies gy's rows side by side to match.
 *
 * Threads and determinism: the forward runs its chunks in parallel (one buffer set per thread,
 * single-threaded BLAS inside the parallel region); conv_transpose2d (and the forward with one
 * sample per chunk) runs in parallel over the batch when it has at least as many samples as
 * threads, else sample by sample with multi-threaded GEMMs. Each output element is computed by
 * one GEMM over a fixed chunk, so results do not depend on the thread count. The weight gradient
 * splits the batch into at most CV_PARTS parts of whole chunks (fixed by the shapes alone, not
 * the thread count), accumulates each part's partial sum in sample order, and adds the parts in
 * order.
 * Accumulation: f32 (also for f16/bf16) or f64, as OpenBLAS.
 */
#include "backend/cpu/cpu_gemm.h"
#include <limits.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "backend/cpu/cpu.h"

/* Columns a chunk's GEMM aims for (samples side by side), and the most parts the weight
   gradient's batch splits into. Measured on 2 cores: one 64x800x4096 SGEMM runs ~25% faster than
   64 of 64x800x64. */
#define CV_COLS 1024
#define CV_PARTS 16

typedef struct {
  int f32;                       /* compute type: 1 float, 0 double                          */
  int64_t N, C, O, G, Cg, Og;
  int64_t H, W, Ho, Wo;          /* image and positions (see the top comment)                */
  int64_t kh, kw, sh, sw, ph, pw, dh, dw;
  int direct;                    /* 1x1, stride 1, no padding: the image is the column matrix */
  const char *x, *w, *b;         /* compute-type data                                        */
  char* y;
  int64_t nb;                    /* samples per chunk (side by side in one GEMM)             */
  int64_t parts, per_part;       /* weight gradient: batch split                             */
  char* partial;                 /* (parts, O, Cg*kh*kw)                                     */
  int failed;                    /* a buffer allocation failed in a parallel chunk           */
} cv_plan;

/* ---------------------------------------------------------------------------------------- */
/* im2col / col2im                                                                          */
/* ---------------------------------------------------------------------------------------- */
/* Range of output positions o in [0, n) with 0 <= o*s - p + off < in: [*lo, *hi). */
static void cv_valid(int64_t n, int64_t in, int64_t s, int64_t p, int64_t off, int64_t* lo, int64_t* hi) {
  int64_t a = p - off; /* o*s >= a */
  int64_t l = a <= 0 ? 0 : (a + s - 1) / s;
  int64_t bnd = in - 1 + p - off; /* o*s <= bnd */
  int64_t h = bnd < 0 ? 0 : bnd / s + 1;
  if (h > n) h = n;
  if (l > h) l = h;
  *lo = l;
  *hi = h;
}

#define CV_IM2COL(T, NAME)                                                                   \
  static void NAME(const cv_plan* p, const T* img /* (Cg, H, W) */,                          \
                   T* col /* (K, Ho*Wo), rows ld apart */, int64_t ld) {                     \
    int64_t HW = ld;                                                                         \
    for (int64_t c = 0; c < p->Cg; c++)                                                      \
      for (int64_t i = 0; i < p->kh; i++) {                                                  \
        int64_t olo, ohi;                                                                    \
        cv_valid(p->Ho, p->H, p->sh, p->ph, i * p->dh, &olo, &ohi);                          \
        for (int64_t j = 0; j < p->kw; j++) {                                                \
          T* row = col + ((c * p->kh + i) * p->kw + j) * HW;                                 \
          int64_t wlo, whi;                                                                  \
          cv_valid(p->Wo, p->W, p->sw, p->pw, j * p->dw, &wlo, &whi);                        \
          if (olo > 0) memset(row, 0, sizeof(T) * (size_t)(olo * p->Wo));                    \
          for (int64_t oh = olo; oh < ohi; oh++) {                                           \
            T* r = row + oh * p->Wo;                                                         \
            const T* xr = img + (c * p->H + oh * p->sh - p->ph + i * p->dh) * p->W +         \
                          j * p->dw - p->pw;                                                 \
            for (int64_t ow = 0; ow < wlo; ow++) r[ow] = 0;                                  \
            if (p->sw == 1)                                                                  \
              memcpy(r + wlo, xr + wlo, sizeof(T) * (size_t)(whi - wlo));                    \
            else                                                                             \
              for (int64_t ow = wlo; ow < whi; ow++) r[ow] = xr[ow * p->sw];                 \
            for (int64_t ow = whi; ow < p->Wo; ow++) r[ow] = 0;                              \
          }                                                                                  \
          if (ohi < p->Ho)                                                                   \
            memset(row + ohi * p->Wo, 0, sizeof(T) * (size_t)((p->Ho - ohi) * p->Wo));       \
        }                                                                                    \
      }                                                                                      \
  }

#define CV_COL2IM(T, NAME)                                                                   \
  static void NAME(const cv_plan* p, const T* col /* (K, Ho*Wo) */, T* img /* (Cg, H, W) += */) { \
    int64_t HW = p->Ho * p->Wo;                                                              \
    for (int64_t c = 0; c < p->Cg; c++)                                                      \
      for (int64_t i = 0; i < p->kh; i++) {                                                  \
        int64_t olo, ohi;                                                                    \
        cv_valid(p->Ho, p->H, p->sh, p->ph, i * p->dh, &olo, &ohi);                          \
        for (int64_t j = 0; j < p->kw; j++) {                                                \
          const T* row = col + ((c * p->kh + i) * p->kw + j) * HW;                           \
          int64_t wlo, whi;                                                                  \
          cv_valid(p->Wo, p->W, p->sw, p->pw, j * p->dw, &wlo, &whi);                        \
          for (int64_t oh = olo; oh < ohi; oh++) {                                           \
            const T* r = row + oh * p->Wo;                                                   \
            T* xr = img + (c * p->H + oh * p->sh - p->ph + i * p->dh) * p->W + j * p->dw -   \
                    p->pw;                                                                   \
            for (int64_t ow = wlo; ow < whi; ow++) xr[ow * p->sw] += r[ow];                  \
          }                                                                                  \
        }                                                                                    \
      }                                                                                      \
  }

CV_IM2COL(float, cv_im2col_f32)
CV_IM2COL(double, cv_im2col_f64)
CV_COL2IM(float, cv_col2im_f32)
CV_COL2IM(double, cv_col2im_f64)

/* col's rows are ld elements apart (Ho*Wo for one sample; more when samples sit side by side) */
static void cv_im2col(const cv_plan* p, const char* img, char* col, int64_t ld) {
  if (p->f32) cv_im2col_f32(p, (const float*)img, (float*)col, ld);
  else cv_im2col_f64(p, (const double*)img, (double*)col, ld);
}
static void cv_col2im(const cv_plan* p, const char* col, char* img) {
  if (p->f32) cv_col2im_f32(p, (const float*)col, (float*)img);
  else cv_col2im_f64(p, (const double*)col, (double*)img);
}

/* Row-major C (M, N) = op(A) op(B) + beta C. */
static void cv_gemm(const cv_plan* p, int ta, int tb, int64_t M, int64_t N, int64_t K,
                    const char* A, int64_t lda, const char* B, int64_t ldb, double beta, char* Cm,
                    int64_t ldc) {
  enum CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
  if (p->f32)
    vt_cpu_sgemm(CblasRowMajor, TA, TB, (int)M, (int)N, (int)K, 1.0f, (const float*)A, (int)lda,
                (const float*)B, (int)ldb, (float)beta, (float*)Cm, (int)ldc);
  else
    vt_cpu_dgemm(CblasRowMajor, TA, TB, (int)M, (int)N, (int)K, 1.0, (const double*)A, (int)lda,
                (const double*)B, (int)ldb, beta, (double*)Cm, (int)ldc);
}

/* Rows of m (rows, n): each row r set to b[r] (or 0 when b is NULL). */
static void cv_fill_rows(const cv_plan* p, char* m, const char* b, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; r++) {
    if (p->f32) {
      float v = b ? ((const float*)b)[r] : 0.0f, *d = (float*)m + r * n;
      for (int64_t k = 0; k < n; k++) d[k] = v;
    } else {
      double v = b ? ((const double*)b)[r] : 0.0, *d = (double*)m + r * n;
      for (int64_t k = 0; k < n; k++) d[k] = v;
    }
  }
}

static size_t cv_es(const cv_plan* p) { return p->f32 ? sizeof(float) : sizeof(double); }

/* ---------------------------------------------------------------------------------------- */
/* conv2d forward: samples [begin, end)                                                     */
/* ---------------------------------------------------------------------------------------- */
static void cv_fwd_range(int64_t begin, int64_t end, void* ctx) {
  cv_plan* p = ctx;
  size_t es = cv_es(p);
  int64_t K = p->Cg * p->kh * p->kw, HWo = p->Ho * p->Wo, HWi = p->H * p->W;
  char* col = NULL;
  if (!p->direct) {
    col = malloc((size_t)(K * HWo) * es);
    if (!col) {
      p->failed = 1;
      return;
    }
  }
  for (int64_t n = begin; n < end; n++)
    for (int64_t g = 0; g < p->G; g++) {
      const char* xg = p->x + (size_t)((n * p->C + g * p->Cg) * HWi) * es; /* (Cg, H, W)   */
      const char* wg = p->w + (size_t)(g * p->Og * K) * es;                /* (Og, K)      */
      char* yg = p->y + (size_t)((n * p->O + g * p->Og) * HWo) * es;       /* (Og, Ho*Wo)  */
      const char* bg = p->b ? p->b + (size_t)(g * p->Og) * es : NULL;
      if (bg) cv_fill_rows(p, yg, bg, p->Og, HWo);
      const char* B = xg;
      if (!p->direct) {
        cv_im2col(p, xg, col, HWo);
        B = col;
      }
      cv_gemm(p, 0, 0, p->Og, HWo, K, wg, K, B, HWo, bg ? 1.0 : 0.0, yg, HWo);
    }
  free(col);
}

/* conv2d forward, nb samples side by side: chunks [begin, end) of nb samples; per group
   col (K, m*Ho*Wo) holds the samples' columns next to each other, one GEMM gives
   t (Og, m*Ho*Wo), which is scattered into y with the bias. */
static void cv_fwd_chunk_range(int64_t begin, int64_t end, void* ctx) {
  cv_plan* p = ctx;
  size_t es = cv_es(p);
  int64_t K = p->Cg * p->kh * p->kw, HWo = p->Ho * p->Wo, HWi = p->H * p->W, L = p->nb * HWo;
  char* col = malloc((size_t)(K * L) * es);
  char* t = malloc((size_t)(p->Og * L) * es);
  if (!col || !t) {
    free(col);
    free(t);
    p->failed = 1;
    return;
  }
  for (int64_t ch = begin; ch < end; ch++) {
    int64_t n0 = ch * p->nb, m = p->N - n0 < p->nb ? p->N - n0 : p->nb, Lm = m * HWo;
    for (int64_t g = 0; g < p->G; g++) {
      for (int64_t s = 0; s < m; s++) /* x[n0 + s, g] (Cg, H, W) -> col[:, s*HWo ...] */
        cv_im2col(p, p->x + (size_t)(((n0 + s) * p->C + g * p->Cg) * HWi) * es,
                  col + (size_t)(s * HWo) * es, Lm);
      const char* wg = p->w + (size_t)(g * p->Og * K) * es; /* (Og, K) */
      cv_gemm(p, 0, 0, p->Og, Lm, K, wg, K, col, Lm, 0.0, t, Lm);
      for (int64_t s = 0; s < m; s++)
        for (int64_t o = 0; o < p->Og; o++) {
          int64_t oc = g * p->Og + o;
          size_t dst = (size_t)(((n0 + s) * p->O + oc) * HWo), src = (size_t)(o * Lm + s * HWo);
          if (p->f32) {
            float* d = (float*)p->y + dst;
            const float* r = (const float*)t + src;
            float bv = p->b ? ((const float*)p->b)[oc] : 0.0f;
            for (int64_t k = 0; k < HWo; k++) d[k] = r[k] + bv;
          } else {
            double* d = (double*)p->y + dst;
            const double* r = (const double*)t + src;
            double bv = p->b ? ((const double*)p->b)[oc] : 0.0;
            for (int64_t k = 0; k < HWo; k++) d[k] = r[k] + bv;
          }
        }
    }
  }
  free(col);
  free(t);
}

/* ---------------------------------------------------------------------------------------- */
/* conv_transpose2d: samples [begin, end); here (H, W) is y's size and (Ho, Wo) x's          */
/* ---------------------------------------------------------------------------------------- */
static void cv_tr_range(int64_t begin, int64_t end, void* ctx) {
  cv_plan* p = ctx;
  size_t es = cv_es(p);
  /* as im2col sees it: the image is y (Og, H, W), the columns (Og*kh*kw, Ho*Wo) */
  int64_t Kt = p->Og * p->kh * p->kw, HWx = p->Ho * p->Wo, HWy = p->H * p->W;
  char* col = NULL;
  if (!p->direct) {
    col = malloc((size_t)(Kt * HWx) * es);
    if (!col) {
      p->failed = 1;
      return;
    }
  }
  cv_plan q = *p; /* im2col geometry with Cg := Og */
  q.Cg = p->Og;
  for (int64_t n = begin; n < end; n++)
    for (int64_t g = 0; g < p->G; g++) {
      const char* xg = p->x + (size_t)((n * p->C + g * p->Cg) * HWx) * es; /* (Cg, Ho*Wo)  */
      const char* wg = p->w + (size_t)(g * p->Cg * Kt) * es;               /* (Cg, Kt)     */
      char* yg = p->y + (size_t)((n * p->O + g * p->Og) * HWy) * es;       /* (Og, H*W)    */
      const char* bg = p->b ? p->b + (size_t)(g * p->Og) * es : NULL;
      cv_fill_rows(p, yg, bg, p->Og, HWy);
      if (p->direct) {
        cv_gemm(p, 1, 0, Kt, HWx, p->Cg, wg, Kt, xg, HWx, 1.0, yg, HWy);
      } else {
        cv_gemm(p, 1, 0, Kt, HWx, p->Cg, wg, Kt, xg, HWx, 0.0, col, HWx);
        cv_col2im(&q, col, yg);
      }
    }
  free(col);
}

/* ---------------------------------------------------------------------------------------- */
/* conv2d weight gradient: parts [begin, end) of the batch, each into its partial sum         */
/* ---------------------------------------------------------------------------------------- */
static void cv_wgrad_range(int64_t begin, int64_t end, void* ctx) {
  cv_plan* p = ctx;
  size_t es = cv_es(p);
  int64_t K = p->Cg * p->kh * p->kw, HWo = p->Ho * p->Wo, HWi = p->H * p->W, L = p->nb * HWo;
  /* col (K, m*Ho*Wo) and gt (Og, m*Ho*Wo): m <= nb samples side by side */
  char* col = malloc((size_t)(K * L) * es);
  char* gt = p->nb > 1 ? malloc((size_t)(p->Og * L) * es) : NULL;
  if (!col || (p->nb > 1 && !gt)) {
    free(col);
    free(gt);
    p->failed = 1;
    return;
  }
  for (int64_t part = begin; part < end; part++) {
    char* acc = p->partial + (size_t)(part * p->O * K) * es; /* (O, K) */
    int64_t n0 = part * p->per_part, n1 = n0 + p->per_part;
    if (n1 > p->N) n1 = p->N;
    for (int64_t c0 = n0; c0 < n1; c0 += p->nb) {
      int64_t m = n1 - c0 < p->nb ? n1 - c0 : p->nb, Lm = m * HWo;
      for (int64_t g = 0; g < p->G; g++) {
        char* ag = acc + (size_t)(g * p->Og * K) * es; /* (Og, K) */
        const char* A;
        for (int64_t s = 0; s < m; s++) /* x[c0 + s, g] (Cg, H, W) -> col[:, s*HWo ...] */
          cv_im2col(p, p->x + (size_t)(((c0 + s) * p->C + g * p->Cg) * HWi) * es,
                    col + (size_t)(s * HWo) * es, Lm);
        if (m == 1) {
          A = p->y + (size_t)((c0 * p->O + g * p->Og) * HWo) * es; /* gy[c0, g] (Og, Ho*Wo) */
        } else {
          for (int64_t s = 0; s < m; s++) /* gy[c0 + s, g] (Og, Ho*Wo) -> gt[:, s*HWo ...] */
            for (int64_t o = 0; o < p->Og; o++)
              memcpy(gt + (size_t)(o * Lm + s * HWo) * es,
                     p->y + (size_t)(((c0 + s) * p->O + g * p->Og + o) * HWo) * es,
                     (size_t)HWo * es);
          A = gt;
        }
        cv_gemm(p, 0, 1, p->Og, K, Lm, A, Lm, col, Lm, c0 == n0 ? 0.0 : 1.0, ag, K);
      }
    }
  }
  free(col);
  free(gt);
}

/* ---------------------------------------------------------------------------------------- */
/* the kernels                                                                              */
/* ---------------------------------------------------------------------------------------- */
/* A compute-type version of t (t itself when it already is). */
static vt_status cv_as(const vt_tensor* t, int ct, vt_tensor** hold, const char** data) {
  *hold = NULL;
  *data = NULL;
  if (!t) return VT_OK;
  if (t->dt == ct) {
    *data = t->ptr;
    return VT_OK;
  }
  VT_TRY(vt_tensor_cast(t, (vt_dtype)ct, hold));
  *data = (*hold)->ptr;
  return VT_OK;
}

static void cv_params(cv_plan* p, const vt_op_args* a) {
  p->sh = a->i[0], p->sw = a->i[1];
  p->ph = a->i[2], p->pw = a->i[3];
  p->dh = a->i[4], p->dw = a->i[5];
  p->G = a->i[6];
}

static int cv_is_direct(const cv_plan* p) {
  return p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->ph == 0 && p->pw == 0 &&
         p->H == p->Ho && p->W == p->Wo;
}

static vt_status cv_too_big(const char* op, const cv_plan* p) {
  int64_t K = p->Cg * p->kh * p->kw, Kt = p->Og * p->kh * p->kw;
  if (K > INT_MAX || Kt > INT_MAX || p->Ho * p->Wo > INT_MAX || p->H * p->W > INT_MAX)
    return vt_set_error(VT_ERR_SHAPE, "%s: sizes exceed BLAS's 32-bit matrix dims", op);
  return VT_OK;
}

static vt_status cpu_conv_common(const vt_op_args* a, int transposed) {
  const vt_tensor *x = a->in[0], *w = a->in[1], *b = a->nin > 2 ? a->in[2] : NULL;
  vt_tensor* y = a->out[0];
  int mode = transposed ? 0 : (int)a->i[7];
  int ct = x->dt == VT_DTYPE_F64 ? VT_DTYPE_F64 : VT_DTYPE_F32;
  const char* op = transposed ? "conv_transpose2d" : "conv2d";
  cv_plan p = {.f32 = ct == VT_DTYPE_F32};
  cv_params(&p, a);
  p.N = x->sizes[0];
  p.C = x->sizes[1];
  if (transposed) {
    /* x (N, C, Hx, Wx), w (C, Og, kh, kw), y (N, O, Hy, Wy): the image is y */
    p.Cg = p.C / p.G;
    p.Og = w->sizes[1];
    p.O = p.Og * p.G;
    p.H = y->sizes[2], p.W = y->sizes[3];
    p.Ho = x->sizes[2], p.Wo = x->sizes[3];
  } else if (mode == 0) {
    /* x (N, C, H, W), w (O, Cg, kh, kw), y (N, O, Ho, Wo) */
    p.O = w->sizes[0];
    p.Cg = w->sizes[1];
    p.Og = p.O / p.G;
    p.H = x->sizes[2], p.W = x->sizes[3];
    p.Ho = y->sizes[2], p.Wo = y->sizes[3];
  } else {
    /* x (N, C, H, W), in[1] = gy (N, O, Ho, Wo), y = gw (O, Cg, kh, kw) */
    p.O = w->sizes[1];
    p.Cg = p.C / p.G;
    p.Og = p.O / p.G;
    p.H = x->sizes[2], p.W = x->sizes[3];
    p.Ho = w->sizes[2], p.Wo = w->sizes[3];
  }
  if (mode == 1) p.kh = y->sizes[2], p.kw = y->sizes[3];
  else p.kh = w->sizes[2], p.kw = w->sizes[3];
  p.direct = cv_is_direct(&p);
  VT_TRY(cv_too_big(op, &p));

  vt_tensor *hx = NULL, *hw = NULL, *hb = NULL, *hy = NULL;
  vt_status s = cv_as(x, ct, &hx, &p.x);
  if (s == VT_OK) s = cv_as(w, ct, &hw, &p.w);
  if (s == VT_OK && mode == 0) s = cv_as(b, ct, &hb, &p.b);
  if (s == VT_OK) {
    if (y->dt == ct && vt_tensor_is_contiguous(y)) {
      p.y = y->ptr;
    } else {
      s = vt_tensor_empty(y->ndim, y->sizes, (vt_dtype)ct, y->dev, &hy);
      if (s == VT_OK) p.y = hy->ptr;
    }
  }
  if (s != VT_OK) goto done;

  size_t es = cv_es(&p);
  int nt = omp_get_max_threads();
  /* samples per chunk: enough that a chunk's GEMM has about CV_COLS columns, fixed by the shapes */
  int64_t HWo = p.Ho * p.Wo;
  p.nb = CV_COLS / HWo;
  if (p.nb < 1) p.nb = 1;
  if (p.nb > p.N) p.nb = p.N;
  if (p.nb * HWo > INT_MAX) p.nb = 1;
  if (mode == 0 && !transposed && !p.direct && p.nb > 1) {
    int64_t chunks = (p.N + p.nb - 1) / p.nb;
    vt_cpu_parallel_for(chunks, 1, cv_fwd_chunk_range, &p);
    if (p.failed) s = vt_set_error(VT_ERR_OOM, "%s: out of memory for the column buffer", op);
  } else if (mode == 0) {
    vt_cpu_range_fn fn = transposed ? cv_tr_range : cv_fwd_range;
    if (p.N >= nt && nt > 1) vt_cpu_parallel_for(p.N, 1, fn, &p);
    else fn(0, p.N, &p);
    if (p.failed) s = vt_set_error(VT_ERR_OOM, "%s: out of memory for the column buffer", op);
  } else {
    /* weight gradient: gy is in[1]; the plan's y pointer is the gradient input. The batch
       splits into at most CV_PARTS parts of whole chunks (and at most 64 MiB of partials). */
    const char* gy = p.w;
    char* gw = p.y;
    p.y = (char*)gy;
    int64_t K = p.Cg * p.kh * p.kw, wsz = p.O * K;
    int64_t chunks = (p.N + p.nb - 1) / p.nb;
    int64_t parts = chunks < CV_PARTS ? chunks : CV_PARTS;
    int64_t cap = (int64_t)((64u << 20) / es) / (wsz > 0 ? wsz : 1);
    if (cap < 1) cap = 1;
    if (parts > cap) parts = cap;
    p.per_part = (chunks + parts - 1) / parts * p.nb;
    p.parts = (p.N + p.per_part - 1) / p.per_part;
    p.partial = p.parts == 1 ? gw : malloc((size_t)(p.parts * wsz) * es);
    if (!p.partial) {
      s = vt_set_error(VT_ERR_OOM, "conv2d: out of memory for the weight-gradient partial sums");
      goto done;
    }
    if (p.parts > 1 && nt > 1) vt_cpu_parallel_for(p.parts, 1, cv_wgrad_range, &p);
    else cv_wgrad_range(0, p.parts, &p);
    if (p.parts > 1) {
      /* gw = sum of the parts, in part order */
      if (p.f32) {
        float* d = (float*)gw;
        const float* src = (const float*)p.partial;
        memcpy(d, src, sizeof(float) * (size_t)wsz);
        for (int64_t k = 1; k < p.parts; k++)
          for (int64_t e = 0; e < wsz; e++) d[e] += src[k * wsz + e];
      } else {
        double* d = (double*)gw;
        const double* src = (const double*)p.partial;
        memcpy(d, src, sizeof(double) * (size_t)wsz);
        for (int64_t k = 1; k < p.parts; k++)
          for (int64_t e = 0; e < wsz; e++) d[e] += src[k * wsz + e];
      }
      free(p.partial);
    }
    if (p.failed) s = vt_set_error(VT_ERR_OOM, "conv2d: out of memory for the column buffer");
  }
  if (s == VT_OK && hy) s = vt_tensor_copy_(y, hy);
done:
  if (hx) vt_tensor_release(hx);
  if (hw) vt_tensor_release(hw);
  if (hb) vt_tensor_release(hb);
  if (hy) vt_tensor_release(hy);
  return s;
}

static vt_status cpu_conv2d(const vt_op_args* a) { return cpu_conv_common(a, 0); }
static vt_status cpu_conv_transpose2d(const vt_op_args* a) { return cpu_conv_common(a, 1); }

void vt_cpu_register_conv(vt_kernel* table) {
  table[VT_OP_conv2d] = cpu_conv2d;
  table[VT_OP_conv_transpose2d] = cpu_conv_transpose2d;
}
