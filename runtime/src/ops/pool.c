/* pool.c — front-end of the pooling family (volt/pool.h): validation with messages naming the
 * op, PyTorch's output-size rules, contiguous copies of strided inputs, output allocation,
 * dispatch and autograd recording. The kernels (backend/cpu/cpu_pool.c) see only contiguous
 * tensors of one float dtype.
 *
 * Kernel contract (kind NN; every tensor contiguous, 4-d, same dtype except indices (i64)):
 *   max_pool2d           in[0] = x (N, C, H, W); out[0] = y (N, C, Ho, Wo);
 *                        out[1] = indices (N, C, Ho, Wo) i64, 1-based in the plane, or NULL;
 *                        i[0..7] = kh, kw, sh, sw, ph, pw, dh, dw
 *   avg_pool2d           in[0] = x; out[0] = y;
 *                        i[0..5] = kh, kw, sh, sw, ph, pw; i[6] = count_include_pad;
 *                        i[7] = divisor_override (0 = none)
 *   adaptive_avg_pool2d  in[0] = x; out[0] = y (the window of each output from the shapes)
 *   max_pool2d_backward  in[0] = gy (N, C, Ho, Wo), in[1] = indices (N, C, Ho, Wo) i64;
 *                        out[0] = gx (N, C, H, W), overwritten
 *   avg_pool2d_backward  in[0] = gy; out[0] = gx; i[] as avg_pool2d
 *   adaptive_avg_pool2d_backward  in[0] = gy; out[0] = gx
 * The backward kernels are op-list entries (not private helpers) so that every backend provides
 * them through the same table; they are not differentiable themselves.
 *
 * Autograd: the three forward ops record a node with i[] as above (max_pool2d saves its indices
 * as extra[0]; avg_pool2d keeps ceil_mode in f[0]); formulas_pool.c calls the backward functions.
 */
#include <string.h>
#include "autograd/ag.h"
#include "core/util.h"
#include "ops/op.h"
#include "volt/pool.h"

/* ---------------------------------------------------------------------------------------- */
/* validation and shapes                                                                     */
/* ---------------------------------------------------------------------------------------- */
static vt_status pool_check_float(const char* op, const char* what, const vt_tensor* t) {
  VT_TRY(vt_check_tensor(op, what, t));
  if (t->ndim != 4)
    return vt_set_error(VT_ERR_SHAPE, "%s: expected a 4-d %s (N, C, H, W), got shape %s", op, what,
                        vt_shape_s(t));
  if (t->dt != VT_DTYPE_F32 && t->dt != VT_DTYPE_F64 && t->dt != VT_DTYPE_F16 &&
      t->dt != VT_DTYPE_BF16)
    return vt_set_error(VT_ERR_DTYPE, "%s: %s dtype %s is not supported (f32, f64, f16, bf16)", op,
                        what, vt_dtype_name((vt_dtype)t->dt));
  return VT_OK;
}

static vt_status pool_check_input(const char* op, const vt_tensor* x) {
  VT_TRY(pool_check_float(op, "input", x));
  if (x->sizes[2] < 1 || x->sizes[3] < 1)
    return vt_set_error(VT_ERR_SHAPE, "%s: the input's planes are empty (shape %s)", op,
                        vt_shape_s(x));
  return VT_OK;
}

static vt_status pool_check_hw(const char* op, const int64_t* hw) {
  VT_CHECK_ARG(hw != NULL, "%s: NULL input size", op);
  VT_CHECK_ARG(hw[0] >= 1 && hw[1] >= 1, "%s: input size must be >= 1 (got %lld x %lld)", op,
               (long long)hw[0], (long long)hw[1]);
  return VT_OK;
}

/* kernel, stride, padding (and dilation when given): sizes >= 1, 0 <= padding <= kernel / 2 */
static vt_status pool_check_params(const char* op, const int64_t* k, const int64_t* s,
                                   const int64_t* p, const int64_t* d) {
  VT_CHECK_ARG(k && s && p, "%s: NULL kernel_size, stride or padding", op);
  VT_CHECK_ARG(k[0] >= 1 && k[1] >= 1, "%s: kernel_size must be >= 1 (got %lld x %lld)", op,
               (long long)k[0], (long long)k[1]);
  VT_CHECK_ARG(s[0] >= 1 && s[1] >= 1, "%s: stride must be >= 1 (got %lld x %lld)", op,
               (long long)s[0], (long long)s[1]);
  if (d)
    VT_CHECK_ARG(d[0] >= 1 && d[1] >= 1, "%s: dilation must be >= 1 (got %lld x %lld)", op,
                 (long long)d[0], (long long)d[1]);
  VT_CHECK_ARG(p[0] >= 0 && p[1] >= 0 && p[0] <= k[0] / 2 && p[1] <= k[1] / 2,
               "%s: padding must be between 0 and half the kernel size (got padding %lld x %lld "
               "for kernel %lld x %lld)",
               op, (long long)p[0], (long long)p[1], (long long)k[0], (long long)k[1]);
  return VT_OK;
}

/* Output size along one dim (PyTorch's pooling_output_shape). */
static vt_status pool_out_dim(const char* op, const char* dim, int64_t n, int64_t k, int64_t s,
                              int64_t p, int64_t d, int ceil_mode, int64_t* o) {
  int64_t span = d * (k - 1) + 1;
  if (span > n + 2 * p)
    return vt_set_error(VT_ERR_SHAPE,
                        "%s: the window (kernel %lld, dilation %lld: %lld elements) is larger than "
                        "the padded input %s (%lld + 2 x padding %lld); the output would be empty",
                        op, (long long)k, (long long)d, (long long)span, dim, (long long)n,
                        (long long)p);
  int64_t r = (n + 2 * p - span + (ceil_mode ? s - 1 : 0)) / s + 1;
  if (ceil_mode && (r - 1) * s >= n + p) r--; /* the last window must start inside */
  *o = r;
  return VT_OK;
}

/* c = a contiguous copy of t (or t retained), without recording autograd. */
static vt_status pool_contiguous(const vt_tensor* t, vt_tensor** c) {
  int mode = vt_ag_mode;
  vt_ag_mode = 0;
  vt_status s = vt_tensor_contiguous(t, c);
  vt_ag_mode = mode;
  return s;
}

/* Allocates (N, C, h, w) of dt and dispatches a. in[0] is made contiguous here. */
static vt_status pool_run(vt_op_args* a, const vt_tensor* in0, vt_dtype dt, int64_t h, int64_t w,
                          vt_tensor** res) {
  int64_t shape[4] = {in0->sizes[0], in0->sizes[1], h, w};
  vt_tensor* xc = NULL;
  VT_TRY(pool_contiguous(in0, &xc));
  vt_status s = vt_tensor_empty(4, shape, dt, in0->dev, res);
  if (s == VT_OK) {
    a->in[0] = xc;
    a->out[0] = *res;
    s = vt_dispatch(in0->dev, a);
    if (s != VT_OK) {
      vt_tensor_release(*res);
      *res = NULL;
    }
  }
  vt_tensor_release(xc);
  return s;
}

/* ---------------------------------------------------------------------------------------- */
/* max_pool2d                                                                                */
/* ---------------------------------------------------------------------------------------- */
static vt_status max_impl(const vt_tensor* x, const int64_t* k, const int64_t* st, const int64_t* p,
                          const int64_t* d, int ceil_mode, vt_tensor** y, vt_tensor** idx) {
  const char* op = "max_pool2d";
  VT_TRY(pool_check_input(op, x));
  VT_TRY(pool_check_params(op, k, st, p, d));
  int64_t Ho = 0, Wo = 0;
  VT_TRY(pool_out_dim(op, "height", x->sizes[2], k[0], st[0], p[0], d[0], ceil_mode, &Ho));
  VT_TRY(pool_out_dim(op, "width", x->sizes[3], k[1], st[1], p[1], d[1], ceil_mode, &Wo));
  vt_op_args a = {.op = VT_OP_max_pool2d, .nin = 1,
                  .i = {k[0], k[1], st[0], st[1], p[0], p[1], d[0], d[1]}};
  if (idx) {
    int64_t shape[4] = {x->sizes[0], x->sizes[1], Ho, Wo};
    VT_TRY(vt_tensor_empty(4, shape, VT_DTYPE_I64, x->dev, idx));
    a.out[1] = *idx;
  }
  vt_status s = pool_run(&a, x, (vt_dtype)x->dt, Ho, Wo, y);
  if (s != VT_OK && idx) {
    vt_tensor_release(*idx);
    *idx = NULL;
  }
  return s;
}

vt_status vt_max_pool2d(const vt_tensor* x, const int64_t* kernel, const int64_t* stride,
                        const int64_t* padding, const int64_t* dilation, int ceil_mode,
                        vt_tensor** y, vt_tensor** indices) {
  VT_CHECK_ARG(y != NULL, "max_pool2d: NULL output");
  VT_CHECK_ARG(dilation != NULL, "max_pool2d: NULL dilation");
  *y = NULL;
  if (indices) *indices = NULL;
  int ag = vt_ag_on1(x);
  vt_tensor* idx = NULL;
  vt_status s = max_impl(x, kernel, stride, padding, dilation, ceil_mode, y,
                         indices || ag ? &idx : NULL);
  if (s == VT_OK && ag) {
    vt_ag_rec r = {.op = VT_OP_max_pool2d, .nin = 1, .in = {x}, .extra = {idx}};
    memcpy(r.i, (int64_t[8]){kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1],
                             dilation[0], dilation[1]}, sizeof r.i);
    s = vt_ag_record(&r, NULL, y);
  }
  if (s == VT_OK && indices) {
    *indices = idx;
  } else if (idx) {
    vt_tensor_release(idx);
  }
  return s;
}

vt_status vt_max_pool2d_backward(const vt_tensor* g, const vt_tensor* indices,
                                 const int64_t* input_hw, vt_tensor** gx) {
  const char* op = "max_pool2d_backward";
  VT_CHECK_ARG(gx != NULL, "%s: NULL output", op);
  *gx = NULL;
  VT_TRY(pool_check_float(op, "gradient", g));
  VT_TRY(vt_check_tensor(op, "indices", indices));
  VT_TRY(pool_check_hw(op, input_hw));
  if (indices->dt != VT_DTYPE_I64)
    return vt_set_error(VT_ERR_DTYPE, "%s: indices must be i64, got %s", op,
                        vt_dtype_name((vt_dtype)indices->dt));
  if (indices->ndim != 4 || memcmp(indices->sizes, g->sizes, 4 * sizeof(int64_t)) != 0)
    return vt_set_error(VT_ERR_SHAPE, "%s: indices have shape %s, the gradient %s (they must match)",
                        op, vt_shape_s(indices), vt_shape_s(g));
  if (!vt_same_device(g->dev, indices->dev))
    return vt_set_error(VT_ERR_DEVICE, "%s: the gradient and the indices are on different devices",
                        op);
  vt_tensor* ic = NULL;
  VT_TRY(pool_contiguous(indices, &ic));
  vt_op_args a = {.op = VT_OP_max_pool2d_backward, .nin = 2, .in = {NULL, ic}};
  vt_status s = pool_run(&a, g, (vt_dtype)g->dt, input_hw[0], input_hw[1], gx);
  vt_tensor_release(ic);
  return s;
}

/* ---------------------------------------------------------------------------------------- */
/* avg_pool2d                                                                                */
/* ---------------------------------------------------------------------------------------- */
static vt_status avg_shape(const char* op, int64_t H, int64_t W, const int64_t* k, const int64_t* st,
                           const int64_t* p, int ceil_mode, int64_t divisor_override, int64_t* Ho,
                           int64_t* Wo) {
  VT_TRY(pool_check_params(op, k, st, p, NULL));
  VT_CHECK_ARG(divisor_override >= 0, "%s: divisor_override must be positive (got %lld)", op,
               (long long)divisor_override);
  VT_TRY(pool_out_dim(op, "height", H, k[0], st[0], p[0], 1, ceil_mode, Ho));
  VT_TRY(pool_out_dim(op, "width", W, k[1], st[1], p[1], 1, ceil_mode, Wo));
  return VT_OK;
}

vt_status vt_avg_pool2d(const vt_tensor* x, const int64_t* kernel, const int64_t* stride,
                        const int64_t* padding, int ceil_mode, int count_include_pad,
                        int64_t divisor_override, vt_tensor** y) {
  const char* op = "avg_pool2d";
  VT_CHECK_ARG(y != NULL, "%s: NULL output", op);
  *y = NULL;
  VT_TRY(pool_check_input(op, x));
  int64_t Ho = 0, Wo = 0;
  VT_TRY(avg_shape(op, x->sizes[2], x->sizes[3], kernel, stride, padding, ceil_mode,
                   divisor_override, &Ho, &Wo));
  vt_op_args a = {.op = VT_OP_avg_pool2d, .nin = 1,
                  .i = {kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1],
                        count_include_pad != 0, divisor_override}};
  vt_status s = pool_run(&a, x, (vt_dtype)x->dt, Ho, Wo, y);
  if (s == VT_OK && vt_ag_on1(x)) {
    vt_ag_rec r = {.op = VT_OP_avg_pool2d, .nin = 1, .in = {x}};
    memcpy(r.i, a.i, sizeof r.i);
    r.f[0] = ceil_mode != 0;
    s = vt_ag_record(&r, NULL, y);
  }
  return s;
}

vt_status vt_avg_pool2d_backward(const vt_tensor* g, const int64_t* input_hw, const int64_t* kernel,
                                 const int64_t* stride, const int64_t* padding, int ceil_mode,
                                 int count_include_pad, int64_t divisor_override, vt_tensor** gx) {
  const char* op = "avg_pool2d_backward";
  VT_CHECK_ARG(gx != NULL, "%s: NULL output", op);
  *gx = NULL;
  VT_TRY(pool_check_float(op, "gradient", g));
  VT_TRY(pool_check_hw(op, input_hw));
  int64_t Ho = 0, Wo = 0;
  VT_TRY(avg_shape(op, input_hw[0], input_hw[1], kernel, stride, padding, ceil_mode,
                   divisor_override, &Ho, &Wo));
  if (g->sizes[2] != Ho || g->sizes[3] != Wo)
    return vt_set_error(VT_ERR_SHAPE, "%s: the gradient has shape %s, the pooling gives %lld x %lld",
                        op, vt_shape_s(g), (long long)Ho, (long long)Wo);
  vt_op_args a = {.op = VT_OP_avg_pool2d_backward, .nin = 1,
                  .i = {kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1],
                        count_include_pad != 0, divisor_override}};
  return pool_run(&a, g, (vt_dtype)g->dt, input_hw[0], input_hw[1], gx);
}

/* ---------------------------------------------------------------------------------------- */
/* adaptive_avg_pool2d                                                                       */
/* ---------------------------------------------------------------------------------------- */
vt_status vt_adaptive_avg_pool2d(const vt_tensor* x, const int64_t* output_size, vt_tensor** y) {
  const char* op = "adaptive_avg_pool2d";
  VT_CHECK_ARG(y != NULL, "%s: NULL output", op);
  *y = NULL;
  VT_TRY(pool_check_input(op, x));
  VT_CHECK_ARG(output_size != NULL, "%s: NULL output_size", op);
  VT_CHECK_ARG(output_size[0] >= 1 && output_size[1] >= 1,
               "%s: output_size must be >= 1 (got %lld x %lld)", op, (long long)output_size[0],
               (long long)output_size[1]);
  vt_op_args a = {.op = VT_OP_adaptive_avg_pool2d, .nin = 1};
  vt_status s = pool_run(&a, x, (vt_dtype)x->dt, output_size[0], output_size[1], y);
  if (s == VT_OK && vt_ag_on1(x))
    s = vt_ag_record(&(vt_ag_rec){.op = VT_OP_adaptive_avg_pool2d, .nin = 1, .in = {x}}, NULL, y);
  return s;
}

vt_status vt_adaptive_avg_pool2d_backward(const vt_tensor* g, const int64_t* input_hw,
                                          vt_tensor** gx) {
  const char* op = "adaptive_avg_pool2d_backward";
  VT_CHECK_ARG(gx != NULL, "%s: NULL output", op);
  *gx = NULL;
  VT_TRY(pool_check_float(op, "gradient", g));
  VT_TRY(pool_check_hw(op, input_hw));
  VT_CHECK_ARG(g->sizes[2] >= 1 && g->sizes[3] >= 1, "%s: the gradient's planes are empty (shape %s)",
               op, vt_shape_s(g));
  vt_op_args a = {.op = VT_OP_adaptive_avg_pool2d_backward, .nin = 1};
  return pool_run(&a, g, (vt_dtype)g->dt, input_hw[0], input_hw[1], gx);
}
