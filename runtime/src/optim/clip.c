/* clip.c — gradient norms, clip by total norm, non-finite check (volt/optim.h).
 *
 * Reductions run over fixed chunks of NORM_CHUNK elements of each tensor (never straddling two
 * tensors), each chunk accumulating in f64; the chunk partials are then combined in order, so
 * the results do not depend on the thread count.
 */
#include <math.h>
#include <string.h>
#include "volt/optim.h"
#include "optim/fused.h"

#define NORM_CHUNK 4096

enum { MODE_SUM_POW, MODE_MAX, MODE_NONFINITE };

typedef struct {
  int n, mode;
  double p;
  vt_tensor** work;  /* (n) contiguous tensors                      */
  int64_t* coff;     /* (n + 1) prefix sums of chunk counts          */
  double* part;      /* (chunks) partial sums / maxima               */
  int32_t* bits;     /* (chunks) non-finite bits                      */
} norm_job;

static void norm_chunks(int64_t cb, int64_t ce, void* ctx) {
  const norm_job* J = ctx;
  int i = 0;
  while (J->coff[i + 1] <= cb) i++;
  double buf[VT_CPU_CHUNK];
  for (int64_t c = cb; c < ce; c++) {
    while (J->coff[i + 1] <= c) i++;
    const vt_tensor* t = J->work[i];
    int64_t isz = (int64_t)vt_dtype_size((vt_dtype)t->dt);
    int64_t b = (c - J->coff[i]) * NORM_CHUNK;
    int64_t e = b + NORM_CHUNK < t->nelem ? b + NORM_CHUNK : t->nelem;
    double acc = 0;
    int32_t bits = 0;
    for (int64_t o = b; o < e; o += VT_CPU_CHUNK) {
      int64_t m = e - o < VT_CPU_CHUNK ? e - o : VT_CPU_CHUNK;
      vt_cpu_load_f64(buf, (const char*)t->ptr + o * isz, isz, t->dt, m);
      switch (J->mode) {
        case MODE_SUM_POW:
          if (J->p == 2) for (int64_t j = 0; j < m; j++) acc += buf[j] * buf[j];
          else if (J->p == 1) for (int64_t j = 0; j < m; j++) acc += fabs(buf[j]);
          else for (int64_t j = 0; j < m; j++) acc += pow(fabs(buf[j]), J->p);
          break;
        case MODE_MAX:
          for (int64_t j = 0; j < m; j++) {
            double a = fabs(buf[j]);
            if (a > acc || a != a) acc = a;
            if (acc != acc) break;
          }
          break;
        default:
          for (int64_t j = 0; j < m; j++) {
            if (buf[j] != buf[j]) bits |= 1;
            else if (isinf(buf[j])) bits |= 2;
          }
      }
    }
    J->part[c] = acc;
    J->bits[c] = bits;
  }
}

/* Validates ts, makes contiguous work copies and runs one reduction pass. The caller frees
   J->work/part/bits/coff with norm_job_free. */
static vt_status norm_job_run(const char* op, int n, const vt_tensor* const* ts, int mode,
                              double p, norm_job* J) {
  memset(J, 0, sizeof *J);
  J->n = n;
  J->mode = mode;
  J->p = p;
  VT_CHECK_ARG(n >= 0, "%s: the number of tensors must be >= 0 (got %d)", op, n);
  if (n == 0) return VT_OK;
  VT_CHECK_ARG(ts != NULL, "%s: the tensor list is NULL", op);
  for (int i = 0; i < n; i++) {
    char what[48];
    snprintf(what, sizeof what, "tensor #%d", i + 1);
    VT_TRY(vt_check_tensor(op, what, ts[i]));
    if (ts[i]->dev.type != VT_DEVICE_CPU)
      return vt_set_error(VT_ERR_UNSUPPORTED, "%s: %s is on %s:%d; this function runs on the CPU "
                          "only", op, what, vt_device_type_name((vt_device_type)ts[i]->dev.type),
                          ts[i]->dev.index);
  }
  J->work = calloc((size_t)n, sizeof *J->work);
  J->coff = calloc((size_t)n + 1, sizeof *J->coff);
  if (!J->work || !J->coff) return vt_set_error(VT_ERR_OOM, "%s: out of memory", op);
  for (int i = 0; i < n; i++) {
    VT_TRY(vt_tensor_contiguous(ts[i], &J->work[i]));
    J->coff[i + 1] = J->coff[i] + (ts[i]->nelem + NORM_CHUNK - 1) / NORM_CHUNK;
  }
  int64_t chunks = J->coff[n];
  J->part = calloc((size_t)(chunks ? chunks : 1), sizeof *J->part);
  J->bits = calloc((size_t)(chunks ? chunks : 1), sizeof *J->bits);
  if (!J->part || !J->bits) return vt_set_error(VT_ERR_OOM, "%s: out of memory", op);
  vt_cpu_parallel_for(chunks, 8, norm_chunks, J);
  return VT_OK;
}

static void norm_job_free(norm_job* J) {
  if (J->work)
    for (int i = 0; i < J->n; i++)
      if (J->work[i]) vt_tensor_release(J->work[i]);
  free(J->work);
  free(J->coff);
  free(J->part);
  free(J->bits);
}

static vt_status norms_impl(const char* op, int n, const vt_tensor* const* ts, double norm_type,
                            double* norms, double* total) {
  if (!(norm_type > 0))
    return vt_set_error(VT_ERR_ARG, "%s: norm_type must be > 0 or inf (got %g)", op, norm_type);
  int is_inf = isinf(norm_type);
  norm_job J;
  vt_status st = norm_job_run(op, n, ts, is_inf ? MODE_MAX : MODE_SUM_POW, norm_type, &J);
  if (st == VT_OK) {
    double all = 0;
    for (int i = 0; i < n; i++) {
      double acc = 0;
      for (int64_t c = J.coff[i]; c < J.coff[i + 1]; c++) {
        if (is_inf) { if (J.part[c] > acc || J.part[c] != J.part[c]) acc = J.part[c]; }
        else acc += J.part[c];
      }
      if (is_inf) { if (acc > all || acc != acc) all = acc; }
      else all += acc;
      if (norms)
        norms[i] = is_inf ? acc : norm_type == 1 ? acc : norm_type == 2 ? sqrt(acc)
                                                                        : pow(acc, 1 / norm_type);
      if (all != all && is_inf) all = NAN;
    }
    if (total)
      *total = is_inf ? all : norm_type == 1 ? all : norm_type == 2 ? sqrt(all)
                                                                    : pow(all, 1 / norm_type);
  }
  norm_job_free(&J);
  return st;
}

vt_status vt_optim_norms(int n, const vt_tensor* const* ts, double norm_type, double* norms,
                         double* total) {
  return norms_impl("grad_norms", n, ts, norm_type, norms, total);
}

vt_status vt_optim_clip_norm(int n, vt_tensor* const* grads, double max_norm, double norm_type,
                             int error_if_nonfinite, double* total) {
  const char* op = "clip_grad_norm";
  if (!(max_norm >= 0))
    return vt_set_error(VT_ERR_ARG, "%s: max_norm must be >= 0 (got %g)", op, max_norm);
  double tot = 0;
  VT_TRY(norms_impl(op, n, (const vt_tensor* const*)grads, norm_type, NULL, &tot));
  if (total) *total = tot;
  if (error_if_nonfinite && !isfinite(tot))
    return vt_set_error(VT_ERR_ARG,
                        "%s: the total norm of order %g of the gradients is %s, so they cannot be "
                        "clipped; find the parameters with volt.optim.check_finite, or pass "
                        "error_if_nonfinite = false to scale by the non-finite norm anyway",
                        op, norm_type, tot != tot ? "nan" : "inf");
  double coef = max_norm / (tot + 1e-6);
  if (coef < 1 || coef != coef) VT_TRY(vt_fused_scale(op, n, grads, coef));
  return VT_OK;
}

vt_status vt_optim_nonfinite(int n, const vt_tensor* const* ts, int32_t* flags, int* count) {
  const char* op = "check_finite";
  VT_CHECK_ARG(flags != NULL || n == 0, "%s: flags is NULL", op);
  norm_job J;
  vt_status st = norm_job_run(op, n, ts, MODE_NONFINITE, 0, &J);
  if (st == VT_OK) {
    int cnt = 0;
    for (int i = 0; i < n; i++) {
      int32_t b = 0;
      for (int64_t c = J.coff[i]; c < J.coff[i + 1]; c++) b |= J.bits[c];
      flags[i] = b;
      cnt += b != 0;
    }
    if (count) *count = cnt;
  } else if (count) {
    *count = 0;
  }
  norm_job_free(&J);
  return st;
}
