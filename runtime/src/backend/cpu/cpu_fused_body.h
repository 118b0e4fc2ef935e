/* cpu_fused_body.h — the fused kernels' bodies for one compute type, included by cpu_fused.c
 * once per type with these macros defined:
 *   R         the real type (float or double)
 *   SFX(n)    n with the type's suffix (n##_f32)
 *   GEMM      vt_cpu_sgemm or vt_cpu_dgemm (cpu_gemm.h)
 *   EXP, LOG  expf/exp, logf/log
 *   VEXP      y (n) = exp(x (n)) over an array (vt_vexpf for f32, a loop of exp for f64)
 * Dimension letters as fused.h: M rows, In/Out features, C classes, T queries, S keys, D the
 * query/key width, Dv the value width. Every tensor here is contiguous (the front-end's promise).
 * Reductions over a row run in a fixed order in double, so results do not depend on threads.
 */

/* ---------------------------------------------------------------------------------------- */
/* linear: y = x wᵀ + b, one GEMM with beta = 1 over y pre-filled with b                     */
/* ---------------------------------------------------------------------------------------- */
static vt_status SFX(linear)(const vt_op_args* a) {
  const R* x = (const R*)a->in[0]->ptr;                   /* x (M, In)   */
  const R* w = (const R*)a->in[1]->ptr;                   /* w (Out, In) */
  const R* b = a->in[2] ? (const R*)a->in[2]->ptr : NULL; /* b (Out)     */
  R* y = (R*)a->out[0]->ptr;                              /* y (M, Out)  */
  int64_t M = a->in[0]->sizes[0], In = a->in[0]->sizes[1], Out = a->in[1]->sizes[0];
  if (b) {
    for (int64_t i = 0; i < M; i++) memcpy(y + i * Out, b, sizeof(R) * (size_t)Out);
  }
  GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)Out, (int)In, 1, x, (int)In, w,
       (int)In, b ? 1 : 0, y, (int)Out);
  return VT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* cross-entropy                                                                            */
/* ---------------------------------------------------------------------------------------- */
typedef struct {
  const R* x;        /* logits (M, C)              */
  const char* y;     /* target (M), i64 or i32     */
  int ydt;
  const R* w;        /* weight (C) or NULL         */
  int64_t M, C, ignore;
  double eps, wsum;  /* label smoothing; sum of w  */
  R* lse;            /* (M)                        */
  double* l;         /* per-row loss (M)           */
  double* wy;        /* per-row weight[y] (M)      */
  R* dx;             /* backward: dlogits (M, C)   */
  const R* g;        /* backward: (M) or (1)       */
  int per_row_g;
  double gscale;     /* backward: 1 or 1 / divisor */
} SFX(ce_ctx);

VT_CPU_CLONES static void SFX(ce_fwd_rows)(int64_t i0, int64_t i1, void* p) {
  SFX(ce_ctx)* c = p;
  int64_t C = c->C;
  for (int64_t i = i0; i < i1; i++) {
    const R* xi = c->x + i * C; /* (C) */
    int64_t t = ce_target(c->y, c->ydt, i);
    double mx = -INFINITY;
    for (int64_t j = 0; j < C; j++)
      if (xi[j] > mx) mx = xi[j];
    double s = 0;
    for (int64_t j = 0; j < C; j++) s += exp((double)xi[j] - mx);
    double lse = mx + log(s);
    c->lse[i] = (R)lse;
    if (t == c->ignore) {
      c->l[i] = 0;
      c->wy[i] = 0;
      continue;
    }
    double wt = c->w ? (double)c->w[t - 1] : 1.0;
    double nll = wt * (lse - (double)xi[t - 1]);
    double l = nll;
    if (c->eps > 0) {
      double sm = 0; /* -sum_c w_c logp_c */
      if (c->w)
        for (int64_t j = 0; j < C; j++) sm += (double)c->w[j] * (lse - (double)xi[j]);
      else
        for (int64_t j = 0; j < C; j++) sm += lse - (double)xi[j];
      l = (1 - c->eps) * nll + c->eps / (double)C * sm;
    }
    c->l[i] = l;
    c->wy[i] = wt;
  }
}

VT_CPU_CLONES static void SFX(ce_bwd_rows)(int64_t i0, int64_t i1, void* p) {
  SFX(ce_ctx)* c = p;
  int64_t C = c->C;
  for (int64_t i = i0; i < i1; i++) {
    const R* xi = c->x + i * C; /* (C) */
    R* di = c->dx + i * C;      /* (C) */
    int64_t t = ce_target(c->y, c->ydt, i);
    if (t == c->ignore) {
      for (int64_t j = 0; j < C; j++) di[j] = 0;
      continue;
    }
    double sc = (double)(c->per_row_g ? c->g[i] : c->g[0]) * c->gscale;
    double wt = c->w ? (double)c->w[t - 1] : 1.0;
    double ke = c->eps / (double)C;
    double qsum = (1 - c->eps) * wt + ke * c->wsum; /* sum_c q_c */
    double lse = (double)c->lse[i];
    for (int64_t j = 0; j < C; j++) {
      double q = ke * (c->w ? (double)c->w[j] : 1.0);
      di[j] = (R)((exp((double)xi[j] - lse) * qsum - q) * sc);
    }
    di[t - 1] = (R)((double)di[t - 1] - (1 - c->eps) * wt * sc);
  }
}

/* in[0] logits (M, C), in[1] target (M), in[2] weight (C) | NULL; i[0] = ignore_index,
   i[1] = reduction, f[0] = label smoothing. Forward: out[0] loss (M) or (), out[1] lse (M).
   Backward (i[2] = 1): in[3] lse (M), ptr = g (M) or (1); out[0] dlogits (M, C). */
static vt_status SFX(cross_entropy)(const vt_op_args* a) {
  int bwd = a->op == VT_OP_cross_entropy_backward;
  SFX(ce_ctx) c = {.x = (const R*)a->in[0]->ptr, .y = (const char*)a->in[1]->ptr,
                   .ydt = a->in[1]->dt, .w = a->in[2] ? (const R*)a->in[2]->ptr : NULL,
                   .M = a->in[0]->sizes[0], .C = a->in[0]->sizes[1], .ignore = a->i[0],
                   .eps = a->f[0]};
  int red = (int)a->i[1];
  const char* name = bwd ? "cross_entropy_backward" : "cross_entropy";
  VT_TRY(ce_check_targets(name, c.y, c.ydt, c.M, c.C, c.ignore));
  c.wsum = (double)c.C;
  if (c.w) {
    c.wsum = 0;
    for (int64_t j = 0; j < c.C; j++) c.wsum += (double)c.w[j];
  }
  int64_t grain = 32768 / (c.C > 0 ? c.C : 1) + 1;
  if (!bwd) {
    c.lse = (R*)a->out[1]->ptr;
    double* buf = malloc(sizeof(double) * (size_t)(2 * c.M + 1));
    if (!buf) return vt_set_error(VT_ERR_OOM, "cross_entropy: out of host memory");
    c.l = buf;
    c.wy = buf + c.M;
    vt_cpu_parallel_for(c.M, grain, SFX(ce_fwd_rows), &c);
    R* out = (R*)a->out[0]->ptr; /* (M) or () */
    if (red == VT_REDUCTION_NONE) {
      for (int64_t i = 0; i < c.M; i++) out[i] = (R)c.l[i];
    } else {
      double sl = 0, sw = 0;
      for (int64_t i = 0; i < c.M; i++) {
        sl += c.l[i];
        sw += c.wy[i];
      }
      out[0] = (R)(red == VT_REDUCTION_MEAN ? sl / sw : sl);
    }
    free(buf);
    return VT_OK;
  }
  c.lse = (R*)a->in[3]->ptr;
  c.g = (const R*)((const vt_tensor*)a->ptr)->ptr;
  c.per_row_g = red == VT_REDUCTION_NONE;
  c.dx = (R*)a->out[0]->ptr;
  c.gscale = 1;
  if (red == VT_REDUCTION_MEAN) {
    double sw = 0;
    for (int64_t i = 0; i < c.M; i++) {
      int64_t t = ce_target(c.y, c.ydt, i);
      if (t != c.ignore) sw += c.w ? (double)c.w[t - 1] : 1.0;
    }
    c.gscale = 1 / sw;
  }
  vt_cpu_parallel_for(c.M, grain, SFX(ce_bwd_rows), &c);
  return VT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* scaled dot-product attention                                                             */
/* ---------------------------------------------------------------------------------------- */
/* Head h (of BH = batches x H heads) of a tensor with layout l starts at attn_off(l, h, H);
   its rows (T or S of them) are l->ld apart and contiguous inside (D or Dv wide). */
typedef struct {
  const R *q, *k, *v, *o, *g, *lse_in; /* q, k, v, o/g as their layouts say; lse_in (BH, T) */
  R *out, *lse, *dq, *dk, *dv;         /* out like o, lse (BH, T), dq/dk/dv like q/k/v */
  attn_lay lq, lk, lv, lo;             /* q and dq, k and dk, v and dv, o, g and out */
  int64_t BH, H, T, S, D, Dv, nblk;
  int causal;
  int small; /* products through gemm_small (ATTN_SMALL_S, ATTN_SMALL_D) instead of BLAS */
  double scale;
  volatile int oom;
} SFX(attn_ctx);

/* Attention's per-head products are small (a block of 32 query rows, 64 keys, head width 32 in
   the gpt bench: ~65 k multiply-adds): through BLAS each call pays packing both operands and a
   zeroing pass, which cost more than the arithmetic. Up to ATTN_SMALL_S keys and ATTN_SMALL_D
   head width they run here instead, unpacked: C (M, N) = beta C + alpha A B with A read through
   strides (rs, cs) (Aᵀ is A with the strides swapped) and B row-major, N contiguous; a register
   tile of 4 rows x SG_W columns (two AVX2 registers per row in the AVX2 clone of the caller).
   beta is 0 (C is overwritten, never read) or 1. Each output sums its K terms in order k = 0,
   1, .., so the result does not depend on threads. */
#define SG_W (64 / (int)sizeof(R))
static inline __attribute__((always_inline)) void SFX(gemm_small)(int64_t M, int64_t N, int64_t K,
                                                                   R alpha, const R* A,
                                                                   int64_t rs, int64_t cs,
                                                                   const R* B, int64_t ldb,
                                                                   int beta1, R* C, int64_t ldc) {
  int64_t i0 = 0;
  for (; i0 + 4 <= M; i0 += 4) {
    const R *a0 = A + i0 * rs, *a1 = a0 + rs, *a2 = a1 + rs, *a3 = a2 + rs;
    int64_t j0 = 0;
    for (; j0 + SG_W <= N; j0 += SG_W) {
      R t0[SG_W] = {0}, t1[SG_W] = {0}, t2[SG_W] = {0}, t3[SG_W] = {0};
      for (int64_t k = 0; k < K; k++) {
        const R* b = B + k * ldb + j0; /* (SG_W) */
        R x0 = a0[k * cs], x1 = a1[k * cs], x2 = a2[k * cs], x3 = a3[k * cs];
        for (int j = 0; j < SG_W; j++) {
          t0[j] += x0 * b[j];
          t1[j] += x1 * b[j];
          t2[j] += x2 * b[j];
          t3[j] += x3 * b[j];
        }
      }
      R* c0 = C + i0 * ldc + j0;
      R* tr[4] = {t0, t1, t2, t3};
      for (int r = 0; r < 4; r++)
        for (int j = 0; j < SG_W; j++) c0[r * ldc + j] = (beta1 ? c0[r * ldc + j] : 0) + alpha * tr[r][j];
    }
    for (int64_t r = 0; r < 4 && j0 < N; r++) /* column tail */
      for (int64_t j = j0; j < N; j++) {
        R t = 0;
        for (int64_t k = 0; k < K; k++) t += A[(i0 + r) * rs + k * cs] * B[k * ldb + j];
        C[(i0 + r) * ldc + j] = (beta1 ? C[(i0 + r) * ldc + j] : 0) + alpha * t;
      }
  }
  for (; i0 < M; i0++) { /* row tail */
    R t[SG_W];
    for (int64_t j0 = 0; j0 < N; j0 += SG_W) {
      int64_t w = N - j0 < SG_W ? N - j0 : SG_W;
      for (int j = 0; j < SG_W; j++) t[j] = 0;
      for (int64_t k = 0; k < K; k++) {
        R x = A[i0 * rs + k * cs];
        const R* b = B + k * ldb + j0;
        for (int64_t j = 0; j < w; j++) t[j] += x * b[j];
      }
      for (int64_t j = 0; j < w; j++) C[i0 * ldc + j0 + j] = (beta1 ? C[i0 * ldc + j0 + j] : 0) + alpha * t[j];
    }
  }
}
#undef SG_W

/* rows (n, w) of src, ld apart -> dst (w, n) contiguous (written in order: strided reads are
   cheaper than strided writes) */
static inline void SFX(attn_transpose)(const R* src, int64_t ld, int64_t n, int64_t w, R* dst) {
  for (int64_t e = 0; e < w; e++)
    for (int64_t j = 0; j < n; j++) dst[e * n + j] = src[j * ld + e];
}

/* Row reductions of the softmax in lanes the compiler turns into vector registers (a fixed
   order, so still independent of threads): the maximum (exact in any order; NaN is skipped as
   by `if (v > m) m = v`), and sums / dot products in four f64 lanes. */
static inline R SFX(attn_rowmax)(const R* v, int64_t n) {
  R m[8];
  for (int l = 0; l < 8; l++) m[l] = -INFINITY;
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; l++) m[l] = v[j + l] > m[l] ? v[j + l] : m[l];
  for (; j < n; j++) m[0] = v[j] > m[0] ? v[j] : m[0];
  R r = m[0];
  for (int l = 1; l < 8; l++) r = m[l] > r ? m[l] : r;
  return r;
}
static inline double SFX(attn_dot)(const R* u, const R* v, int64_t n) { /* v NULL: sum of u */
  double a[4] = {0, 0, 0, 0};
  int64_t j = 0;
  if (v) {
    for (; j + 4 <= n; j += 4)
      for (int l = 0; l < 4; l++) a[l] += (double)u[j + l] * (double)v[j + l];
    for (; j < n; j++) a[0] += (double)u[j] * (double)v[j];
  } else {
    for (; j + 4 <= n; j += 4)
      for (int l = 0; l < 4; l++) a[l] += (double)u[j + l];
    for (; j < n; j++) a[0] += (double)u[j];
  }
  return (a[0] + a[1]) + (a[2] + a[3]);
}

/* keys row i sees: j < n(i) */
static inline int64_t SFX(attn_keys)(const SFX(attn_ctx)* c, int64_t i) {
  if (!c->causal) return c->S;
  return i + 1 < c->S ? i + 1 : c->S;
}

/* rows [i0, i1) of head h: scores (Tb, Se) = q kᵀ · scale, Se = keys the block can see; kT
   (D, >= Se) with rows ldt apart is kᵀ for the small path (NULL: BLAS) */
static inline __attribute__((always_inline)) void SFX(attn_scores)(const SFX(attn_ctx)* c, int64_t h,
                                                                    int64_t i0, int64_t i1, int64_t Se,
                                                                    const R* kT, int64_t ldt, R* sc) {
  const R* q = c->q + attn_off(&c->lq, h, c->H) + i0 * c->lq.ld; /* (Tb, D) rows ld apart */
  const R* k = c->k + attn_off(&c->lk, h, c->H);                 /* (S, D)  rows ld apart */
  if (kT) {
    SFX(gemm_small)(i1 - i0, Se, c->D, (R)c->scale, q, c->lq.ld, 1, kT, ldt, 0, sc, Se);
    return;
  }
  GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(i1 - i0), (int)Se, (int)c->D, (R)c->scale,
       q, (int)c->lq.ld, k, (int)c->lk.ld, 0, sc, (int)Se);
}

/* Blocks of ATTN_BLOCK query rows with causal masking: the first rows see fewer keys, so
   blocks are ATTN_BLOCK / 2 rows each when causal and T > ATTN_BLOCK / 2 (less wasted work on
   the masked half); nblk counts them. */
static inline int64_t SFX(attn_rows)(const SFX(attn_ctx)* c) {
  return c->causal ? ATTN_BLOCK / 2 : ATTN_BLOCK;
}

VT_CPU_CLONES static void SFX(attn_fwd_blocks)(int64_t b0, int64_t b1, void* p) {
  SFX(attn_ctx)* c = p;
  int64_t rb = SFX(attn_rows)(c);
  /* sc (Tb, Se); kT (D, Se) for the small path */
  R* sc = malloc(sizeof(R) * (size_t)(rb * c->S + (c->small ? c->D * c->S : 0)));
  if (!sc) {
    c->oom = 1;
    return;
  }
  R* kT = c->small ? sc + rb * c->S : NULL;
  int64_t kT_head = -1; /* the head kT holds: a thread's blocks of one head share it */
  for (int64_t bi = b0; bi < b1; bi++) {
    int64_t h = bi / c->nblk, i0 = (bi % c->nblk) * rb;
    int64_t i1 = i0 + rb < c->T ? i0 + rb : c->T;
    int64_t Se = c->causal ? (i1 < c->S ? i1 : c->S) : c->S;
    if (kT && kT_head != h) {
      SFX(attn_transpose)(c->k + attn_off(&c->lk, h, c->H), c->lk.ld, c->S, c->D, kT);
      kT_head = h;
    }
    SFX(attn_scores)(c, h, i0, i1, Se, kT, c->S, sc);
    for (int64_t i = i0; i < i1; i++) {
      R* row = sc + (i - i0) * Se; /* (Se) */
      int64_t n = SFX(attn_keys)(c, i);
      double mx = SFX(attn_rowmax)(row, n);
      for (int64_t j = 0; j < n; j++) row[j] -= (R)mx;
      VEXP(row, row, n);
      double s = SFX(attn_dot)(row, NULL, n);
      R inv = (R)(1 / s);
      for (int64_t j = 0; j < n; j++) row[j] *= inv;
      for (int64_t j = n; j < Se; j++) row[j] = 0;
      c->lse[h * c->T + i] = (R)(mx + log(s));
    }
    /* o (Tb, Dv) = P (Tb, Se) · v (Se, Dv) */
    const R* v = c->v + attn_off(&c->lv, h, c->H);                /* (Se, Dv) rows ld apart */
    R* o = c->out + attn_off(&c->lo, h, c->H) + i0 * c->lo.ld;   /* (Tb, Dv) rows ld apart */
    if (kT)
      SFX(gemm_small)(i1 - i0, c->Dv, Se, 1, sc, Se, 1, v, c->lv.ld, 0, o, c->lo.ld);
    else
      GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(i1 - i0), (int)c->Dv, (int)Se, 1, sc,
           (int)Se, v, (int)c->lv.ld, 0, o, (int)c->lo.ld);
  }
  free(sc);
}

VT_CPU_CLONES static void SFX(attn_bwd_heads)(int64_t h0, int64_t h1, void* p) {
  SFX(attn_ctx)* c = p;
  int64_t S = c->S, D = c->D, Dv = c->Dv, rb = SFX(attn_rows)(c);
  int64_t ldq = c->lq.ld, ldk = c->lk.ld, ldv = c->lv.ld, ldo = c->lo.ld;
  /* P, dP (Tb, Se); Di (Tb); for the small path kT (D, S), vT (Dv, S) */
  R* P = malloc(sizeof(R) * (size_t)(2 * rb * S + rb + (c->small ? (D + Dv) * S : 0)));
  if (!P) {
    c->oom = 1;
    return;
  }
  R* dP = P + rb * S;
  R* Di = dP + rb * S;
  R* kT = c->small ? Di + rb : NULL;
  R* vT = c->small ? kT + D * S : NULL;
  for (int64_t h = h0; h < h1; h++) {
    const R* k = c->k + attn_off(&c->lk, h, c->H); /* (S, D)  */
    const R* v = c->v + attn_off(&c->lv, h, c->H); /* (S, Dv) */
    R* dk = c->dk + attn_off(&c->lk, h, c->H);     /* (S, D)  */
    R* dv = c->dv + attn_off(&c->lv, h, c->H);     /* (S, Dv) */
    for (int64_t j = 0; j < S; j++) {
      memset(dk + j * ldk, 0, sizeof(R) * (size_t)D);
      memset(dv + j * ldv, 0, sizeof(R) * (size_t)Dv);
    }
    if (kT) {
      SFX(attn_transpose)(k, ldk, S, D, kT);
      SFX(attn_transpose)(v, ldv, S, Dv, vT);
    }
    for (int64_t i0 = 0; i0 < c->T; i0 += rb) {
      int64_t i1 = i0 + rb < c->T ? i0 + rb : c->T, Tb = i1 - i0;
      int64_t Se = c->causal ? (i1 < S ? i1 : S) : S;
      const R* q = c->q + attn_off(&c->lq, h, c->H) + i0 * ldq; /* (Tb, D)  */
      const R* g = c->g + attn_off(&c->lo, h, c->H) + i0 * ldo; /* (Tb, Dv) */
      const R* o = c->o + attn_off(&c->lo, h, c->H) + i0 * ldo; /* (Tb, Dv) */
      SFX(attn_scores)(c, h, i0, i1, Se, kT, S, P);
      for (int64_t i = i0; i < i1; i++) {
        R* row = P + (i - i0) * Se;
        int64_t n = SFX(attn_keys)(c, i);
        R l = c->lse_in[h * c->T + i];
        for (int64_t j = 0; j < n; j++) row[j] -= l;
        VEXP(row, row, n);
        for (int64_t j = n; j < Se; j++) row[j] = 0;
        Di[i - i0] = (R)SFX(attn_dot)(g + (i - i0) * ldo, o + (i - i0) * ldo, Dv);
      }
      R* dq = c->dq + attn_off(&c->lq, h, c->H) + i0 * ldq; /* (Tb, D) rows ldq apart */
      /* dv (Se, Dv) += Pᵀ (Se, Tb) · g (Tb, Dv);  dP (Tb, Se) = g (Tb, Dv) · vᵀ (Dv, Se) */
      if (kT) {
        SFX(gemm_small)(Se, Dv, Tb, 1, P, 1, Se, g, ldo, 1, dv, ldv);
        SFX(gemm_small)(Tb, Se, Dv, 1, g, ldo, 1, vT, S, 0, dP, Se);
      } else {
        GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)Se, (int)Dv, (int)Tb, 1, P, (int)Se, g,
             (int)ldo, 1, dv, (int)ldv);
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)Tb, (int)Se, (int)Dv, 1, g, (int)ldo, v,
             (int)ldv, 0, dP, (int)Se);
      }
      /* dS = P ∘ (dP - Di) */
      for (int64_t r = 0; r < Tb; r++)
        for (int64_t j = 0; j < Se; j++) dP[r * Se + j] = P[r * Se + j] * (dP[r * Se + j] - Di[r]);
      /* dq (Tb, D) = dS (Tb, Se) · k (Se, D) · scale;
         dk (Se, D) += dSᵀ (Se, Tb) · q (Tb, D) · scale */
      if (kT) {
        SFX(gemm_small)(Tb, D, Se, (R)c->scale, dP, Se, 1, k, ldk, 0, dq, ldq);
        SFX(gemm_small)(Se, D, Tb, (R)c->scale, dP, 1, Se, q, ldq, 1, dk, ldk);
      } else {
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)Tb, (int)D, (int)Se, (R)c->scale, dP,
             (int)Se, k, (int)ldk, 0, dq, (int)ldq);
        GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)Se, (int)D, (int)Tb, (R)c->scale, dP,
             (int)Se, q, (int)ldq, 1, dk, (int)ldk);
      }
    }
  }
  free(P);
}

/* sdpa / sdpa_backward (contiguous (BH, T|S, D|Dv) tensors) and sdpa_qkv / sdpa_qkv_backward
   (heads read from and written to the packed (B, T, 3E) and (B, T, E) layouts in place):
   sdpa      in[0..2] q (BH, T, D), k (BH, S, D), v (BH, S, Dv); out[0] o (BH, T, Dv), out[1]
             lse (BH, T). Backward: in[0..3] q, k, v, g (BH, T, Dv); out[0] dq, out[1] dk;
             ptr = vt_tensor*[3] {o, lse, dv}.
   sdpa_qkv  in[0] qkv (B, T, 3E); out[0] y (B, T, E), out[1] lse (B·H, T); i[1] = H.
             Backward: in[0] qkv, in[1] g (B, T, E); out[0] dqkv (B, T, 3E); ptr = vt_tensor*[2]
             {y, lse}.
   i[0] = causal, f[0] = scale. T, S, D, Dv >= 1. */
static vt_status SFX(sdpa)(const vt_op_args* a) {
  SFX(attn_ctx) c = {.causal = (int)a->i[0], .scale = a->f[0]};
  int bwd = a->op == VT_OP_sdpa_backward || a->op == VT_OP_sdpa_qkv_backward;
  if (a->op == VT_OP_sdpa || a->op == VT_OP_sdpa_backward) {
    c.q = (const R*)a->in[0]->ptr;
    c.k = (const R*)a->in[1]->ptr;
    c.v = (const R*)a->in[2]->ptr;
    c.BH = a->in[0]->sizes[0];
    c.H = 1;
    c.T = a->in[0]->sizes[1];
    c.S = a->in[1]->sizes[1];
    c.D = a->in[0]->sizes[2];
    c.Dv = a->in[2]->sizes[2];
    c.lq = (attn_lay){c.T * c.D, 0, c.D};
    c.lk = (attn_lay){c.S * c.D, 0, c.D};
    c.lv = (attn_lay){c.S * c.Dv, 0, c.Dv};
    c.lo = (attn_lay){c.T * c.Dv, 0, c.Dv};
    if (!bwd) {
      c.out = (R*)a->out[0]->ptr;
      c.lse = (R*)a->out[1]->ptr;
    } else {
      vt_tensor* const* x = (vt_tensor* const*)a->ptr;
      c.g = (const R*)a->in[3]->ptr;
      c.o = (const R*)x[0]->ptr;
      c.lse_in = (const R*)x[1]->ptr;
      c.dv = (R*)x[2]->ptr;
      c.dq = (R*)a->out[0]->ptr;
      c.dk = (R*)a->out[1]->ptr;
    }
  } else {
    const R* qkv = (const R*)a->in[0]->ptr; /* (B, T, 3E) */
    int64_t B = a->in[0]->sizes[0], E = a->in[0]->sizes[2] / 3;
    c.H = a->i[1];
    c.BH = B * c.H;
    c.T = c.S = a->in[0]->sizes[1];
    c.D = c.Dv = E / c.H;
    c.q = qkv;
    c.k = qkv + E;
    c.v = qkv + 2 * E;
    c.lq = c.lk = c.lv = (attn_lay){c.T * 3 * E, c.D, 3 * E};
    c.lo = (attn_lay){c.T * E, c.D, E};
    if (!bwd) {
      c.out = (R*)a->out[0]->ptr;
      c.lse = (R*)a->out[1]->ptr;
    } else {
      vt_tensor* const* x = (vt_tensor* const*)a->ptr;
      c.g = (const R*)a->in[1]->ptr;
      c.o = (const R*)x[0]->ptr;
      c.lse_in = (const R*)x[1]->ptr;
      R* d = (R*)a->out[0]->ptr; /* dqkv (B, T, 3E) */
      c.dq = d;
      c.dk = d + E;
      c.dv = d + 2 * E;
    }
  }
  int64_t rb = SFX(attn_rows)(&c);
  c.nblk = (c.T + rb - 1) / rb;
  c.small = c.S <= ATTN_SMALL_S && c.D <= ATTN_SMALL_D && c.Dv <= ATTN_SMALL_D;
  if (!bwd) vt_cpu_parallel_for(c.BH * c.nblk, 1, SFX(attn_fwd_blocks), &c);
  else vt_cpu_parallel_for(c.BH, 1, SFX(attn_bwd_heads), &c);
  if (c.oom) return vt_set_error(VT_ERR_OOM, "sdpa: out of host memory for the score buffer");
  return VT_OK;
}
