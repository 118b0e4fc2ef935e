/* formulas_conv.c — backward formulas of the convolutions (conv1d/conv2d via conv2d, conv_transpose2d) family (see ops/conv.c).
 * Called first by vt_ag_backward_op (formulas.c); returns 1 when the node is one of this family's ops.
 */
#include "autograd/node.h"

int vt_ag_backward_conv(vt_ag_node* n, const int* need, vt_tensor** gin, vt_status* s) {
  (void)n;
  (void)need;
  (void)gin;
  (void)s;
  return 0;
}
