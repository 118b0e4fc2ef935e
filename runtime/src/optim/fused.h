/* fused.h — the driver behind the fused optimizer updates (internal).
 *
 * A fused call updates n rows (param i, grad i, state tensors of param i). vt_fused_run validates
 * every tensor (CPU, floating dtype, the parameter's shape), makes contiguous work copies of
 * non-contiguous ones, and walks the flattened element range of all rows in parallel: each range
 * chunk is loaded VT_CPU_CHUNK elements at a time into f32 (or f64 for f64 parameters) buffers,
 * passed to the row kernel, and the written slots are stored back (converting to their dtype).
 * Work copies of written tensors are copied back into the originals at the end.
 */
#pragma once
#include "backend/cpu/cpu.h"

#define VT_FUSED_MAX_SLOTS 6

typedef struct vt_fused vt_fused;
/* Row kernel: updates m elements of row i; b[s] is the buffer of slot s (NULL if absent). */
typedef void (*vt_fused_f32)(const vt_fused* f, int i, float** b, int64_t m);
typedef void (*vt_fused_f64)(const vt_fused* f, int i, double** b, int64_t m);

struct vt_fused {
  const char* op;                             /* names the function in messages            */
  int n;                                      /* rows                                      */
  int k;                                      /* slots per row: 0 = param, 1 = grad, ...   */
  vt_tensor* const* arr[VT_FUSED_MAX_SLOTS];  /* (n) tensors of each slot; NULL = absent   */
  const char* name[VT_FUSED_MAX_SLOTS];       /* slot names for messages                   */
  uint8_t write[VT_FUSED_MAX_SLOTS];          /* slot is written                           */
  uint8_t required[VT_FUSED_MAX_SLOTS];       /* slot array must be given                  */
  int skip_slot;                              /* a row whose tensor in this slot is NULL is
                                                 skipped (1 = grad); -1: none may be NULL  */
  vt_fused_f32 f32;
  vt_fused_f64 f64;
  const void* ctx;                            /* the kernel's options                      */
  /* filled by the driver */
  vt_tensor** work;                           /* (n * k) contiguous work tensors           */
  int64_t* offs;                              /* (n + 1) prefix sums of row sizes          */
};

/* Validates, runs and cleans up. Returns the first error (nothing is written on a validation
   error). */
vt_status vt_fused_run(vt_fused* f);

/* grads[i] *= coef for every element of every tensor (in place; compute in f32/f64). */
vt_status vt_fused_scale(const char* op, int n, vt_tensor* const* ts, double coef);
