/* fused.h — fused layers and losses: linear, cross-entropy and scaled dot-product attention.
 *
 * Each is one op (one kernel call, one autograd node) where the composite would take several and
 * materialise intermediates. Dimension letters: M = rows (all leading dims flattened), In/Out =
 * features, C = classes, B.. = batch dims (any number, e.g. batch and heads), T = query length,
 * S = key length, D = query/key width, Dv = value width.
 *
 *   linear                 x (.., In) · w (Out, In)ᵀ + b (Out)   -> y (.., Out)
 *                          one GEMM with the bias pre-filled into y (beta = 1).
 *   cross_entropy          logits (M, C), target (M) 1-based   -> loss () or (M)
 *                          log-softmax + NLL (+ label smoothing) per row in one pass; saves the
 *                          row logsumexp (M) for the backward.
 *   scaled_dot_product_attention
 *                          q (B.., T, D), k (B.., S, D), v (B.., S, Dv) -> o (B.., T, Dv)
 *                          softmax(q kᵀ · scale [+ causal mask]) v per batch-head with BLAS,
 *                          saving the row logsumexp (B.., T); the backward recomputes the
 *                          probabilities (flash-attention style) instead of storing them.
 *
 * Dtypes: f32 and f64 run natively (sgemm/dgemm); f16 and bf16 compute in f32 and round the
 * result once; anything else is an error naming the op. Inputs may have any strides (copied to
 * contiguous where the kernel needs it). All three record autograd when an input requires grad.
 *
 * Ownership: results are new references the caller releases (vt_tensor_release).
 *
 *   vt_tensor* y;
 *   if (vt_linear(x, w, b, &y) != VT_OK) fprintf(stderr, "%s\n", vt_last_error());
 *   // "linear: x has 3 features (shape [2, 3]), weight (4, 5) expects 5"
 */
#pragma once
#include "volt/tensor.h"

/* y = x wᵀ + b (torch.nn.functional.linear). x: (.., In) with at least 1 dim; w: (Out, In);
   b: (Out) or NULL. [out] y: (.., Out), x's dtype (x and w must have the same float dtype). */
vt_status vt_linear(const vt_tensor* x, const vt_tensor* w, const vt_tensor* b, vt_tensor** y);

/* Reductions of vt_cross_entropy. */
typedef enum vt_reduction {
  VT_REDUCTION_NONE = 0, /* per-row losses (M)                                        */
  VT_REDUCTION_MEAN = 1, /* sum / sum of weight[target] over non-ignored rows (0-d)   */
  VT_REDUCTION_SUM = 2   /* sum (0-d)                                                 */
} vt_reduction;

/* Cross-entropy of logits against class targets (torch.nn.functional.cross_entropy with the
   classes last). logits: (M, C) float; target: (M) i64 or i32 holding 1-based classes 1..C or
   ignore_index; weight: (C) class weights or NULL; label_smoothing in [0, 1]:
     q_c = (1 - eps) w_y [c == y] + eps / C w_c,   l_i = -sum_c q_c log softmax(logits_i)_c
   (w = 1 without weights; ignored rows give 0). 'mean' divides the sum by the sum of w_y over
   the non-ignored rows (NaN when all are ignored, as PyTorch). A target outside 1..C that is not
   ignore_index is an error naming it. [out] loss: 0-d, or (M) for VT_REDUCTION_NONE. */
vt_status vt_cross_entropy(const vt_tensor* logits, const vt_tensor* target,
                           const vt_tensor* weight, int64_t ignore_index, double label_smoothing,
                           int reduction, vt_tensor** loss);

/* The gradient of vt_cross_entropy's loss with respect to the logits, given the upstream
   gradient g (0-d, or (M) for VT_REDUCTION_NONE) and the row logsumexp lse (M) the forward
   computed: dlogits_i = (softmax(logits_i) sum_c q_c - q) * scale_i. Used by autograd.
   [out] dlogits: (M, C), g's dtype. */
vt_status vt_cross_entropy_backward(const vt_tensor* g, const vt_tensor* logits,
                                    const vt_tensor* target, const vt_tensor* weight,
                                    const vt_tensor* lse, int64_t ignore_index,
                                    double label_smoothing, int reduction, vt_tensor** dlogits);

/* Attention (torch.nn.functional.scaled_dot_product_attention without dropout or a mask tensor):
     o = softmax(q kᵀ · scale + mask) v
   q: (B.., T, D), k: (B.., S, D), v: (B.., S, Dv), the same batch dims B.. (no broadcasting) and
   float dtype. causal != 0 masks key j for query i when j > i (PyTorch's is_causal: the mask is
   aligned to the top-left corner, so with T > S the last rows see every key). scale <= 0 means
   1 / sqrt(D). [out] o: (B.., T, Dv); lse (may be NULL): the row logsumexp (B.., T) in the
   compute dtype (f32 or f64), what vt_sdpa_backward needs. */
vt_status vt_sdpa(const vt_tensor* q, const vt_tensor* k, const vt_tensor* v, int causal,
                  double scale, vt_tensor** o, vt_tensor** lse);

/* The gradients of vt_sdpa given its inputs, output o, row logsumexp lse and the upstream
   gradient g (B.., T, Dv): dV = Pᵀ g, dP = g vᵀ, dS = P ∘ (dP - rowsum(g ∘ o)),
   dq = dS k · scale, dk = dSᵀ q · scale, P recomputed from lse. Used by autograd.
   [out] dq, dk, dv: the shapes of q, k, v in their dtype. */
vt_status vt_sdpa_backward(const vt_tensor* g, const vt_tensor* q, const vt_tensor* k,
                           const vt_tensor* v, const vt_tensor* o, const vt_tensor* lse,
                           int causal, double scale, vt_tensor** dq, vt_tensor** dk,
                           vt_tensor** dv);

/* Causal or plain self-attention straight from a packed projection (nanoGPT's
   CausalSelfAttention without copies): qkv (B, T, 3E) holds q, k, v side by side on the last dim,
   each split into num_heads heads of width D = E / num_heads; y (B, T, E) holds the heads'
   outputs side by side, i.e. the same as
     q, k, v = split(qkv) -> (B, H, T, D); y = sdpa(q, k, v) -> (B, T, H, D) -> (B, T, E).
   scale <= 0 means 1 / sqrt(D). Float dtypes as vt_sdpa. [out] y; lse (may be NULL): the row
   logsumexp (B, H, T) in the compute dtype. */
vt_status vt_sdpa_qkv(const vt_tensor* qkv, int64_t num_heads, int causal, double scale,
                      vt_tensor** y, vt_tensor** lse);

/* The gradient of vt_sdpa_qkv given qkv, its output y, lse and the upstream gradient g (B, T, E).
   [out] dqkv: qkv's shape and dtype. Used by autograd. */
vt_status vt_sdpa_qkv_backward(const vt_tensor* g, const vt_tensor* qkv, const vt_tensor* y,
                               const vt_tensor* lse, int64_t num_heads, int causal, double scale,
                               vt_tensor** dqkv);

/* The gradient of GELU (volt.gelu) in one pass: dx = g · GELU'(x), exact (erf) form, or the tanh
   approximation when tanh_form != 0. g and x: the same shape and float dtype (f16/bf16 computed
   in f32). [out] dx: x's shape and dtype. Used by autograd. */
vt_status vt_gelu_backward(const vt_tensor* g, const vt_tensor* x, int tanh_form, vt_tensor** dx);
