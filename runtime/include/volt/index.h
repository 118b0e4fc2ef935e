/* index.h — indexing and data movement: index_select, gather, scatter (+ add), index_add,
 * masked_fill, cat, one_hot, tril/triu.
 *
 * Index tensors are i64 or i32 (both accepted). Their values count from `base`: the C API passes
 * base 0, the Lua library passes 1, so Lua users write 1-based indices without a subtraction
 * pass. Negative index values are NOT wrapped: every value must lie in [base, base + size) of
 * the indexed dim, else the op fails (VT_ERR_ARG) before anything is written, with a message that
 * names the op, the offending value and the valid range ("gather: index 7 out of range for dim 2
 * of size 5 (valid 1..5)"); dims in these messages are counted from the same base. Nothing is
 * ever read or written out of bounds.
 *
 * Shapes (torch semantics; d is the indexing dim, 0-based here, negative counts from the end):
 *   index_select  x (..., n_d, ...), index (k)                -> y (..., k, ...)
 *   gather        x, index of x's ndim, index.size(e) <= x.size(e) for e != d -> y (index's shape)
 *                 y[p] = x[p with p[d] = index[p]]
 *   scatter       x, index of x's ndim, src with index.size(e) <= src.size(e) for all e and
 *                 index.size(e) <= x.size(e) for e != d       -> y (x's shape)
 *                 y = x; then y[p with p[d] = index[p]] = src[p] for every p of index
 *   scatter_add   as scatter with += ; index_add: y = x; y[..., index[j], ...] += alpha*src[..., j, ...]
 *                 (src is x's shape with size(d) = index's length)
 *   masked_fill   y = where(mask, value, x); mask (any dtype, non-zero = true) broadcasts with x
 *   cat           tensors equal in every dim but d -> sizes(d) summed; 1-d empty tensors ([0])
 *                 are skipped in the shape check, as in PyTorch
 *   one_hot       labels (...) i32/i64 -> y (..., C) i64; C = num_classes, or max label + 1 -
 *                 base when num_classes is -1
 *   tril/triu     x (..., R, C), batched over leading dims: keep elements with col - row <= k
 *                 (tril) or >= k (triu), zero the rest
 *
 * Determinism: scatter with repeated indices writes in sequential (row-major) order of the index,
 * so the last write wins, on any thread count (PyTorch leaves this undefined). scatter_add and
 * index_add add each element's contributions in index order on any thread count (threads split
 * the dims that are not indexed). f16/bf16 add in f32 and round once per contribution.
 *
 * Dtypes: data movement (index_select, gather, scatter, masked_fill, cat, tril, triu) works for
 * every dtype; scatter's src is converted to x's dtype; cat's result dtype is the promotion of all
 * inputs (dtype.h). scatter_add/index_add need a numeric dtype (not bool); integer alpha must be
 * integral.
 *
 * Output convention (as elementwise.h): out == NULL allocates the result into *res (a new
 * reference); out != NULL writes into out (exact shape and dtype of the result) and *res, when
 * res is not NULL, receives out retained. For scatter, scatter_add, index_add, masked_fill, tril
 * and triu, out == x is the in-place form. An out that shares memory with an input of the
 * gather-like ops is handled through a temporary.
 *
 *   vt_tensor* y;
 *   vt_gather(x, 1, idx, 0, NULL, &y);                 // y = x.gather(1, idx), new tensor
 *   vt_scatter_value(x, 0, idx, 0, 0.0, x, NULL);      // x.scatter_(0, idx, 0.0), in place
 *   const vt_tensor* parts[2] = {a, b};
 *   vt_cat(2, parts, 0, NULL, &y);                     // y = cat([a, b], 0)
 */
#pragma once
#include <stdint.h>
#include "volt/tensor.h"

/* y = x.index_select(dim, index). index: (k) i32/i64. [out] res */
vt_status vt_index_select(const vt_tensor* x, int dim, const vt_tensor* index, int64_t base,
                          vt_tensor* out, vt_tensor** res);
/* y = x.gather(dim, index). y has index's shape. [out] res */
vt_status vt_gather(const vt_tensor* x, int dim, const vt_tensor* index, int64_t base,
                    vt_tensor* out, vt_tensor** res);
/* y = x.scatter(dim, index, src); out == x scatters in place. [out] res */
vt_status vt_scatter(const vt_tensor* x, int dim, const vt_tensor* index, int64_t base,
                     const vt_tensor* src, vt_tensor* out, vt_tensor** res);
/* y = x.scatter(dim, index, value): value converted to x's dtype. [out] res */
vt_status vt_scatter_value(const vt_tensor* x, int dim, const vt_tensor* index, int64_t base,
                           double value, vt_tensor* out, vt_tensor** res);
/* y = x.scatter_add(dim, index, src). [out] res */
vt_status vt_scatter_add(const vt_tensor* x, int dim, const vt_tensor* index, int64_t base,
                         const vt_tensor* src, vt_tensor* out, vt_tensor** res);
/* y = x.index_add(dim, index, src, alpha). index: (k); src: x's shape with size(dim) = k. */
vt_status vt_index_add(const vt_tensor* x, int dim, const vt_tensor* index, int64_t base,
                       const vt_tensor* src, double alpha, vt_tensor* out, vt_tensor** res);
/* y = x with value where mask is non-zero; y has the broadcast shape of x and mask. */
vt_status vt_masked_fill(const vt_tensor* x, const vt_tensor* mask, double value, vt_tensor* out,
                         vt_tensor** res);
/* y = cat(tensors[0..n), dim). n >= 1; all on one device. [out] res */
vt_status vt_cat(int n, const vt_tensor* const* tensors, int dim, vt_tensor* out, vt_tensor** res);
/* y = one_hot(labels, num_classes) (i64); num_classes -1 infers max label + 1 - base. */
vt_status vt_one_hot(const vt_tensor* labels, int64_t num_classes, int64_t base, vt_tensor* out,
                     vt_tensor** res);
/* Lower / upper triangle of the last two dims (diagonal offset k; k > 0 is above). */
vt_status vt_tril(const vt_tensor* x, int64_t k, vt_tensor* out, vt_tensor** res);
vt_status vt_triu(const vt_tensor* x, int64_t k, vt_tensor* out, vt_tensor** res);
