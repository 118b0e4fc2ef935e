/* elementwise.h — unary and binary math, where, clamp, lerp, fill: one value out per element.
 *
 * Shapes: binary ops, where and lerp broadcast their inputs with NumPy rules
 * ((3,1) with (4) gives (3,4)). Dtypes: unary math on integers computes in f32 (as PyTorch);
 * neg/abs/sign/square/relu keep integer dtypes; binary ops promote (dtype.h); div and pow with a
 * fractional exponent on integers give f32; comparisons and logical ops give bool. A number
 * with a bool tensor gives i64 (True + 1 == 2), except 0/1 with logical ops.
 * f16/bf16 compute in f32 and round once on store. Integer overflow wraps.
 * Aliasing: out may be exactly an input (in place); an input that overlaps out in any other way
 * (a shifted view of the same storage) is copied first, so results never depend on the order in
 * which elements are written.
 *
 * Output convention (all ops here): out == NULL allocates the result into *res (a new reference);
 * out != NULL writes into out (shape and dtype must be the result's; out may be one of the
 * inputs, which gives an in-place op) and *res, when res is not NULL, receives out retained.
 *
 *   vt_tensor* y;
 *   vt_binary(vt_op_lookup("add"), a, b, NULL, &y);     // y = a + b, new tensor
 *   vt_binary(vt_op_lookup("mul"), a, b, a, NULL);      // a *= b, in place
 */
#pragma once
#include "volt/tensor.h"

/* y = f(x) for a unary op id (neg, abs, exp, ..., logical_not). */
vt_status vt_unary(int op, const vt_tensor* x, vt_tensor* out, vt_tensor** res);
/* y = a (op) b for a binary op id (add, sub, ..., logical_or). */
vt_status vt_binary(int op, const vt_tensor* a, const vt_tensor* b, vt_tensor* out, vt_tensor** res);
/* y = a (op) s, or s (op) a when reverse != 0. s is a "weak" scalar as in PyTorch: it does not
   widen a's dtype, except that a fractional s with an integer tensor gives f32. */
vt_status vt_binary_scalar(int op, const vt_tensor* a, double s, int reverse, vt_tensor* out,
                           vt_tensor** res);
/* y = cond ? a : b (cond is any dtype, non-zero = true); result dtype promote(a, b). */
vt_status vt_where(const vt_tensor* cond, const vt_tensor* a, const vt_tensor* b, vt_tensor* out,
                   vt_tensor** res);
/* y = min(max(x, lo), hi); pass -INFINITY / INFINITY for an absent bound. NaN stays NaN. */
vt_status vt_clamp(const vt_tensor* x, double lo, double hi, vt_tensor* out, vt_tensor** res);
/* y = a + w * (b - a); w is a tensor (broadcast) or, when w is NULL, the scalar ws. */
vt_status vt_lerp(const vt_tensor* a, const vt_tensor* b, const vt_tensor* w, double ws,
                  vt_tensor* out, vt_tensor** res);
/* Sets every element of t to value (converted to t's dtype). */
vt_status vt_fill_(vt_tensor* t, double value);
