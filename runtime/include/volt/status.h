/* status.h — how every Volt entry point reports failure.
 *
 * Three tiers (see STYLE.md):
 *   - bugs in Volt: VT_ASSERT (internal, src/core/util.h) prints file:line and aborts; no input
 *     from Lua may reach one;
 *   - user and environment errors: a vt_status return plus a thread-local message,
 *     read with vt_last_error(); never exit();
 *   - in Lua: one check(rc) helper raises error(vt_last_error(), 2).
 *
 *   vt_tensor* y;
 *   if (vt_unary(VT_OP_EXP, x, NULL, &y) != VT_OK) fprintf(stderr, "%s\n", vt_last_error());
 *
 * Messages name the operation and the offending values ("matmul: shapes [2,3] and [4,5] do not
 * match") and say what to do next when that is known.
 */
#pragma once

typedef enum vt_status {
  VT_OK = 0,
  VT_ERR_ARG = 1,         /* invalid argument (NULL, out of range, bad option)            */
  VT_ERR_SHAPE = 2,       /* shapes do not match / cannot broadcast / bad view            */
  VT_ERR_DTYPE = 3,       /* dtype not supported by this op or mismatched                 */
  VT_ERR_DEVICE = 4,      /* tensors on different devices, or device unavailable          */
  VT_ERR_OOM = 5,         /* allocation failed                                            */
  VT_ERR_IO = 6,          /* file system error                                            */
  VT_ERR_FORMAT = 7,      /* corrupt or unsupported file content                          */
  VT_ERR_UNSUPPORTED = 8, /* op not implemented on this backend / build                   */
  VT_ERR_BACKEND = 9,     /* a CUDA/cuBLAS/cuDNN/NCCL call failed                         */
  VT_ERR_INTERNAL = 10    /* invariant broken (a bug in Volt; please report)              */
} vt_status;

/* The message of the last error on this thread ("" if none). Valid until the next Volt call. */
const char* vt_last_error(void);
/* The status of the last error on this thread (VT_OK if none). */
vt_status vt_last_status(void);
/* Clears the thread's error. */
void vt_clear_error(void);
/* Records an error from outside the runtime (used by Lua helpers); returns status. */
vt_status vt_set_error_message(vt_status status, const char* message);
/* A short name for a status ("shape error"). */
const char* vt_status_name(vt_status status);
