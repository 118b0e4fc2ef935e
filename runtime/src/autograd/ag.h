/* ag.h — autograd internals shared by the engine (autograd/ (engine.c, formulas.c)) and the op front-ends, which call
 * the recording hooks. Not part of the public API (see volt/autograd.h).
 *
 * Front-end contract (one line per op):
 *   if (s == VT_OK && vt_ag_on2(a, b)) s = vt_ag_record(&(vt_ag_rec){...}, out, res);
 * vt_ag_on* is the one cheap check (grad mode on and an input requires grad). vt_ag_record
 * builds the node and attaches it to the result (out, or *res); on failure it drops *res.
 * Every write into an existing tensor calls vt_ag_on_write(op, t) before writing (in-place checks,
 * version counter).
 */
#pragma once
#include <stdint.h>
#include "volt/autograd.h"
#include "volt/tensor.h"

typedef struct vt_ag_node vt_ag_node;

struct vt_autograd_meta {
  int requires_grad;
  int retains_grad;     /* non-leaf: keep the gradient in .grad during backward             */
  int output_nr;        /* which output of grad_fn this tensor is                            */
  vt_tensor* grad;      /* accumulated gradient (a reference) or NULL                        */
  vt_ag_node* grad_fn;  /* the node that produced this tensor (a reference), NULL for leaves */
};

extern _Thread_local int vt_ag_mode; /* grad mode: 1 on (default), 0 off */

static inline int vt_ag_req(const vt_tensor* t) { return t && t->ag && t->ag->requires_grad; }
static inline int vt_ag_on1(const vt_tensor* a) { return vt_ag_mode && vt_ag_req(a); }
static inline int vt_ag_on2(const vt_tensor* a, const vt_tensor* b) {
  return vt_ag_mode && (vt_ag_req(a) || vt_ag_req(b));
}
static inline int vt_ag_on3(const vt_tensor* a, const vt_tensor* b, const vt_tensor* c) {
  return vt_ag_mode && (vt_ag_req(a) || vt_ag_req(b) || vt_ag_req(c));
}
int vt_ag_on_list(int n, const vt_tensor* const* ts);

/* Node kinds beyond the op list's ids (views and special nodes). */
enum {
  VT_AG_VIEW = 1000, /* view, reshape, squeeze, unsqueeze, flatten: reshape back              */
  VT_AG_TRANSPOSE,   /* i[0], i[1] = dims                                                     */
  VT_AG_PERMUTE,     /* i[0..ndim) = perm                                                     */
  VT_AG_NARROW,      /* i[0] = dim, i[1] = start, i[2] = length                               */
  VT_AG_SELECT,      /* i[0] = dim, i[1] = index                                              */
  VT_AG_SLICE,       /* i[0] = dim, i[1] = start, i[2] = stop, i[3] = step                    */
  VT_AG_EXPAND,      /* sum back to the input's shape                                         */
  VT_AG_AS_STRIDED,  /* i[0] = offset; out geometry from the saved output                     */
  VT_AG_CUSTOM       /* a Lua Function                                                       */
};

/* What a front-end passes to vt_ag_record. */
typedef struct vt_ag_rec {
  int op;                         /* op id or VT_AG_*                                           */
  int variant;                    /* 1: the scalar form (binary_scalar, lerp with a number)     */
  int nin;                        /* inputs in in[] (or list)                                   */
  const vt_tensor* in[3];         /* the inputs, differentiable or not (NULL allowed)           */
  const vt_tensor* const* list;   /* cat: nin inputs                                            */
  const vt_tensor* extra[2];      /* non-differentiable tensors the backward needs (index, mask) */
  int64_t i[8];
  double f[4];
  const char* name;               /* VT_AG_VIEW: the view's name for grad_fn                    */
} vt_ag_rec;

/* Records a node for the result (out if given, else *res). On failure releases *res (when res
   is given and out is NULL) and returns the error. */
vt_status vt_ag_record(const vt_ag_rec* r, vt_tensor* out, vt_tensor** res);
/* Records a view node: y is the new view of x. On failure releases *y. */
vt_status vt_ag_record_view(const vt_ag_rec* r, const vt_tensor* x, vt_tensor** y);
/* Called by copy_ after a successful copy src -> dst (dst's history becomes the copy). */
vt_status vt_ag_record_copy(vt_tensor* dst, const vt_tensor* src);
/* Called before any write into t (op names it): the in-place checks and the version bump. */
vt_status vt_ag_on_write(const char* op, vt_tensor* t);

/* The storage version counter (storage.c). */
uint32_t vt_storage_version(const vt_storage* s);
void vt_storage_bump_version(vt_storage* s);
