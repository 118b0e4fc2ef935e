/* optim.h — fused optimizer updates and gradient utilities over lists of tensors.
 *
 * Each optimizer step is ONE call over all parameters of a parameter group: the runtime walks the
 * elements of every (param, grad, state...) row in fixed-size chunks split across threads
 * (parallel over the flattened element range of the whole list, so many small parameters cost
 * one parallel region, not one per tensor). Update rules are PyTorch's (torch.optim, 2.x,
 * foreach=False), written out at each function below.
 *
 * Arrays: params, grads and the state arrays have n entries; entry i of each belongs to parameter
 * i and has that parameter's shape. grads[i] == NULL skips parameter i (it had no gradient). A
 * state array documented as optional may be NULL as a whole when the option is off.
 *
 * Devices and layout: every tensor must be on the CPU (other devices: VT_ERR_UNSUPPORTED naming
 * the function and the parameter). Any strides are accepted: a non-contiguous tensor is copied to
 * a contiguous one, updated and copied back; params and states must not be expanded views
 * (stride 0 over a dim of size > 1), since their elements would be written several times.
 *
 * Dtypes: floating tensors only. The update is computed in f64 for an f64 parameter and in f32
 * otherwise (f16/bf16 values are widened to f32, updated, and rounded once on store). Grads and
 * states may have a different floating dtype from their parameter (the Lua optimizers keep the
 * state of f16/bf16 parameters in f32); each is converted on load and store.
 *
 * Gradient utilities (norms, clipping, non-finite check) accumulate in f64 over fixed-size
 * chunks, so their results do not depend on the thread count.
 *
 *   // one SGD-with-momentum step over 2 parameters
 *   vt_tensor* P[2] = {w, b}; vt_tensor* G[2] = {gw, gb}; vt_tensor* B[2] = {bw, bb};
 *   uint8_t fresh[2] = {1, 1};                       // first step: buffers start as the grads
 *   vt_optim_sgd(2, P, G, B, fresh, 0.1, 0.9, 0.0, 0.0, 0, 0);
 */
#pragma once
#include <stdint.h>
#include "volt/tensor.h"

/* ---- optimizers (params and states updated in place) ------------------------------------- */

/* SGD. bufs: (n) momentum buffers, optional (NULL when momentum == 0). fresh: (n) flags, may be
   NULL (= all 0); fresh[i] != 0 means bufs[i] has no history and is set to d (PyTorch's first
   step, no dampening). Per element:
     g = maximize ? -grad : grad;  g += weight_decay * p
     if momentum != 0: buf = fresh ? g : momentum * buf + (1 - dampening) * g
                       g = nesterov ? g + momentum * buf : buf
     p -= lr * g */
vt_status vt_optim_sgd(int n, vt_tensor* const* params, vt_tensor* const* grads,
                       vt_tensor* const* bufs, const uint8_t* fresh, double lr, double momentum,
                       double dampening, double weight_decay, int nesterov, int maximize);

/* Adam (decoupled == 0) and AdamW (decoupled != 0). exp_avg, exp_avg_sq: (n) states;
   max_exp_avg_sq: (n), optional (amsgrad only). steps: (n) the step count of each parameter
   AFTER this step's increment (>= 1). Per element, with t = steps[i]:
     g = maximize ? -grad : grad
     AdamW: p *= 1 - lr * weight_decay        Adam: g += weight_decay * p
     m = m + (1 - beta1) * (g - m);  v = beta2 * v + (1 - beta2) * g * g
     vmax = amsgrad ? max(vmax, v) : v
     p -= (lr / (1 - beta1^t)) * m / (sqrt(vmax) / sqrt(1 - beta2^t) + eps) */
vt_status vt_optim_adam(int n, vt_tensor* const* params, vt_tensor* const* grads,
                        vt_tensor* const* exp_avg, vt_tensor* const* exp_avg_sq,
                        vt_tensor* const* max_exp_avg_sq, const int64_t* steps, double lr,
                        double beta1, double beta2, double eps, double weight_decay,
                        int decoupled, int amsgrad, int maximize);

/* RMSprop. square_avg: (n); grad_avg: (n), optional (centered only); bufs: (n) momentum
   buffers, optional (momentum > 0 only). All states start at zero. Per element:
     g = maximize ? -grad : grad;  g += weight_decay * p
     sq = alpha * sq + (1 - alpha) * g * g
     centered: ga = alpha * ga + (1 - alpha) * g;  avg = sqrt(sq - ga * ga) + eps
     else:     avg = sqrt(sq) + eps
     momentum > 0: buf = momentum * buf + g / avg;  p -= lr * buf
     else:         p -= lr * g / avg */
vt_status vt_optim_rmsprop(int n, vt_tensor* const* params, vt_tensor* const* grads,
                           vt_tensor* const* square_avg, vt_tensor* const* grad_avg,
                           vt_tensor* const* bufs, double lr, double alpha, double eps,
                           double weight_decay, double momentum, int centered, int maximize);

/* Adagrad. state_sum: (n), starting at initial_accumulator_value (set by the caller); steps:
   (n) step counts after the increment (>= 1). Per element, with t = steps[i]:
     g = maximize ? -grad : grad;  g += weight_decay * p
     clr = lr / (1 + (t - 1) * lr_decay)
     sum += g * g;  p -= clr * g / (sqrt(sum) + eps) */
vt_status vt_optim_adagrad(int n, vt_tensor* const* params, vt_tensor* const* grads,
                           vt_tensor* const* state_sum, const int64_t* steps, double lr,
                           double lr_decay, double weight_decay, double eps, int maximize);

/* ---- gradient utilities ------------------------------------------------------------------ */

/* p-norms of n tensors. norm_type: p > 0, or INFINITY (max |x|). [out] norms: (n) the norm of
   each tensor (may be NULL); [out] total: the norm of all elements together (= the p-norm of the
   vector of norms), may be NULL. A NaN anywhere gives NaN. n == 0 gives total 0. */
vt_status vt_optim_norms(int n, const vt_tensor* const* ts, double norm_type, double* norms,
                         double* total);

/* PyTorch's clip_grad_norm_: total = vt_optim_norms(grads, norm_type); if error_if_nonfinite
   and total is NaN or Inf, fails (VT_ERR_ARG) and changes nothing; else coef =
   max_norm / (total + 1e-6) and, when coef < 1 (or NaN), every grad is multiplied by coef in
   place. [out] total (may be NULL): the norm before clipping. */
vt_status vt_optim_clip_norm(int n, vt_tensor* const* grads, double max_norm, double norm_type,
                             int error_if_nonfinite, double* total);

/* Clamps every element of every grad to [-clip_value, clip_value] in place (NaN stays NaN).
   clip_value >= 0. */
vt_status vt_optim_clip_value(int n, vt_tensor* const* grads, double clip_value);

/* Non-finite check. [out] flags: (n) per tensor, bit 1 = holds a NaN, bit 2 = holds ±Inf
   (0 = all finite); [out] count (may be NULL): how many tensors have a non-zero flag.
   Integer tensors are always finite. */
vt_status vt_optim_nonfinite(int n, const vt_tensor* const* ts, int32_t* flags, int* count);
