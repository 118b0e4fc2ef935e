/* ops.c — the op registry generated from op_list.h: names, kinds, lookup, support queries. */
#include <string.h>
#include "backend/backend.h"
#include "core/util.h"
#include "volt/ops.h"

static const char* const vt_op_names[VT_OP_COUNT] = {
#define VT_OP(name, kind) #name,
#include "ops/op_list.h"
#undef VT_OP
};

static const vt_op_kind vt_op_kinds[VT_OP_COUNT] = {
#define VT_OP(name, kind) VT_KIND_##kind,
#include "ops/op_list.h"
#undef VT_OP
};

static const char* const vt_kind_names[VT_KIND_COUNT] = {
    "unary", "binary", "where", "clamp", "lerp", "fill", "copy", "reduce", "reduce_idx",
    "softmax", "scan", "matmul", "index", "random", "nn"};

int vt_op_count(void) { return VT_OP_COUNT; }
const char* vt_op_name(int op) { return op >= 0 && op < VT_OP_COUNT ? vt_op_names[op] : NULL; }
vt_op_kind vt_op_kind_of(int op) { return op >= 0 && op < VT_OP_COUNT ? vt_op_kinds[op] : VT_KIND_COUNT; }
const char* vt_op_kind_name(int op) {
  return op >= 0 && op < VT_OP_COUNT ? vt_kind_names[vt_op_kinds[op]] : NULL;
}

int vt_op_lookup(const char* name) {
  if (!name) return -1;
  for (int i = 0; i < VT_OP_COUNT; i++)
    if (strcmp(vt_op_names[i], name) == 0) return i;
  return -1;
}

int vt_op_supported(int op, vt_device_type type) {
  if (op < 0 || op >= VT_OP_COUNT) return 0;
  vt_backend* b = (type >= 0 && type < VT_DEVICE_TYPE_COUNT) ? vt_backend_get(type) : NULL;
  return b && b->kernels[op] != NULL;
}
