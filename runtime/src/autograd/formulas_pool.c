/* formulas_pool.c — backward formulas of the pooling (max/avg/adaptive-avg 2-d) family (see ops/pool.c).
 * Called first by vt_ag_backward_op (formulas.c); returns 1 when the node is one of this family's ops.
 * Each formula is one call of the op's backward function (volt/pool.h); the node's i[] holds the
 * forward parameters (ops/pool.c), edge 0 the input's shape, and max_pool2d's saved extra X0
 * its indices (gradient to the first maximum of each window, as PyTorch).
 */
#include "autograd/node.h"
#include "ops/op.h"
#include "volt/pool.h"

int vt_ag_backward_pool(vt_ag_node* n, const int* need, vt_tensor** gin, vt_status* s) {
  if (n->op != VT_OP_max_pool2d && n->op != VT_OP_avg_pool2d && n->op != VT_OP_adaptive_avg_pool2d)
    return 0;
  *s = VT_OK;
  if (!need[0]) return 1;
  const vt_tensor* g = n->gbuf[0];            /* (N, C, Ho, Wo) */
  const int64_t* ip = n->i;
  const int64_t hw[2] = {n->edges[0].sizes[2], n->edges[0].sizes[3]}; /* input (N, C, H, W) */
  switch (n->op) {
    case VT_OP_max_pool2d: {
      const vt_tensor* idx = &n->saved[VT_SV_X0].t; /* (N, C, Ho, Wo) i64 */
      *s = vt_max_pool2d_backward(g, idx, hw, &gin[0]);
      break;
    }
    case VT_OP_avg_pool2d:
      *s = vt_avg_pool2d_backward(g, hw, ip, ip + 2, ip + 4, (int)n->f[0], (int)ip[6], ip[7],
                                  &gin[0]);
      break;
    default:
      *s = vt_adaptive_avg_pool2d_backward(g, hw, &gin[0]);
      break;
  }
  return 1;
}
