/* formulas_norm.c — backward formulas of the normalisation layers (batch/group/layer norm) family (see ops/norm.c).
 * Called first by vt_ag_backward_op (formulas.c); returns 1 when the node is one of this family's ops.
 *
 * Each forward node has inputs (x, weight, bias), saves x (IN0), the statistics (X0: (.., 2) mean,
 * rstd) and the weight (X1, absent without one); i[0] = nk (layer norm), training (batch norm) or
 * num_groups (group norm). The gradients of all three inputs come from one fused backward call.
 */
#include "autograd/node.h"
#include "ops/op.h"
#include "volt/norm.h"

int vt_ag_backward_norm(vt_ag_node* n, const int* need, vt_tensor** gin, vt_status* s) {
  if (n->op != VT_OP_layer_norm && n->op != VT_OP_batch_norm && n->op != VT_OP_group_norm)
    return 0;
  const vt_tensor* g = n->gbuf[0];
  const vt_tensor* x = &n->saved[VT_SV_IN0].t;
  const vt_tensor* stats = &n->saved[VT_SV_X0].t;
  const vt_tensor* w = n->saved[VT_SV_X1].present ? &n->saved[VT_SV_X1].t : NULL;
  vt_tensor** dx = n->nin > 0 && need[0] ? &gin[0] : NULL;
  vt_tensor** dw = n->nin > 1 && need[1] ? &gin[1] : NULL;
  vt_tensor** db = n->nin > 2 && need[2] ? &gin[2] : NULL;
  switch (n->op) {
    case VT_OP_layer_norm:
      *s = vt_layer_norm_backward(g, x, stats, w, (int)n->i[0], dx, dw, db);
      break;
    case VT_OP_batch_norm:
      *s = vt_batch_norm_backward(g, x, stats, w, (int)n->i[0], dx, dw, db);
      break;
    default:
      *s = vt_group_norm_backward(g, x, stats, w, n->i[0], dx, dw, db);
      break;
  }
  return 1;
}
