/* norm.h — normalisation layers: layer norm, batch norm, group norm (fused forward and backward).
 *
 * Dimension letters: N = batch, C = channels, S = the spatial dims flattened (L, or H·W, or 1),
 * G = groups, R = rows and D = the normalised size of layer norm (R·D = numel).
 *
 *   layer_norm  x (.., *nshape)      statistics over the last k dims (D = prod(nshape)) per row;
 *                                    weight, bias: nshape (elementwise affine)
 *   batch_norm  x (N, C, *)          statistics per channel over N and the spatial dims;
 *                                    weight, bias, running_mean, running_var: (C)
 *   group_norm  x (N, C, *)          statistics per (sample, group of C/G channels);
 *                                    weight, bias: (C) (per-channel affine)
 * Each computes y = (x - mean) * rstd * weight + bias with rstd = 1 / sqrt(var + eps), var the
 * biased variance (divided by the count). weight and bias may be NULL (no scale / no shift).
 *
 * Statistics: two passes (mean, then the centred sum of squares) accumulated in f64 for every
 * dtype; the kernels compute in f64 and store once in the input dtype (f16/bf16 round once).
 * Inputs must be floating point (f32, f64, f16, bf16); any strides (a non-contiguous input is
 * copied once). Results do not depend on the thread count: rows, channels and (sample, group)
 * blocks run in parallel, and the weight/bias gradients of layer norm are summed over a fixed
 * chunking of the rows in a fixed order.
 *
 * Autograd: each forward records one node saving x, the statistics and the weight; its backward
 * is one call of the matching *_backward function below (dx, dweight and dbias in one pass).
 *
 * batch_norm in training mode normalises with the batch statistics and, when running_mean and
 * running_var are given, updates them in place: running = (1 - momentum) * running + momentum *
 * batch, with the unbiased batch variance (divided by count - 1) for running_var. In eval mode
 * (training = 0) it normalises with the running statistics (both required). The caller (nn's
 * BatchNorm) turns PyTorch's momentum = None into 1 / num_batches_tracked.
 *
 *   vt_tensor* y;
 *   int64_t ns[1] = {128};
 *   if (vt_layer_norm(x, 1, ns, w, b, 1e-5, &y) != VT_OK) fprintf(stderr, "%s\n", vt_last_error());
 *   // "layer_norm: input shape [4, 64] does not end with normalized_shape [128]"
 *
 * Statistics tensors ("stats") hold (mean, rstd) pairs: shape (R, 2) for layer norm, (C, 2) for
 * batch norm, (N·G, 2) for group norm; dtype f64 for f64 inputs, else f32.
 */
#pragma once
#include "volt/tensor.h"

/* y = layer_norm(x) over the last nk dims, which must equal nshape (nk >= 1).
   x (.., *nshape); weight, bias: nshape or NULL. [out] res: y, x's shape and dtype. */
vt_status vt_layer_norm(const vt_tensor* x, int nk, const int64_t* nshape, const vt_tensor* weight,
                        const vt_tensor* bias, double eps, vt_tensor** res);

/* y = batch_norm(x). x (N, C, *) with at least 2 dims; running_mean, running_var: (C) or both
   NULL (then training must be 1); weight, bias: (C) or NULL. training: 1 batch statistics (and
   running-stat update), 0 running statistics. Training needs more than one value per channel.
   [out] res: y, x's shape and dtype. */
vt_status vt_batch_norm(const vt_tensor* x, vt_tensor* running_mean, vt_tensor* running_var,
                        const vt_tensor* weight, const vt_tensor* bias, int training,
                        double momentum, double eps, vt_tensor** res);

/* y = group_norm(x) with num_groups groups. x (N, C, *) with at least 2 dims, C divisible by
   num_groups; weight, bias: (C) or NULL. [out] res: y, x's shape and dtype. */
vt_status vt_group_norm(const vt_tensor* x, int64_t num_groups, const vt_tensor* weight,
                        const vt_tensor* bias, double eps, vt_tensor** res);

/* ---- backward (what autograd calls; usable directly) ---------------------------------------
   grad_out and x: the forward's output gradient and input (same shape); stats: the forward's
   statistics (see above; batch_norm in eval mode: the running mean and 1/sqrt(running_var+eps));
   weight: the forward's weight or NULL. Each [out] pointer may be NULL to skip that gradient:
   dx (x's shape, x's dtype), dweight and dbias (the weight's shape, in the weight's dtype, or x's
   dtype without a weight). */

/* Layer norm over the last nk dims. */
vt_status vt_layer_norm_backward(const vt_tensor* grad_out, const vt_tensor* x,
                                 const vt_tensor* stats, const vt_tensor* weight, int nk,
                                 vt_tensor** dx, vt_tensor** dweight, vt_tensor** dbias);
/* Batch norm; training: 1 the statistics were the batch's (dx through mean and var), 0 eval
   (dx = grad_out * weight * rstd). */
vt_status vt_batch_norm_backward(const vt_tensor* grad_out, const vt_tensor* x,
                                 const vt_tensor* stats, const vt_tensor* weight, int training,
                                 vt_tensor** dx, vt_tensor** dweight, vt_tensor** dbias);
/* Group norm with num_groups groups. */
vt_status vt_group_norm_backward(const vt_tensor* grad_out, const vt_tensor* x,
                                 const vt_tensor* stats, const vt_tensor* weight,
                                 int64_t num_groups, vt_tensor** dx, vt_tensor** dweight,
                                 vt_tensor** dbias);
