/* node.h — the graph node of the autograd engine (engine.c builds and runs them, formulas.c
 * computes each op's input gradients). Internal.
 */
#pragma once
#include "autograd/ag.h"

/* Slots of vt_ag_node.saved */
enum { VT_SV_IN0 = 0, VT_SV_IN1 = 1, VT_SV_IN2 = 2, VT_SV_OUT = 3, VT_SV_X0 = 4, VT_SV_X1 = 5,
       VT_SV_COUNT = 6 };

/* A tensor saved for backward: a header (no autograd state, refcount 1, never released as a
   tensor) holding a reference to the storage, and the storage version when it was saved. */
typedef struct vt_ag_saved {
  vt_tensor t;
  uint32_t version;
  int present;
} vt_ag_saved;

/* Where the gradient of one input goes: a node's output, a leaf's meta, or nowhere. The input's
   geometry is kept to reduce/cast the gradient to it. */
typedef struct vt_ag_edge {
  vt_ag_node* node;        /* a reference, or NULL                                         */
  vt_autograd_meta* leaf;  /* a reference to a leaf's meta that requires grad, or NULL     */
  int output_nr;
  int ndim;
  int dt;
  vt_device dev;
  int64_t sizes[8];
} vt_ag_edge;

struct vt_ag_node {
  int32_t refcount;
  int op, variant;
  int nin, nout;
  int released;               /* backward freed the saved tensors and edges              */
  int64_t i[8];
  double f[4];
  vt_ag_saved saved[VT_SV_COUNT];
  vt_autograd_meta* retained; /* weak: the output meta whose grad is retained (output 0) */
  int64_t custom_id;
  char* name;                 /* custom nodes: owned copy                                 */
  /* backward bookkeeping */
  uint64_t epoch;
  int deps;
  vt_ag_node* next_free;      /* intrusive list for iterative release                    */
  vt_tensor** gbuf;           /* (nout) gradient buffers, in the same allocation          */
  vt_ag_edge edges[];         /* (nin)                                                    */
};

/* The meta's refcount lives beside it (tensor + leaf edges hold references). */
typedef struct vt_ag_meta_box {
  vt_autograd_meta m;
  int32_t refcount;
} vt_ag_meta_box;

/* Computes the gradients of n's inputs from n->gbuf into gin (nin entries, NULL on entry; only
   for need[j] != 0). Grad mode is off. Results may have a broadcast shape or another dtype:
   the engine reduces and casts them to each input. */
vt_status vt_ag_backward_op(vt_ag_node* n, const int* need, vt_tensor** gin);
/* Name of a node kind (op name, view name, custom name). */
const char* vt_ag_node_name(const vt_ag_node* n);
/* Sums g over broadcast dims to (ndim, sizes). [out] out: a new reference. */
vt_status vt_ag_sum_to(const vt_tensor* g, int ndim, const int64_t* sizes, vt_tensor** out);

/* Backward formulas of the layer-level families, one file each (formulas_<family>.c). Each
   returns 1 and sets *s when n is one of its ops (gin filled as vt_ag_backward_op), else 0. */
int vt_ag_backward_conv(vt_ag_node* n, const int* need, vt_tensor** gin, vt_status* s);
int vt_ag_backward_pool(vt_ag_node* n, const int* need, vt_tensor** gin, vt_status* s);
int vt_ag_backward_norm(vt_ag_node* n, const int* need, vt_tensor** gin, vt_status* s);
int vt_ag_backward_fused(vt_ag_node* n, const int* need, vt_tensor** gin, vt_status* s);
