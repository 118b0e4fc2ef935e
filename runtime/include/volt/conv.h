/* conv.h — 2-d convolutions (conv1d runs through conv2d with a unit height, in Lua).
 *
 * Dimension letters: N = batch, C = input channels, O = output channels, G = groups,
 * H, W = input height/width, kh, kw = kernel, Ho, Wo = output height/width.
 * stride, padding and dilation are (height, width) pairs.
 *
 *   conv2d            x (N, C, H, W) * w (O, C/G, kh, kw) + b (O)  -> y (N, O, Ho, Wo)
 *       Ho = floor((H + 2 ph - dh (kh - 1) - 1) / sh) + 1   (likewise Wo)
 *       y[n, o, i, j] = b[o] + sum_{c in o's group, p, q} w[o, c', p, q] x[n, c, i sh - ph + p dh,
 *                                                                             j sw - pw + q dw]
 *       (zero padding: positions outside x read 0)
 *   conv_transpose2d  x (N, C, H, W), w (C, O/G, kh, kw), b (O)      -> y (N, O, Ho, Wo)
 *       Ho = (H - 1) sh - 2 ph + dh (kh - 1) + oph + 1   (likewise Wo)
 *       the adjoint of conv2d with respect to its input (the "gradient of conv2d"): each x[n, c,
 *       i, j] adds x * w[c, o', p, q] to y[n, o, i sh - ph + p dh, j sw - pw + q dw]; output
 *       padding oph (0 <= oph < max(sh, dh)) adds rows/columns at the bottom/right only.
 *
 * Rules shared by both: x is 4-d; x, w and b (when given) have the same floating dtype (f32,
 * f64, or f16/bf16, which compute in f32 and round once when storing) and device; C and O are
 * divisible by G; stride and dilation >= 1, padding >= 0; the result must not be empty (Ho,
 * Wo >= 1). Inputs may have any strides. Messages name the op ("conv2d: ...").
 *
 * Implementation (CPU): im2col + GEMM per sample and group (OpenBLAS), parallel over the batch
 * with one column buffer per thread; conv_transpose2d is GEMM + col2im. 1x1 convolutions with
 * stride 1 and no padding skip the column buffer. Results do not depend on the thread count.
 *
 * Output convention as elementwise.h: out == NULL allocates the result into *res (a new
 * reference); out != NULL writes into out (shape and dtype of the result, any strides; it must
 * not share memory with the inputs) and *res, when not NULL, receives out retained.
 *
 * Autograd: both ops record their gradients with respect to x, w and b.
 *
 *   int64_t st[2] = {1, 1}, pad[2] = {2, 2}, dil[2] = {1, 1};
 *   vt_tensor* y;
 *   if (vt_conv2d(x, w, b, st, pad, dil, 1, NULL, &y) != VT_OK) puts(vt_last_error());
 *   // "conv2d: weight has 3 input channels per group, input has 4 channels and groups = 1"
 */
#pragma once
#include "volt/tensor.h"

/* y = conv2d(x, w, b).
 *   x         (N, C, H, W)
 *   w         (O, C/groups, kh, kw)
 *   b         (O), or NULL for no bias
 *   stride    (2) >= 1;  padding (2) >= 0;  dilation (2) >= 1;  groups >= 1 divides C and O
 *   out, res  see the output convention; y (N, O, Ho, Wo) */
vt_status vt_conv2d(const vt_tensor* x, const vt_tensor* w, const vt_tensor* b,
                    const int64_t* stride, const int64_t* padding, const int64_t* dilation,
                    int64_t groups, vt_tensor* out, vt_tensor** res);

/* y = conv_transpose2d(x, w, b).
 *   x               (N, C, H, W)
 *   w               (C, O/groups, kh, kw)
 *   b               (O), or NULL
 *   stride (2) >= 1; padding (2) >= 0; output_padding (2), 0 <= op < max(stride, dilation);
 *   dilation (2) >= 1; groups >= 1 divides C and O
 *   out, res        see the output convention; y (N, O, Ho, Wo) */
vt_status vt_conv_transpose2d(const vt_tensor* x, const vt_tensor* w, const vt_tensor* b,
                              const int64_t* stride, const int64_t* padding,
                              const int64_t* output_padding, const int64_t* dilation,
                              int64_t groups, vt_tensor* out, vt_tensor** res);

/* The gradient of conv2d with respect to its weight (not recorded by autograd):
 *   gw[o, c', p, q] = sum_{n, i, j} gy[n, o, i, j] x[n, c, i sh - ph + p dh, j sw - pw + q dw]
 *   x        (N, C, H, W)   the convolution's input
 *   gy       (N, O, Ho, Wo) the gradient of its output (Ho, Wo as conv2d gives them)
 *   kh, kw   the kernel size; the other parameters as vt_conv2d
 *   res      [out] gw (O, C/groups, kh, kw) in x's dtype
 * The weight gradient of conv_transpose2d(x, w) is vt_conv2d_weight_grad(gy, x, ...) (roles of
 * input and output swapped). The sum over the batch runs in a fixed order. */
vt_status vt_conv2d_weight_grad(const vt_tensor* x, const vt_tensor* gy, int64_t kh, int64_t kw,
                                const int64_t* stride, const int64_t* padding,
                                const int64_t* dilation, int64_t groups, vt_tensor** res);
