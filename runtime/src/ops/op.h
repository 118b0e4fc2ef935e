/* op.h — the op ids, the kernel calling convention and dispatch. Internal.
 *
 * The front-end (ops/<family>.c) validates, computes shapes and dtypes, allocates outputs and
 * expands inputs to the output shape when the kind says so; the kernel (backend/<dev>/...) only
 * computes. A kernel may assume: all tensors are on its device, dtypes are valid, shapes match
 * what the kind promises, outputs do not partially overlap inputs (exact aliasing, as in
 * in-place ops, is allowed for elementwise kinds).
 */
#pragma once
#include <stdint.h>
#include "volt/tensor.h"

typedef enum vt_op_id {
#define VT_OP(name, kind) VT_OP_##name,
#include "ops/op_list.h"
#undef VT_OP
  VT_OP_COUNT
} vt_op_id;

typedef enum vt_op_kind {
  VT_KIND_UNARY, VT_KIND_BINARY, VT_KIND_WHERE, VT_KIND_CLAMP, VT_KIND_LERP, VT_KIND_FILL,
  VT_KIND_COPY, VT_KIND_REDUCE, VT_KIND_REDUCE_IDX, VT_KIND_SOFTMAX, VT_KIND_SCAN,
  VT_KIND_MATMUL, VT_KIND_INDEX, VT_KIND_RANDOM, VT_KIND_NN, VT_KIND_COUNT
} vt_op_kind;

typedef struct vt_op_args {
  int op;                  /* vt_op_id                                        */
  int nin;                 /* number of tensors used in in[] (or in list)     */
  const vt_tensor* in[4];
  vt_tensor* out[2];
  int64_t i[8];            /* integer parameters (meaning per kind/op)        */
  double f[4];             /* scalar parameters                               */
  void* ptr;               /* extra: generator, tensor list, ...              */
} vt_op_args;

typedef vt_status (*vt_kernel)(const vt_op_args* a);

vt_op_kind vt_op_kind_of(int op);
/* Runs the kernel for a->op on the backend of device dev; error if the backend lacks it. */
vt_status vt_dispatch(vt_device dev, const vt_op_args* a);
