/* pool.h — 2-d pooling over the last two dims of a batch of planes: max, average and adaptive
 * average, with PyTorch's semantics (torch.nn.functional.max_pool2d / avg_pool2d /
 * adaptive_avg_pool2d), and their backward kernels.
 *
 * Shapes: x (N, C, H, W) — exactly 4 dims here (the Lua layer adds the unbatched (C, H, W) form);
 * y (N, C, Ho, Wo). Sizes/strides/paddings/dilations are given as (h, w) pairs.
 *   Ho = floor((H + 2 ph - dh (kh - 1) - 1 + (ceil_mode ? sh - 1 : 0)) / sh) + 1
 *   (dh = 1 for avg), and with ceil_mode the last window is dropped when it would start at or
 *   past H + ph (it must start inside the input or the left padding); the same for W.
 * Requirements (each violation is a VT_ERR_ARG naming the op): every kernel size, stride and
 * dilation >= 1, 0 <= padding <= kernel / 2, and Ho, Wo >= 1.
 * Dtypes: f32, f64, f16, bf16 (the halves compute in f32); the result has x's dtype.
 * Any strides (a non-contiguous input is copied first); results are contiguous and new
 * references the caller owns. The forward functions record autograd when x requires grad.
 *
 *   vt_tensor *y, *idx;
 *   int64_t k[2] = {2, 2}, s[2] = {2, 2}, p[2] = {0, 0}, d[2] = {1, 1};
 *   vt_max_pool2d(x, k, s, p, d, 0, &y, &idx);     // x (8, 3, 28, 28) -> y, idx (8, 3, 14, 14)
 */
#pragma once
#include "volt/tensor.h"

/* Max pooling. Padding counts as -inf; NaN propagates (the last NaN of a window wins, as
   PyTorch). kernel, stride, padding, dilation: (2) each. [out] y (N, C, Ho, Wo), x's dtype;
   [out] indices (N, C, Ho, Wo) i64 or NULL (not wanted): the 1-BASED flat index h * W + w + 1
   into the H x W plane of each maximum (the first one on ties). */
vt_status vt_max_pool2d(const vt_tensor* x, const int64_t* kernel, const int64_t* stride,
                        const int64_t* padding, const int64_t* dilation, int ceil_mode,
                        vt_tensor** y, vt_tensor** indices);

/* Average pooling. Padding counts as zeros. Each output is the window sum over the window
   clipped to the input, divided by divisor_override when > 0 (0: none), else by the window size
   clipped to the padded input (count_include_pad != 0) or to the input itself (== 0). A window
   that lies entirely in the padding gives 0. [out] y (N, C, Ho, Wo), x's dtype. */
vt_status vt_avg_pool2d(const vt_tensor* x, const int64_t* kernel, const int64_t* stride,
                        const int64_t* padding, int ceil_mode, int count_include_pad,
                        int64_t divisor_override, vt_tensor** y);

/* Adaptive average pooling to output_size (2) = (Ho, Wo), each >= 1: output row i averages
   input rows floor(i H / Ho) .. ceil((i + 1) H / Ho) - 1 (columns likewise).
   [out] y (N, C, Ho, Wo), x's dtype. */
vt_status vt_adaptive_avg_pool2d(const vt_tensor* x, const int64_t* output_size, vt_tensor** y);

/* ---- backward kernels (autograd calls them; exposed for custom Functions) ----------------- */
/* gx (N, C, H, W) = the scatter-add of g (N, C, Ho, Wo) to the 1-based plane indices
   (N, C, Ho, Wo, i64) that vt_max_pool2d returned. input_hw (2) = (H, W). [out] gx, g's dtype. */
vt_status vt_max_pool2d_backward(const vt_tensor* g, const vt_tensor* indices,
                                 const int64_t* input_hw, vt_tensor** gx);
/* gx (N, C, H, W): each g (N, C, Ho, Wo) spread evenly (g / divisor) over its window; the
   parameters are vt_avg_pool2d's, input_hw (2) = (H, W). [out] gx, g's dtype. */
vt_status vt_avg_pool2d_backward(const vt_tensor* g, const int64_t* input_hw, const int64_t* kernel,
                                 const int64_t* stride, const int64_t* padding, int ceil_mode,
                                 int count_include_pad, int64_t divisor_override, vt_tensor** gx);
/* gx (N, C, H, W): each g (N, C, Ho, Wo) spread evenly over its adaptive window.
   input_hw (2) = (H, W). [out] gx, g's dtype. */
vt_status vt_adaptive_avg_pool2d_backward(const vt_tensor* g, const int64_t* input_hw,
                                          vt_tensor** gx);
