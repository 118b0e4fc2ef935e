/* cpu_linalg.c — CPU kernel for MATMUL: OpenBLAS for f32/f64 (and f16/bf16 through f32), a
 * plain loop for integers.
 *
 * Dimension letters: B.. = batch dims, M = rows of a and y, K = contracted, N = columns of b and y.
 * Inputs (see ops/linalg.c): a (B.., M, K), b (B.., K, N), y (B.., M, N), same batch dims, broadcast
 * batch dims with stride 0, every size >= 1.
 *
 * Plan, per call:
 *   1. Layout. A matrix goes to BLAS as it is when it is row-major (unit column stride, row stride
 *      >= columns) or column-major (a transposed view: unit row stride, column stride >= rows),
 *      with that stride as the leading dimension. Otherwise — or when its dtype is not the compute
 *      dtype (f16/bf16, mixed dtypes) — it is copied once into a contiguous compute-dtype tensor;
 *      batch dims with stride 0 are not materialised by that copy. y is written directly when it
 *      is in the compute dtype with a BLAS layout, else into a contiguous temporary copied back
 *      (f16/bf16 round once there).
 *   2. Folding. With b shared by every batch (stride-0 batch dims) and a, y row-major across
 *      their batch and row dims, the batch folds into M: one GEMM of (B..·M, K) · (K, N).
 *   3. Calls. M = N = 1 is a dot, N = 1 or M = 1 a GEMV, else a GEMM. When y is column-major the
 *      call is made in BLAS's column-major order, so transposed outputs need no copy either.
 *   4. Threads. Small matrices in a batch run in parallel across the batch (vt_cpu_parallel_for);
 *      inside a parallel region OpenBLAS (OpenMP build) runs single-threaded: it checks
 *      omp_in_parallel() (and libgomp's default max-active-levels of 1 would serialise a nested
 *      region anyway). Large matrices run one after another, each GEMM using the whole pool.
 * Accumulation: as OpenBLAS (f32 accumulates in f32, f64 in f64), fixed summation order per output
 * element independent of the thread count; integers accumulate in 64-bit with wrap-around.
 */
#include "backend/cpu/cpu_gemm.h"
#include <limits.h>
#include <omp.h>
#include <string.h>
#include "backend/cpu/cpu.h"

/* A batch runs in parallel across its matrices (each GEMM on one thread) when a matrix has at
   most MM_SMALL multiply-adds, or at most MM_MEDIUM and there are at least 4 matrices per thread
   (so the split is balanced); larger matrices run one threaded GEMM at a time. Measured on 2
   cores: a single 128^3 SGEMM gains little from a second thread, a batch of them nearly 2x. */
#define MM_SMALL (128 * 128 * 128)
#define MM_MEDIUM (512 * 512 * 512)
/* Multiply-adds a thread should get at least before the work is split. */
#define MM_GRAIN (64 * 64 * 64)

/* ---------------------------------------------------------------------------------------- */
/* layouts                                                                                  */
/* ---------------------------------------------------------------------------------------- */
typedef struct {
  int ok;        /* 1 if BLAS can read/write the matrix in place                          */
  int rowmajor;  /* 1: element (i, j) at i*ld + j; 0: at i + j*ld                          */
  int64_t ld;    /* leading dimension, in elements                                        */
} mm_layout;

/* Layout of an R x Cc matrix with element strides (sr, sc). Size-1 dims leave their stride
   free. */
static mm_layout mm_layout_of(int64_t R, int64_t Cc, int64_t sr, int64_t sc) {
  mm_layout l = {0, 1, 1};
  int64_t rmin = Cc > 1 ? Cc : 1, cmin = R > 1 ? R : 1;
  if ((Cc == 1 || sc == 1) && (R == 1 || sr >= rmin)) {
    l.ok = 1;
    l.rowmajor = 1;
    l.ld = R == 1 ? rmin : sr;
  } else if ((R == 1 || sr == 1) && (Cc == 1 || sc >= cmin)) {
    l.ok = 1;
    l.rowmajor = 0;
    l.ld = Cc == 1 ? cmin : sc;
  }
  if (l.ld > INT_MAX) l.ok = 0;
  return l;
}

static mm_layout mm_layout_t(const vt_tensor* t) {
  int n = t->ndim;
  return mm_layout_of(t->sizes[n - 2], t->sizes[n - 1], t->strides[n - 2], t->strides[n - 1]);
}

/* A contiguous copy of t in dtype ct (batch dims < nbd with stride 0 stay broadcast): *hold owns
   it, *view is t's shape over it. */
static vt_status mm_compact(const vt_tensor* t, int nbd, int ct, vt_tensor** hold, vt_tensor* view) {
  vt_tensor cv = *t;
  for (int d = 0; d < nbd; d++)
    if (cv.strides[d] == 0) cv.sizes[d] = 1;
  vt_tensor_update(&cv);
  VT_TRY(vt_tensor_empty(cv.ndim, cv.sizes, (vt_dtype)ct, t->dev, hold));
  vt_status s = vt_tensor_copy_(*hold, &cv);
  if (s != VT_OK) {
    vt_tensor_release(*hold);
    *hold = NULL;
    return s;
  }
  vt_tensor_expand_view(*hold, t->ndim, t->sizes, view);
  return VT_OK;
}

/* If t's batch dims and its row dim (dims 0..nbd) collapse into one dim, its stride in *rs. */
static int mm_rows_collapse(const vt_tensor* t, int nbd, int64_t* rs) {
  int have = 0;
  int64_t expect = 0;
  for (int d = nbd; d >= 0; d--) {
    if (t->sizes[d] == 1) continue;
    if (!have) {
      *rs = t->strides[d];
      have = 1;
    } else if (t->strides[d] != expect) {
      return 0;
    }
    expect = t->strides[d] * t->sizes[d];
  }
  return have;
}

/* ---------------------------------------------------------------------------------------- */
/* the plan and one product                                                                 */
/* ---------------------------------------------------------------------------------------- */
typedef struct {
  int ct;                        /* VT_DTYPE_F32 or F64 (BLAS), I64 (loop)                */
  int nbd;
  int64_t bsize[VT_MAX_DIMS];    /* batch sizes                                           */
  int64_t nb;                    /* number of products                                    */
  int64_t M, N, K;
  const char *a, *b;             /* batch 0                                               */
  char* c;
  int64_t as[VT_MAX_DIMS], bs[VT_MAX_DIMS], cs[VT_MAX_DIMS]; /* batch strides, bytes     */
  mm_layout la, lb, lc;
  int64_t ea[2], eb[2], ec[2];   /* matrix strides in elements (integer loop)              */
} mm_plan;

static void mm_batch_ptrs(const mm_plan* p, int64_t idx, const char** A, const char** B, char** Cp) {
  int64_t oa = 0, ob = 0, oc = 0;
  for (int d = p->nbd - 1; d >= 0 && idx > 0; d--) {
    int64_t i = idx % p->bsize[d];
    idx /= p->bsize[d];
    oa += i * p->as[d];
    ob += i * p->bs[d];
    oc += i * p->cs[d];
  }
  *A = p->a + oa;
  *B = p->b + ob;
  *Cp = p->c + oc;
}

/* y = a b for one matrix triple, through BLAS. */
static void mm_blas_one(const mm_plan* p, const char* A, const char* B, char* Cp) {
  int M = (int)p->M, N = (int)p->N, K = (int)p->K;
  const mm_layout *la = &p->la, *lb = &p->lb, *lc = &p->lc;
  int f32 = p->ct == VT_DTYPE_F32;
  if (M == 1 && N == 1) {
    int ix = la->rowmajor ? 1 : (int)la->ld, iy = lb->rowmajor ? (int)lb->ld : 1;
    if (f32)
      *(float*)Cp = cblas_sdot(K, (const float*)A, ix, (const float*)B, iy);
    else
      *(double*)Cp = cblas_ddot(K, (const double*)A, ix, (const double*)B, iy);
    return;
  }
  if (N == 1) {
    /* y (M) = a (M, K) x (K): x is b's column, y is y's column */
    int ix = lb->rowmajor ? (int)lb->ld : 1, iy = lc->rowmajor ? (int)lc->ld : 1;
    enum CBLAS_ORDER o = la->rowmajor ? CblasRowMajor : CblasColMajor;
    if (f32) {
      for (int i = 0; i < M; i++) ((float*)Cp)[(int64_t)i * iy] = 0;
      cblas_sgemv(o, CblasNoTrans, M, K, 1.0f, (const float*)A, (int)la->ld, (const float*)B, ix,
                  0.0f, (float*)Cp, iy);
    } else {
      for (int i = 0; i < M; i++) ((double*)Cp)[(int64_t)i * iy] = 0;
      cblas_dgemv(o, CblasNoTrans, M, K, 1.0, (const double*)A, (int)la->ld, (const double*)B, ix,
                  0.0, (double*)Cp, iy);
    }
    return;
  }
  if (M == 1) {
    /* y (N) = b (K, N)^T x (K): x is a's row, y is y's row */
    int ix = la->rowmajor ? 1 : (int)la->ld, iy = lc->rowmajor ? 1 : (int)lc->ld;
    enum CBLAS_ORDER o = lb->rowmajor ? CblasRowMajor : CblasColMajor;
    if (f32) {
      for (int j = 0; j < N; j++) ((float*)Cp)[(int64_t)j * iy] = 0;
      cblas_sgemv(o, CblasTrans, K, N, 1.0f, (const float*)B, (int)lb->ld, (const float*)A, ix,
                  0.0f, (float*)Cp, iy);
    } else {
      for (int j = 0; j < N; j++) ((double*)Cp)[(int64_t)j * iy] = 0;
      cblas_dgemv(o, CblasTrans, K, N, 1.0, (const double*)B, (int)lb->ld, (const double*)A, ix,
                  0.0, (double*)Cp, iy);
    }
    return;
  }
  /* GEMM in the order of y's layout; an operand in the other layout is passed transposed */
  enum CBLAS_ORDER o = lc->rowmajor ? CblasRowMajor : CblasColMajor;
  enum CBLAS_TRANSPOSE ta = la->rowmajor == lc->rowmajor ? CblasNoTrans : CblasTrans;
  enum CBLAS_TRANSPOSE tb = lb->rowmajor == lc->rowmajor ? CblasNoTrans : CblasTrans;
  if (f32)
    vt_cpu_sgemm(o, ta, tb, M, N, K, 1.0f, (const float*)A, (int)la->ld, (const float*)B, (int)lb->ld,
                0.0f, (float*)Cp, (int)lc->ld);
  else
    vt_cpu_dgemm(o, ta, tb, M, N, K, 1.0, (const double*)A, (int)la->ld, (const double*)B, (int)lb->ld,
                0.0, (double*)Cp, (int)lc->ld);
}

static void mm_blas_range(int64_t begin, int64_t end, void* ctx) {
  const mm_plan* p = ctx;
  for (int64_t i = begin; i < end; i++) {
    const char *A, *B;
    char* Cp;
    mm_batch_ptrs(p, i, &A, &B, &Cp);
    mm_blas_one(p, A, B, Cp);
  }
}

/* Integer rows: r in [begin, end) indexes (batch, row); wrap-around 64-bit arithmetic. */
static void mm_int_range(int64_t begin, int64_t end, void* ctx) {
  const mm_plan* p = ctx;
  for (int64_t r = begin; r < end; r++) {
    const char *Ab, *Bb;
    char* Cb;
    mm_batch_ptrs(p, r / p->M, &Ab, &Bb, &Cb);
    int64_t i = r % p->M;
    const int64_t* A = (const int64_t*)Ab + i * p->ea[0];
    const int64_t* B = (const int64_t*)Bb;
    int64_t* Cr = (int64_t*)Cb + i * p->ec[0];
    for (int64_t j = 0; j < p->N; j++) Cr[j * p->ec[1]] = 0;
    for (int64_t k = 0; k < p->K; k++) {
      uint64_t av = (uint64_t)A[k * p->ea[1]];
      if (av == 0) continue;
      const int64_t* Bk = B + k * p->eb[0];
      for (int64_t j = 0; j < p->N; j++)
        Cr[j * p->ec[1]] = (int64_t)((uint64_t)Cr[j * p->ec[1]] + av * (uint64_t)Bk[j * p->eb[1]]);
    }
  }
}

static void mm_fill_plan(mm_plan* p, const vt_tensor* A, const vt_tensor* B, const vt_tensor* Y) {
  int nbd = Y->ndim - 2;
  p->nbd = nbd;
  p->nb = 1;
  int64_t esa = (int64_t)vt_dtype_size(A->dt), esb = (int64_t)vt_dtype_size(B->dt),
          esc = (int64_t)vt_dtype_size(Y->dt);
  for (int d = 0; d < nbd; d++) {
    p->bsize[d] = Y->sizes[d];
    p->nb *= Y->sizes[d];
    p->as[d] = A->strides[d] * esa;
    p->bs[d] = B->strides[d] * esb;
    p->cs[d] = Y->strides[d] * esc;
  }
  p->M = Y->sizes[nbd];
  p->N = Y->sizes[nbd + 1];
  p->K = A->sizes[nbd + 1];
  p->a = A->ptr;
  p->b = B->ptr;
  p->c = Y->ptr;
  p->la = mm_layout_t(A);
  p->lb = mm_layout_t(B);
  p->lc = mm_layout_t(Y);
  p->ea[0] = A->strides[nbd], p->ea[1] = A->strides[nbd + 1];
  p->eb[0] = B->strides[nbd], p->eb[1] = B->strides[nbd + 1];
  p->ec[0] = Y->strides[nbd], p->ec[1] = Y->strides[nbd + 1];
}

/* ---------------------------------------------------------------------------------------- */
/* the kernel                                                                               */
/* ---------------------------------------------------------------------------------------- */
static vt_status cpu_matmul(const vt_op_args* args) {
  const vt_tensor *a = args->in[0], *b = args->in[1];
  vt_tensor* y = args->out[0];
  int ct = (int)args->i[0];
  int nbd = y->ndim - 2;
  int blas = ct != VT_DTYPE_I64;
  int64_t M = y->sizes[nbd], N = y->sizes[nbd + 1], K = a->sizes[nbd + 1];
  if (blas && (M > INT_MAX || N > INT_MAX || K > INT_MAX))
    return vt_set_error(VT_ERR_SHAPE, "matmul: matrix dims %lld x %lld x %lld exceed BLAS's 32-bit "
                        "sizes (2^31-1)", (long long)M, (long long)K, (long long)N);

  /* 1. operands BLAS (or the integer loop) can use in place, else compact copies */
  vt_tensor *ha = NULL, *hb = NULL, *hy = NULL;
  vt_tensor av = *a, bv = *b, yv = *y;
  vt_status s = VT_OK;
  if (a->dt != ct || (blas && !mm_layout_t(a).ok)) s = mm_compact(a, nbd, ct, &ha, &av);
  if (s == VT_OK && (b->dt != ct || (blas && !mm_layout_t(b).ok))) s = mm_compact(b, nbd, ct, &hb, &bv);
  if (s == VT_OK && (y->dt != ct || (blas && !mm_layout_t(y).ok))) {
    s = vt_tensor_empty(y->ndim, y->sizes, (vt_dtype)ct, y->dev, &hy);
    if (s == VT_OK) yv = *hy;
  }
  if (s != VT_OK) goto done;

  mm_plan p = {.ct = ct};
  mm_fill_plan(&p, &av, &bv, &yv);

  if (!blas) {
    int64_t rows = p.nb * M, per_row = N * K;
    vt_cpu_parallel_for(rows, per_row >= MM_GRAIN ? 1 : MM_GRAIN / per_row, mm_int_range, &p);
  } else {
    /* 2. fold the batch into M when b is shared and a, y are row-major across batch and rows */
    if (p.nb > 1 && p.la.rowmajor && p.lc.rowmajor) {
      int shared = 1;
      for (int d = 0; d < nbd; d++)
        if (p.bs[d] != 0 && p.bsize[d] != 1) shared = 0;
      int64_t rsa, rsc;
      if (shared && mm_rows_collapse(&av, nbd, &rsa) && mm_rows_collapse(&yv, nbd, &rsc) &&
          p.nb * M <= INT_MAX) {
        int64_t Mf = p.nb * M;
        mm_layout la = mm_layout_of(Mf, K, rsa, av.strides[nbd + 1]);
        mm_layout lc = mm_layout_of(Mf, N, rsc, yv.strides[nbd + 1]);
        if (la.ok && la.rowmajor && lc.ok && lc.rowmajor) {
          p.M = M = Mf;
          p.la = la;
          p.lc = lc;
          p.nbd = 0;
          p.nb = 1;
        }
      }
    }
    /* 4. small matrices: parallel across the batch; large: one threaded call at a time */
    int64_t work = M * N * K, nt = omp_get_max_threads();
    if (p.nb > 1 && (work <= MM_SMALL || (work <= MM_MEDIUM && p.nb >= 4 * nt)))
      vt_cpu_parallel_for(p.nb, work >= MM_GRAIN ? 1 : MM_GRAIN / work, mm_blas_range, &p);
    else
      mm_blas_range(0, p.nb, &p);
  }
  if (hy) s = vt_tensor_copy_(y, hy);
done:
  if (ha) vt_tensor_release(ha);
  if (hb) vt_tensor_release(hb);
  if (hy) vt_tensor_release(hy);
  return s;
}

void vt_cpu_register_linalg(vt_kernel* table) { table[VT_OP_matmul] = cpu_matmul; }
