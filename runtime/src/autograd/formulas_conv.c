/* formulas_conv.c — backward formulas of the convolutions (conv2d, conv_transpose2d; conv1d
 * runs through conv2d), see ops/conv.c. Called first by vt_ag_backward_op (formulas.c); returns
 * 1 when the node is one of this family's ops.
 *
 * Saved: IN0 = x (the input), X0 = w (the weight); i[0..6] = stride, padding, dilation, groups.
 *   conv2d            y = conv(x, w) + b
 *     gx = conv_transpose2d(g, w) with the output padding that gives back x's size
 *     gw = conv2d_weight_grad(x, g)            gb = sum of g over (N, Ho, Wo)
 *   conv_transpose2d  y = convT(x, w) + b      (convT is the adjoint of conv in its input)
 *     gx = conv2d(g, w)                        gw = conv2d_weight_grad(g, x) (roles swapped)
 *     gb = sum of g over (N, Ho, Wo)
 *     When output padding >= stride (allowed when dilation > stride), g's last rows/columns
 *     that no input position reaches are dropped first so the conv sizes line up with x.
 */
#include "autograd/node.h"
#include "core/util.h"
#include "ops/op.h"
#include "volt/conv.h"
#include "volt/reduce.h"

static vt_status cf_bias_grad(const vt_tensor* g, vt_tensor** gb) {
  int dims[3] = {0, 2, 3};
  return vt_reduce(VT_OP_sum, g, 3, dims, 0, 0.0, NULL, gb);
}

int vt_ag_backward_conv(vt_ag_node* n, const int* need, vt_tensor** gin, vt_status* s) {
  if (n->op != VT_OP_conv2d && n->op != VT_OP_conv_transpose2d) return 0;
  const vt_tensor* g = n->gbuf[0]; /* (N, O, Ho, Wo) */
  const vt_tensor* x = n->saved[VT_SV_IN0].present ? &n->saved[VT_SV_IN0].t : NULL;
  const vt_tensor* w = n->saved[VT_SV_X0].present ? &n->saved[VT_SV_X0].t : NULL;
  if (!x || !w) {
    *s = vt_set_error(VT_ERR_INTERNAL, "backward of %s: saved input or weight missing",
                      vt_ag_node_name(n));
    return 1;
  }
  const int64_t* st = n->i;
  const int64_t* pad = n->i + 2;
  const int64_t* dil = n->i + 4;
  int64_t groups = n->i[6];
  int64_t kh = w->sizes[2], kw = w->sizes[3];
  int n0 = n->nin > 0 && need[0], n1 = n->nin > 1 && need[1], n2 = n->nin > 2 && need[2];
  vt_status r = VT_OK;

  if (n->op == VT_OP_conv2d) {
    if (n0) { /* gx (N, C, H, W) */
      int64_t op[2];
      for (int k = 0; k < 2; k++) {
        int64_t in = x->sizes[2 + k], ks = k ? kw : kh, outn = g->sizes[2 + k];
        op[k] = in - ((outn - 1) * st[k] - 2 * pad[k] + dil[k] * (ks - 1) + 1);
      }
      r = vt_conv_transpose2d(g, w, NULL, st, pad, op, dil, groups, NULL, &gin[0]);
    }
    if (r == VT_OK && n1) /* gw (O, C/G, kh, kw) */
      r = vt_conv2d_weight_grad(x, g, kh, kw, st, pad, dil, groups, &gin[1]);
    if (r == VT_OK && n2) r = cf_bias_grad(g, &gin[2]);
    *s = r;
    return 1;
  }

  /* conv_transpose2d: g (N, O, Hy, Wy) is the conv input, x (N, C, H, W) its output */
  vt_tensor *gv = NULL, *tmp = NULL;
  int64_t cut[2];
  for (int k = 0; k < 2; k++) {
    int64_t ks = k ? kw : kh;
    int64_t used = (x->sizes[2 + k] - 1) * st[k] - 2 * pad[k] + dil[k] * (ks - 1) + 1;
    int64_t opk = g->sizes[2 + k] - used; /* the output padding */
    cut[k] = (opk / st[k]) * st[k];
  }
  if (cut[0] || cut[1]) {
    r = vt_tensor_narrow(g, 2, 0, g->sizes[2] - cut[0], &tmp);
    if (r == VT_OK) r = vt_tensor_narrow(tmp, 3, 0, g->sizes[3] - cut[1], &gv);
    if (tmp) vt_tensor_release(tmp);
  } else {
    vt_tensor_retain((vt_tensor*)g);
    gv = (vt_tensor*)g;
  }
  if (r == VT_OK && n0) /* gx (N, C, H, W) */
    r = vt_conv2d(gv, w, NULL, st, pad, dil, groups, NULL, &gin[0]);
  if (r == VT_OK && n1) /* gw (C, O/G, kh, kw) */
    r = vt_conv2d_weight_grad(gv, x, kh, kw, st, pad, dil, groups, &gin[1]);
  if (r == VT_OK && n2) r = cf_bias_grad(g, &gin[2]);
  if (gv) vt_tensor_release(gv);
  *s = r;
  return 1;
}
