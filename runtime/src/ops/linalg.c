/* linalg.c — front-end of matmul: validation, torch.matmul shape rules (1-d operands, batch
 * broadcasting), result dtype, output allocation and aliasing checks, dispatch.
 *
 * Kernel contract for MATMUL (see op_list.h): in[0] = a viewed as (B.., M, K), in[1] = b viewed as
 * (B.., K, N), out[0] = y viewed as (B.., M, N), all with the same batch dims B.. (broadcast batch
 * dims have stride 0; a 1-d operand or result gets a size-1 dim whose stride is meaningless);
 * K >= 1 and every size >= 1 (the front-end handles empty results and K = 0); out[0] does not
 * overlap the inputs; i[0] = the compute dtype (f32 for f32/f16/bf16, f64, or i64 for integers).
 */
#include <string.h>
#include "autograd/ag.h"
#include "core/util.h"
#include "ops/op.h"
#include "volt/elementwise.h"
#include "volt/linalg.h"

/* Byte range [lo, hi) that t's elements span (hi == lo when empty). */
static void vt_extent(const vt_tensor* t, const char** lo, const char** hi) {
  *lo = *hi = (const char*)t->ptr;
  if (t->nelem == 0 || !t->ptr) return;
  int64_t last = 0;
  for (int d = 0; d < t->ndim; d++) last += (t->sizes[d] - 1) * t->strides[d];
  *hi = *lo + (last + 1) * (int64_t)vt_dtype_size(t->dt);
}

static int vt_overlaps(const vt_tensor* x, const vt_tensor* y) {
  if (!x->storage || x->storage != y->storage) return 0;
  const char *xl, *xh, *yl, *yh;
  vt_extent(x, &xl, &xh);
  vt_extent(y, &yl, &yh);
  return xl < yh && yl < xh;
}

/* t as a matrix (batch.., rows, cols) header: a 1-d t becomes (1, K) (as_row) or (K, 1). */
static void vt_as_matrix(const vt_tensor* t, int as_row, vt_tensor* m) {
  *m = *t;
  if (t->ndim == 1) {
    m->ndim = 2;
    if (as_row) {
      m->sizes[0] = 1;
      m->strides[0] = 0;
      m->sizes[1] = t->sizes[0];
      m->strides[1] = t->strides[0];
    } else {
      m->sizes[1] = 1;
      m->strides[1] = 1;
    }
    vt_tensor_update(m);
  }
}

static vt_status vt_matmul_impl(const vt_tensor* a, const vt_tensor* b, vt_tensor* out, vt_tensor** res);

vt_status vt_matmul(const vt_tensor* a, const vt_tensor* b, vt_tensor* out, vt_tensor** res) {
  vt_status s = vt_matmul_impl(a, b, out, res);
  if (s == VT_OK && vt_ag_on2(a, b))
    s = vt_ag_record(&(vt_ag_rec){.op = VT_OP_matmul, .nin = 2, .in = {a, b}}, out, res);
  return s;
}

static vt_status vt_matmul_impl(const vt_tensor* a, const vt_tensor* b, vt_tensor* out, vt_tensor** res) {
  VT_TRY(vt_check_tensor("matmul", "first operand", a));
  VT_TRY(vt_check_tensor("matmul", "second operand", b));
  if (res) *res = NULL;
  if (a->ndim == 0 || b->ndim == 0)
    return vt_set_error(VT_ERR_SHAPE,
                        "matmul: both arguments need at least 1 dim (got shapes %s and %s); use mul "
                        "for a scalar product",
                        vt_shape_s(a), vt_shape_s(b));
  if (!vt_same_device(a->dev, b->dev))
    return vt_set_error(VT_ERR_DEVICE, "matmul: tensors are on different devices (%s:%d and %s:%d)",
                        vt_device_type_name(a->dev.type), a->dev.index,
                        vt_device_type_name(b->dev.type), b->dev.index);
  vt_dtype rd = vt_dtype_promote((vt_dtype)a->dt, (vt_dtype)b->dt);
  if (rd == VT_DTYPE_BOOL)
    return vt_set_error(VT_ERR_DTYPE, "matmul: not defined for bool tensors (cast to an integer or "
                                      "float dtype first)");

  /* the operands as (B.., M, K) and (B.., K, N) before batch broadcasting */
  vt_tensor am, bm;
  vt_as_matrix(a, 1, &am);
  vt_as_matrix(b, 0, &bm);
  int64_t M = am.sizes[am.ndim - 2], K = am.sizes[am.ndim - 1];
  int64_t Kb = bm.sizes[bm.ndim - 2], N = bm.sizes[bm.ndim - 1];
  if (K != Kb)
    return vt_set_error(VT_ERR_SHAPE, "matmul: shapes %s and %s do not match (a has %lld columns, b has %lld rows)",
                        vt_shape_s(a), vt_shape_s(b), (long long)K, (long long)Kb);
  int nbd;
  int64_t bsh[VT_MAX_DIMS];
  if (vt_broadcast_shapes("matmul", am.ndim - 2, am.sizes, bm.ndim - 2, bm.sizes, &nbd, bsh) != VT_OK)
    return vt_set_error(VT_ERR_SHAPE, "matmul: the batch dims of shapes %s and %s cannot be broadcast",
                        vt_shape_s(a), vt_shape_s(b));

  /* result shape: batch.., then M unless a is 1-d, then N unless b is 1-d */
  int rnd = nbd;
  int64_t rsh[VT_MAX_DIMS];
  memcpy(rsh, bsh, sizeof(int64_t) * (size_t)nbd);
  if (a->ndim > 1) rsh[rnd++] = M;
  if (b->ndim > 1) rsh[rnd++] = N;

  vt_tensor* target;
  VT_TRY(vt_prepare_out("matmul", out, rnd, rsh, rd, a->dev, res, &target));
  if (out && (vt_overlaps(out, a) || vt_overlaps(out, b))) {
    vt_out_abandon(out, res, target);
    return vt_set_error(VT_ERR_ARG, "matmul: out shares memory with an input; pass a separate "
                                    "output tensor");
  }
  if (target->nelem == 0) return VT_OK;
  vt_status s;
  if (K == 0) {
    s = vt_fill_(target, 0);
    if (s != VT_OK) vt_out_abandon(out, res, target);
    return s;
  }

  /* kernel views: (B.., M, K), (B.., K, N), (B.., M, N) */
  int64_t sh[VT_MAX_DIMS];
  memcpy(sh, bsh, sizeof(int64_t) * (size_t)nbd);
  vt_tensor av, bv, yv;
  sh[nbd] = M;
  sh[nbd + 1] = K;
  vt_tensor_expand_view(&am, nbd + 2, sh, &av);
  sh[nbd] = K;
  sh[nbd + 1] = N;
  vt_tensor_expand_view(&bm, nbd + 2, sh, &bv);
  yv = *target;
  yv.ndim = nbd + 2;
  for (int d = 0; d < nbd; d++) {
    yv.sizes[d] = target->sizes[d];
    yv.strides[d] = target->strides[d];
  }
  yv.sizes[nbd] = M;
  yv.strides[nbd] = a->ndim > 1 ? target->strides[nbd] : 0;
  yv.sizes[nbd + 1] = N;
  yv.strides[nbd + 1] = b->ndim > 1 ? target->strides[rnd - 1] : 1;
  vt_tensor_update(&yv);

  vt_op_args args = {.op = VT_OP_matmul, .nin = 2, .in = {&av, &bv}, .out = {&yv}};
  args.i[0] = rd == VT_DTYPE_F64 ? VT_DTYPE_F64 : vt_dtype_is_float(rd) ? VT_DTYPE_F32 : VT_DTYPE_I64;
  s = vt_dispatch(target->dev, &args);
  if (s != VT_OK) vt_out_abandon(out, res, target);
  return s;
}
