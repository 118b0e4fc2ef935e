/* reduce.h — reductions over dims (sum, mean, var, max, ...), max/argmax with indices, softmax and
 * cumsum.
 *
 * Ops (ids from vt_op_lookup; the op list's kinds in brackets):
 *   [reduce]      sum mean prod amax amin var std logsumexp norm all any  — over any set of dims
 *   [reduce_idx]  max min argmax argmin                                    — along one dim, or all
 *   [softmax]     softmax log_softmax                                      — along one dim
 *   [scan]        cumsum                                                   — along one dim
 *
 * Result dtypes:
 *   sum, prod          integer and bool inputs give i64 (PyTorch); float inputs keep their dtype
 *   mean var std logsumexp norm softmax log_softmax
 *                      float inputs keep their dtype; integer and bool inputs compute in f32
 *                      (as the unary math ops of elementwise.h do) and give f32
 *   amax amin          the input's dtype (every dtype, bool included)
 *   all any            bool (any input dtype; non-zero and NaN are true)
 *   max min            values: the input's dtype; indices: i64
 *   argmax argmin      i64
 *   cumsum             integer and bool inputs give i64, floats keep their dtype; or the dtype asked
 *
 * Accumulation: floating-point inputs (f16, bf16, f32, f64) accumulate in double and round once
 * when the result is stored; integer sums and products accumulate in int64 (wrapping on
 * overflow). var/std use per-chunk two-pass sums merged with Chan's formula; logsumexp and
 * softmax subtract the maximum first. Work is split into pieces whose size depends only on the
 * shapes, never on the thread count, so results are bitwise the same on 1 or N threads.
 *
 * NaN: sums, products, means, var and norms propagate NaN as arithmetic does; amax/amin/max/min
 * return NaN when the reduced elements contain one (max/min/argmax/argmin give the index of the
 * first NaN). Ties in max/min/argmax/argmin give the first occurrence.
 *
 * Empty reductions (zero elements reduced into an output): sum 0, prod 1, mean NaN, var/std NaN,
 * logsumexp -inf, norm 0, all true, any false; amax, amin, max, min, argmax and argmin fail
 * (there is no identity) with an error naming the op.
 *
 * Dims are 0-based here (negative counts from the end; a 0-d tensor accepts 0 and -1). keepdim
 * != 0 keeps each reduced dim with size 1, else it is removed.
 *
 * Output convention (vt_reduce, vt_softmax, vt_cumsum): out == NULL allocates the result into
 * *res (a new reference); out != NULL writes into out (shape and dtype must be the result's) and
 * *res, when res is not NULL, receives out retained. A reduction's out must not share memory with
 * its input; softmax and cumsum accept out == the input (in place) but no other overlap.
 *
 *   vt_tensor *s, *vals, *idx;
 *   int d = 1;
 *   vt_reduce(vt_op_lookup("sum"), x, 1, &d, 0, 0, NULL, &s);     // x (N, C) -> s (N)
 *   vt_reduce(vt_op_lookup("var"), x, 0, NULL, 0, 1.0, NULL, &s);  // unbiased var of all, 0-d
 *   vt_reduce_index(vt_op_lookup("max"), x, 1, 0, 0, &vals, &idx); // (N) values, (N) i64 indices
 *   vt_softmax(vt_op_lookup("log_softmax"), x, -1, NULL, &s);      // (N, C)
 */
#pragma once
#include "volt/tensor.h"

/* Reduces x over a set of dims.
 *   op       a [reduce] op id
 *   x        the input, any shape (0-d included), any strides, any dtype (see above)
 *   ndims    number of entries in dims, 0..8; 0 reduces every dim
 *   dims     (ndims) distinct dims (0-based, negative from the end); may be NULL when ndims == 0
 *   keepdim  != 0 keeps reduced dims with size 1
 *   param    var, std: the correction (1 = Bessel's, 0 = population), divisor max(0, N - param);
 *            norm: p (2 Euclidean, 1, INFINITY max |x|, -INFINITY min |x|, 0 count of non-zeros,
 *            any other p gives (sum |x|^p)^(1/p)); ignored by the other ops; never NaN
 *   out      NULL, or a tensor of the result's shape and dtype to write into
 *   res      [out] the result (see the output convention); may be NULL when out is given */
vt_status vt_reduce(int op, const vt_tensor* x, int ndims, const int* dims, int keepdim,
                    double param, vt_tensor* out, vt_tensor** res);

/* Maximum / minimum along one dim with their positions (torch.max(x, dim)).
 *   op       max, min, argmax or argmin (argmax/argmin are max/min whose values are not wanted)
 *   x        the input, any shape, strides and dtype
 *   dim      the dim (0-based, negative from the end), or VT_ALL_DIMS: x flattened in row-major
 *            order (the index is then a row-major linear index)
 *   keepdim  != 0 keeps the reduced dim with size 1 (with VT_ALL_DIMS: every dim, size 1)
 *   base     added to every index: 0 for 0-based positions, 1 for Lua's 1-based ones
 *   values   [out] NULL, or receives the extreme values (x's dtype), a new reference
 *   indices  [out] NULL, or receives their positions (i64), a new reference
 * At least one of values and indices must be given. Fails when the reduced dim is empty. */
vt_status vt_reduce_index(int op, const vt_tensor* x, int dim, int keepdim, int64_t base,
                          vt_tensor** values, vt_tensor** indices);

/* softmax / log_softmax of x along dim, computed as exp(x - max) / sum (log: x - max - log sum).
 *   op       softmax or log_softmax
 *   x        any shape and strides; float dtypes keep theirs, integers and bool give f32
 *   dim      0-based, negative from the end (a 0-d tensor accepts 0 and -1)
 *   out/res  the output convention; out may be x itself (in place) */
vt_status vt_softmax(int op, const vt_tensor* x, int dim, vt_tensor* out, vt_tensor** res);

/* Inclusive cumulative sum of x along dim: y[..., i, ...] = sum of x[..., 0..i, ...].
 *   x        any shape and strides, any dtype
 *   dim      0-based, negative from the end (a 0-d tensor accepts 0 and -1)
 *   dt       the result dtype (a vt_dtype), or -1 for the default (i64 for integers and bool,
 *            else x's dtype). Float results accumulate in double, integer results in int64.
 *   out/res  the output convention; out may be x itself (in place) */
vt_status vt_cumsum(const vt_tensor* x, int dim, int dt, vt_tensor* out, vt_tensor** res);
