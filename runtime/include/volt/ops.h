/* ops.h — the registry of operations.
 *
 * Every op is declared once, in the op list (runtime/src/ops/op_list.h), with a name and a kind.
 * That list generates the op ids, the names, each backend's kernel table and the op spec's list.
 * The public entry points (elementwise.h, reduce.h, index.h, linalg.h, random.h) validate their
 * arguments, work out the result's shape and dtype, allocate it, and dispatch to the kernel of
 * the tensors' backend.
 *
 * Ops are named to C by id; ids are looked up by name so this header needs no copy of the list:
 *
 *   int exp_id = vt_op_lookup("exp");
 *   vt_unary(exp_id, x, NULL, &y);
 */
#pragma once
#include "volt/status.h"
#include "volt/device.h"

/* Number of ops in the op list; ids are 0 .. vt_op_count()-1. */
int vt_op_count(void);
/* The op's name ("exp"); NULL if id is out of range. */
const char* vt_op_name(int op);
/* The op's kind ("unary", "binary", "reduce", ...); NULL if id is out of range. */
const char* vt_op_kind_name(int op);
/* Id of the op called name, or -1. */
int vt_op_lookup(const char* name);
/* 1 if the backend for this device type has a kernel for op. */
int vt_op_supported(int op, vt_device_type type);
