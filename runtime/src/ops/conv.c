/* conv.c — front-end of the convolutions (conv2d, conv_transpose2d, and the weight gradient of
 * conv2d): validation with messages naming the op, output shapes, contiguous inputs, output
 * allocation, autograd recording, dispatch. See volt/conv.h for the semantics.
 *
 * Kernel contract (kind NN, see op_list.h). All inputs contiguous, same dtype and device;
 * i[0..1] = stride (h, w), i[2..3] = padding, i[4..5] = dilation, i[6] = groups, i[7] = mode.
 *   conv2d, mode 0 (forward):   in[0] = x (N, C, H, W), in[1] = w (O, C/G, kh, kw),
 *                               in[2] = b (O) or NULL;  out[0] = y (N, O, Ho, Wo), any strides
 *   conv2d, mode 1 (weight gradient): in[0] = x (N, C, H, W), in[1] = gy (N, O, Ho, Wo);
 *                               out[0] = gw (O, C/G, kh, kw), contiguous
 *   conv_transpose2d:           in[0] = x (N, C, H, W), in[1] = w (C, O/G, kh, kw),
 *                               in[2] = b (O) or NULL;  out[0] = y (N, O, Ho, Wo), any strides
 *                               (its size carries the output padding)
 * Every size the kernel sees is >= 1 (the front-end returns early on empty results).
 */
#include <string.h>
#include "autograd/ag.h"
#include "core/util.h"
#include "ops/op.h"
#include "volt/conv.h"
#include "volt/elementwise.h"

/* ---------------------------------------------------------------------------------------- */
/* helpers                                                                                  */
/* ---------------------------------------------------------------------------------------- */
static void cv_extent(const vt_tensor* t, const char** lo, const char** hi) {
  *lo = *hi = (const char*)t->ptr;
  if (t->nelem == 0 || !t->ptr) return;
  int64_t last = 0;
  for (int d = 0; d < t->ndim; d++) last += (t->sizes[d] - 1) * t->strides[d];
  *hi = *lo + (last + 1) * (int64_t)vt_dtype_size(t->dt);
}

static int cv_overlaps(const vt_tensor* x, const vt_tensor* y) {
  if (!x || !y || !x->storage || x->storage != y->storage) return 0;
  const char *xl, *xh, *yl, *yh;
  cv_extent(x, &xl, &xh);
  cv_extent(y, &yl, &yh);
  return xl < yh && yl < xh;
}

static int cv_is_float(int dt) {
  return dt == VT_DTYPE_F32 || dt == VT_DTYPE_F64 || dt == VT_DTYPE_F16 || dt == VT_DTYPE_BF16;
}

/* Checks the tensors' presence, dims, dtypes and devices, and the integer parameters. */
static vt_status cv_check(const char* op, const vt_tensor* x, const vt_tensor* w,
                          const vt_tensor* b, const int64_t* stride, const int64_t* padding,
                          const int64_t* dilation, int64_t groups) {
  VT_TRY(vt_check_tensor(op, "input", x));
  VT_TRY(vt_check_tensor(op, "weight", w));
  if (b) VT_TRY(vt_check_tensor(op, "bias", b));
  VT_CHECK_ARG(stride && padding && dilation, "%s: NULL stride, padding or dilation", op);
  if (x->ndim != 4)
    return vt_set_error(VT_ERR_SHAPE, "%s: expected a 4-d input (N, C, H, W), got shape %s", op,
                        vt_shape_s(x));
  if (w->ndim != 4)
    return vt_set_error(VT_ERR_SHAPE, "%s: expected a 4-d weight, got shape %s", op, vt_shape_s(w));
  if (b && b->ndim != 1)
    return vt_set_error(VT_ERR_SHAPE, "%s: expected a 1-d bias, got shape %s", op, vt_shape_s(b));
  if (!cv_is_float(x->dt))
    return vt_set_error(VT_ERR_DTYPE, "%s: input has dtype %s; convolutions need a floating dtype "
                        "(f32, f64, f16, bf16)", op, vt_dtype_name(x->dt));
  if (w->dt != x->dt || (b && b->dt != x->dt))
    return vt_set_error(VT_ERR_DTYPE, "%s: input, weight and bias must have the same dtype (got "
                        "%s, %s, %s)", op, vt_dtype_name(x->dt), vt_dtype_name(w->dt),
                        b ? vt_dtype_name(b->dt) : "none");
  if (!vt_same_device(x->dev, w->dev) || (b && !vt_same_device(x->dev, b->dev)))
    return vt_set_error(VT_ERR_DEVICE, "%s: input, weight and bias must be on the same device "
                        "(input on %s:%d, weight on %s:%d)", op, vt_device_type_name(x->dev.type),
                        x->dev.index, vt_device_type_name(w->dev.type), w->dev.index);
  for (int k = 0; k < 2; k++) {
    if (stride[k] < 1)
      return vt_set_error(VT_ERR_ARG, "%s: stride must be >= 1, got (%lld, %lld)", op,
                          (long long)stride[0], (long long)stride[1]);
    if (dilation[k] < 1)
      return vt_set_error(VT_ERR_ARG, "%s: dilation must be >= 1, got (%lld, %lld)", op,
                          (long long)dilation[0], (long long)dilation[1]);
    if (padding[k] < 0)
      return vt_set_error(VT_ERR_ARG, "%s: padding must be >= 0, got (%lld, %lld)", op,
                          (long long)padding[0], (long long)padding[1]);
  }
  if (groups < 1) return vt_set_error(VT_ERR_ARG, "%s: groups must be >= 1, got %lld", op, (long long)groups);
  if (w->sizes[2] < 1 || w->sizes[3] < 1)
    return vt_set_error(VT_ERR_SHAPE, "%s: the kernel must be at least 1x1, weight has shape %s", op,
                        vt_shape_s(w));
  return VT_OK;
}

/* Contiguous versions of the inputs (new references; NULL stays NULL). */
static vt_status cv_contig(const vt_tensor* t, vt_tensor** c) {
  *c = NULL;
  if (!t) return VT_OK;
  return vt_tensor_contiguous(t, c);
}

static void cv_release3(vt_tensor* a, vt_tensor* b, vt_tensor* c) {
  if (a) vt_tensor_release(a);
  if (b) vt_tensor_release(b);
  if (c) vt_tensor_release(c);
}

/* Makes x, w, b contiguous, prepares the output and dispatches op (mode 0). */
static vt_status cv_run(const char* op, int opid, const vt_tensor* x, const vt_tensor* w,
                        const vt_tensor* b, const int64_t* p7, const int64_t* ysh, vt_tensor* out,
                        vt_tensor** res) {
  vt_tensor* target;
  VT_TRY(vt_prepare_out(op, out, 4, ysh, (vt_dtype)x->dt, x->dev, res, &target));
  if (out && (cv_overlaps(out, x) || cv_overlaps(out, w) || cv_overlaps(out, b))) {
    vt_out_abandon(out, res, target);
    return vt_set_error(VT_ERR_ARG, "%s: out shares memory with an input; pass a separate output "
                        "tensor", op);
  }
  if (target->nelem == 0) return VT_OK;
  vt_tensor *xc = NULL, *wc = NULL, *bc = NULL;
  vt_status s = cv_contig(x, &xc);
  if (s == VT_OK) s = cv_contig(w, &wc);
  if (s == VT_OK) s = cv_contig(b, &bc);
  if (s == VT_OK) {
    vt_op_args a = {.op = opid, .nin = 3, .in = {xc, wc, bc}, .out = {target}};
    memcpy(a.i, p7, sizeof(int64_t) * 7);
    a.i[7] = 0;
    s = vt_dispatch(target->dev, &a);
  }
  cv_release3(xc, wc, bc);
  if (s != VT_OK) vt_out_abandon(out, res, target);
  return s;
}

static void cv_pack(int64_t* p7, const int64_t* stride, const int64_t* padding,
                    const int64_t* dilation, int64_t groups) {
  p7[0] = stride[0], p7[1] = stride[1];
  p7[2] = padding[0], p7[3] = padding[1];
  p7[4] = dilation[0], p7[5] = dilation[1];
  p7[6] = groups;
}

/* ---------------------------------------------------------------------------------------- */
/* conv2d                                                                                   */
/* ---------------------------------------------------------------------------------------- */
/* The output size of conv2d along one dim (< 1 when the kernel does not fit). */
static int64_t cv_out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
  int64_t span = in + 2 * p - d * (k - 1) - 1;
  if (span < 0) return 0;
  return span / s + 1;
}

static vt_status vt_conv2d_impl(const vt_tensor* x, const vt_tensor* w, const vt_tensor* b,
                                const int64_t* stride, const int64_t* padding,
                                const int64_t* dilation, int64_t groups, vt_tensor* out,
                                vt_tensor** res) {
  const char* op = "conv2d";
  if (res) *res = NULL;
  VT_TRY(cv_check(op, x, w, b, stride, padding, dilation, groups));
  int64_t N = x->sizes[0], C = x->sizes[1], H = x->sizes[2], W = x->sizes[3];
  int64_t O = w->sizes[0], Cg = w->sizes[1], kh = w->sizes[2], kw = w->sizes[3];
  if (C < 1) return vt_set_error(VT_ERR_SHAPE, "conv2d: input has no channels (shape %s)", vt_shape_s(x));
  if (C % groups != 0)
    return vt_set_error(VT_ERR_SHAPE, "conv2d: input channels (%lld) are not divisible by groups "
                        "(%lld)", (long long)C, (long long)groups);
  if (O % groups != 0)
    return vt_set_error(VT_ERR_SHAPE, "conv2d: output channels (weight dim 1 = %lld) are not "
                        "divisible by groups (%lld)", (long long)O, (long long)groups);
  if (Cg * groups != C)
    return vt_set_error(VT_ERR_SHAPE, "conv2d: weight has %lld input channels per group, input has "
                        "%lld channels and groups = %lld (expected weight dim 2 = %lld)",
                        (long long)Cg, (long long)C, (long long)groups, (long long)(C / groups));
  if (b && b->sizes[0] != O)
    return vt_set_error(VT_ERR_SHAPE, "conv2d: bias has %lld elements, weight has %lld output "
                        "channels", (long long)b->sizes[0], (long long)O);
  int64_t Ho = cv_out_size(H, kh, stride[0], padding[0], dilation[0]);
  int64_t Wo = cv_out_size(W, kw, stride[1], padding[1], dilation[1]);
  if (Ho < 1 || Wo < 1)
    return vt_set_error(VT_ERR_SHAPE, "conv2d: the kernel (%lld x %lld, dilation (%lld, %lld)) is "
                        "larger than the padded input (%lld x %lld with padding (%lld, %lld))",
                        (long long)kh, (long long)kw, (long long)dilation[0], (long long)dilation[1],
                        (long long)H, (long long)W, (long long)padding[0], (long long)padding[1]);
  int64_t ysh[4] = {N, O, Ho, Wo}, p7[7];
  cv_pack(p7, stride, padding, dilation, groups);
  return cv_run(op, VT_OP_conv2d, x, w, b, p7, ysh, out, res);
}

vt_status vt_conv2d(const vt_tensor* x, const vt_tensor* w, const vt_tensor* b,
                    const int64_t* stride, const int64_t* padding, const int64_t* dilation,
                    int64_t groups, vt_tensor* out, vt_tensor** res) {
  vt_status s = vt_conv2d_impl(x, w, b, stride, padding, dilation, groups, out, res);
  if (s == VT_OK && vt_ag_on3(x, w, b)) {
    vt_ag_rec r = {.op = VT_OP_conv2d, .nin = 3, .in = {x, w, b}, .extra = {w}};
    cv_pack(r.i, stride, padding, dilation, groups);
    s = vt_ag_record(&r, out, res);
  }
  return s;
}

/* ---------------------------------------------------------------------------------------- */
/* conv_transpose2d                                                                         */
/* ---------------------------------------------------------------------------------------- */
static vt_status vt_conv_transpose2d_impl(const vt_tensor* x, const vt_tensor* w,
                                          const vt_tensor* b, const int64_t* stride,
                                          const int64_t* padding, const int64_t* opad,
                                          const int64_t* dilation, int64_t groups, vt_tensor* out,
                                          vt_tensor** res) {
  const char* op = "conv_transpose2d";
  if (res) *res = NULL;
  VT_TRY(cv_check(op, x, w, b, stride, padding, dilation, groups));
  VT_CHECK_ARG(opad != NULL, "conv_transpose2d: NULL output_padding");
  int64_t N = x->sizes[0], C = x->sizes[1], H = x->sizes[2], W = x->sizes[3];
  int64_t Cw = w->sizes[0], Og = w->sizes[1], kh = w->sizes[2], kw = w->sizes[3];
  if (C < 1) return vt_set_error(VT_ERR_SHAPE, "conv_transpose2d: input has no channels (shape %s)", vt_shape_s(x));
  if (Cw != C)
    return vt_set_error(VT_ERR_SHAPE, "conv_transpose2d: weight dim 1 (%lld) must equal the input "
                        "channels (%lld); the weight is (in_channels, out_channels / groups, kh, kw)",
                        (long long)Cw, (long long)C);
  if (C % groups != 0)
    return vt_set_error(VT_ERR_SHAPE, "conv_transpose2d: input channels (%lld) are not divisible by "
                        "groups (%lld)", (long long)C, (long long)groups);
  int64_t O = Og * groups;
  if (b && b->sizes[0] != O)
    return vt_set_error(VT_ERR_SHAPE, "conv_transpose2d: bias has %lld elements, the output has %lld "
                        "channels", (long long)b->sizes[0], (long long)O);
  for (int k = 0; k < 2; k++) {
    int64_t lim = stride[k] > dilation[k] ? stride[k] : dilation[k];
    if (opad[k] < 0 || opad[k] >= lim)
      return vt_set_error(VT_ERR_ARG, "conv_transpose2d: output_padding (%lld, %lld) must be >= 0 "
                          "and smaller than stride or dilation (stride (%lld, %lld), dilation "
                          "(%lld, %lld))", (long long)opad[0], (long long)opad[1],
                          (long long)stride[0], (long long)stride[1], (long long)dilation[0],
                          (long long)dilation[1]);
  }
  int64_t Ho = (H - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kh - 1) + opad[0] + 1;
  int64_t Wo = (W - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kw - 1) + opad[1] + 1;
  if (H < 1 || W < 1 || Ho < 1 || Wo < 1)
    return vt_set_error(VT_ERR_SHAPE, "conv_transpose2d: the output would be empty (%lld x %lld) "
                        "for an input of %lld x %lld, kernel %lld x %lld and padding (%lld, %lld)",
                        (long long)Ho, (long long)Wo, (long long)H, (long long)W, (long long)kh,
                        (long long)kw, (long long)padding[0], (long long)padding[1]);
  int64_t ysh[4] = {N, O, Ho, Wo}, p7[7];
  cv_pack(p7, stride, padding, dilation, groups);
  return cv_run(op, VT_OP_conv_transpose2d, x, w, b, p7, ysh, out, res);
}

vt_status vt_conv_transpose2d(const vt_tensor* x, const vt_tensor* w, const vt_tensor* b,
                              const int64_t* stride, const int64_t* padding,
                              const int64_t* output_padding, const int64_t* dilation,
                              int64_t groups, vt_tensor* out, vt_tensor** res) {
  vt_status s = vt_conv_transpose2d_impl(x, w, b, stride, padding, output_padding, dilation,
                                         groups, out, res);
  if (s == VT_OK && vt_ag_on3(x, w, b)) {
    vt_ag_rec r = {.op = VT_OP_conv_transpose2d, .nin = 3, .in = {x, w, b}, .extra = {w}};
    cv_pack(r.i, stride, padding, dilation, groups);
    s = vt_ag_record(&r, out, res);
  }
  return s;
}

/* ---------------------------------------------------------------------------------------- */
/* weight gradient of conv2d                                                                */
/* ---------------------------------------------------------------------------------------- */
vt_status vt_conv2d_weight_grad(const vt_tensor* x, const vt_tensor* gy, int64_t kh, int64_t kw,
                                const int64_t* stride, const int64_t* padding,
                                const int64_t* dilation, int64_t groups, vt_tensor** res) {
  const char* op = "conv2d_weight_grad";
  VT_CHECK_ARG(res != NULL, "%s: NULL result pointer", op);
  *res = NULL;
  VT_TRY(cv_check(op, x, gy, NULL, stride, padding, dilation, groups));
  int64_t N = x->sizes[0], C = x->sizes[1], H = x->sizes[2], W = x->sizes[3];
  int64_t O = gy->sizes[1];
  if (kh < 1 || kw < 1)
    return vt_set_error(VT_ERR_ARG, "%s: kernel size must be >= 1, got %lld x %lld", op,
                        (long long)kh, (long long)kw);
  if (C < 1 || C % groups != 0 || O % groups != 0)
    return vt_set_error(VT_ERR_SHAPE, "%s: channels (input %lld, output %lld) must be >= 1 and "
                        "divisible by groups (%lld)", op, (long long)C, (long long)O, (long long)groups);
  int64_t Ho = cv_out_size(H, kh, stride[0], padding[0], dilation[0]);
  int64_t Wo = cv_out_size(W, kw, stride[1], padding[1], dilation[1]);
  if (gy->sizes[0] != N || gy->sizes[2] != Ho || gy->sizes[3] != Wo || Ho < 1 || Wo < 1)
    return vt_set_error(VT_ERR_SHAPE, "%s: output gradient has shape %s, expected [%lld, %lld, "
                        "%lld, %lld] for input %s", op, vt_shape_s(gy), (long long)N, (long long)O,
                        (long long)Ho, (long long)Wo, vt_shape_s(x));
  int64_t gsh[4] = {O, C / groups, kh, kw};
  vt_tensor* gw = NULL;
  VT_TRY(vt_tensor_empty(4, gsh, (vt_dtype)x->dt, x->dev, &gw));
  vt_status s = VT_OK;
  if (N == 0 || O == 0) {
    s = vt_fill_(gw, 0);
  } else {
    vt_tensor *xc = NULL, *gc = NULL;
    s = cv_contig(x, &xc);
    if (s == VT_OK) s = cv_contig(gy, &gc);
    if (s == VT_OK) {
      vt_op_args a = {.op = VT_OP_conv2d, .nin = 2, .in = {xc, gc}, .out = {gw}};
      cv_pack(a.i, stride, padding, dilation, groups);
      a.i[7] = 1;
      s = vt_dispatch(gw->dev, &a);
    }
    cv_release3(xc, gc, NULL);
  }
  if (s != VT_OK) {
    vt_tensor_release(gw);
    return s;
  }
  *res = gw;
  return VT_OK;
}
