/* formulas_fused.c — backward formulas of the fused layers and losses (linear, cross-entropy,
 * attention) family (see ops/fused.c for what each node saves).
 * Called first by vt_ag_backward_op (formulas.c); returns 1 when the node is one of this family's ops.
 *   linear         dx = g w (one GEMM), dw = gᵀ x over all leading dims flattened (one GEMM),
 *                  db = column sums of g.
 *   cross_entropy  one kernel: (softmax - target distribution) * scale per row.
 *   sdpa           one kernel: recomputes P from the saved row logsumexp (vt_sdpa_backward).
 *   sdpa_qkv       one kernel writing dqkv (vt_sdpa_qkv_backward).
 *   gelu           (the elementwise op, claimed here) one kernel: dx = g GELU'(x)
 *                  (vt_gelu_backward); with grad mode on (a differentiable backward) it is left
 *                  to formulas.c's composition.
 */
#include <string.h>
#include "autograd/node.h"
#include "core/util.h"
#include "ops/op.h"
#include "volt/fused.h"
#include "volt/linalg.h"
#include "volt/reduce.h"

static const vt_tensor* saved(const vt_ag_node* n, int slot) {
  return n->saved[slot].present ? &n->saved[slot].t : NULL;
}

/* g (.., Out), x (.., In), w (Out, In) */
static vt_status linear_backward(vt_ag_node* n, const int* need, vt_tensor** gin) {
  const vt_tensor* g = n->gbuf[0];
  const vt_tensor* x = saved(n, VT_SV_IN0);
  const vt_tensor* w = saved(n, VT_SV_IN1);
  int64_t Out = n->edges[1].sizes[0], In = n->edges[1].sizes[1];
  int64_t M = Out > 0 ? g->nelem / Out : 0;
  if (Out == 0) {
    M = 1;
    for (int d = 0; d < g->ndim - 1; d++) M *= g->sizes[d];
  }
  vt_status s = VT_OK;
  vt_tensor *g2 = NULL, *gt = NULL, *x2 = NULL, *t = NULL;
  int64_t gsh[2] = {M, Out}, xsh[2] = {M, In};
  s = vt_tensor_reshape(g, 2, gsh, &g2); /* (M, Out) */
  if (s == VT_OK && need[0]) {           /* dx (.., In) = g w */
    s = vt_matmul(g, w, NULL, &gin[0]);
  }
  if (s == VT_OK && need[1]) { /* dw (Out, In) = g2ᵀ (Out, M) · x2 (M, In) */
    s = vt_tensor_reshape(x, 2, xsh, &x2);
    if (s == VT_OK) s = vt_tensor_transpose(g2, 0, 1, &gt);
    if (s == VT_OK) s = vt_matmul(gt, x2, NULL, &gin[1]);
  }
  if (s == VT_OK && n->nin > 2 && need[2]) { /* db (Out) = column sums of g2 */
    int d0 = 0;
    s = vt_reduce(VT_OP_sum, g2, 1, &d0, 0, 0, NULL, &gin[2]);
  }
  vt_tensor* tmp[4] = {g2, gt, x2, t};
  for (int j = 0; j < 4; j++)
    if (tmp[j]) vt_tensor_release(tmp[j]);
  return s;
}

int vt_ag_backward_fused(vt_ag_node* n, const int* need, vt_tensor** gin, vt_status* s) {
  switch (n->op) {
    case VT_OP_linear:
      *s = linear_backward(n, need, gin);
      return 1;
    case VT_OP_cross_entropy:
      if (!need[0]) {
        *s = VT_OK;
        return 1;
      }
      *s = vt_cross_entropy_backward(n->gbuf[0], saved(n, VT_SV_IN0), saved(n, VT_SV_IN1),
                                     saved(n, VT_SV_IN2), saved(n, VT_SV_X0), n->i[0], n->f[0],
                                     (int)n->i[1], &gin[0]);
      return 1;
    case VT_OP_sdpa: {
      vt_tensor* d[3] = {NULL, NULL, NULL};
      *s = vt_sdpa_backward(n->gbuf[0], saved(n, VT_SV_IN0), saved(n, VT_SV_IN1),
                            saved(n, VT_SV_IN2), saved(n, VT_SV_OUT), saved(n, VT_SV_X0),
                            (int)n->i[0], n->f[0], &d[0], &d[1], &d[2]);
      for (int j = 0; j < 3; j++) {
        if (*s == VT_OK && need[j]) gin[j] = d[j];
        else if (d[j]) vt_tensor_release(d[j]);
      }
      return 1;
    }
    case VT_OP_sdpa_qkv:
      *s = VT_OK;
      if (need[0])
        *s = vt_sdpa_qkv_backward(n->gbuf[0], saved(n, VT_SV_IN0), saved(n, VT_SV_X1),
                                  saved(n, VT_SV_X0), n->i[1], (int)n->i[0], n->f[0], &gin[0]);
      return 1;
    case VT_OP_gelu:
    case VT_OP_gelu_tanh:
      if (vt_ag_mode) return 0;
      *s = VT_OK;
      if (need[0])
        *s = vt_gelu_backward(n->gbuf[0], saved(n, VT_SV_IN0), n->op == VT_OP_gelu_tanh, &gin[0]);
      return 1;
    default:
      return 0;
  }
}
